"""Naming faces: cosine similarity against the face bank, each label to at most one face per image."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..faces import Faces


def unit(vectors: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vectors scaled to length 1 along ``axis`` (a zero vector stays zero)."""
    vectors = np.asarray(vectors)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=axis, keepdims=True), 1e-12)


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
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):
        if r not in used_rows and c not in used_cols:
            chosen[r] = c
            used_rows.add(r)
            used_cols.add(c)
    return chosen


def named(faces: Faces, sims: np.ndarray, chosen: np.ndarray, labels: Sequence[str]) -> Faces:
    """``faces`` with the labels, similarities and nearest columns for (N,K) similarities to K
    bank ``labels`` and the (N,) chosen columns (-1: Unknown). A face's similarity is to its
    label, or to its nearest label when Unknown."""
    n = len(faces)
    if sims.shape[1] == 0:
        return faces.with_columns(labels=(None,) * n, similarities=np.zeros(n), nearest=(None,) * n)
    best = sims.argmax(axis=1)
    picked = np.where(chosen >= 0, chosen, best)
    return faces.with_columns(
        labels=tuple(labels[c] if c >= 0 else None for c in chosen.tolist()),
        similarities=sims[np.arange(n), picked],
        nearest=tuple(labels[c] for c in best.tolist()),
    )


def match(faces: Faces, bank: np.ndarray, labels: Sequence[str], threshold: float) -> Faces:
    """Name the faces of one image: ``faces`` with (N,D) embeddings, against (K,D) bank rows named
    by ``labels``; each label goes to at most one face (``assign``)."""
    if faces.embeddings is None:
        raise ValueError("match() needs faces with embeddings")
    sims = similarity_matrix(faces.embeddings, bank).reshape(len(faces), len(bank))
    return named(faces, sims, assign(sims, threshold), labels)
