"""CPU/GPU timings of the foundation stages, each as a ratio against a reference run in this process.

- detect: our batched MTCNN against facenet-pytorch's MTCNN on the same 1280x720 frame.
- embed:  our torch w600k_mbf at batch 32 against onnxruntime running the same ONNX file.

facenet-pytorch cannot be installed next to our dependencies, so run this script from the
throwaway environment of tests/fixtures/reference/README.md, plus onnx and onnxruntime:

    /tmp/fnp-venv/bin/pip install onnx onnxruntime typer tqdm
    PYTHONPATH=.:tests/fixtures/reference/shim /tmp/fnp-venv/bin/python benchmarks/foundation.py

A reference that cannot be imported is reported as missing, and its ratio is left out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "data" / "video" / "video.mp4"


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def frame_1280x720() -> tuple[np.ndarray, str]:
    if VIDEO.exists():
        import av

        with av.open(str(VIDEO)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index == 50:
                    rgb = frame.to_ndarray(format="rgb24")
                    return np.asarray(Image.fromarray(rgb).resize((1280, 720), Image.BILINEAR)), "video.mp4 frame 50"
    portrait = Image.open(ROOT / "samples" / "astronaut.png").convert("RGB")
    canvas = Image.new("RGB", (1280, 720), (90, 90, 90))
    canvas.paste(portrait, (384, 104))
    return np.asarray(canvas), "astronaut on a 1280x720 canvas"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    from annotate.recognition.align import align_faces
    from annotate.detection.detect import FaceDetector
    from annotate.recognition.embed import Embedder

    result: dict[str, object] = {"device": args.device, "torch_threads": torch.get_num_threads()}
    image, what = frame_1280x720()
    result["detect_input"] = what
    ours = FaceDetector(args.device)
    result["detect_ms"] = median_ms(lambda: ours.detect(image), args.repeats)
    result["faces"] = len(ours.detect(image)[0])
    try:
        from facenet_pytorch import MTCNN

        ref = MTCNN(keep_all=True, min_face_size=50, device=args.device)
        result["facenet_detect_ms"] = median_ms(lambda: ref.detect(image, landmarks=True), args.repeats)
        result["detect_speedup_vs_facenet"] = result["facenet_detect_ms"] / result["detect_ms"]
    except ImportError as exc:
        result["facenet_detect_ms"] = f"missing: {exc}"

    embedder = Embedder("w600k_mbf", device=args.device)
    faces = ours.detect(image)[0].largest()
    crop = align_faces(image, [faces])
    batch = crop.repeat(32, 1, 1, 1)
    result["embed32_ms"] = median_ms(lambda: embedder.embed(batch), args.repeats)
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(str(embedder.weights.path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        x = ((batch.numpy() / 255.0 - 0.5) / 0.5).astype(np.float32)
        result["onnxruntime_embed32_ms"] = median_ms(lambda: session.run(None, {name: x}), args.repeats)
        result["embed_speedup_vs_onnxruntime"] = result["onnxruntime_embed32_ms"] / result["embed32_ms"]
    except ImportError as exc:
        result["onnxruntime_embed32_ms"] = f"missing: {exc}"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
