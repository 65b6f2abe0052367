"""Per-stage wall-clock timers for the benchmarks. Off, and free, unless a caller records.

    with timing.recording(device) as times:   # the benchmark
        ...
    with timing.stage("pnet"):                 # inside the pipeline
        ...
    times.seconds  # {"pnet": 1.23, ...}

Stage times are exclusive: a stage nested in another (NMS inside P-Net) is counted once, in
the inner stage. With a CUDA device, each stage synchronises the device when it starts and
ends, so GPU work is charged to the stage that queued it (this slows the run a little).
Stages in different threads (decode, encode) are summed, so they can add up to more than the
wall time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

_NULL = contextlib.nullcontext()


@dataclass
class StageTimes:
    """seconds: stage -> total exclusive seconds; calls: stage -> how many times it ran."""

    sync_cuda: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds
            self.calls[name] = self.calls.get(name, 0) + 1

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.sync_cuda:
            import torch  # only a CUDA recording needs it; media I/O stays torch-free
        stack = self._local.__dict__.setdefault("stack", [])
        if self.sync_cuda:
            torch.cuda.synchronize()
        frame = [time.perf_counter(), 0.0]  # start, seconds spent in nested stages
        stack.append(frame)
        try:
            yield
        finally:
            if self.sync_cuda:
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - frame[0]
            stack.pop()
            if stack:
                stack[-1][1] += elapsed
            self.add(name, elapsed - frame[1])


_active: StageTimes | None = None


def stage(name: str) -> contextlib.AbstractContextManager:
    """Time the block as stage ``name`` if a recording is on; otherwise do nothing."""
    active = _active
    return _NULL if active is None else active.stage(name)


@contextlib.contextmanager
def recording(device: object = None) -> Iterator[StageTimes]:
    """Record stage times (process-wide) until the block ends; device: the torch device the
    pipeline runs on (a CUDA device is synchronised at every stage boundary)."""
    global _active
    times = StageTimes(sync_cuda=str(device).startswith("cuda"))
    previous, _active = _active, times
    try:
        yield times
    finally:
        _active = previous
