"""Photo decoding: orientation, colour modes, and every kind of bad file."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from annotate.errors import InputError
from annotate.media import atomic_path, check_targets, find_inputs, read_image, write_image


def tiny_png_header(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height but holds no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_exif_orientation_is_applied():
    upright = read_image(ROOT / "samples" / "photos" / "both.jpg")
    rotated = read_image(ROOT / "samples" / "photos" / "both_exif6.jpg")
    with Image.open(ROOT / "samples" / "photos" / "both_exif6.jpg") as raw:
        assert raw.size == (upright.shape[0], upright.shape[1]), "stored sideways"
    assert rotated.shape == upright.shape
    assert np.abs(rotated.astype(int) - upright).mean() < 3  # same picture, re-encoded


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "I;16", "LA", "1"])
def test_modes_become_rgb(tmp_path, mode):
    source = Image.open(ROOT / "samples" / "grace_hopper.jpg").convert("RGB")
    if mode == "I;16":
        gray = np.asarray(source.convert("L"), np.uint16) * 257
        image = Image.fromarray(gray)
        assert image.mode == "I;16"
    else:
        image = source.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("CMYK",) else "x.png")
    image.save(path)
    pixels = read_image(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (600, 512, 3)
    if mode in ("L", "I;16", "LA"):
        np.testing.assert_allclose(pixels[..., 0], np.asarray(source.convert("L")), atol=1)
    if mode != "1":
        assert abs(float(pixels.mean()) - float(np.asarray(source).mean())) < 12


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:10, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    pixels = read_image(tmp_path / "a.png")
    assert pixels[0, 0].tolist() == [255, 0, 0] and pixels[15, 0].tolist() == [255, 255, 255]


def test_bad_files_raise_one_line_input_errors(tmp_path):
    cases = {}
    cases["empty.jpg"] = b""
    cases["text.jpg"] = b"this is not an image at all\n" * 10
    good = (ROOT / "samples" / "grace_hopper.jpg").read_bytes()
    cases["truncated.jpg"] = good[: len(good) // 3]
    cases["bomb.png"] = tiny_png_header(40000, 40000)
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    expect = {
        "empty.jpg": "empty",
        "text.jpg": "not an image",
        "truncated.jpg": "truncated",
        "bomb.png": "decompression bomb",
    }
    for name, words in expect.items():
        with pytest.raises(InputError) as info:
            read_image(tmp_path / name)
        message = str(info.value)
        assert message.startswith(str(tmp_path / name)) and words in message and "\n" not in message


def test_write_keeps_format_and_is_atomic(tmp_path):
    pixels = np.full((10, 12, 3), 200, np.uint8)
    write_image(tmp_path / "a.jpg", pixels)
    write_image(tmp_path / "b.png", pixels)
    with Image.open(tmp_path / "a.jpg") as a, Image.open(tmp_path / "b.png") as b:
        assert a.format == "JPEG" and b.format == "PNG"
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "c.png") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "b.png"], "no partial file is left"


def test_check_targets_refuses_replacing_an_input_and_shared_outputs(tmp_path):
    from annotate.errors import InputError
    from annotate.media import check_targets

    a, b = tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"
    check_targets([(a, tmp_path / "out" / "a.jpg"), (b, tmp_path / "out" / "b.jpg")])
    with pytest.raises(InputError, match="would both be written"):
        check_targets([(a, tmp_path / "out" / "x.jpg"), (b, tmp_path / "out" / "sub" / ".." / "x.jpg")])
    with pytest.raises(InputError, match="replace the input"):
        check_targets([(a, tmp_path / "a" / "x.jpg")])


def test_a_file_reached_twice_is_one_input(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.jpg"):
        (tmp_path / "in" / name).write_bytes(b"x")
    found = find_inputs([tmp_path / "in", tmp_path / "in" / "a.jpg", tmp_path / "in" / "sub" / "b.jpg"], {".jpg"})
    assert [(f.source.name, f.relative.as_posix()) for f in found] == [("a.jpg", "a.jpg"), ("b.jpg", "sub/b.jpg")]


def test_one_output_named_twice_is_refused(tmp_path):
    a, b, out = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "x"
    with pytest.raises(InputError, match=r"a\.mp4 and .*b\.mp4 would both be written to"):
        check_targets([(a, out), (b, out)])
    with pytest.raises(InputError, match=r"two outputs of .*a\.mp4 would both be written to"):
        check_targets([(a, out), (a, out)])
    with pytest.raises(InputError, match="would replace the input"):
        check_targets([(a, a)])
    check_targets([(a, tmp_path / "y"), (a, out), (b, tmp_path / "z")])
