"""`annotate ray` on a local Ray cluster, and on two Ray nodes of this machine (each started
and stopped by process id, never `ray stop`, which stops every Ray here)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES

pytest.importorskip("ray", reason="the Ray tests need the ray extra: pip install 'annotate[ray]'")

import pyarrow.parquet as pq
from test_archive import HAMILTON, _csv_rows, _frame_times

import annotate
from annotate.archive.tables import TIMELINE_SCHEMA
from annotate.writers import timeline_cells, timeline_records

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


def test_two_nodes_share_the_work_and_give_the_same_tables(tmp_path, archive, bank_folder, two_nodes, recognizer):
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
    assert timelines == _in_process(archive, bank_folder, recognizer)


def _in_process(archive: Path, bank_folder: Path, recognizer: annotate.Recognizer) -> dict[str, list[dict]]:
    """Each video's timeline from analyse_video in this process, as the CSV writes it."""
    bank = annotate.load_bank(bank_folder, recognizer)
    return {
        str(p): [
            {k: str(v) for k, v in timeline_cells(r).items()}
            for r in timeline_records(annotate.analyse_video(p, recognizer, bank))
        ]
        for p in sorted(archive.rglob("*.mp4"))
    }
