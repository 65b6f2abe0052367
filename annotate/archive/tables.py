"""The tables of an archive run, as Arrow tables with fixed schemas, and their files.

Every table has an explicit schema, so a fragment with no rows (a block of unreadable files)
still reads back with the others. A fragment is written under a temporary name (``.name...``,
which Arrow's dataset readers skip) and renamed when complete.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..faces import Faces
from ..media import atomic_path
from ..writers import PHOTO_COLUMNS, TIMELINE_COLUMNS, timeline_records

FORMATS = ("parquet", "csv")
_ID = [pa.field("source", pa.string()), pa.field("run_id", pa.string())]
_BOX = [pa.field(name, pa.float64()) for name in PHOTO_COLUMNS[PHOTO_COLUMNS.index("x1") :][:4]]
# the five landmarks' x and y, named as the photo CSV names them
_MARKS = [pa.field(name, pa.float64()) for name in PHOTO_COLUMNS[PHOTO_COLUMNS.index("lex") :][:10]]
# the columns of one face, in a video's detections and a photo's faces alike
_FACE = [
    pa.field("face", pa.int64()),
    *_BOX,
    pa.field("score", pa.float64()),
    *_MARKS,
    pa.field("label", pa.string()),
    pa.field("similarity", pa.float64()),
]

TIMELINE_SCHEMA = pa.schema(
    [
        *_ID,
        pa.field("label", pa.string()),
        pa.field("track", pa.string()),
        pa.field("start", pa.float64()),
        pa.field("end", pa.float64()),
        pa.field("start_frame", pa.int64()),
        pa.field("end_frame", pa.int64()),
        pa.field("frames", pa.int64()),
        pa.field("mean_similarity", pa.float64()),
        pa.field("max_similarity", pa.float64()),
    ]
)
# one row per face per analysed frame of a video (label: the shown name, "Unknown #N" included)
DETECTION_SCHEMA = pa.schema(
    [
        *_ID,
        pa.field("frame", pa.int64()),
        pa.field("time", pa.float64()),
        *_FACE,
        pa.field("track", pa.int64()),
        pa.field("spurious", pa.bool_()),
    ]
)
# one row per face of a photo
FACE_SCHEMA = pa.schema([*_ID, *_FACE])
# one row per input and run: whether it was done, and with what
STATUS_SCHEMA = pa.schema(
    [
        *_ID,
        pa.field("ok", pa.bool_()),
        pa.field("error", pa.string()),
        pa.field("frames", pa.int64()),
        pa.field("analysed", pa.int64()),
        pa.field("lost", pa.int64()),
        pa.field("faces", pa.int64()),
        pa.field("named", pa.string()),
        pa.field("output", pa.string()),
        pa.field("seconds", pa.float64()),
        pa.field("node", pa.string()),
        pa.field("model", pa.string()),
        pa.field("bank_sha256", pa.string()),
        pa.field("version", pa.string()),
    ]
)
TABLES = {"timeline": TIMELINE_SCHEMA, "detections": DETECTION_SCHEMA, "faces": FACE_SCHEMA, "status": STATUS_SCHEMA}


def timeline_table(source: str, run_id: str, analysis: Any, include_unknown: bool) -> pa.Table:
    """A video's timeline (``annotate video --csv``'s rows, unrounded) with its source and run."""
    rows = [{"source": source, "run_id": run_id} | r for r in timeline_records(analysis, include_unknown)]
    if rows and set(rows[0]) != {"source", "run_id", *TIMELINE_COLUMNS}:
        raise ValueError(f"timeline columns changed: {sorted(rows[0])}")
    return pa.Table.from_pylist(rows, schema=TIMELINE_SCHEMA)


def _face_columns(faces: Faces) -> dict[str, Any]:
    """The per-face columns shared by detections and photo faces: index, box, score, marks,
    shown name and similarity."""
    n = len(faces)
    columns: dict[str, Any] = {"face": np.arange(n, dtype=np.int64)}
    for i, field in enumerate(_BOX):
        columns[field.name] = faces.boxes[:, i].astype(np.float64)
    columns["score"] = faces.scores.astype(np.float64)
    marks = faces.landmarks.reshape(n, 10).astype(np.float64)
    for i, field in enumerate(_MARKS):
        columns[field.name] = marks[:, i]
    columns["label"] = faces.names()
    sims = faces.similarities
    columns["similarity"] = [None] * n if sims is None else sims.astype(np.float64)
    return columns


def _table(parts: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """One table of parts with the same columns, each column joined first: one Arrow table
    per part (per frame of a video) is over 10x slower (benchmarks/README.md, session 15)."""
    if not parts:
        return schema.empty_table()
    columns = {}
    for name in parts[0]:
        values = [p[name] for p in parts]
        arrays = all(isinstance(v, np.ndarray) for v in values)
        columns[name] = np.concatenate(values) if arrays else list(itertools.chain.from_iterable(values))
    return pa.Table.from_pydict(columns, schema=schema)


def detection_table(source: str, run_id: str, analysis: Any) -> pa.Table:
    """One row per face of each analysed frame (time: player seconds, as in the timeline)."""
    spurious = analysis.spurious
    origin = analysis.info.origin
    parts = []
    for frame in analysis.frames:
        faces, n = frame.faces, len(frame.faces)
        if n == 0:
            continue
        tracks = faces.tracks.tolist() if faces.tracks is not None else [None] * n
        parts.append(
            {"source": [source] * n, "run_id": [run_id] * n, "frame": [frame.index] * n}
            | {"time": [round(frame.time - origin, 6)] * n}
            | _face_columns(faces)
            | {"track": tracks, "spurious": [t in spurious for t in tracks]}
        )
    return _table(parts, DETECTION_SCHEMA)


def face_table(source: str, run_id: str, faces: Faces) -> pa.Table:
    """One row per face of a photo."""
    n = len(faces)
    return _table([{"source": [source] * n, "run_id": [run_id] * n} | _face_columns(faces)], FACE_SCHEMA)


def status_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=STATUS_SCHEMA)


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """``table`` to ``path`` (Parquet, or CSV with a header) atomically; a fragment written
    again (Ray retrying a block) replaces its earlier copy."""
    with atomic_path(path, replace=True) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, tmp)
