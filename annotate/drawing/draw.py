"""Draw faces on an image: a box, a name label and the five landmarks per face.

Everything is sized from the face width w = x2 - x1 in pixels (see ``_Style.for_face``)
so labels stay readable from 50 px to 1000 px faces. Labels use the shipped font
``fonts/wqy-microhei-subset.ttf`` (Latin, Greek, Cyrillic, Chinese, Japanese, Korean).
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import AnnotateError
from ..faces import Faces
from ..runtime import resources

GREY = (128, 128, 128)
_SATURATION = 0.75  # fixed HSV saturation/value of label colours; only the hue varies
_VALUE = 0.90
_OUTLINE = (24, 24, 24)  # ring around landmark dots, so they show on any skin
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_REFERENCE_GLYPHS = "ÅÉgjy张김"  # tallest accented caps, descenders, CJK: sets the label height


def label_colour(label: str | None) -> tuple[int, int, int]:
    """Stable RGB colour of a bank label: hue from sha256 of the UTF-8 name; grey for None (Unknown)."""
    if label is None:
        return GREY
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536.0
    r, g, b = colorsys.hsv_to_rgb(hue, _SATURATION, _VALUE)
    return (round(r * 255), round(g * 255), round(b * 255))


def _text_colour(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or black, whichever contrasts more with ``fill`` (WCAG relative luminance)."""

    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * linear(fill[0]) + 0.7152 * linear(fill[1]) + 0.0722 * linear(fill[2])
    return _BLACK if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else _WHITE


def _clamp(value: float, lo: int, hi: int) -> int:
    return int(min(max(round(value), lo), hi))


