"""Tracks that follow each other in one shot, joined before re-identification: a face that
blurs or turns for a frame fails the tracker's appearance gate and starts a new track, whose
mean may be too unlike the old one for ``link_tracks`` (0.29 for a blurred face, 0.40 for a
profile, against a joining threshold of 0.45). Where one track ends, and the next analysed
frame or the one after has a new track starting where the old one was, with no cut between,
the two are one person's at a lower threshold: time, place and picture stand for the rest of
the evidence. Each track takes at most one successor and one predecessor, the most alike first.
"""

from __future__ import annotations

import numpy as np

from ..recognition.match import unit
from .cuts import PictureChanges
from .identity import TrackSums
from .track import fits

# Measured (benchmarks/README.md, session 12): of LFW's pairs of different people, 0.34% were
# 0.2 alike or more (one image each; 0.47% for means of two images), and the stitch also needs
# the place, the next frames and the shot; the continuations that re-identification missed on
# video.mp4 and the Hamilton clip were 0.24-0.40 alike, the one candidate of another person -0.02.
STITCH = 0.2
FRAMES = 2  # analysed frames after a track's last face in which its continuation may start


def stitch_tracks(
    sums: TrackSums,
    pictures: PictureChanges,
    cuts: frozenset[float] = frozenset(),
    threshold: float = STITCH,
    reach: float = 0.5,
    speed: float = 3.0,
) -> dict[int, int]:
    """Track id -> the first track of its chain. A track B continues track A when B's first face
    is in one of the ``FRAMES`` analysed frames after A's last, in the same shot (``pictures``, and
    not at one of the tracker's ``cuts``), near A's last box (``track.fits`` with ``reach`` and
    ``speed``), the two never met, and their means are at least ``threshold`` alike."""
    ids = sorted(sums.sums, key=lambda t: (sums.sums[t].first, t))
    starting: dict[float, list[int]] = {}
    for t in ids:
        starting.setdefault(sums.sums[t].first, []).append(t)
    pairs = []
    for a in ids:
        for b in (b for time in pictures.next_times(sums.sums[a].last, FRAMES) for b in starting.get(time, [])):
            if _follows(sums, a, b, pictures, cuts, reach, speed):
                pairs.append((float(unit(sums.sums[a].vector) @ unit(sums.sums[b].vector)), a, b))
    chain = {t: t for t in ids}
    before: set[int] = set()
    after: set[int] = set()
    for similarity, a, b in sorted(pairs, reverse=True):
        if similarity < threshold or a in after or b in before:
            continue
        after.add(a)
        before.add(b)
        chain[b] = a
    return {t: _head(chain, t) for t in ids}


def _follows(
    sums: TrackSums, a: int, b: int, pictures: PictureChanges, cuts: frozenset[float], reach: float, speed: float
) -> bool:
    """Whether track b starts where and soon after track a ended, in the same shot."""
    old, new = sums.sums[a], sums.sums[b]
    if sums.met(a, b) or new.first in cuts or old.tail is None or new.head is None:
        return False
    if not pictures.same_shot(old.last, new.first, FRAMES):
        return False
    gap = np.array([new.first - old.last])
    return bool(fits(new.head[None], old.tail[None], gap, reach, speed)[0, 0])


def _head(chain: dict[int, int], track: int) -> int:
    while chain[track] != track:
        track = chain[track]
    return track
