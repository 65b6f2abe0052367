"""The face bank: one averaged, L2-normalised embedding per label, built from labelled folders.

Layout: ``<root>/<label>/*.{jpg,jpeg,png,webp,bmp}``; the label is the folder name, in full
Unicode. The bank file (``<root>/facebank.npz`` by default) also keeps every source image's
sha256 and embedding, so a rebuild embeds only new or changed files.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BankError, BankFileError, BankModelError, InputError
from ..media import atomic_path, file_sha256

BANK_FILE = "facebank.npz"
BANK_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FaceBank:
    """labels: K names. embeddings: (K,D) float32 unit rows. counts: (K,) images per label.
    model, model_sha256: the recognition model that made the embeddings.
    image_paths, image_sha256, image_labels: M source images (paths relative to the bank folder).
    image_faces: (M,) faces found in each (0: no face, -1: unreadable; both skipped).
    image_embeddings: (M,D), zero rows where skipped. min_face: the detector's smallest face
    (px) when the images were embedded (0: not recorded, in files from before it was)."""

    labels: tuple[str, ...]
    embeddings: np.ndarray
    counts: np.ndarray
    model: str
    model_sha256: str
    image_paths: tuple[str, ...] = ()
    image_sha256: tuple[str, ...] = ()
    image_labels: tuple[str, ...] = ()
    image_faces: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    image_embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 512), np.float32))
    min_face: int = 0

    def __post_init__(self) -> None:
        k, m = len(self.labels), len(self.image_paths)
        emb = np.asarray(self.embeddings, np.float32)
        img = np.asarray(self.image_embeddings, np.float32)
        counts = np.asarray(self.counts, np.int64)
        faces = np.asarray(self.image_faces, np.int64)
        if emb.ndim != 2 or img.ndim != 2 or counts.ndim != 1 or faces.ndim != 1:
            raise ValueError("face bank embeddings must be (K,D) and (M,D), counts (K,) and image_faces (M,)")
        if len(emb) != k or len(counts) != k or len(img) != m or len(faces) != m:
            raise ValueError("face bank columns have different lengths")
        if len(self.image_sha256) != m or len(self.image_labels) != m:
            raise ValueError("face bank columns have different lengths")
        for name, value in (("embeddings", emb), ("counts", counts), ("image_faces", faces), ("image_embeddings", img)):
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls, model: str, model_sha256: str, dim: int = 512) -> FaceBank:
        return cls((), np.zeros((0, dim)), np.zeros(0), model, model_sha256, image_embeddings=np.zeros((0, dim)))

    def __len__(self) -> int:
        return len(self.labels)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the bank atomically as .npz (no pickles), replacing the file if it exists (it is
        the bank being refreshed); OutputError if it cannot be written."""
        with atomic_path(Path(path), replace=True) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                format_version=np.array(FORMAT_VERSION),
                labels=np.array(self.labels, dtype=str),
                embeddings=self.embeddings,
                counts=self.counts,
                model=np.array(self.model),
                model_sha256=np.array(self.model_sha256),
                image_paths=np.array(self.image_paths, dtype=str),
                image_sha256=np.array(self.image_sha256, dtype=str),
                image_labels=np.array(self.image_labels, dtype=str),
                image_faces=self.image_faces,
                image_embeddings=self.image_embeddings,
                min_face=np.array(self.min_face),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaceBank:
        """Read a bank file; BankError, saying what is wrong, if it is missing, not a bank file,
        damaged, or holds embeddings that are not finite unit vectors."""
        path = Path(path)
        if not path.is_file():
            raise BankFileError(path, "not found")
        try:
            with open(path, "rb") as handle:
                head = handle.read(4)
            if not head:
                raise BankFileError(path, "is empty (0 bytes)")
            if head[:2] != b"PK":
                raise BankFileError(path, "is not a face bank (not an .npz archive)")
            bank = cls._read(path)
        except BankFileError:
            raise
        except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise BankFileError(path, f"is unreadable or damaged ({reason})") from exc
        norms = np.linalg.norm(bank.embeddings, axis=1)
        if not np.isfinite(bank.embeddings).all() or not np.allclose(norms, 1.0, atol=1e-3):
            raise BankFileError(path, "is damaged: its embeddings are not finite unit vectors")
        return bank

    @classmethod
    def _read(cls, path: Path) -> FaceBank:
        with np.load(path, allow_pickle=False) as data:
            strings = lambda key: tuple(str(s) for s in data[key])
            return cls(
                strings("labels"),
                data["embeddings"],
                data["counts"],
                str(data["model"]),
                str(data["model_sha256"]),
                strings("image_paths"),
                strings("image_sha256"),
                strings("image_labels"),
                data["image_faces"],
                data["image_embeddings"],
                int(data["min_face"]) if "min_face" in data.files else 0,
            )

    @property
    def dim(self) -> int:
        """Values per embedding (D)."""
        return int(self.embeddings.shape[1])

    def check_size(self, size: int, model: str, path: Path | None = None) -> None:
        """BankFileError (BankError when not read from a file) if the embeddings are not the
        ``size`` values that ``model`` makes: a damaged or altered file."""
        if self.dim == size:
            return
        problem = f"it holds {self.dim}-value embeddings, but {model} makes {size}"
        if path is None:
            raise BankError(f"the face bank is damaged: {problem}")
        raise BankFileError(path, f"is damaged: {problem}")

    def check_model(self, model: str, model_sha256: str, path: Path | None = None) -> None:
        """BankModelError if the bank was made with another model (``path``: where it was read)."""
        if self.model_sha256 != model_sha256:
            raise BankModelError(path, self.model, self.model_sha256, model, model_sha256)


