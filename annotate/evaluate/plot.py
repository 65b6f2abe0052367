"""The LFW figure: ROC curve and similarity histograms. matplotlib is the optional [plot] extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AnnotateError, MissingPackageError
from ..media import atomic_path
from .protocol import roc_curve


def check_plot_path(path: Path) -> None:
    """Raise AnnotateError now, before minutes of embedding, if ``path`` cannot be plotted:
    matplotlib missing, or a suffix that names no image format it writes."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingPackageError("matplotlib", "plotting", "plot") from exc
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in Figure().canvas.get_supported_filetypes():
        raise AnnotateError(
            f"{path}: matplotlib cannot tell an image format from the suffix (.png, .pdf and .svg work)"
        )


def plot_lfw(path: Path, scores: np.ndarray, same: np.ndarray, threshold: float, title: str) -> None:
    """Write a two-panel figure to ``path`` (format from its suffix): the ROC curve (log FAR)
    and the histograms of same- and different-person similarities with ``threshold`` marked."""
    check_plot_path(path)
    from matplotlib.figure import Figure

    fmt = path.suffix.lower().lstrip(".")
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    far, tar, _ = roc_curve(scores, same)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    roc, hist = fig.subplots(1, 2)
    floor = 0.5 / max(int((~same).sum()), 1)
    roc.plot(np.maximum(far, floor), tar, color="tab:blue")
    roc.set(
        xscale="log",
        xlim=(floor, 1),
        ylim=(max(0.0, float(tar[far >= 1e-3][0]) - 0.02), 1.001),
        xlabel="false accept rate",
        ylabel="true accept rate",
        title="ROC",
    )
    roc.grid(True, which="both", alpha=0.3)
    bins = np.linspace(min(-0.3, scores.min()), 1.0, 80)
    hist.hist(scores[same], bins=bins, alpha=0.6, color="tab:green", label=f"same person ({int(same.sum())})")
    hist.hist(scores[~same], bins=bins, alpha=0.6, color="tab:red", label=f"different people ({int((~same).sum())})")
    hist.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    hist.set(xlabel="cosine similarity", ylabel="pairs", title="similarities")
    hist.legend()
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=120)
