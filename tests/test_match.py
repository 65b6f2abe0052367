"""Matching: cosine similarity, threshold, and one face per label within an image."""

from __future__ import annotations

import numpy as np

from annotate.match import UNKNOWN, assign, match


def unit(*rows: list[float]) -> np.ndarray:
    a = np.array(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


BANK = unit([1, 0, 0], [0, 1, 0])
LABELS = ("Ada", "Bo")


def test_below_threshold_is_unknown():
    faces = unit([1, 0.1, 0], [0, 0, 1])
    result = match(faces, BANK, LABELS, threshold=0.5)
    assert result.labels == ("Ada", UNKNOWN)
    assert result.indices.tolist() == [0, -1]
    assert abs(result.similarities[0] - faces[0] @ BANK[0]) < 1e-6
    assert result.similarities[1] == max(faces[1] @ BANK.T)  # the best score is kept for Unknown


def test_each_label_names_one_face_and_the_loser_takes_its_next_best():
    faces = unit([1, 0.2, 0], [1, 0.6, 0])  # both closest to Ada; the first is closer
    result = match(faces, BANK, LABELS, threshold=0.4)
    assert result.labels == ("Ada", "Bo")
    strict = match(faces, BANK, LABELS, threshold=0.6)  # Bo too far for the second face
    assert strict.labels == ("Ada", UNKNOWN)


def test_assign_is_greedy_by_similarity():
    sims = np.array([[0.9, 0.8], [0.95, 0.1], [0.7, 0.75]])
    assert assign(sims, 0.5).tolist() == [1, 0, -1]


def test_empty_cases():
    assert len(match(np.zeros((0, 3)), BANK, LABELS, 0.3)) == 0
    lonely = match(unit([1, 0, 0]), np.zeros((0, 3)), (), 0.3)
    assert lonely.labels == (UNKNOWN,)
