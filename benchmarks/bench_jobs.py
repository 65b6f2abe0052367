"""A folder of videos one at a time against several at once (`annotate video --jobs N`).

    python benchmarks/bench_jobs.py [VIDEO] [--copies 4] [--jobs 2]
        [--sample-fps 5] [--device cpu|cuda] [--repeat 2]

Copies the video into a temporary folder and runs `annotate video FOLDER --no-render --csv
OUT` as a command, with `--jobs 1` (the baseline) and with `--jobs N`, in --repeat rounds
whose order alternates. It reports the wall time of each (median; model loading and worker start-up
included, as a user sees it), the ratio, whether every CSV is byte-identical between the two,
and how far apart the detections are (labels and tracks must agree; boxes and landmarks may
move by float rounding, since a worker runs torch with fewer threads).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import BANK, ROOT, VIDEO, alternate, median


def run(folder: Path, out: Path, jobs: int, args: argparse.Namespace) -> None:
    command = [
        sys.executable,
        "-m",
        "annotate",
        "video",
        str(folder),
        "--no-render",
        "--csv",
        str(out),
        "--detections",
        str(out),
        "--jobs",
        str(jobs),
        "--device",
        args.device,
        "--bank",
        str(args.bank),
        "--overwrite",
        "--quiet",
    ]
    if args.sample_fps:
        command += ["--sample-fps", str(args.sample_fps)]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"annotate video failed: {done.stderr.strip().splitlines()[-1:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sample-fps", type=float, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bank", type=Path, default=BANK)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.jobs < 2:
        raise SystemExit("--jobs must be at least 2: it is compared with --jobs 1")

    with tempfile.TemporaryDirectory() as tmp:
        folder, outs = Path(tmp) / "videos", {1: Path(tmp) / "one", args.jobs: Path(tmp) / "many"}
        folder.mkdir()
        for i in range(args.copies):
            shutil.copyfile(args.video, folder / f"{i:02d}{args.video.suffix}")
        runs = {jobs: (lambda jobs=jobs: run(folder, outs[jobs], jobs, args)) for jobs in outs}
        times = alternate(runs, args.repeat)
        csvs = sorted(p.name for p in outs[1].glob("*.csv"))
        same_csv = all(filecmp.cmp(outs[1] / n, outs[args.jobs] / n, shallow=False) for n in csvs)
        agree, apart = compare_detections(sorted(outs[1].glob("*.jsonl")), outs[args.jobs])
    one, many = median(times[1]), median(times[args.jobs])
    print(
        f"{args.copies} copies of {args.video}, --no-render"
        + (f" --sample-fps {args.sample_fps:g}" if args.sample_fps else "")
        + f", device {args.device}, {args.repeat} run(s) each, alternating"
    )
    print(f"--jobs 1         {one:7.2f} s  {', '.join(f'{t:.2f}' for t in times[1])}")
    print(f"--jobs {args.jobs:<9d} {many:7.2f} s  {', '.join(f'{t:.2f}' for t in times[args.jobs])}")
    print(f"speed-up         {one / many:7.2f}x")
    print(f"CSV              {'byte-identical' if same_csv else 'DIFFERENT'} ({len(csvs)} files)")
    print(
        f"detections       labels and tracks {'agree' if agree else 'DIFFER'}; boxes and landmarks at most {apart:.2f} px apart"
    )


def compare_detections(files: list[Path], other_dir: Path) -> tuple[bool, float]:
    """Whether every face has the same label and track in both runs, and the largest box or
    landmark coordinate difference in pixels."""
    agree, apart = True, 0.0
    for path in files:
        mine = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        theirs = [json.loads(line) for line in (other_dir / path.name).read_text(encoding="utf-8").splitlines()]
        agree &= len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            agree &= len(a["faces"]) == len(b["faces"])
            for fa, fb in zip(a["faces"], b["faces"]):
                agree &= fa["label"] == fb["label"] and fa["track"] == fb["track"]
                for key in ("box", "landmarks"):
                    flat_a, flat_b = json.dumps(fa[key]), json.dumps(fb[key])
                    if flat_a != flat_b:
                        apart = max(apart, max(abs(x - y) for x, y in zip(_numbers(fa[key]), _numbers(fb[key]))))
    return agree, apart


def _numbers(value) -> list[float]:
    return [x for item in value for x in _numbers(item)] if isinstance(value, list) else [float(value)]


if __name__ == "__main__":
    main()
