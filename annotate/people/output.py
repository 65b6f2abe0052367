"""Writing what ``find_people`` found into a folder: ``people.csv`` (one row per face), one
folder of representative crops per person (``person-001/01.jpg``), ``index.html`` (the review
page) and ``people.npz`` (``people.state``: the means, so that a rerun keeps the ids, and the
crops written, so that it replaces only its own). Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..drawing.crop import crop_face
from ..media import atomic_path, read_image, write_image
from ..media.video import frames_at
from ..video.track import quality
from .find import People, Person
from .review import write_review
from .state import PeopleState, check_people_folder, load_state, save_state

CROPS = 8  # representative crops per person


def write_people(
    people: People,
    out_dir: Path,
    crops: int = CROPS,
    sample_fps: float | None = None,
    tick: Callable[[], object] = lambda: None,
) -> list[Path]:
    """Write the folder (see the module); returns the files written. ``sample_fps``: the rate the
    videos were analysed at, so that the frames to crop are decoded the same way. A folder
    with files but no ``people.npz`` is refused (InputError).

    Every crop this tool writes is listed in ``people.npz`` before it is written, and the last
    run's crops are removed only after the new state is saved: however a run stops, no crop
    of it is taken for a user's file, and no user's file is removed."""
    check_people_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    before = load_state(out_dir)
    chosen = {p.id: representatives(people, p, crops) for p in people.people}
    planned = {pid: _free_names(out_dir / pid, len(rows)) for pid, rows in chosen.items()}
    both = {pid: [*before.crops.get(pid, []), *planned.get(pid, [])] for pid in {*before.crops, *planned}}
    save_state(out_dir, replace(before, crops=both, issued=max(before.issued, people.issued)))
    written = _write_crops(people, out_dir, chosen, planned, sample_fps, tick)
    _write_csv(people, out_dir / "people.csv")
    write_review(people, out_dir, written)
    ids = tuple(p.id for p in people.people)
    dim = people.people[0].mean.shape[0] if people.people else 0
    means = np.stack([p.mean for p in people.people]) if ids else np.zeros((0, dim), np.float32)
    save_state(out_dir, PeopleState(ids, means, people.model, people.issued, written))
    for owner, names in before.crops.items():  # the last run's crops, now replaced
        for name in set(names) - set(written.get(owner, [])):
            (out_dir / owner / name).unlink(missing_ok=True)
        if (out_dir / owner).is_dir() and not any((out_dir / owner).iterdir()):
            (out_dir / owner).rmdir()  # a person now named by the bank, or merged into another
    return [
        out_dir / "people.csv",
        out_dir / "index.html",
        *(out_dir / p / n for p, names in written.items() for n in names),
    ]


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
    people: People,
    out_dir: Path,
    chosen: dict[str, np.ndarray],
    names: dict[str, list[str]],
    sample_fps: float | None,
    tick: Callable[[], object],
) -> dict[str, list[str]]:
    """Crop the chosen faces, reading each source once, under their planned ``names``; person id
    -> crop names written (a frame that no longer decodes gives none)."""
    wanted: dict[Path, list[tuple[str, int, int]]] = {}  # source -> (person, rank, row)
    for pid, rows in chosen.items():
        for rank, row in enumerate(rows.tolist()):
            wanted.setdefault(people.sightings.sources[row], []).append((pid, rank, row))
    crops: dict[str, dict[int, np.ndarray]] = {}
    for source, entries in wanted.items():
        for (pid, rank, _), crop in zip(entries, _crops_of(people, source, [e[2] for e in entries], sample_fps)):
            if crop is not None:
                crops.setdefault(pid, {})[rank] = crop
        tick()
    written: dict[str, list[str]] = {}
    for pid, ranked in crops.items():
        (out_dir / pid).mkdir(exist_ok=True)
        for rank in sorted(ranked):
            write_image(out_dir / pid / names[pid][rank], ranked[rank])
            written.setdefault(pid, []).append(names[pid][rank])
    return written


def _free_names(folder: Path, count: int) -> list[str]:
    """``01.jpg``... for ``count`` crops, each with a suffix where that name is taken (a user's
    file, or a crop of the last run that is removed only afterwards)."""
    names = []
    for number in range(1, count + 1):
        name, extra = f"{number:02d}.jpg", 1
        while os.path.lexists(folder / name):
            name, extra = f"{number:02d}-{extra}.jpg", extra + 1
        names.append(name)
    return names


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
