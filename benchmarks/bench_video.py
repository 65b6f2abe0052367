"""Video throughput against the floor no face pipeline can beat, measured in one run.

    python benchmarks/bench_video.py [VIDEO] [--frames N] [--device cpu|cuda] [--json]
        [--sample-fps 5] [--rss] [--repeat N] [--precision auto|fp32|bf16|fp16] [--gil-switch SECONDS]
        [--exact]

Runs on the same file, one after the other, in this process:
  1. decode only (PyAV to RGB arrays);
  2. a plain transcode: `annotate video`'s render pass with no faces to draw;
  3. `annotate video --no-render` (timeline only);
  4. `annotate video` fully rendered;
  5. with --sample-fps F: decode only, converting just the sampled frames, first decoding
     every picture and then leaving out those the sampler cannot pick and nothing references
     (the floor of indexing; the ratio of the two is the skipping's gain), then `annotate
     video --no-render --sample-fps F` (indexing), against real time.
It prints frames per second, the CPU cores each run kept busy (CPU seconds of this process
over wall seconds: 2.0 on a 2-core machine leaves no core idle), the ratios 3/1 and 4/2, a per-stage breakdown of runs 3-5 (with
CUDA-synchronised timers, in a separate run on CUDA so the synchronisation does not slow the
timed one), peak RSS and peak GPU memory. The models are loaded once, before the timed runs;
their load time is reported on its own. If the input has fewer than --frames frames it is
looped (packets copied, no re-encoding). With --repeat N, the runs go in N rounds, in the order above
and then reversed, and so on, and each run's median time is reported (the stage breakdown is
its last round's). With --rss, the rendered
run is repeated in a child process on the input and on a 10x longer loop of it, to compare
peak memory. --gil-switch sets the GIL switch interval that annotate's pipeline threads use
(``VideoOptions(switch_interval=...)``; 0.0002 by default), to compare it with Python's 0.005.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
from _harness import ROOT, VIDEO, add_recognizer_args, alternate, bank_from, median, recognizer_from, report

from annotate.runtime import threads, timing

STAGE_ORDER = (
    "decode",
    "colour",
    "upload",
    "pyramid",
    "pnet",
    "rnet",
    "onet",
    "nms",
    "download",
    "align",
    "embed",
    "track",
    "match",
    "draw",
    "encode",
)


def loop_video(src: Path, dst: Path, times: int) -> None:
    """Concatenate ``times`` copies of src's video and audio packets, shifting timestamps by
    each stream's duration, or by more where its packets reach further (an AAC encoder's
    priming and padding do): enough that the copies' DTS keep rising and their pictures and
    sounds do not overlap."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "+faststart"}) as out:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        outs = {s.index: out.add_stream_from_template(s) for s in streams}
        span = {s.index: s.duration or int((inp.duration / av.time_base) / s.time_base) for s in streams}
        dts: dict[int, list[int]] = {s.index: [] for s in streams}
        shown: dict[int, list[tuple[int, int]]] = {s.index: [] for s in streams}  # (pts, pts + duration)
        for packet in inp.demux(streams):
            if packet.dts is not None:
                dts[packet.stream.index].append(packet.dts)
                pts = packet.dts if packet.pts is None else packet.pts
                shown[packet.stream.index].append((pts, pts + (packet.duration or 0)))
        for i in span:
            if dts[i]:
                reach = max(end for _, end in shown[i]) - min(start for start, _ in shown[i])
                span[i] = max(span[i], max(dts[i]) - min(dts[i]) + 1, reach)
        for n in range(times):
            inp.seek(0)
            for packet in inp.demux(streams):
                if packet.dts is None:
                    continue
                shift = n * span[packet.stream.index]
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                packet.stream = outs[packet.stream.index]
                out.mux(packet)


