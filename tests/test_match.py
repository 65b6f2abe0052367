"""Matching: cosine similarity, threshold, and one face per label within an image."""

from __future__ import annotations

import numpy as np

from annotate.faces import Faces
from annotate.recognition.match import assign, match


def unit(*rows: list[float]) -> np.ndarray:
    a = np.array(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


BANK = unit([1, 0, 0], [0, 1, 0])
LABELS = ("Ada", "Bo")


def described(embeddings: np.ndarray) -> Faces:
    n = len(embeddings)
    return Faces(np.tile([0, 0, 10, 10], (n, 1)), np.ones(n), np.zeros((n, 5, 2)), embeddings=embeddings.reshape(n, 3))


def test_below_threshold_is_unknown_and_keeps_its_nearest_label():
    faces = unit([1, 0.1, 0], [0.1, 0.2, 1])
    result = match(described(faces), BANK, LABELS, threshold=0.5)
    assert result.labels == ("Ada", None)
    assert result.names() == ["Ada", "Unknown"]
    assert result.known.tolist() == [True, False]
    assert abs(result.similarities[0] - faces[0] @ BANK[0]) < 1e-6
    assert result.nearest == ("Ada", "Bo")  # the closest label, kept for the Unknown face
    assert result.similarities[1] == max(faces[1] @ BANK.T)


def test_each_label_names_one_face_and_the_loser_takes_its_next_best():
    faces = described(unit([1, 0.2, 0], [1, 0.6, 0]))  # both closest to Ada; the first is closer
    assert match(faces, BANK, LABELS, threshold=0.4).labels == ("Ada", "Bo")
    strict = match(faces, BANK, LABELS, threshold=0.6)  # Bo too far for the second face
    assert strict.labels == ("Ada", None) and strict.nearest == ("Ada", "Ada")


def test_assign_is_greedy_by_similarity():
    sims = np.array([[0.9, 0.8], [0.95, 0.1], [0.7, 0.75]])
    assert assign(sims, 0.5).tolist() == [1, 0, -1]


def test_empty_cases():
    assert len(match(described(np.zeros((0, 3))), BANK, LABELS, 0.3)) == 0
    lonely = match(described(unit([1, 0, 0])), np.zeros((0, 3)), (), 0.3)
    assert lonely.labels == (None,) and lonely.nearest == (None,) and lonely.names() == ["Unknown"]
