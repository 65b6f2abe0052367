"""The typer app and the helpers that word what happens: progress bars, notes, and the face
bank that photos and video use. The options every command shares are in ``cli.options``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from tqdm import tqdm

from .. import __version__

if TYPE_CHECKING:
    from ..recognition.bank import FaceBank
    from ..recognition.loading import BankSource
    from ..recognition.recognizer import Recognizer

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=True,
    pretty_exceptions_enable=False,
)


class Say:
    """How much the command prints: ``quiet`` keeps errors and warnings only (no progress bars),
    ``verbose`` adds details. Set once per command by ``Say.set``."""

    quiet = False
    verbose = False

    @classmethod
    def set(cls, quiet: bool, verbose: bool) -> None:
        cls.quiet, cls.verbose = quiet, verbose and not quiet


def say(message: str) -> None:
    """A result line on stdout (not with --quiet)."""
    if not Say.quiet:
        tqdm.write(message, file=sys.stdout)


def detail(message: str) -> None:
    """A detail on stderr, with --verbose only."""
    if Say.verbose:
        tqdm.write(message, file=sys.stderr)


def warn(message: str) -> None:
    """A note the user should see, on stderr, even with --quiet."""
    tqdm.write(message, file=sys.stderr)


def echo_error(message: str) -> None:
    tqdm.write(f"error: {message}", file=sys.stderr)


def check_overwrite(overwrite: bool, skip_existing: bool) -> None:
    """--overwrite and --skip-existing say opposite things about existing outputs."""
    from ..errors import InputError

    if overwrite and skip_existing:
        raise InputError("--overwrite replaces existing outputs and --skip-existing keeps them: choose one")


def show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """``warnings.showwarning`` for the command line: one line, ``warning: ...``, no source."""
    warn(f"warning: {message}")


def clean_leftovers(folders: list[Path]) -> None:
    """Remove what killed runs left in the output folders (unfinished ``.part`` files), and say so."""
    from ..media import remove_stale_parts

    removed = remove_stale_parts(folders)
    if removed:
        warn(f"removed {len(removed)} unfinished file(s) left by a stopped run, e.g. {removed[0]}")


def bar(total: int | None, desc: str, unit: str) -> tqdm:
    """A progress bar on stderr: none with --quiet, nor when stderr is not a terminal (a log
    file keeps its one line per message)."""
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, disable=True if Say.quiet else None, leave=False)


class Bars:
    """One progress bar at a time, made only when work comes (none for a bank that is current):
    ``stage(desc, total, unit)`` closes the last bar and returns the new one's update;
    ``lazy(desc, unit)`` returns an update that makes its bar on its first call."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def stage(self, desc: str, total: int | None, unit: str) -> Callable[[int], object]:
        self.close()
        self._bar = bar(total, desc, unit)
        return self._bar.update

    def lazy(self, desc: str, unit: str) -> Callable[[int], None]:
        def tick(n: int) -> None:
            (self._bar.update if self._bar is not None else self.stage(desc, None, unit))(n)

        return tick

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"annotate {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, metavar="", help="Print the version and exit."),
    ] = False,
) -> None:
    """Find and name the people in photos and videos.

    Faces are found with MTCNN, described with an ArcFace model, and named by comparing
    them with a face bank built from labelled folders (`<bank>/<label>/*.jpg`).

    Try it: `annotate samples demo && annotate photos demo/photos -b demo/facebank -o out/`
    """
    Say.set(quiet=False, verbose=False)  # commands with -q/-v set their own


BANK_ENV = "ANNOTATE_BANK"


def default_bank() -> Path:
    """``$ANNOTATE_BANK``, else ``<user data folder>/facebank``."""
    from ..runtime.resources import user_data_dir

    env = os.environ.get(BANK_ENV)
    return Path(env).expanduser() if env else user_data_dir() / "facebank"


def bank_path(bank: Path | None, how: str = "pass --bank FOLDER") -> Path:
    """The face bank a command uses: ``--bank``, else the default; a one-line error naming
    where it looked when there is none (``how``: the command's way to name one)."""
    from ..errors import BankError

    if bank is not None:
        return bank
    path = default_bank()
    if not path.exists():
        where = f"${BANK_ENV} ({path})" if os.environ.get(BANK_ENV) else f"${BANK_ENV} (not set), then {path}"
        raise BankError(
            f"no face bank given, and none found at {where}: make <label>/ folders of "
            f"photos there, or {how} (try: annotate samples demo)"
        )
    return path


def recognizer_for(
    model: str, device: str, min_face: int, threshold: Optional[float], precision: str, threads: Optional[int]
) -> Recognizer:
    """The detector and embedder, from settings resolved once."""
    from ..config import Config
    from ..recognition.recognizer import Recognizer

    recognizer = Recognizer(Config(model, device, min_face, threshold, precision, threads))
    c = recognizer.config
    detail(
        f"model {recognizer.model_name} ({c.model}), device {c.device}, {c.precision}, {c.threads} CPU thread(s), "
        f"min face {c.min_face} px, threshold {c.threshold:.3f}"
    )
    return recognizer


def bank_source(bank: Path | None) -> BankSource:
    """The face bank a command will use, found (and a bank file read) before the models load."""
    from ..recognition.loading import locate_bank

    return locate_bank(bank_path(bank))


def bank_for(source: BankSource, recognizer: Recognizer) -> FaceBank:
    """The face bank of ``bank_source`` for photos and video: as read, or refreshed from its
    folder (with a progress bar) and saved beside its photos; says what a refresh did."""
    from ..errors import AnnotateError
    from ..recognition.loading import open_bank

    path = source.path
    with Bars() as bars:
        loaded = open_bank(source, recognizer, tick=bars.lazy(f"face bank {path}: embedding", "photo"))
    report = loaded.report
    if report is not None:
        try:
            loaded.bank.save(loaded.file)
            saved = f"; saved {loaded.file}"
        except AnnotateError as error:
            saved = f"; could not save it ({error}), so it is used unsaved"
        warn(
            f"face bank {path}: embedded {len(report.embedded)} new or changed photo(s), reused {report.reused}{saved}"
        )
        for note in report.notes:
            warn(f"  {note}")
    detail(f"face bank {loaded.file}: {len(loaded.bank)} label(s)")
    return loaded.bank
