"""`annotate photos` and `annotate align`."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .app import (
    Say,
    app,
    bank_for,
    bank_source,
    bar,
    check_overwrite,
    clean_leftovers,
    echo_error,
    recognizer_for,
    say,
    warn,
)
from .options import (
    BankOpt,
    BatchOpt,
    BlurOpt,
    BlurPadOpt,
    BlurStyleOpt,
    DeviceOpt,
    InputsArg,
    JsonOpt,
    KeepOpt,
    LabelsOpt,
    MinFaceOpt,
    ModelOpt,
    NoBoxesOpt,
    NoLandmarksOpt,
    NoScoresOpt,
    OverwriteOpt,
    PrecisionOpt,
    QuietOpt,
    ShowNearestOpt,
    SkipExistingOpt,
    ThreadsOpt,
    ThresholdOpt,
    VerboseOpt,
    blur_policy,
    draw_options,
    flag,
    path_option,
)

if TYPE_CHECKING:
    from ..media import InputFile

CSV_NAME = "faces.csv"


@app.command()
def photos(
    inputs: InputsArg,
    out: Annotated[
        Optional[Path],
        path_option(
            "--out", "-o", help="Folder for the annotated copies (and `faces.csv`, unless `--csv` says otherwise)."
        ),
    ] = None,
    csv: Annotated[
        Optional[Path], path_option("--csv", help="Table of every face, one row per face. Default: `OUT/faces.csv`.")
    ] = None,
    detections: Annotated[
        Optional[Path],
        path_option("--detections", help="Also write the table as JSON lines, one per face, to this file."),
    ] = None,
    report: Annotated[
        Optional[Path],
        path_option(
            "--report",
            help="An HTML gallery of the faces grouped by person: the people the bank names, then the unknown faces grouped as `annotate people` groups them. Self-contained.",
        ),
    ] = None,
    no_render: Annotated[
        bool, flag("--no-render", help="Write only the table (`OUT/faces.csv`), no copies: for indexing a library.")
    ] = False,
    xmp: Annotated[
        bool,
        flag(
            "--xmp",
            help="Also write each copy's face regions and names to a sidecar `NAME.EXT.xmp` (MWG regions, which digiKam, Lightroom, Immich and PhotoPrism read). Hidden faces are left out.",
        ),
    ] = False,
    no_boxes: NoBoxesOpt = False,
    no_landmarks: NoLandmarksOpt = False,
    no_scores: NoScoresOpt = False,
    labels: LabelsOpt = "all",
    show_nearest: ShowNearestOpt = False,
    blur: BlurOpt = None,
    keep: KeepOpt = None,
    blur_style: BlurStyleOpt = "gaussian",
    blur_pad: BlurPadOpt = 0.2,
    bank: BankOpt = None,
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    threads: ThreadsOpt = None,
    batch: BatchOpt = None,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Name the faces in photos: write annotated copies and a table of every face.

    Each photo is copied to the same relative path under `--out`, in the same format,
    with boxes, names, similarities and landmarks drawn. The table (`OUT/faces.csv`) gets one
    row per face; a photo without faces gets one row with an empty label. Without `--out`,
    give `--csv`, `--detections` or `--json` and no copies are made.

    Example: `annotate photos ~/Pictures/party -o named/ -b ~/people`

    To publish: `--blur unknown` hides the faces the bank does not name, `--blur all --keep Jo`
    everyone but Jo.
    """
    from ..errors import AnnotateError, InputError
    from ..media import check_writable, refuse_existing
    from ..media.xmp import sidecar
    from ..photos import plan, recognise_photos, save_annotated
    from ..report.photos import PhotoGallery
    from ..writers import PhotoTable, json_record, photo_rows

    Say.set(quiet, verbose)
    policy = blur_policy(blur, keep, blur_style, blur_pad)
    drawing = draw_options(no_boxes, no_landmarks, no_scores, labels, show_nearest, policy)
    if policy is not None and (out is None or no_render):
        raise InputError("--blur hides faces in the copies: give --out, without --no-render")
    if xmp and (out is None or no_render):
        raise InputError("--xmp writes a sidecar beside each copy: give --out, without --no-render")
    csv = csv if csv is not None else (out / CSV_NAME if out is not None else None)
    if out is None and csv is None and detections is None and report is None and not as_json:
        raise InputError(
            "say where the results go: --out FOLDER for annotated copies, or --csv, --detections, --report or --json"
        )
    check_overwrite(overwrite, skip_existing)
    copies = None if no_render else out
    tables = [p for p in (csv, detections) if p is not None]
    jobs = plan(inputs, copies, overwrite, tables, skip_existing)
    if xmp and copies is not None and not skip_existing:
        refuse_existing([sidecar(copies / j.relative) for j in jobs], overwrite)
    if report is not None:
        check_writable(files=[report])
        report = None if skip_existing and os.path.lexists(report) else report
        refuse_existing([report] if report is not None else [], overwrite)
    gallery = PhotoGallery() if report is not None else None
    kept, done = _already_made(jobs, copies, tables) if skip_existing else (set(), set())
    if len(kept) == len(tables) and not as_json and gallery is None:  # only photos without a copy need work
        jobs = [j for j in jobs if copies is not None and j.source not in done]
    if not jobs:
        say("nothing to do: every output exists")
        return
    clean_leftovers([*(copies / j.relative.parent for j in jobs if copies is not None), *(p.parent for p in tables)])
    source = bank_source(bank)
    recognizer = recognizer_for(model, device, min_face, threshold, precision, threads)
    face_bank = bank_for(source, recognizer)
    if drawing.blur is not None:
        drawing.blur.check_names(face_bank.labels)
    names: Counter[str] = Counter()
    faces = errors = 0
    fresh = PhotoTable(None if csv in kept else csv, None if detections in kept else detections, overwrite)
    with fresh as table, bar(len(jobs), "photos", "photo") as progress:
        for result in recognise_photos(jobs, recognizer, face_bank, batch):
            if copies is not None and result.error is None and result.source not in done:
                try:
                    save_annotated(result, copies, replace=overwrite, drawing=drawing, xmp=xmp)
                except AnnotateError as error:
                    result = replace(result, image=None, error=str(error))
            table.add(result)
            if gallery is not None and result.faces is not None and result.image is not None:
                gallery.add(result.source, result.image, result.faces)
            progress.update(1)
            if as_json:
                for row in photo_rows(result):
                    typer.echo(json.dumps(json_record(row), ensure_ascii=False))
            if result.error:
                errors += 1
                echo_error(result.error)
            if result.faces is not None:
                faces += len(result.faces)
                names.update(result.faces.names())
    if not as_json:
        named = ", ".join(f"{name} x{count}" for name, count in names.most_common()) or "none"
        skipped = f", {len(done)} copy(ies) kept" if done else ""
        say(f"{len(jobs)} photo(s), {faces} face(s), {errors} error(s){skipped}; names: {named}")
        for target in tables:
            say(f"kept {target}" if target in kept else f"wrote {target}")
    if gallery is not None and report is not None:
        gallery.write(report, replace=overwrite)
        if not as_json:
            say(f"wrote {report}")
    if errors:
        raise typer.Exit(1)