def decode_only(path: Path, sample_fps: float | None = None, skip: bool = True) -> tuple[int, int]:
    """Every frame to upright RGB with the reader `annotate video` uses. With sample_fps, only
    the sampled frames are converted, as when indexing; skip=False also decodes the pictures
    the reader could leave out. Returns (frames counted, pictures left undecoded)."""
    from annotate.media.video import VideoReader

    with VideoReader(path, skip=skip) as reader:
        count = sum(1 for _ in reader.frames(sample_fps))
        return count, reader.skipped


def transcode(path: Path, out: Path, options) -> None:
    """`annotate video`'s own render pass (threaded decode | draw | encode, audio copied) with
    no faces to draw: the same decode, libx264 settings and pictures (yuv420p from the decoder
    passes through as it is, other formats go through RGB)."""
    from annotate import VideoAnalysis, render_video
    from annotate.media.probe import probe

    nobody = VideoAnalysis(path, probe(path), (), {}, (), 0, 0, None, options)
    render_video(nobody, out, overwrite=True)


def child_peak_rss_mb(path: Path, args: list[str]) -> float:
    """Peak resident memory of `annotate video` run alone in a child process, in MB.

    The child reports its own VmHWM at exit: the rusage of a forked child would start from
    this (large) process's peak, because Linux carries maxrss across fork and exec.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".status") as status:
        code = (
            f"import atexit, sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"atexit.register(lambda: open({status.name!r}, 'w').write(open('/proc/self/status').read())); "
            "from annotate.cli import run; "
            f"sys.argv = ['annotate', 'video', {str(path)!r}, *{args!r}, '--overwrite']; run()"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if done.returncode:
            raise RuntimeError(f"annotate video failed on {path}: {done.stderr.strip().splitlines()[-1:]}")
        line = next(x for x in open(status.name).read().splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=0, help="loop the input to at least this many frames")
    add_recognizer_args(parser)
    parser.add_argument(
        "--batch", type=int, default=None, help="frames per detector batch (default: as annotate video)"
    )
    parser.add_argument(
        "--sample-fps", type=float, default=None, help="also time indexing at this many frames per second"
    )
    parser.add_argument("--rss", action="store_true", help="also compare peak memory on a 10x longer input")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each N times, in alternating rounds; report the median"
    )
    parser.add_argument(
        "--gil-switch",
        type=float,
        default=None,
        help="GIL switch interval (s) while pipeline threads run (default: annotate's, 0.0002)",
    )
    parser.add_argument("--exact", action="store_true", default=None, help="embed every face (annotate video --exact)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from annotate import VideoOptions
    from annotate.media.probe import probe
    from annotate.video.analysis import no_progress
    from annotate.video.job import VideoJob, process_video

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        source = args.video
        info = probe(source)
        if args.frames and (info.frames or 0) < args.frames:
            source = tmp_dir / "looped.mp4"
            loop_video(args.video, source, -(-args.frames // max(info.frames or 1, 1)))
            info = probe(source)
        start = time.perf_counter()
        recognizer = recognizer_from(args)
        bank = bank_from(args, recognizer)
        startup = time.perf_counter() - start
        device = recognizer.detector.device
        options = VideoOptions(batch=args.batch, switch_interval=args.gil_switch)
        batch = options.batch_for(recognizer.config.device)

        def annotate(name: str, render: bool, sample_fps: float | None = None):
            job = VideoJob(source, tmp_dir / f"{name}.mp4" if render else None, tmp_dir / f"{name}.csv", None)
            run_options = VideoOptions(
                batch=args.batch, sample_fps=sample_fps, switch_interval=args.gil_switch, exact=args.exact
            )
            # the same outputs each round: replaced (a later round's refused before)
            return lambda: process_video(job, recognizer, bank, run_options, no_progress, overwrite=True)

        annotate("warm", False, 1.0)()  # first-call costs (allocator, thread pools) out of the timings
        runs = {
            "decode_only": lambda: decode_only(source),
            "transcode": lambda: transcode(source, tmp_dir / "plain.mp4", options),
            "annotate_no_render": annotate("no_render", False),
            "annotate_rendered": annotate("rendered", True),
        }
        if args.sample_fps:
            runs["decode_sampled_all"] = lambda: decode_only(source, args.sample_fps, skip=False)
            runs["decode_sampled"] = lambda: decode_only(source, args.sample_fps)
            runs["annotate_index"] = annotate("index", False, args.sample_fps)
        returned: dict[str, object] = {}
        recorded: dict[str, timing.StageTimes] = {}

        def recording(name: str):
            def run() -> None:
                with timing.recording(None) as times:  # no synchronisation in the timed run
                    returned[name] = runs[name]()
                recorded[name] = times

            return run

        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        cpu: dict[str, list[float]] = {}
        times = alternate({name: recording(name) for name in runs}, max(1, args.repeat), cpu=cpu)
        result: dict[str, object] = {
            "video": str(args.video),
            "frames": returned["decode_only"][0],
            "duration_s": info.duration,
            "size": f"{info.width}x{info.height}",
            "device": str(device),
            "precision": recognizer.config.precision,
            "batch": batch,
            "repeat": max(1, args.repeat),
            "threads": recognizer.config.threads,
            "model_load_s": startup,
            "gil_switch_s": args.gil_switch if args.gil_switch is not None else threads._SWITCH_INTERVAL,
        }
        n = result["frames"]
        stages: dict[str, dict[str, float]] = {}
        for name in runs:
            seconds = median(times[name])
            result[f"{name}_s"] = seconds
            result[f"{name}_fps"] = n / seconds
            result[f"{name}_cpu_cores"] = median(c / t for c, t in zip(cpu[name], times[name]))
            if name == "decode_sampled":
                result["decode_sampled_undecoded_pictures"] = returned[name][1]
            if name.startswith("annotate"):
                stage_times = recorded[name]
                if device.type == "cuda":  # a second, synchronised run for an honest GPU breakdown
                    with timing.recording(device) as stage_times:
                        runs[name]()
                stages[name] = {k: stage_times.seconds[k] for k in STAGE_ORDER if k in stage_times.seconds}
        result["no_render_over_decode"] = result["annotate_no_render_fps"] / result["decode_only_fps"]
        result["rendered_over_transcode"] = result["annotate_rendered_fps"] / result["transcode_fps"]
        if args.sample_fps and info.duration:
            result["skipping_speedup"] = result["decode_sampled_all_s"] / result["decode_sampled_s"]
            result["index_times_real_time"] = info.duration / result["annotate_index_s"]
            result["decode_sampled_times_real_time"] = info.duration / result["decode_sampled_s"]
        result["stages_s"] = stages
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if device.type == "cuda":
            result["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        if args.rss:
            longer = tmp_dir / "x10.mp4"
            loop_video(source, longer, 10)
            render_args = [
                "--out",
                str(tmp_dir / "r.mp4"),
                "--bank",
                str(args.bank),
                "--device",
                args.device,
                "--model",
                args.model,
                "--precision",
                args.precision,
                "--min-face",
                str(args.min_face),
            ]
            render_args += ["--threads", str(args.threads)] if args.threads else []
            result["child_peak_rss_mb"] = child_peak_rss_mb(source, render_args)
            result["child_peak_rss_mb_10x"] = child_peak_rss_mb(longer, render_args)
    if args.json:
        report(result, as_json=True)
        return
    report({k: v for k, v in result.items() if k != "stages_s"}, width=32)
    print("per-stage seconds (exclusive; decode and encode run in their own threads, so they overlap the rest):")
    names = list(stages)
    print(f"{'stage':10s}" + "".join(f"{n.removeprefix('annotate_'):>12s}" for n in names))
    for key in STAGE_ORDER:
        if any(key in stages[n] for n in names):
            print(f"{key:10s}" + "".join(f"{stages[n].get(key, 0.0):12.3f}" for n in names))


if __name__ == "__main__":
    main()
