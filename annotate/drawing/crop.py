"""Face crops for people to look at (review pages, reports, new bank photos): the face with a
margin of the picture around it, scaled to a comfortable size."""

from __future__ import annotations

import numpy as np
from PIL import Image

FACE_WIDTH = (120, 240)  # px: a crop's face is scaled into this width, big enough for `bank build` to find it


def crop_face(image: np.ndarray, box: np.ndarray, margin: float = 0.4) -> np.ndarray:
    """(H,W,3) uint8 RGB -> the face of xyxy ``box`` with ``margin`` of its size around it (cut at
    the picture's edges), scaled so that the face is 120 to 240 px wide."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    left, top = max(0, int(x1 - margin * w)), max(0, int(y1 - margin * h))
    right, bottom = (
        min(image.shape[1], int(np.ceil(x2 + margin * w))),
        min(image.shape[0], int(np.ceil(y2 + margin * h))),
    )
    crop = image[top:bottom, left:right]
    scale = float(np.clip(w, *FACE_WIDTH) / max(w, 1.0))
    if abs(scale - 1.0) > 0.01 and crop.size:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    return np.ascontiguousarray(crop)
