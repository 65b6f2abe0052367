"""How faces are shown, decided once and passed down to the photo and video jobs: which marks
are drawn, which faces get a label and what it says, and whose faces are hidden instead."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .blur import BlurPolicy

LABELS = ("all", "known", "none")


@dataclass(frozen=True)
class DrawOptions:
    """boxes, landmarks: draw them. scores: the similarity after a known name. labels: ``all``
    faces, the ``known`` ones, or ``none``. show_nearest: an Unknown face's label names its
    nearest bank label and similarity (``Unknown (Ross? 0.29)``). blur: whose faces are hidden
    instead of drawn (None: nobody's)."""

    boxes: bool = True
    landmarks: bool = True
    scores: bool = True
    labels: str = "all"
    show_nearest: bool = False
    blur: BlurPolicy | None = None

    def __post_init__(self) -> None:
        if self.labels not in LABELS:
            raise InputError(f"unknown --labels {self.labels!r}: one of {', '.join(LABELS)}")
