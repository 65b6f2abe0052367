"""Another commit's face pipeline against this checkout's, in one process, on the same frames.

    python benchmarks/bench_ab.py [VIDEO] --baseline REV [--stage describe|detect] [--sample-fps 5] [--frames N]
        [--rounds 5] [--device cpu] [--json]

Timings on a shared 2-core VM drift by 10-30% from one minute to the next, so two separate
runs cannot show a change of a few percent. This script extracts ``annotate/`` at REV (``git
archive``) into a temporary folder as the package ``annotate_baseline`` (absolute imports of
``annotate`` in it rewritten to the copy, and checked), loads both, and times them in rounds
over the same decoded frames, each going first in every other round (batches of 4, as ``annotate video``
on the CPU). --stage describe (the default) times ``Recognizer.describe``: detect, align and
embed, as the analysis pass runs them; --stage detect times the detector alone; --stage
decode times ``VideoReader`` over the whole file (with --sample-fps, as indexing reads it)
and checks that both give the same frames (index, PTS and pixels). It reports
the median seconds per round of each, their ratio, and whether both found the same faces:
the largest box coordinate difference (pixels) and, for describe, the largest embedding
difference. The baseline may have either layout of the package (``annotate/detect.py`` and
``annotate/pipeline.py`` before the stage packages, ``annotate/detection/detect.py`` and
``annotate/recognition/recognizer.py`` since). Both run on the same number of torch threads
(--threads, default torch's), set once for the process.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from _harness import ROOT, VIDEO, alternate, median, report

# module of each stage's class, newest layout first
LAYOUTS = {
    "detect": (("detection.detect", "FaceDetector"), ("detect", "FaceDetector")),
    "describe": (("recognition.recognizer", "Recognizer"), ("pipeline", "Recognizer")),
    "decode": (("media.video", "VideoReader"),),
}


def resolve(rev: str) -> str:
    """The full hash of commit ``rev``; exits with a one-line message if there is none."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"bench_ab: no commit {rev!r} in {ROOT}")
    return done.stdout.strip()


