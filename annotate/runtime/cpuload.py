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


def _cores() -> set[int] | None:
    """The cores this process may run on (None: any)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def usable_cores() -> int:
    """How many cores this process may run on (its affinity mask where the OS has one)."""
    cores = _cores()
    return len(cores) if cores is not None else os.cpu_count() or 1


def _machine_busy(stat: Path) -> float | None:
    """Seconds of CPU that the cores this process may use spent on anything but idling, from
    their ``cpuN`` lines of /proc/stat (work on other cores does not take threads from us)."""
    cores = _cores()
    try:
        busy = 0
        for line in stat.read_text().splitlines():
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu" or (cores is not None and int(name[3:]) not in cores):
                continue
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
            busy += user + nice + system + irq + softirq + steal
        return busy / os.sysconf("SC_CLK_TCK")
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
