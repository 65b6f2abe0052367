"""From tracks to people: the tracks of one person, split by cuts, occlusion or turning away,
joined by their faces; each person named once from all their faces.

A track's faces are summed as they come (weighted by ``track.quality``), so memory grows with
the tracks, not the frames. Re-identification is constrained agglomerative clustering of the
track means: the two most alike groups are joined while their means are at least
``REID_THRESHOLD`` alike, and never two groups with tracks that were in one frame.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..faces import unknown_name
from ..recognition.match import similarity_matrix, unit

# Measured on video.mp4 and the Hamilton clip (benchmarks/calibrate_identity.py; numbers in
# benchmarks/README.md, session 11): the means of different people were at most 0.30 alike;
# tracks of one person split by a cut or a turn, 0.40 to 0.78 (0.29 across a heavy blur).
REID_THRESHOLD = 0.45
BRIEF = 0.2  # seconds: an unknown face seen for less is left out of the timeline
# Mean detection score under which an unknown "person" is taken for a false detection: on the
# Hamilton clip, blurred background and dark patches scored 0.79-0.84 on average, every real
# face 0.88 or more (a profile 0.88, a 25 px face 0.95); on video.mp4, real faces 0.92 or more.
UNSURE = 0.85


@dataclass
class _Sum:
    """Faces summed: the weighted sum of their unit embeddings, how many, their summed detection
    scores, the first and last time they were seen (seconds), and the (4,) xyxy boxes they had
    then (None when not given)."""

    vector: np.ndarray
    frames: int = 0
    score: float = 0.0
    first: float = np.inf
    last: float = -np.inf
    head: np.ndarray | None = None
    tail: np.ndarray | None = None

    def add_face(
        self, embedding: np.ndarray, weight: float, score: float, time: float, box: np.ndarray | None = None
    ) -> None:
        self.vector += weight * embedding
        self.frames += 1
        self.score += score
        if time < self.first:
            self.first, self.head = time, box
        if time > self.last:
            self.last, self.tail = time, box

    def absorb(self, other: _Sum) -> None:
        self.vector = self.vector + other.vector
        self.frames += other.frames
        self.score += other.score
        if other.first < self.first:
            self.first, self.head = other.first, other.head
        if other.last > self.last:
            self.last, self.tail = other.last, other.tail


@dataclass
class TrackSums:
    """Per track: the quality-weighted sum of its faces' unit embeddings, its frame count, summed
    detection scores and first and last time; and the pairs of tracks ever in one frame."""

    sums: dict[int, _Sum] = field(default_factory=dict)
    together: set[tuple[int, int]] = field(default_factory=set)

    def add(
        self,
        tracks: np.ndarray,
        embeddings: np.ndarray,
        weights: np.ndarray | None = None,
        time: float = 0.0,
        scores: np.ndarray | None = None,
        boxes: np.ndarray | None = None,
    ) -> None:
        """One frame's faces: (N,) track ids, (N,D) unit embeddings, (N,) weights and detection
        scores (default 1), and (N,4) xyxy boxes (optional), at ``time`` seconds."""
        n = len(tracks)
        weights = np.ones(n) if weights is None else weights
        scores = np.ones(n) if scores is None else scores
        for k, (track, emb, w, s) in enumerate(zip(tracks.tolist(), embeddings, weights.tolist(), scores.tolist())):
            entry = self.sums.get(track)
            if entry is None:
                entry = self.sums[track] = _Sum(np.zeros(len(emb), np.float64))
            entry.add_face(emb, w, s, time, None if boxes is None else boxes[k])
        self.together.update(itertools.combinations(sorted(tracks.tolist()), 2))

    def mean(self, track: int) -> np.ndarray | None:
        """The (D,) unit mean of a track's faces so far, None before its first."""
        entry = self.sums.get(track)
        return None if entry is None else unit(entry.vector)

    def met(self, a: int, b: int) -> bool:
        """Whether tracks a and b were ever in the same frame."""
        return (min(a, b), max(a, b)) in self.together

    def merged(self, groups: dict[int, int]) -> TrackSums:
        """The sums of groups of tracks: ``groups`` maps each track to its group's id."""
        out = TrackSums()
        for track, entry in self.sums.items():
            out.sums.setdefault(groups[track], _Sum(np.zeros_like(entry.vector))).absorb(entry)
        out.together = {tuple(sorted((groups[a], groups[b]))) for a, b in self.together}  # type: ignore[misc]
        return out


