"""How much the picture changed between two analysed frames: a colour histogram per frame and
one minus their intersection, as PySceneDetect's HistogramDetector measures a cut.

A histogram ignores where things are, so a face or a camera moving within a shot changes it
little, while a cut to another shot changes it a lot. It decides only whether two tracks that
follow each other may be one person's (``video.stitch``); the tracker's own cut rule, every
track failing its appearance gate at once, still ends tracks.
"""

from __future__ import annotations

import bisect

import numpy as np

BINS = 16  # per channel, of Y, Cb and Cr
# Measured on video.mp4 and the Hamilton clip at full rate, 2 and 5 fps (benchmarks/README.md,
# session 12): the Hamilton clip's three cuts changed the picture by 0.128-0.174, frames of
# one shot by at most 0.10 (a panning shot at 2 fps; 0.017 at full rate).
CUT = 0.12
_WIDTH = 160  # pixels across the thumbnail the histogram is made of


def signature(image: np.ndarray) -> np.ndarray:
    """(H,W,3) uint8 RGB -> (3*BINS,) float64 histograms of Y, Cb and Cr (BT.601), each summing
    to 1, of a thumbnail about 160 px wide (every s-th pixel)."""
    step = max(1, image.shape[1] // _WIDTH)
    rgb = image[::step, ::step].reshape(-1, 3).astype(np.int32)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    channels = (
        (77 * r + 150 * g + 29 * b) >> 8,
        ((-43 * r - 85 * g + 128 * b) >> 8) + 128,
        ((128 * r - 107 * g - 21 * b) >> 8) + 128,
    )
    counts = [np.bincount(np.clip(c, 0, 255) * BINS // 256, minlength=BINS) for c in channels]
    return np.concatenate(counts).astype(np.float64) / max(1, len(rgb))


def change(a: np.ndarray, b: np.ndarray) -> float:
    """0 (same colours) to 1 (no colour in common): one minus the mean histogram intersection
    of two ``signature``s."""
    return float(1.0 - np.minimum(a, b).sum() / 3.0)


class PictureChanges:
    """The analysed frames' times (seconds, increasing) and how much the picture changed at each
    since the analysed frame before (1.0 at the first)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.changes: list[float] = []
        self._last: np.ndarray | None = None

    def add(self, time: float, image: np.ndarray, now: np.ndarray | None = None) -> None:
        """The next analysed frame: its time and (H,W,3) uint8 RGB picture (now: its
        ``signature``, when the caller has it already)."""
        now = signature(image) if now is None else now
        self.times.append(float(time))
        self.changes.append(1.0 if self._last is None else change(self._last, now))
        self._last = now

    def next_times(self, time: float, frames: int) -> list[float]:
        """The times of up to ``frames`` analysed frames after the one at ``time``."""
        i = bisect.bisect_right(self.times, time)
        return self.times[i : i + frames]

    def same_shot(self, start: float, end: float, frames: int = 2) -> bool:
        """Whether the analysed frame at ``end`` is at most ``frames`` analysed frames after the one
        at ``start``, with no cut (a change of ``CUT`` or more) on the way."""
        i, j = bisect.bisect_left(self.times, start), bisect.bisect_left(self.times, end)
        known = j < len(self.times) and self.times[j] == end and self.times[i] == start
        if not known or not 0 < j - i <= frames:
            return False
        return max(self.changes[i + 1 : j + 1]) < CUT
