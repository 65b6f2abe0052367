"""A folder of short videos on a local Ray cluster (`annotate ray video`) against `annotate
video --jobs 2` and against one video at a time, all in this process, in alternating rounds.

    python benchmarks/bench_ray.py [VIDEO] [--count 20] [--workers 2] [--rounds 3] [--render]
    python benchmarks/bench_ray.py --driver 1000000 [--workers 64]

The folder holds ``--count`` copies of VIDEO (default: the 4 s 640x360 sample clip). Each way
runs the timeline only (``--render``: the annotated copies too), through the public API:
``process_video`` in a loop (models loaded once), ``video.workers.process_videos`` (the
``--jobs`` path: worker processes, models loaded in each), and ``run_archive`` on a Ray
started here with ``ray.init(num_cpus=workers)`` and stopped after each round.

``--driver N`` measures only the driver's side of a run over N inputs listed in a Parquet
manifest (made-up paths; nothing is read): the manifest's size, listing it, and handing its
blocks to two actors that return a status row per input at once, with the driver's memory.

Each run records when each video started and ended (Ray: a block's status arrives at the
driver when its video ends, and its ``seconds`` say when it started; blocks hold one video
here). Reported per way, the median over rounds:
- start-up: seconds until every worker has started a video (Ray: ``ray.init``, starting the
  actors and loading their models; ``--jobs``: spawning the workers and loading theirs);
- after start-up: videos per minute from then to the end, each video counted by the share of
  it done in that window (a rate from completion times alone credits a worker that started
  early with work it did before the window);
- wall: the whole run;
- peak memory: the largest sum of resident sets of this process and all its descendants
  (Ray's GCS, raylet and workers included), sampled every 0.25 s. Shared pages count once per
  process, so this overstates what a machine needs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from _harness import BANK, ROOT, rss_mb

import annotate
from annotate.archive.annotators import ArchiveSettings
from annotate.archive.dataset import Pool, block_size, connect, run_archive
from annotate.archive.inputs import prepare_out
from annotate.media import InputFile
from annotate.video.analysis import VideoOptions
from annotate.video.job import VideoJob, process_video
from annotate.video.workers import WorkerSettings, process_videos

CLIP = ROOT / "samples" / "clip.mp4"


def _tree_rss_mb(root: int) -> float:
    """Sum of resident sets of ``root`` and its descendants, MB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        total += rss_mb(pid)
    return total


class Peak:
    """The largest tree RSS while the block runs."""

    def __enter__(self) -> Peak:
        self.mb, self._stop = 0.0, threading.Event()

        def sample() -> None:
            while not self._stop.wait(0.25):
                self.mb = max(self.mb, _tree_rss_mb(os.getpid()))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


Spans = list[tuple[float, float]]  # per video: (start, end), seconds from the run's start


def planned(files: list[InputFile], out: Path, render: bool) -> list[VideoJob]:
    """Each video's job as `annotate video` plans it: its CSV, and its copy when rendering."""
    return [
        VideoJob(f.source, out / f"{f.source.stem}.mp4" if render else None, out / f"{f.source.stem}.csv", None)
        for f in files
    ]


def one_at_a_time(files: list[InputFile], args, out: Path, bank) -> Spans:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    recognizer = annotate.Recognizer(annotate.Config(device="cpu", threads=args.workers))
    spans = []
    for job in planned(files, out, args.render):
        began = time.perf_counter() - start
        process_video(job, recognizer, bank, VideoOptions(), lambda stage, total: lambda n: None)
        spans.append((began, time.perf_counter() - start))
    return spans


def jobs(files: list[InputFile], args, out: Path, bank) -> Spans:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    jobs_ = planned(files, out, args.render)
    recognizer = annotate.Recognizer(annotate.Config(device="cpu", threads=args.workers))  # as `annotate video` does
    settings = WorkerSettings.sharing(recognizer, bank, args.workers)
    began: dict[int, float] = {}

    def progress(index: int, stage: str, total: int | None, done: int) -> None:
        if stage == "analyse" and total is not None:  # a worker starts this video
            began.setdefault(index, time.perf_counter() - start)

    spans = []
    for job, outcome in process_videos(jobs_, settings, VideoOptions(), args.workers, progress):
        if isinstance(outcome, Exception):
            raise SystemExit(f"--jobs failed: {outcome}")
        spans.append((began[jobs_.index(job)], time.perf_counter() - start))
    return spans


def on_ray(files: list[InputFile], args, out: Path, bank) -> Spans:  # type: ignore[no-untyped-def]
    import ray

    start = time.perf_counter()
    connect(None, num_cpus=args.workers)
    args.init.append(time.perf_counter() - start)
    recognizer = annotate.Recognizer(annotate.Config(device="cpu", threads=1))
    run = out / "run"
    prepare_out(run, {"kind": "video", "format": "parquet"}, False)
    settings = ArchiveSettings(recognizer.config, bank, run, "bench", render=args.render)
    pool = Pool(args.workers)
    if block_size(len(files), args.workers) != 1:
        raise SystemExit("the spans need one video per block: use fewer videos or more workers")
    spans = []
    table = pa.table({"source": [str(f.source) for f in files], "relative": [f.relative.as_posix() for f in files]})
    for status in run_archive(table, "video", settings, pool):
        ended = time.perf_counter() - start
        for row in status.to_pylist():
            if not row["ok"]:
                raise SystemExit(f"ray: {row}")
            spans.append((ended - row["seconds"], ended))
    ray.shutdown()
    return spans


