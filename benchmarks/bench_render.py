"""The render pass with pictures kept in the decoder's YUV against the same pass through RGB.

    python benchmarks/bench_render.py [VIDEO] [--rounds 4] [--json]

One analysis of VIDEO (CPU, the bundled face bank) gives the faces to draw. Then, in
alternating rounds in this process, ``annotate.render_video`` runs four ways: with no faces (a
plain transcode) and with the faces, each with yuv420p pictures passed through from the
decoder (``yuv=True``, as shipped) and with ``yuv=False`` (every picture converted to RGB and
back, as before). It reports the median wall and CPU seconds of each, and how many luma
samples of the first frame a whole-frame round trip through RGB moves.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import av
from _harness import VIDEO, add_recognizer_args, alternate, bank_from, median, ratio, recognizer_from, report
from av.video.reformatter import VideoReformatter


def round_trip_moves(path: Path) -> dict[str, float]:
    """Luma samples of the first frame that yuv420p -> RGB -> yuv420p (swscale) changes."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    rgb = VideoReformatter().reformat(frame, format="rgb24").to_ndarray()
    back = VideoReformatter().reformat(av.VideoFrame.from_ndarray(rgb, format="rgb24"), format="yuv420p").to_ndarray()
    diff = back[: frame.height].astype(int) - frame.to_ndarray()[: frame.height]
    return {
        "luma_moved": float((diff != 0).mean()),
        "luma_down_one": float((diff == -1).mean()),
        "luma_max_move": int(abs(diff).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--rounds", type=int, default=4)
    add_recognizer_args(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from annotate import analyse_video, render_video

    recognizer = recognizer_from(args)
    analysis = analyse_video(args.video, recognizer, bank_from(args, recognizer))
    nobody = dataclasses.replace(analysis, frames=())
    with tempfile.TemporaryDirectory() as tmp:

        def render(kind: str, mode: str):
            shown = analysis if kind == "rendered" else nobody
            out = Path(tmp) / f"{kind}-{mode}.mp4"
            return lambda: render_video(shown, out, overwrite=True, yuv=mode == "yuv")

        runs = {f"{kind}_{mode}": render(kind, mode) for mode in ("yuv", "rgb") for kind in ("transcode", "rendered")}
        cpu: dict[str, list[float]] = {}
        times = alternate(runs, args.rounds, cpu=cpu)
    result: dict[str, object] = {"video": str(args.video), "frames": len(analysis.frames), "rounds": args.rounds}
    for key in runs:
        result[f"{key}_s"] = median(times[key])
        result[f"{key}_cpu_s"] = median(cpu[key])
    for kind in ("transcode", "rendered"):
        result[f"{kind}_speedup"] = ratio(times, f"{kind}_rgb", f"{kind}_yuv")
    result.update(round_trip_moves(args.video))
    report(result, args.json, width=22)


if __name__ == "__main__":
    main()
