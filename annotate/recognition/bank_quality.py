"""Likely mistakes in a face bank, found from its own embeddings: a photo that looks more
like another label than its own, a label with one photo, two labels that look alike."""

from __future__ import annotations

import numpy as np

from .bank import FaceBank


def quality_problems(bank: FaceBank, threshold: float) -> list[str]:
    """Likely mistakes: mislabelled images, labels with one image, and labels that look like one person."""
    problems = []
    index = {label: k for k, label in enumerate(bank.labels)}
    used = [
        (p, lab, e)
        for p, lab, n, e in zip(bank.image_paths, bank.image_labels, bank.image_faces, bank.image_embeddings)
        if n > 0
    ]
    sums = np.zeros_like(bank.embeddings)
    for _, label, emb in used:
        sums[index[label]] += emb
    for path, label, emb in used if len(bank) > 1 else []:
        k = index[label]
        means = bank.embeddings.copy()
        if bank.counts[k] > 1:  # its own label's mean without itself
            rest = sums[k] - emb
            means[k] = rest / np.linalg.norm(rest)
        sims = means @ emb
        sims_other = np.where(np.arange(len(sims)) == k, -np.inf, sims)
        other = int(np.argmax(sims_other))
        if sims[other] > sims[k]:
            problems.append(
                f"{path}: looks more like {bank.labels[other]!r} ({sims[other]:.2f}) than {label!r} ({sims[k]:.2f}); mislabelled?"
            )
    for label, count in zip(bank.labels, bank.counts):
        if count == 1:
            problems.append(f"{label!r} has only one image; add a few more for reliable matches")
    sims = bank.embeddings @ bank.embeddings.T
    for i in range(len(bank)):
        for j in range(i + 1, len(bank)):
            if sims[i, j] >= threshold:
                problems.append(
                    f"{bank.labels[i]!r} and {bank.labels[j]!r} look like the same person ({sims[i, j]:.2f}); duplicate labels?"
                )
    return problems
