"""Archives (`annotate ray`): the annotator classes without Ray, the output folder and resume
rules, then the command on a local Ray cluster and on two Ray nodes of this machine."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import pytest
from conftest import ROOT, SAMPLES, SHARED

pytest.importorskip("pyarrow", reason="the archive needs the ray extra: pip install 'annotate[ray]'")

import pyarrow as pa
import pyarrow.parquet as pq

import annotate
from annotate.archive.annotators import ArchiveSettings, PhotoAnnotator, VideoAnnotator, bank_fingerprint
from annotate.archive.inputs import list_inputs, pending, prepare_out
from annotate.archive.tables import STATUS_SCHEMA, TIMELINE_SCHEMA, status_table, write_table
from annotate.errors import InputError
from annotate.writers import timeline_cells

HAMILTON = SHARED / "video" / "hamilton"
RAY_ENV = os.environ | {"RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def recognizer() -> annotate.Recognizer:
    return annotate.Recognizer(annotate.Config(device="cpu", threads=2))


@pytest.fixture()
def bank_folder(bank_dir: Path) -> Path:
    """The demo bank, with the two people of the Hamilton clip when ../shared has it."""
    for photo in HAMILTON.glob("*.png") if HAMILTON.is_dir() else ():
        (bank_dir / photo.stem).mkdir()
        shutil.copy(photo, bank_dir / photo.stem / photo.name)
    return bank_dir


def _settings(out: Path, recognizer: annotate.Recognizer, bank: annotate.FaceBank, **kw) -> ArchiveSettings:
    return ArchiveSettings(recognizer.config, bank, out, "r1", bank_sha256=bank_fingerprint(bank), **kw)


def _read(folder: Path, name: str) -> list[dict]:
    return pq.read_table(folder / name).to_pylist() if (folder / name).exists() else []


def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _frame_times(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [frame.pts for frame in container.decode(video=0)]


def test_video_annotator_gives_annotate_videos_timeline_and_a_row_for_a_bad_file(tmp_path, recognizer):
    bank = annotate.load_bank(SAMPLES.parent / "facebank", recognizer)
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


def test_photo_annotator_names_each_photo_and_reports_the_unreadable(tmp_path, recognizer):
    bank = annotate.load_bank(SAMPLES.parent / "facebank", recognizer)
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
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("a user's file")
    with pytest.raises(InputError, match="not empty and holds no earlier run"):
        prepare_out(mine, "video", "parquet", resume=False)
    run = tmp_path / "run"
    prepare_out(run, "video", "parquet", resume=False)
    prepare_out(run, "video", "parquet", resume=False)  # stopped before its first file: starts afresh
    (run / "status").mkdir()
    with pytest.raises(InputError, match="holds an earlier run"):
        prepare_out(run, "video", "parquet", resume=False)
    with pytest.raises(InputError, match="video run in parquet, not photos in parquet"):
        prepare_out(run, "photos", "parquet", resume=True)
    prepare_out(run, "video", "parquet", resume=True)


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
    prepare_out(out, "video", fmt, resume=False)
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


# --- on Ray ---------------------------------------------------------------------------------


def _annotate(*args: object, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "annotate", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=RAY_ENV, timeout=timeout, cwd=ROOT)


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    """Copies of the test clips (the Hamilton clip too when ../shared has it), in a tree, and a
    file that is not a video."""
    folder = tmp_path / "archive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "clip.mp4", folder / "clip.mp4")
    if (HAMILTON / "short_hamilton_clip.mp4").exists():
        shutil.copy(HAMILTON / "short_hamilton_clip.mp4", folder / "sub" / "hamilton.mp4")
    else:
        shutil.copy(SAMPLES / "clip.mp4", folder / "sub" / "again.mp4")
    (folder / "sub" / "broken.mp4").write_text("not a video")
    return folder


def _timelines(out: Path) -> dict[str, list[dict]]:
    """The run's timeline rows by source, formatted as the CSV writes them."""
    rows: dict[str, list[dict]] = {}
    for record in pq.read_table(out / "timeline", schema=TIMELINE_SCHEMA).to_pylist():
        source = record.pop("source")
        record.pop("run_id")
        rows.setdefault(source, []).append({k: str(v) for k, v in timeline_cells(record).items()})
    return rows


