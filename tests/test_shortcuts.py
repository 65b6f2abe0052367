"""The tracks' shortcuts (video.shortcuts) against the exact path: with every shortcut off,
the tracked path gives the exact analysis; by default it finds the same faces and tracks but
embeds far fewer of them; the search about expected boxes (detect_near) finds the next frame's
faces where they are, and only there."""

from __future__ import annotations

import numpy as np
import pytest
from cast import Part, compose, make_cast, portraits
from conftest import needs_shared
from PIL import Image

import annotate
from annotate.errors import InputError
from annotate.media.probe import probe
from annotate.media.video import Frame, VideoReader
from annotate.recognition.match import assign
from annotate.video.scan import FrameScanner
from annotate.video.shortcuts import Shortcuts, TrackedScan
from annotate.video.track import box_iou

NONE = Shortcuts(detect_every=1, embed_every=1)  # every shortcut off, through the tracked path


def _analyse(path, recognizer, bank, **options):
    return annotate.analyse_video(path, recognizer, bank, annotate.VideoOptions(keep_embeddings=True, **options))


def _columns(analysis, name):
    return np.concatenate([getattr(f.faces, name) for f in analysis.frames])


@pytest.fixture(scope="module")
def swap(tmp_path_factory, recognizer, bank):
    """The 'swap' clip (each person cut to the other's place), analysed exactly and by default,
    and the faces the default embedded."""
    path = tmp_path_factory.mktemp("swap") / "swap.mp4"
    make_cast(path, "swap")
    exact = _analyse(path, recognizer, bank, exact=True)
    embed, counted = recognizer.embedder.embed, []
    recognizer.embedder.embed = lambda crops, **kw: counted.append(len(crops)) or embed(crops, **kw)
    try:
        quick = _analyse(path, recognizer, bank)
    finally:
        del recognizer.embedder.embed
    return exact, quick, sum(counted)


def test_the_tracked_path_with_no_shortcut_is_the_exact_path(tmp_path, recognizer, bank):
    path = tmp_path / "cross.mp4"
    make_cast(path, "cross")
    exact = _analyse(path, recognizer, bank, exact=True)
    plain = _analyse(path, recognizer, bank, exact=False, shortcuts=NONE)
    assert [f.index for f in plain.frames] == [f.index for f in exact.frames]
    np.testing.assert_array_equal(_columns(plain, "boxes"), _columns(exact, "boxes"))
    np.testing.assert_array_equal(_columns(plain, "tracks"), _columns(exact, "tracks"))
    # embedded frame by frame rather than four frames at a time: float rounding only
    np.testing.assert_allclose(_columns(plain, "embeddings"), _columns(exact, "embeddings"), atol=1e-5)
    for mine, theirs in zip(plain.appearances, exact.appearances, strict=True):
        assert (mine.label, mine.tracks, mine.start, mine.end) == (
            theirs.label,
            theirs.tracks,
            theirs.start,
            theirs.end,
        )
        assert mine.mean_similarity == pytest.approx(theirs.mean_similarity, abs=1e-5)


def test_by_default_the_same_faces_and_tracks_with_a_fifth_of_the_embeddings(swap):
    exact, quick, embedded_faces = swap
    np.testing.assert_array_equal(_columns(quick, "boxes"), _columns(exact, "boxes"))
    np.testing.assert_array_equal(_columns(quick, "tracks"), _columns(exact, "tracks"))
    assert [(a.label, a.start, a.end) for a in quick.appearances] == [
        (a.label, a.start, a.end) for a in exact.appearances
    ]
    embedded, computed = _columns(quick, "embeddings"), _columns(exact, "embeddings")
    fresh = np.abs(embedded - computed).max(axis=1) < 1e-5
    # a face either has its own embedding (the same as the exact path's: on these still
    # portraits, a reused one often is too), or carries an earlier one of its own track
    tracks = _columns(quick, "tracks")
    for row in np.flatnonzero(~fresh):
        earlier = np.flatnonzero((tracks[:row] == tracks[row]) & fresh[:row])
        assert len(earlier) and np.array_equal(embedded[row], embedded[earlier[-1]]), row
    faces = len(tracks)
    assert faces == 150 and 0.2 * faces <= embedded_faces <= 0.22 * faces  # one in 5 frames, and at the cut


