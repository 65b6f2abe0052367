"""Each input file's faces for ``annotate people``: found once (from the cache when the file's
contents were seen before), then named against the bank of this run.

A photo's faces are described in batches as ``photos`` does. A video is analysed without a
bank (tracking and re-identification do not depend on it), keeping each face's embedding and
person; naming then rebuilds each person's quality-weighted sums and names them as
``analyse_video`` would (``video.identity.name_tracks``), spurious detections included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import AnnotateError
from ..faces import Faces
from ..media import InputFile, file_sha256, read_image
from ..recognition.bank import FaceBank
from ..recognition.match import match
from ..recognition.recognizer import Recognizer
from ..runtime.devices import default_batch
from ..video.analysis import VideoOptions, analyse_video
from ..video.identity import TrackSums, name_tracks
from ..video.track import quality
from .cache import FaceStore, FileFaces


def file_faces(
    files: Sequence[InputFile],
    photo: Callable[[Path], bool],
    recognizer: Recognizer,
    store: FaceStore,
    sample_fps: float,
    progress: Callable[[Path], object] = lambda path: None,
) -> Iterator[tuple[Path, FileFaces | str]]:
    """(file, its unnamed faces or the reason it could not be read) for each file, in order.
    ``photo``: whether a path is a photo (else a video)."""
    keys: dict[Path, str | None] = {}
    for f in files:
        try:
            keys[f.source] = file_sha256(f.source)
        except AnnotateError as error:
            keys[f.source] = None
            progress(f.source)
            yield f.source, str(error)
    todo = [f.source for f in files if keys[f.source] is not None and store.get(keys[f.source] or "") is None]
    fresh = dict(_describe_photos([p for p in todo if photo(p)], recognizer))
    for f in files:
        key = keys[f.source]
        if key is None:
            continue
        found: FileFaces | str | None = store.get(key)
        if found is None:
            found = fresh.get(f.source) or _analyse(f.source, recognizer, sample_fps)
            if isinstance(found, FileFaces) and found.complete:
                store.put(key, found)
        progress(f.source)
        yield f.source, found


def _describe_photos(paths: list[Path], recognizer: Recognizer) -> Iterator[tuple[Path, FileFaces | str]]:
    batch = default_batch(recognizer.config.device)
    for start in range(0, len(paths), batch):
        images, readable = [], []
        for path in paths[start : start + batch]:
            try:
                images.append(read_image(path))
                readable.append(path)
            except AnnotateError as error:
                yield path, str(error)
        for path, faces in zip(readable, recognizer.describe(images) if images else []):
            n = len(faces)
            yield path, FileFaces(faces, np.full(n, -1, np.int64), np.full(n, np.nan), np.arange(n))


def _analyse(video: Path, recognizer: Recognizer, sample_fps: float) -> FileFaces | str:
    """A video's faces, each with its person (``tracks``), analysed without a bank."""
    # exact: every face's own embedding goes into the grouping, on the CPU as on the GPU
    options = VideoOptions(sample_fps=sample_fps, keep_embeddings=True, exact=True)
    try:
        analysis = analyse_video(video, recognizer, None, options)
    except AnnotateError as error:
        return str(error)
    frames = [f for f in analysis.frames if len(f.faces)]
    stopped = (
        None
        if analysis.error is None
        else f"{video}: decoding stopped early ({analysis.error}); its faces up to there are used"
    )
    if not frames:
        none = np.zeros(0, np.int64)
        dim = recognizer.embedder.embedding_size
        faces = Faces.empty().with_columns(embeddings=np.zeros((0, dim), np.float32), tracks=none)
        return FileFaces(faces, none, np.zeros(0), none, options.step(analysis.info.fps), stopped)
    faces = Faces.concatenate([f.faces.with_columns(labels=None, similarities=None, nearest=None) for f in frames])
    return FileFaces(
        faces,
        np.concatenate([np.full(len(f.faces), f.index, np.int64) for f in frames]),
        np.concatenate([np.full(len(f.faces), f.time - analysis.info.origin) for f in frames]),
        np.concatenate([np.arange(len(f.faces)) for f in frames]),
        options.step(analysis.info.fps),
        stopped,
    )


def named(found: FileFaces, bank: FaceBank, threshold: float) -> tuple[FileFaces, np.ndarray]:
    """The faces named against ``bank``, and (N,) whether each is kept (a video's spurious
    detections are not). Photo faces are matched one by one; a video's people as wholes."""
    f, tracks, embeddings = found.faces, found.faces.tracks, found.faces.embeddings
    if tracks is None or embeddings is None:
        faces = match(found.faces, bank.embeddings, bank.labels, threshold)
        return FileFaces(faces, found.frames, found.times, found.indices), np.ones(len(faces), bool)
    sums = TrackSums()
    weights = quality(f.boxes, f.scores, f.landmarks)
    for frame in np.unique(found.frames).tolist():
        rows = np.flatnonzero(found.frames == frame)
        time = float(found.times[rows[0]])
        sums.add(tracks[rows], embeddings[rows], weights[rows], time, f.scores[rows], f.boxes[rows])
    people = name_tracks(sums, bank.embeddings, bank.labels, threshold, step=found.step)
    persons = tracks.tolist()
    faces = f.with_columns(labels=tuple(people[t].label for t in persons))
    keep = np.array([not people[t].spurious for t in persons], bool)
    return FileFaces(faces, found.frames, found.times, found.indices, found.step), keep
