"""Draw faces on a yuv420p picture straight from the decoder, changing only the pixels painted.

Converting a whole frame to RGB and back is not lossless: on the 1080p test video it moved 92%
of the luma values (82% down by one level, and super-whites clipped by up to 16). So the render
pass draws on the decoder's planes: only the regions that the labels and marks touch go to RGB
(the same swscale conversion as a whole frame, which is exact per pixel in that direction),
are painted as ``draw.draw_faces`` paints them, and come back. A luma sample changes only where
the painting changed its pixel, a chroma sample only where it changed one of its 2x2 pixels.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageDraw

from ..faces import Faces
from .draw import plan_patches
from .options import DrawOptions
from .patch import Patch, crop_box


def draw_faces_yuv(
    planes: np.ndarray,
    faces: Faces,
    matrix: int | None = None,
    similarity: bool = True,
    options: DrawOptions | None = None,
) -> np.ndarray:
    """A copy of (H*3/2,W) uint8 yuv420p planes (H and W even) with each face drawn as
    ``draw.draw_faces`` draws it. matrix: the planes' YUV matrix (FFmpeg's AVColorSpace, e.g. 1
    for BT.709; None: swscale's default, BT.601)."""
    if planes.dtype != np.uint8 or planes.ndim != 2 or planes.shape[0] % 3 or planes.shape[1] % 2:
        raise ValueError(
            f"planes must be (H*3/2, W) uint8 yuv420p with H and W even, got {planes.dtype} {planes.shape}"
        )
    out = planes.copy()
    height, width = planes.shape[0] * 2 // 3, planes.shape[1]
    y, u, v = _split(out, height, width)
    for (left, top, right, bottom), patches in _regions(
        plan_patches(faces, width, height, similarity, options), width, height
    ):
        luma, blue, red = (
            y[top:bottom, left:right],
            u[top // 2 : bottom // 2, left // 2 : right // 2],
            v[top // 2 : bottom // 2, left // 2 : right // 2],
        )
        before = _to_rgb(luma, blue, red, matrix)
        canvas = Image.fromarray(before, "RGB")
        draw = ImageDraw.Draw(canvas)
        for patch in patches:
            patch.paint(draw, -left, -top)
        after = np.asarray(canvas)
        differs = after != before  # (h,w,3); numpy's any() over a last axis of 3 is slow
        changed = differs[..., 0] | differs[..., 1] | differs[..., 2]
        if not changed.any():
            continue
        new_y, new_u, new_v = _to_yuv(after, matrix)
        block = changed[0::2, 0::2] | changed[0::2, 1::2] | changed[1::2, 0::2] | changed[1::2, 1::2]
        luma[changed] = new_y[changed]
        blue[block] = new_u[block]
        red[block] = new_v[block]
    return out


def _split(planes: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y (H,W), U and V (H/2,W/2) planes of (H*3/2,W) yuv420p."""
    quarter = (height // 2) * (width // 2)
    chroma = planes[height:].reshape(-1)
    return (
        planes[:height],
        chroma[:quarter].reshape(height // 2, width // 2),
        chroma[quarter:].reshape(height // 2, width // 2),
    )


def _regions(patches: list[Patch], width: int, height: int) -> list[tuple[tuple[int, int, int, int], list[Patch]]]:
    """Disjoint (left, top, right, bottom) boxes, even-aligned (so each holds whole chroma
    samples) and of rounded sizes (``_rounded``), that hold the patches' crops; each with its
    patches in paint order."""
    groups: list[tuple[tuple[int, int, int, int], list[int]]] = []
    for index, patch in enumerate(patches):
        left, top, right, bottom = crop_box(patch.extent, width, height)
        if right <= left or bottom <= top:
            continue
        box = _rounded(left, top, right, bottom, width, height)
        members = [index]
        grown = True
        while grown:  # a grown box may reach groups it did not reach before
            grown = False
            for other, others in list(groups):
                if other[0] < box[2] and box[0] < other[2] and other[1] < box[3] and box[1] < other[3]:
                    groups.remove((other, others))
                    box = _rounded(
                        min(box[0], other[0]),
                        min(box[1], other[1]),
                        max(box[2], other[2]),
                        max(box[3], other[3]),
                        width,
                        height,
                    )
                    members += others
                    grown = True
        groups.append((box, members))
    return [(box, [patches[i] for i in sorted(members)]) for box, members in groups]


_QUANTUM = 32  # region sizes are rounded up to a multiple of this, so that sizes repeat


def _rounded(left: int, top: int, right: int, bottom: int, width: int, height: int) -> tuple[int, int, int, int]:
    """The box grown to even corners and to sides a multiple of ``_QUANTUM`` (or the frame's),
    kept inside the (even) frame."""
    left, top = left - left % 2, top - top % 2
    w = min(width, -(-(right - left) // _QUANTUM) * _QUANTUM)
    h = min(height, -(-(bottom - top) // _QUANTUM) * _QUANTUM)
    left, top = min(left, width - w), min(top, height - h)
    return left, top, left + w, top + h


def _to_rgb(luma: np.ndarray, blue: np.ndarray, red: np.ndarray, matrix: int | None) -> np.ndarray:
    """(h,w,3) uint8 RGB of a yuv420p region, as swscale converts a whole frame."""
    h, w = luma.shape
    planes = np.concatenate([luma.reshape(-1), blue.reshape(-1), red.reshape(-1)]).reshape(h * 3 // 2, w)
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    return _reformatters("rgb", (h, w)).reformat(frame, format="rgb24", src_colorspace=matrix).to_ndarray()


def _to_yuv(rgb: np.ndarray, matrix: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y (h,w), U and V (h/2,w/2) of an (h,w,3) uint8 RGB region."""
    h, w = rgb.shape[:2]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    planes = _reformatters("yuv", (h, w)).reformat(frame, format="yuv420p", dst_colorspace=matrix).to_ndarray()
    return _split(planes, h, w)


_local = threading.local()
_KEPT = 32  # swscale contexts kept per thread and direction, by region size


def _reformatters(direction: str, size: tuple[int, int]) -> VideoReformatter:
    """This thread's swscale context for one direction and region size. Building one costs
    about 0.35 ms, twenty times the conversion of a face-sized region, so they are kept, and
    region sizes are rounded (``_QUANTUM``) so that they repeat from frame to frame."""
    kept = getattr(_local, direction, None)
    if kept is None:
        kept = OrderedDict()
        setattr(_local, direction, kept)
    context = kept.pop(size, None) or VideoReformatter()
    kept[size] = context
    if len(kept) > _KEPT:
        kept.popitem(last=False)
    return context
