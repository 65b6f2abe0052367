"""Face alignment: a 5-point similarity transform to the ArcFace 112x112 template, then a warp.

Pixel convention: integer coordinates are pixel centres (as cv2.warpAffine and MTCNN use),
so the pixel (u, v) of the crop shows the source point M^-1 (u, v). ``warp`` translates this
into grid_sample's normalised coordinates (align_corners=False), which removes the
half-pixel shift a naive conversion would add.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.nn import functional as F

from ..faces import Faces

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
CROP_SIZE = 112


def estimate_similarity(src: np.ndarray, dst: np.ndarray = ARCFACE_TEMPLATE) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping src points onto dst.

    src: (N,P,2) or (P,2) points; dst: (P,2). Returns (N,2,3) or (2,3) float64 matrices M
    with dst ~ M @ [x, y, 1].
    """
    src = np.asarray(src, dtype=np.float64)
    single = src.ndim == 2
    src = src[None] if single else src
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 3 or src.shape[1:] != dst.shape or dst.shape[1] != 2:
        raise ValueError(f"src must be (N,{len(dst)},2) to match dst {dst.shape}, got {src.shape}")
    src_mean, dst_mean = src.mean(axis=1, keepdims=True), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = np.einsum("pi,npj->nij", dst_c, src_c) / dst.shape[0]
    u, s, vt = np.linalg.svd(cov)
    d = np.ones((len(src), 2))
    d[:, 1] = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    d[d == 0] = 1.0
    rot = u @ (d[:, :, None] * vt)
    var = (src_c**2).sum(axis=(1, 2)) / dst.shape[0]
    scale = np.where(var > 0, (s * d).sum(axis=1) / np.maximum(var, 1e-12), 0.0)
    lin = scale[:, None, None] * rot
    shift = dst_mean - np.einsum("nij,nj->ni", lin, src_mean[:, 0])
    matrices = np.concatenate([lin, shift[:, :, None]], axis=2)
    return matrices[0] if single else matrices


def _grid_theta(matrices: torch.Tensor, src_hw: tuple[int, int], size: int) -> torch.Tensor:
    """Turn (N,2,3) pixel matrices (src -> crop) into grid_sample thetas (crop -> src), normalised."""
    h, w = src_hw
    ones = torch.tensor([0.0, 0.0, 1.0], dtype=matrices.dtype, device=matrices.device).expand(len(matrices), 1, 3)
    inverse = torch.linalg.inv(torch.cat([matrices, ones], dim=1))  # crop pixel -> src pixel
    # normalised crop -> crop pixel: u = ((x + 1) * size - 1) / 2
    to_pixel = torch.tensor([[size / 2, 0, (size - 1) / 2], [0, size / 2, (size - 1) / 2], [0, 0, 1]])
    # src pixel -> normalised src: x_n = (2 x + 1) / w - 1
    to_norm = torch.tensor([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1], [0, 0, 1]])
    theta = to_norm.to(matrices) @ inverse @ to_pixel.to(matrices)
    return theta[:, :2]


def warp(
    images: torch.Tensor, image_idx: torch.Tensor, matrices: np.ndarray | torch.Tensor, size: int = CROP_SIZE
) -> torch.Tensor:
    """Warp faces out of a batch of same-size images, all at once, bilinear, zeros outside.

    images: (B,H,W,C) any numeric dtype, on the device. image_idx: (N,) which image each face
    is in. matrices: (N,2,3) src pixel -> crop pixel. Returns (N,C,size,size) float32.
    """
    b, h, w, c = images.shape
    n = len(image_idx)
    if n == 0:
        return images.new_zeros((0, c, size, size), dtype=torch.float32)
    matrices = torch.as_tensor(np.asarray(matrices), dtype=torch.float64, device=images.device)
    theta = _grid_theta(matrices, (h, w), size).float()
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)  # (N,S,S,2) in src units
    # Stack the images vertically, each with a zero row above and below, and sample all faces
    # from that one tall image: out-of-image samples blend with zeros, as cv2's constant border.
    stack = F.pad(images.permute(0, 3, 1, 2).float(), (0, 0, 1, 1))  # (B,C,H+2,W)
    tall = stack.permute(1, 0, 2, 3).reshape(1, c, b * (h + 2), w)
    y_pix = (grid[..., 1] + 1) * h / 2 - 0.5  # src row, pixel centres at integers
    inside = (y_pix > -1) & (y_pix < h)
    rows = b * (h + 2)
    y_tall = y_pix + 1 + image_idx.to(grid)[:, None, None] * (h + 2)
    grid = torch.stack([grid[..., 0], (2 * y_tall + 1) / rows - 1], dim=-1)
    out = F.grid_sample(tall, grid.reshape(1, n * size, size, 2), mode="bilinear", align_corners=False)
    out = out.reshape(c, n, size, size).permute(1, 0, 2, 3)
    return out * inside[:, None].to(out)


