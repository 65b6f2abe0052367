"""How busy the machine's cores are with other work, measured over a short window.

A recognizer measures this while it loads its models (half a second or more), so choosing
its thread count costs nothing: the machine's busy CPU time (Linux's /proc/stat) less this
process's own, over the wall time. The load average is not used where /proc/stat exists: it
trails by a minute, so after one busy run it would keep the next, on an idle machine, to
fewer threads than it could use.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

STAT = Path("/proc/stat")
MIN_WINDOW = 0.1  # seconds: shorter windows see too few clock ticks (100 a second on Linux)


@dataclass(frozen=True)
class CpuTimes:
    """A sample. machine_busy: seconds of CPU the whole machine spent working since boot (None
    where the OS does not say); own: seconds this process spent; wall: a monotonic clock."""

    machine_busy: float | None
    own: float
    wall: float


def _machine_busy(stat: Path) -> float | None:
    """Seconds of CPU all cores spent on anything but idling, from the first line of /proc/stat."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def sample(stat: Path = STAT) -> CpuTimes:
    """The CPU times now."""
    return CpuTimes(_machine_busy(stat), time.process_time(), time.monotonic())


def others_busy(start: CpuTimes, end: CpuTimes) -> float | None:
    """Cores that other processes kept busy between two samples (None: not known here)."""
    if start.machine_busy is None or end.machine_busy is None or end.wall <= start.wall:
        return None
    others = (end.machine_busy - start.machine_busy) - (end.own - start.own)
    return max(0.0, others / (end.wall - start.wall))


def busy_since(start: CpuTimes, stat: Path = STAT) -> float | None:
    """``others_busy`` from ``start`` to now, waiting out the rest of ``MIN_WINDOW`` if needed."""
    left = MIN_WINDOW - (time.monotonic() - start.wall)
    if left > 0:
        time.sleep(left)
    return others_busy(start, sample(stat))
