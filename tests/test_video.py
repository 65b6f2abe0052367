"""`annotate video` end to end on generated clips: timeline, timing, audio, rotation, bad input."""

from __future__ import annotations

import csv
import json
import shutil
from fractions import Fraction

import av
import numpy as np
import pytest
from clips import FPS, SIZE, Scene, compose, decoded_planes, make_clip, portraits, stream_dump, trim_clip
from conftest import ROOT, needs_shared, run_cli

FRAME = 1.0 / FPS


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank") / "facebank"
    for label in ("Eileen Collins", "Grace Hopper"):
        shutil.copytree(ROOT / "facebank" / label, folder / label)
    assert run_cli("bank", "build", folder, "--device", "cpu")[0] == 0
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "scene.mp4"
    make_clip(path)
    return path


def video(bank, *args):
    return run_cli("video", *args, "--bank", bank, "--device", "cpu")


def timeline(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def assert_interval(rows, label, start, end, tolerance=FRAME + 1e-6):
    mine = [r for r in rows if r["label"] == label]
    assert len(mine) == 1, rows
    assert abs(float(mine[0]["start"]) - start) <= tolerance, mine
    assert abs(float(mine[0]["end"]) - end) <= tolerance, mine


def test_relabel_keeps_timing_and_audio_and_writes_timeline(bank, clip, tmp_path):
    out, who, det = tmp_path / "named.mp4", tmp_path / "who.csv", tmp_path / "det.jsonl"
    code, _, stderr = video(bank, clip, "--out", out, "--csv", who, "--detections", det)
    assert code == 0, stderr
    rows = timeline(who)
    assert list(rows[0].keys()) == [
        "label",
        "track",
        "start",
        "end",
        "start_frame",
        "end_frame",
        "frames",
        "mean_similarity",
        "max_similarity",
    ]
    assert_interval(rows, "Eileen Collins", 0.0, 2.0)
    assert_interval(rows, "Grace Hopper", 1.0, 3.0)
    assert len(rows) == 2, "unknown people are left out without --include-unknown"
    eileen = next(r for r in rows if r["label"] == "Eileen Collins")
    assert int(eileen["start_frame"]) == 0 and int(eileen["end_frame"]) == 49 and int(eileen["frames"]) == 50
    assert 0.5 < float(eileen["mean_similarity"]) <= float(eileen["max_similarity"]) <= 1.0

    source, result = stream_dump(clip), stream_dump(out)
    assert result["frames"] == source["frames"] == 100
    assert result["pts"] == source["pts"] and result["time_base"] == source["time_base"]
    assert result["size"] == source["size"] and result["duration"] == source["duration"]
    assert result["audio"] == source["audio"], "audio packets are copied byte for byte"

    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    # against the picture that was encoded at that frame: coding noise alone stays far below 100
    drawn = np.abs(frames[37].astype(int) - compose(37 / FPS, Scene(), portraits())).max(axis=2) > 100
    assert drawn.sum() > 500, "faces are drawn"
    assert np.abs(frames[90].astype(int) - compose(90 / FPS, Scene(), portraits())).max() < 10, "nobody: untouched"

    lines = [json.loads(line) for line in det.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 100 and lines[30]["frame"] == 30 and abs(lines[30]["time"] - 1.2) < 1e-6
    assert sorted(f["label"] for f in lines[30]["faces"]) == ["Eileen Collins", "Grace Hopper"]
    assert len({f["track"] for f in lines[30]["faces"]}) == 2 and lines[90]["faces"] == []


def test_rendering_changes_only_the_painted_samples(bank, clip, tmp_path):
    # crf 0 is lossless in libx264, so the output holds exactly the pictures given to it: the
    # decoder's own yuv420p planes, with only the painted samples changed (no round trip of
    # the whole frame through RGB, which moved most luma samples by a level)
    out = tmp_path / "lossless.mp4"
    code, _, stderr = video(bank, clip, "--out", out, "--crf", "0", "--preset", "ultrafast")
    assert code == 0, stderr
    source, result = decoded_planes(clip), decoded_planes(out)
    assert len(result) == len(source) == 100
    assert np.array_equal(result[90], source[90]), "nobody on screen: the decoder's picture, bit for bit"
    luma, luma0 = result[37][:360], source[37][:360]
    changed = luma != luma0
    assert 500 < changed.sum() < 0.2 * changed.size, "boxes, labels and dots, and nothing else"
    assert not changed[320:].any() and not changed[:, :20].any(), "below and beside the faces: untouched"


def test_a_bt709_video_keeps_its_colours_and_tags(bank, tmp_path):
    # HD cameras write BT.709 YUV and say so; the output must say so too, and its pictures
    # (untouched ones passed through, labels converted with the same matrix) must decode to
    # the input's colours
    clip, out = tmp_path / "hd.mp4", tmp_path / "named.mp4"
    make_clip(clip, Scene(length=1.2), bt709=True, audio=False)
    code, _, stderr = video(bank, clip, "--out", out, "--crf", "0", "--preset", "ultrafast")
    assert code == 0, stderr
    pictures = []
    for path in (clip, out):
        with av.open(str(path)) as container:
            frame = next(iter(container.decode(video=0)))
            assert (frame.colorspace, frame.color_primaries, frame.color_trc) == (1, 1, 1), path
            pictures.append(frame.reformat(format="rgb24").to_ndarray())  # by the frame's own tags
    source, result = pictures
    np.testing.assert_array_equal(result[320:], source[320:])  # below the faces: the same colours
    label = np.abs(result.astype(int) - source).max(axis=2) > 100
    assert label.sum() > 500, "faces are drawn"


@pytest.mark.parametrize("rotation", [0, 90])
def test_anamorphic_video_keeps_its_pixel_shape(bank, tmp_path, rotation):
    # stored pixels twice as wide as tall; the upright output of a turned video has them
    # twice as tall as wide
    clip, out = tmp_path / "wide.mp4", tmp_path / "named.mp4"
    make_clip(clip, Scene(length=0.4), rotation=rotation, audio=False, sample_aspect=Fraction(2, 1))
    code, _, stderr = video(bank, clip, "--out", out)
    assert code == 0, stderr
    with av.open(str(out)) as container:
        assert Fraction(container.streams.video[0].sample_aspect_ratio) == (
            Fraction(2) if rotation == 0 else Fraction(1, 2)
        )


def test_no_render_and_sample_fps(bank, clip, tmp_path):
    who = tmp_path / "who.csv"
    code, _, stderr = video(bank, clip, "--no-render", "--csv", who, "--sample-fps", "5")
    assert code == 0, stderr
    rows = timeline(who)
    assert_interval(rows, "Eileen Collins", 0.0, 2.0, tolerance=0.2 + 1e-6)
    assert_interval(rows, "Grace Hopper", 1.0, 3.0, tolerance=0.2 + 1e-6)
    assert int(next(r for r in rows if r["label"] == "Eileen Collins")["frames"]) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["who.csv"]


def test_sampled_render_holds_each_analysed_frame_until_the_next(bank, clip, tmp_path):
    # at 5 fps, frames 0, 5, 10, ... are analysed; the frames between show the last analysed
    # frame's faces, and frames after the last face show none
    out = tmp_path / "named.mp4"
    code, _, stderr = video(bank, clip, "--out", out, "--sample-fps", "5", "--crf", "0", "--preset", "ultrafast")
    assert code == 0, stderr
    source, result = decoded_planes(clip), decoded_planes(out)
    assert len(result) == 100
    for index in (35, 37, 39):  # analysed at 35, held for 36-39
        assert (result[index][:360] != source[index][:360]).sum() > 500, index
    assert np.array_equal(result[90], source[90])


def test_merge_gap_joins_appearances_of_one_person(bank, tmp_path):
    path, who = tmp_path / "gap.mp4", tmp_path / "who.csv"
    make_clip(path, Scene(eileen=((0.0, 1.0), (1.6, 2.4)), grace=(), length=3.0), audio=False)
    assert video(bank, path, "--no-render", "--csv", who)[0] == 0  # default merge gap: 1 s
    rows = timeline(who)
    assert len(rows) == 1 and rows[0]["track"] == "1", "one person (re-identified after the gap), one row"
    assert_interval(rows, "Eileen Collins", 0.0, 2.4)
    assert video(bank, path, "--no-render", "--csv", who, "--overwrite", "--merge-gap", "0.3")[0] == 0
    rows = timeline(who)
    assert [(r["start"], r["end"]) for r in rows] == [("0.000", "1.000"), ("1.600", "2.400")]


def test_variable_frame_rate_times_come_from_pts(bank, tmp_path):
    path, out, who = tmp_path / "vfr.mp4", tmp_path / "out.mp4", tmp_path / "who.csv"
    path, written = vfr_clip(path)
    assert video(bank, path, "--out", out, "--csv", who)[0] == 0
    rows = timeline(who)
    assert_interval(rows, "Eileen Collins", 0.0, 2.0, tolerance=0.05 + 1e-6)
    assert_interval(rows, "Grace Hopper", 1.0, 3.0, tolerance=0.05 + 1e-6)
    source, result = stream_dump(path), stream_dump(out)
    assert [p * source["time_base"] for p in source["pts"]] == [Fraction(p, 1000) for p in written]
    assert result["pts"] == source["pts"] and result["time_base"] == source["time_base"]
    assert len(set(np.diff(result["pts"]))) == 2, "irregular frame durations survive"


def test_rotated_input_gives_upright_output(bank, tmp_path):
    path, out, who, det = tmp_path / "phone.mp4", tmp_path / "out.mp4", tmp_path / "who.csv", tmp_path / "d.jsonl"
    make_clip(path, rotation=90)
    assert stream_dump(path)["size"] == (SIZE[1], SIZE[0]), "stored sideways"
    assert video(bank, path, "--out", out, "--csv", who, "--detections", det)[0] == 0
    result = stream_dump(out)
    assert result["size"] == SIZE and result["frames"] == 100
    with av.open(str(out)) as container:
        frame = next(iter(container.decode(video=0)))
        assert not frame.rotation
        picture = frame.to_ndarray(format="rgb24")
    assert np.abs(picture[60:310, 390:600].astype(int) - compose(0, Scene(), portraits())[60:310, 390:600]).mean() < 4
    assert_interval(timeline(who), "Eileen Collins", 0.0, 2.0)
    first = json.loads(det.read_text().splitlines()[0])["faces"][0]
    x1, y1, x2, y2 = first["box"]
    assert 40 < x1 < x2 < 250 and 60 < y1 < y2 < 310, "coordinates refer to the upright frame"


def make_truncated(path, tmp_path):
    make_clip(path, audio=True)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    return cut


def test_bad_inputs_get_one_line_errors(bank, clip, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    audio_only = tmp_path / "sound.mp4"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    unknown = tmp_path / "odd.mp4"
    unknown.write_bytes(clip.read_bytes().replace(b"avc1", b"zzz9").replace(b"avcC", b"zzzC"))
    for bad, words in ((text, "not a video"), (audio_only, "no video stream"), (unknown, "codec")):
        out = tmp_path / "out" / f"{bad.stem}.mp4"
        code, _, stderr = video(bank, bad, "--out", out)
        assert code != 0 and words in stderr and str(bad) in stderr, stderr
        assert "Traceback" not in stderr and stderr.count("\n") <= 2
        assert not out.parent.exists() or not any(out.parent.iterdir()), "no partial output"
    code, _, stderr = video(bank, clip, "--out", clip)
    assert code == 2 and "replace the input" in stderr
    twin = tmp_path / "other" / clip.name
    twin.parent.mkdir()
    shutil.copy(clip, twin)
    code, _, stderr = video(bank, clip, twin, "--out", tmp_path / "both", "--csv", tmp_path / "csvs")
    assert code == 2 and "would both be written to" in stderr, stderr
    assert not (tmp_path / "both").exists()


def test_truncated_video_is_finalised_and_reported(bank, tmp_path):
    cut = make_truncated(tmp_path / "whole.mp4", tmp_path)
    out, who = tmp_path / "out.mp4", tmp_path / "who.csv"
    code, _, stderr = video(bank, cut, "--out", out, "--csv", who)
    assert code == 1 and "lost" in stderr and str(cut) in stderr, stderr
    result = stream_dump(out)
    assert 0 < result["frames"] < 100, "a valid, shorter output"
    assert f"{100 - result['frames']} frame(s) lost" in stderr
    kept = result["frames"] / FPS
    assert_interval(timeline(who), "Eileen Collins", 0.0, min(2.0, kept))  # seen until the file ends


def test_folder_goes_on_past_a_bad_file(bank, clip, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clip, folder / "a.mp4")
    (folder / "b.mp4").write_bytes(b"broken")
    out, who = tmp_path / "out", tmp_path / "who"
    code, _, stderr = video(bank, folder, "--out", out, "--csv", who)
    assert code == 1 and "b.mp4" in stderr
    assert (out / "a.mp4").is_file() and not (out / "b.mp4").exists()
    assert_interval(timeline(who / "a.csv"), "Grace Hopper", 1.0, 3.0)
    code, _, stderr = video(bank, folder, "--out", out, "--csv", who)
    assert code == 2 and "--overwrite" in stderr, "existing outputs are not replaced"


def test_shared_video_keeps_frames_duration_and_audio(bank, tmp_path):
    source_path = needs_shared("video", "video.mp4")
    out = tmp_path / "named.mp4"
    code, _, stderr = video(bank, source_path, "--out", out)
    assert code == 0, stderr
    source, result = stream_dump(source_path), stream_dump(out)
    assert result["frames"] == source["frames"] == 105
    assert result["duration"] == source["duration"] and result["pts"] == source["pts"]
    assert result["audio"] == source["audio"] and len(result["audio"]) > 100


def vfr_clip(path, preset="ultrafast"):
    times, t = [], 0.0
    while t < 4.0:
        times.append(round(t, 3))
        t += 0.03 if len(times) % 2 else 0.05  # 25 fps on average, irregular
    return path, make_clip(path, times=times, time_base=Fraction(1, 1000), preset=preset)


def b_frame_clip(path):
    make_clip(path, preset="veryfast")
    return path


def trimmed_clip(path):
    trim_clip(b_frame_clip(path.with_name("whole.mp4")), path, 3)
    return path


@pytest.mark.parametrize("source", ["clip", "vfr", "trimmed", "shared"])
@pytest.mark.parametrize("fps", [5.0, 3.3, 1.0])
def test_sampled_reading_equals_filtering_every_frame(tmp_path, source, fps):
    # --sample-fps skips the RGB conversion of frames it does not analyse, and does not even
    # decode the H.264 pictures that it cannot pick and that no frame references; the plain
    # path decodes and converts every frame and filters afterwards
    from annotate.media.sampling import Sampler
    from annotate.media.video import VideoReader

    # generated clips get B-frames ("veryfast"), as x264's defaults and most cameras' files have
    path = {
        "clip": lambda: b_frame_clip(tmp_path / "b.mp4"),
        "vfr": lambda: vfr_clip(tmp_path / "vfr.mp4", preset="veryfast")[0],
        "trimmed": lambda: trimmed_clip(tmp_path / "trimmed.mp4"),
        "shared": lambda: needs_shared("video", "video.mp4"),
    }[source]()
    with VideoReader(path) as reader:
        every = list(reader.frames())
        assert reader.skipped == 0 and reader.error is None
        assert reader.discarded == (3 if source == "trimmed" else 0), "an edit list hides 3 pictures; none is lost"
    keep = Sampler(fps)
    expected = [f for f in every if keep(f.time)]
    with VideoReader(path) as reader:
        sampled = list(reader.frames(fps))
        assert reader.decoded == len(every) and reader.error is None
        assert reader.skipped > 0, "no picture was left undecoded"
    assert 0 < len(sampled) < len(every)
    assert [(f.index, f.pts, f.time) for f in sampled] == [(f.index, f.pts, f.time) for f in expected]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(sampled, expected))
    with VideoReader(path, skip=False) as reader:  # the benchmark's baseline decodes every picture
        assert [f.index for f in reader.frames(fps)] == [f.index for f in expected] and reader.skipped == 0


def test_non_reference_pictures_are_read_from_the_bitstream():
    from annotate.media.h264 import is_non_reference, nal_length_size

    def unit(*nals):
        return b"".join(len(n).to_bytes(4, "big") + n for n in nals)

    sei, idr, ref_p, nonref_b = b"\x06\x05\x01", b"\x65\x88", b"\x41\x9a", b"\x01\x9e"
    assert is_non_reference(unit(sei, nonref_b), 4) and is_non_reference(unit(nonref_b, nonref_b), 4)
    assert not is_non_reference(unit(idr), 4) and not is_non_reference(unit(ref_p), 4)
    assert not is_non_reference(unit(nonref_b, ref_p), 4), "one referenced slice makes it referenced"
    assert not is_non_reference(unit(sei), 4), "no slice"
    assert not is_non_reference(unit(nonref_b)[:-1], 4), "truncated"
    assert nal_length_size("h264", b"\x01\x64\x00\x28\xff\xe1\x00") == 4
    assert nal_length_size("h264", b"\x00\x00\x00\x01\x67") is None, "Annex B"
    assert nal_length_size("hevc", b"\x01\x64\x00\x28\xff\xe1\x00") is None


def test_batched_pipeline_matches_one_frame_at_a_time(bank, clip, tmp_path):
    # the optimised path (frames batched through detection, all faces of a batch embedded
    # together, only face regions warped) against the plainest one (--batch 1)
    runs = {}
    for batch in ("1", "8"):
        who, per_frame = tmp_path / f"who{batch}.csv", tmp_path / f"faces{batch}.jsonl"
        code, _, stderr = video(bank, clip, "--no-render", "--csv", who, "--detections", per_frame, "--batch", batch)
        assert code == 0, stderr
        lines = [json.loads(line) for line in per_frame.read_text(encoding="utf-8").splitlines()]
        runs[batch] = timeline(who), lines
    (rows1, frames1), (rows8, frames8) = runs["1"], runs["8"]
    exact = ("label", "track", "start", "end", "start_frame", "end_frame", "frames")
    assert [[r[k] for k in exact] for r in rows1] == [[r[k] for k in exact] for r in rows8]
    for a, b in zip(rows1, rows8):
        assert abs(float(a["mean_similarity"]) - float(b["mean_similarity"])) < 1e-3
    assert len(frames1) == len(frames8) and sum(len(f["faces"]) for f in frames1) > 0
    for f1, f8 in zip(frames1, frames8):
        assert len(f1["faces"]) == len(f8["faces"])
        for a, b in zip(f1["faces"], f8["faces"]):
            assert a["label"] == b["label"] and a["track"] == b["track"]
            assert np.abs(np.subtract(a["box"], b["box"])).max() <= 1.0


def test_frames_without_pts_are_written_one_frame_apart(tmp_path):
    # a source without timestamps (some raw streams): the writer spaces frames by the frame
    # rate in the output's time base, not one time-base tick apart
    from annotate.media.probe import VideoInfo
    from annotate.media.writer import VideoWriter

    info = VideoInfo(tmp_path / "in.mp4", "h264", 64, 48, 0, 25.0, Fraction(1, 12800), 10, 0.4, 0)
    writer = VideoWriter(tmp_path / "out.mp4", info, [], "mp4")
    for i in range(10):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8), None)
    writer.close()
    dump = stream_dump(tmp_path / "out.mp4")
    assert dump["frames"] == 10 and dump["time_base"] == Fraction(1, 12800)
    assert set(np.diff(dump["pts"])) == {512}, "1/25 s in 1/12800 ticks"


