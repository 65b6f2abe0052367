"""Our batched MTCNN against facenet-pytorch's MTCNN on the same video frames, in one process.

Anchor: facenet-pytorch's README reports 12.97 fps for its batched MTCNN detection at 1080p on a
P100. CPU target: our detector at least 2x facenet-pytorch's on a 1280x720 frame (--size 720p).

Both run with min face 50 and default thresholds: facenet as MTCNN(keep_all=True, min_face_size=50)
.detect(batch, landmarks=False) on a (B,H,W,3) uint8 array, ours as FaceDetector(device, min_face=50)
.detect(list of B uint8 RGB arrays). One warm-up pass, then --repeats rounds of a pass over all frames
by each detector, the order alternating from round to round; medians are reported, plus a batch-1
timing on the first frame, taken the same way. Same-faces check:
per frame, boxes are paired greedily by IoU; every face of either detector needs a partner with box
IoU >= 0.9, else it counts as unmatched.

facenet-pytorch is benchmark-only. On a CPU-only torch run it from the throwaway venv of
tests/fixtures/reference/README.md, with the torchvision shim:

    PYTHONPATH=.:tests/fixtures/reference/shim /tmp/fnp-venv/bin/python benchmarks/bench_reference.py --size 720p
    PYTHONPATH=.:tests/fixtures/reference/shim /tmp/fnp-venv/bin/python benchmarks/bench_reference.py --size 1080p

Where torchvision works (GPU machine): pip install facenet-pytorch==2.5.3 --no-deps, then

    python benchmarks/bench_reference.py --device cuda --size 1080p

On CUDA both detectors run with cuDNN's TF32 turned off (ours turns it off for its own calls;
this script turns it off for facenet-pytorch too), so both compute in true fp32.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from _harness import VIDEO, alternate, medians
from PIL import Image

SIZES = {"1080p": (1920, 1080), "720p": (1280, 720)}
MIN_IOU = 0.9


def load_facenet_mtcnn() -> type:
    """Import facenet_pytorch.MTCNN, or explain how to get it and exit 2."""
    try:
        from facenet_pytorch import MTCNN
    except Exception as exc:  # ImportError, or a torchvision that does not load with this torch
        print(
            f"facenet-pytorch cannot be imported ({type(exc).__name__}: {exc}); it is benchmark-only: "
            "see tests/fixtures/reference/README.md (venv /tmp/fnp-venv, and on CPU-only torch "
            "PYTHONPATH=.:tests/fixtures/reference/shim), or pip install facenet-pytorch==2.5.3 --no-deps "
            "where torchvision works",
            file=sys.stderr,
        )
        sys.exit(2)
    return MTCNN


def read_frames(path: Path, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """First ``count`` frames as (H,W,3) uint8 RGB at ``size`` (w, h), looping a short video."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            if (rgb.shape[1], rgb.shape[0]) != size:
                rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
            frames.append(np.ascontiguousarray(rgb))
            if len(frames) == count:
                break
    if not frames:
        raise SystemExit(f"no frames decoded from {path}")
    return [frames[i % len(frames)] for i in range(count)]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,4) x (M,4) xyxy boxes -> (N,M) IoU."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def match(ours: np.ndarray, ref: np.ndarray) -> tuple[int, list[float]]:
    """Greedy IoU pairing of one frame's boxes -> (faces without a partner at IoU >= 0.9, pair IoUs)."""
    iou = iou_matrix(ours, ref) if len(ours) and len(ref) else np.zeros((len(ours), len(ref)))
    pairs: list[float] = []
    while iou.size and iou.max() > 0:
        i, j = np.unravel_index(iou.argmax(), iou.shape)
        pairs.append(float(iou[i, j]))
        iou[i, :], iou[:, j] = -1, -1
    good = sum(p >= MIN_IOU for p in pairs)
    return len(ours) + len(ref) - 2 * good, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch", type=int, default=None, help="default 8 on cpu, 32 on cuda")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--size", choices=sorted(SIZES), default="1080p")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:  # both in true fp32: our detector turns cuDNN's TF32 off for itself; facenet too, here
        torch.backends.cudnn.allow_tf32 = False
    batch = args.batch or (32 if cuda else 8)

    MTCNN = load_facenet_mtcnn()
    from annotate.detection.detect import FaceDetector

    frames = read_frames(args.video, args.frames, SIZES[args.size])
    ours_batches = [frames[i : i + batch] for i in range(0, len(frames), batch)]
    ref_batches = [np.stack(b) for b in ours_batches]
    ours = FaceDetector(device, min_face=50)
    ref = MTCNN(keep_all=True, min_face_size=50, device=device)

    def ours_pass() -> list[np.ndarray]:
        return [faces.boxes for b in ours_batches for faces in ours.detect(b)]

    def ref_pass() -> list[np.ndarray]:
        out = [ref.detect(b, landmarks=False)[0] for b in ref_batches]
        return [np.zeros((0, 4)) if boxes is None else np.asarray(boxes, np.float32) for o in out for boxes in o]

    ours_boxes, ref_boxes = ours_pass(), ref_pass()  # warm-up, and the results compared
    peak: dict[str, int] = {"ours": 0, "facenet": 0}

    def measured(name: str, fn):
        """fn, with the peak GPU memory of each call kept in ``peak``."""

        def run() -> None:
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            fn()
            if cuda:
                peak[name] = max(peak[name], torch.cuda.max_memory_allocated(device))

        return run

    times = alternate(
        {"ours": measured("ours", ours_pass), "facenet": measured("facenet", ref_pass)}, args.repeats, device
    )
    one = {"ours": lambda: ours.detect(frames[0]), "facenet": lambda: ref.detect(frames[0], landmarks=False)}
    for fn in one.values():
        fn()
    single = alternate(one, args.repeats, device)

    unmatched, ious = 0, []
    for a, b in zip(ours_boxes, ref_boxes):
        n, pairs = match(a, b)
        unmatched += n
        ious += pairs
    med, med1 = medians(times), medians(single)
    result: dict[str, object] = {
        "video": str(args.video), "frames": len(frames), "size": "x".join(map(str, frames[0].shape[1::-1])),
        "batch": batch, "repeats": args.repeats, "device": args.device,
        "device_name": torch.cuda.get_device_name(device) if cuda else cpu_name(),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "ours_s": med["ours"], "facenet_s": med["facenet"],
        "ours_fps": len(frames) / med["ours"], "facenet_fps": len(frames) / med["facenet"],
        "speedup": med["facenet"] / med["ours"],
        "single_ours_ms": 1000 * med1["ours"], "single_facenet_ms": 1000 * med1["facenet"],
        "single_speedup": med1["facenet"] / med1["ours"],
        "faces_ours": sum(map(len, ours_boxes)), "faces_facenet": sum(map(len, ref_boxes)),
        "unmatched": unmatched, "min_iou": min(ious) if ious else None,
    }  # fmt: skip
    if cuda:
        result["ours_max_mem_mb"] = peak["ours"] / 2**20
        result["facenet_max_mem_mb"] = peak["facenet"] / 2**20
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"torch {result['torch']} on {result['device_name']} ({args.device}), {result['torch_threads']} threads")
    print(f"{len(frames)} frames {result['size']} from {args.video.name}, batch {batch}, median of {args.repeats}")
    print(f"{'':10}{'seconds':>10}{'fps':>10}{'1 frame ms':>12}" + ("{:>12}".format("max MiB") if cuda else ""))
    for name in ("ours", "facenet"):
        mem = f"{peak[name] / 2**20:12.1f}" if cuda else ""
        print(f"{name:10}{med[name]:10.3f}{len(frames) / med[name]:10.2f}{1000 * med1[name]:12.1f}{mem}")
    print(f"speed-up ours vs facenet: {result['speedup']:.2f}x batched, {result['single_speedup']:.2f}x single frame")
    min_iou = f"{result['min_iou']:.4f}" if ious else "n/a"
    print(
        f"faces: ours {result['faces_ours']}, facenet {result['faces_facenet']}; "
        f"unmatched (IoU < {MIN_IOU}) {unmatched}; min IoU {min_iou}"
    )


def cpu_name() -> str:
    """CPU model from /proc/cpuinfo, else "cpu"."""
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    return next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), "cpu")  # noqa: E741


if __name__ == "__main__":
    main()
