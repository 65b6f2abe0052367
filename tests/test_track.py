"""Tracker, track naming and the timeline, on hand-made detections with known answers."""

from __future__ import annotations

import numpy as np

from annotate.faces import Faces
from annotate.recognition.match import similarity_matrix
from annotate.video.analysis import _named, _Seen
from annotate.video.timeline import appearances
from annotate.video.track import IoUTracker, TrackSums, box_iou, name_tracks

BANK = np.eye(3, dtype=np.float32)[:2]  # two people: axis 0 and axis 1
LABELS = ("Ada", "Bo")


def faces(*boxes):
    boxes = np.array(boxes, np.float32).reshape(-1, 4)
    return Faces(boxes, np.ones(len(boxes)), np.zeros((len(boxes), 5, 2)))


def boxes(*rows):
    return np.array(rows, np.float32).reshape(-1, 4)


def unit(*rows):
    a = np.array(rows, np.float32).reshape(-1, 3)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_iou():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_tracker_follows_moving_boxes_and_ends_after_max_gap():
    tracker = IoUTracker(min_iou=0.3, max_gap=2)
    assert tracker.update(boxes([0, 0, 10, 10], [50, 0, 60, 10])).tolist() == [1, 2]
    assert tracker.update(boxes([52, 0, 62, 10], [1, 0, 11, 10])).tolist() == [2, 1]  # order does not matter
    assert tracker.update(boxes([2, 0, 12, 10])).tolist() == [1]  # 2 unseen once
    assert tracker.update(boxes()).tolist() == []  # 2 unseen twice, 1 once
    assert tracker.update(boxes([54, 0, 64, 10], [3, 0, 13, 10])).tolist() == [2, 1]
    for _ in range(3):
        tracker.update(boxes())
    assert tracker.update(boxes([4, 0, 14, 10])).tolist() == [3], "gone for longer than max_gap: a new track"


def record(index, boxes, embeddings, tracks, fps=10.0):
    """An analysed frame before naming (faces with tracks, (N,K) similarities to BANK) and its
    faces' unit embeddings."""
    emb, ids = unit(*embeddings), np.array(tracks, np.int64)
    return _Seen(index, index / fps, faces(*boxes).with_columns(tracks=ids), similarity_matrix(emb, BANK)), emb


def named(entries, threshold):
    seen = TrackSums()
    for frame, emb in entries:
        seen.add(frame.faces.tracks, emb)
    return name_tracks(seen, BANK, LABELS, threshold)


def framed(frames, tracks):
    """The FrameFaces of analysed frames once their tracks are named, as the video analysis makes them."""
    return [_named(frame, tracks, {label: k for k, label in enumerate(LABELS)}, LABELS) for frame in frames]


def test_track_name_comes_from_the_mean_not_from_single_frames():
    # in 3 of 5 frames track 1 is a little closer to Bo (0.8 against 0.6), in 2 it is clearly
    # Ada: frame by frame the majority says Bo, the mean embedding (0.76, 0.48) says Ada
    records = [record(i, [[0, 0, 10, 10]], [[0.6, 0.8, 0]] if i < 3 else [[1, 0, 0]], [1]) for i in range(5)]
    assert sum(int(np.argmax(frame.similarities[0])) for frame, _ in records) == 3, "most frames say Bo"
    names = named(records, threshold=0.5)
    assert names[1].label == "Ada" and names[1].nearest == "Ada"
    np.testing.assert_allclose(names[1].similarity, 0.76 / np.hypot(0.76, 0.48), rtol=1e-5)


def test_overlapping_tracks_never_share_a_name_and_unknowns_are_numbered():
    records = [
        record(0, [[0, 0, 10, 10], [50, 0, 60, 10], [90, 0, 99, 10]], [[1, 0.1, 0], [1, 0.3, 0], [0, 0, 1]], [1, 2, 3]),
        record(1, [[0, 0, 10, 10], [50, 0, 60, 10]], [[1, 0.1, 0], [1, 0.3, 0]], [1, 2]),
        record(5, [[0, 0, 10, 10]], [[1, 0, 0]], [4]),  # Ada again later, in a frame of her own
    ]
    names = named(records, threshold=0.2)
    assert names[1].label == "Ada" and names[2].label == "Bo", "track 2 loses Ada to the closer track 1"
    assert names[3].label is None and names[3].name == "Unknown #3"
    assert names[4].label == "Ada", "tracks that never meet may share a name"


def test_appearances_merge_close_spans_and_keep_unknowns_apart():
    names = named(
        [record(i, [[0, 0, 10, 10]], [[1, 0, 0]], [1]) for i in range(0, 10)]
        + [record(i, [[0, 0, 10, 10]], [[1, 0, 0]], [2]) for i in range(15, 20)]
        + [record(i, [[50, 0, 60, 10]], [[0, 0, 1]], [3]) for i in range(0, 20)],
        0.5,
    )
    records = []
    for i in range(20):
        boxes, embs, tracks = [], [], []
        if i < 10 or i >= 15:
            boxes.append([0, 0, 10, 10]), embs.append([1, 0, 0]), tracks.append(1 if i < 10 else 2)
        boxes.append([50, 0, 60, 10]), embs.append([0, 0, 1]), tracks.append(3)
        records.append(record(i, boxes, embs, tracks)[0])
    frames = framed(records, names)
    rows = appearances(frames, end_time=2.0, merge_gap=0.4)
    known = [r for r in rows if r.label is not None]  # what VideoAnalysis.known() keeps
    assert [(r.label, r.tracks, r.start, r.end, r.frames) for r in known] == [
        ("Ada", (1,), 0.0, 1.0, 10),
        ("Ada", (2,), 1.5, 2.0, 5),
    ]
    merged = appearances(frames, end_time=2.0, merge_gap=0.5)
    assert [(r.name, r.label, r.tracks, r.start, r.end, r.frames, r.start_frame, r.end_frame) for r in merged] == [
        ("Ada", "Ada", (1, 2), 0.0, 2.0, 15, 0, 19),
        ("Unknown #3", None, (3,), 0.0, 2.0, 20, 0, 19),
    ]
    assert merged[0].mean_similarity == 1.0
