"""Finding input files, guarding outputs, and writing files atomically."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


# A temporary file is named ".<final name>.<pid>.<8 random>.part", so a later run can tell the
# leftovers of a killed run (its process is gone) from the work of a run still going.
_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.part$")


def _temporary(final: Path) -> tuple[int, Path]:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".part", dir=final.parent)
    except OSError as exc:
        raise OutputError(final, exc.strerror or str(exc)) from exc
    return fd, Path(tmp)


def _publish(tmp: Path, final: Path, replace: bool) -> None:
    """Give ``tmp`` the name ``final``. Without ``replace`` a file that appeared under that name
    meanwhile (another run) is kept: a hard link fails on an existing name, where ``os.replace``
    would not. On a file system without hard links, a check then a rename (a narrow race)."""
    if replace:
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise OutputExistsError([final]) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if os.path.lexists(final):
            raise OutputExistsError([final]) from None
        os.replace(tmp, final)
        return
    tmp.unlink()


_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS})


@contextmanager
def atomic_path(final: Path, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; it takes the name ``final`` only if the block
    succeeds, and never over a file that exists then unless ``replace`` (OutputExistsError).
    OutputError naming ``final`` for any OSError on the way (full disk, read-only, no
    permission); the temporary file is removed whatever happens."""
    fd, tmp = _temporary(final)
    try:
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it the usual permissions
        yield tmp
        _publish(tmp, final, replace)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(final, exc.strerror or str(exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def remove_stale_parts(folders: Iterable[Path]) -> list[Path]:
    """Remove the temporary files that runs of this program left in ``folders`` when they were
    killed (their process is gone); returns them. Files of runs still going are kept. POSIX only
    (elsewhere a process cannot be asked whether it lives without signalling it)."""
    if os.name != "posix":
        return []
    removed = []
    for folder in dict.fromkeys(folders):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _PART.match(name)
            if match and int(match["pid"]) != os.getpid() and not _running(int(match["pid"])):
                with contextlib.suppress(OSError):
                    (folder / name).unlink()
                    removed.append(folder / name)
    return removed


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
    existing = [] if overwrite else [p for p in paths if p.exists()]
    if existing:
        raise OutputExistsError(existing)
