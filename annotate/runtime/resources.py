"""Files that ship with annotate: MTCNN weights, the label font, sample photos and a demo bank.

An installed wheel carries them inside the package, under ``annotate/_data/`` (``setup.py``
copies them there from the repository's top-level folders at build time); a source checkout
(an editable install, or running from the clone) reads the top-level folders themselves.
Both are found through ``importlib.resources``, so nothing depends on the current folder.
"""

from __future__ import annotations

import importlib.resources
import os
import sys
from pathlib import Path

from ..errors import InputError

# name inside annotate/_data -> folder of the source checkout, relative to its root; setup.py
# copies the same folders (tests/test_api.py checks that the two agree)
SHIPPED = {
    "mtcnn": "weights/mtcnn",
    "fonts": "fonts",
    "samples": "samples",
    "facebank": "facebank",
}


def shipped(name: str) -> Path:
    """The folder of shipped files ``name`` (a key of SHIPPED): inside the installed package,
    else in the source checkout the package was imported from."""
    package = Path(str(importlib.resources.files("annotate")))
    installed = package / "_data" / name
    return installed if installed.is_dir() else package.parent / SHIPPED[name]


def mtcnn_weights_dir() -> Path:
    """Folder holding facenet-pytorch's pnet.pt, rnet.pt and onet.pt."""
    return shipped("mtcnn")


def font_path() -> Path:
    """The label font: a CJK-capable subset of WenQuanYi Micro Hei (see fonts/README.md)."""
    return shipped("fonts") / "wqy-microhei-subset.ttf"


def source_checkout() -> Path | None:
    """The root of the source checkout annotate runs from, or None for an installed wheel."""
    package = Path(str(importlib.resources.files("annotate")))
    return None if (package / "_data").is_dir() else package.parent


def sample_path(name: str) -> Path:
    """A sample that ships with annotate, to try it on: "photos" (four photos of two people),
    "clip.mp4" (a 4 s clip of them with sound) or "facebank" (their labelled photos)."""
    path = shipped("facebank") if name == "facebank" else shipped("samples") / name
    if not path.exists():
        raise InputError(f"no sample {name!r}: expected {path}")
    return path


def user_data_dir() -> Path:
    """annotate's folder for a user's own data: ``$XDG_DATA_HOME/annotate`` (default
    ``~/.local/share/annotate``) on Linux, ``~/Library/Application Support/annotate`` on macOS,
    ``%LOCALAPPDATA%\\annotate`` on Windows."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "annotate"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "annotate"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "annotate"


def cache_root() -> Path:
    """Where annotate caches what it can make again (embeddings): ``$ANNOTATE_CACHE``, else
    ``$XDG_CACHE_HOME/annotate``, else ``~/.cache/annotate``."""
    env = os.environ.get("ANNOTATE_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "annotate"
