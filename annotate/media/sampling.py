"""Which frames a sampled analysis (``--sample-fps``) reads: the first at or after each tick of
a 1/fps grid of times, decided from frame times alone, so H.264 pictures that cannot be
picked need not be decoded."""

from __future__ import annotations

import numpy as np


class Sampler:
    """Picks the first frame at or after each tick of a 1/fps grid; called with frame times
    in seconds, in order."""

    def __init__(self, fps: float) -> None:
        self.fps = float(fps)
        self.next_time = -np.inf

    def __call__(self, time: float) -> bool:
        if time < self.next_time - 1e-9:
            return False
        self.next_time = (np.floor(time * self.fps + 1e-6) + 1) / self.fps
        return True

    def could_pick(self, earlier: float, time: float) -> bool:
        """False when a frame at ``time`` cannot be picked because some frame at ``earlier``
        (< time) comes before it and no tick of the grid lies in (earlier, time]. Any frame
        between the two only narrows that interval, so ``earlier`` need not be the frame just
        before: an earlier one gives a safe answer."""
        return np.floor(time * self.fps + 1e-6) != np.floor(earlier * self.fps - 1e-6)
