"""The two benchmarks: LFW verification (View 2) and open-set identification on a labelled tree."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BankError, InputError
from ..recognition.bank import BANK_SUFFIXES, FaceBank, build
from ..recognition.match import similarity_matrix
from .images import Embedded, ImageEmbedder, Progress, cache_file
from .protocol import FoldResult, OpenSet, Pairs, TarResult, kfold_accuracy, read_pairs, roc_auc, tar_at_far

TAR_FARS = (1e-3, 1e-2)
DIR_FARS = (1e-2, 1e-3)


@dataclass(frozen=True)
class LfwResult:
    """LFW View 2 verification. scores: (P,) cosine similarity of each pair."""

    pairs: Pairs
    scores: np.ndarray
    folds: FoldResult
    tars: tuple[TarResult, ...]
    auc: float
    images: Embedded

    def summary(self) -> dict:
        """The numbers, JSON-ready."""
        return {
            "pairs": len(self.pairs),
            "folds": self.pairs.n_folds,
            "accuracy_mean": self.folds.mean,
            "accuracy_std": self.folds.std,
            "threshold_mean": float(self.folds.thresholds.mean()),
            "fold_accuracies": self.folds.accuracies.tolist(),
            "fold_thresholds": self.folds.thresholds.tolist(),
            "tar_at_far": {
                f"{t.far_target:g}": {
                    "tar_mean": t.mean,
                    "fold_tars": t.tars.tolist(),
                    "fold_fars": t.fars.tolist(),
                    "fold_thresholds": t.thresholds.tolist(),
                }
                for t in self.tars
            },
            "roc_auc": self.auc,
            "images": len(self.images.faces),
            "images_no_face": self.images.no_face,
            "images_embedded_now": self.images.computed,
        }


def evaluate_lfw(
    images_dir: Path, pairs_file: Path, embedder: ImageEmbedder, progress: Progress | None = None
) -> LfwResult:
    """Embed every image the pairs name (once each) and score the 10-fold protocol."""
    pairs = read_pairs(pairs_file)
    if pairs.n_folds < 2:
        raise InputError(f"{pairs_file}: k-fold evaluation needs at least 2 folds, the file has {pairs.n_folds}")
    names = sorted(set(pairs.first) | set(pairs.second))
    missing = [n for n in names if not (images_dir / n).is_file()]
    if missing:
        raise InputError(
            f"{len(missing)} image(s) named in {pairs_file} are missing under {images_dir}, e.g. {images_dir / missing[0]}"
        )
    images = embedder.embed_paths([images_dir / n for n in names], progress)
    row = {n: i for i, n in enumerate(names)}
    a = images.embeddings[[row[n] for n in pairs.first]]
    b = images.embeddings[[row[n] for n in pairs.second]]
    scores = np.einsum("pd,pd->p", a, b).astype(np.float64)
    tars = tuple(tar_at_far(scores, pairs.same, pairs.folds, far) for far in TAR_FARS)
    return LfwResult(
        pairs, scores, kfold_accuracy(scores, pairs.same, pairs.folds), tars, roc_auc(scores, pairs.same), images
    )


@dataclass(frozen=True)
class Split:
    """Open-set split of a labelled tree. bank: label -> its gallery image paths; known:
    (path, label) probes of gallery people; distractors: images of people not in the gallery."""

    bank: dict[str, list[Path]]
    known: list[tuple[Path, str]]
    distractors: list[Path]


def split_tree(root: Path, seed: int = 0, per_person: int = 2, min_images: int = 4) -> Split:
    """People with >= ``min_images`` images: ``per_person`` of them, a random choice made with
    ``seed``, go to the gallery and the rest are known probes. People with one image are distractors."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; expected <label>/ folders of images")
    rng = np.random.default_rng(seed)
    bank: dict[str, list[Path]] = {}
    known: list[tuple[Path, str]] = []
    distractors: list[Path] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BANK_SUFFIXES)
        if len(files) >= min_images:
            chosen = set(rng.choice(len(files), per_person, replace=False).tolist())
            bank[folder.name] = [f for i, f in enumerate(files) if i in chosen]
            known += [(f, folder.name) for i, f in enumerate(files) if i not in chosen]
        elif len(files) == 1:
            distractors.append(files[0])
    if not bank or not distractors:
        raise InputError(
            f"{root}: needs people with at least {min_images} images and people with exactly one; "
            f"found {len(bank)} and {len(distractors)}"
        )
    return Split(bank, known, distractors)


