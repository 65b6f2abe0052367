"""`annotate photos` and `annotate align`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from .app import (
    BankOpt,
    DeviceOpt,
    MinFaceOpt,
    ModelOpt,
    OverwriteOpt,
    PrecisionOpt,
    ThresholdOpt,
    app,
    echo_error,
    recognizer_for,
)


@app.command()
def photos(
    inputs: Annotated[list[Path], typer.Argument(help="Photos, or folders searched recursively.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the annotated copies, faces.csv and faces.jsonl.")],
    bank: BankOpt = Path("facebank"),
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    overwrite: OverwriteOpt = False,
    json_lines: Annotated[bool, typer.Option("--json", help="Also write faces.jsonl: the table as JSON lines.")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Photos per batch.")] = 8,
) -> None:
    """Name the faces in photos: write annotated copies and a table of every face.

    Each photo is copied to the same relative path under `--out`, in the same format,
    with boxes, names, similarities and landmarks drawn. `--out/faces.csv` gets one row per
    face (a photo without faces gets one row with an empty label).

    Example: `annotate photos samples/photos --out out/`
    """
    from ..photos import CSV_NAME, JSON_NAME, annotate_photos, face_table, plan

    jobs = plan(inputs, out, overwrite, [CSV_NAME] + ([JSON_NAME] if json_lines else []))
    recognizer = recognizer_for(model, device, min_face, threshold, bank, precision)
    names: Counter[str] = Counter()
    faces = errors = 0
    with face_table(out, json_lines) as table:
        for result in tqdm(annotate_photos(jobs, recognizer, out, batch), total=len(jobs), unit="photo", dynamic_ncols=True):
            table.add(result)
            if result.error:
                errors += 1
                echo_error(result.error)
            if result.recognition is not None:
                faces += len(result.recognition.faces)
                names.update(result.recognition.matches.labels)
    named = ", ".join(f"{name} x{count}" for name, count in names.most_common()) or "none"
    typer.echo(f"{len(jobs)} photo(s), {faces} face(s), {errors} error(s); names: {named}")
    typer.echo(f"wrote {out / CSV_NAME}")
    if errors:
        raise typer.Exit(1)


@app.command()
def align(
    inputs: Annotated[list[Path], typer.Argument(help="Photos, or folders searched recursively.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the 112x112 crops, named `<stem>_<face>.png`.")],
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the aligned 112x112 face crops that the recognition model sees.

    Useful to inspect what the model gets, or to train on. Faces are numbered in order of
    detection score, from 0.
    """
    from ..align import align_faces
    from ..detect import FaceDetector
    from ..errors import AnnotateError as Error
    from ..media import IMAGE_SUFFIXES, check_out_dir, find_inputs, read_image, write_image

    check_out_dir(inputs, out)
    jobs = find_inputs(inputs, IMAGE_SUFFIXES)
    detector = FaceDetector(device=device, min_face=min_face)
    errors = written = 0
    for job in tqdm(jobs, unit="photo", dynamic_ncols=True):
        try:
            image = read_image(job.source)
        except Error as error:
            errors += 1
            echo_error(str(error))
            continue
        crops = align_faces(image, detector.detect(image), detector.device).round().clamp(0, 255).byte()
        for i, crop in enumerate(crops.permute(0, 2, 3, 1).cpu().numpy()):
            target = out / job.relative.parent / f"{job.relative.stem}_{i}.png"
            if target.exists() and not overwrite:
                errors += 1
                echo_error(f"{target} exists; pass --overwrite to replace it")
                continue
            write_image(target, crop)
            written += 1
    typer.echo(f"{len(jobs)} photo(s), {written} crop(s) written to {out}, {errors} error(s)")
    if errors:
        raise typer.Exit(1)