def _expected(archive: Path, bank: Path, tmp_path: Path) -> dict[str, list[dict]]:
    csvs = tmp_path / "csv"
    done = _annotate("video", archive, "--no-render", "--csv", csvs, "-b", bank, "--jobs", 2, "--device", "cpu")
    assert done.returncode == 1, done.stderr  # the broken file
    return {str(archive / p.relative_to(csvs).with_suffix(".mp4")): _csv_rows(p) for p in sorted(csvs.rglob("*.csv"))}


def test_ray_video_gives_the_timelines_of_annotate_video_jobs_2_and_resumes(tmp_path, archive, bank_folder):
    pytest.importorskip("ray", reason="the Ray tests need the ray extra: pip install 'annotate[ray]'")
    out = tmp_path / "run"
    done = _annotate("ray", "video", archive, "-o", out, "-b", bank_folder, "--workers", 2)
    assert done.returncode == 1, done.stderr
    broken = archive / "sub" / "broken.mp4"
    assert f"error: {broken}: not a video" in done.stderr
    assert "2 input(s) done, 1 failed" in done.stdout

    expected = _expected(archive, bank_folder, tmp_path)
    assert len(expected) == 2 and all(expected.values())
    assert _timelines(out) == expected

    status = pq.read_table(out / "status").to_pylist()
    second = "hamilton.mp4" if (archive / "sub" / "hamilton.mp4").exists() else "again.mp4"
    assert sorted((Path(r["source"]).name, r["ok"]) for r in status) == sorted(
        [("broken.mp4", False), (second, True), ("clip.mp4", True)]
    )
    copies = sorted(p.relative_to(out / "videos").as_posix() for p in (out / "videos").rglob("*.mp4"))
    assert copies == sorted(Path(r["source"]).relative_to(archive).as_posix() for r in status if r["ok"])
    assert _frame_times(out / "videos" / "clip.mp4") == _frame_times(archive / "clip.mp4")

    refused = _annotate("ray", "video", archive, "-o", out, "-b", bank_folder)
    assert refused.returncode == 2 and f"{out} holds an earlier run; pass --resume" in refused.stderr

    again = _annotate("ray", "video", archive, "-o", out, "-b", bank_folder, "--workers", 2, "--resume")
    assert again.returncode == 1, again.stderr
    assert "2 input(s) finished by the earlier run are skipped" in again.stdout
    runs = {}
    for row in pq.read_table(out / "status").to_pylist():
        runs.setdefault(row["run_id"], []).append(Path(row["source"]).name)
    assert sorted(len(v) for v in runs.values()) == [1, 3] and ["broken.mp4"] in runs.values()
    assert _timelines(out) == expected  # nothing added twice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_processes(marker: str) -> list[int]:
    """The processes whose command line mentions ``marker`` (the test cluster's temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture()
def two_nodes():
    """A head and a second node, one CPU each, on this machine; stopped by process id (never
    `ray stop`, which stops every Ray here)."""
    pytest.importorskip("ray", reason="the Ray tests need the ray extra: pip install 'annotate[ray]'")
    ray_cli = Path(sys.executable).parent / "ray"
    temp = tempfile.mkdtemp(prefix="rayt", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = _free_port()
    common = ["--num-cpus=1", f"--temp-dir={temp}", "--disable-usage-stats"]
    try:
        subprocess.run(
            [ray_cli, "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
            env=RAY_ENV,
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [ray_cli, "start", f"--address=127.0.0.1:{port}", *common],
            env=RAY_ENV,
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"127.0.0.1:{port}"
    finally:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            for pid in _ray_processes(temp):
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass
            time.sleep(2)
        shutil.rmtree(temp, ignore_errors=True)


def test_two_nodes_share_the_work_and_give_the_same_tables(tmp_path, archive, bank_folder, two_nodes):
    (archive / "sub" / "broken.mp4").unlink()
    shutil.copy(SAMPLES / "clip.mp4", archive / "sub" / "clip.mp4")
    out = tmp_path / "run"
    done = _annotate("ray", "video", archive, "-o", out, "-b", bank_folder, "--address", two_nodes, "--no-render")
    assert done.returncode == 0, done.stderr
    status = pq.read_table(out / "status").to_pylist()
    assert len(status) == 3 and all(r["ok"] for r in status)
    assert len({r["node"] for r in status}) == 2
    assert not (out / "videos").exists()
    timelines = _timelines(out)
    assert timelines[str(archive / "clip.mp4")] == timelines[str(archive / "sub" / "clip.mp4")]
    assert len(timelines) == 3