def link_tracks(sums: TrackSums, threshold: float = REID_THRESHOLD) -> dict[int, int]:
    """Track id -> person id (from 1, in order of first appearance): groups of tracks joined
    while their means are at least ``threshold`` alike, most alike first, never two groups
    with tracks that were in one frame (a group's mean is the weighted mean of its faces).

    The similarities are computed once and, after each join, only the joined group's row
    again; candidate pairs above the threshold wait in a heap: about T*D work per join for T
    tracks of D values, so thousands of tracks take seconds."""
    ids = sorted(sums.sums, key=lambda t: (sums.sums[t].first, t))
    if not ids:
        return {}
    index = {t: i for i, t in enumerate(ids)}
    vectors = np.stack([sums.sums[t].vector for t in ids])
    means = unit(vectors)
    apart = np.ones((len(ids), len(ids)), bool)
    for a, b in sums.together:
        apart[index[a], index[b]] = apart[index[b], index[a]] = False
    group = np.arange(len(ids))  # each track's group: the index of the group's first track
    heap = [(-s, i, j) for i, j, s in _pairs(means, apart, threshold)]
    heapq.heapify(heap)
    while heap:
        popped, i, j = heapq.heappop(heap)
        if group[i] != i or group[j] != j or not apart[i, j]:
            continue  # one was joined into another group since, or their groups now share a frame
        now = float(means[i] @ means[j])
        if abs(now + popped) > 1e-6:  # a group's mean moved since the pair was queued
            if now >= threshold:
                heapq.heappush(heap, (-now, i, j))
            continue
        group[group == j] = i
        vectors[i] += vectors[j]
        means[i] = unit(vectors[i])
        apart[i] &= apart[j]
        apart[:, i] = apart[i]
        apart[j] = apart[:, j] = False  # j is gone
        alive = group == np.arange(len(group))
        sims = np.where(apart[i] & alive, means @ means[i], -np.inf)
        sims[i] = -np.inf
        for k in np.flatnonzero(sims >= threshold):
            heapq.heappush(heap, (-float(sims[k]), min(i, int(k)), max(i, int(k))))
    # ids are in order of first appearance, and a group is named by its first track's index
    order = {int(g): person for person, g in enumerate(np.unique(group), 1)}
    return {t: order[int(group[k])] for k, t in enumerate(ids)}


def _pairs(means: np.ndarray, apart: np.ndarray, threshold: float, rows: int = 1024):
    """(i, j, similarity) for i < j, allowed to join and at least ``threshold`` alike; the
    similarity matrix is made ``rows`` rows at a time."""
    for start in range(0, len(means), rows):
        sims = means[start : start + rows] @ means.T
        for r, j in zip(*np.nonzero((sims >= threshold) & apart[start : start + rows])):
            i = start + int(r)
            if i < j:
                yield i, int(j), float(sims[r, j])


@dataclass(frozen=True)
class Track:
    """One person followed through a video, named once from the mean of their faces.

    id: from 1. label: bank name, None for Unknown. similarity: cosine of the mean embedding to
    the label (to ``nearest`` when Unknown). nearest: closest bank label (None: empty bank).
    embedding: (D,) float32 unit weighted mean of their faces. frames: analysed frames seen.
    segments: the tracker's track ids joined into this person. spurious: too brief and
    uncertain a detection to list in the timeline (kept in the detections, marked)."""

    id: int
    label: str | None
    similarity: float
    nearest: str | None
    embedding: np.ndarray
    frames: int = 0
    segments: tuple[int, ...] = ()
    spurious: bool = False

    @property
    def name(self) -> str:
        """The label, or "Unknown #id"."""
        return self.label if self.label is not None else unknown_name(self.id)


def _choose(seen: TrackSums, ids: list[int], sims: np.ndarray, threshold: float) -> dict[int, int]:
    """Label column per id, greedily by similarity; a label goes to two ids only if they were
    never in one frame."""
    chosen: dict[int, int] = {}
    holders: dict[int, list[int]] = {}
    rows, cols = np.nonzero(sims >= threshold)
    for r, c in sorted(zip(rows.tolist(), cols.tolist()), key=lambda rc: -sims[rc]):
        track = ids[r]
        if track in chosen or any(seen.met(track, other) for other in holders.get(c, [])):
            continue
        chosen[track] = c
        holders.setdefault(c, []).append(track)
    return chosen


def name_tracks(
    seen: TrackSums,
    bank: np.ndarray,
    labels: Sequence[str],
    threshold: float,
    segments: dict[int, tuple[int, ...]] | None = None,
    step: float = 0.0,
) -> dict[int, Track]:
    """Name every track (or person) from its weighted mean embedding (``_choose``); below
    ``threshold`` it is Unknown. An Unknown is spurious when its mean detection score is under
    ``UNSURE``, or under 0.99 in fewer than 3 analysed frames, or when it is seen (``step``:
    seconds each analysed frame stands for) for less than ``BRIEF`` seconds."""
    ids = sorted(seen.sums)
    if not ids:
        return {}
    means = np.stack([unit(seen.sums[t].vector) for t in ids]).astype(np.float32)
    sims = similarity_matrix(means, bank) if len(bank) else np.zeros((len(ids), 0), np.float32)
    chosen = _choose(seen, ids, sims, threshold)
    tracks = {}
    for r, track in enumerate(ids):
        c, entry = chosen.get(track, -1), seen.sums[track]
        best = int(sims[r].argmax()) if sims.shape[1] else -1
        similarity = float(sims[r, c if c >= 0 else best]) if best >= 0 else 0.0
        mean_score = entry.score / entry.frames
        doubtful = mean_score < UNSURE or (entry.frames < 3 and mean_score < 0.99)
        spurious = c < 0 and (doubtful or (step > 0 and entry.frames * step < BRIEF))
        tracks[track] = Track(
            track,
            labels[c] if c >= 0 else None,
            similarity,
            labels[best] if best >= 0 else None,
            means[r],
            entry.frames,
            (segments or {}).get(track, (track,)),
            bool(spurious),
        )
    return tracks
