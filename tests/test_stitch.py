"""Stitching: a track that starts where another ended, in the next analysed frames of the same
shot, continues it at a lower similarity than re-identification asks; a cut, a distance, a gap
or an unlike face keeps them apart. Hand-made tracks and pictures with known answers."""

from __future__ import annotations

import numpy as np

from annotate.video.cuts import CUT, PictureChanges, change, signature
from annotate.video.identity import TrackSums
from annotate.video.stitch import STITCH, stitch_tracks

GREY = np.full((90, 160, 3), 96, np.uint8)
RED = np.zeros((90, 160, 3), np.uint8)
RED[..., 0] = 200
BOX = np.array([[100, 100, 160, 170]], np.float32)


def look(similarity):
    """A unit 3-vector ``similarity`` alike to [1, 0, 0]."""
    return np.array([[similarity, np.sqrt(1 - similarity**2), 0]], np.float32)


def pictures(*images):
    out = PictureChanges()
    for k, image in enumerate(images):
        out.add(k / 5, image)
    return out


def two_tracks(similarity, start=1, box=BOX):
    """Track 1 at t=0; track 2 from analysed frame ``start`` (5 fps), ``similarity`` alike."""
    sums = TrackSums()
    sums.add(np.array([1]), look(1.0), time=0.0, boxes=BOX)
    sums.add(np.array([2]), look(similarity), time=start / 5, boxes=box)
    return sums


def test_picture_change_is_small_within_a_shot_and_large_at_a_cut():
    moved = np.roll(GREY.copy(), 20, axis=1)
    moved[30:60, 40:80] = 30  # something dark enters the picture
    assert change(signature(GREY), signature(GREY)) == 0.0
    assert change(signature(GREY), signature(moved)) < CUT
    assert change(signature(GREY), signature(RED)) > 0.9


def test_a_track_that_starts_where_another_ended_continues_it():
    chains = stitch_tracks(two_tracks(STITCH + 0.05), pictures(GREY, GREY))
    assert chains == {1: 1, 2: 1}


def test_what_keeps_two_tracks_apart():
    assert stitch_tracks(two_tracks(STITCH - 0.05), pictures(GREY, GREY)) == {1: 1, 2: 2}, "unlike"
    assert stitch_tracks(two_tracks(0.9), pictures(GREY, RED)) == {1: 1, 2: 2}, "a cut in the picture"
    assert stitch_tracks(two_tracks(0.9), pictures(GREY, GREY), cuts=frozenset({0.2})) == {1: 1, 2: 2}, "tracker cut"
    far = BOX + np.array([300, 0, 300, 0], np.float32)
    assert stitch_tracks(two_tracks(0.9, box=far), pictures(GREY, GREY)) == {1: 1, 2: 2}, "elsewhere"
    late = two_tracks(0.9, start=3)
    assert stitch_tracks(late, pictures(GREY, GREY, GREY, GREY)) == {1: 1, 2: 2}, "three analysed frames later"
    assert stitch_tracks(two_tracks(0.9, start=2), pictures(GREY, GREY, GREY)) == {1: 1, 2: 1}, "two: still"


def test_each_track_takes_one_successor_the_most_alike_and_chains_run_on():
    sums = TrackSums()
    sums.add(np.array([1]), look(1.0), time=0.0, boxes=BOX)
    sums.add(np.array([2, 3]), np.vstack([look(0.5), look(0.7)]), time=0.2, boxes=np.vstack([BOX, BOX + 10]))
    assert stitch_tracks(sums, pictures(GREY, GREY)) == {1: 1, 2: 2, 3: 1}, "3 is more like 1 than 2 is"
    sums.add(np.array([4]), look(0.7), time=0.4, boxes=BOX + 10)  # 3 again, after a blur
    assert stitch_tracks(sums, pictures(GREY, GREY, GREY)) == {1: 1, 2: 2, 3: 1, 4: 1}
