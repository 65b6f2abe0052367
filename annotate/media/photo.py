"""Photo input and output: decoding any image to upright RGB, finding inputs, atomic writes."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError
from .files import atomic_path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
JPEG_QUALITY = 95


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (H,W,3) uint8 RGB. High bit depths are scaled, transparency goes on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        gray = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"))


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file -> (H,W,3) uint8 RGB, turned upright per its EXIF orientation.

    Raises InputError naming the file when it is missing, empty, not an image, truncated, or
    so large that it looks like a decompression bomb.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                return _to_rgb(ImageOps.exif_transpose(image))
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{path}: refused, too many pixels for a photo (decompression bomb?): {exc}") from exc
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{path}: not an image Pillow can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"{path}: cannot decode ({str(exc) or type(exc).__name__}); the file may be truncated"
        ) from exc


def write_image(path: Path, image: np.ndarray) -> None:
    """Write (H,W,3) uint8 RGB atomically, in the format its suffix names (JPEG at quality 95)."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: cannot tell which image format to write from the suffix {path.suffix!r}")
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **options)
