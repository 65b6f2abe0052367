"""Bounded background stages: run an iterator in a thread, a few items ahead of its consumer."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Generator, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()

# GIL switch interval while background stages run. A decode or encode thread gives up the GIL
# for every call into FFmpeg, and with the default 5 ms it waited up to that long to get it
# back from a busy thread (launching CUDA kernels, drawing). On an H100 with 16 cores, 1,050
# 1080p frames: rendered 35.7 s at 5 ms against 23.0 s at 0.2 ms, CSV only 10.4 s against
# 6.6 s; on the 2-core CPU no difference beyond run-to-run noise (benchmarks/README.md).
_SWITCH_INTERVAL = 0.0002
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


@contextlib.contextmanager
def quick_handoff(interval: float | None = None) -> Iterator[None]:
    """Within it (counted across threads), the interpreter's GIL switch interval is at most
    ``interval`` seconds (None: 0.2 ms, ``_SWITCH_INTERVAL``); it is never raised, and the
    previous interval comes back when the last user leaves."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
        sys.setswitchinterval(min(sys.getswitchinterval(), _SWITCH_INTERVAL if interval is None else interval))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(
    items: Iterable[T], size: int = 4, name: str = "stage", switch_interval: float | None = None
) -> Generator[T, None, None]:
    """Yield ``items`` as produced by a daemon thread, at most ``size`` ahead, so that producer
    and consumer overlap while memory stays bounded. An exception in the producer is raised
    in the consumer; if the consumer stops early, the producer stops at its next item. While
    it runs, the GIL changes hands quickly: ``quick_handoff(switch_interval)``."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, size))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer
            put(_Failure(error))
        finally:  # stop a generator source (e.g. an inner prefetch) now, not when collected
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    with quick_handoff(switch_interval):
        try:  # the worker starts inside: a Ctrl-C just after its start still stops it
            worker.start()
            while True:
                item = buffer.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            if worker.ident is not None:
                worker.join(timeout=5)


@contextlib.contextmanager
def prefetched(
    items: Iterable[T], size: int = 4, name: str = "stage", switch_interval: float | None = None
) -> Iterator[Iterator[T]]:
    """``prefetch`` as a context: on leaving it, also by an exception, the producer thread is
    stopped and joined. (A ``prefetch`` generator that an exception's traceback still holds
    keeps its thread reading while the caller closes the file it reads: a crash in FFmpeg.)"""
    stream = prefetch(items, size, name, switch_interval)
    try:
        yield stream
    finally:
        stream.close()
