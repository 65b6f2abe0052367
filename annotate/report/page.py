"""What both reports share: the Jinja2 environment, thumbnails as inline JPEG data, times as a
clock, links relative to the page, and the atomic write."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from ..media import atomic_path

THUMB_HEIGHT = 96  # px


def thumbnail(crop: np.ndarray, height: int = THUMB_HEIGHT) -> str:
    """(H,W,3) uint8 RGB -> a ``data:image/jpeg;base64,...`` URI of it ``height`` px high."""
    image = Image.fromarray(crop)
    width = max(1, round(image.width * height / max(1, image.height)))
    buffer = io.BytesIO()
    image.resize((width, height), Image.Resampling.LANCZOS).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def clock(seconds: float) -> str:
    """``m:ss.sss``."""
    minutes, rest = divmod(float(seconds), 60.0)
    return f"{int(minutes)}:{rest:06.3f}"


def href(target: Path, page: Path) -> str:
    """A URL for ``target`` relative to the folder of the ``page`` that links it."""
    relative = os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)
    return "/".join(quote(part) for part in Path(relative).parts)


def render(template: str, **values: object) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("annotate.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["clock"] = clock
    return env.get_template(template).render(**values)


def write_page(path: Path, html: str, replace: bool = False) -> Path:
    """Write ``html`` to ``path`` atomically (an existing file only with ``replace``)."""
    with atomic_path(path, replace) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return path
