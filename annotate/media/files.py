"""Finding input files, and the checks on outputs made before any work (writing them is
``media.publish``)."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, InputWarning, MissingInputError, OutputError, OutputExistsError


@dataclass(frozen=True)
class InputFile:
    """One input file and where its output goes: ``out_dir / relative``."""

    source: Path
    relative: Path


def find_inputs(inputs: Iterable[Path], suffixes: Iterable[str], others: Iterable[str] = ()) -> list[InputFile]:
    """Expand files and folders (recursively) into input files, in a stable order.

    A folder's files with one of ``suffixes`` keep their path relative to that folder; a file given directly keeps
    only its name. Files with other suffixes inside folders are ignored, with an InputWarning
    naming those whose suffix is in ``others`` (media of a kind not read, e.g. .heic); a file
    given by name is always tried, so a mislabelled one gets an error instead of silence. A
    file reached twice (given twice, or a folder and a file in it) is one input, the first.
    MissingInputError for an input that does not exist.
    """
    found: list[InputFile] = []
    suffixes, others = frozenset(suffixes), frozenset(others)
    for given in inputs:
        if given.is_dir():
            files = sorted(p for p in given.rglob("*") if p.is_file())
            found += [InputFile(path, path.relative_to(given)) for path in files if path.suffix.lower() in suffixes]
            _warn_unread(given, [p for p in files if p.suffix.lower() in others])
        elif given.exists():
            found.append(InputFile(given, Path(given.name)))
        else:
            _missing(given)
    seen: set[Path] = set()
    jobs = []
    for job in found:
        key = job.source.resolve()
        if key not in seen:
            seen.add(key)
            jobs.append(job)
    return jobs


def _missing(given: Path) -> None:
    try:
        given.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{given}: a symbolic link that loops back on itself") from None
        if given.is_symlink():
            raise InputError(f"{given}: a symbolic link to {os.readlink(given)}, which does not exist") from None
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(f"{given}: cannot read ({exc.strerror or exc})") from None
    raise MissingInputError(given)


def _warn_unread(folder: Path, skipped: list[Path]) -> None:
    if skipped:
        kinds = Counter(p.suffix.lower() for p in skipped)
        listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        example = skipped[0].relative_to(folder)
        warnings.warn(
            InputWarning(f"{folder}: skipped {len(skipped)} file(s) of a type not read ({listed}), e.g. {example}"),
            stacklevel=3,
        )


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


def resolved(path: Path) -> Path:
    """``path`` made absolute with every symbolic link followed; InputError for a link that
    loops (Python raises RuntimeError or OSError there, by version)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:
        raise InputError(f"{path}: a symbolic link that loops back on itself") from exc


def check_out_dir(inputs: Iterable[Path], out_dir: Path) -> None:
    """Refuse an output folder equal to, or inside, an input folder (outputs would be re-read)."""
    out = resolved(out_dir)
    for given in inputs:
        if given.is_dir():
            src = resolved(given)
            if out == src or src in out.parents:
                raise InputError(f"the output folder {out_dir} is inside the input folder {given}")


def check_targets(pairs: Iterable[tuple[Path, Path]]) -> None:
    """Refuse (source, output) pairs where an output would replace its own input, or where one
    output is named twice, by two inputs or by two outputs of one input (the second would
    silently replace the first)."""
    writers: dict[Path, Path] = {}
    for source, target in pairs:
        key = resolved(target)
        if key == resolved(source):
            raise InputError(f"{target}: the output would replace the input")
        if key in writers:
            first = writers[key]
            both = f"two outputs of {source}" if first == source else f"{first} and {source}"
            raise InputError(f"{both} would both be written to {target}")
        writers[key] = source


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def check_writable(folders: Iterable[Path] = (), files: Iterable[Path] = ()) -> None:
    """OutputError, before any work, for an output that cannot be made: a folder (or the folder
    of a file) that is a file, or where no file can be created (read-only, no permission); a
    file target that is a folder."""
    for file in files:
        if file.is_dir():
            raise OutputError(file, "it is a folder; name a file")
    checked: dict[Path, Path] = {}  # the folder to check -> the output to name in the error
    for output, folder in [*((f, f) for f in folders), *((f, f.parent) for f in files)]:
        checked.setdefault(folder, output)
    for folder, output in checked.items():
        base = _nearest_existing(folder)
        if not base.is_dir():
            raise OutputError(output, f"{base} is a file, not a folder")
        try:
            with tempfile.TemporaryFile(dir=base):
                pass
        except OSError as exc:
            raise OutputError(output, exc.strerror or str(exc)) from exc


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """InputError if any output already exists, unless ``overwrite``: a user's file is never lost."""
    existing = [] if overwrite else [p for p in paths if os.path.lexists(p)]
    if existing:
        raise OutputExistsError(existing)
