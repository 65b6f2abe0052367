"""The photo job: faces and names in a set of photos, as values; annotated copies on request."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .drawing.blur import blur_rgb
from .drawing.draw import draw_faces
from .drawing.options import DrawOptions
from .errors import AnnotateError, InputError
from .faces import Faces
from .media import (
    IMAGE_SUFFIXES,
    InputFile,
    check_out_dir,
    check_targets,
    check_writable,
    find_inputs,
    read_image,
    refuse_existing,
    resolved,
    write_image,
)
from .media.photo import UNREAD_IMAGE_SUFFIXES
from .media.xmp import face_regions, write_sidecar
from .recognition.bank import FaceBank
from .recognition.recognizer import Recognizer
from .runtime.devices import default_batch


@dataclass(frozen=True)
class PhotoResult:
    """One photo: its upright (H,W,3) uint8 RGB pixels and named faces, or the error that stopped it.
    relative: where its copy goes under an output folder."""

    source: Path
    relative: Path
    faces: Faces | None = None
    image: np.ndarray | None = None
    error: str | None = None


def plan(
    inputs: Sequence[Path],
    out_dir: Path | None,
    overwrite: bool,
    tables: Sequence[Path] = (),
    skip_existing: bool = False,
) -> list[InputFile]:
    """The photos of ``inputs`` (files, folders searched recursively), after the safety checks
    for copies under ``out_dir`` (None: no copies): not inside an input folder, no two inputs
    writing one file, every output location writable, and no existing file (nor any of
    ``tables``) replaced unless ``overwrite`` (``skip_existing``: existing ones are kept, and
    the caller leaves them be)."""
    if out_dir is not None:
        check_out_dir(inputs, out_dir)
    jobs = find_inputs(inputs, IMAGE_SUFFIXES, UNREAD_IMAGE_SUFFIXES)
    if not jobs:
        raise InputError("no photos found in the inputs (looked for " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")")
    copies = [out_dir / job.relative for job in jobs] if out_dir is not None else []
    check_targets((job.source, target) for job, target in zip(jobs, copies))
    if len({resolved(t) for t in tables}) < len(tables):
        raise InputError(f"{tables[0]}: the CSV and JSON lines would be written to the same file")
    sources = {resolved(job.source) for job in jobs}
    for table in tables:
        if resolved(table) in sources or resolved(table) in {resolved(c) for c in copies}:
            raise InputError(f"{table}: the table would replace a photo")
    check_writable([out_dir] if out_dir is not None else [], tables)
    if not skip_existing:
        refuse_existing(copies + list(tables), overwrite)
    return jobs


def recognise_photos(
    photos: Sequence[InputFile | str | os.PathLike[str]],
    recognizer: Recognizer,
    bank: FaceBank | None = None,
    batch: int | None = None,
) -> Iterator[PhotoResult]:
    """Faces and names of each photo (paths, or the ``plan`` of a command), ``batch`` photos at
    a time (equal sizes share a detector pass, all faces of a batch are embedded together), in
    input order. An unreadable photo gives a result with its error, and the others go on."""
    batch = batch or default_batch(recognizer.config.device)
    if batch < 1:
        raise InputError(f"batch must be at least 1, got {batch}")
    jobs = [p if isinstance(p, InputFile) else InputFile(Path(p), Path(Path(p).name)) for p in photos]
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        images: list[np.ndarray] = []
        readable: list[int] = []
        results = [PhotoResult(job.source, job.relative) for job in chunk]
        for i, job in enumerate(chunk):
            try:
                images.append(read_image(job.source))
                readable.append(i)
            except AnnotateError as error:
                results[i] = PhotoResult(job.source, job.relative, error=str(error))
        for i, image, faces in zip(readable, images, recognizer.recognise(images, bank) if images else []):
            results[i] = PhotoResult(chunk[i].source, chunk[i].relative, faces, image)
        yield from results


def save_annotated(
    result: PhotoResult, out_dir: Path, replace: bool = False, drawing: DrawOptions | None = None, xmp: bool = False
) -> Path:
    """Write the photo with its faces drawn to ``out_dir / result.relative``, atomically, in
    the photo's format; returns the path. drawing: which marks and labels, and whose faces are
    hidden instead of drawn. xmp: also write its face regions and names (not the hidden
    faces') to a sidecar, ``NAME.EXT.xmp`` (``media.xmp``).
    OutputExistsError if the file exists (unless ``replace``), OutputError if it cannot be
    written."""
    if result.image is None or result.faces is None:
        raise ValueError(f"{result.source} has no picture to draw on ({result.error})")
    image, faces = result.image, result.faces
    drawing = drawing or DrawOptions()
    blur = drawing.blur
    if blur is not None:
        hide = np.array([blur.hides(label) for label in faces.labels or (None,) * len(faces)], bool)
        image = blur_rgb(image, faces.boxes[hide], blur.style, blur.pad)
        faces = faces[~hide]
    output = out_dir / result.relative
    write_image(output, draw_faces(image, faces, options=drawing), replace)
    if xmp:
        boxes = [tuple(float(v) for v in box) for box in faces.boxes]
        names = list(faces.labels or (None,) * len(faces))
        write_sidecar(output, face_regions(image.shape[1], image.shape[0], boxes, names), replace)  # type: ignore[arg-type]
    return output
