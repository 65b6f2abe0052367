"""Drawing on the decoder's yuv420p planes against drawing on the whole frame in RGB.

The plain path converts the whole frame to RGB (swscale), draws, and converts it back. The
YUV path converts only the regions it paints and keeps every other sample as it was.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter
from test_draw import ABSENT, face, make_faces, named

from annotate.drawing.draw import draw_faces
from annotate.drawing.draw_yuv import draw_faces_yuv
from annotate.faces import Faces


def to_rgb(planes: np.ndarray, matrix: int | None = None) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    return VideoReformatter().reformat(frame, format="rgb24", src_colorspace=matrix).to_ndarray()


def to_yuv(rgb: np.ndarray, matrix: int | None = None) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return VideoReformatter().reformat(frame, format="yuv420p", dst_colorspace=matrix).to_ndarray()


def split(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = planes.shape[0] * 2 // 3, planes.shape[1]
    chroma = planes[h:].reshape(2, h // 2, w // 2)
    return planes[:h], chroma[0], chroma[1]


@pytest.mark.parametrize("matrix", [None, 1])  # swscale's default (BT.601), BT.709
def test_only_painted_samples_change_and_they_change_as_on_the_whole_frame(matrix) -> None:
    rng = np.random.default_rng(1)
    names = ["Zoë", "山田太郎", "Łukasz", None, "", "ÅÉgjy", ABSENT]  # None: Unknown ("Unknown #k" with tracks)
    changed_anything = 0
    for trial in range(30):
        h, w = 2 * int(rng.integers(60, 360)), 2 * int(rng.integers(60, 640))
        # a smooth picture, as video is: a whole-frame round trip through RGB still moves it
        yy, xx = np.mgrid[0:h, 0:w]
        rgb = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 127 // (w + h)) + 64], axis=2).astype(np.uint8)
        planes = to_yuv(rgb, matrix)
        n = int(rng.integers(1, 7))
        faces = make_faces(*[face(rng.uniform(-60, w), rng.uniform(-60, h), rng.uniform(8, 300)) for _ in range(n)])
        labels = [names[int(i)] for i in rng.integers(0, len(names), n)]
        sims = rng.uniform(-1, 1, n)
        faces = named(faces, labels, sims, tracks=np.arange(3, n + 3) if trial % 2 else None)

        out = draw_faces_yuv(planes, faces, matrix)
        source = to_rgb(planes, matrix)
        drawn = draw_faces(source, faces)
        painted = (drawn != source).any(axis=2)
        block = painted.reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))
        plain = to_yuv(drawn, matrix)  # what the whole-frame RGB path encodes

        (y, u, v), (y0, u0, v0), (yp, up, vp) = split(out), split(planes), split(plain)
        np.testing.assert_array_equal(y[~painted], y0[~painted], err_msg=f"trial {trial}: unpainted luma moved")
        np.testing.assert_array_equal(y[painted], yp[painted], err_msg=f"trial {trial}: painted luma")
        for got, before, whole in ((u, u0, up), (v, v0, vp)):
            np.testing.assert_array_equal(got[~block], before[~block], err_msg=f"trial {trial}: unpainted chroma moved")
            # swscale's chroma rounding is not quite the same for a region as for a whole frame
            assert np.abs(got[block].astype(int) - whole[block]).max(initial=0) <= 1, f"trial {trial}"
        changed_anything += int(painted.any())
        assert planes is not out and not np.shares_memory(planes, out)
    assert changed_anything > 20


def test_no_faces_and_bad_planes() -> None:
    planes = np.random.default_rng(0).integers(0, 256, (90, 80), dtype=np.uint8)  # 60x80
    out = draw_faces_yuv(planes, Faces.empty())
    np.testing.assert_array_equal(out, planes)
    assert out is not planes
    with pytest.raises(ValueError, match="yuv420p"):
        draw_faces_yuv(np.zeros((91, 80), np.uint8), Faces.empty())
    with pytest.raises(ValueError, match="labels"):  # one label per face, or the table refuses it
        draw_faces_yuv(planes, named(make_faces(face(10, 10, 20)), []))
