"""Wiring of the stages: detect -> align -> embed -> match, and the face bank that matching needs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .align import align_faces
from .detect import FaceDetector
from .embed import Embedder
from .errors import AnnotateError, BankError
from .facebank import BANK_FILE, BuildReport, FaceBank, build, is_current, scan
from .faces import Faces
from .match import Matches, match
from .media import read_image
from .timing import stage


@dataclass(frozen=True)
class Recognition:
    """One image's faces, their names, and their (N,D) unit embeddings."""

    faces: Faces
    matches: Matches
    embeddings: np.ndarray

    @classmethod
    def empty(cls, dim: int = 512) -> Recognition:
        return cls(Faces.empty(), Matches.empty(), np.zeros((0, dim), np.float32))


class Recognizer:
    """Detector and embedder together, with the bank to name faces against.

    model, device, precision: as ``Embedder``; min_face: smallest face in pixels; threshold:
    cosine similarity a face needs to take a bank label (None: the model's default).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "auto",
        device: str | torch.device = "auto",
        min_face: int = 50,
        threshold: float | None = None,
        precision: str = "auto",
    ) -> None:
        self.detector = FaceDetector(device=device, min_face=min_face)
        self.embedder = Embedder(model=model, device=self.detector.device, precision=precision)
        self.threshold = self.embedder.threshold if threshold is None else float(threshold)
        if not -1.0 <= self.threshold <= 1.0:
            raise AnnotateError(f"threshold must be a cosine similarity in [-1, 1], got {threshold}")
        self.bank = FaceBank.empty(self.embedder.name, self.embedder.weights.sha256, self.embedder.embedding_size)

    def describe(self, images: Sequence[np.ndarray]) -> list[tuple[Faces, np.ndarray]]:
        """Faces and their (N,D) unit embeddings in a batch of (H,W,3) uint8 RGB images; all
        faces of the batch are aligned and embedded together."""
        faces = self.detector.detect(list(images))
        with stage("align"):
            crops = align_faces(images, faces, self.detector.device)
        with stage("embed"):
            embeddings = self.embedder.embed(crops)
        bounds = np.cumsum([0] + [len(f) for f in faces])
        return [(found, embeddings[a:b]) for found, a, b in zip(faces, bounds[:-1], bounds[1:])]

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        """Faces and names in a batch of (H,W,3) uint8 RGB images."""
        return [
            Recognition(found, match(emb, self.bank.embeddings, self.bank.labels, self.threshold), emb)
            for found, emb in self.describe(images)
        ]

    def embed_files(self, paths: Sequence[Path], batch: int = 16) -> list[tuple[np.ndarray, int] | str]:
        """For bank images: the flip-averaged embedding of each file's largest face and its face
        count, or an error message. A file without a face gives a zero vector and count 0."""
        out: list[tuple[np.ndarray, int] | str] = []
        dim = self.embedder.embedding_size
        for start in range(0, len(paths), batch):
            images, slots = [], []
            chunk: list[tuple[np.ndarray, int] | str] = []
            for path in paths[start : start + batch]:
                try:
                    images.append(read_image(path))
                    slots.append(len(chunk))
                    chunk.append("")
                except AnnotateError as error:
                    chunk.append(str(error).removeprefix(f"{path}: "))
            faces = self.detector.detect(images) if images else []
            largest = [f.largest(image.shape[:2]) for f, image in zip(faces, images)]
            vectors = self.embedder.embed(align_faces(images, largest, self.detector.device), flip=True)
            row = 0
            for slot, found, big in zip(slots, faces, largest):
                if len(big):
                    chunk[slot] = (vectors[row], len(found))
                    row += 1
                else:
                    chunk[slot] = (np.zeros(dim, np.float32), 0)
            out += chunk
        return out


def bank_file(spec: Path) -> Path:
    """The bank file ``--bank`` names: a .npz file itself, or ``facebank.npz`` inside a folder."""
    return spec if spec.suffix.lower() == ".npz" else spec / BANK_FILE


def load_bank(recognizer: Recognizer, spec: Path) -> BuildReport | None:
    """Give ``recognizer`` the bank at ``spec``. A .npz file is used as it is (``annotate bank
    build`` made it; its photos may be anywhere). A folder of ``<label>/`` folders has its
    ``facebank.npz`` built, or refreshed when its photos or the detector's ``min_face`` changed
(the smallest face decides which faces a photo gives). Returns the build report, or
    None if nothing was built. BankError if the bank was made with another model, or if a
    build finds no faces (an existing bank file is then left as it is)."""
    emb = recognizer.embedder
    file = bank_file(spec)
    stored = FaceBank.load(file) if file.is_file() else None
    if stored is not None:
        stored.check_model(emb.name, emb.weights.sha256, file)
    if file == spec:
        if stored is None:
            raise BankError(f"no face bank file {spec}: build one with: annotate bank build FOLDER --bank {spec}")
        recognizer.bank = stored
        return None
    if not spec.is_dir():
        raise BankError(f"no face bank at {spec}: make {spec}/<label>/ folders of photos of each person")
    sources = scan(spec)
    min_face = recognizer.detector.min_face
    if stored is not None and is_current(stored, sources, min_face):
        recognizer.bank = stored
        return None
    report = build(spec, recognizer.embed_files, emb.name, emb.weights.sha256, previous=stored, sources=sources, min_face=min_face)
    if len(report.bank) == 0:
        raise BankError(f"no faces found under {spec}: make {spec}/<label>/ folders with photos of each person")
    report.bank.save(file)
    recognizer.bank = report.bank
    return report
