"""How many CPU threads the analysis should use, on an idle machine and beside a CPU-bound process.

    python benchmarks/bench_threads.py [VIDEO] [--rounds 3] [--sample-fps 5] [--variants 1,2,default]

Each variant runs `annotate video VIDEO --no-render --csv ... --device cpu` in a child process
(model loading included, as a user meets it): a number N passes `--threads N`, `default`
passes nothing. All rounds run first on the idle machine, then beside a competing process
that keeps one core busy in a pure-Python loop for the whole of those rounds (and is killed
after them). Within each condition the rounds alternate the variants' order
(``_harness.alternate``), since this VM's speed drifts by 20-30% within minutes. It prints each
variant's median wall time per condition and its ratio to the best variant there.
In a checkout whose `annotate video` has no `--threads` (to measure a baseline revision,
copy this script and _harness.py into it), N is passed as OMP_NUM_THREADS instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from _harness import BANK, ROOT, VIDEO, alternate, medians

BUSY = "import time\nend = time.time() + 1800\nwhile time.time() < end:\n    pass\n"


def _supports_threads_flag() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "annotate", "video", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    return "--threads" in out.stdout


def run_once(video: Path, bank: Path, variant: str, sample_fps: float | None, flag: bool) -> None:
    """One run of the command with ``variant``'s threads."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    cmd = [sys.executable, "-m", "annotate", "video", str(video), "--no-render", "--bank", str(bank), "--device", "cpu"]
    if sample_fps:
        cmd += ["--sample-fps", str(sample_fps)]
    if variant != "default":
        if flag:
            cmd += ["--threads", variant]
        else:
            env["OMP_NUM_THREADS"] = variant
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*cmd, "--csv", str(Path(tmp) / "who.csv")], env=env, check=True, capture_output=True, cwd=ROOT)


@contextlib.contextmanager
def competitor() -> Iterator[None]:
    """A pure-Python busy loop on one core while the block runs (killed after it)."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-fps", type=float, default=None)
    parser.add_argument("--variants", default="1,2,default")
    parser.add_argument("--bank", type=Path, default=BANK)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.video.is_file():
        sys.exit(f"{args.video} not found (the default is ../shared/data/video/video.mp4)")
    flag = _supports_threads_flag()
    runs = {
        v: (lambda v=v: run_once(args.video, args.bank, v, args.sample_fps, flag)) for v in args.variants.split(",")
    }
    times = {"idle": alternate(runs, args.rounds)}
    with competitor():
        times["busy"] = alternate(runs, args.rounds)
    result = {cond: medians(t) for cond, t in times.items()}
    if args.json:
        print(json.dumps({"times": times, "median": result}))
        return
    print(
        f"{args.video.name}, --no-render{f' --sample-fps {args.sample_fps}' if args.sample_fps else ''}, "
        f"{args.rounds} rounds, median wall s (ratio to the best in that condition); threads via "
        f"{'--threads' if flag else 'OMP_NUM_THREADS'}"
    )
    for cond, label in (("idle", "idle machine"), ("busy", "beside a busy process")):
        best = min(result[cond].values())
        cells = [f"{v}: {t:.2f} s ({t / best:.2f}x)" for v, t in result[cond].items()]
        print(f"  {label:<22} " + ", ".join(cells))


if __name__ == "__main__":
    main()
