"""What a label says and where it goes.

Text: a known face's name and similarity; an Unknown face's name alone (its similarity to
nobody means nothing), or with its nearest bank label when asked (``Unknown (Ross? 0.29)``).
A label is never wider than the picture: a long name is cut with an ellipsis, and the score
stays.

Place: the first of several spots around the face (above, then inside the top of the box,
below, beside) that stays in the picture and touches no other label and no other face;
failing that, the same at smaller sizes, and then with the name cut to the face's width (a
crowd); failing that, the nearest spot clear of labels, and then further out, tied to its
face by a leader line; and only when there is none, above the face as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from PIL import ImageDraw

from ..faces import Faces
from .fonts import advance, font, text_metrics
from .options import DrawOptions
from .patch import Patch

_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)

ELLIPSIS = "…"
SHRINK = (1.0, 0.8, 0.65)  # label sizes tried, as shares of the face's font size


def label_text(
    name: str, known: bool, similarity: float | None, nearest: str | None, show_nearest: bool
) -> tuple[str, str]:
    """(name part, suffix): ``("Grace Hopper", " 0.62")``, ``("Unknown #3", "")`` or with
    ``show_nearest`` ``("Unknown #3", " (Ross? 0.29)")``. similarity None: not shown."""
    score = similarity is not None and math.isfinite(similarity)
    if known:
        return name, f" {similarity:.2f}" if score else ""
    if show_nearest and nearest and score:
        return name, f" ({nearest}? {similarity:.2f})"
    return name, ""


def fit(name: str, suffix: str, max_width: float, measure: Callable[[str], float]) -> str:
    """``name + suffix``, the name cut with an ellipsis until it is at most ``max_width`` wide
    (the suffix, the score, is kept; when even it does not fit, the whole text is cut)."""
    text = name + suffix
    if measure(text) <= max_width or not name:
        return text
    if measure(ELLIPSIS + suffix) > max_width:  # even the suffix is too wide (a long nearest name)
        return fit(text, "", max_width, measure) if suffix else ELLIPSIS
    lo, hi = 0, len(name)  # the longest prefix that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(name[:mid].rstrip() + ELLIPSIS + suffix) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return name[:lo].rstrip() + ELLIPSIS + suffix


Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 (exclusive)


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass(frozen=True)
class Spot:
    """Where a label goes: its top-left corner, its size index in ``SHRINK``, and whether it
    needs a leader line to its face."""

    left: float
    top: float
    size: int
    leader: bool = False


def candidates(box: Rect, w: float, h: float, width: int, height: int) -> list[tuple[float, float]]:
    """Top-left corners around a face box for a ``w`` x ``h`` label, in order of preference,
    moved sideways into the picture; spots that leave it vertically are left out."""
    x1, y1, x2, y2 = box
    spots = [(x1, y1 - h), (x2 - w, y1 - h), (x1, max(y1, 0.0)), (x1, y2), (x2 - w, y2), (x1 - w, y1), (x2, y1)]
    out = []
    for left, top in spots:
        left = min(max(left, 0.0), max(width - w, 0.0))
        if top >= 0 and top + h <= height:
            out.append((left, top))
    return out


def place(
    boxes: Sequence[Rect],
    sizes: Sequence[Sequence[tuple[float, float]]],
    width: int,
    height: int,
    obstacles: Sequence[Rect] = (),
) -> list[Spot]:
    """A spot for each label, in order. boxes: each labelled face's (clipped) box. sizes: per
    label, its (w, h) at each size of ``SHRINK``. obstacles: every face's box (a label may sit
    on its own face's box, never on another's)."""
    placed: list[Rect] = []
    spots = []
    for i, box in enumerate(boxes):
        others = [b for b in (obstacles or boxes) if b != box]
        spot = _first_free(box, sizes[i], others, placed, width, height)
        w, h = sizes[i][spot.size]
        placed.append((spot.left, spot.top, spot.left + w, spot.top + h))
        spots.append(spot)
    return spots


def _first_free(
    box: Rect, sizes: Sequence[tuple[float, float]], others: list[Rect], placed: list[Rect], width: int, height: int
) -> Spot:
    for size, (w, h) in enumerate(sizes):  # around the face, clear of labels and faces
        for left, top in candidates(box, w, h, width, height):
            rect = (left, top, left + w, top + h)
            if not any(_overlaps(rect, r) for r in placed) and not any(_overlaps(rect, b) for b in others):
                return Spot(left, top, size)
    w, h = sizes[-1]
    for left, top in candidates(box, w, h, width, height):  # around the face, clear of labels
        if not any(_overlaps((left, top, left + w, top + h), r) for r in placed):
            return Spot(left, top, len(sizes) - 1)
    for ring in range(1, 6):  # further out, with a leader line
        for left, top in _ring(box, w, h, ring, width, height):
            rect = (left, top, left + w, top + h)
            if not any(_overlaps(rect, r) for r in placed):
                return Spot(left, top, len(sizes) - 1, leader=True)
    w, h = sizes[0]
    first = candidates(box, w, h, width, height)
    left, top = first[0] if first else (min(max(box[0], 0.0), max(width - w, 0.0)), max(box[1], 0.0))
    return Spot(left, top, 0)


def _ring(box: Rect, w: float, h: float, ring: int, width: int, height: int) -> list[tuple[float, float]]:
    """Spots ``ring`` label heights above and below the face, and beside it, inside the picture."""
    x1, y1, x2, y2 = box
    step = ring * h
    spots = [(x1, y1 - h - step), (x1, y2 + step), (x1 - w - step, y1), (x2 + step, y1)]
    return [(min(max(left, 0.0), max(width - w, 0.0)), top) for left, top in spots if top >= 0 and top + h <= height]


def text_colour(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or black, whichever contrasts more with ``fill`` (WCAG relative luminance)."""

    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * linear(fill[0]) + 0.7152 * linear(fill[1]) + 0.0722 * linear(fill[2])
    return _BLACK if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else _WHITE


