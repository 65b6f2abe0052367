"""The review page, ``index.html``: one section per person (``data-person``) with their crops,
face count, nearest bank label, and where they appear (each file, and for a video each
appearance's start time, linked to that moment with a ``#t=`` media fragment). Rendered from
``report/templates/people.html``; self-contained (inline CSS, no script, no network)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..report.page import href, render, write_page
from .find import People, Person

TIMES = 12  # appearance times listed per video and person


def _starts(times: np.ndarray, gap: float = 1.0) -> list[float]:
    """The start of each run of times no more than ``gap`` seconds apart."""
    times = np.sort(times)
    return [float(t) for k, t in enumerate(times) if k == 0 or t - times[k - 1] > gap]


def _places(people: People, person: Person, page: Path) -> list[dict]:
    s = people.sightings
    places: dict[Path, list[float]] = {}
    for row in person.rows.tolist():
        places.setdefault(s.sources[row], []).append(float(s.times[row]))
    out = []
    for source, times in places.items():
        starts = [] if np.isnan(times[0]) else _starts(np.array(times))
        out.append(
            {
                "name": source.name,
                "href": href(source, page),
                "times": starts[:TIMES],
                "more": max(0, len(starts) - TIMES),
            }
        )
    return out


def render_review(people: People, out_dir: Path, crops: dict[str, list[str]]) -> str:
    """The page's HTML, for ``out_dir/index.html``; ``crops``: person id -> crop file names."""
    page = out_dir / "index.html"
    entries = [
        {
            "id": p.id,
            "faces": len(p.rows),
            "nearest": p.nearest,
            "nearest_similarity": p.nearest_similarity,
            "crops": [f"{quote(p.id)}/{quote(name)}" for name in crops.get(p.id, [])],
            "places": _places(people, p, page),
        }
        for p in people.people
    ]
    return render(
        "people.html",
        people=entries,
        known=sorted(people.known.items()),
        faces=len(people.sightings.sources),
        sources=len(set(people.sightings.sources)),
        threshold=people.threshold,
        everyone=people.everyone,
        out_dir=str(out_dir),
    )


def write_review(people: People, out_dir: Path, crops: dict[str, list[str]]) -> Path:
    """Write ``out_dir/index.html`` atomically (replacing the last run's); returns its path."""
    return write_page(out_dir / "index.html", render_review(people, out_dir, crops), replace=True)