def extract_baseline(full: str, into: Path) -> None:
    """Write ``annotate/`` as of commit ``full`` to ``into/annotate_baseline``. Absolute
    imports of ``annotate`` inside it (older revisions have some) are pointed at the copy, so
    no module of this checkout runs on the baseline's side."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", full, "annotate"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        for member in tar.getmembers():
            member.name = member.name.replace("annotate", "annotate_baseline", 1)
            tar.extract(member, into, **_SAFE)
    for source in (into / "annotate_baseline").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        source.write_text(_ABSOLUTE.sub(r"\1annotate_baseline\2", text), encoding="utf-8")
    for shipped in ("weights", "fonts"):  # found beside the package
        (into / shipped).symlink_to(ROOT / shipped)


_SAFE = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.10.12 / 3.11.4
_ABSOLUTE = re.compile(r"^(\s*(?:from|import) )annotate(\b)", re.MULTILINE)


def stage_class(package: str, stage: str) -> type:
    """The class that runs ``stage`` in ``package`` (annotate or annotate_baseline), in either layout."""
    for module, name in LAYOUTS[stage]:
        try:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        except ModuleNotFoundError as error:  # this layout's module (or its stage package) is not there
            missing = error.name or ""
            if not (missing.startswith(f"{package}.") and f"{package}.{module}".startswith(missing)):
                raise
    sys.exit(f"bench_ab: {package} has none of " + ", ".join(f"{m}.{n}" for m, n in LAYOUTS[stage]))


def build(cls: type, stage: str, device: str, threads: int) -> object:
    """A detector (min face 50) or a recognizer on ``device``; a recognizer that takes a number
    of threads (since Config) gets ``threads``, the one the whole process runs with."""
    if stage == "decode":
        return cls
    if stage == "detect":
        return cls(device=device, min_face=50)
    parameters = inspect.signature(cls).parameters.values()
    takes_threads = any(p.name == "threads" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return cls(device=device, threads=threads) if takes_threads else cls(device=device)


def check_baseline(baseline: object, stage: str) -> None:
    """Exit if the baseline's objects come from this checkout (the copy's imports leaked)."""
    if stage == "decode":
        parts = [baseline]
        modules = [getattr(baseline, "__module__", "")]
    else:
        parts = [baseline, *([baseline.detector, baseline.embedder.net] if stage == "describe" else [baseline.pnet])]  # type: ignore[attr-defined]
        modules = [type(p).__module__ for p in parts]
    leaked = [m for m in modules if not m.startswith("annotate_baseline")]
    if leaked:
        sys.exit(f"bench_ab: the baseline runs this checkout's code ({', '.join(leaked)})")


def decode_ab(readers: dict[str, type], args: argparse.Namespace, full: str) -> dict:
    """Median seconds to read the video with each side's VideoReader, and whether both gave
    the same frames."""
    import hashlib

    def run(cls: type) -> list[tuple[int, int | None, str]]:
        with cls(args.video) as reader:
            frames = list(reader.frames(args.sample_fps))
        return [(f.index, f.pts, hashlib.sha1(f.image.tobytes()).hexdigest()) for f in frames]

    found = {side: run(cls) for side, cls in readers.items()}
    times = alternate({side: (lambda cls=cls: run(cls)) for side, cls in readers.items()}, args.rounds)
    result = {
        "video": str(args.video),
        "stage": "decode",
        "sample_fps": args.sample_fps,
        "frames": len(found["current"]),
        "rounds": args.rounds,
        "baseline": full[:12],
        "baseline_s": median(times["baseline"]),
        "current_s": median(times["current"]),
        "same_frames": found["baseline"] == found["current"],
    }
    result["speedup"] = result["baseline_s"] / result["current_s"]
    return result


def described(item: object) -> tuple[object, object]:
    """One image's (faces, embeddings) from describe() of either API: a (Faces, array) pair
    before the Faces table had an embeddings column, a Faces with embeddings since."""
    return item if isinstance(item, tuple) else (item, item.embeddings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--baseline", required=True, help="a git revision, e.g. HEAD~1 or a commit hash")
    parser.add_argument("--sample-fps", type=float, default=None, help="only the frames indexing at this rate analyses")
    parser.add_argument("--frames", type=int, default=0, help="at most this many frames (0: all)")
    parser.add_argument("--stage", choices=["describe", "detect", "decode"], default="describe")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads for both (default: torch's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    full = resolve(args.baseline)
    import torch

    from annotate.media.video import VideoReader

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    frames = []
    if args.stage != "decode":
        with VideoReader(args.video) as reader:
            frames = [f.image for f in reader.frames(args.sample_fps)]
    frames = frames[: args.frames] if args.frames else frames
    with tempfile.TemporaryDirectory() as tmp:
        extract_baseline(full, Path(tmp))
        sys.path.insert(0, tmp)
        models = {
            side: build(stage_class(package, args.stage), args.stage, args.device, threads)
            for side, package in (("baseline", "annotate_baseline"), ("current", "annotate"))
        }
        check_baseline(models["baseline"], args.stage)
        if args.stage == "decode":
            report(decode_ab(models, args, full), args.json)
            return

        def run(model) -> list:
            if args.stage == "detect":
                step = lambda images: [(faces, None) for faces in model.detect(images)]
            else:
                step = lambda images: [described(item) for item in model.describe(images)]
            return [out for start in range(0, len(frames), 4) for out in step(frames[start : start + 4])]

        found = {side: run(model) for side, model in models.items()}  # warm-up, and the faces to compare
        times = alternate({side: (lambda model=model: run(model)) for side, model in models.items()}, args.rounds)
    pairs = list(zip(found["baseline"], found["current"]))
    same_counts = all(len(a) == len(b) for (a, _), (b, _) in pairs)
    same = [(a, ea, b, eb) for (a, ea), (b, eb) in pairs if len(a) and len(a) == len(b)]
    diff = max((float(abs(a.boxes - b.boxes).max()) for a, _, b, _ in same), default=0.0)
    result = {
        "video": str(args.video),
        "frames": len(frames),
        "device": args.device,
        "threads": threads,
        "rounds": args.rounds,
        "baseline": full[:12],
        "baseline_s": median(times["baseline"]),
        "current_s": median(times["current"]),
        "stage": args.stage,
        "faces": sum(len(f) for f, _ in found["current"]),
        "same_face_counts": same_counts,
        "max_box_difference_px": diff,
    }
    if args.stage == "describe":
        result["max_embedding_difference"] = max((float(abs(ea - eb).max()) for _, ea, _, eb in same), default=0.0)
    result["speedup"] = result["baseline_s"] / result["current_s"]
    report(result, args.json)


if __name__ == "__main__":
    main()
