"""Blurring that never leaks: the leak rate of ``--blur all`` and what blurring costs a render.

    python benchmarks/bench_blur.py [--clips fast,cross] [--rates full,5,2] [--real] [--rounds 3]

The faces to hide are those of the analysis at full rate (every frame analysed). For each
clip and sample rate, the video is analysed at that rate and, for every decoded frame, the
render's hidden boxes at that frame's time are taken as the render paints them
(``video.hide.HiddenFaces.at``, then ``drawing.blur.padded``); a (frame, face) pair leaks when
less than 95% of the full-rate face's box lies inside them. Counted over every full-rate
detection, and over the faces of the timeline's people (leaving out the brief, uncertain
detections the timeline leaves out as spurious: mostly false detections). (That the render paints exactly
those boxes, and nothing else, is what tests/test_blur.py checks on the pixels.) The cost is
the render with ``--blur all`` against the plain render of the same analysis, in alternating
rounds, median seconds. A sampled rate is analysed as the CLI analyses for ``--blur`` (the
detector also runs between samples, ``VideoOptions.detect_all``), then from the samples only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import ROOT, add_recognizer_args, recognizer_from

sys.path.insert(0, str(ROOT / "tests"))

import annotate
from annotate.drawing.blur import BlurPolicy, padded
from annotate.drawing.options import DrawOptions
from annotate.video.hide import hidden_faces

SHARED = ROOT.parent / "shared" / "data" / "video"
REAL = {"video": SHARED / "video.mp4", "hamilton": SHARED / "hamilton" / "short_hamilton_clip.mp4"}
COVERED = 0.95


def leaks(
    truth: annotate.VideoAnalysis, analysis: annotate.VideoAnalysis, policy: BlurPolicy, people_only: bool = False
) -> tuple[int, int]:
    """(pairs leaking, pairs) over the full-rate faces of ``truth`` (``people_only``: leaving out
    the detections the timeline leaves out as spurious, mostly false detections)."""
    hidden = hidden_faces(analysis, policy)
    width, height = truth.info.width, truth.info.height
    bad = total = 0
    for frame in truth.frames:
        if not len(frame.faces):
            continue
        boxes, extra = hidden.at(frame.time)
        mask = np.zeros((height, width), bool)
        for x1, y1, x2, y2 in padded(boxes, policy.pad, width, height, extra).tolist():
            mask[y1:y2, x1:x2] = True
        boxes_px = np.round(frame.faces.boxes).astype(int).clip(0, [width, height, width, height])
        spurious = np.isin(frame.faces.tracks, list(truth.spurious)) if frame.faces.tracks is not None else []
        for (x1, y1, x2, y2), left_out in zip(boxes_px.tolist(), spurious):
            if people_only and left_out:
                continue
            area = max(1, (x2 - x1) * (y2 - y1))
            total += 1
            bad += mask[y1:y2, x1:x2].sum() < COVERED * area
    return bad, total


def cost(analysis: annotate.VideoAnalysis, policy: BlurPolicy, tmp: Path, rounds: int) -> tuple[float, float]:
    """Median seconds of the plain render and of the blurred one, in alternating rounds."""
    times: dict[str, list[float]] = {"plain": [], "blur": []}
    for r in range(rounds):
        for name in ("plain", "blur"):
            started = time.perf_counter()
            annotate.render_video(
                analysis,
                tmp / f"{name}.mp4",
                overwrite=True,
                drawing=DrawOptions(blur=policy if name == "blur" else None),
            )
            times[name].append(time.perf_counter() - started)
    return statistics.median(times["plain"]), statistics.median(times["blur"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="fast,cross")
    parser.add_argument("--rates", default="full,5,2")
    parser.add_argument("--real", action="store_true", help="also video.mp4 and the Hamilton clip (../shared)")
    parser.add_argument("--rounds", type=int, default=3, help="render rounds for the cost (0: no cost)")
    add_recognizer_args(parser, bank=False)
    args = parser.parse_args()
    from cast import make_cast

    recognizer = recognizer_from(args)
    policy = BlurPolicy(("all",))
    print(
        "| clip | rate | analysis s | faces (frame, face) | leaking | leak rate | people's faces | leaking | leak rate | plain render s | blurred s | cost |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        clips = {}
        for name in filter(None, args.clips.split(",")):
            clips[name] = tmp / f"{name}.mp4"
            make_cast(clips[name], name)
        if args.real:
            clips.update({name: path for name, path in REAL.items() if path.is_file()})
        for name, path in clips.items():
            started = time.perf_counter()
            truth = annotate.analyse_video(path, recognizer)
            seconds = time.perf_counter() - started
            for rate in args.rates.split(","):
                fps = None if rate == "full" else float(rate)
                # sampled: as the CLI analyses for --blur (detecting between samples), then samples only
                for between in (True, False) if fps else (False,):
                    analysis = truth
                    if fps is not None:
                        started = time.perf_counter()
                        options = annotate.VideoOptions(sample_fps=fps, detect_all=between)
                        analysis = annotate.analyse_video(path, recognizer, None, options)
                        seconds = time.perf_counter() - started
                    label = rate if fps is None else f"{rate}" + ("" if between else ", samples only")
                    row(name, label, seconds, truth, analysis, policy, tmp, args.rounds if fps is None else 0)


def row(
    name: str,
    label: str,
    seconds: float,
    truth: annotate.VideoAnalysis,
    analysis: annotate.VideoAnalysis,
    policy: BlurPolicy,
    tmp: Path,
    rounds: int,
) -> None:
    """Print one line of the table: the leaks of ``analysis`` and, with ``rounds``, the cost."""
    bad, total = leaks(truth, analysis, policy)
    bad_people, people = leaks(truth, analysis, policy, people_only=True)
    plain, blurred = cost(analysis, policy, tmp, rounds) if rounds else (0.0, 0.0)
    timing = f"{plain:.2f} | {blurred:.2f} | {blurred / plain:.3f}x" if plain else " |  | "
    rates = f"{total} | {bad} | {bad / max(1, total):.4f} | {people} | {bad_people} | {bad_people / max(1, people):.4f}"
    print(f"| {name} | {label} | {seconds:.1f} | {rates} | {timing} |", flush=True)


if __name__ == "__main__":
    main()
