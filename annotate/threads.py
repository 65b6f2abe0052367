"""Bounded background stages: run an iterator in a thread, a few items ahead of its consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], size: int = 4, name: str = "stage") -> Iterator[T]:
    """Yield ``items`` as produced by a daemon thread, at most ``size`` ahead, so that producer
    and consumer overlap while memory stays bounded. An exception in the producer is raised
    in the consumer; if the consumer stops early, the producer stops at its next item."""
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
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
