"""One live source's people as frames arrive: faces tracked and summed as in a file
(``video.scan``), a name shown per track only once enough faces agree (``video.online``), a
stranger who comes back within ``remember`` seconds given their old ``Unknown #N``, and the
events. When a track ends, its name is the file's rule on all its faces."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..faces import Faces
from ..recognition.bank import FaceBank
from ..recognition.match import similarity_matrix
from ..video.identity import REID_THRESHOLD, TrackSums, name_tracks
from ..video.online import OnlineNamer
from ..video.scan import FrameScanner
from ..video.track import quality
from .events import Event


@dataclass
class _On:
    """A track on screen: first and last seen (stream seconds), faces, the name shown."""

    first: float
    last: float
    faces: int = 0
    name: str | None = None
    decided: bool = False


@dataclass(frozen=True)
class _Stranger:
    number: int
    mean: np.ndarray
    left: float


class Follow:
    """source: as given (for the events). origin: the stream's seconds shown as 0 (None: its
    first frame's). threshold: the recognizer's. remember: seconds a stranger who left is
    remembered. emit(event)."""

    def __init__(
        self,
        source: str,
        bank: FaceBank,
        threshold: float,
        emit: Callable[[Event], object],
        max_gap: int = 10,
        remember: float = 30.0,
        min_faces: int = 3,
        origin: float | None = None,
    ) -> None:
        self.source, self.bank, self.threshold, self.emit = source, bank, threshold, emit
        self.scanner = FrameScanner(bank, max_gap)
        self.namer = OnlineNamer(bank.embeddings, bank.labels, threshold, min_faces=min_faces)
        self.remember = remember
        self.origin = origin
        self.on: dict[int, _On] = {}
        self.strangers: list[_Stranger] = []
        self.unknowns = 0
        self.analysed = 0
        self.now = 0.0  # the latest analysed frame's time

    def add(self, index: int, at: float, arrived: float, image: np.ndarray, faces: Faces) -> Faces:
        """One analysed frame (stream seconds ``at``) and its faces with embeddings; returns the
        faces whose name is shown, as they are shown (a label, or ``tracks`` holding the
        stranger's number), for drawing."""
        if self.origin is None:
            self.origin = at
        self.analysed, self.now = self.analysed + 1, at
        if faces.embeddings is None:
            raise ValueError("Follow.add needs faces with embeddings")
        tracks = self.scanner.add(index, at, image, faces)
        names = self.namer.update(tracks, faces.embeddings, quality(faces.boxes, faces.scores, faces.landmarks))
        for k, track in enumerate(tracks.tolist()):
            on = self.on.get(track)
            if on is None:
                on = self.on[track] = _On(at, at)
                box = [round(float(v), 1) for v in faces.boxes[k]]
                self._event("appear", track, None, at, arrived, box=box)
            on.last, on.faces = at, on.faces + 1
            if self.namer.decided(track):
                self._name(track, on, names[k], at, arrived)
        shown = self._shown_faces(faces, tracks)
        for track in sorted(set(self.on) - self.scanner.tracker.live):
            self._leave(track, at, arrived)
        return shown

    def _shown_faces(self, faces: Faces, tracks: np.ndarray) -> Faces:
        ons = [self.on[t] for t in tracks.tolist()]
        keep = np.array([on.decided for on in ons], bool)
        names = [on.name for on in ons]
        labels = tuple(None if n is None or n.startswith("Unknown #") else n for n in names)
        numbers = [int(n.split("#")[1]) if n is not None and n.startswith("Unknown #") else 0 for n in names]
        drawn = faces.with_columns(embeddings=None, labels=labels, tracks=np.array(numbers, np.int64))
        return drawn[keep]

    def close(self, arrived: float) -> None:
        """The stream ended: everyone on screen leaves (at the latest frame's time, so events
        stay in time order; ``last`` says when each was last seen)."""
        for track in sorted(self.on):
            self._leave(track, self.now, arrived)

    def _name(self, track: int, on: _On, label: str | None, at: float, arrived: float) -> None:
        name = label if label is not None else self._stranger(track, on, at)
        if not on.decided:
            on.decided, on.name = True, name
            self._event("named", track, name, at, arrived)
        elif name != on.name:
            previous, on.name = on.name, name
            self._event("renamed", track, name, at, arrived, previous=previous)

    def _stranger(self, track: int, on: _On, at: float) -> str:
        """The track's ``Unknown #N``: kept once given; a stranger who left in the last
        ``remember`` seconds and looks alike gets their number back."""
        if on.name is not None and on.name.startswith("Unknown #"):
            return on.name
        self.strangers = [s for s in self.strangers if at - s.left <= self.remember]
        taken = {o.name for o in self.on.values()}
        mean = self.namer.mean(track)
        best, number = REID_THRESHOLD, 0
        for s in self.strangers:
            alike = float(mean @ s.mean)
            if alike >= best and f"Unknown #{s.number}" not in taken:
                best, number = alike, s.number
        if not number:
            self.unknowns += 1
            number = self.unknowns
        return f"Unknown #{number}"

    def _leave(self, track: int, at: float, arrived: float) -> None:
        on = self.on.pop(track)
        final = self._final(track)
        name = final if final is not None else (on.name if on.name and on.name.startswith("Unknown #") else None)
        if final is None and on.name is not None and on.name.startswith("Unknown #"):
            self.strangers.append(_Stranger(int(on.name.split("#")[1]), self.namer.mean(track), on.last))
        self.namer.forget([track])
        self._event(
            "leave", track, name, at, arrived, first=self._shown(on.first), last=self._shown(on.last), faces=on.faces
        )

    def _final(self, track: int) -> str | None:
        """The file's rule on the track's faces alone (its weighted mean against the bank)."""
        entry = self.scanner.sums.sums.get(track)
        if entry is None or not len(self.bank):
            return None
        named = name_tracks(TrackSums({track: entry}), self.bank.embeddings, self.bank.labels, self.threshold)
        return named[track].label

    def _shown(self, at: float) -> float:
        return round(at - (self.origin or 0.0), 3)

    def _event(self, kind: str, track: int, name: str | None, at: float, arrived: float, **detail: object) -> None:
        if kind == "named" and name is not None and not name.startswith("Unknown #"):
            sims = similarity_matrix(self.namer.mean(track)[None], self.bank.embeddings)[0]
            detail["similarity"] = round(float(sims[self.bank.labels.index(name)]), 3)
        self.emit(Event(kind, self.source, track, name, at - (self.origin or 0.0), time.time(), arrived, dict(detail)))
