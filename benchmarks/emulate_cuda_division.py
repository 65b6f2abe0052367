"""Why the GPU's boxes parted from the CPU's: CUDA's division by a Python float, emulated on the CPU.

    python benchmarks/emulate_cuda_division.py [VIDEO] [--step 2]

PyTorch on CUDA divides a tensor by a Python float by multiplying by the divisor's reciprocal,
rounded to float32 (its CPU kernel divides). P-Net's window corners, floor((2*cell + 12) /
scale), are often whole numbers at the first scale, and the multiply lands them just under, so
floor() loses a pixel and the cascade keeps other candidates. This script runs the CPU detector
on every STEP-th frame of VIDEO twice: as shipped (``detect.cell_boxes`` divides by a tensor
on the device, which is exact on both) and with CUDA's division (a detector made with
``FaceDetector(windows=cuda_style)``). It prints how
many faces moved. On an H100, before the fix, the GPU moved 21 of 274 faces of video.mp4
(step 2) by over 1 px, at most 4.044 px: the emulation gives exactly that.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from _harness import VIDEO

from annotate.detection.detect import FaceDetector
from annotate.media.video import VideoReader


def cuda_style(cell: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cell_boxes as CUDA computes ``(2*cell + k) / scale`` for a Python float ``scale``."""
    inverse = float(np.float32(1.0 / scale))
    return ((2 * cell + 1) * inverse).floor(), ((2 * cell + 12) * inverse).floor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--step", type=int, default=2)
    args = parser.parse_args()
    with VideoReader(args.video) as reader:
        frames = [frame.image for frame in reader.frames()][:: args.step]
    shipped = FaceDetector("cpu").detect(frames)
    emulated = FaceDetector("cpu", windows=cuda_style).detect(frames)
    moved, total, worst, recounted = 0, 0, 0.0, 0
    for a, b in zip(shipped, emulated):
        if len(a) != len(b) or len(b) == 0:
            recounted += len(a) != len(b)
            continue
        offsets = np.abs(a.boxes[:, None] - b.boxes[None]).max(-1).min(1)
        moved, total, worst = moved + int((offsets > 1).sum()), total + len(a), max(worst, float(offsets.max()))
    print(
        f"{len(frames)} frames: {moved} of {total} faces moved by over 1 px with CUDA's division, at most {worst:.3f} px; "
        f"{recounted} frames found another number of faces"
    )


if __name__ == "__main__":
    main()
