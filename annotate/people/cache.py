"""What ``annotate people`` learnt from each file, before naming, cached by the file's sha256:
a rerun over inputs that only grew analyses only the new files. The faces are stored unnamed
(boxes, scores, landmarks, embeddings; for a video also each face's person, frame and time),
so that a bank that changed since (``bank add``) names them again at no cost.

One .npz per model, detector setting, precision, video sampling rate and annotate version, under
``runtime.resources.cache_root()/people/``. A cache that does not read is rebuilt.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..faces import Faces
from ..media import atomic_path
from ..runtime.resources import cache_root

CACHE_VERSION = 1


@dataclass(frozen=True)
class FileFaces:
    """One file's faces, unnamed. faces: with embeddings (and, in a video, ``tracks``: each
    face's person). frames: (N,) frame numbers, -1 in a photo. times: (N,) a player's seconds,
    NaN in a photo. indices: (N,) index among the faces found in its picture. step: seconds
    each analysed frame of a video stands for (0 for a photo). problem: why a video's faces are
    incomplete (it stopped decoding part-way; such a file is not cached)."""

    faces: Faces
    frames: np.ndarray
    times: np.ndarray
    indices: np.ndarray
    step: float = 0.0
    problem: str | None = None

    @property
    def complete(self) -> bool:
        return self.problem is None

    def __post_init__(self) -> None:
        n = len(self.faces)
        if self.faces.embeddings is None or any(len(c) != n for c in (self.frames, self.times, self.indices)):
            raise ValueError("FileFaces needs faces with embeddings and one frame, time and index per face")


def cache_path(recognizer, sample_fps: float) -> Path:
    """The cache file of ``recognizer``'s faces, videos sampled at ``sample_fps``."""
    from .. import __version__

    config = recognizer.config
    model = recognizer.embedder.weights.sha256[:16]
    # annotate's version too: a new tracker or detector may find other faces in the same file
    name = f"{model}-min{config.min_face}-{config.precision}-fps{sample_fps:g}-{__version__}-v{CACHE_VERSION}.npz"
    return cache_root() / "people" / name


_COLUMNS = ("boxes", "scores", "landmarks", "embeddings", "tracks", "frames", "times", "indices")


class FaceStore:
    """File sha256 -> FileFaces, in one .npz (path None: in memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, FileFaces] = {}
        self.changed = False
        if path is not None and path.is_file():
            try:
                self.entries = _read(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                self.entries = {}  # unreadable: rebuilt and replaced

    def get(self, sha256: str) -> FileFaces | None:
        return self.entries.get(sha256)

    def put(self, sha256: str, found: FileFaces) -> None:
        self.entries[sha256] = found
        self.changed = True

    def save(self) -> None:
        """Write the cache atomically, if anything was added (it is the cache's own file)."""
        if self.path is None or not self.changed:
            return
        keys = list(self.entries)
        found = [self.entries[k] for k in keys]
        sizes = [len(f.faces) for f in found]
        dim = next((f.faces.embeddings.shape[1] for f in found if f.faces.embeddings is not None), 0)
        columns = {
            "boxes": [f.faces.boxes for f in found],
            "scores": [f.faces.scores for f in found],
            "landmarks": [f.faces.landmarks for f in found],
            "embeddings": [f.faces.embeddings.reshape(-1, dim) for f in found if f.faces.embeddings is not None],
            "tracks": [
                f.faces.tracks if f.faces.tracks is not None else np.zeros(len(f.faces), np.int64) for f in found
            ],
            "frames": [f.frames for f in found],
            "times": [f.times for f in found],
            "indices": [f.indices for f in found],
        }
        empty = {"boxes": (0, 4), "landmarks": (0, 5, 2), "embeddings": (0, dim)}
        arrays: dict[str, np.ndarray] = {
            name: np.concatenate(c) if c else np.zeros(empty.get(name, (0,))) for name, c in columns.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path, replace=True) as tmp, open(tmp, "wb") as handle:
            header = {
                "version": np.array(CACHE_VERSION),
                "keys": np.array(keys, dtype=str),
                "sizes": np.array(sizes, np.int64),
                "steps": np.array([f.step for f in found], np.float64),
                "videos": np.array([f.faces.tracks is not None for f in found], bool),
            }
            columns_and_header: dict[str, Any] = {**header, **arrays}  # Any: numpy's stub types **kwds as bool
            np.savez(handle, **columns_and_header)
        self.changed = False


def _read(path: Path) -> dict[str, FileFaces]:
    with np.load(path, allow_pickle=False) as data:
        if int(data["version"]) != CACHE_VERSION:
            return {}
        columns = {name: data[name] for name in _COLUMNS}
        bounds = np.concatenate([[0], np.cumsum(data["sizes"])])
        entries = {}
        for k, key in enumerate(data["keys"].tolist()):
            a, b = int(bounds[k]), int(bounds[k + 1])
            part = {name: col[a:b] for name, col in columns.items()}
            faces = Faces(
                part["boxes"],
                part["scores"],
                part["landmarks"],
                part["embeddings"].astype(np.float32),
                tracks=part["tracks"] if bool(data["videos"][k]) else None,
            )
            entries[str(key)] = FileFaces(
                faces, part["frames"], part["times"], part["indices"], float(data["steps"][k])
            )
        return entries
