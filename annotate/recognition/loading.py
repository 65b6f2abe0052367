"""Face banks from disk: a ``.npz`` bank file, or a folder of ``<label>/`` photo folders whose
bank file is used while it is current and rebuilt in memory when it is not. Nothing here
writes: the caller saves a rebuilt bank if it wants to."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import BankError
from .bank import BANK_FILE, BuildReport, FaceBank, SourceImage, build, is_current, scan
from .recognizer import Recognizer, Tick


def bank_file(spec: Path) -> Path:
    """The bank file a bank path names: a .npz file itself, or ``facebank.npz`` inside a folder."""
    return spec if spec.suffix.lower() == ".npz" else spec / BANK_FILE


@dataclass(frozen=True)
class LoadedBank:
    """A bank and where it came from. report: the build, when the folder's photos (or the
    detector's min_face) changed since its bank file was written; None when the file was used."""

    bank: FaceBank
    file: Path
    report: BuildReport | None


def build_bank(
    folder: str | os.PathLike[str],
    recognizer: Recognizer,
    previous: FaceBank | None = None,
    tick: Tick | None = None,
    sources: list[SourceImage] | None = None,
) -> BuildReport:
    """Build a bank from ``folder/<label>/*.jpg``: each photo's largest face, flip-averaged; a
    label's entry is the normalised mean of its photos. Photos of ``previous`` with the same
    contents, model and min_face are not embedded again. tick(n): files embedded.
    sources: ``scan(folder)``, if the caller has it."""
    return build(
        Path(folder),
        lambda paths: recognizer.embed_files(paths, tick=tick),
        recognizer.model_name,
        recognizer.model_sha256,
        previous,
        sources,
        recognizer.config.min_face,
    )


@dataclass(frozen=True)
class BankSource:
    """Where a bank is, as far as it can be known without a model: ``path`` as given, its bank
    ``file``, and that file read (``stored``) when ``path`` names a .npz; None for a folder."""

    path: Path
    file: Path
    stored: FaceBank | None


def locate_bank(spec: str | os.PathLike[str]) -> BankSource:
    """The bank ``spec`` names: a .npz file, read, or a folder. BankError if it is neither,
    or the file does not read: a command finds this before it loads any model."""
    path = Path(spec).expanduser()
    file = bank_file(path)
    if file == path:
        return BankSource(path, file, FaceBank.load(file))
    if not path.is_dir():
        raise BankError(f"face bank {path} not found: neither a folder of <label>/ photo folders nor a .npz file")
    return BankSource(path, file, None)


def open_bank(
    spec: str | os.PathLike[str] | BankSource, recognizer: Recognizer, tick: Tick | None = None
) -> LoadedBank:
    """The bank at ``spec`` (or ``locate_bank``'s answer): a .npz file as it is, or a folder's
    ``facebank.npz`` when current, else built from the folder's photos (not saved). A folder's
    bank file that is unreadable or was made with another model is out of date like any
    other, and its report says so. BankError if there is no bank, if a named .npz is
    unreadable or of another model, or if a folder gives no faces."""
    source = spec if isinstance(spec, BankSource) else locate_bank(spec)
    path, file = source.path, source.file
    if source.stored is not None:
        recognizer.check_bank(source.stored, file)
        return LoadedBank(source.stored, file, None)
    stored, why = stored_bank(file, recognizer)
    sources = scan(path)
    if stored is not None and is_current(stored, sources, recognizer.config.min_face):
        return LoadedBank(stored, file, None)
    report = build_bank(path, recognizer, stored, tick, sources)
    if len(report.bank) == 0:
        raise BankError(f"no faces found in the photos under {path}/<label>/")
    if why:
        report = replace(report, notes=(why, *report.notes))
    return LoadedBank(report.bank, file, report)


def stored_bank(file: Path, recognizer: Recognizer) -> tuple[FaceBank | None, str]:
    """A folder's bank file, if it is there, readable and of ``recognizer``'s model; else None
    and why it is not used ("" when there is no file)."""
    if not file.is_file():
        return None, ""
    try:
        stored = FaceBank.load(file)
        recognizer.check_bank(stored, file)
    except BankError as error:
        return None, f"{error}; made again"
    return stored, ""


def load_bank(spec: str | os.PathLike[str], recognizer: Recognizer) -> FaceBank:
    """The face bank at ``spec`` (a folder of ``<label>/`` photo folders, or a .npz file) for
    ``recognizer``'s model; a folder whose photos changed since its bank file was written is
    embedded again in memory. Nothing is written."""
    return open_bank(spec, recognizer).bank
