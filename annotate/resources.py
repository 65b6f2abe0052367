"""Where the files that ship with the project live (weights, fonts, samples)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def mtcnn_weights_dir() -> Path:
    """Folder holding facenet-pytorch's pnet.pt, rnet.pt and onet.pt."""
    return PROJECT_ROOT / "weights" / "mtcnn"


def font_path() -> Path:
    """The label font: a CJK-capable subset of WenQuanYi Micro Hei (see fonts/README.md)."""
    return PROJECT_ROOT / "fonts" / "wqy-microhei-subset.ttf"
