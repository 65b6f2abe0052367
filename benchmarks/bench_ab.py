"""Another commit's face pipeline against this checkout's, in one process, on the same frames.

    python benchmarks/bench_ab.py [VIDEO] --baseline REV [--stage describe|detect] [--sample-fps 5] [--frames N]
        [--rounds 5] [--device cpu]

Timings on a shared 2-core VM drift by 10-30% from one minute to the next, so two separate
runs cannot show a change of a few percent. This script extracts ``annotate/`` at REV (``git
archive``) into a temporary folder as the package ``annotate_baseline``, loads both, and times
them in alternating rounds over the same decoded frames (batches of 4, as ``annotate video``
on the CPU). --stage describe (the default) times ``Recognizer.describe``: detect, align and
embed, as the analysis pass runs them; --stage detect times the detector alone. It reports
the median seconds per round of each, their ratio, and whether both found the same faces:
the largest box coordinate difference (pixels) and, for describe, the largest embedding
difference.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VIDEO = ROOT.parent / "shared" / "data" / "video" / "video.mp4"


def extract_baseline(rev: str, into: Path) -> str:
    """Write ``annotate/`` as of ``rev`` to ``into/annotate_baseline``; returns the full hash."""
    full = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True, capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", full, "annotate"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        for member in tar.getmembers():
            member.name = member.name.replace("annotate", "annotate_baseline", 1)
            tar.extract(member, into, filter="data")
    for shipped in ("weights", "fonts"):  # found beside the package
        (into / shipped).symlink_to(ROOT / shipped)
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--baseline", required=True, help="a git revision, e.g. HEAD~1 or a commit hash")
    parser.add_argument("--sample-fps", type=float, default=None, help="only the frames indexing at this rate analyses")
    parser.add_argument("--frames", type=int, default=0, help="at most this many frames (0: all)")
    parser.add_argument("--stage", choices=["describe", "detect"], default="describe")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from annotate.media.video import VideoReader

    with VideoReader(args.video) as reader:
        frames = [f.image for f in reader.frames(args.sample_fps)]
    frames = frames[: args.frames] if args.frames else frames
    with tempfile.TemporaryDirectory() as tmp:
        full = extract_baseline(args.baseline, Path(tmp))
        sys.path.insert(0, tmp)
        if args.stage == "detect":
            baseline = importlib.import_module("annotate_baseline.detect").FaceDetector(device=args.device, min_face=50)
            current = importlib.import_module("annotate.detect").FaceDetector(device=args.device, min_face=50)
            step = lambda model, images: [(faces, None) for faces in model.detect(images)]  # noqa: E731
        else:
            baseline = importlib.import_module("annotate_baseline.pipeline").Recognizer(device=args.device)
            current = importlib.import_module("annotate.pipeline").Recognizer(device=args.device)
            step = lambda model, images: model.describe(images)  # noqa: E731

        def run(model) -> list:
            return [out for start in range(0, len(frames), 4) for out in step(model, frames[start : start + 4])]

        found = {"baseline": run(baseline), "current": run(current)}  # warm-up, and the faces to compare
        times: dict[str, list[float]] = {"baseline": [], "current": []}
        for _ in range(args.rounds):
            for name, model in (("baseline", baseline), ("current", current)):
                start = time.perf_counter()
                run(model)
                times[name].append(time.perf_counter() - start)
    pairs = list(zip(found["baseline"], found["current"]))
    same_counts = all(len(a) == len(b) for (a, _), (b, _) in pairs)
    same = [(a, ea, b, eb) for (a, ea), (b, eb) in pairs if len(a) and len(a) == len(b)]
    diff = max((float(abs(a.boxes - b.boxes).max()) for a, _, b, _ in same), default=0.0)
    result = {
        "video": str(args.video), "frames": len(frames), "device": args.device, "rounds": args.rounds,
        "baseline": full[:12], "baseline_s": statistics.median(times["baseline"]), "current_s": statistics.median(times["current"]),
        "stage": args.stage, "faces": sum(len(f) for f, _ in found["current"]), "same_face_counts": same_counts,
        "max_box_difference_px": diff,
    }
    if args.stage == "describe":
        result["max_embedding_difference"] = max((float(abs(ea - eb).max()) for _, ea, _, eb in same), default=0.0)
    result["speedup"] = result["baseline_s"] / result["current_s"]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:24s} {value:.4g}" if isinstance(value, float) else f"{key:24s} {value}")


if __name__ == "__main__":
    main()
