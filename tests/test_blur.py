"""Hiding faces by policy: who is hidden, that the pixels inside the padded boxes change and
every pixel outside stays bit for bit (photos as PNG, video rendered losslessly), and that a
sampled video's blur covers every face of every frame."""

from __future__ import annotations

import av
import numpy as np
import pytest
from cast import make_cast
from conftest import ROOT, run_cli
from PIL import Image

import annotate
from annotate.drawing.blur import STYLES, BlurPolicy, blur_rgb, blur_yuv, padded
from annotate.drawing.options import DrawOptions


def test_who_a_policy_hides():
    assert BlurPolicy(("all",)).hides(None) and BlurPolicy(("all",)).hides("Jo")
    assert BlurPolicy(("all",), frozenset({"Jo"})).hides("Al") and not BlurPolicy(("all",), frozenset({"Jo"})).hides(
        "Jo"
    )
    assert BlurPolicy(("unknown",)).hides(None) and not BlurPolicy(("unknown",)).hides("Jo")
    assert BlurPolicy(("known",)).hides("Jo") and not BlurPolicy(("known",)).hides(None)
    assert (
        BlurPolicy(("Jo", "Al")).hides("Al")
        and not BlurPolicy(("Jo",)).hides("Al")
        and not BlurPolicy(("Jo",)).hides(None)
    )
    with pytest.raises(annotate.AnnotateError):
        BlurPolicy(style="swirl")


def changed_outside_and_inside(before, after, boxes):
    inside = np.zeros(before.shape[:2], bool)
    for x1, y1, x2, y2 in boxes:
        inside[y1:y2, x1:x2] = True
    differs = (before != after).reshape(*before.shape[:2], -1).any(axis=2)
    return differs[~inside].sum(), differs[inside].mean()


