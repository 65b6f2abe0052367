"""Verification and open-set identification metrics: pure numpy, no models.

Scores are cosine similarities; a pair (or a probe) is accepted when its score is at least
the threshold (``score >= t``), as ``annotate.recognition.match`` does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Pairs:
    """Verification pairs of the LFW View 2 protocol.

    first, second: P image paths relative to the image folder (``Name/Name_0001.jpg``).
    same: (P,) bool, True for a matched pair. folds: (P,) int64 fold index in [0, n_folds).
    """

    first: tuple[str, ...]
    second: tuple[str, ...]
    same: np.ndarray
    folds: np.ndarray

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1 if len(self.folds) else 0

    def __len__(self) -> int:
        return len(self.same)


def lfw_image(name: str, number: int) -> str:
    """Relative path of LFW image ``number`` of ``name``: ``Name/Name_0001.jpg``."""
    return f"{name}/{name}_{number:04d}.jpg"


def read_pairs(path: Path) -> Pairs:
    """Parse an LFW pairs file: a header ``folds n`` (or just ``n`` for one fold), then per
    fold n matched lines ``name i j`` and n mismatched lines ``name1 i name2 j``."""
    try:
        lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the pairs file ({exc})") from exc
    if not lines or not all(re.fullmatch(r"\d+", v) for v in lines[0]) or len(lines[0]) not in (1, 2):
        raise InputError(f"{path}: the first line must be '<folds> <pairs per half-fold>', e.g. '10 300'")
    folds, per = (1, int(lines[0][0])) if len(lines[0]) == 1 else (int(lines[0][0]), int(lines[0][1]))
    body = lines[1:]
    if folds < 1 or per < 1 or len(body) != 2 * folds * per:
        raise InputError(
            f"{path}: header says {folds} fold(s) of {per}+{per} pairs, i.e. {2 * folds * per} lines, but there are {len(body)}"
        )
    first, second, same = [], [], []
    for number, fields in enumerate(body, start=2):
        matched = (number - 2) % (2 * per) < per
        try:
            if matched and len(fields) == 3:
                a, b = lfw_image(fields[0], int(fields[1])), lfw_image(fields[0], int(fields[2]))
            elif not matched and len(fields) == 4:
                a, b = lfw_image(fields[0], int(fields[1])), lfw_image(fields[2], int(fields[3]))
            else:
                raise ValueError
        except ValueError:
            want = "name i j" if matched else "name1 i name2 j"
            raise InputError(
                f"{path}:{number}: expected a {'matched' if matched else 'mismatched'} pair '{want}', got {' '.join(fields)!r}"
            ) from None
        first.append(a)
        second.append(b)
        same.append(matched)
    fold_of = np.repeat(np.arange(folds), 2 * per)
    return Pairs(tuple(first), tuple(second), np.array(same, bool), fold_of.astype(np.int64))


def _check(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores, same = np.asarray(scores, np.float64).reshape(-1), np.asarray(same, bool).reshape(-1)
    if len(scores) != len(same) or len(scores) == 0:
        raise ValueError(f"need as many labels as scores, at least one; got {len(scores)} and {len(same)}")
    return scores, same


def accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Fraction of pairs classified right when ``score >= threshold`` means same person."""
    scores, same = _check(scores, same)
    return float(np.mean((scores >= threshold) == same))


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold with the highest accuracy on these pairs.

    Candidates are the midpoints between consecutive distinct scores (and just below the
    lowest, just above the highest); among equally accurate ones the middle one is taken.
    """
    scores, same = _check(scores, same)
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], same[order]
    n = len(s)
    # cut i: pairs [0, i) are called different, [i, n) same
    correct = np.concatenate([[0], np.cumsum(~y)]) + (y.sum() - np.concatenate([[0], np.cumsum(y)]))
    valid = np.ones(n + 1, bool)
    valid[1:n] = s[1:] > s[:-1]
    cuts = np.flatnonzero(valid & (correct == correct[valid].max()))
    i = int(cuts[len(cuts) // 2])
    if i == 0:
        return float(np.nextafter(s[0], -np.inf))
    if i == n:
        return float(np.nextafter(s[-1], np.inf))
    return float((s[i - 1] + s[i]) / 2)


@dataclass(frozen=True)
class FoldResult:
    """Per-fold numbers of k-fold verification: (K,) arrays, one entry per held-out fold."""

    accuracies: np.ndarray
    thresholds: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.accuracies.mean())

    @property
    def std(self) -> float:
        """Population standard deviation across folds (ddof=0, as insightface reports it)."""
        return float(self.accuracies.std())


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> FoldResult:
    """For each fold: the best threshold on the other folds, and its accuracy on this fold."""
    scores, same = _check(scores, same)
    folds = np.asarray(folds).reshape(-1)
    accs, thresholds = [], []
    for k in np.unique(folds):
        test = folds == k
        if test.all():
            raise ValueError("k-fold evaluation needs at least two folds")
        t = best_threshold(scores[~test], same[~test])
        accs.append(accuracy(scores[test], same[test], t))
        thresholds.append(t)
    return FoldResult(np.array(accs), np.array(thresholds))


def threshold_at_far(impostor: np.ndarray, far: float) -> float:
    """The lowest threshold at which at most ``far`` of the impostor scores are accepted
    (``score >= t``): just above the (floor(far*n)+1)-th highest impostor score."""
    imp = np.sort(np.asarray(impostor, np.float64).reshape(-1))[::-1]
    if len(imp) == 0:
        raise ValueError("need at least one impostor score to set a threshold")
    allowed = math.floor(far * len(imp) + 1e-9)
    if allowed >= len(imp):
        return float(imp[-1])
    return float(np.nextafter(imp[allowed], np.inf))


@dataclass(frozen=True)
class TarResult:
    """TAR at a target FAR, per held-out fold: (K,) arrays of TAR, the achieved FAR on the
    fold, and the threshold set on the other folds."""

    far_target: float
    tars: np.ndarray
    fars: np.ndarray
    thresholds: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.tars.mean())


def tar_at_far(scores: np.ndarray, same: np.ndarray, folds: np.ndarray, far: float) -> TarResult:
    """For each fold: the threshold giving FAR <= ``far`` on the other folds' different-person
    pairs, and the true accept rate (and FAR) it gives on this fold."""
    scores, same = _check(scores, same)
    folds = np.asarray(folds).reshape(-1)
    tars, fars, thresholds = [], [], []
    for k in np.unique(folds):
        test = folds == k
        t = threshold_at_far(scores[~test & ~same], far)
        tars.append(float(np.mean(scores[test & same] >= t)))
        fars.append(float(np.mean(scores[test & ~same] >= t)))
        thresholds.append(t)
    return TarResult(far, np.array(tars), np.array(fars), np.array(thresholds))


def roc_auc(scores: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random same-person pair scores above a random
    different-person pair, ties counting half (Mann-Whitney U from average ranks)."""
    scores, same = _check(scores, same)
    pos, neg = int(same.sum()), int((~same).sum())
    if pos == 0 or neg == 0:
        raise ValueError("ROC AUC needs both same-person and different-person pairs")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    ranks = (upper - (counts - 1) / 2.0)[inverse]  # average 1-based rank of each score
    return float((ranks[same].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def roc_curve(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FAR, TAR, threshold) at every distinct score, thresholds descending; starts at (0, 0)."""
    scores, same = _check(scores, same)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    last = np.r_[s[1:] != s[:-1], True]  # last index of each run of equal scores
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    tar = np.r_[0.0, tp / max(int(y.sum()), 1)]
    far = np.r_[0.0, fp / max(int((~y).sum()), 1)]
    return far, tar, np.r_[np.inf, s[last]]


@dataclass(frozen=True)
class OpenSet:
    """Top-1 results of open-set identification against a gallery of K labels.

    known_correct: (N,) bool, the top-1 label of each known probe is its own.
    known_scores: (N,) its top-1 similarity. distractor_scores: (M,) top-1 similarity of each
    probe of a person not in the gallery.
    """

    known_correct: np.ndarray
    known_scores: np.ndarray
    distractor_scores: np.ndarray

    @classmethod
    def from_similarities(cls, known: np.ndarray, truth: np.ndarray, distractors: np.ndarray) -> OpenSet:
        """known: (N,K) similarities of known probes, truth: (N,) gallery index of each (-1:
        its person is missing from the gallery), distractors: (M,K) similarities."""
        known, distractors = np.asarray(known, np.float64), np.asarray(distractors, np.float64)
        truth = np.asarray(truth, np.int64)
        top = known.argmax(axis=1) if known.size else np.zeros(len(known), np.int64)
        best = known.max(axis=1) if known.size else np.full(len(known), -np.inf)
        worst = distractors.max(axis=1) if distractors.size else np.full(len(distractors), -np.inf)
        return cls((top == truth) & (truth >= 0), best, worst)

    @property
    def rank1(self) -> float:
        """Fraction of known probes whose top-1 label is right, whatever the similarity."""
        return float(self.known_correct.mean())

    def far(self, threshold: float) -> float:
        """Fraction of distractors that would take a label (top-1 similarity >= threshold)."""
        return float(np.mean(self.distractor_scores >= threshold))

    def dir(self, threshold: float) -> float:
        """Detection and identification rate: known probes right at top-1 AND >= threshold."""
        return float(np.mean(self.known_correct & (self.known_scores >= threshold)))

    def rejected(self, threshold: float) -> int:
        """Known probes that come out Unknown (top-1 similarity below threshold)."""
        return int(np.sum(self.known_scores < threshold))

    def misnamed(self, threshold: float) -> int:
        """Known probes that take another person's label."""
        return int(np.sum(~self.known_correct & (self.known_scores >= threshold)))

    def dir_at_far(self, far: float) -> tuple[float, float]:
        """(DIR, threshold) with the threshold set so that at most ``far`` of the distractors are accepted."""
        t = threshold_at_far(self.distractor_scores, far)
        return self.dir(t), t
