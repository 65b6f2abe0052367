"""Runs that are stopped (kill -9, SIGTERM) or that race each other: no partial file under a final
name, no file replaced, leftovers cleaned up by the next run, workers that do not outlive their parent.

Each test runs the command line in subprocesses (models load in each, a few seconds)."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import av
import pytest
from clips import Scene, make_clip
from conftest import ROOT, SAMPLES
from PIL import Image, ImageOps

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kill -9, SIGTERM and /proc are POSIX")

ENV = {k: v for k, v in os.environ.items() if k != "ANNOTATE_BANK"}
# Analyse few frames but encode slowly: the render (when the output's temporary file exists) lasts seconds.
SLOW = ("--sample-fps", "2", "--preset", "veryslow", "--threads", "1")
T = TypeVar("T")


class Run:
    """`annotate ARGS...` in the background; its stdout and stderr go to files (a pipe could fill up)."""

    def __init__(self, logs: Path, name: str, *args: object) -> None:
        self.out, self.err = logs / f"{name}.stdout", logs / f"{name}.stderr"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            command = [sys.executable, "-m", "annotate", *map(str, args)]
            self.proc = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=out, stderr=err)

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        code = self.proc.wait(timeout)
        return code, self.out.read_text(), self.err.read_text()

    def first_output(self, folder: Path, timeout: float = 90) -> Path:
        """The first file that appears in ``folder`` (the process must still be running then)."""

        def found() -> Path | None:
            names = sorted(os.listdir(folder)) if folder.is_dir() else []
            if names:
                return folder / names[0]
            assert self.proc.poll() is None, f"it exited ({self.proc.returncode}) first:\n{self.err.read_text()}"
            return None

        return poll(found, timeout, f"a file in {folder}")


@pytest.fixture()
def start(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """Start runs (logs in tmp_path); any still going when the test ends are killed."""
    runs: list[Run] = []

    def run(name: str, *args: object) -> Run:
        runs.append(Run(tmp_path, name, *args))
        return runs[-1]

    yield run
    for r in runs:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()


def poll(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"waited {timeout} s for {what}")


def parts(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.part"))


def lines(text: str) -> list[str]:
    """Lines of a log, progress bars (carriage returns) split off."""
    return [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from /proc, or None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]  # the name may hold spaces and parentheses
    return state, int(ppid)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) and stat[1] == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in "ZX"  # a zombie has exited; nobody may reap it here


def slow_clip(path: Path, seconds: float = 8.0) -> Path:
    make_clip(path, Scene(length=seconds))
    return path


def test_kill_9_mid_render_leaves_no_output_and_a_rerun_cleans_up(tmp_path, bank_dir, start):
    clip = slow_clip(tmp_path / "in.mp4")
    out = tmp_path / "out"
    video, table = out / "in.mp4", out / "in.csv"
    killed = start("killed", "video", clip, "-o", video, "--csv", table, "-b", bank_dir, *SLOW)
    first = killed.first_output(out)
    killed.proc.kill()
    assert killed.proc.wait(10) == -signal.SIGKILL
    # The render was under way in a temporary file; nothing (not a partial video) holds a final name.
    assert first.name.startswith(f".in.mp4.{killed.proc.pid}.") and first.name.endswith(".part")
    assert os.listdir(out) == [first.name]

    rerun = start("rerun", "video", clip, "-o", video, "--csv", table, "-b", bank_dir, "--skip-existing")
    code, _, stderr = rerun.finish()
    assert code == 0, stderr
    assert "removed 1 unfinished file(s) left by a stopped run" in stderr
    assert not parts(out)
    assert sorted(os.listdir(out)) == ["in.csv", "in.mp4"]
    assert frame_count(video) == frame_count(clip) == 200
    assert table.read_text().startswith("label,track,start,end")


def test_sigterm_mid_render_stops_promptly_and_removes_its_temporary_file(tmp_path, bank_dir, start):
    clip = slow_clip(tmp_path / "in.mp4")
    out = tmp_path / "out"
    run = start("stopped", "video", clip, "-o", out / "in.mp4", "--csv", out / "in.csv", "-b", bank_dir, *SLOW)
    assert run.first_output(out).name.endswith(".part")
    sent = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    code, _, stderr = run.finish(timeout=30)
    assert time.monotonic() - sent < 10, "SIGTERM should stop the run as Ctrl-C does"
    assert code > 0, (code, stderr)  # it exited, not killed by the signal
    assert "Traceback" not in stderr
    assert os.listdir(out) == []


def photo_sets(tmp_path: Path, shared: int = 24, own: int = 8) -> tuple[Path, Path]:
    """Folders A and B, each with ``shared`` photos named x00.jpg... (different pictures in each
    folder) and ``own`` photos only that folder's names (a0.jpg... / b0.jpg...)."""
    both = Image.open(SAMPLES / "photos" / "both.jpg").convert("RGB").resize((532, 320))
    grace = ImageOps.mirror(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")).resize((256, 300))
    folders = []
    for name, mine, theirs in (("A", both, grace), ("B", grace, both)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(shared):
            mine.save(folder / f"x{i:02d}.jpg")
        for i in range(own):
            theirs.save(folder / f"{name.lower()}{i}.jpg")
        folders.append(folder)
    return folders[0], folders[1]


def test_concurrent_photo_runs_into_one_folder_replace_nothing(tmp_path, bank_dir, start):
    folders = dict(zip("AB", photo_sets(tmp_path)))
    race = tmp_path / "race"
    flags = ("-b", bank_dir, "--threads", "1")  # one thread: each run's bytes are reproducible
    racing = {name: start(f"race-{name}", "photos", folder, "-o", race, *flags) for name, folder in folders.items()}
    results = {name: run.finish() for name, run in racing.items()}
    refs = {name: tmp_path / f"ref-{name}" for name in folders}
    alone = {name: start(f"ref-{name}", "photos", folder, "-o", refs[name], *flags) for name, folder in folders.items()}
    assert all(run.finish()[0] == 0 for run in alone.values())

    for code, _, stderr in results.values():
        assert "Traceback" not in stderr
        assert code in (0, 1, 2)
    assert not parts(race)
    late = [  # refused at its start: one error line, the command line's advice, not about the table
        n
        for n, (code, _, err) in results.items()
        if code == 2
        and [e for e in lines(err) if e.startswith("error:")] == [lines(err)[-1]]
        and "pass --overwrite" in err
        and "faces.csv" not in err
    ]
    if late:  # one run started after the other had written: it refused before writing anything
        [first] = set(results) - set(late)
        assert sorted(p.name for p in race.iterdir()) == sorted(p.name for p in refs[first].iterdir())
        assert all((race / p.name).read_bytes() == p.read_bytes() for p in refs[first].iterdir() if p.suffix == ".jpg")
        return
    # Each run's own photos are its copies; a shared name holds exactly one run's copy.
    shared = {p.name for p in folders["A"].iterdir()} & {p.name for p in folders["B"].iterdir()}
    expected = {p.name for ref in refs.values() for p in ref.iterdir()}
    assert {p.name for p in race.iterdir()} == expected
    winner = {}
    for name in sorted(expected - shared - {"faces.csv"}):
        assert (race / name).read_bytes() == next(r / name for r in refs.values() if (r / name).exists()).read_bytes()
    for name in sorted(shared):
        owners = [run for run, ref in refs.items() if (ref / name).read_bytes() == (race / name).read_bytes()]
        assert len(owners) == 1, f"{name} is neither run's copy"
        winner[name] = owners[0]
    # The loser of each shared name said so, in one line; the winner said nothing about it.
    table_errors = [n for n, r in results.items() if f"error: {race / 'faces.csv'}: already exists" in r[2]]
    assert len(table_errors) == 1, "exactly one run writes faces.csv; the other is told it exists"
    for run, (code, _, stderr) in results.items():
        errors = [line for line in lines(stderr) if line.startswith("error:") and "faces.csv" not in line]
        lost = sorted(f"error: {race / name}: already exists" for name, w in winner.items() if w != run)
        assert sorted(errors) == lost
        assert code == (2 if run in table_errors else 1 if lost else 0)
    # faces.csv is the table of the run that wrote it, with its lost copies marked as errors.
    [writer] = set(results) - set(table_errors)
    with open(race / "faces.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(refs[writer] / "faces.csv", newline="") as handle:
        assert [{**row, "error": ""} for row in rows] == list(csv.DictReader(handle))
    assert {Path(r["path"]).name for r in rows if r["error"]} == {n for n, w in winner.items() if w != writer}


def annotate(*args: object) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "annotate", *map(str, args)], cwd=ROOT, env=ENV, capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout + done.stderr


def test_skip_existing_after_a_finished_run_redoes_only_what_is_missing(tmp_path, bank_dir):
    out = tmp_path / "out"
    command = ("photos", SAMPLES / "photos", "-o", out, "-b", bank_dir, "--threads", "1")
    assert annotate(*command)[0] == 0
    code, said = annotate(*command, "--skip-existing")
    assert code == 0 and "nothing to do" in said
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(files) == 5  # four copies and faces.csv
    before = {p: p.stat().st_mtime_ns for p in files}
    gone = out / "both.jpg"
    size = Image.open(gone).size
    gone.unlink()
    code, said = annotate(*command, "--skip-existing")
    assert code == 0 and "1 photo(s)" in said, said
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files
    assert Image.open(gone).size == size
    assert {p: p.stat().st_mtime_ns for p in files if p != gone} == {p: t for p, t in before.items() if p != gone}


def test_jobs_workers_stop_when_their_parent_is_killed(tmp_path, bank_dir, start):
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(4):
        slow_clip(clips / f"c{i}.mp4", seconds=6.0)
    out = tmp_path / "out"
    run = start("jobs", "video", clips, "-o", out, "-b", bank_dir, "--jobs", "2", *SLOW)
    run.first_output(out)
    workers = children(run.proc.pid)
    assert len(workers) >= 2, workers
    try:
        run.proc.kill()
        run.proc.wait(10)
        poll(lambda: not any(map(alive, workers)), 15, "the workers to exit after their parent was killed")
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)
    # Killed as the first render began: each worker abandoned its video and took no other from the queue.
    assert sorted(out.glob("*.mp4")) == []
    assert not parts(out), "an abandoned video's temporary file is removed"
