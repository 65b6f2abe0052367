"""The shipped label font (``fonts/wqy-microhei-subset.ttf``: Latin, Greek, Cyrillic, Chinese,
Japanese, Korean), loaded once per size, and text measured with it."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

from ..errors import AnnotateError
from ..runtime import resources

REFERENCE_GLYPHS = "ÅÉgjy张김"  # tallest accented caps, descenders, CJK: sets the label height


@lru_cache(maxsize=32)
def load_font(path: str, size: int) -> tuple[ImageFont.FreeTypeFont, float, float]:
    """The font at ``size`` px, with the top and bottom of its reference glyphs' ink relative
    to the baseline: every label of a size gets the same height and baseline, whatever its text."""
    font = ImageFont.truetype(path, size)
    _, ink_top, _, ink_bottom = font.getbbox(REFERENCE_GLYPHS, anchor="ls")
    return font, ink_top, ink_bottom


def font(size: int) -> tuple[ImageFont.FreeTypeFont, float, float]:
    """``load_font`` for the shipped label font (once per size); AnnotateError if it is
    missing or unreadable."""
    path = resources.font_path()
    try:
        return load_font(str(path), size)
    except OSError as exc:
        if not path.is_file():
            raise AnnotateError(
                f"label font not found: {path} (it ships with annotate; "
                "restore it from the repository or rebuild it with fonts/subset_font.py)"
            ) from exc
        raise AnnotateError(f"label font {path} cannot be read: {exc}") from exc


def advance(text: str, size: int) -> float:
    return text_metrics(text, size)[0]


@lru_cache(maxsize=4096)
def text_metrics(text: str, size: int) -> tuple[float, tuple[float, float, float, float]]:
    """Advance width of ``text`` at ``size`` px and its ink box relative to the baseline origin
    (a glyph taller or wider than the reference ones can reach past the label). Cached: a
    video shows the same few labels on frame after frame."""
    face = font(size)[0]
    return face.getlength(text), face.getbbox(text, anchor="ls")
