"""Face-embedding networks (ArcFace iResNet, MobileFaceNet) and their loaders.

``load_model(path)`` reads insightface ONNX files and arcface_torch ``.pth`` state dicts into native torch
modules: input (N,3,112,112) float32 RGB normalised as (pixel - 127.5) / 127.5, output (N,512) embeddings.
torch and onnx are imported on first use only. MTCNN's detector networks are in ``models.mtcnn``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelError, WeightsError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["load_model", "load_onnx", "load_iresnet_state_dict", "WEIGHT_SUFFIXES", "SUFFIX_TEXT"]

WEIGHT_SUFFIXES = (".onnx", ".pth", ".pt")  # what load_model reads; matched in any case
SUFFIX_TEXT = "/".join(WEIGHT_SUFFIXES)  # ".onnx/.pth/.pt", for messages

_LAYER_KEY = re.compile(r"^layer([1-4])\.(\d+)\.")


def load_model(path: str | Path) -> tuple[nn.Module, str]:
    """(module in eval mode, architecture name such as "iresnet50" or "mobilefacenet") for a weights file.

    ``.onnx``: insightface ONNX export; ``.pth``/``.pt``: arcface_torch iResNet state dict.
    WeightsError if the file is missing, unreadable or of another type; ModelError if it does not fit.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise WeightsError(f"{path}: unsupported weights file type {suffix!r} (expected {SUFFIX_TEXT})")
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    model = load_onnx(path) if suffix == ".onnx" else load_iresnet_state_dict(path)
    return model, str(model.arch)


def load_onnx(path: str | Path) -> nn.Module:
    """See ``annotate.models.onnx_import.load_onnx``."""
    from .onnx_import import load_onnx as _load_onnx

    return _load_onnx(path)


def load_iresnet_state_dict(path: str | Path) -> nn.Module:
    """arcface_torch iResNet from a ``torch.save``d state dict; depth inferred from the block keys."""
    import torch

    from .iresnet import IRESNET_LAYERS, iresnet_from_layers

    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle errors, disallowed globals...
        raise WeightsError(f"{path}: cannot read PyTorch weights ({type(exc).__name__}: {exc})") from exc
    state = _unwrap(path, state)
    blocks = [0, 0, 0, 0]
    for key in state:
        match = _LAYER_KEY.match(key)
        if match:
            stage = int(match.group(1)) - 1
            blocks[stage] = max(blocks[stage], int(match.group(2)) + 1)
    if tuple(blocks) not in IRESNET_LAYERS.values():
        raise ModelError(f"{path}: not an arcface_torch iResNet 18/34/50/100 state dict (blocks per stage {blocks})")
    fc = state.get("fc.weight")
    model = iresnet_from_layers(blocks, num_features=fc.shape[0] if fc is not None and fc.ndim == 2 else 512)
    _check_keys(path, model.state_dict(), state, model.arch)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # remaining mismatches not caught above
        raise ModelError(f"{path}: weights do not fit {model.arch}: {exc}") from exc
    return model.float().eval()


def _unwrap(path: Path, state: Any) -> dict[str, Any]:
    """The flat tensor dict inside ``state`` (accepts {"state_dict": ...} and a DDP "module." prefix)."""
    import torch

    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    if all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _check_keys(path: Path, expected: dict[str, Any], state: dict[str, Any], arch: str) -> None:
    """ModelError listing missing, unexpected and wrongly shaped entries of ``state``."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{label}: {', '.join(items[:5])}{more}")
    if problems:
        raise ModelError(f"{path}: weights do not fit {arch}: " + "; ".join(problems))
