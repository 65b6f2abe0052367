"""Photo input and output: decoding any image to upright RGB, finding inputs, atomic writes."""

from __future__ import annotations

import functools
import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError, InputWarning
from .publish import atomic_path

_PILLOW_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
_HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})
# photos of kinds not read here: a folder's are named in a warning rather than passed over in silence
OTHER_IMAGE_SUFFIXES = frozenset(
    {".avif", ".jxl", ".svg", ".psd", ".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf"} | _HEIF_SUFFIXES
)
JPEG_QUALITY = 95


def _heif_installed() -> bool:
    """Whether pillow-heif (``annotate[heif]``) is there to read HEIC/HEIF, the format of
    iPhone photos; it is registered with Pillow on the first read, not at import."""
    return importlib.util.find_spec("pillow_heif") is not None


def _avif_readable() -> bool:
    from PIL import features

    return bool(features.check("avif"))


def _readable_suffixes() -> frozenset[str]:
    extra = {".avif"} if _avif_readable() else set()
    return _PILLOW_SUFFIXES | extra | (_HEIF_SUFFIXES if _heif_installed() else set())


IMAGE_SUFFIXES = _readable_suffixes()
UNREAD_IMAGE_SUFFIXES = OTHER_IMAGE_SUFFIXES - IMAGE_SUFFIXES


@functools.cache
def _register_heif() -> None:
    if _heif_installed():
        import pillow_heif

        pillow_heif.register_heif_opener()


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
    An animated image gives its first frame.

    Raises InputError naming the file when it is missing, empty, unreadable, not an image,
    truncated, or so large that it looks like a decompression bomb. Issues an InputWarning
    naming the file for damaged metadata (Pillow's own warnings) and for an animated image.
    """
    path = Path(path)
    if path.suffix.lower() in _HEIF_SUFFIXES:
        if not _heif_installed():
            raise InputError(f"{path}: HEIC/HEIF photos need pillow-heif, which is not installed (annotate[heif])")
        _register_heif()
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: empty file (0 bytes)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                frames = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)  # MPO: a JPEG's preview
                rgb = _to_rgb(ImageOps.exif_transpose(image))
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{path}: refused, too many pixels for a photo (decompression bomb?): {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{path}: not an image Pillow can read") from exc
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        if exc.errno is not None:  # the system's error (no permission, a folder, gone): not the file's contents
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        hint = "" if "truncated" in str(exc) else "; the file may be truncated"
        raise InputError(f"{path}: cannot decode ({exc}){hint}") from exc
    except (SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode ({str(exc) or type(exc).__name__}); the file may be damaged") from exc
    for warning in caught:  # Pillow's words about the file, with its name; others as they came
        if issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warnings.warn(warning.message, warning.category, stacklevel=2)
        else:
            warnings.warn(InputWarning(f"{path}: {warning.message}"), stacklevel=2)
    if frames > 1:
        kind = "animated" if image.format in ("GIF", "WEBP", "PNG", "AVIF") else "a sequence"
        warnings.warn(InputWarning(f"{path}: {kind} ({frames} frames); only the first is used"), stacklevel=2)
    return rgb


def write_image(path: Path, image: np.ndarray, replace: bool = False) -> None:
    """Write (H,W,3) uint8 RGB atomically, in the format its suffix names (JPEG at quality 95);
    an existing file is replaced only with ``replace`` (else OutputExistsError)."""
    if path.suffix.lower() in _HEIF_SUFFIXES:
        _register_heif()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: cannot tell which image format to write from the suffix {path.suffix!r}")
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    with atomic_path(path, replace) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **options)
