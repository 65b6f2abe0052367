"""CPU/GPU timings of the foundation stages, each as a ratio against a reference run in this process.

- detect: our batched MTCNN against facenet-pytorch's MTCNN on the same 1280x720 frame.
- embed:  our torch w600k_mbf at batch 32 against onnxruntime running the same ONNX file.

facenet-pytorch cannot be installed next to our dependencies, so run this script from the
throwaway environment of tests/fixtures/reference/README.md, plus onnx and onnxruntime:

    /tmp/fnp-venv/bin/pip install onnx onnxruntime typer tqdm
    PYTHONPATH=.:tests/fixtures/reference/shim /tmp/fnp-venv/bin/python benchmarks/foundation.py

A reference that cannot be imported is reported as missing, and its ratio is left out. Each
pair is timed in --repeats rounds whose order alternates, after two warm-up calls of each.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from _harness import ROOT, VIDEO, alternate, medians
from PIL import Image


def median_ms(runs: dict, repeats: int, device: str, warmup: int = 2) -> dict[str, float]:
    """name -> median milliseconds of each of ``runs``, after ``warmup`` calls of each."""
    for fn in runs.values():
        for _ in range(warmup):
            fn()
    return {name: 1000 * seconds for name, seconds in medians(alternate(runs, repeats, device)).items()}


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

    from annotate.detection.detect import FaceDetector
    from annotate.recognition.align import align_faces
    from annotate.recognition.embed import Embedder

    result: dict[str, object] = {"device": args.device, "torch_threads": torch.get_num_threads()}
    image, what = frame_1280x720()
    result["detect_input"] = what
    ours = FaceDetector(args.device)
    detect = {"ours": lambda: ours.detect(image)}
    try:
        from facenet_pytorch import MTCNN

        ref = MTCNN(keep_all=True, min_face_size=50, device=args.device)
        detect["facenet"] = lambda: ref.detect(image, landmarks=True)
    except ImportError as exc:
        result["facenet_detect_ms"] = f"missing: {exc}"
    ms = median_ms(detect, args.repeats, args.device)
    result["detect_ms"] = ms["ours"]
    result["faces"] = len(ours.detect(image)[0])
    if "facenet" in ms:
        result["facenet_detect_ms"] = ms["facenet"]
        result["detect_speedup_vs_facenet"] = ms["facenet"] / ms["ours"]

    embedder = Embedder("w600k_mbf", device=args.device)
    faces = ours.detect(image)[0].largest()
    crop = align_faces(image, [faces])
    batch = crop.repeat(32, 1, 1, 1)
    embed = {"ours": lambda: embedder.embed(batch)}
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(str(embedder.weights.path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        x = ((batch.cpu().numpy() / 255.0 - 0.5) / 0.5).astype(np.float32)
        embed["onnxruntime"] = lambda: session.run(None, {name: x})
    except ImportError as exc:
        result["onnxruntime_embed32_ms"] = f"missing: {exc}"
    ms = median_ms(embed, args.repeats, args.device)
    result["embed32_ms"] = ms["ours"]
    if "onnxruntime" in ms:
        result["onnxruntime_embed32_ms"] = ms["onnxruntime"]
        result["embed_speedup_vs_onnxruntime"] = ms["onnxruntime"] / ms["ours"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
