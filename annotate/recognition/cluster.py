"""Faces into people: average-linkage agglomerative clustering of unit embeddings, cut where
the mean similarity between two groups falls under a threshold.

Exact average linkage needs every pairwise distance: 13,233 faces are 700 MB, 100,000 are
40 GB. But two groups can join only if some pair of their faces is at least ``threshold``
alike, so the clustering splits along the connected components of the graph of such pairs,
and each component is clustered exactly with SciPy's ``linkage``. The graph is made of each
face's ``K`` nearest neighbours (blocked matrix products, so memory grows with the faces):
it misses a pair only where both faces have more than ``K`` closer neighbours above the
threshold, which then are in one component anyway (on LFW the groups are those of plain
average linkage). A component too large for its distances to fit (a chain of look-alikes)
is cut at a higher threshold until its parts fit.
Measured on all of LFW against DBSCAN and Chinese whispers: benchmarks/README.md (session 12).
"""

from __future__ import annotations

import numpy as np

# Best BCubed F on LFW (w600k_mbf embeddings, 13,233 images; benchmarks/bench_people.py)
THRESHOLD = 0.35
K = 32  # neighbours per face in the graph; a face with more neighbours above the threshold is in a big group anyway
BIGGEST = 20_000  # faces in one exactly clustered component (its distances: 1.6 GB)
_ROWS = 512  # faces per block of the neighbour search


def neighbours(embeddings: np.ndarray, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """(N,k) indices and cosine similarities of each of the (N,D) unit embeddings' k nearest
    (itself included), most alike first; k is cut to N."""
    n = len(embeddings)
    k = min(k, n)
    index = np.empty((n, k), np.int64)
    similarity = np.empty((n, k), np.float32)
    data = np.ascontiguousarray(embeddings, np.float32)
    for start in range(0, n, _ROWS):
        sims = data[start : start + _ROWS] @ data.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(sims), 1))
        values = np.take_along_axis(sims, part, 1)
        order = np.argsort(-values, axis=1, kind="stable")
        index[start : start + _ROWS] = np.take_along_axis(part, order, 1)
        similarity[start : start + _ROWS] = np.take_along_axis(values, order, 1)
    return index, similarity


def components(index: np.ndarray, similarity: np.ndarray, threshold: float) -> np.ndarray:
    """(N,) component number of each face in the graph of neighbour pairs at least ``threshold`` alike."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(index)
    keep = (similarity >= threshold).ravel()
    rows = np.repeat(np.arange(n), index.shape[1])[keep]
    graph = csr_matrix((np.ones(len(rows), np.int8), (rows, index.ravel()[keep])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _average_linkage(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """(N,) cluster numbers from 0: exact average linkage, cut at mean similarity ``threshold``."""
    if len(embeddings) == 1:
        return np.zeros(1, np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(np.asarray(embeddings, np.float64), method="average", metric="cosine")
    return fcluster(tree, 1.0 - threshold, criterion="distance").astype(np.int64) - 1


def group(embeddings: np.ndarray, threshold: float = THRESHOLD, biggest: int = BIGGEST) -> np.ndarray:
    """(N,) person numbers from 0 for (N,D) unit embeddings, numbered in order of each person's
    first face; faces of one person are, on average, at least ``threshold`` alike to each other."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, np.int64)
    index, similarity = neighbours(embeddings)
    out = np.full(n, -1, np.int64)
    _cluster_parts(embeddings, index, similarity, np.arange(n), threshold, threshold, biggest, out)
    _, first = np.unique(out, return_index=True)
    renumber = np.empty(out.max() + 1, np.int64)
    renumber[out[np.sort(first)]] = np.arange(len(first))
    return renumber[out]


def _cluster_parts(
    embeddings: np.ndarray,
    index: np.ndarray,
    similarity: np.ndarray,
    members: np.ndarray,
    edge: float,
    threshold: float,
    biggest: int,
    out: np.ndarray,
) -> None:
    """Cluster ``members`` (indices) component by component of the graph at ``edge``, writing
    cluster numbers after the highest in ``out``; a component over ``biggest`` is cut again at
    a higher edge threshold."""
    local = {int(m): i for i, m in enumerate(members)}
    inside = np.vectorize(lambda j: local.get(int(j), -1))(index[members]) if len(members) < len(out) else index
    sims = np.where(inside >= 0, similarity[members], -np.inf)
    comp = components(np.maximum(inside, 0), sims, edge)
    for part in _split_by(comp):
        faces = members[part]
        if len(faces) > biggest and edge < 1.0:
            _cluster_parts(embeddings, index, similarity, faces, min(1.0, edge + 0.05), threshold, biggest, out)
            continue
        out[faces] = out.max() + 1 + _average_linkage(embeddings[faces], threshold)


def _split_by(labels: np.ndarray) -> list[np.ndarray]:
    """Indices grouped by label."""
    order = np.argsort(labels, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
