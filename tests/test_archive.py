"""Archives (`annotate ray`) without Ray: the annotator classes, the inputs, the output folder
and the resume rules (tests/test_archive_ray.py runs them on Ray)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import av
import pytest
from conftest import SAMPLES, SHARED

pytest.importorskip("pyarrow", reason="the archive needs the ray extra: pip install 'annotate[ray]'")

import pyarrow as pa
import pyarrow.parquet as pq

import annotate
from annotate.archive.annotators import ArchiveSettings, PhotoAnnotator, VideoAnnotator, _block_name, bank_fingerprint
from annotate.archive.inputs import list_inputs, lock_run, pending, prepare_out
from annotate.archive.tables import STATUS_SCHEMA, TIMELINE_SCHEMA, status_table, write_table
from annotate.errors import InputError
from annotate.writers import timeline_cells

HAMILTON = SHARED / "video" / "hamilton"


@pytest.fixture(scope="module")
def recognizer() -> annotate.Recognizer:
    return annotate.Recognizer(annotate.Config(device="cpu", threads=2))


def _settings(out: Path, recognizer: annotate.Recognizer, bank: annotate.FaceBank, **kw) -> ArchiveSettings:
    return ArchiveSettings(recognizer.config, bank, out, "r1", **kw)


def _read(folder: Path, name: str) -> list[dict]:
    return pq.read_table(folder / name).to_pylist() if (folder / name).exists() else []


def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _frame_times(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [frame.pts for frame in container.decode(video=0)]


def test_video_annotator_gives_annotate_videos_timeline_and_a_row_for_a_bad_file(tmp_path, recognizer, bank):
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    clip = SAMPLES / "clip.mp4"
    out = tmp_path / "out"
    annotator = VideoAnnotator(_settings(out, recognizer, bank, detections=True))
    block = {"source": [str(clip), str(broken)], "relative": ["clip.mp4", "sub/broken.mp4"]}
    status = annotator(block).to_pylist()

    assert [(r["source"], r["ok"]) for r in status] == [(str(clip), True), (str(broken), False)]
    assert "not a video" in status[1]["error"] and status[1]["frames"] is None
    assert (status[0]["frames"], status[0]["analysed"], status[0]["lost"]) == (100, 100, 0)
    assert status[0]["named"] == "Eileen Collins;Grace Hopper"
    assert status[0]["model"] == "w600k_mbf" and status[0]["bank_sha256"] == bank_fingerprint(bank)

    analysis = annotate.analyse_video(clip, recognizer, bank)
    annotate.to_csv(analysis, tmp_path / "ref.csv")
    names = {p.name for p in (out / "status").iterdir()}
    assert len(names) == 1 and {p.name for p in (out / "timeline").iterdir()} == names
    name = names.pop()
    timeline = _read(out / "timeline", name)
    assert [r["source"] for r in timeline] == [str(clip)] * len(timeline)
    mine = [{k: str(v) for k, v in timeline_cells(r).items() if k not in ("source", "run_id")} for r in timeline]
    assert mine == _csv_rows(tmp_path / "ref.csv") and len(mine) == 2

    detections = pq.read_table(out / "detections" / name)
    assert detections.num_rows == sum(len(f.faces) for f in analysis.frames) == status[0]["faces"]
    first = detections.slice(0, len(analysis.frames[0].faces)).to_pylist()
    assert [[r["x1"], r["y1"], r["x2"], r["y2"]] for r in first] == analysis.frames[0].faces.boxes.tolist()
    assert _frame_times(out / "videos" / "clip.mp4") == _frame_times(clip)

    again = annotator(block)  # Ray retrying the block: its fragments are replaced, not added
    assert again.num_rows == 2 and {p.name for p in (out / "timeline").iterdir()} == {name}
    assert len(_read(out / "timeline", name)) == len(timeline)


def test_a_video_that_stops_early_or_kills_its_worker_is_an_error_row_without_tables(tmp_path, recognizer, bank):
    from clips import Scene, cut, make_clip

    whole = tmp_path / "whole.mp4"
    make_clip(whole, Scene(length=2.0), preset="veryfast")
    short = cut(whole, tmp_path / "short.mp4", 0.6)
    crasher = tmp_path / "crasher.mp4"
    shutil.copy(whole, crasher)
    out = tmp_path / "out"
    settings = _settings(out, recognizer, bank)
    sources = [str(short), str(crasher), str(whole)]
    name = _block_name("r1", sources)
    (out / "attempts").mkdir(parents=True)  # crasher stopped its worker twice (Ray retried the block)
    (out / "attempts" / f"{name}.log").write_text(f'+"{crasher}"\n+"{whole}"\n-"{whole}"\n+"{crasher}"\n')
    status = VideoAnnotator(settings)({"source": sources, "relative": ["short.mp4", "crasher.mp4", "whole.mp4"]})
    rows = {Path(r["source"]).name: r for r in status.to_pylist()}
    assert rows["short.mp4"]["ok"] is False and rows["short.mp4"]["error"].startswith("decoding stopped early")
    assert 0 < rows["short.mp4"]["frames"] < 50 and rows["short.mp4"]["lost"] > 0
    assert (out / "videos" / "short.mp4").exists()  # the copy of what could be decoded is kept
    assert rows["crasher.mp4"]["ok"] is False and rows["crasher.mp4"]["frames"] is None
    assert rows["crasher.mp4"]["error"] == "its worker stopped 2 times while processing it (out of memory, or a crash)"
    assert rows["whole.mp4"]["ok"] is True and rows["whole.mp4"]["frames"] == 50
    timeline = pq.read_table(out / "timeline" / f"{name}.parquet")
    assert set(timeline.column("source").to_pylist()) == {str(whole)}  # only the finished video's rows
    assert not (out / "attempts" / f"{name}.log").exists()


def test_photo_annotator_names_each_photo_and_reports_the_unreadable(tmp_path, recognizer, bank):
    photos = tmp_path / "photos"
    shutil.copytree(SAMPLES / "photos", photos)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    files = sorted(photos.iterdir())
    out = tmp_path / "out"
    status = PhotoAnnotator(_settings(out, recognizer, bank))(
        {"source": [str(p) for p in files], "relative": [p.name for p in files]}
    ).to_pylist()
    assert [(Path(r["source"]).name, r["ok"], r["faces"]) for r in status] == [
        ("both.jpg", True, 2),
        ("both_exif6.jpg", True, 2),
        ("broken.jpg", False, None),
        ("grace_hopper_gray.jpg", True, 1),
        ("no_face.png", True, 0),
    ]
    faces = pq.read_table(next((out / "faces").iterdir())).to_pylist()
    expected = [
        (str(r.source), name)
        for r in annotate.photos.recognise_photos([p for p in files if p.name != "broken.jpg"], recognizer, bank)
        for name in r.faces.names()
    ]
    assert [(r["source"], r["label"]) for r in faces] == expected
    assert sorted(p.name for p in (out / "photos").iterdir()) == [
        "both.jpg",
        "both_exif6.jpg",
        "grace_hopper_gray.jpg",
        "no_face.png",
    ]


def test_the_run_owns_its_folder(tmp_path):
    record = {"kind": "video", "format": "parquet", "bank_sha256": "b1"}
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "run.json").write_text('{"a user\'s": "file"}')
    with pytest.raises(InputError, match="not empty and holds no earlier run"):
        prepare_out(mine, record, resume=False)
    assert (mine / "run.json").read_text() == '{"a user\'s": "file"}'
    run = tmp_path / "run"
    prepare_out(run, record, resume=False)
    prepare_out(run, record, resume=False)  # stopped before its first file: starts afresh
    (run / "status").mkdir()
    with pytest.raises(InputError, match="holds an earlier run"):
        prepare_out(run, record, resume=False)
    with pytest.raises(
        InputError, match="other settings \\(kind: 'video', now 'photos'; bank_sha256: 'b1', now 'b2'\\)"
    ):
        prepare_out(run, record | {"kind": "photos", "bank_sha256": "b2"}, resume=True)
    prepare_out(run, record, resume=True)
    with (
        lock_run(run),
        pytest.raises(InputError, match=f"{run} is in use by another run \\(host .*, process {os.getpid()}\\)"),
    ):
        with lock_run(run):
            pass
    with lock_run(run):  # released
        pass


def test_a_resume_must_hide_and_draw_as_the_run_did(tmp_path, recognizer, bank):
    from annotate.archive.record import run_record
    from annotate.drawing.blur import BlurPolicy
    from annotate.drawing.options import DrawOptions

    def record(**kw) -> dict:
        return run_record("video", _settings(run, recognizer, bank, **kw))

    def blur(*targets: str, keep: frozenset = frozenset({"Grace Hopper"}), style: str = "mosaic") -> DrawOptions:
        return DrawOptions(blur=BlurPolicy(targets, keep, style))

    run = tmp_path / "run"
    prepare_out(run, record(drawing=blur("unknown", "known")), resume=False)
    (run / "status").mkdir()
    prepare_out(run, record(drawing=blur("known", "unknown")), resume=True)  # the same, read back from run.json
    for other in (
        DrawOptions(),
        None,
        blur("unknown", "known", keep=frozenset()),
        blur("unknown", "known", style="solid"),
    ):
        with pytest.raises(InputError, match=re.escape("other settings (drawing: {")):
            prepare_out(run, record(drawing=other), resume=True)
    with pytest.raises(InputError, match=re.escape("other settings (merge_gap: 1.0, now 2.0)")):
        prepare_out(
            run, record(drawing=blur("unknown", "known"), video=annotate.VideoOptions(merge_gap=2.0)), resume=True
        )
    assert record(drawing=None) == record(drawing=DrawOptions())  # None draws the defaults
    assert record(render=False, drawing=blur("all"))["drawing"] is None  # nothing drawn: the drawing decides nothing


def test_a_run_folder_from_before_the_drawing_was_recorded(tmp_path, recognizer, bank):
    from annotate.archive.record import UNRECORDED, run_record

    run = tmp_path / "run"
    unrendered = run_record("video", _settings(run, recognizer, bank, render=False))
    older = {k: v for k, v in unrendered.items() if k not in UNRECORDED}  # what run.json held before
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"annotate": "archive"} | older))
    (run / "status").mkdir()
    prepare_out(run, unrendered, resume=True)  # those runs could not change the gaps, and drew nothing
    rendered = run_record("video", _settings(run, recognizer, bank))
    with pytest.raises(InputError, match=re.escape("render: False, now True; drawing: not recorded by the annotate")):
        prepare_out(run, rendered, resume=True)


def test_inputs_from_folders_and_a_manifest_each_once(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.mp4", "sub/b.mov", "notes.txt"):
        (folder / name).write_text("x")
    manifest = tmp_path / "list.csv"
    manifest.write_text(f"path,note\n{folder / 'a.mp4'},\n/elsewhere/c.mp4,x\nrel/d.mp4,y\n,empty\n")
    monkeypatch.chdir(tmp_path)
    table = list_inputs([folder], manifest, frozenset({".mp4", ".mov"}))
    assert table.to_pylist() == [
        {"source": str(folder / "a.mp4"), "relative": "a.mp4"},
        {"source": str(folder / "sub" / "b.mov"), "relative": "sub/b.mov"},
        {"source": "/elsewhere/c.mp4", "relative": "elsewhere/c.mp4"},
        {"source": str(tmp_path / "rel" / "d.mp4"), "relative": str(tmp_path / "rel" / "d.mp4")[1:]},
    ]
    pq.write_table(pa.table({"path": ["/a.mp4"]}), tmp_path / "clash.parquet")  # its copy: a.mp4 too
    with pytest.raises(InputError, match=r"in/a\.mp4 and /a\.mp4 would both be written to a\.mp4"):
        list_inputs([folder / "a.mp4"], tmp_path / "clash.parquet", frozenset({".mp4"}))
    with pytest.raises(InputError, match="not a manifest with a 'path' column"):
        list_inputs([], folder / "notes.txt", frozenset({".mp4"}))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_resume_skips_the_finished_and_redoes_blocks_without_a_status(tmp_path, fmt):
    out = tmp_path / "out"
    prepare_out(out, {"kind": "video", "format": fmt}, resume=False)
    row = {"run_id": "r1", "model": "m", "bank_sha256": "b", "version": "v", "node": "n", "seconds": 1.0}
    write_table(
        status_table([row | {"source": "/a.mp4", "ok": True}, row | {"source": "/b.mp4", "ok": False, "error": "x"}]),
        out / "status" / f"r1-one.{fmt}",
        fmt,
    )
    empty = TIMELINE_SCHEMA.empty_table()
    for block in ("one", "two"):  # block two stopped before its status: its tables are removed
        write_table(empty, out / "timeline" / f"r1-{block}.{fmt}", fmt)
    files = pa.table({"source": ["/a.mp4", "/b.mp4", "/c.mp4"], "relative": ["a.mp4", "b.mp4", "c.mp4"]})
    left, skipped = pending(files, out, fmt)
    assert (left.column("source").to_pylist(), skipped) == (["/b.mp4", "/c.mp4"], 1)
    assert sorted(p.name for p in (out / "timeline").iterdir()) == [f"r1-one.{fmt}"]
    assert STATUS_SCHEMA.names[:3] == ["source", "run_id", "ok"]
