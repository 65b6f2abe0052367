"""What is painted together (a face's marks, a label), and the region of the image it needs."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import ImageDraw


def clamp(value: float, lo: int, hi: int) -> int:
    return int(min(max(round(value), lo), hi))


@dataclass(frozen=True)
class Patch:
    """What is painted together: its xyxy extent in image pixels (inclusive, ink included),
    and ``paint(draw, dx, dy)``, which paints on a canvas whose origin is image pixel (-dx, -dy)
    (integer shifts keep every pixel as it is on the whole image)."""

    extent: tuple[float, float, float, float]
    paint: Callable[[ImageDraw.ImageDraw, int, int], None]
    label: tuple[float, float, float, float] | None = None  # a label's own rectangle (xyxy, exclusive)


# Pixels added around an extent before cropping the canvas: outlines and anti-aliased text
# can reach a pixel or two past the nominal shapes.
MARGIN = 4


def crop_box(extent: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), right and bottom exclusive: the extent with a margin, clipped
    to the image."""
    x1, y1, x2, y2 = extent
    return (
        clamp(math.floor(x1) - MARGIN, 0, width),
        clamp(math.floor(y1) - MARGIN, 0, height),
        clamp(math.ceil(x2) + MARGIN + 1, 0, width),
        clamp(math.ceil(y2) + MARGIN + 1, 0, height),
    )
