"""Video throughput against the floor no face pipeline can beat, measured in one run.

    python benchmarks/bench_video.py ../shared/data/video/video.mp4 [--frames N] [--device cpu|cuda] [--json]

Runs on the same file, one after the other:
  1. decode only (PyAV to RGB arrays);
  2. a plain transcode (decode, then libx264 with the settings `annotate video` uses);
  3. `annotate video --no-render` (timeline only);
  4. `annotate video` fully rendered.
and prints frames per second and the ratios 3/1 and 4/2. If the input has fewer than --frames
frames it is looped (packets copied, no re-encoding). With --rss, each `annotate video` run
is also repeated in a child process on the input and on a 10x longer loop of it, to compare
peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]


def loop_video(src: Path, dst: Path, times: int) -> None:
    """Concatenate ``times`` copies of src's video and audio packets, shifting timestamps."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "+faststart"}) as out:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        outs = {s.index: out.add_stream_from_template(s) for s in streams}
        span = {s.index: 0 for s in streams}
        for s in streams:
            length = s.duration or int((inp.duration / av.time_base) / s.time_base)
            span[s.index] = length
        for n in range(times):
            inp.seek(0)
            for packet in inp.demux(streams):
                if packet.dts is None:
                    continue
                shift = n * span[packet.stream.index]
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                packet.stream = outs[packet.stream.index]
                out.mux(packet)


def decode_only(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None)


def transcode(path: Path, out: Path) -> int:
    """Decode to RGB and encode again exactly as `annotate video` does, without any face work."""
    from annotate.media.video import Frame, VideoReader, VideoWriter

    with VideoReader(path) as reader:
        writer = VideoWriter(out, reader.info, reader.side_streams(), "mp4")
        for item in reader.packets(writer.sources):
            if isinstance(item, Frame):
                writer.write(item.image, item.pts)
            else:
                writer.mux(item)
        writer.close()
        return reader.decoded


def annotate_video(path: Path, args: list[str], device: str) -> None:
    from annotate.cli import app

    try:
        app(["video", str(path), *args, "--device", device, "--overwrite"], standalone_mode=False)
    except SystemExit as exit_:
        if exit_.code:
            raise


def child_peak_rss_mb(path: Path, args: list[str], device: str) -> float:
    """Peak resident memory of `annotate video` run alone in a child process, in MB."""
    code = (
        "import sys; from annotate.cli import run; "
        f"sys.argv = ['annotate', 'video', {str(path)!r}, *{args!r}, '--device', {device!r}, '--overwrite']; run()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise RuntimeError(f"annotate video failed on {path}")
    return usage.ru_maxrss / 1024


def timed(fn, frames: int | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn()
    seconds = time.perf_counter() - start
    return seconds, count if count is not None else frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--frames", type=int, default=0, help="loop the input to at least this many frames")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bank", type=Path, default=ROOT / "facebank")
    parser.add_argument("--rss", action="store_true", help="also compare peak memory on a 10x longer input")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from annotate.media.video import probe

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        source = args.video
        frames = probe(source).frames or 0
        if args.frames and frames < args.frames:
            source = tmp_dir / "looped.mp4"
            loop_video(args.video, source, -(-args.frames // max(frames, 1)))
        bank = ["--bank", str(args.bank)]
        annotate_video(source, ["--no-render", "--csv", str(tmp_dir / "warm.csv"), "--sample-fps", "1", *bank], args.device)
        runs = {
            "decode_only": lambda: decode_only(source),
            "transcode": lambda: transcode(source, tmp_dir / "plain.mp4"),
            "annotate_no_render": lambda: annotate_video(source, ["--no-render", "--csv", str(tmp_dir / "a.csv"), *bank], args.device),
            "annotate_rendered": lambda: annotate_video(source, ["--out", str(tmp_dir / "a.mp4"), *bank], args.device),
        }
        n = decode_only(source)
        result: dict[str, object] = {"video": str(args.video), "frames": n, "device": args.device}
        for name, fn in runs.items():
            seconds, _ = timed(fn, n)
            result[f"{name}_fps"] = n / seconds
        result["no_render_over_decode"] = result["annotate_no_render_fps"] / result["decode_only_fps"]
        result["rendered_over_transcode"] = result["annotate_rendered_fps"] / result["transcode_fps"]
        if args.rss:
            longer = tmp_dir / "x10.mp4"
            loop_video(source, longer, 10)
            render_args = ["--out", str(tmp_dir / "r.mp4"), *bank]
            result["peak_rss_mb"] = child_peak_rss_mb(source, render_args, args.device)
            result["peak_rss_mb_10x"] = child_peak_rss_mb(longer, render_args, args.device)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")


if __name__ == "__main__":
    main()
