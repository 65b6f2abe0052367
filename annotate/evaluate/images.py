"""Whole images -> one embedding each, for the benchmarks, cached on disk.

Each image: MTCNN faces, the one nearest the image centre, alignment, flip-averaged
embedding. An image without a face is not skipped: it is aligned with fixed landmarks where
a face sits in a typical LFW image (a centre crop), and counted. Embeddings are cached in
``$ANNOTATE_CACHE/embeddings/`` (default ``~/.cache/annotate/embeddings/``), one .npz per
model sha256, detector setting, precision and pipeline version, keyed by the sha256 of each
image file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..faces import Faces
from ..media import atomic_path, file_sha256, read_image
from ..recognition.align import align_faces
from ..runtime.devices import using_threads
from ..runtime.resources import cache_root

CACHE_VERSION = 1
# Bump when detection, alignment or the choice of face changes what an image embeds to: it is
# part of the cache file names, so old embeddings are not reused.
PIPELINE_VERSION = 2
# Mean MTCNN landmarks (left eye, right eye, nose, mouth corners; x, y pixels) of the face
# nearest the centre over all 13,233 LFW deep-funneled 250x250 images (min_face 50 finds a
# face in every one). Measured once; the fallback alignment of an image without a face.
LFW_LANDMARKS = np.array(
    [[105.06, 113.39], [147.00, 112.49], [126.32, 137.57], [108.39, 159.36], [145.38, 158.62]], dtype=np.float32
)
LFW_SIZE = 250
_SAVE_EVERY = 2048  # new embeddings between cache writes, so an interrupted run keeps most work


class EmbeddingCache:
    """Image sha256 -> ((D,) unit embedding, faces found) in one .npz file (None: in memory only)."""

    def __init__(self, path: Path | None, dim: int) -> None:
        self.path, self.dim = path, dim
        self.entries: dict[str, tuple[np.ndarray, int]] = {}
        self.unsaved = 0
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    if int(data["version"]) == CACHE_VERSION and data["embeddings"].shape[1:] == (dim,):
                        faces = data["faces"].tolist()
                        self.entries = {
                            str(s): (e, int(n)) for s, e, n in zip(data["sha256"], data["embeddings"], faces)
                        }
            except (OSError, ValueError, KeyError):
                self.entries = {}  # unreadable: rebuilt and overwritten

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, sha256: str) -> tuple[np.ndarray, int] | None:
        return self.entries.get(sha256)

    def put(self, sha256: str, embedding: np.ndarray, faces: int) -> None:
        self.entries[sha256] = (np.asarray(embedding, np.float32), int(faces))
        self.unsaved += 1

    def save(self) -> None:
        """Write the cache atomically if anything was added."""
        if self.path is None or not self.unsaved:
            return
        keys = list(self.entries)
        with atomic_path(self.path, replace=True) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                version=np.array(CACHE_VERSION),
                sha256=np.array(keys, dtype=str),
                embeddings=np.stack([self.entries[k][0] for k in keys]).astype(np.float32),
                faces=np.array([self.entries[k][1] for k in keys], np.int32),
            )
        self.unsaved = 0


def cache_file(recognizer, kind: str = "") -> Path:
    """Where embeddings made by ``recognizer`` are cached: one file per model, detector setting,
    precision and pipeline version. kind: a suffix for caches of another sort (e.g. "-bank")."""
    emb = recognizer.embedder
    config = recognizer.config
    name = f"{emb.weights.sha256[:16]}-min{config.min_face}-{config.precision}-v{PIPELINE_VERSION}{kind}.npz"
    return cache_root() / "embeddings" / name


def nearest_centre(faces: Faces, height: int, width: int) -> Faces:
    """The one face whose box centre is nearest the image centre (empty if none)."""
    if len(faces) == 0:
        return faces
    centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    dist = ((centres - np.array([width / 2, height / 2])) ** 2).sum(axis=1)
    return faces[int(np.argmin(dist))]


def fallback_face(height: int, width: int) -> Faces:
    """A face at the fixed landmarks of a typical LFW face, scaled about the image centre."""
    scale = min(height, width) / LFW_SIZE
    marks = (LFW_LANDMARKS - LFW_SIZE / 2) * scale + np.array([width / 2, height / 2], np.float32)
    box = np.array([[marks[:, 0].min(), marks[:, 1].min(), marks[:, 0].max(), marks[:, 1].max()]])
    return Faces(box, np.zeros(1), marks[None])


class Progress(Protocol):
    """What ``embed_paths`` needs of a progress bar (tqdm has it)."""

    def reset(self, total: int | None = None) -> object: ...

    def update(self, n: int = 1) -> object: ...

    def set_description(self, desc: str | None = None) -> object: ...


@dataclass(frozen=True)
class Embedded:
    """One embedding per input image. embeddings: (N,D) float32 unit rows. faces: (N,) faces
    detected in each image (0: the fallback centre crop was embedded). computed: images
    embedded now (the rest came from the cache)."""

    embeddings: np.ndarray
    faces: np.ndarray
    computed: int

    @property
    def no_face(self) -> int:
        return int(np.sum(self.faces == 0))


class ImageEmbedder:
    """Embeds whole images with a Recognizer's detector and embedder.

    recognizer: an ``annotate.Recognizer`` (its threads are used); cache: the .npz file embeddings are kept
    in (None: ``cache_file(recognizer)``). batch: images per pass.
    """

    def __init__(self, recognizer, cache: Path | None = None, batch: int = 32) -> None:
        self.recognizer = recognizer
        self.batch = int(batch)
        self.cache = EmbeddingCache(cache or cache_file(recognizer), recognizer.embedder.embedding_size)

    def embed_images(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(H,W,3) uint8 RGB images -> (N,D) embeddings and (N,) faces found in each."""
        detector, embedder = self.recognizer.detector, self.recognizer.embedder
        chosen = []
        with using_threads(self.recognizer.config.threads):
            found = detector.detect(list(images)) if len(images) else []
            for image, faces in zip(images, found):
                face = nearest_centre(faces, *image.shape[:2])
                chosen.append(face if len(face) else fallback_face(*image.shape[:2]))
            crops = align_faces(images, chosen, detector.device)
            vectors = embedder.embed(crops, flip=True)
        return vectors, np.array([len(f) for f in found], np.int64)

    def embed_paths(self, paths: Sequence[Path], progress: Progress | None = None) -> Embedded:
        """Embed each image file once (by content), reusing and filling the cache.

        progress: a tqdm bar: reset to the number of images to embed, then updated per batch.
        """
        shas = [file_sha256(p) for p in paths]
        todo = self.todo(paths, shas)
        if progress is not None:
            progress.reset(total=len(todo))
        try:
            for start in range(0, len(todo), self.batch):
                chunk = todo[start : start + self.batch]
                vectors, faces = self.embed_images([read_image(p) for _, p in chunk])
                for (sha, _), vector, n in zip(chunk, vectors, faces):
                    self.cache.put(sha, vector, int(n))
                if self.cache.unsaved >= _SAVE_EVERY:
                    self.cache.save()
                if progress is not None:
                    progress.update(len(chunk))
        finally:
            self.cache.save()
        rows = [self.cache.entries[s] for s in shas]  # all cached by now: found there or just embedded
        dim = self.recognizer.embedder.embedding_size
        embeddings = np.stack([r[0] for r in rows]) if rows else np.zeros((0, dim), np.float32)
        return Embedded(embeddings, np.array([r[1] for r in rows], np.int64), len(todo))

    def todo(self, paths: Sequence[Path], shas: Sequence[str]) -> list[tuple[str, Path]]:
        """(sha256, path) of the distinct images that are not in the cache yet."""
        seen: dict[str, Path] = {}
        for sha, path in zip(shas, paths):
            if self.cache.get(sha) is None:
                seen.setdefault(sha, path)
        return list(seen.items())