@pytest.mark.parametrize("style", STYLES)
def test_only_the_padded_boxes_change(style):
    image = annotate.read_image(annotate.sample_path("photos") / "both.jpg")
    boxes = np.array([[100.5, 120.2, 180.0, 220.7], [600, 50, 700, 180]])
    out = blur_rgb(image, boxes, style, pad=0.2)
    area = padded(boxes, 0.2, image.shape[1], image.shape[0])
    outside, inside = changed_outside_and_inside(image, out, area)
    assert outside == 0 and inside > 0.9, (outside, inside)
    assert area[0].tolist() == [84, 100, 196, 242], "grown by a fifth of the face each side, to even pixels"
    planes = np.random.default_rng(0).integers(16, 235, (300 * 3 // 2, 400), dtype=np.uint8)
    after = blur_yuv(planes, boxes[:1], style)
    luma_out, luma_in = changed_outside_and_inside(planes[:300], after[:300], area[:1])
    assert luma_out == 0 and luma_in > 0.9 and (after[300:] != planes[300:]).any(), "chroma hidden too"


def test_photos_blur_one_person_and_keep_the_rest_bit_exact(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    Image.open(ROOT / "samples" / "photos" / "both.jpg").save(source / "both.png")
    code, _, err = run_cli(
        "photos",
        source,
        "-o",
        tmp_path / "out",
        "--blur",
        "Grace Hopper",
        "--csv",
        tmp_path / "f.csv",
        "-b",
        ROOT / "facebank",
    )
    assert code == 0, err
    before = np.asarray(Image.open(source / "both.png").convert("RGB"))
    after = np.asarray(Image.open(tmp_path / "out" / "both.png").convert("RGB"))
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    faces = recognizer.recognise([before], annotate.load_bank(ROOT / "facebank", recognizer))[0]
    grace, eileen = (faces.boxes[[faces.labels.index(n)]] for n in ("Grace Hopper", "Eileen Collins"))
    hidden = padded(grace, 0.2, before.shape[1], before.shape[0])
    x1, y1, x2, y2 = hidden[0]
    assert (after[y1:y2, x1:x2] != before[y1:y2, x1:x2]).any(axis=2).mean() > 0.9, "Grace is hidden"
    drawn = padded(eileen, 0.6, before.shape[1], before.shape[0])  # her box, label and dots stay drawn
    outside, _ = changed_outside_and_inside(before, after, np.concatenate([hidden, drawn]))
    assert outside == 0, "no other pixel changes"
    ex1, ey1, ex2, ey2 = np.round(eileen[0]).astype(int)
    assert (after[ey1:ey2, ex1:ex2] == before[ey1:ey2, ex1:ex2]).all(axis=2).mean() > 0.8, "Eileen is not blurred"
    code, _, err = run_cli("photos", source, "-o", tmp_path / "o2", "--keep", "Jo", "-b", ROOT / "facebank")
    assert code == 2 and "--blur" in err and "Traceback" not in err


def planes_of(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]


@pytest.mark.parametrize("rate", [None, 5.0], ids=["full", "5fps"])
def test_video_blur_covers_every_face_of_every_frame_and_nothing_else(tmp_path, rate):
    clip = tmp_path / "fast.mp4"
    make_cast(clip, "fast")  # one person zigzags at 410 px/s, the other crosses
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    truth = annotate.analyse_video(clip, recognizer)  # every frame's faces
    analysis = annotate.analyse_video(clip, recognizer, None, annotate.VideoOptions(sample_fps=rate, crf=0))
    out = tmp_path / "hidden.mp4"
    annotate.render_video(analysis, out, drawing=DrawOptions(blur=BlurPolicy(("all",), style="mosaic")))
    before, after = planes_of(clip), planes_of(out)
    assert len(before) == len(after) == 75
    height = before[0].shape[0] * 2 // 3
    changed_frames = 0
    for frame in truth.frames:
        old, new = before[frame.index][:height], after[frame.index][:height]
        differs = old != new
        changed_frames += differs.any()
        for x1, y1, x2, y2 in np.round(frame.faces.boxes).astype(int).clip(0, None).tolist():
            assert differs[y1:y2, x1:x2].mean() > 0.8, f"frame {frame.index}: a face shows through"
        inside = np.zeros_like(differs)
        for x1, y1, x2, y2 in np.round(frame.faces.boxes).astype(int).tolist():
            w, h = x2 - x1, y2 - y1
            inside[max(0, y1 - h) : y2 + h, max(0, x1 - w) : x2 + w] = True  # pad and motion
        assert not differs[~inside].any(), f"frame {frame.index}: pixels away from the faces changed"
    assert changed_frames == len(truth.frames)


def test_a_render_from_its_detections_file_is_the_same_and_takes_edits(tmp_path):
    import json

    from conftest import run_cli

    clip = tmp_path / "cut.mp4"
    make_cast(clip, "cut")
    first, again, edited = tmp_path / "first.mp4", tmp_path / "again.mp4", tmp_path / "edited.mp4"
    faces, bank = tmp_path / "faces.jsonl", str(ROOT / "facebank")
    args = ("--sample-fps", "5", "--crf", "0", "-b", bank)
    code, _, err = run_cli("video", clip, "-o", first, "--detections", faces, "--csv", tmp_path / "a.csv", *args)
    assert code == 0, err
    code, _, err = run_cli(
        "video", clip, "-o", again, "--from-detections", faces, "--csv", tmp_path / "b.csv", "--crf", "0"
    )
    assert code == 0, err
    a, b = planes_of(again), planes_of(first)
    # the same pictures, up to the file's rounding of boxes and landmarks to 0.01 px (a dot's edge)
    assert len(a) == len(b) == 150 and max(int((x != y).sum()) for x, y in zip(a, b)) <= 200
    from golden import differences

    timeline = differences("csv", (tmp_path / "a.csv").read_text(), (tmp_path / "b.csv").read_text())
    assert timeline == [], "the same timeline (numbers within their last printed digit)"
    lines = [json.loads(line) for line in faces.read_text().splitlines()]
    for line in lines:  # a name fixed, and a face removed from the first second
        for face in line["faces"]:
            if face["label"] == "Grace Hopper":
                face["label"] = "Grace B. Murray Hopper"
        if line["time"] < 1.0:
            line["faces"] = [f for f in line["faces"] if f["label"] != "Eileen Collins"]
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, _, err = run_cli(
        "video", clip, "-o", edited, "--from-detections", fixed, "--csv", tmp_path / "c.csv", "--crf", "0"
    )
    assert code == 0, err
    fixed_csv = (tmp_path / "c.csv").read_text()
    assert "Grace B. Murray Hopper" in fixed_csv and "Grace Hopper," not in fixed_csv
    eileen = [row for row in fixed_csv.splitlines() if row.startswith("Eileen Collins")]
    assert float(eileen[0].split(",")[2]) >= 1.0, "her first second is gone"
    assert any(not np.array_equal(a, b) for a, b in zip(planes_of(edited), planes_of(first)))
    fixed.write_text('{"frame": 0, "faces": [{"box": [1, 2]}]}\n')
    code, _, err = run_cli("video", clip, "-o", tmp_path / "x.mp4", "--from-detections", fixed)
    assert code == 2 and "fixed.jsonl:1" in err and "Traceback" not in err


def test_xmp_sidecars_name_the_faces_but_not_the_hidden_ones(tmp_path):
    import csv
    import xml.etree.ElementTree as ET

    from conftest import run_cli

    from annotate.media.xmp import NS

    photos = tmp_path / "in"
    photos.mkdir()
    Image.open(ROOT / "samples" / "photos" / "both.jpg").save(photos / "both.png")
    bank = str(ROOT / "facebank")

    def regions(path):
        root = ET.parse(path).getroot()
        dims = root.find(".//mwg-rs:AppliedToDimensions", NS)
        out = {}
        for item in root.iterfind(".//mwg-rs:RegionList/rdf:Bag/rdf:li", NS):
            area = item.find("mwg-rs:Area", NS)
            name = item.findtext("mwg-rs:Name", None, NS)
            out[name] = [float(area.get(f"{{{NS['stArea']}}}{k}")) for k in "xywh"]
        return (int(dims.get(f"{{{NS['stDim']}}}w")), int(dims.get(f"{{{NS['stDim']}}}h"))), out

    code, _, err = run_cli("photos", photos, "-o", tmp_path / "out", "--xmp", "-b", bank)
    assert code == 0, err
    (w, h), found = regions(tmp_path / "out" / "both.png.xmp")
    assert sorted(found) == ["Eileen Collins", "Grace Hopper"]
    with open(tmp_path / "out" / "faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            x1, y1, x2, y2 = (float(row[k]) for k in ("x1", "y1", "x2", "y2"))
            expected = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
            assert found[row["label"]] == pytest.approx(expected, abs=1e-3), row["label"]
    code, _, err = run_cli("photos", photos, "-o", tmp_path / "out", "--xmp", "--skip-existing", "-b", bank)
    assert code == 0, "a finished run is left as it is"
    code, _, err = run_cli("photos", photos, "-o", tmp_path / "hid", "--xmp", "--blur", "Grace Hopper", "-b", bank)
    assert code == 0, err
    assert sorted(regions(tmp_path / "hid" / "both.png.xmp")[1]) == ["Eileen Collins"], "a hidden face is not named"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "both.png.xmp").write_text("my own sidecar")
    code, _, err = run_cli("photos", photos, "-o", tmp_path / "mine", "--xmp", "-b", bank)
    assert (
        code == 2 and "already exists" in err and (tmp_path / "mine" / "both.png.xmp").read_text() == "my own sidecar"
    )


@pytest.mark.parametrize(
    "who, hidden",
    [(["Grace Hopper"], {"Grace Hopper"}), (["unknown"], set()), (["known"], {"Eileen Collins", "Grace Hopper"})],
)
def test_video_blur_policies_hide_only_their_people(tmp_path, who, hidden):
    from conftest import run_cli

    clip = tmp_path / "cut.mp4"
    parts = make_cast(clip, "cut")
    out = tmp_path / "out.mp4"
    quiet = ("--no-boxes", "--no-landmarks", "--labels", "none", "--crf", "0")  # only the blur changes pixels
    blur = [arg for name in who for arg in ("--blur", name)]
    code, _, err = run_cli("video", clip, "-o", out, *blur, *quiet, "-b", str(ROOT / "facebank"))
    assert code == 0, err
    before, after = planes_of(clip), planes_of(out)
    height = before[0].shape[0] * 2 // 3
    for frame in (10, 60, 110):  # one frame in each shot of the clip
        differs = before[frame][:height] != after[frame][:height]
        for name in ("Eileen Collins", "Grace Hopper"):
            (spot,) = [p for p in parts if p.person == name and p.first <= frame <= p.last]
            x1, y1, x2, y2 = (int(v) for v in spot.start)
            share = differs[y1:y2, x1:x2].mean()
            assert share > 0.2 if name in hidden else share == 0, (frame, name, share)


def test_a_misspelt_name_to_blur_is_an_error_not_a_silent_leak(tmp_path):
    from conftest import run_cli

    code, _, err = run_cli(
        "photos",
        ROOT / "samples" / "photos" / "both.jpg",
        "-o",
        tmp_path / "out",
        "--blur",
        "grace hopper",
        "-b",
        str(ROOT / "facebank"),
    )
    assert code == 2 and "did you mean 'Grace Hopper'" in err and not (tmp_path / "out").exists()


def test_from_detections_keeps_unknown_people_unknown_and_checks_the_file(tmp_path):
    import json
    import shutil

    from conftest import run_cli

    clip = tmp_path / "cut.mp4"
    parts = make_cast(clip, "cut")
    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "facebank" / "Eileen Collins", bank / "Eileen Collins")  # Grace is a stranger here
    faces = tmp_path / "faces.jsonl"
    code, _, err = run_cli("video", clip, "--no-render", "--detections", faces, "--sample-fps", "5", "-b", bank)
    assert code == 0, err
    assert '"Unknown #' in faces.read_text(), "the file names unknown people as they are shown"
    out = tmp_path / "out.mp4"
    quiet = ("--no-boxes", "--no-landmarks", "--labels", "none", "--crf", "0")
    code, _, err = run_cli("video", clip, "-o", out, "--from-detections", faces, "--blur", "unknown", *quiet)
    assert code == 0, err
    before, after = planes_of(clip), planes_of(out)
    height = before[0].shape[0] * 2 // 3
    for frame in (10, 60):
        differs = before[frame][:height] != after[frame][:height]
        for part in (p for p in parts if p.first <= frame <= p.last):
            x1, y1, x2, y2 = (int(v) for v in part.start)
            share = differs[y1:y2, x1:x2].mean()
            assert share > 0.2 if part.person == "Grace Hopper" else share == 0, (frame, part.person, share)
    code, _, err = run_cli("video", clip, "-o", tmp_path / "x.mp4", "--from-detections", faces, "--blur", "Eileen")
    assert code == 2 and "no such name" in err, "names are checked against the file's"
    lines = faces.read_text().splitlines()
    bad = {
        "empty": "",
        "twice": json.dumps({**json.loads(lines[0]), "faces": json.loads(lines[0])["faces"] * 2}),
        "nan": lines[0].replace('"box": [', '"box": [NaN, '),
    }
    for name, text in bad.items():
        (tmp_path / f"{name}.jsonl").write_text(text + "\n")
        code, _, err = run_cli(
            "video", clip, "-o", tmp_path / f"{name}.mp4", "--from-detections", tmp_path / f"{name}.jsonl"
        )
        assert code == 2 and "Traceback" not in err and not (tmp_path / f"{name}.mp4").exists(), (name, err)
    code, _, err = run_cli(
        "video", clip, "-o", tmp_path / "y.mp4", "--from-detections", faces, "--csv", faces, "--overwrite"
    )
    assert code == 2 and faces.read_text().splitlines() == lines, "the file read is never replaced"


def test_a_label_with_a_long_nearest_name_stays_inside_a_small_picture():
    from annotate.drawing.fonts import advance
    from annotate.drawing.labels import fit

    text = fit("Unknown", " (Christopher Columbus the Great? 0.29)", 100, lambda t: advance(t, 12))
    assert advance(text, 12) <= 100 and text.startswith("Unknown")


def test_detecting_between_samples_adds_the_faces_there_and_changes_nothing_else(tmp_path):
    clip = tmp_path / "fast.mp4"
    make_cast(clip, "fast")
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    truth = annotate.analyse_video(clip, recognizer)
    sampled = annotate.analyse_video(clip, recognizer, None, annotate.VideoOptions(sample_fps=5))
    both = annotate.analyse_video(clip, recognizer, None, annotate.VideoOptions(sample_fps=5, detect_all=True))
    assert sampled.glimpses == () and both.appearances == sampled.appearances
    assert [f.index for f in both.frames] == [f.index for f in sampled.frames] == list(range(0, 75, 5))
    for a, b in zip(both.frames, sampled.frames):
        assert np.array_equal(a.faces.boxes, b.faces.boxes) and np.array_equal(a.faces.tracks, b.faces.tracks)
    assert [g.index for g in both.glimpses] == [i for i in range(75) if i % 5]
    full = {f.index: f for f in truth.frames}
    for glimpse in both.glimpses:  # the detector's faces of that frame, as a full-rate analysis finds them
        assert np.allclose(glimpse.faces.boxes, full[glimpse.index].faces.boxes, atol=0.01)
        assert glimpse.faces.tracks is None and glimpse.faces.embeddings is None


def test_a_face_seen_only_between_samples_is_hidden_as_the_policy_says():
    from annotate.video.hide import HiddenFaces, _Path

    def path(box):
        return _Path(np.array([0.0, 0.2]), np.array([box, box], np.float64))

    jo, stranger = [100, 100, 200, 200], [300, 100, 400, 200]
    glimpsed = np.array([[110, 110, 190, 190], [390, 150, 450, 210], [500, 500, 560, 560]], np.float64)
    for unnamed, hidden in [(True, [1, 2]), (False, [1])]:
        faces = HiddenFaces({1: path(stranger)}, 0.2, 2.2, {2: path(jo)}, {0.1: glimpsed}, unnamed)
        boxes, extra = faces.at(0.1)
        assert boxes.tolist() == [stranger, *glimpsed[hidden].tolist()] and extra.tolist() == [0.0] * len(boxes)
        assert faces.at(0.2)[0].tolist() == [stranger], "the faces between samples are of their own frame only"


def test_a_sampled_blur_hides_the_faces_seen_only_between_samples(tmp_path):
    from conftest import needs_shared

    video = needs_shared("video", "video.mp4")  # at 5 fps, 7 faces show only between analysed frames
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    truth = annotate.analyse_video(video, recognizer)
    out = tmp_path / "hidden.mp4"
    quiet = ("--no-boxes", "--no-landmarks", "--labels", "none", "--crf", "0")
    bank = ("-b", str(ROOT / "facebank"))
    code, _, err = run_cli("video", video, "-o", out, "--blur", "all", "--sample-fps", "5", *quiet, *bank)
    assert code == 0, err
    before, after = planes_of(video), planes_of(out)
    assert len(before) == len(after) == 105
    height = before[0].shape[0] * 2 // 3
    for frame in truth.frames:
        differs = before[frame.index][:height] != after[frame.index][:height]
        for x1, y1, x2, y2 in np.round(frame.faces.boxes).astype(int).clip(0, None).tolist():
            assert differs[y1:y2, x1:x2].mean() > 0.8, f"frame {frame.index}: a face shows through"
