"""Tables from values: the faces of photos, and a video's timeline and per-frame faces, as CSV
or JSON lines. Every file is written under a temporary name and renamed when complete, and an
existing file is replaced only with ``overwrite``."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from .faces import Faces
from .media import atomic_path, refuse_existing
from .photos import PhotoResult
from .video.analysis import VideoAnalysis

PHOTO_COLUMNS = (
    "path",
    "face",
    "label",
    "similarity",
    "x1",
    "y1",
    "x2",
    "y2",
    "det_score",
    "lex",
    "ley",
    "rex",
    "rey",
    "nx",
    "ny",
    "lmx",
    "lmy",
    "rmx",
    "rmy",
    "error",
)
TIMELINE_COLUMNS = (
    "label",
    "track",
    "start",
    "end",
    "start_frame",
    "end_frame",
    "frames",
    "mean_similarity",
    "max_similarity",
)


def photo_rows(result: PhotoResult) -> list[dict[str, Any]]:
    """Table rows of one photo: one per face, or one with an empty label when it has none, or
    one with its ``error`` when it could not be read or written."""
    path = str(result.source)
    faces = result.faces
    if faces is None or len(faces) == 0:
        return [dict.fromkeys(PHOTO_COLUMNS, "") | {"path": path, "error": result.error or ""}]
    rows = []
    sims = faces.similarities
    for i, name in enumerate(faces.names()):
        box = [round(float(v), 1) for v in faces.boxes[i]]
        marks = [round(float(v), 1) for v in faces.landmarks[i].ravel()]
        sim = "" if sims is None else round(float(sims[i]), 4)
        values = [path, i, name, sim, *box, round(float(faces.scores[i]), 4), *marks, result.error or ""]
        rows.append(dict(zip(PHOTO_COLUMNS, values)))
    return rows


def timeline_records(analysis: VideoAnalysis, include_unknown: bool = False) -> Iterator[dict[str, Any]]:
    """The timeline's rows as values (seconds and similarities unrounded): one per appearance,
    unknown people only with ``include_unknown``. The CSV writes them rounded."""
    for a in analysis.appearances:
        if a.label is None and not include_unknown:
            continue
        yield {
            "label": a.name,
            "track": ";".join(map(str, a.tracks)),
            "start": a.start,
            "end": a.end,
            "start_frame": a.start_frame,
            "end_frame": a.end_frame,
            "frames": a.frames,
            "mean_similarity": a.mean_similarity,
            "max_similarity": a.max_similarity,
        }


def timeline_cells(record: dict[str, Any]) -> dict[str, Any]:
    """A timeline row as the CSV writes it: seconds to the millisecond, similarities to 4 places."""
    rounded = {k: f"{record[k]:.3f}" for k in ("start", "end")}
    return record | rounded | {k: f"{record[k]:.4f}" for k in ("mean_similarity", "max_similarity")}


def _frame_faces(faces: Faces, spurious: frozenset[int]) -> list[dict[str, Any]]:
    sims = faces.similarities
    tracks = faces.tracks.tolist() if faces.tracks is not None else [None] * len(faces)
    return [
        {
            "box": [round(float(v), 2) for v in faces.boxes[i]],
            "landmarks": [[round(float(v), 2) for v in p] for p in faces.landmarks[i]],
            "label": name,
            "similarity": None if sims is None else round(float(sims[i]), 4),
            "track": tracks[i],
            "spurious": tracks[i] in spurious,
        }
        for i, name in enumerate(faces.names())
    ]


@contextmanager
def _text_file(path: str | os.PathLike[str], overwrite: bool) -> Iterator[IO[str]]:
    """A UTF-8 text file, written atomically. A file name that is not valid UTF-8 (its bytes
    were decoded with surrogate escapes) is written with backslash escapes (``\\udcff``), which
    JSON reads back as the same string: the file stays UTF-8 and the run goes on."""
    target = Path(path)
    refuse_existing([target], overwrite)
    with (
        atomic_path(target, overwrite) as tmp,
        open(tmp, "w", newline="", encoding="utf-8", errors="backslashreplace") as handle,
    ):
        yield handle


def listed_photos(path: Path) -> set[str]:
    """The photo paths a photo table (CSV, or JSON lines by its suffix) lists, as ``str(path)``
    gives them (undecodable bytes as surrogate escapes); empty if it cannot be read."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            if path.suffix.lower() == ".csv":
                paths = [row.get("path") or "" for row in csv.DictReader(handle)]
            else:
                paths = [str(json.loads(line).get("path") or "") for line in handle if line.strip()]
    except (OSError, ValueError, AttributeError):
        return set()
    return {_unescaped(p) for p in paths}