def build_bank(
    recognizer, split: Split, cache: Path | None = None, progress: Progress | None = None
) -> tuple[FaceBank, int, int]:
    """The gallery bank, made by ``annotate.facebank.build`` with ``Recognizer.embed_files``
    (as ``annotate bank build``) from a temporary tree of links; the bank file is kept in the
    cache so a rerun embeds nothing. Returns the bank, the number of gallery images without a
    face, and the number embedded now."""
    emb = recognizer.embedder
    cache = cache or cache_file(recognizer, "-bank")
    previous = None
    if cache.is_file():
        try:
            previous = FaceBank.load(cache)
        except BankError:
            previous = None

    def embed_files(paths):
        if progress is not None:
            progress.reset(total=len(paths))
        out = []
        for start in range(0, len(paths), 64):
            out += recognizer.embed_files(paths[start : start + 64])
            if progress is not None:
                progress.update(len(paths[start : start + 64]))
        return out

    with tempfile.TemporaryDirectory(prefix="annotate-gallery-") as tmp:
        for label, files in split.bank.items():
            (Path(tmp) / label).mkdir()
            for f in files:
                _link(f, Path(tmp) / label / f.name)
        report = build(
            Path(tmp),
            embed_files,
            emb.name,
            emb.weights.sha256,
            previous=previous,
            min_face=recognizer.config.min_face,
        )
    if report.embedded:
        report.bank.save(cache)
    no_face = int(np.sum(report.bank.image_faces == 0))
    return report.bank, no_face, len(report.embedded)


def _link(source: Path, target: Path) -> None:
    try:
        os.symlink(source.resolve(), target)
    except OSError:  # no symlinks (e.g. Windows without developer mode)
        shutil.copyfile(source, target)


@dataclass(frozen=True)
class IdentifyResult:
    """Open-set identification against the gallery bank at ``threshold``."""

    split: Split
    bank: FaceBank
    bank_no_face: int
    bank_embedded: int  # gallery images embedded now (the rest came from the cached bank)
    openset: OpenSet
    threshold: float
    probes: Embedded  # known probes, then distractors
    at_far: dict[float, tuple[float, float]] = field(default_factory=dict)  # FAR -> (DIR, threshold)

    def summary(self) -> dict:
        o, t = self.openset, self.threshold
        return {
            "gallery_people": len(self.bank),
            "gallery_images": len(self.bank.image_paths),
            "gallery_no_face": self.bank_no_face,
            "known_probes": len(o.known_correct),
            "distractors": len(o.distractor_scores),
            "probes_no_face": self.probes.no_face,
            "rank1": o.rank1,
            "threshold": t,
            "far_at_threshold": o.far(t),
            "dir_at_threshold": o.dir(t),
            "known_unknown_at_threshold": o.rejected(t),
            "known_misnamed_at_threshold": o.misnamed(t),
            "dir_at_far": {f"{far:g}": {"dir": d, "threshold": thr} for far, (d, thr) in self.at_far.items()},
            "threshold_far_1pct": self.at_far[1e-2][1] if 1e-2 in self.at_far else None,
            "gallery_embedded_now": self.bank_embedded,
            "probes_embedded_now": self.probes.computed,
        }


def evaluate_identify(
    root: Path, embedder: ImageEmbedder, seed: int = 0, progress: Progress | None = None, bank_cache: Path | None = None
) -> IdentifyResult:
    """Split ``root``, build the gallery bank, embed the probes, and score open-set
    identification at the recognizer's threshold."""
    recognizer = embedder.recognizer
    split = split_tree(root, seed)
    if progress is not None:
        progress.set_description("gallery")
    bank, bank_no_face, bank_embedded = build_bank(recognizer, split, bank_cache, progress)
    if len(bank) == 0:
        raise BankError(f"no faces found in any gallery image under {root}")
    if progress is not None:
        progress.set_description("probes")
    probes = embedder.embed_paths([p for p, _ in split.known] + split.distractors, progress)
    n = len(split.known)
    index = {label: k for k, label in enumerate(bank.labels)}
    truth = np.array([index.get(label, -1) for _, label in split.known], np.int64)
    openset = OpenSet.from_similarities(
        similarity_matrix(probes.embeddings[:n], bank.embeddings),
        truth,
        similarity_matrix(probes.embeddings[n:], bank.embeddings),
    )
    t = recognizer.threshold
    at_far = {far: openset.dir_at_far(far) for far in DIR_FARS}
    return IdentifyResult(split, bank, bank_no_face, bank_embedded, openset, t, probes, at_far)
