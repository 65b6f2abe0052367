"""The people job: the faces of photos and videos that the bank does not name, grouped into
people, as a value (``People``); ``people.output`` writes it.

A photo's faces are clustered one by one. A video is analysed at a sampling rate, and each of
its people (``annotate.video.identity``: tracks joined across cuts and turns) is clustered as
one item, its mean embedding, so that a stranger who appears in two videos and three photos
comes out as one person. Person ids (``person-001``) stay with their people when the inputs
grow: the previous run's means are matched to the new groups first (``previous``), and a
number is never given twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..faces import Faces
from ..media import IMAGE_SUFFIXES, find_inputs
from ..media.photo import UNREAD_IMAGE_SUFFIXES
from ..media.probe import VIDEO_SUFFIXES
from ..recognition.bank import FaceBank
from ..recognition.cluster import THRESHOLD, group
from ..recognition.match import assign, similarity_matrix, unit
from ..recognition.recognizer import Recognizer
from ..video.track import quality
from .cache import FaceStore
from .sources import file_faces, named
from .state import PeopleState

# An earlier run's id goes to a group whose mean is this alike to its own: stricter than the
# grouping threshold, since one person's means over growing inputs stay close (on LFW, the
# mean of half a person's photos against the mean of all: 0.90 at least, 0.967 median, over
# the 311 people with 6 or more; session 12).
KEEP_ID = 0.5
SAMPLE_FPS = 5.0  # frames analysed per second of video (the rate benchmarks/bench_identity.py checks)


@dataclass(frozen=True)
class Sightings:
    """Every face gathered, one row each. sources: N files. frames: (N,) frame numbers in their
    video, -1 in a photo. times: (N,) a player's seconds, NaN in a photo. faces: the Faces
    (boxes, landmarks, scores, embeddings, bank labels). items: (N,) which clustered item
    each face belongs to (a photo face is its own; a video person's faces share one).
    indices: (N,) each face's index among the faces found in its picture."""

    sources: tuple[Path, ...]
    frames: np.ndarray
    times: np.ndarray
    faces: Faces
    items: np.ndarray
    indices: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.sources)
        if any(len(c) != n for c in (self.frames, self.times, self.faces, self.items, self.indices)):
            raise ValueError(f"Sightings columns differ in length: {n} sources, {len(self.faces)} faces")
        if n and self.faces.embeddings is None:
            raise ValueError("Sightings need faces with embeddings")


@dataclass(frozen=True)
class Person:
    """One person found. id: ``person-001``. rows: their faces' rows in ``People.sightings``.
    mean: (D,) unit mean embedding. similarities: (len(rows),) each face's cosine to the mean.
    nearest: the closest bank label and its similarity (None: empty bank)."""

    id: str
    rows: np.ndarray
    mean: np.ndarray
    similarities: np.ndarray
    nearest: str | None = None
    nearest_similarity: float = 0.0


@dataclass(frozen=True)
class People:
    """What ``find_people`` found. people: unknown people (everyone with ``everyone``), in id order.
    known: bank label -> faces the bank named (left out of ``people``). errors: (file, why)
    for inputs that could not be read. model: the sha256 of the model that made the means.
    issued: the highest person number given so far (this run's and the earlier ones')."""

    sightings: Sightings
    people: tuple[Person, ...]
    known: dict[str, int] = field(default_factory=dict)
    errors: tuple[tuple[Path, str], ...] = ()
    threshold: float = THRESHOLD
    everyone: bool = False
    model: str = ""
    issued: int = 0


def find_people(
    inputs: Sequence[str | os.PathLike[str]],
    recognizer: Recognizer,
    bank: FaceBank | None = None,
    everyone: bool = False,
    sample_fps: float = SAMPLE_FPS,
    threshold: float = THRESHOLD,
    previous: PeopleState | None = None,
    progress: Callable[[Path], object] = lambda path: None,
    cache: Path | None = None,
) -> People:
    """Group the faces of ``inputs`` (photos and videos, files or folders) into people: the
    faces the bank does not name, or all of them with ``everyone``. ``previous``: an earlier
    run's state (``people.state.load_state(folder)``): its ids go to the groups that match its
    means, and new people get numbers it never gave. ``cache``: a .npz of each file's faces
    by sha256 (``people.cache.cache_path``), read and grown; None: nothing is cached."""
    bank = recognizer.empty_bank() if bank is None else bank
    recognizer.check_bank(bank)
    previous = previous or PeopleState()
    model = recognizer.model_sha256
    files = find_inputs([Path(p) for p in inputs], IMAGE_SUFFIXES | VIDEO_SUFFIXES, UNREAD_IMAGE_SUFFIXES)
    if not files:
        raise InputError("no photos or videos found in the inputs")
    store = FaceStore(cache)
    parts: list[tuple[Path, np.ndarray, np.ndarray, Faces, np.ndarray, np.ndarray]] = []
    errors: list[tuple[Path, str]] = []
    is_photo = lambda path: path.suffix.lower() in IMAGE_SUFFIXES
    try:
        for source, found in file_faces(files, is_photo, recognizer, store, sample_fps, progress):
            if isinstance(found, str):
                errors.append((source, found))
                continue
            if found.problem is not None:
                errors.append((source, found.problem))
            kept, keep = named(found, bank, recognizer.threshold)
            rows = np.flatnonzero(keep)
            faces = kept.faces[rows]
            persons = faces.tracks if faces.tracks is not None else -np.ones(len(rows), np.int64)
            parts.append((source, kept.frames[rows], kept.times[rows], faces, persons, kept.indices[rows]))
    finally:
        store.save()
    sightings = _gather(parts)
    dim = recognizer.embedder.embedding_size
    grouped = _grouped(
        sightings, bank, everyone, threshold, previous.previous(model, dim), tuple(errors), previous.issued
    )
    return replace(grouped, model=model)


