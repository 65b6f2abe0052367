"""``Config``: the settings of the models, given once and resolved once by ``Recognizer``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError


@dataclass(frozen=True)
class Config:
    """What the detector and embedder run with.

    model: "auto", a known model name (``annotate models``) or a path to .onnx/.pth/.pt weights.
    device: "auto" (CUDA when there is one), "cpu", "cuda" or "cuda:N".
    min_face: smallest face to look for, in pixels (at least 12, MTCNN's window).
    threshold: cosine similarity in [-1, 1] a face needs to take a bank label (None: the model's).
    precision: the embedder's arithmetic: "auto" (fp16 on CUDA, fp32 on the CPU), "fp32", "bf16", "fp16".
    threads: CPU threads for the networks (None: ``default_threads()``).
    ``Recognizer.config`` holds the resolved values (a weights path, "cpu" or "cuda[:N]", a
    number, "fp32"...), which rebuild the same recognizer in another process.
    """

    model: str = "auto"
    device: str = "auto"
    min_face: int = 50
    threshold: float | None = None
    precision: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", os.fspath(self.model))
        object.__setattr__(self, "device", str(self.device))
        if int(self.min_face) < 12:
            raise InputError(f"min_face must be at least 12 px (MTCNN's smallest window), got {self.min_face}")
        if self.threshold is not None and not -1.0 <= float(self.threshold) <= 1.0:
            raise InputError(f"threshold must be a cosine similarity in [-1, 1], got {self.threshold}")
        if self.threads is not None and int(self.threads) < 1:
            raise InputError(f"threads must be at least 1, got {self.threads}")
