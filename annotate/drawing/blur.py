"""Hiding faces: each box, padded, blurred (gaussian), pixelated (mosaic) or filled (solid), on an
RGB picture or straight on a decoder's yuv420p planes, so that no pixel outside the boxes
changes (a render keeps the rest of the picture bit for bit).

Which faces are hidden is a ``BlurPolicy``: everyone, the unknown, the known, or named people,
less the names it keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from ..errors import InputError

STYLES = ("gaussian", "mosaic", "solid")
PAD = 0.2  # share of the face's size added on every side: hair, ears and chin
_MOSAIC = 8  # blocks across a face


@dataclass(frozen=True)
class BlurPolicy:
    """Whose faces are hidden. targets: ``all``, ``unknown``, ``known``, or names. keep: names never
    hidden (``--blur all --keep Jo`` hides everyone but Jo). style: one of STYLES. pad: share
    of the face's width and height added on every side."""

    targets: tuple[str, ...] = ("all",)
    keep: frozenset[str] = frozenset()
    style: str = "gaussian"
    pad: float = PAD

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise InputError(f"unknown blur style {self.style!r}: one of {', '.join(STYLES)}")
        if not 0 <= self.pad <= 2:
            raise InputError(f"blur padding must be 0 to 2 (a share of the face's size), got {self.pad}")
        if not self.targets:
            raise InputError("say whose faces to blur: all, unknown, known, or names")

    def check_names(self, labels: Sequence[str]) -> None:
        """InputError for a name in ``targets`` or ``keep`` that is none of ``labels`` (the bank's):
        a misspelt name would otherwise hide nobody, silently."""
        known = set(labels)
        for name in [t for t in self.targets if t not in ("all", "unknown", "known")] + sorted(self.keep):
            if name not in known:
                close = [label for label in labels if label.casefold() == name.casefold()]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InputError(f"--blur/--keep {name!r}: no such name in the face bank{hint}")

    def hides(self, label: str | None) -> bool:
        """Whether a face named ``label`` (None: Unknown) is hidden."""
        if label is not None and label in self.keep:
            return False
        for target in self.targets:
            if target == "all" or (target == "unknown" and label is None) or (target == "known" and label is not None):
                return True
        return label is not None and label in self.targets


def padded(boxes: np.ndarray, pad: float, width: int, height: int, extra: np.ndarray | None = None) -> np.ndarray:
    """(N,4) integer xyxy boxes grown by ``pad`` of their size on each side (and by (N,)
    ``extra`` pixels), cut to the picture and rounded outwards to even coordinates (whole
    4:2:0 chroma samples). Corners are put in order; a box that is not finite is the whole
    picture."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    broken = np.logical_not(np.isfinite(boxes).all(axis=1)).reshape(-1, 1)  # hide the whole picture, not nothing
    boxes = np.where(broken, [0.0, 0.0, float(width), float(height)], boxes)
    boxes = np.concatenate([np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])], axis=1)
    grow = pad * np.maximum(boxes[:, 2:] - boxes[:, :2], 0.0)
    more = np.zeros(len(boxes)) if extra is None else np.asarray(extra, np.float64)
    lo = boxes[:, :2] - grow - more[:, None]
    hi = boxes[:, 2:] + grow + more[:, None]
    lo = np.floor(lo / 2) * 2
    hi = np.ceil(hi / 2) * 2
    out = np.concatenate([lo, hi], axis=1)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out.astype(np.int64)


def _hide(region: np.ndarray, style: str, face: float) -> np.ndarray:
    """A (h,w) or (h,w,3) uint8 region hidden; ``face``: the face's width in this region's pixels."""
    h, w = region.shape[:2]
    if style == "solid":
        return np.broadcast_to(region.reshape(h * w, -1).mean(axis=0).round().astype(np.uint8), region.shape).copy()
    if style == "mosaic":
        block = max(2, int(round(face / _MOSAIC)))
        small = Image.fromarray(region).resize((max(1, w // block), max(1, h // block)), Image.Resampling.BOX)
        return np.asarray(small.resize((w, h), Image.Resampling.NEAREST))
    radius = max(2.0, face / 5.0)  # gaussian: features gone at any size
    blurred = Image.fromarray(region).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(blurred.filter(ImageFilter.BoxBlur(max(1, int(radius // 2)))))


def blur_rgb(
    image: np.ndarray, boxes: np.ndarray, style: str = "gaussian", pad: float = PAD, extra: np.ndarray | None = None
) -> np.ndarray:
    """A copy of the (H,W,3) uint8 RGB image with each (N,4) xyxy box hidden (``padded``)."""
    out = image.copy()
    height, width = image.shape[:2]
    for (x1, y1, x2, y2), face in zip(padded(boxes, pad, width, height, extra).tolist(), _widths(boxes)):
        if x2 > x1 and y2 > y1:
            out[y1:y2, x1:x2] = _hide(out[y1:y2, x1:x2], style, face)
    return out


def blur_yuv(
    planes: np.ndarray, boxes: np.ndarray, style: str = "gaussian", pad: float = PAD, extra: np.ndarray | None = None
) -> np.ndarray:
    """A copy of (H*3/2,W) uint8 yuv420p planes with each (N,4) xyxy box hidden (``padded``) in
    the luma and both chroma planes (solid: the region's mean colour)."""
    out = planes.copy()
    height, width = planes.shape[0] * 2 // 3, planes.shape[1]
    y = out[:height]
    chroma = out[height:].reshape(2, height // 2, width // 2)
    for (x1, y1, x2, y2), face in zip(padded(boxes, pad, width, height, extra).tolist(), _widths(boxes)):
        if x2 > x1 and y2 > y1:
            y[y1:y2, x1:x2] = _hide(y[y1:y2, x1:x2], style, face)
            for plane in chroma:
                part = plane[y1 // 2 : y2 // 2, x1 // 2 : x2 // 2]
                plane[y1 // 2 : y2 // 2, x1 // 2 : x2 // 2] = _hide(part, style, face / 2)
    return out


def _widths(boxes: np.ndarray) -> Sequence[float]:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    widths = np.abs(boxes[:, 2] - boxes[:, 0])
    return np.where(np.isfinite(widths), widths, 100.0).clip(1.0, None).tolist()