def test_every_face_is_embedded_again_where_the_picture_cuts(recognizer, bank, monkeypatch):
    # One still portrait for 20 frames; at frame 10 the background turns from grey to green, a
    # cut by the picture's colours, though the face stays put. Embeddings reused for as long as
    # faces stay put: only the first frame and the cut call for one.
    people = portraits()
    frames = []
    for index in range(20):
        image = compose(0, (Part(0, 0, 1, 200, 200),), people)
        if index >= 10:
            image[(image == 96).all(axis=2)] = (40, 160, 60)
        frames.append(Frame(index, index, index / 25, image))
    counted: list[int] = []
    embed = recognizer.embedder.embed
    monkeypatch.setattr(
        recognizer.embedder, "embed", lambda crops, **kw: counted.append(len(crops)) or embed(crops, **kw)
    )
    scanner = FrameScanner(bank, keep_embeddings=True)
    TrackedScan(recognizer, scanner, Shortcuts(embed_every=1000, embed_seconds=1000.0)).add(frames)
    assert counted == [1, 1]
    tracks = [seen.faces.tracks.tolist() for seen in scanner.seen]
    assert tracks == [[1]] * 20  # the same face, one track: the cut was in the colours only


def _same_place(first: np.ndarray, second: np.ndarray, recognizer) -> np.ndarray:
    """``second`` scaled and moved so that its face has the width and centre of ``first``'s."""
    a, b = (recognizer.detect([image])[0].boxes[0] for image in (first, second))
    scale = (a[2] - a[0]) / (b[2] - b[0])
    small = np.asarray(Image.fromarray(second).resize((round(second.shape[1] * scale), round(second.shape[0] * scale))))
    shift = ((a[:2] + a[2:]) / 2 - (b[:2] + b[2:]) / 2 * scale).round().astype(int)
    canvas = np.full((first.shape[0] + 800, first.shape[1] + 800, 3), 96, np.uint8)
    x, y = 400 + shift[0], 400 + shift[1]
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return np.ascontiguousarray(canvas[400 : 400 + first.shape[0], 400 : 400 + first.shape[1]])


def test_another_face_where_the_last_one_was_is_embedded_though_the_colours_hardly_change(recognizer, bank):
    # Eileen Collins for 8 frames, then Grace Hopper in the same place at the same size: the
    # picture's colours change by less than a cut's, the box neither moves nor grows; her own
    # pixels tell the faces apart, and she starts a track of her own, as on the exact path
    eileen, grace = portraits()
    grace = _same_place(eileen, grace, recognizer)
    frames = [Frame(k, k, k / 25, eileen if k < 8 else grace) for k in range(16)]
    tracks = {}
    for name, shortcuts in (("plain", NONE), ("default", Shortcuts())):
        scanner = FrameScanner(bank)
        TrackedScan(recognizer, scanner, shortcuts).add(frames)
        tracks[name] = [seen.faces.tracks.tolist() for seen in scanner.seen]
    assert tracks["plain"] == [[1]] * 8 + [[2]] * 8
    assert tracks["default"] == tracks["plain"]


@pytest.fixture(scope="module")
def hamilton(recognizer):
    path = needs_shared("video", "hamilton", "short_hamilton_clip.mp4")
    with VideoReader(path, probe(path)) as reader:
        return [frame.image for frame in reader.frames(None)][:60]


def test_the_search_about_expected_faces_finds_them_where_the_full_pass_does(recognizer, hamilton):
    full = recognizer.detect(hamilton)
    kept = total = 0
    for before, image, now in zip(full, hamilton[1:], full[1:]):
        if not len(before) or not len(now):
            continue
        expected = now[box_iou(now.boxes, before.boxes).max(axis=1) >= 0.3]  # not a face new after a cut
        near = recognizer.detect_near(image, before.boxes)
        if len(expected) and len(near):
            pairs = assign(box_iou(expected.boxes, near.boxes), 0.5)
            kept += int((pairs >= 0).sum())
        total += len(expected)
    assert total > 60 and kept / total >= 0.85, (kept, total)


def test_the_search_about_one_expected_face_finds_only_that_face(recognizer, hamilton):
    image, faces = hamilton[0], recognizer.detect(hamilton[:1])[0]
    assert len(faces) >= 2
    near = recognizer.detect_near(image, faces.boxes[:1])
    assert len(near) == 1
    assert box_iou(near.boxes, faces.boxes[:1])[0, 0] >= 0.9
    assert len(recognizer.detect_near(image, np.zeros((0, 4)))) == 0


def test_shortcut_settings_are_checked():
    for bad in ({"detect_every": 0}, {"embed_seconds": 0.0}, {"grown": 0.9}, {"moved": -1.0}):
        with pytest.raises(InputError):
            Shortcuts(**bad)
    assert annotate.VideoOptions().shortcuts_for("cpu") == Shortcuts()
    assert annotate.VideoOptions().shortcuts_for("cuda:0") is None
    assert annotate.VideoOptions(exact=True).shortcuts_for("cpu") is None
