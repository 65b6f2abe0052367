"""Writing outputs atomically, and never over a file that appeared meanwhile.

Every output is written to a temporary file beside its final name, ``.<name>.<pid>.<8
random>.part``, and takes that name only when complete. While it is written, its process holds
an exclusive ``flock`` on it, so a later run can tell the leftovers of a killed run (its
process is gone, and nobody holds the lock) from the work of a run still going, even one in
another container or on another host of a shared folder, where the process id means nothing.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError, OutputExistsError

try:
    import fcntl
except ImportError:  # Windows: no flock, and no stale-file clean-up (below)
    fcntl = None  # type: ignore[assignment]

_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.part$")
# link(2) errors that mean "this file system has no hard links", not "this cannot be written"
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS})


@functools.cache
def _umask() -> int:
    """The process's umask, read once (reading it means setting it, which is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temporary(final: Path) -> tuple[int, Path]:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".part", dir=final.parent)
    except OSError as exc:
        raise OutputError(final, exc.strerror or str(exc)) from exc
    return fd, Path(tmp)


def _lock(fd: int, wait: bool = True) -> bool:
    """An exclusive flock on ``fd``; False if another process holds one (``wait=False``) or the
    file system has none (then a file counts as held: nothing is removed on a guess)."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


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
        if not _same_file(tmp, final):  # an NFS client may retry a link that had succeeded
            raise OutputExistsError([final]) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if os.path.lexists(final):
            raise OutputExistsError([final]) from None
        os.replace(tmp, final)
        return
    tmp.unlink()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextmanager
def atomic_path(final: Path, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; it takes the name ``final`` only if the block
    succeeds, and never over a file that exists then unless ``replace`` (OutputExistsError).
    OutputError naming ``final`` for any OSError on the way (full disk, read-only, no
    permission); the temporary file is removed whatever happens."""
    fd, tmp = _temporary(final)
    try:
        _lock(fd)
        with contextlib.suppress(OSError):  # mkstemp makes it private; give it the usual permissions
            os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
        _publish(tmp, final, replace)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(final, exc.strerror or str(exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)  # releases the lock


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _stale(path: Path, pid: int) -> bool:
    """Whether a temporary file was left by a run that is gone: its process is not running
    here, and no process anywhere holds its lock."""
    if pid == os.getpid() or _running(pid):
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _lock(fd, wait=False)
    finally:
        os.close(fd)


def remove_stale_parts(folders: Iterable[Path]) -> list[Path]:
    """Remove the temporary files that runs of this program left in ``folders`` when they were
    killed; returns them. Files of runs still going are kept. POSIX only (elsewhere there is
    no flock, and a process cannot be asked whether it lives without signalling it)."""
    if os.name != "posix" or fcntl is None:
        return []
    removed = []
    for folder in dict.fromkeys(folders):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _PART.match(name)
            if match and _stale(folder / name, int(match["pid"])):
                with contextlib.suppress(OSError):
                    (folder / name).unlink()
                    removed.append(folder / name)
    return removed
