"""The photo job: annotated copies of a set of photos, and a table of every face found."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .draw import draw_faces
from .errors import AnnotateError, InputError
from .media import (
    IMAGE_SUFFIXES, InputFile, atomic_path, check_out_dir, check_targets, find_inputs, read_image, refuse_existing,
    write_image,
)
from .pipeline import Recognition, Recognizer

CSV_NAME = "faces.csv"
JSON_NAME = "faces.jsonl"
COLUMNS = (
    "path", "face", "label", "similarity", "x1", "y1", "x2", "y2", "det_score",
    "lex", "ley", "rex", "rey", "nx", "ny", "lmx", "lmy", "rmx", "rmy",
)


@dataclass(frozen=True)
class PhotoResult:
    """What happened to one photo: its recognition and output, or the error that stopped it."""

    job: InputFile
    recognition: Recognition | None = None
    output: Path | None = None
    error: str | None = None


def plan(inputs: Sequence[Path], out_dir: Path, overwrite: bool, table_names: Sequence[str]) -> list[InputFile]:
    """The photo jobs for ``inputs``, after the safety checks: --out not inside an input folder,
    no two inputs writing the same output, and no existing output replaced unless ``overwrite``."""
    check_out_dir(inputs, out_dir)
    jobs = find_inputs(inputs, IMAGE_SUFFIXES)
    if not jobs:
        raise InputError("no photos found in the inputs (looked for " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")")
    check_targets((job.source, out_dir / job.relative) for job in jobs)
    refuse_existing([out_dir / job.relative for job in jobs] + [out_dir / name for name in table_names], overwrite)
    return jobs


def annotate_photos(
    jobs: Sequence[InputFile], recognizer: Recognizer, out_dir: Path, batch: int = 8, draw: bool = True
) -> Iterator[PhotoResult]:
    """Recognise faces ``batch`` photos at a time (equal sizes share a detector pass, all faces of
    a batch are embedded together), write each annotated copy, and yield results in input order."""
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        images: list[np.ndarray] = []
        readable: list[int] = []
        results: list[PhotoResult] = [PhotoResult(job) for job in chunk]
        for i, job in enumerate(chunk):
            try:
                images.append(read_image(job.source))
                readable.append(i)
            except AnnotateError as error:
                results[i] = PhotoResult(job, error=str(error))
        for i, image, found in zip(readable, images, recognizer.recognise(images) if images else []):
            job = chunk[i]
            output = out_dir / job.relative
            try:
                if draw:
                    drawn = draw_faces(image, found.faces, found.matches.labels, found.matches.similarities)
                    write_image(output, drawn)
                results[i] = PhotoResult(job, found, output if draw else None)
            except (AnnotateError, OSError) as error:
                results[i] = PhotoResult(job, found, error=f"{output}: cannot write ({error})")
        yield from results


def face_rows(result: PhotoResult) -> list[dict[str, object]]:
    """Table rows of one photo: one per face, or one with an empty label when it has none."""
    path = str(result.job.source)
    rec = result.recognition
    if rec is None or len(rec.faces) == 0:
        return [{name: "" for name in COLUMNS} | {"path": path}]
    rows = []
    for i in range(len(rec.faces)):
        x1, y1, x2, y2 = (round(float(v), 1) for v in rec.faces.boxes[i])
        marks = [round(float(v), 1) for v in rec.faces.landmarks[i].ravel()]
        values = [path, i, rec.matches.labels[i], round(float(rec.matches.similarities[i]), 4),
                  x1, y1, x2, y2, round(float(rec.faces.scores[i]), 4), *marks]
        rows.append(dict(zip(COLUMNS, values)))
    return rows


class FaceTable:
    """Writes faces.csv (and faces.jsonl with ``json``) row by row into temp files that replace
    the final names only when the run completes."""

    def __init__(self, csv_file, json_file) -> None:
        self._csv = csv.DictWriter(csv_file, fieldnames=COLUMNS)
        self._csv.writeheader()
        self._json = json_file

    def add(self, result: PhotoResult) -> None:
        for row in face_rows(result):
            self._csv.writerow(row)
            if self._json is not None:
                record = {k: (None if v == "" else v) for k, v in row.items()}
                self._json.write(json.dumps(record, ensure_ascii=False) + "\n")


@contextmanager
def face_table(out_dir: Path, with_json: bool) -> Iterator[FaceTable]:
    with atomic_path(out_dir / CSV_NAME) as csv_tmp, open(csv_tmp, "w", newline="", encoding="utf-8") as csv_file:
        if not with_json:
            yield FaceTable(csv_file, None)
            return
        with atomic_path(out_dir / JSON_NAME) as json_tmp, open(json_tmp, "w", encoding="utf-8") as json_file:
            yield FaceTable(csv_file, json_file)
