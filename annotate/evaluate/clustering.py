"""How well faces were grouped into people, against true identities: pairwise precision,
recall and F (over all pairs of faces), and BCubed precision, recall and F (per face: how much
of its group is its person, and how much of its person is in its group), the standard
face-clustering measures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClusterScore:
    """Pairwise and BCubed precision, recall and F in [0, 1]; clusters found and true people."""

    pair_precision: float
    pair_recall: float
    pair_f: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f: float
    clusters: int
    people: int


def _f(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_clusters(truth: np.ndarray, found: np.ndarray) -> ClusterScore:
    """Scores of (N,) cluster numbers ``found`` against (N,) true identities ``truth`` (any labels)."""
    truth, found = np.asarray(truth), np.asarray(found)
    if truth.shape != found.shape or truth.ndim != 1 or not len(truth):
        raise ValueError(f"truth and found must be two equal (N,) arrays, N > 0: {truth.shape}, {found.shape}")
    _, t = np.unique(truth, return_inverse=True)
    _, c = np.unique(found, return_inverse=True)
    cells, cell_of = np.unique(np.stack([c, t]), axis=1, return_inverse=True)
    both = np.bincount(cell_of.ravel()).astype(np.float64)  # faces per (cluster, person) cell
    per_cluster = np.bincount(c).astype(np.float64)
    per_person = np.bincount(t).astype(np.float64)
    pairs = lambda n: float((n * (n - 1) / 2).sum())
    together, clustered, same = pairs(both), pairs(per_cluster), pairs(per_person)
    pair_p = together / clustered if clustered else 1.0
    pair_r = together / same if same else 1.0
    # BCubed: each face's cell size over its cluster's and its person's, averaged over faces
    n = len(truth)
    bcubed_p = float((both**2 / per_cluster[cells[0]]).sum() / n)
    bcubed_r = float((both**2 / per_person[cells[1]]).sum() / n)
    return ClusterScore(
        pair_p,
        pair_r,
        _f(pair_p, pair_r),
        bcubed_p,
        bcubed_r,
        _f(bcubed_p, bcubed_r),
        len(per_cluster),
        len(per_person),
    )
