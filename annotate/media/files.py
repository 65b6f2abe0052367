"""Finding input files, guarding outputs, and writing files atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MissingInputError, OutputExistsError


@dataclass(frozen=True)
class InputFile:
    """One input file and where its output goes: ``out_dir / relative``."""

    source: Path
    relative: Path


def find_inputs(inputs: Iterable[Path], suffixes: Iterable[str]) -> list[InputFile]:
    """Expand files and folders (recursively) into input files, in a stable order.

    A folder's files with one of ``suffixes`` keep their path relative to that folder; a file given directly keeps
    only its name. Files with other suffixes inside folders are ignored; a file given by
    name is always tried, so a mislabelled one gets an error instead of silence. A file
    reached twice (given twice, or a folder and a file in it) is one input, the first.
    MissingInputError for an input that does not exist.
    """
    found: list[InputFile] = []
    suffixes = frozenset(suffixes)
    for given in inputs:
        if given.is_dir():
            found += [
                InputFile(path, path.relative_to(given))
                for path in sorted(p for p in given.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            ]
        elif given.exists():
            found.append(InputFile(given, Path(given.name)))
        else:
            raise MissingInputError(given)
    seen: set[Path] = set()
    jobs = []
    for job in found:
        key = job.source.resolve()
        if key not in seen:
            seen.add(key)
            jobs.append(job)
    return jobs


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks; InputError naming the file if it
    cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def check_out_dir(inputs: Iterable[Path], out_dir: Path) -> None:
    """Refuse an output folder equal to, or inside, an input folder (outputs would be re-read)."""
    out = out_dir.resolve()
    for given in inputs:
        if given.is_dir():
            src = given.resolve()
            if out == src or src in out.parents:
                raise InputError(f"the output folder {out_dir} is inside the input folder {given}")


def check_targets(pairs: Iterable[tuple[Path, Path]]) -> None:
    """Refuse (source, output) pairs where an output would replace its own input, or where one
    output is named twice, by two inputs or by two outputs of one input (the second would
    silently replace the first)."""
    writers: dict[Path, Path] = {}
    for source, target in pairs:
        key = target.resolve()
        if key == source.resolve():
            raise InputError(f"{target}: the output would replace the input")
        if key in writers:
            first = writers[key]
            both = f"two outputs of {source}" if first == source else f"{first} and {source}"
            raise InputError(f"{both} would both be written to {target}")
        writers[key] = source


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` only if the block succeeds.
    InputError if the folder cannot be made or written to."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    except OSError as exc:
        raise InputError(f"{final}: cannot write ({exc.strerror or exc})") from exc
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """InputError if any output already exists, unless ``overwrite``: a user's file is never lost."""
    existing = [] if overwrite else [p for p in paths if p.exists()]
    if existing:
        raise OutputExistsError(existing)
