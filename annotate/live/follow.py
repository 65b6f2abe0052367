"""One live source's people as frames arrive: faces tracked and summed as in a file
(``video.scan``), a name shown per track only once enough faces agree (``video.online``), a
stranger who comes back within ``remember`` seconds given their old ``Unknown #N``, and the
events. When a track ends, its name is the file's rule on all its faces."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..faces import Faces, unknown_name
from ..recognition.bank import FaceBank
from ..recognition.match import similarity_matrix
from ..video.identity import REID_THRESHOLD, TrackSums, name_tracks
from ..video.online import OnlineNamer
from ..video.scan import FrameScanner
from ..video.track import quality
from .events import Event


@dataclass
class _On:
    """A track on screen: first and last seen (stream seconds), faces, whether a name is shown
    yet, the bank label shown (None: Unknown), and the stranger's number once given (kept)."""

    first: float
    last: float
    faces: int = 0
    decided: bool = False
    label: str | None = None
    number: int = 0

    @property
    def name(self) -> str | None:
        """The name shown: the label, ``Unknown #N``, or None before one is decided."""
        if not self.decided:
            return None
        return self.label if self.label is not None else unknown_name(self.number)


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

    def add(
        self, index: int, at: float, image: np.ndarray, faces: Faces, picture: np.ndarray | None = None
    ) -> tuple[np.ndarray, Faces]:
        """One analysed frame (stream seconds ``at``) and its faces with embeddings (picture:
        the image's ``cuts.signature``, when the caller has it). Returns the faces' (N,) track
        ids, and the faces whose name is shown, as they are shown (a label, or ``tracks``
        holding the stranger's number), for drawing."""
        if self.origin is None:
            self.origin = at
        self.analysed, self.now = self.analysed + 1, at
        if faces.embeddings is None:
            raise ValueError("Follow.add needs faces with embeddings")
        tracks = self.scanner.add(index, at, image, faces, picture)
        names = self.namer.update(tracks, faces.embeddings, quality(faces.boxes, faces.scores, faces.landmarks))
        for k, track in enumerate(tracks.tolist()):
            on = self.on.get(track)
            if on is None:
                on = self.on[track] = _On(at, at)
                box = [round(float(v), 1) for v in faces.boxes[k]]
                self._event("appear", track, None, at, box=box)
            on.last, on.faces = at, on.faces + 1
            if self.namer.decided(track):
                self._name(track, on, names[k], at)
        shown = self._shown_faces(faces, tracks)
        for track in sorted(set(self.on) - self.scanner.tracker.live):
            self._leave(track, at)
        return tracks, shown

    def _shown_faces(self, faces: Faces, tracks: np.ndarray) -> Faces:
        ons = [self.on[t] for t in tracks.tolist()]
        keep = np.array([on.decided for on in ons], bool)
        labels = tuple(on.label for on in ons)
        numbers = np.array([on.number for on in ons], np.int64)
        return faces.with_columns(embeddings=None, labels=labels, tracks=numbers)[keep]

    def close(self) -> None:
        """The stream ended: everyone on screen leaves (at the latest frame's time, so events
        stay in time order; ``last`` says when each was last seen)."""
        for track in sorted(self.on):
            self._leave(track, self.now)

    def _name(self, track: int, on: _On, label: str | None, at: float) -> None:
        before = on.name
        if label is None and not on.number:
            on.number = self._stranger(track, at)
        on.label = label
        if not on.decided:
            on.decided = True
            self._event("named", track, on.name, at)
        elif on.name != before:
            self._event("renamed", track, on.name, at, previous=before)

    def _stranger(self, track: int, at: float) -> int:
        """A new stranger's number: that of a stranger who left in the last ``remember`` seconds
        and looks alike (and is not on screen), else the next one."""
        self.strangers = [s for s in self.strangers if at - s.left <= self.remember]
        taken = {o.number for o in self.on.values()}
        mean = self.namer.mean(track)
        best, number = REID_THRESHOLD, 0
        for s in self.strangers:
            alike = float(mean @ s.mean)
            if alike >= best and s.number not in taken:
                best, number = alike, s.number
        if not number:
            self.unknowns += 1
            number = self.unknowns
        return number

    def _leave(self, track: int, at: float) -> None:
        on = self.on.pop(track)
        final = self._final(track)
        if final is None and on.number:
            self.strangers.append(_Stranger(on.number, self.namer.mean(track), on.last))
        name = final if final is not None else (unknown_name(on.number) if on.number else None)
        self.namer.forget([track])
        self._event("leave", track, name, at, first=self._shown(on.first), last=self._shown(on.last), faces=on.faces)

    def _final(self, track: int) -> str | None:
        """The file's rule on the track's faces alone (its weighted mean against the bank)."""
        entry = self.scanner.sums.sums.get(track)
        if entry is None or not len(self.bank):
            return None
        named = name_tracks(TrackSums({track: entry}), self.bank.embeddings, self.bank.labels, self.threshold)
        return named[track].label

    def _shown(self, at: float) -> float:
        return round(at - (self.origin or 0.0), 3)

    def _event(self, kind: str, track: int, name: str | None, at: float, **detail: object) -> None:
        if kind == "named" and name in self.bank.labels:
            sims = similarity_matrix(self.namer.mean(track)[None], self.bank.embeddings)[0]
            detail["similarity"] = round(float(sims[self.bank.labels.index(name)]), 3)
        self.emit(Event(kind, self.source, track, name, at - (self.origin or 0.0), time.time(), dict(detail)))
