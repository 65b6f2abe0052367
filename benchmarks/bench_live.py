"""Live naming on this machine: latency, the share of frames analysed, and memory over a long
replay.

    python benchmarks/bench_live.py [VIDEO] [--sizes 720,1080] [--seconds 300] [--sample-fps 5] [--sources 1] [--device cpu]
        [--paths default,exact] [--rounds 1]

The source is VIDEO (default ``video.mp4``) replayed in a loop at camera pace by FFmpeg's
lavfi (``movie=VIDEO:loop=0,scale=-2:H,realtime``), read with ``--drop latest`` as a camera
is. The latency of a frame is from its arrival (decoded by the reader thread) to the moment
its faces are followed and its events made (``live.watch``'s ``on_frame``). Memory is the
process's resident set, sampled every 5 s: the first minute against the last. With
``--sources N`` the same replay is watched N times at once, through one set of models. With
``--paths default,exact`` each size is watched both ways (``LiveOptions(exact=...)``: on the
CPU the default leans on the tracks), alternating for ``--rounds`` rounds.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from _harness import VIDEO, add_recognizer_args, bank_from, recognizer_from, rss_mb

from annotate.live.source import SourceSpec
from annotate.live.watch import LiveOptions, watch


def run(args: argparse.Namespace, height: int, path: str, recognizer, bank) -> None:  # type: ignore[no-untyped-def]
    graph = f"movie={args.video}:loop=0,scale=-2:{height},realtime"
    specs = [SourceSpec(graph, "lavfi", latest=True, sample_fps=args.sample_fps) for _ in range(args.sources)]
    latencies: list[float] = []
    memory: list[tuple[float, float]] = []
    done = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not done.wait(5.0):
            memory.append((time.monotonic() - started, rss_mb()))

    threading.Thread(target=sample, daemon=True).start()
    results = watch(
        specs,
        recognizer,
        bank,
        LiveOptions(duration=args.seconds, exact=True if path == "exact" else None),
        on_frame=lambda k, frame, faces: latencies.append(time.monotonic() - frame.arrived),
    )
    done.set()
    received = sum(r.received for r in results)
    analysed = sum(r.analysed for r in results)
    wanted = args.sample_fps * args.seconds * len(specs) if args.sample_fps else received
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    first = [m for t, m in memory if t <= 60] or [float("nan")]
    last = [m for t, m in memory if t >= args.seconds - 60] or [float("nan")]
    print(
        f"| {height}p | {path} | {len(specs)} | {args.sample_fps or 'all'} | {args.seconds} | {received} | {analysed} | "
        f"{analysed / max(1, wanted):.3f} | {statistics.median(latencies):.3f} | {p95:.3f} | "
        f"{statistics.median(first):.0f} | {statistics.median(last):.0f} | {max(m for _, m in memory):.0f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=str(VIDEO))
    parser.add_argument("--sizes", default="720,1080", help="picture heights to replay at")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--sample-fps", type=float, default=5.0, help="0: every frame the models keep up with")
    parser.add_argument("--sources", type=int, default=1)
    parser.add_argument("--paths", default="default", help="default, exact, or both (comma-separated), in turn")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the paths, alternating")
    add_recognizer_args(parser)
    args = parser.parse_args()
    args.sample_fps = args.sample_fps or None
    recognizer = recognizer_from(args)
    bank = bank_from(args, recognizer)
    print(
        "| size | path | sources | sample fps | seconds | frames received | analysed | share of the frames wanted | "
        "median latency s | p95 latency s | MB first minute | MB last minute | MB peak |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    paths = args.paths.split(",")
    if not set(paths) <= {"default", "exact"}:
        parser.error(f"--paths: default and/or exact, got {args.paths}")
    for height in (int(h) for h in args.sizes.split(",")):
        for _ in range(max(1, args.rounds)):
            for path in paths:
                run(args, height, path, recognizer, bank)


if __name__ == "__main__":
    main()
