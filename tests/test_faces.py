"""The Faces table: shape checks, selection by int, slice, array and mask, rows, names."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.faces import Face, Faces


def table(n: int = 3) -> Faces:
    boxes = np.array([[10 * i, 0, 10 * i + 8, 9] for i in range(n)], np.float32)
    return Faces(
        boxes,
        np.linspace(0.9, 1.0, n),
        np.arange(n * 10).reshape(n, 5, 2),
        embeddings=np.eye(n, 4),
        labels=("Ada", None, "Bo")[:n],
        similarities=[0.8, 0.2, 0.6][:n],
        nearest=("Ada", "Bo", "Bo")[:n],
        tracks=[3, 4, 5][:n],
    )


def test_columns_are_checked_and_read_only():
    faces = table()
    assert faces.boxes.dtype == np.float32 and faces.tracks.dtype == np.int64
    with pytest.raises(ValueError, match="landmarks"):
        Faces(np.zeros((2, 4)), np.zeros(2), np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="similarities"):
        faces.with_columns(similarities=np.zeros(2))
    with pytest.raises(ValueError, match="labels"):
        faces.with_columns(labels=("a", "b"))
    with pytest.raises(ValueError):
        faces.boxes[0, 0] = 1


def test_selection_by_int_slice_array_and_mask_keeps_every_column():
    faces = table()
    one = faces[1]
    assert len(one) == 1 and one.labels == (None,) and one.tracks.tolist() == [4] and one.embeddings[0, 1] == 1
    assert faces[-1].labels == ("Bo",)
    assert faces[1:].nearest == ("Bo", "Bo")
    assert faces[np.array([2, 0])].boxes[:, 0].tolist() == [20, 0]
    known = faces[faces.known]
    assert known.labels == ("Ada", "Bo") and known.similarities.tolist() == pytest.approx([0.8, 0.6])
    with pytest.raises(IndexError):
        faces[3]


def test_rows_and_names():
    faces = table()
    rows = list(faces)
    assert all(isinstance(r, Face) for r in rows)
    assert rows[1].label is None and rows[1].nearest == "Bo" and rows[1].track == 4
    assert rows[0].box.tolist() == [0, 0, 8, 9] and rows[2].similarity == pytest.approx(0.6)
    assert faces.names() == ["Ada", "Unknown #4", "Bo"]
    assert faces.with_columns(tracks=None).names() == ["Ada", "Unknown", "Bo"]
    assert faces.with_columns(labels=None).names() == ["", "", ""]


def test_empty_and_largest():
    assert len(Faces.empty()) == 0 and Faces.empty().names() == [] and list(Faces.empty()) == []
    faces = table()
    assert faces.largest().boxes.tolist() == faces[0].boxes.tolist()  # equal areas: the first
    assert faces.largest((9, 25)).boxes[0, 0] == 0  # the last box is cut by the image border
