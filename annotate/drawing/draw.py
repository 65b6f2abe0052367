"""Draw faces on an image: a box, a name label and the five landmarks per face.

Everything is sized from the face width w = x2 - x1 in pixels (see ``_Style.for_face``)
so labels stay readable from 50 px to 1000 px faces. Labels use the shipped font
``fonts/wqy-microhei-subset.ttf`` (Latin, Greek, Cyrillic, Chinese, Japanese, Korean).
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..faces import Faces
from .labels import label_patches, text_of
from .options import DrawOptions
from .patch import Patch, clamp, crop_box

GREY = (128, 128, 128)
_SATURATION = 0.75  # fixed HSV saturation/value of label colours; only the hue varies
_VALUE = 0.90
_OUTLINE = (24, 24, 24)  # ring around landmark dots, so they show on any skin


def label_colour(label: str | None) -> tuple[int, int, int]:
    """Stable RGB colour of a bank label: hue from sha256 of the UTF-8 name; grey for None (Unknown)."""
    if label is None:
        return GREY
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536.0
    r, g, b = colorsys.hsv_to_rgb(hue, _SATURATION, _VALUE)
    return (round(r * 255), round(g * 255), round(b * 255))


@dataclass(frozen=True)
class _Style:
    """Pixel sizes for one face: box line width, font size, label padding, landmark radius."""

    line: int
    font_size: int
    pad: int
    radius: int

    @classmethod
    def for_face(cls, width: float, image_height: int, eyes: float | None = None) -> _Style:
        """Sizes for a face ``width`` px wide in an image ``image_height`` px tall, whose eyes are
        ``eyes`` px apart (None: unknown).

        line = clamp(w/60, 2, 8); font = clamp(w/8, max(14, H/60), max(48, H/30)), and at most
        a sixth of the image height (but never under 10 px), so that a label stays legible on
        a small face in a 1080p or 4K frame; landmark radius = 6% of the eye distance (1 to
        40 px; w/60 without it), so dots neither vanish on a large face nor hide a small one's
        eyes.
        """
        w = width if math.isfinite(width) else 0.0
        low, high = max(14, image_height // 60), max(48, image_height // 30)
        font_size = min(clamp(w / 8, low, high), max(10, image_height // 6))
        radius = eyes * 0.06 if eyes is not None and math.isfinite(eyes) and eyes > 0 else w / 60
        return cls(
            line=clamp(w / 60, 2, 8),
            font_size=font_size,
            pad=max(2, round(font_size * 0.2)),
            radius=clamp(radius, 1, 40),
        )


def draw_faces(
    image: np.ndarray,
    faces: Faces,
    similarity: bool = True,
    region: bool = True,
    options: DrawOptions | None = None,
) -> np.ndarray:
    """Return a copy of the (H,W,3) uint8 RGB image with each face's box, name and 5 landmarks drawn.

    The name is ``faces.names()`` (nothing where the faces were never matched), followed for a
    known face by the similarity with 2 decimals where ``similarity`` and the faces have that
    column (``drawing.labels``: Unknown faces show no score); a name's colour comes from its
    label (grey for Unknown). Labels avoid each other and the other faces. Boxes, labels and
    landmarks are clipped to the image; the input is not modified. options: which marks and
    labels (``DrawOptions``; its ``blur`` is not applied here).
    region: paint each face's marks and each label on a crop around it (the same pixels as
    painting the whole image, which region=False does; a 1080p frame with six faces: 1.8 ms
    against 3.3 ms on the 2-core VM, benchmarks/bench_draw.py).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be an (H,W,3) uint8 RGB array, got {got}")
    if len(faces) == 0:
        return image.copy()

    height, width = image.shape[:2]
    patches = plan_patches(faces, width, height, similarity, options)
    out = image.copy()
    if region:
        for patch in patches:
            _paint(out, crop_box(patch.extent, width, height), [patch])
    else:
        _paint(out, (0, 0, width, height), patches)
    return out


