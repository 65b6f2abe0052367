"""How many CPU threads the analysis should use, on an idle machine and beside a CPU-bound process.

    python benchmarks/bench_threads.py [VIDEO] [--rounds 3] [--sample-fps 5] [--variants 1,2,default,auto]

Each variant runs `annotate video VIDEO --no-render --csv ... --device cpu` in a child process
(model loading included, as a user meets it), alone and then beside a competing process that
keeps one core busy in a pure-Python loop. Variants: a number N passes `--threads N`; `default`
passes nothing (the command's own default); `omp` passes nothing and sets no thread variables,
but is run with OMP_NUM_THREADS unset as torch's own default (the behaviour before --threads).
Rounds alternate the variants' order, since this VM's speed drifts by 20-30% within minutes.
It prints each variant's median wall time per condition and its ratio to the best variant.
The competing process is bounded: it is killed when its run ends.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "data" / "video" / "video.mp4"
BUSY = "import time\nend = time.time() + 900\nwhile time.time() < end:\n    pass\n"


def _command(video: Path, csv: Path, bank: Path, variant: str, sample_fps: float | None, flag: bool) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "annotate",
        "video",
        str(video),
        "--no-render",
        "--csv",
        str(csv),
        "--bank",
        str(bank),
        "--device",
        "cpu",
        "--overwrite",
    ]
    if sample_fps:
        cmd += ["--sample-fps", str(sample_fps)]
    if variant not in ("default", "omp") and flag:
        cmd += ["--threads", variant]
    return cmd


def _environment(variant: str, flag: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if variant not in ("default", "omp") and not flag:
        env["OMP_NUM_THREADS"] = variant
    return env


def run_once(video: Path, bank: Path, variant: str, busy: bool, sample_fps: float | None, flag: bool) -> float:
    """Wall seconds of one run of the command, beside a busy process if ``busy``."""
    with tempfile.TemporaryDirectory() as tmp:
        competitor = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
        try:
            if competitor is not None:
                time.sleep(0.5)  # let it take its core
            start = time.perf_counter()
            subprocess.run(
                _command(video, Path(tmp) / "who.csv", bank, variant, sample_fps, flag),
                env=_environment(variant, flag),
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            return time.perf_counter() - start
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()


def _supports_threads_flag() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "annotate", "video", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    return "--threads" in out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-fps", type=float, default=None)
    parser.add_argument("--variants", default="1,2,default")
    parser.add_argument("--bank", type=Path, default=ROOT / "facebank")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.video.is_file():
        sys.exit(f"{args.video} not found (the default is ../shared/data/video/video.mp4)")
    variants = args.variants.split(",")
    flag = _supports_threads_flag()
    times: dict[tuple[str, bool], list[float]] = {(v, b): [] for v in variants for b in (False, True)}
    for round_ in range(args.rounds):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for busy in (False, True):
            for variant in order:
                seconds = run_once(args.video, args.bank, variant, busy, args.sample_fps, flag)
                times[(variant, busy)].append(seconds)
                print(
                    f"round {round_ + 1}: threads={variant} {'busy' if busy else 'idle'} {seconds:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
    result = {f"{v} {'busy' if b else 'idle'}": statistics.median(t) for (v, b), t in times.items()}
    if args.json:
        print(
            json.dumps(
                {"times": {f"{v} {'busy' if b else 'idle'}": t for (v, b), t in times.items()}, "median": result}
            )
        )
        return
    print(
        f"{args.video.name}, --no-render{f' --sample-fps {args.sample_fps}' if args.sample_fps else ''}, "
        f"{args.rounds} rounds, median wall s (ratio to the best in that condition); threads via "
        f"{'--threads' if flag else 'OMP_NUM_THREADS'}"
    )
    for busy in (False, True):
        cond = "busy" if busy else "idle"
        best = min(result[f"{v} {cond}"] for v in variants)
        cells = [f"{v}: {result[f'{v} {cond}']:.2f} s ({result[f'{v} {cond}'] / best:.2f}x)" for v in variants]
        print(f"  {'beside a busy process' if busy else 'idle machine':<22} " + ", ".join(cells))


if __name__ == "__main__":
    main()
