"""Identity over time: link faces across frames into tracks, and name each track once.

A track's name comes from the mean of its faces' unit embeddings, not frame by frame, so
names do not flicker. Two tracks that share a frame never get the same name. Per frame only
each face's similarity to the bank labels is kept; embeddings are summed per track as they
come, so memory does not grow with the embeddings of every face of a long video.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..faces import unknown_name
from ..recognition.match import assign, similarity_matrix


class TrackSums:
    """Per track, the sum of its faces' (D,) unit embeddings; and the pairs of tracks that were
    ever seen in one frame. Both grow with the number of tracks, not of frames."""

    def __init__(self) -> None:
        self.sums: dict[int, np.ndarray] = {}
        self.together: set[tuple[int, int]] = set()

    def add(self, tracks: np.ndarray, embeddings: np.ndarray) -> None:
        """Add one frame's faces: (N,) track ids and their (N,D) unit embeddings."""
        for track, emb in zip(tracks.tolist(), embeddings):
            self.sums[track] = self.sums.get(track, 0) + emb.astype(np.float64)
        self.together.update(itertools.combinations(sorted(tracks.tolist()), 2))

    def met(self, a: int, b: int) -> bool:
        """Whether tracks a and b were ever in the same frame."""
        return (min(a, b), max(a, b)) in self.together


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,4) and (M,4) xyxy boxes -> (N,M) intersection over union."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class IoUTracker:
    """Greedy IoU tracker: each new box joins the unmatched live track it overlaps most (IoU at
    least ``min_iou``); a track ends after ``max_gap`` analysed frames without a match."""

    def __init__(self, min_iou: float = 0.3, max_gap: int = 10) -> None:
        self.min_iou, self.max_gap = float(min_iou), int(max_gap)
        self._ids: list[int] = []
        self._boxes = np.zeros((0, 4), np.float32)
        self._unseen: list[int] = []
        self._next = 1

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Track ids (N,) for the (N,4) boxes of the next analysed frame."""
        ids = np.zeros(len(boxes), np.int64)
        iou = box_iou(boxes, self._boxes) if len(boxes) and len(self._ids) else np.zeros((len(boxes), len(self._ids)))
        chosen = assign(iou, self.min_iou)  # box -> live track index, -1 for none
        taken_track = set(chosen[chosen >= 0].tolist())
        for b, t in enumerate(chosen.tolist()):
            if t >= 0:
                ids[b] = self._ids[t]
            else:
                ids[b] = self._next
                self._next += 1
        # live tracks: matched or new ones are fresh; the others age and end after max_gap
        keep: list[tuple[int | np.integer, np.ndarray, int]] = [(i, box, 0) for i, box in zip(ids, boxes)]
        keep += [
            (self._ids[t], self._boxes[t], self._unseen[t] + 1)
            for t in range(len(self._ids))
            if t not in taken_track and self._unseen[t] + 1 <= self.max_gap
        ]
        self._ids = [int(i) for i, _, _ in keep]
        self._boxes = np.array([b for _, b, _ in keep], np.float32).reshape(-1, 4)
        self._unseen = [u for _, _, u in keep]
        return ids


@dataclass(frozen=True)
class Track:
    """One person followed through a video, named once from the mean of its faces' embeddings.

    id: from 1. label: bank name, None for Unknown. similarity: cosine of the mean embedding to
    the label (to ``nearest`` when Unknown). nearest: closest bank label (None: empty bank).
    embedding: (D,) float32 unit mean of its faces' embeddings."""

    id: int
    label: str | None
    similarity: float
    nearest: str | None
    embedding: np.ndarray

    @property
    def name(self) -> str:
        """The label, or "Unknown #id"."""
        return self.label if self.label is not None else unknown_name(self.id)


def name_tracks(seen: TrackSums, bank: np.ndarray, labels: Sequence[str], threshold: float) -> dict[int, Track]:
    """Name every track from its mean embedding, greedily by similarity; a label goes to two
    tracks only if they never share a frame. Tracks below ``threshold`` are Unknown."""
    sums = seen.sums
    ids = sorted(sums)
    if not ids:
        return {}
    means = np.stack([sums[t] / np.linalg.norm(sums[t]) for t in ids]).astype(np.float32)
    sims = similarity_matrix(means, bank) if len(bank) else np.zeros((len(ids), 0), np.float32)
    chosen: dict[int, int] = {}
    holders: dict[int, list[int]] = {}
    rows, cols = np.nonzero(sims >= threshold)
    for r, c in sorted(zip(rows.tolist(), cols.tolist()), key=lambda rc: -sims[rc]):
        track = ids[r]
        if track in chosen or any(seen.met(track, other) for other in holders.get(c, [])):
            continue
        chosen[track] = c
        holders.setdefault(c, []).append(track)
    tracks = {}
    for r, track in enumerate(ids):
        c = chosen.get(track, -1)
        best = int(sims[r].argmax()) if sims.shape[1] else -1
        similarity = float(sims[r, c if c >= 0 else best]) if best >= 0 else 0.0
        tracks[track] = Track(
            track, labels[c] if c >= 0 else None, similarity, labels[best] if best >= 0 else None, means[r]
        )
    return tracks
