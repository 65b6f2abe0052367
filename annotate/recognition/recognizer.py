"""``Recognizer``: the detector and the embedder, built once from a ``Config``, and the wiring
of the stages: detect -> align -> embed -> match against a face bank passed in."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..detection.detect import FaceDetector
from ..errors import AnnotateError
from ..faces import Faces
from ..media import read_image
from ..runtime import cpuload
from ..runtime.devices import default_threads, using_threads
from ..runtime.timing import stage
from .align import align_faces
from .bank import FaceBank
from .embed import Embedder
from .match import match

# progress(n): called with the number of files just done
Tick = Callable[[int], Any]


class Recognizer:
    """Detector and embedder together.

    ``Recognizer(Config(device="cpu"))`` or ``Recognizer(device="cpu")``. ``config`` holds the
    resolved settings (weights path, concrete device, threshold, precision, threads), so
    ``Recognizer(other.config)`` rebuilds the same recognizer, in another process too.
    """

    def __init__(self, config: Config | None = None, **settings: Any) -> None:
        if config is not None and settings:
            raise TypeError("pass a Config or keyword settings, not both")
        given = Config(**settings) if config is None else config
        load_started = cpuload.sample()  # the thread count is chosen from the load while the models load
        self.detector = FaceDetector(device=given.device, min_face=given.min_face)
        self.embedder = Embedder(model=given.model, device=self.detector.device, precision=given.precision)
        self.config = Config(
            model=str(self.embedder.weights.path),
            device=str(self.detector.device),
            min_face=given.min_face,
            threshold=self.embedder.threshold if given.threshold is None else float(given.threshold),
            precision=self.embedder.precision,
            threads=given.threads or default_threads(since=load_started),
        )

    @property
    def threshold(self) -> float:
        """The cosine similarity a face needs to take a bank label."""
        return float(self.config.threshold)  # type: ignore[arg-type]  # resolved in __init__

    @property
    def model_name(self) -> str:
        """The recognition model's name, e.g. "w600k_mbf"."""
        return self.embedder.name

    @property
    def model_sha256(self) -> str:
        return self.embedder.weights.sha256

    def empty_bank(self) -> FaceBank:
        """A bank with no labels, for this recognizer's model: every face is Unknown."""
        return FaceBank.empty(self.model_name, self.model_sha256, self.embedder.embedding_size)

    def detect(self, images: Sequence[np.ndarray]) -> list[Faces]:
        """Faces (boxes, scores, landmarks) in a batch of (H,W,3) uint8 RGB images."""
        with using_threads(self.config.threads):
            return self.detector.detect(list(images))

    def detect_near(self, image: np.ndarray, expected: np.ndarray) -> Faces:
        """Faces in one (H,W,3) uint8 RGB image, looked for only about the (T,4) xyxy boxes
        where faces are expected (``FaceDetector.detect_near``)."""
        with using_threads(self.config.threads):
            return self.detector.detect_near(image, expected)

    def describe(self, images: Sequence[np.ndarray]) -> list[Faces]:
        """Faces with their (N,D) unit embeddings in a batch of (H,W,3) uint8 RGB images; all
        faces of the batch are aligned and embedded together."""
        with using_threads(self.config.threads):
            faces = self.detector.detect(list(images))
            embeddings = self._embeddings(images, faces)
        return [f.with_columns(embeddings=e) for f, e in zip(faces, embeddings)]

    def embed_faces(self, images: Sequence[np.ndarray], faces: Sequence[Faces]) -> list[np.ndarray]:
        """The (N,D) unit embeddings of the faces found in each (H,W,3) uint8 RGB image, all
        aligned and embedded together."""
        with using_threads(self.config.threads):
            return self._embeddings(images, faces)

    def _embeddings(self, images: Sequence[np.ndarray], faces: Sequence[Faces]) -> list[np.ndarray]:
        with stage("align"):
            crops = align_faces(images, faces, self.detector.device)
        with stage("embed"):
            embeddings = self.embedder.embed(crops)
        bounds = np.cumsum([0] + [len(f) for f in faces])
        return [embeddings[a:b] for a, b in itertools.pairwise(bounds)]

    def recognise(self, images: Sequence[np.ndarray], bank: FaceBank | None = None) -> list[Faces]:
        """Faces, embeddings and names in a batch of (H,W,3) uint8 RGB images, one ``Faces`` per
        image. Each bank label names at most one face of an image. bank: None names nobody."""
        bank = self.empty_bank() if bank is None else bank
        self.check_bank(bank)
        return [match(f, bank.embeddings, bank.labels, self.threshold) for f in self.describe(images)]

    def check_bank(self, bank: FaceBank, path: Path | None = None) -> None:
        """BankModelError if ``bank`` was made with another model than this recognizer's;
        BankError if its embeddings are not the model's size (``FaceBank.check_size``)."""
        bank.check_model(self.model_name, self.model_sha256, path)
        bank.check_size(self.embedder.embedding_size, self.model_name, path)

    def embed_files(
        self, paths: Sequence[Path], batch: int = 16, tick: Tick | None = None
    ) -> list[tuple[np.ndarray, int] | str]:
        """For bank images: the flip-averaged embedding of each file's largest face and its face
        count, or an error message. A file without a face gives a zero vector and count 0.
        tick(n) is called as files are done."""
        out: list[tuple[np.ndarray, int] | str] = []
        dim = self.embedder.embedding_size
        with using_threads(self.config.threads):
            for start in range(0, len(paths), batch):
                out += self._embed_chunk(paths[start : start + batch], dim)
                if tick is not None:
                    tick(len(paths[start : start + batch]))
        return out

    def _embed_chunk(self, paths: Sequence[Path], dim: int) -> list[tuple[np.ndarray, int] | str]:
        images, slots = [], []
        chunk: list[tuple[np.ndarray, int] | str] = []
        for path in paths:
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
        return chunk
