"""`annotate bank build` and `annotate bank list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import DeviceOpt, MinFaceOpt, ModelOpt, PrecisionOpt, ThresholdOpt, app

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
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Bank file to write (a .npz path, or a folder to hold `facebank.npz`). Default: `FOLDER/facebank.npz`.")] = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    threshold: ThresholdOpt = None,
    precision: PrecisionOpt = "auto",
) -> None:
    """Build or refresh the face bank from labelled folders.

    Each photo's largest face is embedded (with its mirror image); a label's entry is the
    mean of its photos' embeddings. Photos already in the bank file with the same contents,
    model and --min-face are not embedded again, so adding one photo embeds one photo.
    """
    from ..errors import BankError
    from ..facebank import FaceBank, build, quality_problems
    from ..pipeline import Recognizer, bank_file

    target = bank_file(bank if bank is not None else folder)
    recognizer = Recognizer(model=model, device=device, min_face=min_face, threshold=threshold, precision=precision)
    emb = recognizer.embedder
    previous = FaceBank.load(target) if target.is_file() else None
    if previous is not None and previous.model_sha256 != emb.weights.sha256:
        typer.echo(f"{target} was built with {previous.model}; rebuilding it with {emb.name}", err=True)
        previous = None
    report = build(folder, recognizer.embed_files, emb.name, emb.weights.sha256, previous, min_face=min_face)
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
    from ..facebank import FaceBank, quality_problems
    from ..pipeline import bank_file
    from ..weights import default_threshold

    file = bank_file(bank)
    stored = FaceBank.load(file)
    limit = threshold if threshold is not None else default_threshold(stored.model)
    typer.echo(f"{file}: {len(stored)} label(s), model {stored.model} ({stored.model_sha256[:12]})")
    for label, count in zip(stored.labels, stored.counts):
        typer.echo(f"  {label}: {count} photo(s)")
    _echo_problems(quality_problems(stored, limit))
