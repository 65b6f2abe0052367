"""Names that do not flicker when frames arrive one by one (a live stream), where a file's
analysis would name each person from all their faces at the end.

Per track: the quality-weighted mean of all its faces so far; no name until ``min_faces`` faces
(a first glimpse is often a turned or blurred face); and hysteresis before a name changes:
another label (or Unknown) must lead the shown one by ``margin`` for ``patience`` updates in
a row. The tracks come from ``video.track.FaceTracker`` fed the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..recognition.match import similarity_matrix, unit

NOT_YET = -2  # no name shown yet: too few faces


@dataclass
class _State:
    vector: np.ndarray
    faces: int = 0
    shown: int = NOT_YET  # label column, -1 for Unknown
    challenger: int = NOT_YET
    streak: int = 0


class OnlineNamer:
    """bank: (K,D) unit rows named by ``labels``. threshold: the similarity a label needs."""

    def __init__(
        self,
        bank: np.ndarray,
        labels: Sequence[str],
        threshold: float,
        min_faces: int = 3,
        margin: float = 0.05,
        patience: int = 3,
    ) -> None:
        self.bank, self.labels, self.threshold = np.asarray(bank, np.float32), tuple(labels), float(threshold)
        self.min_faces, self.margin, self.patience = int(min_faces), float(margin), int(patience)
        self._tracks: dict[int, _State] = {}

    def update(self, tracks: np.ndarray, embeddings: np.ndarray, weights: np.ndarray | None = None) -> list[str | None]:
        """Add one frame's faces ((N,) track ids, (N,D) unit embeddings, (N,) weights) and
        return the name to show for each: a label, or None (Unknown, or not named yet)."""
        weights = np.ones(len(tracks)) if weights is None else weights
        shown = []
        for track, emb, w in zip(tracks.tolist(), embeddings, weights.tolist()):
            state = self._tracks.setdefault(track, _State(np.zeros(len(emb), np.float64)))
            state.vector = state.vector + w * emb.astype(np.float64)
            state.faces += 1
            self._decide(state)
            shown.append(self.labels[state.shown] if state.shown >= 0 else None)
        return shown

    def decided(self, track: int) -> bool:
        """Whether ``track`` has had enough faces for a name (a label or Unknown) to be shown."""
        state = self._tracks.get(track)
        return state is not None and state.shown != NOT_YET

    def mean(self, track: int) -> np.ndarray:
        """(D,) unit mean of ``track``'s faces so far."""
        return unit(self._tracks[track].vector)

    def forget(self, tracks: Sequence[int]) -> None:
        """Drop ended tracks (a live source's tracker ends them), so memory follows the people
        on screen, not the length of the stream."""
        for track in tracks:
            self._tracks.pop(track, None)

    def _decide(self, state: _State) -> None:
        if state.faces < self.min_faces:
            return
        if not len(self.bank):  # nobody to name: Unknown once enough faces were seen
            state.shown = -1
            return
        sims = similarity_matrix(unit(state.vector)[None], self.bank)[0]
        best = int(np.argmax(sims))
        candidate = best if sims[best] >= self.threshold else -1
        if state.shown == NOT_YET:
            state.shown = candidate
            return
        current = float(sims[state.shown]) if state.shown >= 0 else self.threshold
        lead = (float(sims[candidate]) if candidate >= 0 else self.threshold) - current
        if candidate == state.shown or lead < self.margin:
            state.challenger, state.streak = NOT_YET, 0
            return
        state.streak = state.streak + 1 if candidate == state.challenger else 1
        state.challenger = candidate
        if state.streak >= self.patience:
            state.shown, state.challenger, state.streak = candidate, NOT_YET, 0
