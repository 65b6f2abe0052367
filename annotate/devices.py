"""Choosing the torch device."""

from __future__ import annotations

import torch

from .errors import InputError


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cpu", "cuda", "cuda:1" are checked to exist."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown device {spec!r}: use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {spec!r} was asked for, but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"device {spec!r} does not exist: {torch.cuda.device_count()} CUDA device(s) found")
    elif device.type != "cpu":
        raise InputError(f"unsupported device {spec!r}: use auto, cpu, cuda or cuda:N")
    return device