def _unescaped(text: str) -> str:
    """A path as written by ``_text_file`` (``\\udcff`` for an undecodable byte) as a str again."""
    if "\\udc" not in text:
        return text
    return re.sub(r"\\u(dc[89a-f][0-9a-f])", lambda m: chr(int(m[1], 16)), text)


def json_record(row: dict[str, Any]) -> dict[str, Any]:
    """A table row as JSON: empty cells become null."""
    return {k: (None if v == "" else v) for k, v in row.items()}


class PhotoTable:
    """faces.csv and/or faces.jsonl written photo by photo, for runs too long to hold in memory:
    ``with PhotoTable(csv_path, jsonl_path) as table: table.add(result)`` (either path may be
    None). The files appear under their names only when the block ends without an error."""

    def __init__(self, csv_path: Path | None, jsonl_path: Path | None = None, overwrite: bool = False) -> None:
        self._paths, self._overwrite = (csv_path, jsonl_path), overwrite
        self._csv: csv.DictWriter | None = None
        self._json: IO[str] | None = None

    def __enter__(self) -> PhotoTable:
        self._stack = ExitStack().__enter__()
        try:
            csv_path, jsonl_path = self._paths
            if csv_path is not None:
                self._csv = csv.DictWriter(
                    self._stack.enter_context(_text_file(csv_path, self._overwrite)), PHOTO_COLUMNS
                )
                self._csv.writeheader()
            if jsonl_path is not None:
                self._json = self._stack.enter_context(_text_file(jsonl_path, self._overwrite))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)

    def add(self, result: PhotoResult) -> None:
        for row in photo_rows(result):
            if self._csv is not None:
                self._csv.writerow(row)
            if self._json is not None:
                self._json.write(json.dumps(json_record(row), ensure_ascii=False) + "\n")


def to_csv(
    value: VideoAnalysis | Iterable[PhotoResult],
    path: str | os.PathLike[str],
    include_unknown: bool = False,
    overwrite: bool = False,
) -> None:
    """A video's timeline (one row per appearance; unknown people only with ``include_unknown``),
    or the faces of photos (one row per face), as CSV."""
    if isinstance(value, VideoAnalysis):
        with _text_file(path, overwrite) as handle:
            writer = csv.DictWriter(handle, fieldnames=TIMELINE_COLUMNS)
            writer.writeheader()
            writer.writerows(timeline_cells(r) for r in timeline_records(value, include_unknown))
        return
    with PhotoTable(Path(path), None, overwrite) as table:
        for result in value:
            table.add(result)


def to_jsonl(
    value: VideoAnalysis | Iterable[PhotoResult], path: str | os.PathLike[str], overwrite: bool = False
) -> None:
    """A video's analysed frames, one JSON line each (time: the player's seconds; pts: the
    frame's own timestamp in seconds; frame; and every face's box, landmarks, label,
    similarity, track, and whether it is spurious: left out of the timeline), or the faces of
    photos, one line per face."""
    if not isinstance(value, VideoAnalysis):
        with PhotoTable(None, Path(path), overwrite) as table:
            for result in value:
                table.add(result)
        return
    spurious = value.spurious
    origin = value.info.origin
    with _text_file(path, overwrite) as handle:
        for frame in value.frames:
            line = {
                "time": round(frame.time - origin, 6),
                "pts": round(frame.time, 6),
                "frame": frame.index,
                "faces": _frame_faces(frame.faces, spurious),
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
