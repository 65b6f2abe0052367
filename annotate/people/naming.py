"""Naming a person found by ``annotate people``: their crops (or any folder of photos) copied
into the bank folder under a label, ``<bank>/<label>/``, where ``bank build`` reads them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import InputError
from ..media import IMAGE_SUFFIXES, atomic_path, file_sha256


def check_label(label: str) -> str:
    """The label, stripped; InputError when it cannot name a folder of its own."""
    name = label.strip()
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in "/\\\0"):
        raise InputError(
            f"{label!r} cannot be a label: it names the bank folder <bank>/<label>/ (no '/', no leading '.')"
        )
    return name


def add_to_bank(photos: Path, bank: Path, label: str) -> tuple[list[Path], int]:
    """Copy the photos directly in ``photos`` into ``bank/<label>/``; returns the files written
    and how many were there already (same contents). A name taken by another photo gets a
    ``-1`` (``-2``...) suffix; nothing in the bank is replaced."""
    label = check_label(label)
    if not photos.is_dir():
        raise InputError(f"{photos}: not a folder of photos")
    files = sorted(p for p in photos.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{photos}: no photos in it (looked for " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")")
    target = bank / label
    if target.resolve() == photos.resolve():
        raise InputError(f"{photos} is already the bank folder of {label!r}")
    target.mkdir(parents=True, exist_ok=True)
    present = {file_sha256(p) for p in target.iterdir() if p.is_file()}
    written, same = [], 0
    for photo in files:
        if file_sha256(photo) in present:
            same += 1
            continue
        name, n = photo.name, 0
        while os.path.lexists(target / name):
            n += 1
            name = f"{photo.stem}-{n}{photo.suffix}"
        with atomic_path(target / name) as tmp:
            shutil.copyfile(photo, tmp)
        written.append(target / name)
    return written, same
