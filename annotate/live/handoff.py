"""The buffer between a source's reader thread and the models: with ``latest`` one slot that a
new frame replaces (the models always get the newest frame, so a slow consumer never falls
behind a live source), else a bounded queue whose writer waits (every frame is analysed, as
for a file)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """latest: keep only the newest item. size: the queue's bound otherwise. arrived: an event
    set at each put (one event shared by several buffers lets a consumer wait for any)."""

    def __init__(self, latest: bool, size: int = 8, arrived: threading.Event | None = None) -> None:
        self.arrived = arrived or threading.Event()
        self.latest, self.size = latest, size if not latest else 1
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self.closed = False
        self.error: BaseException | None = None
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Hand over an item (waiting for room without ``latest``); False once closed."""
        with self._cond:
            if not self.latest:
                while len(self._items) >= self.size and not self.closed:
                    self._cond.wait(0.1)
            if self.closed:
                return False
            if self.latest and self._items:  # the older frame is never analysed
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()
        self.arrived.set()
        return True

    def take(self, most: int, wait: float) -> list[T]:
        """Up to ``most`` items, waiting at most ``wait`` seconds for the first; [] when none came
        (or the buffer is closed and empty: see ``finished``)."""
        deadline = time.monotonic() + wait
        with self._cond:
            while not self._items and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            taken = [self._items.popleft() for _ in range(min(most, len(self._items)))]
            self._cond.notify_all()
            return taken

    def close(self, error: BaseException | None = None) -> None:
        """No more items (``error``: why); a waiting ``put`` returns False."""
        with self._cond:
            self.closed, self.error = True, self.error or error
            self._cond.notify_all()
        self.arrived.set()

    @property
    def finished(self) -> bool:
        """Closed, and every item taken."""
        with self._cond:
            return self.closed and not self._items
