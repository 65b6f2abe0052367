"""Face embeddings: aligned 112x112 RGB crops -> unit-norm 512-d ArcFace vectors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import cast

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import InputError
from ..models import load_model
from ..runtime.devices import exact_fp32, resolve_device, resolve_precision, run_bucketed
from .weights import WeightsFile, default_threshold, find_weights


class Embedder:
    """ArcFace embedder.

    model: "auto", a known model name (see ``annotate models``) or a path to .onnx/.pth/.pt weights.
    device: "auto", "cpu", "cuda" or "cuda:N". precision: the network's arithmetic, "auto"
    (fp16 on CUDA, fp32 on the CPU), "fp32", "bf16" or "fp16" (see ``resolve_precision``).
    batch_size: crops per forward pass (None: 8 on the CPU, 64 on CUDA). On the CPU, passes of
    8 keep the activations in cache: 64 crops took 0.24 s in passes of 8 against 0.48 s in one
    pass on the 2-core VM (benchmarks/README.md, session 9). The embeddings depend on it only
    at float rounding (at most 1.3e-7 on the test video)."""

    def __init__(
        self,
        model: str | os.PathLike[str] = "auto",
        device: str | torch.device = "auto",
        precision: str = "auto",
        batch_size: int | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        if batch_size is not None and batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size) if batch_size is not None else (64 if self.device.type == "cuda" else 8)
        self.weights: WeightsFile = find_weights(model)
        self.net, self.arch = load_model(self.weights.path)
        # channels_last: 1.6x faster for MobileFaceNet's depthwise convs on the CPU (oneDNN)
        # (cast: Module.to takes memory_format, as torch documents, but its typed overloads leave it out)
        to = cast(Callable[..., torch.nn.Module], self.net.to)
        self.net = to(self.device, self.dtype, memory_format=torch.channels_last).eval()
        # from the network itself: a user's backbone.pth may not be 512-d
        # (cast: both architectures end in a BatchNorm1d ``features``; Module attributes are typed Tensor | Module)
        self.embedding_size: int = cast(torch.nn.BatchNorm1d, self.net.features).num_features

    @property
    def name(self) -> str:
        """Model name, e.g. "w600k_mbf"."""
        return self.weights.name

    @property
    def precision(self) -> str:
        """The arithmetic in use: "fp32", "bf16" or "fp16"."""
        return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    @property
    def threshold(self) -> float:
        """The model's default match threshold (cosine similarity)."""
        return default_threshold(self.weights.name)

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        """(N,3,112,112) normalised crops -> (N,D) float32 features (``run_bucketed`` on CUDA).
        fp32 means true fp32 on CUDA too, not cuDNN's default TF32 (``exact_fp32``)."""
        with exact_fp32(self.device) if self.dtype == torch.float32 else contextlib.nullcontext():
            return run_bucketed(
                lambda x: self.net(x.contiguous(memory_format=torch.channels_last)).float(),
                batch,
                min(8, self.batch_size),
            )

    @torch.inference_mode()
    def embed(self, aligned: torch.Tensor | np.ndarray, flip: bool = False) -> np.ndarray:
        """(N,3,112,112) RGB crops, float in [0,255] or uint8 -> (N,D) float32 unit vectors.

        flip: also embed the mirrored crops and add the two embeddings before normalising.
        """
        x = torch.as_tensor(aligned)
        if x.ndim != 4 or x.shape[1:] != (3, 112, 112):
            raise InputError(f"aligned faces must have shape (N,3,112,112), got {tuple(x.shape)}")
        outputs = []
        for start in range(0, len(x), self.batch_size):
            batch = x[start : start + self.batch_size].to(self.device, torch.float32)
            batch = ((batch / 255.0 - 0.5) / 0.5).to(self.dtype)
            features = self._features(batch)
            if flip:
                features = features + self._features(batch.flip(3))
            outputs.append(F.normalize(features, dim=1))
        if not outputs:
            return np.zeros((0, self.embedding_size), dtype=np.float32)
        return torch.cat(outputs).cpu().numpy()
