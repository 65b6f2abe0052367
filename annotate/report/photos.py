"""The photo report: a gallery grouped by person, the people the bank names first (most faces
first), then the unknown faces grouped into people as ``annotate people`` groups them. Each
face is a thumbnail linking to its photo. Faces are gathered as the photo job yields them, so
the pictures are not kept: only a small thumbnail and the embedding of each face."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..drawing.crop import crop_face
from ..faces import Faces
from ..recognition.cluster import THRESHOLD, group
from .page import href, render, thumbnail, write_page

SHOWN = 60  # thumbnails shown per person (the count says how many there are)
THUMB = 80  # px high


@dataclass
class PhotoGallery:
    """Faces gathered for the report: per face its photo, label (None: unknown), similarity,
    (D,) embedding and thumbnail."""

    sources: list[Path] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    similarities: list[float] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    thumbs: list[str] = field(default_factory=list)

    def add(self, source: Path, image: np.ndarray, faces: Faces) -> None:
        """One photo's named faces (with embeddings) and its (H,W,3) uint8 RGB picture."""
        if faces.embeddings is None or faces.labels is None or faces.similarities is None:
            raise ValueError("the photo report needs named faces with embeddings")
        for box, label, sim, emb in zip(faces.boxes, faces.labels, faces.similarities.tolist(), faces.embeddings):
            self.sources.append(source)
            self.labels.append(label)
            self.similarities.append(sim)
            self.embeddings.append(emb)
            self.thumbs.append(thumbnail(crop_face(image, box, margin=0.25), THUMB))

    def people(self, threshold: float = THRESHOLD) -> list[tuple[str, bool, list[int]]]:
        """(name, known, face indices) per person: known labels by face count, then the unknown
        faces grouped (``recognition.cluster.group``) as ``person-001``... by size."""
        known: dict[str, list[int]] = {}
        unknown = [k for k, label in enumerate(self.labels) if label is None]
        for k, label in enumerate(self.labels):
            if label is not None:
                known.setdefault(label, []).append(k)
        out = [(label, True, rows) for label, rows in sorted(known.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        if unknown:
            groups = group(np.stack([self.embeddings[k] for k in unknown]).astype(np.float32), threshold)
            members = [[unknown[i] for i in np.flatnonzero(groups == g)] for g in range(groups.max() + 1)]
            members.sort(key=len, reverse=True)
            out += [(f"person-{n:03d}", False, rows) for n, rows in enumerate(members, 1)]
        return out

    def render(self, page: Path, threshold: float = THRESHOLD) -> str:
        sections = [
            {
                "name": name,
                "known": known,
                "count": len(rows),
                "faces": [
                    {
                        "thumb": self.thumbs[k],
                        "href": href(self.sources[k], page),
                        "title": f"{self.sources[k].name}, similarity {self.similarities[k]:.2f}",
                    }
                    for k in rows[:SHOWN]
                ],
            }
            for name, known, rows in self.people(threshold)
        ]
        return render("photos.html", sections=sections, faces=len(self.labels), photos=len(set(self.sources)))

    def write(self, page: Path, replace: bool = False) -> Path:
        """Write the report atomically (an existing file only with ``replace``)."""
        return write_page(page, self.render(page), replace)
