"""The render pass with pictures kept in the decoder's YUV against the same pass through RGB.

    python benchmarks/bench_render.py [VIDEO] [--rounds 4] [--json]

One analysis of VIDEO (CPU, the bundled face bank) gives the faces to draw. Then, in
alternating rounds in this process, ``annotate.video.job.render`` runs four ways: with no faces (a
plain transcode) and with the faces, each with yuv420p pictures passed through from the
decoder (as shipped) and with ``passes_through`` forced to False (every picture converted to
RGB and back, as before). It reports the median wall and CPU seconds of each, and how many
luma samples of the first frame a whole-frame round trip through RGB moves.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
from av.video.reformatter import VideoReformatter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_reference import VIDEO  # noqa: E402  (../shared/data/video/video.mp4)


def round_trip_moves(path: Path) -> dict[str, float]:
    """Luma samples of the first frame that yuv420p -> RGB -> yuv420p (swscale) changes."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    rgb = VideoReformatter().reformat(frame, format="rgb24").to_ndarray()
    back = VideoReformatter().reformat(av.VideoFrame.from_ndarray(rgb, format="rgb24"), format="yuv420p").to_ndarray()
    diff = back[: frame.height].astype(int) - frame.to_ndarray()[: frame.height]
    return {"luma_moved": float((diff != 0).mean()), "luma_down_one": float((diff == -1).mean()), "luma_max_move": int(abs(diff).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from annotate.cli.app import recognizer_for
    from annotate.media import video as media
    from annotate.video.track import name_tracks
    from annotate.video.job import VideoJob, VideoOptions, analyse, render

    info = media.probe(args.video)
    recognizer = recognizer_for("auto", "cpu", 50, None, ROOT / "facebank", "auto")
    with media.VideoReader(args.video, info) as reader:
        records, seen = analyse(reader, recognizer, VideoOptions(), lambda n: None)
    names = name_tracks(seen, recognizer.bank.embeddings, recognizer.bank.labels, recognizer.threshold)
    shipped = media.passes_through
    times: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for mode in ("yuv", "rgb"):
                media.passes_through = shipped if mode == "yuv" else (lambda frame: False)
                for kind, shown in (("transcode", []), ("rendered", records)):
                    job = VideoJob(args.video, Path(tmp) / f"{kind}-{mode}.mp4", None, None)
                    before, start = os.times(), time.perf_counter()
                    render(job, info, shown, names if shown else {}, VideoOptions(), lambda n: None)
                    wall, after = time.perf_counter() - start, os.times()
                    times.setdefault(f"{kind}_{mode}", []).append((wall, after.user - before.user + after.system - before.system))
        media.passes_through = shipped
    result: dict[str, object] = {"video": str(args.video), "frames": len(records), "rounds": args.rounds}
    for key, runs in times.items():
        result[f"{key}_s"] = statistics.median(w for w, _ in runs)
        result[f"{key}_cpu_s"] = statistics.median(c for _, c in runs)
    for kind in ("transcode", "rendered"):
        result[f"{kind}_speedup"] = result[f"{kind}_rgb_s"] / result[f"{kind}_yuv_s"]
    result.update(round_trip_moves(args.video))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:22s} {value:.4g}" if isinstance(value, float) else f"{key:22s} {value}")


if __name__ == "__main__":
    main()
