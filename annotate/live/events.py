"""What happens on a live source, as it happens: a person appears, is named, renamed, leaves.
``EventLog`` writes them as JSON lines, each flushed as it comes, so another program can
follow the file (or standard output) while the stream plays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, Any

KINDS = ("appear", "named", "renamed", "leave")


@dataclass(frozen=True)
class Event:
    """kind: one of ``KINDS``. source: the source as given. track: the live track's id in
    that source. name: the name shown (a label, ``Unknown #N``, or None before a name is
    decided). time: seconds on the stream's clock from its first frame (a file's: its
    player's). wall: Unix seconds when the event was made. detail: per kind (``box`` for appear,
    ``similarity``, ``previous`` for renamed, ``first``/``last``/``faces`` for leave)."""

    kind: str
    source: str
    track: int
    name: str | None
    time: float
    wall: float
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")

    def record(self) -> dict[str, Any]:
        """The JSON object of the event."""
        return {
            "event": self.kind,
            "source": self.source,
            "track": self.track,
            "name": self.name,
            "time": round(self.time, 3),
            "wall": round(self.wall, 3),
            **self.detail,
        }


class EventLog:
    """Writes each event as one JSON line to ``handle`` and flushes it."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    def __call__(self, event: Event) -> None:
        self.handle.write(json.dumps(event.record(), ensure_ascii=False) + "\n")
        self.handle.flush()
