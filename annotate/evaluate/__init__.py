"""Benchmarks of the whole pipeline: LFW verification and open-set identification.

``protocol``: the metrics (numpy only). ``images``: whole image -> embedding, with a disk
cache. ``runs``: the two benchmarks. ``plot``: the optional figure (matplotlib).
"""

from .protocol import (
    FoldResult,
    OpenSet,
    Pairs,
    TarResult,
    accuracy,
    best_threshold,
    kfold_accuracy,
    read_pairs,
    roc_auc,
    roc_curve,
    tar_at_far,
    threshold_at_far,
)

__all__ = [
    "FoldResult", "OpenSet", "Pairs", "TarResult", "accuracy", "best_threshold", "kfold_accuracy", "read_pairs",
    "roc_auc", "roc_curve", "tar_at_far", "threshold_at_far",
]
