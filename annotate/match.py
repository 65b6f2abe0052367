"""Naming faces: cosine similarity against the face bank, one name per face at most once per image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Matches:
    """Names of N faces. indices: (N,) int64 bank row or -1 for Unknown. similarities: (N,)
    float32 cosine similarity to the chosen label, or to the best label when Unknown.
    labels: the N names, "Unknown" where the index is -1."""

    indices: np.ndarray
    similarities: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        indices = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        sims = np.asarray(self.similarities, dtype=np.float32).reshape(-1)
        if len(sims) != len(indices) or len(self.labels) != len(indices):
            raise ValueError(f"indices {indices.shape}, similarities {sims.shape}, {len(self.labels)} labels differ")
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "similarities", sims)
        object.__setattr__(self, "labels", tuple(self.labels))

    @classmethod
    def empty(cls) -> Matches:
        return cls(np.zeros(0), np.zeros(0), ())

    def __len__(self) -> int:
        return len(self.indices)


def similarity_matrix(embeddings: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """(N,D) and (K,D) unit vectors -> (N,K) cosine similarities, one matrix product."""
    return np.asarray(embeddings, np.float32) @ np.asarray(bank, np.float32).T


def assign(sims: np.ndarray, threshold: float) -> np.ndarray:
    """Give each face (row) a label (column) at or above ``threshold``, each label to one face.

    Greedy by descending similarity: the best pair is fixed first, so a face that loses its
    best label to a closer face takes its next best label above the threshold, or -1.
    Returns (N,) int64 column indices, -1 for Unknown.
    """
    n = sims.shape[0]
    chosen = np.full(n, -1, dtype=np.int64)
    rows, cols = np.nonzero(sims >= threshold)
    order = np.argsort(-sims[rows, cols], kind="stable")
    used_rows, used_cols = set(), set()
    for r, c in zip(rows[order], cols[order]):
        if r not in used_rows and c not in used_cols:
            chosen[r] = c
            used_rows.add(r)
            used_cols.add(c)
    return chosen


def match(embeddings: np.ndarray, bank: np.ndarray, labels: Sequence[str], threshold: float) -> Matches:
    """Name the faces of one image: (N,D) embeddings against (K,D) bank rows named by labels."""
    n = len(embeddings)
    if n == 0:
        return Matches.empty()
    if len(bank) == 0:
        return Matches(np.full(n, -1), np.zeros(n), (UNKNOWN,) * n)
    sims = similarity_matrix(embeddings, bank)
    chosen = assign(sims, threshold)
    best = sims.max(axis=1)
    picked = np.where(chosen >= 0, sims[np.arange(n), np.maximum(chosen, 0)], best)
    names = tuple(labels[c] if c >= 0 else UNKNOWN for c in chosen)
    return Matches(chosen, picked, names)
