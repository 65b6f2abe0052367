"""Tracker, track naming and the timeline, on hand-made detections with known answers."""

from __future__ import annotations

import numpy as np

from annotate.faces import Faces
from annotate.recognition.match import similarity_matrix
from annotate.video.identity import TrackSums, link_tracks, name_tracks
from annotate.video.scan import _named, _Seen
from annotate.video.timeline import appearances
from annotate.video.track import FaceTracker, box_iou

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


def look(*axes):
    """(N,3) unit embeddings: each face looks like the person on that axis."""
    return np.eye(3, dtype=np.float32)[list(axes)]


def test_tracker_follows_moving_faces_and_ends_after_max_gap():
    tracker = FaceTracker(max_gap=2)
    assert tracker.update(boxes([0, 0, 10, 10], [50, 0, 60, 10]), look(0, 1), 0.0).tolist() == [1, 2]
    assert tracker.update(boxes([52, 0, 62, 10], [1, 0, 11, 10]), look(1, 0), 0.1).tolist() == [2, 1]
    assert tracker.update(boxes([2, 0, 12, 10]), look(0), 0.2).tolist() == [1]  # 2 unseen once
    assert tracker.update(boxes(), look(), 0.3).tolist() == []  # 2 unseen twice, 1 once
    assert tracker.update(boxes([54, 0, 64, 10], [3, 0, 13, 10]), look(1, 0), 0.4).tolist() == [2, 1]
    for i in range(3):
        tracker.update(boxes(), look(), 0.5 + i / 10)
    assert tracker.update(boxes([4, 0, 14, 10]), look(0), 0.9).tolist() == [3], "gone longer than max_gap"


def test_another_face_where_a_track_was_starts_a_track_and_marks_a_cut():
    tracker = FaceTracker()
    assert tracker.update(boxes([0, 0, 50, 50], [100, 0, 150, 50]), look(0, 1), 0.0).tolist() == [1, 2]
    # a hard cut: each person appears exactly where the other was
    assert tracker.update(boxes([0, 0, 50, 50], [100, 0, 150, 50]), look(1, 0), 0.04).tolist() == [3, 4]
    assert tracker.cuts == [0.04]
    assert tracker.update(boxes([1, 0, 51, 50]), look(1), 0.08).tolist() == [3]


def test_a_fast_face_keeps_its_track_between_sampled_frames():
    # 160 px a second, analysed twice a second: the box moves 1.6 widths between frames
    tracker = FaceTracker()
    ids = [tracker.update(boxes([160 * t, 0, 160 * t + 50, 50]), look(0), t).tolist() for t in (0, 0.5, 1, 1.5, 2)]
    assert ids == [[1]] * 5
    assert tracker.update(boxes([900, 0, 950, 50]), look(0), 2.5).tolist() == [2], "out of reach: a new track"


def test_tracks_of_one_person_are_joined_unless_they_overlap_in_time():
    sums = TrackSums()
    sums.add(np.array([1, 2]), unit([1, 0.1, 0], [0, 1, 0]), time=0.0)  # Ada and Bo together
    sums.add(np.array([3, 5]), unit([1, 0.2, 0], [1, 0, 0.1]), time=2.0)  # after a cut, Ada and a look-alike
    sums.add(np.array([4]), unit([0.1, 1, 0]), time=3.0)  # Bo back
    sums.add(np.array([6]), unit([0, 0, 1]), time=4.0)  # a stranger
    people = link_tracks(sums, threshold=0.5)
    assert people[2] == people[4], "one person across a cut"
    assert people[1] in (people[3], people[5]) and people[3] != people[5], "two faces of one frame: two people"
    assert people[6] not in (people[1], people[2], people[3], people[5]), "a stranger stays apart"
    assert sorted(set(people.values())) == [1, 2, 3, 4] and people[1] == 1, "numbered by first appearance"
    alone = {1: 1, 2: 2, 3: 3, 5: 4, 4: 5, 6: 6}  # by first appearance
    assert link_tracks(sums, threshold=0.999) == alone, "below the threshold nothing joins"


def test_no_tracks_no_people():
    assert link_tracks(TrackSums()) == {}


def test_brief_uncertain_unknowns_are_spurious_and_known_ones_are_not():
    sums = TrackSums()
    sums.add(np.array([1, 2]), unit([1, 0, 0], [0, 0, 1]), scores=np.array([0.9, 0.9]))
    for _ in range(3):
        sums.add(np.array([3]), unit([0, 0, 1]), scores=np.array([0.999]))
    tracks = name_tracks(sums, BANK, LABELS, 0.5, step=1 / 25)
    assert (tracks[1].label, tracks[1].spurious) == ("Ada", False), "a known face is listed however brief"
    assert tracks[2].spurious, "an unknown face in one frame at a low score"
    assert tracks[3].spurious, "an unknown face for 3 frames at 25 fps: 0.12 s"
    assert not name_tracks(sums, BANK, LABELS, 0.5, step=1 / 5)[3].spurious, "3 frames at 5 fps: 0.6 s"


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


def test_online_names_wait_for_faces_and_do_not_flicker():
    from annotate.video.online import OnlineNamer

    namer = OnlineNamer(BANK, LABELS, threshold=0.5, min_faces=3, margin=0.05, patience=3)
    one = np.array([1])
    shown = [namer.update(one, unit([1, 0.1, 0]))[0] for _ in range(3)]
    assert shown == [None, None, "Ada"], "no name before three faces"
    assert namer.update(one, unit([0, 1, 0]))[0] == "Ada", "one face like Bo changes nothing"
    shown = [namer.update(one, unit([0, 1, 0]))[0] for _ in range(12)]
    switched = shown.index("Bo")
    assert switched > 0 and set(shown[switched:]) == {"Bo"}, "a lasting change: once, after some patience"
    assert namer.update(np.array([2]), unit([0, 0, 1]))[0] is None


def test_online_names_hold_when_the_mean_hovers_between_two_labels():
    from annotate.video.online import OnlineNamer

    def run(**policy):
        namer = OnlineNamer(BANK, LABELS, threshold=0.5, **policy)
        ada, bo = unit([1, 0.8, 0]), unit([0.8, 1, 0])
        faces = [ada] * 3 + [bo] * 4 + [ada, bo] * 4  # the mean crosses over, then sways about the tie
        return [namer.update(np.array([1]), face)[0] for face in faces]

    assert set(run()[2:]) == {"Ada"}, "the mean sways around a tie: the name stays"
    assert "Bo" in run(margin=0.0, patience=1), "without hysteresis the same faces flip the name"


def test_many_tracks_of_a_few_people_become_those_people():
    # 50 tracks, 5 of each of 10 people (never in one frame), noisy faces: 0.56-0.7 alike within a person
    rng = np.random.default_rng(0)
    people = rng.normal(size=(10, 512))
    sums = TrackSums()
    for t in range(50):
        face = people[t % 10] + 0.8 * rng.normal(size=512)
        sums.add(np.array([t + 1]), (face / np.linalg.norm(face))[None].astype(np.float32), time=float(t))
    joined = link_tracks(sums)
    assert all(joined[t + 1] == joined[t % 10 + 1] for t in range(50)) and len(set(joined.values())) == 10
