"""One value per face: ``Faces``, a frozen table with a column per fact, after supervision's
``Detections``. Detection fills boxes, scores and landmarks; recognition adds embeddings,
labels, similarities and the nearest label; the video analysis adds tracks. Drawing, the
writers and the timeline read it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain

import numpy as np

UNKNOWN = "Unknown"


def unknown_name(track: int | None = None) -> str:
    """What an unknown person is called: "Unknown", or "Unknown #3" when followed as track 3."""
    return UNKNOWN if track is None else f"{UNKNOWN} #{track}"


def _column(name: str, value: object, shape: tuple[int | None, ...], dtype: type) -> np.ndarray:
    """Return ``value`` as a read-only contiguous array of ``dtype``, checking its shape (None = any)."""
    arr: np.ndarray = np.ascontiguousarray(value, dtype=dtype)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ",".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    arr.setflags(write=False)
    return arr


def _names(name: str, value: Sequence[str | None] | None, n: int) -> tuple[str | None, ...] | None:
    if value is None:
        return None
    names = tuple(value)
    if len(names) != n or any(v is not None and not isinstance(v, str) for v in names):
        raise ValueError(f"{name} must be {n} strings or None, got {len(names)} values")
    return names


@dataclass(frozen=True)
class Face:
    """One face of a ``Faces`` table: its row of every column (None where the column is absent).
    box: (4,) xyxy px. landmarks: (5,2) xy px. label: bank name, None when Unknown or not matched."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray
    embedding: np.ndarray | None
    label: str | None
    similarity: float | None
    nearest: str | None
    track: int | None


@dataclass(frozen=True)
class Faces:
    """Faces found in one image, in pixel coordinates of the upright image.

    boxes: (N,4) float32 xyxy. scores: (N,) float32 detection confidence in [0,1].
    landmarks: (N,5,2) float32 xy of left eye, right eye, nose, left and right mouth corner.
    Optional columns (None: not computed):
    embeddings: (N,D) float32 unit vectors. labels: N bank names, None for Unknown (below the
    threshold). similarities: (N,) float32 cosine to the label, or to ``nearest`` when Unknown.
    nearest: N names of the closest bank label whatever the threshold (None: empty bank).
    tracks: (N,) int64 track ids in a video, from 1.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    embeddings: np.ndarray | None = None
    labels: tuple[str | None, ...] | None = None
    similarities: np.ndarray | None = None
    nearest: tuple[str | None, ...] | None = None
    tracks: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = _column("boxes", self.boxes, (None, 4), np.float32)
        n = len(boxes)
        fields = {
            "boxes": boxes,
            "scores": _column("scores", self.scores, (n,), np.float32),
            "landmarks": _column("landmarks", self.landmarks, (n, 5, 2), np.float32),
            "labels": _names("labels", self.labels, n),
            "nearest": _names("nearest", self.nearest, n),
        }
        if self.embeddings is not None:
            fields["embeddings"] = _column("embeddings", self.embeddings, (n, None), np.float32)
        if self.similarities is not None:
            fields["similarities"] = _column("similarities", self.similarities, (n,), np.float32)
        if self.tracks is not None:
            fields["tracks"] = _column("tracks", self.tracks, (n,), np.int64)
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls) -> Faces:
        """No faces (no optional columns)."""
        return cls(np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 5, 2)))

    @classmethod
    def concatenate(cls, parts: Sequence[Faces]) -> Faces:
        """The faces of ``parts`` one after another; an optional column is kept only where every
        part has it (like supervision's ``Detections.merge``)."""
        if not parts:
            return cls.empty()
        stack = lambda name: (
            None if any(getattr(p, name) is None for p in parts) else np.concatenate([getattr(p, name) for p in parts])
        )
        join = lambda name: (
            None
            if any(getattr(p, name) is None for p in parts)
            else tuple(chain.from_iterable(getattr(p, name) for p in parts))
        )
        return cls(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.landmarks for p in parts]),
            stack("embeddings"),
            join("labels"),
            stack("similarities"),
            join("nearest"),
            stack("tracks"),
        )

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: int | slice | np.ndarray | Sequence[int]) -> Faces:
        """Select faces by integer, slice, index array or boolean mask; always returns Faces."""
        n = len(self)
        if isinstance(index, (int, np.integer)):
            if not -n <= index < n:
                raise IndexError(f"face {index} out of range for {n} faces")
            rows = np.array([int(index) % n])
        else:
            rows = np.arange(n)[index]
        pick = lambda names: None if names is None else tuple(names[i] for i in rows.tolist())
        take = lambda col: None if col is None else col[rows]
        return Faces(
            self.boxes[rows],
            self.scores[rows],
            self.landmarks[rows],
            take(self.embeddings),
            pick(self.labels),
            take(self.similarities),
            pick(self.nearest),
            take(self.tracks),
        )

    def __iter__(self) -> Iterator[Face]:
        """Each face's row, as a ``Face``."""
        for i in range(len(self)):
            yield Face(
                self.boxes[i],
                float(self.scores[i]),
                self.landmarks[i],
                None if self.embeddings is None else self.embeddings[i],
                None if self.labels is None else self.labels[i],
                None if self.similarities is None else float(self.similarities[i]),
                None if self.nearest is None else self.nearest[i],
                None if self.tracks is None else int(self.tracks[i]),
            )

    def with_columns(self, **columns: object) -> Faces:
        """A copy with the given columns set (checked like the constructor's)."""
        return replace(self, **columns)  # type: ignore[arg-type]

    @property
    def known(self) -> np.ndarray:
        """(N,) bool: the faces that took a bank label."""
        return np.array([label is not None for label in (self.labels or (None,) * len(self))], bool)

    def names(self) -> list[str]:
        """What each face is called in tables and drawings: its label, else "Unknown" (with its
        track in a video: "Unknown #3", so unknown people can be told apart); "" where the
        faces were never matched (no labels column)."""
        if self.labels is None:
            return [""] * len(self)
        tracks = [None] * len(self) if self.tracks is None else self.tracks.tolist()
        return [label if label is not None else unknown_name(track) for label, track in zip(self.labels, tracks)]

    @property
    def widths(self) -> np.ndarray:
        """(N,) box widths in pixels."""
        return self.boxes[:, 2] - self.boxes[:, 0]

    @property
    def areas(self) -> np.ndarray:
        """(N,) box areas in square pixels."""
        return self.widths * (self.boxes[:, 3] - self.boxes[:, 1])

    def largest(self, image_hw: tuple[int, int] | None = None) -> Faces:
        """The single face with the largest box (empty if there is none).

        image_hw: (height, width) of the image; when given, boxes are compared by their area
        inside the image, so a half-visible face cut by the border does not win over a whole one.
        """
        if len(self) == 0:
            return self
        if image_hw is None:
            return self[int(np.argmax(self.areas))]
        height, width = image_hw
        x = np.clip(self.boxes[:, [0, 2]], 0, width)
        y = np.clip(self.boxes[:, [1, 3]], 0, height)
        return self[int(np.argmax((x[:, 1] - x[:, 0]) * (y[:, 1] - y[:, 0])))]