def _already_made(jobs: list[InputFile], copies: Path | None, tables: list[Path]) -> tuple[set[Path], set[Path]]:
    """For --skip-existing: the tables that exist (kept as they are, with a warning when they
    do not list every photo), and the photos whose copy exists."""
    from ..writers import listed_photos

    kept = {p for p in tables if os.path.lexists(p)}
    done = {j.source for j in jobs if copies is not None and os.path.lexists(copies / j.relative)}
    for table in sorted(kept):
        listed = listed_photos(table)
        missing = [j.source for j in jobs if str(j.source) not in listed]
        if missing:
            warn(
                f"warning: {table} is kept as it is, but does not list {len(missing)} of the photos "
                f"(e.g. {missing[0]}); pass --overwrite to make it again"
            )
    return kept, done


@app.command()
def align(
    inputs: InputsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the 112x112 crops, named `<stem>_<face>.png`.")],
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the aligned 112x112 face crops that the recognition model sees.

    Useful to inspect what the model gets, or to train on. Faces are numbered in order of
    detection score, from 0.
    """
    from ..detection.detect import FaceDetector
    from ..errors import AnnotateError, InputError, OutputExistsError
    from ..media import IMAGE_SUFFIXES, check_out_dir, check_writable, find_inputs, read_image, write_image
    from ..media.photo import UNREAD_IMAGE_SUFFIXES
    from ..recognition.align import align_faces
    from ..runtime import cpuload
    from ..runtime.devices import default_threads, using_threads

    Say.set(quiet, False)
    check_overwrite(overwrite, skip_existing)
    check_out_dir(inputs, out)
    jobs = find_inputs(inputs, IMAGE_SUFFIXES, UNREAD_IMAGE_SUFFIXES)
    stems: dict[Path, Path] = {}
    for job in jobs:  # a.jpg and a.png would both write a_0.png
        first = stems.setdefault(job.relative.with_suffix(""), job.source)
        if first != job.source:
            raise InputError(f"{first} and {job.source} would both write their crops as {job.relative.stem}_<face>.png")
    check_writable([out])
    clean_leftovers([out / j.relative.parent for j in jobs])
    started = cpuload.sample()
    detector = FaceDetector(device=device, min_face=min_face)
    errors = written = kept = 0
    with using_threads(threads or default_threads(since=started)), bar(len(jobs), "photos", "photo") as progress:
        for job in jobs:
            progress.update(1)
            try:
                image = read_image(job.source)
            except AnnotateError as error:
                errors += 1
                echo_error(str(error))
                continue
            crops = align_faces(image, detector.detect(image), detector.device).round().clamp(0, 255).byte()
            for i, crop in enumerate(crops.permute(0, 2, 3, 1).cpu().numpy()):
                target = out / job.relative.parent / f"{job.relative.stem}_{i}.png"
                if skip_existing and os.path.lexists(target):
                    kept += 1
                    continue
                try:
                    write_image(target, crop, replace=overwrite)
                except AnnotateError as error:
                    errors += 1
                    hint = "; pass --overwrite or --skip-existing" if isinstance(error, OutputExistsError) else ""
                    echo_error(f"{error}{hint}")
                    continue
                written += 1
    also = f", {kept} kept" if kept else ""
    say(f"{len(jobs)} photo(s), {written} crop(s) written to {out}{also}, {errors} error(s)")
    if errors:
        raise typer.Exit(1)