def measure(spans: Spans, workers: int) -> tuple[float, float, float]:
    """(start-up s, videos per minute after it, wall s) of one run."""
    begins = sorted(b for b, _ in spans)
    t0, t1 = begins[min(workers, len(begins)) - 1], max(e for _, e in spans)
    done = sum(max(0.0, min(e, t1) - max(b, t0)) / (e - b) for b, e in spans if e > b)
    return t0, done / (t1 - t0) * 60, t1


class _Nothing:
    """An annotator that reads and writes nothing: a status row per input, at once."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        pass

    def __call__(self, batch):  # type: ignore[no-untyped-def]
        from annotate.archive.tables import status_table

        return status_table({"source": s, "ok": True} for s in batch.column("source").to_pylist())


def driver_cost(n: int, workers: int) -> None:
    """The driver's time and memory for a manifest of ``n`` inputs, and the cost of handing out
    their blocks to 2 actors that do nothing with them."""
    import pyarrow.parquet as pq
    import ray

    from annotate.archive.inputs import list_inputs

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.parquet"
        paths = [f"/mnt/archive/{i // 1000:04d}/{i % 1000:03d}/video-{i:07d}.mp4" for i in range(n)]
        pq.write_table(pa.table({"path": paths}), manifest)
        del paths
        size_mb = manifest.stat().st_size / 2**20
        before = rss_mb()
        t = time.perf_counter()
        files = list_inputs([], manifest, frozenset({".mp4"}))
        listed = time.perf_counter() - t
        after_list = rss_mb()
        connect(None, num_cpus=2)
        recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
        settings = ArchiveSettings(recognizer.config, annotate.FaceBank.empty("m", "x"), Path(tmp) / "run", "r")
        t = time.perf_counter()
        rows = sum(status.num_rows for status in run_archive(files, _Nothing, settings, Pool(2)))
        ran = time.perf_counter() - t
        size = block_size(n, workers)
        print(f"{n} inputs, blocks of {size} (as for {workers} workers): manifest {size_mb:.1f} MB of Parquet")
        print(
            f"read and listed in {listed:.1f} s; {-(-n // size)} blocks handed to 2 idle actors and {rows} rows back in {ran:.1f} s"
        )
        print(
            f"driver memory {before:.0f} MB before, {after_list:.0f} MB with the inputs listed, {rss_mb():.0f} MB at the end"
        )
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=CLIP)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--render", action="store_true")
    parser.add_argument("--driver", type=int, default=None, help="only the driver's cost for this many inputs")
    args = parser.parse_args()
    if args.driver:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        driver_cost(args.driver, args.workers)
        return
    args.init = []
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    bank = annotate.load_bank(BANK, annotate.Recognizer(annotate.Config(device="cpu")))
    ways: dict[str, Callable] = {"one at a time": one_at_a_time, f"--jobs {args.workers}": jobs, "ray": on_ray}
    rows: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "videos"
        folder.mkdir()
        files = []
        for i in range(args.count):
            shutil.copyfile(args.video, folder / f"v{i:02d}{args.video.suffix}")
            files.append(InputFile(folder / f"v{i:02d}{args.video.suffix}", Path(f"v{i:02d}{args.video.suffix}")))
        for r in range(args.rounds):
            order = list(ways) if r % 2 == 0 else list(reversed(ways))
            for name in order:
                out = Path(tmp) / f"out-{r}-{name.replace(' ', '_')}"
                out.mkdir()
                with Peak() as peak:
                    spans = ways[name](files, args, out, bank)
                startup, per_minute, wall = measure(spans, 1 if name == "one at a time" else args.workers)
                rows[name].append((startup, per_minute, wall, peak.mb))
                print(
                    f"round {r + 1} {name:14s} start-up {startup:5.1f} s, after start-up {per_minute:6.1f} videos/min, "
                    f"wall {wall:6.1f} s, peak {peak.mb:6.0f} MB",
                    flush=True,
                )
    med = {name: [statistics.median(col) for col in zip(*values)] for name, values in rows.items()}
    print(
        f"\n{args.count} copies of {args.video.name}, {args.workers} workers, {'rendered' if args.render else 'timeline only'}, {args.rounds} round(s), median"
    )
    print(f"{'':16s}{'start-up s':>11s}{'videos/min':>12s}{'wall s':>9s}{'peak MB':>9s}{'vs --jobs':>11s}")
    base = med[f"--jobs {args.workers}"][1]
    for name, (startup, per_minute, wall, mb) in med.items():
        print(f"{name:16s}{startup:11.1f}{per_minute:12.1f}{wall:9.1f}{mb:9.0f}{per_minute / base:10.2f}x")
    print(f"ray.init: {', '.join(f'{t:.1f}' for t in args.init)} s")


if __name__ == "__main__":
    main()
