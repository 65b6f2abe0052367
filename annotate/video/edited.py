"""An analysis read back from a detections file (``--detections``, JSON lines), which a person
may have edited (a wrong name fixed, a box removed, a face marked spurious), so that a video
is rendered again without analysing it again.

Each line is one analysed frame: ``frame`` (its number), ``pts`` (its timestamp in seconds),
and ``faces``, each with ``box``, ``landmarks``, ``label`` (null: Unknown), ``similarity``,
``track`` and ``spurious``. A person's name is the name most of their faces carry.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..faces import UNKNOWN as _UNKNOWN
from ..faces import Faces
from ..media.probe import probe
from .analysis import VideoAnalysis, VideoOptions, finished
from .identity import Track
from .timeline import FrameFaces

UNKNOWN_NAME = re.compile(re.escape(_UNKNOWN) + r"( #\d+)?")


def analysis_from_detections(source: Path, detections: Path, options: VideoOptions | None = None) -> VideoAnalysis:
    """The analysis of ``source`` that ``detections`` describes. The sampling rate is read from
    the frames' spacing when ``options`` does not give one. InputError naming the file and line
    for anything that does not read."""
    info = probe(source)
    read = sorted((_frame(record, detections, n) for n, record in _records(detections)), key=lambda r: r[0].index)
    frames = [frame for frame, _ in read]
    if not frames:
        raise InputError(f"{detections}: holds no analysed frames")
    if frames[0].index < 0 or (info.frames and frames[-1].index >= info.frames):
        raise InputError(f"{detections}: frame {frames[-1].index} is not a frame of {source} (0 to {info.frames})")
    options = options or VideoOptions()
    if options.sample_fps is None:
        options = replace(options, sample_fps=_rate(frames, info.fps))
    tracks = _tracks(read)
    return finished(source, info, tuple(frames), tracks, options, decoded=info.frames or 0)


def _records(path: Path):
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read ({error})") from None
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{n}: not JSON ({error.msg})") from None


def _frame(record: object, path: Path, n: int) -> tuple[FrameFaces, np.ndarray]:
    """One line as named faces and whether each is spurious; InputError for a line that is not
    a detections record."""
    try:
        faces = record["faces"]  # type: ignore[index]
        boxes = np.array([f["box"] for f in faces], np.float32).reshape(-1, 4)
        marks = np.array([f.get("landmarks") or [[np.nan, np.nan]] * 5 for f in faces], np.float32).reshape(-1, 5, 2)
        labels = tuple(_label(f.get("label")) for f in faces)
        sims = np.array([np.nan if f.get("similarity") is None else f["similarity"] for f in faces], np.float32)
        tracks = np.array([int(f["track"]) for f in faces], np.int64)
        spurious = np.array([bool(f.get("spurious", False)) for f in faces], bool)
        index, pts = int(record["frame"]), float(record["pts"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{path}:{n}: not a detections line (frame, pts, faces with box and track): {error}") from None
    if not np.isfinite(boxes).all() or (boxes[:, 2:] <= boxes[:, :2]).any():
        raise InputError(f"{path}:{n}: a box must be four finite numbers x1 < x2, y1 < y2")
    if len(set(tracks.tolist())) < len(tracks):
        raise InputError(f"{path}:{n}: two faces of one frame have the same track (a person is one face a frame)")
    found = Faces(boxes, np.ones(len(boxes), np.float32), marks, None, labels, sims, None, tracks)
    return FrameFaces(index, pts, found), spurious


def _label(value: object) -> str | None:
    """A face's name as the file gives it: ``Unknown``, ``Unknown #3`` and null are Unknown (the
    file writes unknown people by their shown name); others are stripped."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"a label must be a name or null, got {value!r}")
    name = value.strip()
    return None if not name or UNKNOWN_NAME.fullmatch(name) else name


def _tracks(read: list[tuple[FrameFaces, np.ndarray]]) -> dict[int, Track]:
    """A Track per id: the name most of its faces carry, their mean similarity, and spurious
    when any of its faces says so."""
    names: dict[int, Counter] = {}
    sims: dict[int, list[float]] = {}
    spurious: set[int] = set()
    for frame, flags in read:
        f = frame.faces
        labels = f.labels or (None,) * len(f)
        tracks = f.tracks.tolist() if f.tracks is not None else []
        values = f.similarities.tolist() if f.similarities is not None else []
        for track, label, sim, flag in zip(tracks, labels, values, flags.tolist()):
            names.setdefault(track, Counter())[label] += 1
            sims.setdefault(track, []).append(sim)
            if flag:
                spurious.add(track)
    out = {}
    for t, count in names.items():
        finite = [v for v in sims[t] if np.isfinite(v)]
        mean = float(np.mean(finite)) if finite else 0.0
        label = count.most_common(1)[0][0]
        out[t] = Track(t, label, mean, None, np.zeros(0, np.float32), sum(count.values()), (t,), t in spurious)
    return out


def _rate(frames: list[FrameFaces], fps: float) -> float | None:
    """Analysed frames per second, from the median spacing of the frames (None: every frame)."""
    if len(frames) < 2:
        return None
    gaps = np.diff([f.index for f in frames])
    spacing = float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else 1.0
    return None if spacing <= 1.0 else fps / spacing
