"""Who-appears-when against known truth: per person, how much of their screen time the
timeline covers, how long their face carried someone else's name, and into how many
identities the analysis split them. Used by ``benchmarks/bench_identity.py`` and the tests.

Truth is where each person's picture is on screen over a range of frames (a region, moving
linearly); a detected face belongs to the person whose region holds its centre.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..video.analysis import VideoAnalysis

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Presence:
    """One person on screen: frames ``first`` to ``last`` (inclusive, from 0), their picture in
    the xyxy pixel region moving linearly from ``start`` to ``end``."""

    person: str
    first: int
    last: int
    start: Box
    end: Box

    def region(self, index: int) -> np.ndarray:
        """(4,) xyxy region at frame ``index``."""
        share = 0.0 if self.last == self.first else (index - self.first) / (self.last - self.first)
        return (1 - share) * np.asarray(self.start, np.float64) + share * np.asarray(self.end, np.float64)


@dataclass(frozen=True)
class PersonScore:
    """screen_time: truth seconds on screen. coverage: share of it inside the timeline's rows
    of the person's label (for a person not in the bank, of the identity most of their faces
    got). wrong_seconds: analysed time their face carried another person's
    label. identities: distinct track ids their faces got. switches: changes of track id
    between analysed frames where the face was found. found: share of their analysed frames
    where a face was found in their region."""

    person: str
    screen_time: float
    coverage: float
    wrong_seconds: float
    identities: int
    switches: int
    found: float


def _intervals(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _overlap(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in _intervals(a) for s2, e2 in _intervals(b))


def score(analysis: VideoAnalysis, truth: Sequence[Presence]) -> list[PersonScore]:
    """One PersonScore per person of ``truth``, in order of first appearance. Frame ``i`` is
    shown from ``first + i / fps`` seconds of the player's clock, as the timeline counts
    (``first``: the video stream's start on that clock; the frame rate taken as constant)."""
    fps = analysis.info.fps
    first = analysis.info.start - analysis.info.origin
    step = analysis.options.step(fps)
    people = list(dict.fromkeys(p.person for p in truth))
    scores = []
    for person in people:
        mine = [p for p in truth if p.person == person]
        shown = [(first + p.first / fps, first + (p.last + 1) / fps) for p in mine]
        ids: list[int] = []
        wrong = 0.0
        frames = found = 0
        for frame in analysis.frames:
            where = [p.region(frame.index) for p in mine if p.first <= frame.index <= p.last]
            if not where:
                continue
            frames += 1
            face = _face_in(frame.faces.boxes, where[0])
            if face is None:
                continue
            found += 1
            label = frame.faces.labels[face] if frame.faces.labels is not None else None
            wrong += step if label is not None and label != person else 0.0
            if frame.faces.tracks is not None:
                ids.append(int(frame.faces.tracks[face]))
        total = sum(b - a for a, b in _intervals(shown))
        named = _rows_of(analysis, person, ids)
        scores.append(
            PersonScore(
                person,
                total,
                _overlap(shown, named) / total if total else 0.0,
                wrong,
                len(set(ids)),
                sum(1 for a, b in itertools.pairwise(ids) if a != b),
                found / frames if frames else 0.0,
            )
        )
    return scores


def _rows_of(analysis: VideoAnalysis, person: str, ids: list[int]) -> list[tuple[float, float]]:
    """The timeline's rows of a person: those of their label, or, for a person the bank does not
    know, those of the identity most of their faces got."""
    rows = [a for a in analysis.appearances if a.label == person]
    if not rows and ids:
        usual = max(set(ids), key=ids.count)
        rows = [a for a in analysis.appearances if a.label is None and usual in a.tracks]
    return [(a.start, a.end) for a in rows]


def _face_in(boxes: np.ndarray, region: np.ndarray) -> int | None:
    """Of the faces whose centre is inside ``region``, the one nearest its centre; or None."""
    if len(boxes) == 0:
        return None
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = np.all((centres >= region[:2]) & (centres <= region[2:]), axis=1)
    if not inside.any():
        return None
    distance = np.hypot(*(centres - (region[:2] + region[2:]) / 2).T)
    return int(np.argmin(np.where(inside, distance, np.inf)))
