"""Area resampling from a summed-area table: every pyramid level and every candidate crop of
MTCNN is an exact "area" resize (``F.interpolate(mode="area")``), read from one integer table
per image with four lookups per output pixel, for all candidates at once."""

from __future__ import annotations

import torch

_BAND_BYTES = 3 * 2**20  # size of a band of rows when building a table on the CPU


def normalise(x: torch.Tensor) -> torch.Tensor:
    """MTCNN's input scaling of 0..255 pixel values to about [-1, 1]."""
    return (x - 127.5) * 0.0078125


def integral(images: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(B,H,W,3) uint8 -> (B,H+1,W+1,3) exact integer summed-area table, zero first row/column.

    out: a table of that shape and dtype, zero in its first row and column, to fill instead of
    allocating one. On the CPU the table is filled in bands of rows (about 3 MB) that stay in
    cache: each band is widened to the table's integer type first (torch's cumsum that casts
    uint8 as it goes is 5x slower than one over int32), summed along the row, then added down
    the rows, one vector add per row (faster than cumsum over that axis). Four 1080p frames:
    2.7-2.9 ms a frame against 9.4 ms for cumsum then the row adds, on the 2-core VM
    (benchmarks/README.md, session 9).
    """
    b, h, w, c = images.shape
    dtype = table_dtype(h, w)
    table = out if out is not None else torch.zeros((b, h + 1, w + 1, c), dtype=dtype, device=images.device)
    inner = table[:, 1:, 1:]
    if images.device.type != "cpu":
        torch.cumsum(images, 2, dtype=dtype, out=inner)
        inner.copy_(inner.cumsum(1))  # not in place: out= may not alias the input
        return table
    step = max(1, min(h, _BAND_BYTES // max(1, b * w * c * dtype.itemsize)))
    band = torch.empty((b, step, w, c), dtype=dtype)
    rows = table.unbind(1)
    for top in range(0, h, step):
        n = min(step, h - top)
        wide = band[:, :n]
        wide.copy_(images[:, top : top + n])
        torch.cumsum(wide, 2, out=inner[:, top : top + n])
        for y in range(max(top + 1, 2), top + n + 1):
            rows[y].add_(rows[y - 1])
    return table


def table_dtype(h: int, w: int) -> torch.dtype:
    """The smallest integer type that holds the sum of an (H,W) image's 0..255 values."""
    return torch.int32 if 255 * h * w < 2**31 else torch.int64


def _bins(lo: torch.Tensor, hi: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel ranges [start, end) of ``size`` output bins over [lo, hi), per row of (K,) bounds.

    start = lo + floor(i*L/size), end = lo + ceil((i+1)*L/size): the bins of adaptive average
    pooling, i.e. of ``F.interpolate(mode="area")``. Returns two (K,size) int64 tensors.
    """
    i = torch.arange(size, device=lo.device)
    length = (hi - lo)[:, None]
    start = lo[:, None] + torch.div(i * length, size, rounding_mode="floor")
    end = lo[:, None] + torch.div((i + 1) * length + size - 1, size, rounding_mode="floor")
    return start, end


def _box_sums(table: torch.Tensor, image_idx: torch.Tensor, rows: tuple, cols: tuple) -> torch.Tensor:
    """Mean pixel of every (row bin, col bin) cell -> (K,3,R,C) float32, from four table lookups.

    image_idx (K,); rows = (start, end) each (K,R); cols = (start, end) each (K,C).
    """
    _, hp, wp, _ = table.shape
    flat = table.reshape(-1, table.shape[-1])
    base = image_idx[:, None, None] * (hp * wp)
    (ys, ye), (xs, xe) = rows, cols

    def at(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # index_select: 3x faster than flat[index] on the CPU
        index = base + y[:, :, None] * wp + x[:, None, :]
        return flat.index_select(0, index.reshape(-1)).reshape(*index.shape, flat.shape[1])

    sums = at(ye, xe) - at(ys, xe) - at(ye, xs) + at(ys, xs)
    area = (ye - ys)[:, :, None] * (xe - xs)[:, None, :]
    return (sums.float() / area[..., None].float()).permute(0, 3, 1, 2)


def resize(table: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """Area-resize the whole images of a table to (B,3,out_h,out_w) float32."""
    b, hp, wp, _ = table.shape
    idx = torch.arange(b, device=table.device)
    zero = torch.zeros(b, dtype=torch.long, device=table.device)
    rows = _bins(zero, zero + hp - 1, out_hw[0])
    cols = _bins(zero, zero + wp - 1, out_hw[1])
    return _box_sums(table, idx, rows, cols)


def crops(
    table: torch.Tensor, boxes: torch.Tensor, image_idx: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Area-resample square crops of (K,4) boxes to (K,3,size,size), normalised.

    Boxes are truncated to integers and clipped to the image as facenet-pytorch's ``pad``.
    Returns crops and a (K,) mask of boxes with a non-empty crop.
    """
    _, hp, wp, _ = table.shape
    b = boxes.trunc().long()
    x0 = b[:, 0].clamp(min=1) - 1
    y0 = b[:, 1].clamp(min=1) - 1
    x1 = b[:, 2].clamp(max=wp - 1)
    y1 = b[:, 3].clamp(max=hp - 1)
    ok = (x1 > x0) & (y1 > y0)
    x1, y1 = torch.where(ok, x1, x0 + 1), torch.where(ok, y1, y0 + 1)
    return normalise(_box_sums(table, image_idx, _bins(y0, y1, size), _bins(x0, x1, size))), ok
