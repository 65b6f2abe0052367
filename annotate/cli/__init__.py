"""The ``annotate`` command line: the only package that prints or exits.

Each command lives in a module named after it; importing them registers them on ``app``.
"""

from __future__ import annotations

import sys

import typer

from ..errors import AnnotateError
from . import bank, evaluate, models, photos, video  # noqa: F401  (registers the commands)
from .app import app

__all__ = ["app", "run"]


def run() -> None:
    """Entry point that turns project errors into one-line messages."""
    try:
        app()
    except AnnotateError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