@dataclass(frozen=True)
class SourceImage:
    """A labelled bank image on disk: its path relative to the bank folder, label and sha256."""

    relative: str
    label: str
    sha256: str


def scan(root: Path) -> list[SourceImage]:
    """Every ``<root>/<label>/<image>``, sorted by label then name."""
    if not root.is_dir():
        raise BankError(f"face bank folder {root} not found: make {root}/<label>/ folders of photos of each person")
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BANK_SUFFIXES):
            found.append(SourceImage(path.relative_to(root).as_posix(), folder.name, _sha256_or_none(path)))
    return found


def _sha256_or_none(path: Path) -> str:
    """A bank photo's sha256, or "" if it cannot be read: the build then reports it as a
    photo it could not read, and the other photos go on."""
    try:
        return file_sha256(path)
    except InputError:
        return ""


def is_current(bank: FaceBank, sources: Sequence[SourceImage], min_face: int) -> bool:
    """True if the bank was built from exactly these files (same paths and contents), with a
    detector of this ``min_face``."""
    if bank.min_face != min_face:
        return False
    stored = set(zip(bank.image_paths, bank.image_sha256, bank.image_labels))
    return stored == {(s.relative, s.sha256, s.label) for s in sources}


# A function that embeds the largest face of each image file: returns, per file, either
# ((D,) unit embedding, number of faces found) or an error message string.
EmbedFiles = Callable[[Sequence[Path]], list["tuple[np.ndarray, int] | str"]]


@dataclass(frozen=True)
class BuildReport:
    """What a build did: the new bank, files embedded now, files reused, per-file notes."""

    bank: FaceBank
    embedded: tuple[str, ...]
    reused: int
    notes: tuple[str, ...]


def build(
    root: Path,
    embed_files: EmbedFiles,
    model: str,
    model_sha256: str,
    previous: FaceBank | None = None,
    sources: Sequence[SourceImage] | None = None,
    min_face: int = 0,
) -> BuildReport:
    """Build the bank from ``root``, reusing ``previous`` embeddings of unchanged files (same
    sha256, same model, same detector ``min_face``, which decides the faces found).

    sources: the result of ``scan(root)`` if the caller already has it.
    """
    sources = scan(root) if sources is None else sources
    cache: dict[str, tuple[np.ndarray, int]] = {}
    if previous is not None and previous.model_sha256 == model_sha256 and previous.min_face == min_face:
        cache = {
            sha: (emb, int(n))
            for sha, emb, n in zip(previous.image_sha256, previous.image_embeddings, previous.image_faces)
        }
    todo = [s for s in sources if s.sha256 not in cache]
    outcomes = embed_files([root / s.relative for s in todo]) if todo else []
    notes, errors = [], {}
    for source, outcome in zip(todo, outcomes):
        if isinstance(outcome, str):
            errors[source.relative] = outcome
        else:
            cache[source.sha256] = outcome
    dim = next((len(e) for e, _ in cache.values()), 512)
    for source in todo:  # an unreadable file stays in the bank, marked -1, so it is not retried
        if source.relative in errors:
            cache[source.sha256] = (np.zeros(dim, np.float32), -1)
    kept = list(sources)
    img_emb = np.stack([cache[s.sha256][0] for s in kept]) if kept else np.zeros((0, dim), np.float32)
    faces = np.array([cache[s.sha256][1] for s in kept], np.int64)
    for s, n in zip(kept, faces):
        if n < 0:
            notes.append(f"{s.relative}: {errors.get(s.relative, 'cannot be read')}; skipped")
        elif n == 0:
            notes.append(f"{s.relative}: no face found; skipped")
        elif n > 1:
            notes.append(f"{s.relative}: {n} faces found; used the largest")
    labels, means, counts = _label_means([s.label for s in kept], img_emb, faces)
    for label, n in sorted(Counter(s.label for s in kept).items()):
        if label not in labels:
            notes.append(f"label {label!r}: none of its {n} photo(s) gave a face, so it is not in the bank")
    bank = FaceBank(
        labels,
        means,
        counts,
        model,
        model_sha256,
        tuple(s.relative for s in kept),
        tuple(s.sha256 for s in kept),
        tuple(s.label for s in kept),
        faces,
        img_emb,
        min_face,
    )
    embedded = tuple(s.relative for s in todo if s.relative not in errors)
    return BuildReport(bank, embedded, len(sources) - len(todo), tuple(notes))


def _label_means(image_labels: Sequence[str], embeddings: np.ndarray, faces: np.ndarray):
    """Per label: the renormalised mean of its images' unit embeddings, and the image count."""
    labels = sorted({lab for lab, n in zip(image_labels, faces) if n > 0})
    dim = embeddings.shape[1] if embeddings.ndim == 2 else 512
    means = np.zeros((len(labels), dim), np.float32)
    counts = np.zeros(len(labels), np.int64)
    for k, label in enumerate(labels):
        rows = [i for i, (own, n) in enumerate(zip(image_labels, faces)) if own == label and n > 0]
        mean = embeddings[rows].mean(axis=0)
        means[k] = mean / np.linalg.norm(mean)
        counts[k] = len(rows)
    return tuple(labels), means, counts
