"""How fast could indexing be? The arithmetic the networks need, against this machine's matmul rate.

    python benchmarks/bench_floor.py [VIDEO] [--sample-fps 5] [--device cpu|cuda] [--bf16]

Indexing (`annotate video --no-render --sample-fps F`) must run P-Net over an image pyramid,
R-Net and O-Net over the candidates, and the embedder over every face of every analysed frame.
This script counts those multiply-adds on the video's analysed frames (forward hooks on every
convolution and linear layer), times the same networks on the same inputs, and measures, in
the same process, the rate of a large fp32 matrix multiply: about the most any fp32 network
can get from this machine. It prints:
  - GFLOP of the detector and the embedder for the whole video, and faces found;
  - the rate each reaches in the real pipeline (`Recognizer.describe`) and the matmul rate;
  - the fastest indexing those FLOPs allow at the matmul rate, as a multiple of real time,
    before any decoding, resampling or NMS;
  - with --bf16, the embedder on the analysed frames' faces in bfloat16 against fp32 (time and
    the lowest cosine similarity between the two embeddings of a face): the next step's price.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _harness import VIDEO, add_recognizer_args, recognizer_from

from annotate.runtime import timing


def matmul_gflops(device, size: int = 2048, repeats: int = 10) -> float:
    """fp32 GFLOP/s of (size x size) @ (size x size) on the device, best of ``repeats``."""
    import torch

    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def count_macs(nets: dict) -> tuple[dict[str, int], list]:
    """Install forward hooks that add each conv/linear layer's multiply-adds to a per-net count."""
    from torch import nn

    counts = dict.fromkeys(nets, 0)
    handles = []
    for name, net in nets.items():

        def hook(module, _inputs, output, name=name):
            if isinstance(module, nn.Conv2d):
                per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
                counts[name] += output.numel() * per_output
            elif isinstance(module, nn.Linear):
                counts[name] += output.numel() * module.in_features

        handles += [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return counts, handles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--sample-fps", type=float, default=5.0)
    add_recognizer_args(parser, bank=False)  # describe() names nobody: no bank
    parser.add_argument("--batch", type=int, default=None, help="frames per batch (default: as annotate video)")
    parser.add_argument("--bf16", action="store_true", help="also time the embedder in bfloat16")
    args = parser.parse_args()

    from annotate import VideoOptions
    from annotate.media.probe import probe
    from annotate.media.video import VideoReader
    from annotate.runtime.devices import using_threads

    info = probe(args.video)
    recognizer = recognizer_from(args)
    device = recognizer.detector.device
    batch = VideoOptions(batch=args.batch).batch_for(recognizer.config.device)
    with VideoReader(args.video, info) as reader:
        frames = [f.image for f in reader.frames(args.sample_fps)]
    batches = [frames[i : i + batch] for i in range(0, len(frames), batch)]
    recognizer.describe(batches[0])  # warm-up

    nets = {
        "detector": [recognizer.detector.pnet, recognizer.detector.rnet, recognizer.detector.onet],
        "embedder": [recognizer.embedder.net],
    }
    counts, handles = count_macs({f"{k}{i}": n for k, ns in nets.items() for i, n in enumerate(ns)})
    found = [recognizer.describe(b) for b in batches]  # per batch, per frame
    faces = sum(len(f) for per_frame in found for f in per_frame)
    for handle in handles:
        handle.remove()
    macs = {k: sum(v for name, v in counts.items() if name.startswith(k)) for k in nets}

    with timing.recording(device) as times:
        start = time.perf_counter()
        for b in batches:
            recognizer.describe(b)
        wall = time.perf_counter() - start
    seconds = times.seconds
    detector_s = sum(seconds.get(k, 0.0) for k in ("pnet", "rnet", "onet"))  # with crops; NMS, pyramid apart
    embed_s = seconds.get("embed", 0.0)
    with using_threads(recognizer.config.threads):  # the threads describe() ran on
        peak = matmul_gflops(device)
    gflop = {k: 2 * v / 1e9 for k, v in macs.items()}
    total = sum(gflop.values())
    duration = info.duration or len(frames) / args.sample_fps

    print(f"video                     {args.video} ({info.width}x{info.height}, {duration:.2f} s)")
    print(f"device                    {device}, batch {batch}, {recognizer.config.threads} CPU thread(s)")
    print(f"analysed frames           {len(frames)} at {args.sample_fps:g} fps; faces {faces}")
    print(
        f"detector                  {gflop['detector']:.1f} GFLOP, {detector_s:.3f} s in P/R/O-Net stages "
        f"({gflop['detector'] / max(detector_s, 1e-9):.1f} GFLOP/s)"
    )
    print(
        f"embedder                  {gflop['embedder']:.1f} GFLOP, {embed_s:.3f} s ({gflop['embedder'] / max(embed_s, 1e-9):.1f} GFLOP/s)"
    )
    print(f"describe() wall           {wall:.3f} s for the analysed frames (no decoding)")
    print(f"fp32 matmul rate          {peak:.1f} GFLOP/s (2048x2048, best of 10)")
    print(f"networks at matmul rate   {total / peak:.3f} s -> at most {duration / (total / peak):.2f}x real time")
    print(
        f"networks as measured      {detector_s + embed_s:.3f} s -> at most {duration / (detector_s + embed_s):.2f}x real time"
    )
    if args.bf16:
        with using_threads(recognizer.config.threads):
            fp32_s, bf16_s, cosine = time_bf16(recognizer, batches, found)
        print(
            f"embedder fp32 / bf16      {fp32_s:.3f} s / {bf16_s:.3f} s ({fp32_s / bf16_s:.2f}x); "
            f"lowest cosine bf16 vs fp32 {cosine:.5f}"
        )


def time_bf16(recognizer, batches: list, found: list) -> tuple[float, float, float]:
    """The embedder on every aligned face of the batches, batch by batch, in fp32 and in bfloat16
    (a copy of the network): best-of-3 seconds of each, and the lowest cosine between the two."""
    import copy

    import torch

    from annotate.recognition.align import align_faces

    # one input per pipeline batch, as Embedder.embed gets them; found: the faces describe() saw
    inputs = [
        ((align_faces(b, f, recognizer.detector.device) / 255.0 - 0.5) / 0.5).contiguous(
            memory_format=torch.channels_last
        )
        for b, f in zip(batches, found)
    ]
    fp32 = recognizer.embedder.net
    bf16 = copy.deepcopy(fp32).to(torch.bfloat16)

    def best(net, dtype):
        times = []
        with torch.inference_mode():
            for _ in range(3):
                start = time.perf_counter()
                out = torch.cat([net(x.to(dtype)).float() for x in inputs if len(x)])
                times.append(time.perf_counter() - start)
        return min(times), out

    fp32_s, a = best(fp32, torch.float32)
    bf16_s, b = best(bf16, torch.bfloat16)
    return fp32_s, bf16_s, float(torch.nn.functional.cosine_similarity(a, b).min())


if __name__ == "__main__":
    main()
