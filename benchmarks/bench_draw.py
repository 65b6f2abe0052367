"""Drawing faces on a 1080p frame: painting only the regions the faces touch against painting
the whole image, in one process, with the pixels compared.

    python benchmarks/bench_draw.py [VIDEO] [--repeat 200]

Takes the first frame of VIDEO (default ../shared/data/video/video.mp4), detects its faces on
the CPU, labels them alternately with a name and Unknown with similarities, and times
``draw_faces(..., region=True)`` (the default) against ``region=False``, alternating.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_reference import VIDEO  # noqa: E402  (../shared/data/video/video.mp4)

from annotate.detection.detect import FaceDetector  # noqa: E402
from annotate.drawing.draw import draw_faces  # noqa: E402
from annotate.media.video import VideoReader  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with VideoReader(args.video) as reader:
        image = next(iter(reader.frames())).image
    faces = FaceDetector("cpu").detect(image)[0]
    labels = ["Eileen Collins" if i % 2 else "Unknown #3" for i in range(len(faces))]
    sims = np.linspace(0.2, 0.8, len(faces))
    runs = {"regions": True, "whole": False}
    outputs = {name: draw_faces(image, faces, labels, sims, region=region) for name, region in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, region in runs.items():
            start = time.perf_counter()
            draw_faces(image, faces, labels, sims, region=region)
            times[name].append(time.perf_counter() - start)
    med = {name: 1000 * statistics.median(t) for name, t in times.items()}
    print(f"{image.shape[1]}x{image.shape[0]}, {len(faces)} faces, median of {args.repeat}")
    print(f"regions {med['regions']:.2f} ms, whole image {med['whole']:.2f} ms: {med['whole'] / med['regions']:.2f}x")
    print("same pixels:", bool(np.array_equal(outputs["regions"], outputs["whole"])))


if __name__ == "__main__":
    main()