def test_jobs_give_the_same_results_as_one_at_a_time(bank, clip, tmp_path):
    # --jobs 2 runs each video in a worker process with its own models and half the threads
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clip, folder / "a.mp4")
    make_clip(folder / "b.mp4", Scene(eileen=((0.5, 3.5),), grace=(), length=4.0))
    (folder / "c.mp4").write_bytes(b"broken")
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        args = ("--no-render", "--csv", out, "--detections", out, "--jobs", jobs, "-v")
        code, stdout, stderr = video(bank, folder, *args)
        assert code == 1 and "c.mp4" in stderr and "Traceback" not in stderr, "the broken file fails alone"
        assert stdout.count("wrote ") == 4
        assert ("3 videos, 2 at a time" in stderr) == (jobs == "2"), "--jobs 2 took the worker path"
        runs[jobs] = out
    for name in ("a", "b"):
        assert (runs["1"] / f"{name}.csv").read_bytes() == (runs["2"] / f"{name}.csv").read_bytes()
        one, two = (
            [json.loads(x) for x in (runs[j] / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()] for j in "12"
        )
        assert len(one) == len(two) == 100 and sum(len(f["faces"]) for f in one) > 0
        for f1, f2 in zip(one, two):
            assert [(a["label"], a["track"]) for a in f1["faces"]] == [(b["label"], b["track"]) for b in f2["faces"]]
            for a, b in zip(f1["faces"], f2["faces"]):
                assert np.abs(np.subtract(a["box"], b["box"])).max() <= 1.0
    assert_interval(timeline(runs["2"] / "b.csv"), "Eileen Collins", 0.5, 3.5)
    assert not (runs["2"] / "c.csv").exists()


def test_a_clip_cut_without_reencoding_is_complete(bank, tmp_path):
    # an edit list hides the first 3 pictures: they are neither frames nor lost frames
    path, out, who = trimmed_clip(tmp_path / "cut.mp4"), tmp_path / "out.mp4", tmp_path / "who.csv"
    code, stdout, stderr = video(bank, path, "--out", out, "--csv", who)
    assert code == 0 and "stopped early" not in stderr, stderr
    assert "97 frame(s)" in stdout and stream_dump(out)["frames"] == 97
    assert_interval(timeline(who), "Eileen Collins", 0.0, 2.0 - 3 * FRAME)


def test_library_api_and_the_through_rgb_baseline(bank, clip, tmp_path):
    # the public API does what `annotate video` does; render_video(yuv=False), the benchmark's
    # baseline, converts every picture through RGB, so untouched frames move too
    import sys

    import annotate

    recognizer = annotate.Recognizer(device="cpu")
    before = sys.getswitchinterval()
    analysis = annotate.analyse_video(
        clip, recognizer, annotate.load_bank(bank, recognizer), annotate.VideoOptions(switch_interval=0.001)
    )
    assert sys.getswitchinterval() == before
    assert len(analysis.frames) == analysis.decoded == 100 and analysis.error is None
    assert sorted(a.label for a in analysis.known()) == ["Eileen Collins", "Grace Hopper"]
    lossless = annotate.VideoOptions(crf=0, preset="ultrafast")
    source = decoded_planes(clip)
    for yuv in (True, False):
        out = tmp_path / f"yuv-{yuv}.mp4"
        annotate.render_video(analysis, out, lossless, yuv=yuv)
        result = decoded_planes(out)
        assert len(result) == 100 and (result[37][:360] != source[37][:360]).sum() > 500, "faces are drawn"
        assert np.array_equal(result[90], source[90]) == yuv, "nobody on screen: passed through only with yuv=True"
    who = tmp_path / "who.csv"
    annotate.to_csv(analysis, who)
    assert_interval(timeline(who), "Eileen Collins", 0.0, 2.0)