def text_of(faces: Faces, i: int, name: str, scores: bool, options: DrawOptions) -> tuple[str, str] | None:
    """Face ``i``'s label as (name, suffix), or None for no label; ``name``: its entry of
    ``faces.names()`` ("" where the faces were never matched), made once per frame."""
    known = faces.labels is not None and faces.labels[i] is not None
    if not name or options.labels == "none" or (options.labels == "known" and not known):
        return None
    sim = float(faces.similarities[i]) if faces.similarities is not None and (scores or options.show_nearest) else None
    nearest = faces.nearest[i] if faces.nearest is not None else None
    return label_text(name, known, sim if (scores or not known) else None, nearest, options.show_nearest)


class _Variants(Sequence[tuple[float, float]]):
    """A label's (w, h) at each size variant, each measured only when placement first asks for
    it (most labels fit at the first)."""

    def __init__(self, name: str, suffix: str, font_size: int, face_width: float, width: int) -> None:
        # each size of SHRINK as wide as the picture allows; last, the smallest cut to the face's width
        self._rooms = [*((share, float(width)) for share in SHRINK), (SHRINK[-1], max(face_width, 1.0))]
        self._name, self._suffix, self._font_size = name, suffix, font_size
        self.fits: dict[int, tuple[str, int, int, int, float]] = {}  # variant -> text, size, pad, w, h

    def __len__(self) -> int:
        return len(self._rooms)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)  # ends iteration
        index %= len(self)
        if index not in self.fits:
            share, room = self._rooms[index]
            size = max(10, round(self._font_size * share))
            pad = max(2, round(size * 0.2))
            text = fit(self._name, self._suffix, room - 2 * pad, partial(advance, size=size))
            _, ink_top, ink_bottom = font(size)
            w = math.ceil(text_metrics(text, size)[0]) + 2 * pad
            self.fits[index] = (text, size, pad, w, ink_bottom - ink_top + 2 * pad)
        return self.fits[index][3:]


def label_patches(requests: list, boxes: list[Rect], width: int, height: int) -> list[Patch]:
    """The label patches of ``requests`` ((box index, (name, suffix), colour, style)), placed
    clear of each other and of every face in ``boxes``."""
    variants = [
        _Variants(name, suffix, style.font_size, boxes[index][2] - boxes[index][0], width)
        for index, (name, suffix), _, style in requests
    ]
    spots = place([boxes[r[0]] for r in requests], variants, width, height, obstacles=boxes)
    patches = []
    for (index, _, colour, _), sizes, spot in zip(requests, variants, spots):
        sizes[spot.size]  # measured by now; the call makes sure
        text, size, pad, w, h = sizes.fits[spot.size]
        leader = boxes[index] if spot.leader else None
        patches.append(_label(text, colour, size, pad, spot.left, spot.top, w, h, leader))
    return patches


def _label(
    text: str,
    colour: tuple[int, int, int],
    size: int,
    pad: int,
    left: float,
    top: float,
    label_w: int,
    label_h: float,
    leader: Rect | None = None,
) -> Patch:
    """Text on a filled ``label_w`` x ``label_h`` rectangle at (left, top); with ``leader``, a
    line from the rectangle to that face box."""
    face, ink_top, _ = font(size)
    _, ink = text_metrics(text, size)
    left, top = int(round(left)), int(round(top))
    x, y = left + pad, top + pad - ink_top  # the text's baseline origin
    extent = [
        min(left, x + ink[0]),
        min(top, y + ink[1]),
        max(left + label_w - 1, x + ink[2]),
        max(top + label_h - 1, y + ink[3]),
    ]
    ink_colour = text_colour(colour)
    line = None
    if leader is not None:
        cx, cy = (leader[0] + leader[2]) / 2, leader[1] if top + label_h <= leader[1] else leader[3]
        lx, ly = left + label_w / 2, top + label_h if top + label_h <= leader[1] else top
        line = (lx, ly, cx, cy)
        extent = [min(extent[0], lx, cx), min(extent[1], ly, cy), max(extent[2], lx, cx), max(extent[3], ly, cy)]

    def paint(draw: ImageDraw.ImageDraw, dx: int, dy: int) -> None:
        if line is not None:
            draw.line((line[0] + dx, line[1] + dy, line[2] + dx, line[3] + dy), fill=colour, width=max(1, size // 10))
        draw.rectangle((left + dx, top + dy, left + label_w - 1 + dx, top + label_h - 1 + dy), fill=colour)
        draw.text((x + dx, y + dy), text, font=face, fill=ink_colour, anchor="ls")

    return Patch((extent[0], extent[1], extent[2], extent[3]), paint, (left, top, left + label_w, top + label_h))
