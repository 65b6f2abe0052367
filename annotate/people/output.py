"""Writing what ``find_people`` found into a folder: ``people.csv`` (one row per face), one
folder of representative crops per person (``person-001/01.jpg``), ``index.html`` (the review
page) and ``people.npz`` (the people's means and the crops written, so that a rerun keeps the
ids and replaces only its own crops). Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..drawing.crop import crop_face
from ..media import atomic_path, read_image, write_image
from ..media.video import frames_at
from ..video.track import quality
from .find import People, Person

CROPS = 8  # representative crops per person
STATE = "people.npz"


def load_state(out_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """A previous run's person id -> (D,) mean, and person id -> crop files it wrote (relative)."""
    path = out_dir / STATE
    if not path.is_file():
        return {}, {}
    with np.load(path, allow_pickle=False) as data:
        ids = [str(i) for i in data["ids"]]
        crops: dict[str, list[str]] = {i: [] for i in ids}
        for owner, name in zip(data["crop_owners"].tolist(), data["crops"].tolist()):
            crops.setdefault(str(owner), []).append(str(name))
        return dict(zip(ids, data["means"])), crops


def write_people(
    people: People,
    out_dir: Path,
    crops: int = CROPS,
    sample_fps: float | None = None,
    tick: Callable[[], object] = lambda: None,
) -> list[Path]:
    """Write the folder (see the module); returns the files written. ``sample_fps``: the rate the
    videos were analysed at, so that the frames to crop are decoded the same way."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _, before = load_state(out_dir)
    for owner, names in before.items():  # this tool's crops of the last run; a user's own files stay
        for name in names:
            (out_dir / owner / name).unlink(missing_ok=True)
        if (out_dir / owner).is_dir() and not any((out_dir / owner).iterdir()):
            (out_dir / owner).rmdir()  # a person now named by the bank, or merged into another
    chosen = {p.id: representatives(people, p, crops) for p in people.people}
    written = _write_crops(people, out_dir, chosen, sample_fps, tick)
    _write_csv(people, out_dir / "people.csv")
    _write_state(people, out_dir / STATE, written)
    from .review import write_review

    write_review(people, out_dir, written)
    return [out_dir / "people.csv", out_dir / "index.html", *(out_dir / p for names in written.values() for p in names)]


def representatives(people: People, person: Person, count: int) -> np.ndarray:
    """Up to ``count`` of the person's rows: the sharpest, most frontal face first (``track.quality``),
    then each next the one least like those chosen, among the better half, for variety."""
    faces = people.sightings.faces
    rows = person.rows
    weight = quality(faces.boxes[rows], faces.scores[rows], faces.landmarks[rows])
    good = rows[np.argsort(-weight, kind="stable")][: max(count, (len(rows) + 1) // 2)]
    emb = faces.embeddings[good] if faces.embeddings is not None else np.zeros((len(good), 1))
    picked = [0]
    closest = emb @ emb[0]
    while len(picked) < min(count, len(good)):
        nxt = int(np.argmin(np.where(np.isin(np.arange(len(good)), picked), np.inf, closest)))
        picked.append(nxt)
        closest = np.maximum(closest, emb @ emb[nxt])
    return good[picked]


def _write_crops(
    people: People, out_dir: Path, chosen: dict[str, np.ndarray], sample_fps: float | None, tick: Callable[[], object]
) -> dict[str, list[str]]:
    """Crop the chosen faces, reading each source once; person id -> crop names written."""
    wanted: dict[Path, list[tuple[str, int, int]]] = {}  # source -> (person, rank, row)
    for pid, rows in chosen.items():
        for rank, row in enumerate(rows.tolist()):
            wanted.setdefault(people.sightings.sources[row], []).append((pid, rank, row))
    crops: dict[str, dict[int, np.ndarray]] = {}
    for source, entries in wanted.items():
        for (pid, rank, _), crop in zip(entries, _crops_of(people, source, [e[2] for e in entries], sample_fps)):
            if crop is not None:  # None: a frame that no longer decodes
                crops.setdefault(pid, {})[rank] = crop
        tick()
    written: dict[str, list[str]] = {}
    for pid, ranked in crops.items():
        folder = out_dir / pid
        folder.mkdir(exist_ok=True)
        names = written.setdefault(pid, [])
        for rank in sorted(ranked):
            name = _free_name(folder, rank + 1)
            write_image(folder / name, ranked[rank])
            names.append(name)
    return written


def _free_name(folder: Path, number: int) -> str:
    """``NN.jpg``, or with a suffix when a user's own file already has that name."""
    name, extra = f"{number:02d}.jpg", 1
    while os.path.lexists(folder / name):
        name, extra = f"{number:02d}-{extra}.jpg", extra + 1
    return name


def _crops_of(people: People, source: Path, rows: list[int], sample_fps: float | None) -> list[np.ndarray | None]:
    """The crops of ``rows``, all in ``source`` (a photo, or a video decoded as it was analysed)."""
    boxes = people.sightings.faces.boxes
    frames = people.sightings.frames
    if frames[rows[0]] < 0:
        image = read_image(source)
        return [crop_face(image, boxes[r]) for r in rows]
    pictures = frames_at(source, [int(frames[r]) for r in rows], sample_fps)
    return [crop_face(pictures[int(frames[r])], boxes[r]) if int(frames[r]) in pictures else None for r in rows]


def _write_csv(people: People, path: Path) -> None:
    """person,source,frame,time,face,x1,y1,x2,y2,similarity; frame and time empty for photos."""
    s = people.sightings
    rows = []
    for person in people.people:
        for row, sim in zip(person.rows.tolist(), person.similarities.tolist()):
            photo = s.frames[row] < 0
            box = [f"{v:.1f}" for v in s.faces.boxes[row]]
            frame = "" if photo else str(int(s.frames[row]))
            time = "" if photo else f"{s.times[row]:.3f}"
            rows.append([person.id, str(s.sources[row]), frame, time, str(int(s.indices[row])), *box, f"{sim:.4f}"])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["person", "source", "frame", "time", "face", "x1", "y1", "x2", "y2", "similarity"])
    writer.writerows(rows)
    with atomic_path(path, replace=True) as tmp:
        Path(tmp).write_text(text.getvalue(), encoding="utf-8")


def _write_state(people: People, path: Path, written: dict[str, list[str]]) -> None:
    ids = [p.id for p in people.people]
    dim = people.people[0].mean.shape[0] if people.people else 0
    owners = [pid for pid, names in written.items() for _ in names]
    with atomic_path(path, replace=True) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            ids=np.array(ids, dtype=str),
            means=np.stack([p.mean for p in people.people]) if ids else np.zeros((0, dim), np.float32),
            crops=np.array([n for names in written.values() for n in names], dtype=str),
            crop_owners=np.array(owners, dtype=str),
        )
