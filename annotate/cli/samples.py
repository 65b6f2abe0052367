"""`annotate samples`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import app, say


@app.command()
def samples(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Where to put the samples (created; must not exist yet).")
    ],
) -> None:
    """Copy the samples that ship with annotate into FOLDER, to try it on.

    `FOLDER/photos/`: four photos of Eileen Collins and Grace Hopper (public domain);
    `FOLDER/clip.mp4`: a 4 s clip of them with sound; `FOLDER/facebank/`: a face bank of the
    two, three photos each, laid out as your own bank would be (`<label>/*.jpg`).

    Then: `annotate photos FOLDER/photos -b FOLDER/facebank -o out/`
    """
    import shutil

    from ..errors import InputError
    from ..runtime.resources import sample_path

    if folder.exists():
        raise InputError(f"{folder} exists; name a new folder for the samples")
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(sample_path("photos"), staging / "photos")
    shutil.copy2(sample_path("clip.mp4"), staging / "clip.mp4")
    shutil.copytree(sample_path("facebank"), staging / "facebank", ignore=shutil.ignore_patterns("*.npz"))
    staging.rename(folder)
    say(
        f"wrote {folder}/photos, {folder}/clip.mp4 and {folder}/facebank; try: "
        f"annotate photos {folder}/photos -b {folder}/facebank -o out/"
    )
