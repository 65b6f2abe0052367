"""`annotate people`: group the faces nobody named, to review and name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .app import Say, app, bank_for, bank_source, bar, clean_leftovers, default_bank, echo_error, recognizer_for, say
from .options import (
    BankOpt,
    DeviceOpt,
    InputsArg,
    MinFaceOpt,
    ModelOpt,
    PrecisionOpt,
    QuietOpt,
    ThreadsOpt,
    ThresholdOpt,
    VerboseOpt,
    flag,
)


@app.command()
def people(
    inputs: InputsArg,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for `people.csv`, the `person-001/` crop folders and the review page `index.html`. A rerun into it keeps the person numbers.",
        ),
    ],
    bank: BankOpt = None,
    everyone: Annotated[bool, flag("--all", help="Group every face, the ones the bank names too.")] = False,
    sample_fps: Annotated[
        float, typer.Option("--sample-fps", min=0.1, help="Video frames analysed per second of video.")
    ] = 5.0,
    group_threshold: Annotated[
        float,
        typer.Option(
            "--group-threshold",
            min=-1.0,
            max=1.0,
            help="Mean cosine similarity between the faces of one person. Lower it to join more (fewer people, more mix-ups), raise it to split more. 0.35 scored best on LFW.",
        ),
    ] = 0.35,
    crops: Annotated[int, typer.Option("--crops", min=1, help="Representative crops written per person.")] = 8,
    no_cache: Annotated[
        bool,
        flag(
            "--no-cache",
            help="Analyse every file again. By default each file's faces are kept by its contents' sha256 in `$ANNOTATE_CACHE` (`~/.cache/annotate`), so a rerun analyses only new files.",
        ),
    ] = False,
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Group the faces the bank does not name into people, to review and name them.

    Photos and videos, as files or folders. Each photo face, and each person a video follows
    (across cuts, at `--sample-fps`), is grouped with the others by how alike they look.
    Writes `OUT/people.csv` (one row per face: person, source, frame, time, face, box,
    similarity to the person), `OUT/person-001/` with the sharpest, most varied crops, and
    `OUT/index.html`, a page to review them.

    To name a person: `annotate bank add OUT/person-003 --as "Ross"`, then
    `annotate bank build`; the next run names them. Without a bank, every face is grouped.

    Example: `annotate people ~/Pictures ~/Videos/party.mp4 -o people/`
    """
    from ..media import check_out_dir, check_writable
    from ..people.cache import cache_path
    from ..people.find import find_people
    from ..people.output import write_people
    from ..people.state import check_people_folder, load_state

    Say.set(quiet, verbose)
    check_out_dir(inputs, out)
    check_people_folder(out)
    check_writable([out])
    clean_leftovers([out])
    source = bank_source(bank) if bank is not None or default_bank().exists() else None
    recognizer = recognizer_for(model, device, min_face, threshold, precision, threads)
    face_bank = bank_for(source, recognizer) if source is not None else None
    previous = load_state(out)
    with bar(None, "files", "file") as progress:
        found = find_people(
            inputs,
            recognizer,
            face_bank,
            everyone,
            sample_fps,
            group_threshold,
            previous,
            lambda _: progress.update(1),
            None if no_cache else cache_path(recognizer, sample_fps),
        )
    for path, error in found.errors:
        echo_error(error if str(path) in error else f"{path}: {error}")
    with bar(None, "crops", "file") as progress:
        write_people(found, out, crops, sample_fps, lambda: progress.update(1))
    kept = sum(1 for p in found.people if p.id in previous.ids)
    known = ", ".join(f"{label} x{n}" for label, n in sorted(found.known.items())) or "none"
    say(
        f"{len(found.people)} person(s) from {len(found.sightings.sources)} face(s) "
        f"({kept} seen in the last run); named by the bank: {known}"
    )
    say(
        f"wrote {out / 'people.csv'} and {out / 'index.html'} (open it in a browser: file://{os.path.abspath(out / 'index.html')})"
    )
    if found.errors:
        raise typer.Exit(1)
