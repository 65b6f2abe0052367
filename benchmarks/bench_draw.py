"""Drawing faces on a 1080p frame: painting only the regions the faces touch against painting
the whole image, in one process, with the pixels compared.

    python benchmarks/bench_draw.py [VIDEO] [--repeat 200]

Takes the first frame of VIDEO (default ../shared/data/video/video.mp4), detects its faces on
the CPU, labels them alternately with a name and Unknown (with track numbers, as in a video)
with similarities, and times ``draw_faces(..., region=True)`` (the default) against
``region=False``, in --repeat rounds whose order alternates.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _harness import VIDEO, alternate, medians

from annotate.detection.detect import FaceDetector
from annotate.drawing.draw import draw_faces
from annotate.media.video import VideoReader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with VideoReader(args.video) as reader:
        image = next(iter(reader.frames())).image
    found = FaceDetector("cpu").detect(image)[0]
    n = len(found)
    faces = found.with_columns(
        labels=["Eileen Collins" if i % 2 else None for i in range(n)],  # None: "Unknown #<track>"
        similarities=np.linspace(0.2, 0.8, n),
        tracks=np.arange(1, n + 1),
    )
    runs = {"regions": True, "whole": False}
    outputs = {name: draw_faces(image, faces, region=region) for name, region in runs.items()}
    times = alternate(
        {name: (lambda region=region: draw_faces(image, faces, region=region)) for name, region in runs.items()},
        args.repeat,
    )
    med = {name: 1000 * seconds for name, seconds in medians(times).items()}
    print(f"{image.shape[1]}x{image.shape[0]}, {n} faces, median of {args.repeat}")
    print(f"regions {med['regions']:.2f} ms, whole image {med['whole']:.2f} ms: {med['whole'] / med['regions']:.2f}x")
    print("same pixels:", bool(np.array_equal(outputs["regions"], outputs["whole"])))


if __name__ == "__main__":
    main()
