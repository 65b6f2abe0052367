"""The ``annotate`` command line: the only package that prints, words advice, or exits.

Each command lives in a module named after it; importing them registers them on ``app``.
"""

from __future__ import annotations

import signal
import sys
import warnings

import typer

from ..errors import (
    AnnotateError,
    BankError,
    BankFileError,
    BankModelError,
    DeviceError,
    EarlierRunError,
    InputWarning,
    MissingInputError,
    MissingPackageError,
    OutputExistsError,
    PrecisionError,
)
from . import bank, evaluate, live, models, people, photos, ray, samples, video  # noqa: F401  (registers the commands)
from .app import app, show_warning

__all__ = ["app", "run"]

EXIT_ERROR = 2  # the command could not run; 1: it ran, but some inputs failed


def advice(error: AnnotateError) -> str:
    """What the user can do about a core error, in the command line's words ("" if nothing)."""
    if isinstance(error, MissingInputError) and error.path.name.lower() in ("true", "false", "yes", "no"):
        return "flags such as --overwrite take no value"
    if isinstance(error, OutputExistsError):
        return "pass --overwrite to replace, or --skip-existing to keep and finish the rest"
    if isinstance(error, EarlierRunError):
        return "pass --resume to finish it, or choose a new --out"
    if isinstance(error, DeviceError):
        return "run on the CPU with --device cpu"
    if isinstance(error, PrecisionError):
        return "leave --precision at auto"
    if isinstance(error, MissingPackageError):
        return f"pip install 'annotate[{error.extra}]'"
    if isinstance(error, BankModelError):
        return f"rebuild it: annotate bank build FOLDER --model {error.model}"
    if isinstance(error, BankFileError) or (isinstance(error, BankError) and "not found" in str(error)):
        return "build one with: annotate bank build FOLDER"
    return ""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _setup() -> None:
    """SIGTERM stops a run as Ctrl-C does (unfinished files are removed on the way out); file
    names that are not valid UTF-8 print with escapes instead of stopping the run; warnings
    print as one line each, every time."""
    signal.signal(signal.SIGTERM, _interrupt)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    warnings.showwarning = show_warning
    warnings.simplefilter("always", InputWarning)


def run() -> None:
    """Entry point that turns project errors into one-line messages."""
    _setup()
    try:
        app()
    except AnnotateError as error:
        hint = advice(error)
        message = f"{error}; {hint}" if hint and "annotate " not in str(error) else str(error)
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
        sys.exit(EXIT_ERROR)
    except OSError as error:  # a disk that fills up, a folder that vanishes: the facts, in a line
        where = f"{error.filename}: " if error.filename else ""
        typer.secho(f"error: {where}{error.strerror or error}", err=True, fg=typer.colors.RED)
        sys.exit(EXIT_ERROR)
