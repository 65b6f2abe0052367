"""`annotate bank build`, `annotate bank list` and `annotate bank where`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import Say, app, bank_path, bar, clean_leftovers, default_bank, recognizer_for, say, warn
from .options import (
    BankOpt,
    DeviceOpt,
    JsonOpt,
    MinFaceOpt,
    ModelOpt,
    PrecisionOpt,
    QuietOpt,
    ThreadsOpt,
    ThresholdOpt,
    VerboseOpt,
    path_option,
)

bank_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Build, grow and inspect the face bank: one averaged embedding per person, from `<bank>/<label>/*.jpg`.",
)
app.add_typer(bank_app, name="bank")


def _problems(problems: list[str]) -> None:
    say(f"{len(problems)} possible problem(s)" + (":" if problems else ""))
    for problem in problems:
        say(f"  {problem}")


@bank_app.command("build")
def bank_build(
    folder: Annotated[
        Optional[Path],
        typer.Argument(
            metavar="[FOLDER]",
            show_default=False,
            help="Folder of `<label>/` photo folders; the label is the folder name. Default: the default bank (`annotate bank where`).",
        ),
    ] = None,
    out: Annotated[
        Optional[Path],
        path_option(
            "--out",
            "-o",
            help="Bank file to write (`.npz`). Default: `FOLDER/facebank.npz`, which `--bank FOLDER` reads.",
        ),
    ] = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    threshold: ThresholdOpt = None,
    precision: PrecisionOpt = "auto",
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Build or refresh the face bank from labelled folders.

    Each photo's largest face is embedded (with its mirror image); a label's entry is the
    mean of its photos' embeddings. Photos already in the bank file with the same contents,
    model and --min-face are not embedded again, so adding one photo embeds one photo.

    Example: `annotate bank build ~/people` (then `annotate photos ... -b ~/people`)
    """
    from ..errors import BankError
    from ..media import check_writable
    from ..recognition.bank import scan
    from ..recognition.bank_quality import quality_problems
    from ..recognition.loading import bank_file, build_bank, stored_bank

    Say.set(quiet, verbose)
    source = bank_path(folder, "give FOLDER")
    sources = scan(source)
    target = out if out is not None else bank_file(source)
    check_writable(files=[target])
    clean_leftovers([target.parent])
    recognizer = recognizer_for(model, device, min_face, threshold, precision, threads)
    previous, why = stored_bank(target, recognizer)
    if why:
        warn(why)
    with bar(len(sources), "embedding", "photo") as progress:
        report = build_bank(source, recognizer, previous, tick=progress.update, sources=sources)
    if len(report.bank) == 0:
        raise BankError(f"no faces found under {source}: make {source}/<label>/ folders with photos of each person")
    report.bank.save(target)
    for note in report.notes:
        warn(note)
    say(
        f"wrote {target}: {len(report.bank)} label(s) from {len(report.bank.image_paths)} photo(s); "
        f"embedded {len(report.embedded)}, reused {report.reused}"
    )
    _problems(quality_problems(report.bank, recognizer.threshold))


@bank_app.command("list")
def bank_list(bank: BankOpt = None, threshold: ThresholdOpt = None, as_json: JsonOpt = False) -> None:
    """List the labels of a face bank, their photo counts, and likely problems.

    Problems: a photo that looks more like another label than its own (mislabelled?), a
    label with a single photo, and two labels closer than the match threshold (duplicates?).
    """
    from ..recognition.bank import FaceBank
    from ..recognition.bank_quality import quality_problems
    from ..recognition.loading import bank_file
    from ..recognition.weights import KNOWN_MODELS, default_threshold

    file = bank_file(bank_path(bank))
    stored = FaceBank.load(file)
    spec = KNOWN_MODELS.get(stored.model)
    if spec is not None:
        stored.check_size(spec.embedding_size, stored.model, file)
    limit = threshold if threshold is not None else default_threshold(stored.model)
    problems = quality_problems(stored, limit)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "bank": str(file),
                    "model": stored.model,
                    "model_sha256": stored.model_sha256,
                    "labels": dict(zip(stored.labels, stored.counts.tolist())),
                    "problems": problems,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    say(f"{file}: {len(stored)} label(s), model {stored.model} ({stored.model_sha256[:12]})")
    for label, count in zip(stored.labels, stored.counts):
        say(f"  {label}: {count} photo(s)")
    _problems(problems)


@bank_app.command("add")
def bank_add(
    photos: Annotated[
        Path,
        typer.Argument(
            metavar="FOLDER",
            show_default=False,
            help="A person's folder from `annotate people` (`OUT/person-003`), or any folder of their photos.",
        ),
    ],
    label: Annotated[str, typer.Option("--as", help="The person's name: the bank folder `<bank>/<label>/`.")],
    bank: Annotated[
        Optional[Path],
        path_option(
            "--bank",
            "-b",
            help="Bank folder to add to. Default: `$ANNOTATE_BANK`, else the default bank (`annotate bank where`), made if missing.",
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Add a person's photos to the bank folder under a name.

    Copies the photos of FOLDER into `<bank>/<label>/` (never replacing a file there; a photo
    already there is skipped). Then `annotate bank build` (or any command using the bank)
    embeds them, and the person is named from then on.

    Example: `annotate bank add people/person-003 --as "Ross Geller"`
    """
    from ..errors import InputError
    from ..people.naming import add_to_bank

    Say.set(quiet, False)
    folder = bank if bank is not None else default_bank()
    if folder.suffix == ".npz":
        raise InputError(f"{folder} is a bank file: give the bank's folder of <label>/ photo folders")
    written, same = add_to_bank(photos, folder, label)
    also = f" ({same} already there)" if same else ""
    say(f"added {len(written)} photo(s) to {folder / label.strip()}{also}; now run: annotate bank build {folder}")


@bank_app.command("where")
def bank_where() -> None:
    """Print the default face bank's folder: `$ANNOTATE_BANK` if set, else `facebank` in
    your user data folder. Put `<label>/` folders of photos there and `photos` and `video`
    use it without `--bank`."""
    path = default_bank()
    say(f"{path}" + ("" if path.exists() else " (does not exist yet)"))