def _gather(parts: list) -> Sightings:
    """One Sightings from (source, frames, times, faces, video persons, face indices) parts; each photo face
    is its own item, each (video, person) one item."""
    if not parts:
        nothing = np.zeros(0, np.int64)
        return Sightings((), nothing, np.zeros(0), Faces.empty(), nothing, nothing)
    items: list[int] = []
    keys: dict[object, int] = {}
    for source, _, _, _, persons, _ in parts:
        for person in persons.tolist():
            key = (source, person) if person >= 0 else len(keys)
            items.append(keys.setdefault(key, len(keys)))
    sources = tuple(p[0] for p in parts for _ in range(len(p[3])))
    faces = Faces.concatenate([p[3].with_columns(tracks=None) for p in parts])
    frames = np.concatenate([p[1] for p in parts]).astype(np.int64)
    times = np.concatenate([p[2] for p in parts]).astype(np.float64)
    indices = np.concatenate([p[5] for p in parts]).astype(np.int64)
    return Sightings(sources, frames, times, faces, np.array(items, np.int64), indices)


def _grouped(
    sightings: Sightings,
    bank: FaceBank,
    everyone: bool,
    threshold: float,
    previous: dict[str, np.ndarray],
    errors: tuple[tuple[Path, str], ...],
    issued: int,
) -> People:
    """Cluster the items whose faces are unknown (or all), and name the groups with ids."""
    labels = sightings.faces.labels or (None,) * len(sightings.sources)
    known: dict[str, int] = {}
    for label in labels:
        if label is not None:
            known[label] = known.get(label, 0) + 1
    chosen = np.array([everyone or label is None for label in labels], bool)
    rows = np.flatnonzero(chosen)
    if not len(rows):
        return People(sightings, (), known, errors, threshold, everyone, issued=issued)
    embeddings = sightings.faces.embeddings
    if embeddings is None:
        raise ValueError("Sightings need faces with embeddings")
    item_ids, item_of = np.unique(sightings.items[rows], return_inverse=True)
    weights = quality(sightings.faces.boxes[rows], sightings.faces.scores[rows], sightings.faces.landmarks[rows])
    sums = np.zeros((len(item_ids), embeddings.shape[1]))
    np.add.at(sums, item_of, weights[:, None] * embeddings[rows])
    groups = group(unit(sums).astype(np.float32), threshold)[item_of]
    members = [rows[groups == g] for g in range(groups.max() + 1)]
    means = [unit(embeddings[m].astype(np.float64).sum(axis=0)).astype(np.float32) for m in members]
    ids, issued = _stable_ids(means, previous, issued)
    people = sorted((_person(i, m, mean, embeddings, bank) for i, m, mean in zip(ids, members, means)), key=_key)
    return People(sightings, tuple(people), known, errors, threshold, everyone, issued=issued)


def _key(person: Person) -> str:
    return person.id


def _person(id: str, rows: np.ndarray, mean: np.ndarray, embeddings: np.ndarray, bank: FaceBank) -> Person:
    """Person ``id`` of faces ``rows`` with their (D,) unit ``mean``, and the nearest bank label."""
    nearest, best = None, 0.0
    if len(bank):
        to_bank = similarity_matrix(mean[None], bank.embeddings)[0]
        nearest, best = bank.labels[int(to_bank.argmax())], float(to_bank.max())
    return Person(id, rows, mean, (embeddings[rows] @ mean).astype(np.float32), nearest, best)


def _stable_ids(means: list[np.ndarray], previous: dict[str, np.ndarray], issued: int) -> tuple[list[str], int]:
    """``person-NNN`` for each group: an earlier run's id where its mean matches (one to one, the
    most alike first, at least ``KEEP_ID``), else a number after every one ``issued`` before,
    in group order; and the highest number issued now."""
    ids = [""] * len(means)
    old = sorted(previous)
    if old and means:
        sims = np.stack(means) @ np.stack([previous[k] for k in old]).T
        for g, o in enumerate(assign(sims, KEEP_ID).tolist()):
            if o >= 0:
                ids[g] = old[o]
    numbers = [int(k.rsplit("-", 1)[1]) for k in old if k.rsplit("-", 1)[-1].isdigit()]
    number = max([issued, *numbers])
    for g in range(len(ids)):
        if not ids[g]:
            number += 1
            ids[g] = f"person-{number:03d}"
    return ids, number
