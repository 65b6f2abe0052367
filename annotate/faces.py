"""Data passed between pipeline stages: small frozen dataclasses of array columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _column(name: str, value: object, shape: tuple[int | None, ...], dtype: type) -> np.ndarray:
    """Return ``value`` as a contiguous array of ``dtype``, checking its shape (None = any)."""
    arr = np.ascontiguousarray(value, dtype=dtype)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ",".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Faces:
    """Faces found in one image, in pixel coordinates of that image.

    boxes: (N,4) float32 xyxy. scores: (N,) float32 detection confidence in [0,1].
    landmarks: (N,5,2) float32 xy of left eye, right eye, nose, left and right mouth corner.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __post_init__(self) -> None:
        boxes = _column("boxes", self.boxes, (None, 4), np.float32)
        n = len(boxes)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", _column("scores", self.scores, (n,), np.float32))
        object.__setattr__(self, "landmarks", _column("landmarks", self.landmarks, (n, 5, 2), np.float32))

    @classmethod
    def empty(cls) -> Faces:
        """No faces."""
        return cls(np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 5, 2)))

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: int | slice | np.ndarray) -> Faces:
        """Select faces by index, slice, index array or boolean mask; always returns Faces."""
        if isinstance(index, (int, np.integer)):
            if not -len(self) <= index < len(self):
                raise IndexError(f"face {index} out of range for {len(self)} faces")
            index = slice(index, index + 1 if index != -1 else None)
        return Faces(self.boxes[index], self.scores[index], self.landmarks[index])

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
