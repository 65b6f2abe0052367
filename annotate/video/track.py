"""Following faces from one analysed frame to the next: a detection continues a track only
where its box fits the track's predicted box and its face looks like the track's.

Boxes alone are not enough in edited video: at a shot cut another person often appears where
the last one was, and a box tracker carries the track on, mixing two people in one mean
embedding. Here a detection must pass two gates. The motion gate compares the box with the
track's Kalman prediction (``video.motion``), and its reach grows with the seconds since the
track was last seen, so sampled analysis and fast motion keep their tracks. The appearance
gate asks for a cosine similarity to the track's recent appearance (an exponential moving
average of its unit embeddings, as DeepSORT and BoT-SORT keep) of at least ``appearance``.
When faces sit where two or more live tracks are predicted, none of them like its track,
and no face matches any track, the picture has cut: every track ends, and ``cuts`` records
the time. (One face that fails its track is more often a face turning away: it starts a
track of its own, which re-identification joins back.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..recognition.match import assign, unit
from .motion import BoxKalman, to_cwh

# Measured on video.mp4 and the Hamilton clip (benchmarks/calibrate_identity.py; numbers in
# benchmarks/README.md, session 11): consecutive faces of one track are at least 0.38 alike in
# 99% of frames.
APPEARANCE_GATE = 0.3
EMA = 0.9  # weight of the old appearance when a face is added (DeepSORT, BoT-SORT)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,4) and (M,4) xyxy boxes -> (N,M) intersection over union."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def apart(boxes: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,M) distances between the centres of (N,4) and (M,4) xyxy boxes, in the larger of
    their widths, and (N,M) the ratios of their widths (each of ``boxes`` over each other)."""
    mine, theirs = to_cwh(boxes), to_cwh(others)
    width = np.maximum(mine[:, None, 2], theirs[None, :, 2])
    distance = np.hypot(*(mine[:, None, :2] - theirs[None, :, :2]).transpose(2, 0, 1)) / np.maximum(width, 1.0)
    return distance, mine[:, None, 2] / np.maximum(theirs[None, :, 2], 1.0)


def fits(boxes: np.ndarray, predicted: np.ndarray, unseen_s: np.ndarray, reach: float, speed: float) -> np.ndarray:
    """(N,M) whether each of the (N,4) xyxy boxes is near each of the (M,4) predicted boxes: its
    centre within ``reach`` face widths plus ``speed`` widths per second of the (M,) seconds
    unseen, and its width within 2x."""
    if not len(boxes) or not len(predicted):
        return np.zeros((len(boxes), len(predicted)), bool)
    distance, ratio = apart(boxes, predicted)
    return (distance <= reach + speed * unseen_s[None, :]) & (ratio >= 0.5) & (ratio <= 2.0)


def quality(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(N,) weights of faces in a track's mean: detection score, times size (full weight from
    the embedder's 112 px up), times frontalness (the nose between the eyes, from the (N,5,2)
    landmarks), so that small, blurred and turned faces count less."""
    width = boxes[:, 2] - boxes[:, 0]
    eyes = landmarks[:, :2]
    span = np.maximum(np.abs(eyes[:, 1, 0] - eyes[:, 0, 0]), 1.0)
    off = np.abs(landmarks[:, 2, 0] - eyes.mean(axis=1)[:, 0]) / span
    frontal = np.clip(1.0 - 2.0 * off, 0.1, 1.0)
    return np.asarray(scores, np.float64) * np.clip(width / 112.0, 0.25, 1.0) * frontal


@dataclass
class _Live:
    id: int
    motion: BoxKalman
    look: np.ndarray  # (D,) unit moving average of unit embeddings
    seen: float  # time of the last match, seconds
    unseen: int  # analysed frames since


class FaceTracker:
    """Links each analysed frame's faces to live tracks (ids from 1). max_gap: analysed frames a
    track may go unseen. appearance: the cosine gate. reach: how far (in face widths) a face may
    be from its predicted centre, plus ``speed`` face widths per second unseen."""

    def __init__(
        self,
        max_gap: int = 10,
        appearance: float = APPEARANCE_GATE,
        min_iou: float = 0.2,
        reach: float = 0.5,
        speed: float = 3.0,
    ) -> None:
        self.max_gap, self.appearance, self.min_iou = int(max_gap), float(appearance), float(min_iou)
        self.reach, self.speed = float(reach), float(speed)
        self._live: list[_Live] = []
        self._next = 1
        self.cuts: list[float] = []

    @property
    def live(self) -> frozenset[int]:
        """The ids of the tracks still followed (an ended track is never continued)."""
        return frozenset(t.id for t in self._live)

    def expected(self, time: float) -> np.ndarray:
        """The live tracks' (T,4) xyxy boxes predicted at ``time`` seconds."""
        return np.array([t.motion.predicted(time - t.seen) for t in self._live], np.float64).reshape(-1, 4)

    def update(self, boxes: np.ndarray, embeddings: np.ndarray, time: float) -> np.ndarray:
        """(N,) track ids for the (N,4) xyxy boxes and (N,D) unit embeddings of the frame at
        ``time`` seconds."""
        live = self._live
        predicted = self.expected(time)
        iou = box_iou(boxes, predicted) if len(boxes) and len(live) else np.zeros((len(boxes), len(live)))
        looks = embeddings @ np.stack([t.look for t in live]).T if live else np.zeros((len(boxes), 0))
        unseen_s = np.array([time - t.seen for t in live])
        where = fits(boxes, predicted, unseen_s, self.reach, self.speed) | (iou >= self.min_iou)
        alike = looks >= self.appearance
        failing = (where & ~alike).any(axis=0).sum()  # tracks with a face where they were, not like them
        if failing >= 2 and not (where & alike).any():
            self.cuts.append(time)
            live.clear()
            return self.update(boxes, embeddings, time)
        ids = self._assign(np.where(where & alike, looks + iou, -np.inf), boxes, embeddings, time)
        matched = set(ids.tolist())
        for t in live:
            if t.id not in matched:
                t.unseen += 1
        self._live = [t for t in live if t.unseen <= self.max_gap]
        return ids

    def _assign(self, score: np.ndarray, boxes: np.ndarray, embeddings: np.ndarray, time: float) -> np.ndarray:
        """Each face to a track (``match.assign``: greedy by score, the best pair first; every
        allowed pair scores at least ``appearance``); faces left over start tracks."""
        ids = np.zeros(len(boxes), np.int64)
        for f, t in enumerate(assign(score, self.appearance).tolist()):
            if t < 0:
                continue
            track = self._live[t]
            track.motion.update(boxes[f], time - track.seen)
            track.look = unit(EMA * track.look + (1 - EMA) * embeddings[f])
            track.seen, track.unseen = time, 0
            ids[f] = track.id
        for new in np.flatnonzero(ids == 0).tolist():
            self._live.append(
                _Live(self._next, BoxKalman(boxes[new]), unit(embeddings[new].astype(np.float64)), time, 0)
            )
            ids[new] = self._next
            self._next += 1
        return ids