@dataclass(frozen=True)
class _Style:
    """Pixel sizes for one face: box line width, font size, label padding, landmark radius."""

    line: int
    font_size: int
    pad: int
    radius: int

    @classmethod
    def for_face(cls, width: float, image_height: int) -> _Style:
        """Sizes for a face ``width`` px wide in an image ``image_height`` px tall.

        line = clamp(w/60, 2, 8); font = clamp(w/8, 14, 48), and at most a sixth of
        the image height (but never under 10 px); landmark radius = clamp(w/60, 3, 9).
        """
        w = width if math.isfinite(width) else 0.0
        font_size = min(_clamp(w / 8, 14, 48), max(10, image_height // 6))
        return cls(
            line=_clamp(w / 60, 2, 8),
            font_size=font_size,
            pad=max(2, round(font_size * 0.2)),
            radius=_clamp(w / 60, 3, 9),
        )


@lru_cache(maxsize=32)
def _load_font(path: str, size: int) -> tuple[ImageFont.FreeTypeFont, float, float]:
    """The font at ``size`` px, with the top and bottom of its reference glyphs' ink relative
    to the baseline: every label of a size gets the same height and baseline, whatever its text."""
    font = ImageFont.truetype(path, size)
    _, ink_top, _, ink_bottom = font.getbbox(_REFERENCE_GLYPHS, anchor="ls")
    return font, ink_top, ink_bottom


def _font(size: int) -> tuple[ImageFont.FreeTypeFont, float, float]:
    """``_load_font`` for the shipped label font (once per size); AnnotateError if it is
    missing or unreadable."""
    path = resources.font_path()
    try:
        return _load_font(str(path), size)
    except OSError as exc:
        if not path.is_file():
            raise AnnotateError(
                f"label font not found: {path} (it ships with annotate; "
                "restore it from the repository or rebuild it with fonts/subset_font.py)"
            ) from exc
        raise AnnotateError(f"label font {path} cannot be read: {exc}") from exc


@lru_cache(maxsize=4096)
def _text_metrics(text: str, size: int) -> tuple[float, tuple[float, float, float, float]]:
    """Advance width of ``text`` at ``size`` px and its ink box relative to the baseline origin
    (a glyph taller or wider than the reference ones can reach past the label). Cached: a
    video shows the same few labels on frame after frame."""
    font = _font(size)[0]
    return font.getlength(text), font.getbbox(text, anchor="ls")


def _label_text(label: str, similarity: float | None) -> str:
    """``Name 0.62`` when a finite similarity is given, else the name ("" draws no text)."""
    if not label:
        return ""
    if similarity is not None and math.isfinite(similarity):
        return f"{label} {similarity:.2f}"
    return label


def draw_faces(image: np.ndarray, faces: Faces, similarity: bool = True, region: bool = True) -> np.ndarray:
    """Return a copy of the (H,W,3) uint8 RGB image with each face's box, name and 5 landmarks drawn.

    The name is ``faces.names()`` (nothing where the faces were never matched), followed by
    the similarity with 2 decimals where ``similarity`` and the faces have that column; a
    name's colour comes from its label (grey for Unknown). Boxes, labels and landmarks are
    clipped to the image; the input is not modified.
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
    patches = plan_patches(faces, width, height, similarity)
    out = image.copy()
    if region:
        for patch in patches:
            _paint(out, crop_box(patch.extent, width, height), [patch])
    else:
        _paint(out, (0, 0, width, height), patches)
    return out


@dataclass(frozen=True)
class Patch:
    """What is painted together: its xyxy extent in image pixels (inclusive, ink included),
    and ``paint(draw, dx, dy)``, which paints on a canvas whose origin is image pixel (-dx, -dy)
    (integer shifts keep every pixel as it is on the whole image)."""

    extent: tuple[float, float, float, float]
    paint: Callable[[ImageDraw.ImageDraw, int, int], None]


# Pixels added around an extent before cropping the canvas: outlines and anti-aliased text
# can reach a pixel or two past the nominal shapes.
_MARGIN = 4


def crop_box(extent: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), right and bottom exclusive: the extent with a margin, clipped
    to the image."""
    x1, y1, x2, y2 = extent
    return (
        _clamp(math.floor(x1) - _MARGIN, 0, width),
        _clamp(math.floor(y1) - _MARGIN, 0, height),
        _clamp(math.ceil(x2) + _MARGIN + 1, 0, width),
        _clamp(math.ceil(y2) + _MARGIN + 1, 0, height),
    )


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


def plan_patches(faces: Faces, width: int, height: int, similarity: bool = True) -> list[Patch]:
    """Each face's box and landmark dots, then every label (labels on top of other boxes)."""
    names = faces.names()
    labels = faces.labels if faces.labels is not None else (None,) * len(faces)
    sims = faces.similarities if similarity and faces.similarities is not None else None
    marks, texts = [], []
    for i in range(len(faces)):
        x1, y1, x2, y2 = (float(v) for v in faces.boxes[i])
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            continue
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            continue  # wholly outside the image
        style = _Style.for_face(x2 - x1, height)
        colour = label_colour(labels[i])
        # Clip far-away coordinates to just outside the image: same pixels, small numbers.
        m = style.line + 1
        bx1, bx2 = (int(round(min(max(v, -m), width + m))) for v in (x1, x2))
        by1, by2 = (int(round(min(max(v, -m), height + m))) for v in (y1, y2))
        corners = (bx1, by1, bx2 - 1, by2 - 1) if bx2 > bx1 and by2 > by1 else None
        dots = _dots(faces.landmarks[i], style.radius, width, height)
        if corners is not None or dots:
            marks.append(_marks(corners, dots, style, colour))
        text = _label_text(names[i], None if sims is None else float(sims[i]))
        if text:
            texts.append(_label(text, colour, style, bx1, by1, width))
    return marks + texts


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


def _label(text: str, colour: tuple[int, int, int], style: _Style, box_x1: int, box_y1: int, image_width: int) -> Patch:
    """Text on a filled rectangle whose bottom is the box top, or inside the box if no room above."""
    font, ink_top, ink_bottom = _font(style.font_size)
    length, ink = _text_metrics(text, style.font_size)
    label_w = math.ceil(length) + 2 * style.pad
    label_h = ink_bottom - ink_top + 2 * style.pad
    top = box_y1 - label_h if box_y1 - label_h >= 0 else max(box_y1, 0)
    left = min(max(box_x1, 0), max(image_width - label_w, 0))
    x, y = left + style.pad, top + style.pad - ink_top  # the text's baseline origin
    extent = (
        min(left, x + ink[0]),
        min(top, y + ink[1]),
        max(left + label_w - 1, x + ink[2]),
        max(top + label_h - 1, y + ink[3]),
    )
    ink_colour = _text_colour(colour)

    def paint(draw: ImageDraw.ImageDraw, dx: int, dy: int) -> None:
        draw.rectangle((left + dx, top + dy, left + label_w - 1 + dx, top + label_h - 1 + dy), fill=colour)
        draw.text((x + dx, y + dy), text, font=font, fill=ink_colour, anchor="ls")

    return Patch(extent, paint)
