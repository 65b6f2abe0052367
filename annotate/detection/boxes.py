"""Box arithmetic of MTCNN's cascade: P-Net's windows, squaring and regression of candidates,
and the candidates about expected faces that stand in for P-Net between full passes."""

from __future__ import annotations

import torch

# Candidates about an expected face (``seeds``): shifts of the centre, in sides of the face's
# square, and sizes of the square. R-Net was trained to regress windows that overlap a face
# by 0.4 IoU or more; a shift of a fifth of a side keeps every face within that of a seed.
SHIFTS = (-0.4, -0.2, 0.0, 0.2, 0.4)
SIZES = (0.8, 1.0, 1.25)


def cell_boxes(cell: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """P-Net's (K,2) xy output cells at pyramid ``scale`` -> the (K,2) top-left and bottom-right
    corners of their 12-pixel windows in the image, floor((2*cell + 1 or 12) / scale).

    The division is by a tensor on the cell's device, in float32, exactly rounded, as the CPU
    divides by a Python float. On CUDA, dividing by a Python float multiplies by its reciprocal
    rounded to float32 instead, which puts quotients that should be whole numbers just under
    them: floor() lost a pixel on 281 of 2,000 cells at the first scale, and the cascade kept
    other candidates. That division, emulated on the CPU, reproduces the H100's boxes exactly
    (21 of 274 faces of the 1080p video moved by over 1 px, at most 4.04 px; see
    benchmarks/emulate_cuda_division.py)."""
    divisor = cell.new_full((), scale)  # a fill on the device: no host-to-device copy
    return ((2 * cell + 1) / divisor).floor(), ((2 * cell + 12) / divisor).floor()


def square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow (K,4) xyxy boxes to squares about their centres (MTCNN's ``rerec``)."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return torch.stack([x1, y1, x1 + side, y1 + side], dim=1)


def regress(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """Apply (K,4) box offsets, relative to (K,4) box sizes with +1 pixel widths (``bbreg``)."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return boxes + reg * torch.stack([w, h, w, h], dim=1)


def seeds(expected: torch.Tensor) -> torch.Tensor:
    """(T,4) xyxy boxes where faces are expected -> (T*S,4) square candidate windows about each:
    its square (``square``) shifted by ``SHIFTS`` sides across and down, at each of ``SIZES``."""
    base = square(expected)
    centre = (base[:, :2] + base[:, 2:]) / 2  # (T,2)
    side = base[:, 2] - base[:, 0]  # (T,)
    shifts = torch.tensor(SHIFTS, dtype=base.dtype, device=base.device)
    sizes = torch.tensor(SIZES, dtype=base.dtype, device=base.device)
    dy, dx, grow = torch.meshgrid(shifts, shifts, sizes, indexing="ij")  # (S1,S1,S2) each
    offset = torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=1)  # (S,2), in sides
    centres = centre[:, None, :] + offset[None] * side[:, None, None]  # (T,S,2)
    half = (side[:, None] * grow.reshape(1, -1) / 2)[..., None]  # (T,S,1)
    return torch.cat([centres - half, centres + half], dim=2).reshape(-1, 4)
