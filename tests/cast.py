"""Clips with known truth for identity over time: the two sample people cut, leave and come
back, and cross, as edited video does. Each clip comes with its ``Presence`` truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from clips import portraits

from annotate.evaluate.identity import Presence

PEOPLE = ("Eileen Collins", "Grace Hopper")  # portraits() order
SIZE = (640, 400)  # width, height
FPS = 25
W, H = 210, 250  # a portrait's size


@dataclass(frozen=True)
class Part:
    """``PEOPLE[person]`` on screen from ``start`` to ``end`` seconds, the picture's left edge
    moving from ``x0`` to ``x1``, its top at ``y``."""

    person: int
    start: float
    end: float
    x0: int
    x1: int
    y: int = 40


# Hard cuts where each person appears exactly where the other was; a person who leaves and
# comes back elsewhere; two people crossing (one above the other, their faces pass by); one
# person alone, then a cut to the other in the same place on the same background (nothing but
# the face tells the two shots apart); one person zigzagging across the picture at 410 px a
# second, turning every second, while the other crosses.
CASTS: dict[str, tuple[tuple[Part, ...], float]] = {
    "cut": (
        (
            *(Part(0, 0, 2, 40, 40), Part(1, 0, 2, 390, 390)),
            *(Part(1, 2, 4, 40, 40), Part(0, 2, 4, 390, 390)),
            *(Part(0, 4, 6, 40, 60), Part(1, 4, 6, 390, 370)),
        ),
        6.0,
    ),
    "return": ((Part(0, 0, 2, 40, 60), Part(1, 0, 6, 400, 400), Part(0, 3.5, 6, 120, 100)), 6.0),
    "cross": ((Part(0, 0, 6, 10, 420, y=0), Part(1, 0, 6, 420, 10, y=150)), 6.0),
    "swap": ((Part(0, 0, 3, 200, 200), Part(1, 3, 6, 200, 200)), 6.0),
    "fast": (
        (
            *(Part(0, 0, 1, 10, 420, y=0), Part(0, 1, 2, 420, 10, y=0), Part(0, 2, 3, 10, 420, y=0)),
            Part(1, 0, 3, 420, 10, y=150),
        ),
        3.0,
    ),
}


def _frames(part: Part) -> tuple[int, int]:
    return math.ceil(part.start * FPS), math.ceil(part.end * FPS) - 1


def _left(part: Part, index: int) -> float:
    first, last = _frames(part)
    share = (index - first) / max(1, last - first)
    return part.x0 + share * (part.x1 - part.x0)


def compose(index: int, parts: tuple[Part, ...], people: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    frame = np.full((SIZE[1], SIZE[0], 3), 96, np.uint8)
    for part in parts:
        first, last = _frames(part)
        if first <= index <= last:
            x = int(round(_left(part, index)))
            frame[part.y : part.y + H, x : x + W] = people[part.person]
    return frame


def truth(parts: tuple[Part, ...]) -> list[Presence]:
    """Where each person's picture is, frame by frame."""
    out = []
    for part in parts:
        first, last = _frames(part)
        box = lambda x: (float(x), float(part.y), float(x + W), float(part.y + H))
        out.append(Presence(PEOPLE[part.person], first, last, box(part.x0), box(_left(part, last))))
    return out


def make_cast(path: Path, name: str) -> list[Presence]:
    """Write clip ``name`` of CASTS as an H.264 mp4; returns its truth."""
    parts, length = CASTS[name]
    people = portraits()
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.options = {"crf": "20", "preset": "ultrafast"}
        stream.time_base = stream.codec_context.time_base = Fraction(1, FPS)
        for index in range(int(length * FPS)):
            frame = av.VideoFrame.from_ndarray(compose(index, parts, people), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return truth(parts)