def _patches(
    images: Sequence[np.ndarray], image_of: np.ndarray, matrices: np.ndarray, size: int = CROP_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Cut out the part of its image that each face's crop samples, so only that is warped.

    image_of: (N,) image index of each face; matrices: (N,2,3) src pixel -> crop pixel.
    Returns (N,Hp,Wp,3) uint8 patches, zero-padded to one size, and the (N,2,3) matrices
    from patch pixels. The patch covers every pixel bilinear sampling can touch (one pixel
    of margin), clipped to the image, so the warp gives what warping the whole image gives.
    """
    full = np.concatenate([matrices, np.broadcast_to([[[0.0, 0.0, 1.0]]], (len(matrices), 1, 3))], axis=1)
    inverse = np.linalg.inv(full)  # crop pixel -> src pixel
    corners = np.array([[-0.5, -0.5, 1], [size - 0.5, -0.5, 1], [-0.5, size - 0.5, 1], [size - 0.5, size - 0.5, 1]])
    src = np.einsum("nij,kj->nki", inverse[:, :2], corners)  # (N,4,2)
    lo = np.floor(src.min(axis=1)).astype(np.int64) - 1
    hi = np.ceil(src.max(axis=1)).astype(np.int64) + 2
    boxes = []
    for n, i in enumerate(image_of):
        h, w = images[i].shape[:2]
        x0, y0 = np.clip(lo[n], 0, [w, h])
        x1, y1 = np.clip(hi[n], [x0, y0], [w, h])
        boxes.append((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))
    ph = max(b[3] - b[1] for b in boxes)
    pw = max(b[2] - b[0] for b in boxes)
    patches = np.zeros((len(boxes), ph, pw, 3), np.uint8)
    shifted = np.array(matrices, dtype=np.float64, copy=True)
    for n, (i, (x0, y0, x1, y1)) in enumerate(zip(image_of, boxes)):
        cut = images[i][y0:y1, x0:x1]
        patches[n, : cut.shape[0], : cut.shape[1]] = cut
        shifted[n, :, 2] += shifted[n, :, :2] @ np.array([x0, y0], np.float64)
    # pixels of the zero padding that lie inside the image never get sampled (margin above)
    return patches, shifted


def align_faces(
    images: np.ndarray | Sequence[np.ndarray], faces: Sequence[Faces], device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Aligned (N,3,112,112) float32 RGB crops in [0,255] of every face, in image then face order.

    images: B uint8 (H,W,3) RGB arrays (sizes may differ); faces: B Faces, one per image.
    Only the region around each face is copied to the device and warped.
    """
    images = [images] if isinstance(images, np.ndarray) and images.ndim == 3 else list(images)
    if len(images) != len(faces):
        raise ValueError(f"got {len(images)} images but {len(faces)} Faces")
    counts = [len(f) for f in faces]
    if sum(counts) == 0:
        return torch.zeros((0, 3, CROP_SIZE, CROP_SIZE), device=device)
    image_of = np.repeat(np.arange(len(images)), counts)
    marks = np.concatenate([f.landmarks for f in faces if len(f)])
    patches, matrices = _patches(images, image_of, estimate_similarity(marks))
    stacked = torch.from_numpy(patches).to(device)
    return warp(stacked, torch.arange(len(patches), device=device), matrices)