def _paint(out: np.ndarray, box: tuple[int, int, int, int], patches: Sequence[Patch]) -> None:
    """Paint ``patches`` in order on the ``box`` region of ``out``, in place. Painting each patch
    on its own region in turn gives the pixels of painting them all on the whole image: each
    region starts from what the earlier patches left, and holds every pixel its patch paints."""
    left, top, right, bottom = box
    if right <= left or bottom <= top:
        return
    canvas = Image.fromarray(np.ascontiguousarray(out[top:bottom, left:right]), "RGB")
    draw = ImageDraw.Draw(canvas)
    for patch in patches:
        patch.paint(draw, -left, -top)
    out[top:bottom, left:right] = np.asarray(canvas)


def plan_patches(
    faces: Faces, width: int, height: int, similarity: bool = True, options: DrawOptions | None = None
) -> list[Patch]:
    """Each face's box and landmark dots, then every label (labels on top of other boxes),
    placed by ``labels.place``."""
    options = options or DrawOptions()
    marks, requests, boxes = [], [], []
    names = faces.names() if faces.labels is not None else [""] * len(faces)
    for i in range(len(faces)):
        x1, y1, x2, y2 = (float(v) for v in faces.boxes[i])
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            continue
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            continue  # wholly outside the image
        eyes = float(np.hypot(*(faces.landmarks[i, 1] - faces.landmarks[i, 0])))
        style = _Style.for_face(x2 - x1, height, eyes)
        colour = label_colour(faces.labels[i] if faces.labels is not None else None)
        # Clip far-away coordinates to just outside the image: same pixels, small numbers.
        m = style.line + 1
        bx1, bx2 = (int(round(min(max(v, -m), width + m))) for v in (x1, x2))
        by1, by2 = (int(round(min(max(v, -m), height + m))) for v in (y1, y2))
        corners = (bx1, by1, bx2 - 1, by2 - 1) if bx2 > bx1 and by2 > by1 and options.boxes else None
        dots = _dots(faces.landmarks[i], style.radius, width, height) if options.landmarks else []
        if corners is not None or dots:
            marks.append(_marks(corners, dots, style, colour))
        boxes.append((float(max(bx1, 0)), float(max(by1, 0)), float(min(bx2, width)), float(min(by2, height))))
        text = text_of(faces, i, names[i], similarity and options.scores, options)
        if text is not None:
            requests.append((len(boxes) - 1, text, colour, style))
    return marks + label_patches(requests, boxes, width, height)


def _dots(points: np.ndarray, radius: int, width: int, height: int) -> list[tuple[float, float]]:
    """The (5,2) xy landmark ``points`` that are finite and whose dot reaches the image."""
    return [
        (x, y)
        for x, y in points.astype(np.float64).tolist()
        if math.isfinite(x) and math.isfinite(y) and -radius <= x <= width + radius and -radius <= y <= height + radius
    ]


def _marks(
    corners: tuple[int, int, int, int] | None,
    dots: list[tuple[float, float]],
    style: _Style,
    colour: tuple[int, int, int],
) -> Patch:
    """A face's box outline (corners inclusive, or None) and its landmarks: filled dots of
    ``style.radius`` px with a thin dark ring."""
    r, ring = style.radius, 1 if style.radius < 6 else 2
    extents = ([corners] if corners else []) + [(x - r, y - r, x + r, y + r) for x, y in dots]
    extent = (
        min(e[0] for e in extents),
        min(e[1] for e in extents),
        max(e[2] for e in extents),
        max(e[3] for e in extents),
    )

    def paint(draw: ImageDraw.ImageDraw, dx: int, dy: int) -> None:
        if corners is not None:
            x1, y1, x2, y2 = corners
            draw.rectangle((x1 + dx, y1 + dy, x2 + dx, y2 + dy), outline=colour, width=style.line)
        for x, y in dots:
            draw.ellipse((x - r + dx, y - r + dy, x + r + dx, y + r + dy), fill=colour, outline=_OUTLINE, width=ring)

    return Patch(extent, paint)
