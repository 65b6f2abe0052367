"""Shared test helpers: sample images, and the evaluation data in ../shared (skipped when absent)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data"
NO_SHARED = "../shared/data is absent (a user's clone has no evaluation data)"


def needs_shared(*parts: str) -> Path:
    """Path under ../shared/data, or skip the calling test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{NO_SHARED}: {path} not found")
    return path


def read_rgb(path: Path) -> np.ndarray:
    """(H,W,3) uint8 RGB pixels of an image file."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@lru_cache(maxsize=4)
def video_frames(path: Path) -> tuple[np.ndarray, ...]:
    """Every frame of a video as (H,W,3) uint8 RGB, decoded with PyAV."""
    import av

    with av.open(str(path)) as container:
        return tuple(frame.to_ndarray(format="rgb24") for frame in container.decode(video=0))


def load_source(source: str) -> np.ndarray:
    """Re-create an image named as in tests/fixtures/mtcnn_reference.json."""
    if source.startswith("samples/"):
        return read_rgb(ROOT / source)
    rel = source.removeprefix("shared:")
    rel, _, size = rel.partition("@")
    rel, _, frame = rel.partition("#frame=")
    path = needs_shared(*rel.split("/"))
    image = video_frames(path)[int(frame)] if frame else read_rgb(path)
    if size:
        w, h = (int(v) for v in size.split("x"))
        image = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))
    return image


def pixel_sha256(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.uint8).tobytes()).hexdigest()


@pytest.fixture(scope="session")
def detector():
    from annotate.detection.detect import FaceDetector

    return FaceDetector(device="cpu")


@pytest.fixture(scope="session")
def embedder():
    from annotate.recognition.embed import Embedder

    return Embedder(device="cpu")


@pytest.fixture(scope="module")
def recognizer():
    """A CPU recognizer, once per test module (a module may define its own)."""
    import annotate

    return annotate.Recognizer(device="cpu")


@pytest.fixture(scope="module")
def bank(recognizer):
    """The demo bank (Eileen Collins, Grace Hopper), embedded in memory by ``recognizer``."""
    import annotate

    return annotate.load_bank(ROOT / "facebank", recognizer)


@pytest.fixture()
def bank_dir(tmp_path: Path) -> Path:
    """A private copy of the demo face bank folders (tests never write into the repository)."""
    import shutil

    target = tmp_path / "facebank"
    for label in ("Eileen Collins", "Grace Hopper"):
        shutil.copytree(ROOT / "facebank" / label, target / label)
    return target


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the annotate command line in this process -> (exit code, stdout, stderr)."""
    import contextlib
    import io
    import signal
    import sys
    import warnings

    from annotate.cli import run

    out, err = io.StringIO(), io.StringIO()
    argv, term, show = sys.argv, signal.getsignal(signal.SIGTERM), warnings.showwarning  # run() sets the last two
    sys.argv = ["annotate", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            run()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = argv
        signal.signal(signal.SIGTERM, term)
        warnings.showwarning = show
    return code, out.getvalue(), err.getvalue()
