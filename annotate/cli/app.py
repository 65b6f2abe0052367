"""The typer app, the options every command shares (one meaning each), and the helpers that
word what happens: progress bars, notes, and the face bank that photos and video use."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from tqdm import tqdm

from .. import __version__

if TYPE_CHECKING:
    from ..drawing.blur import BlurPolicy
    from ..drawing.options import DrawOptions
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


def flag(*names: str, help: str) -> Any:
    """A boolean option shown as a flag (no `<bool>` value in --help)."""
    return typer.Option(*names, help=help, metavar="")


def path_option(*names: str, help: str) -> Any:
    """An optional path option: no value shown in --help when it is not given (the help says
    what the command does then)."""
    return typer.Option(*names, show_default=False, help=help)


# Options with one meaning in every command.
BankOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--bank",
        "-b",
        metavar="PATH",
        show_default=False,
        help="Face bank: a folder of `<label>/` photo folders (its `facebank.npz` is built or refreshed when the photos change), or a `.npz` bank file. Default: `$ANNOTATE_BANK`, else the `facebank` folder in your user data folder (`annotate bank where`).",
    ),
]
ThresholdOpt = Annotated[
    Optional[float],
    typer.Option(
        "--threshold",
        "-t",
        min=-1.0,
        max=1.0,
        show_default=False,
        help="Cosine similarity (-1 to 1, higher is more alike) a face needs to take a name; below it the face is Unknown. Raise it to name fewer strangers, lower it to miss fewer known people. Default: the model's, 0.331 for w600k_mbf (1% of strangers named on LFW).",
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="Recognition model: auto, a name from `annotate models`, or a .onnx/.pth/.pt path."
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="auto (CUDA if available), cpu, cuda or cuda:N.")]
MinFaceOpt = Annotated[int, typer.Option("--min-face", min=12, help="Smallest face to look for, in pixels.")]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision",
        help="The embedder's arithmetic: auto (fp16 on CUDA, fp32 on the CPU), fp32, bf16 or fp16 (CUDA only). On a CPU with AVX512-BF16 or AMX, bf16 embeds 2x faster; on LFW it scored 99.68% against fp32's 99.70%.",
    ),
]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option(
        "--threads",
        min=1,
        show_default=False,
        help="CPU threads for the networks. Default: the cores not already kept busy by other work (all of them on an idle machine); on a busy machine more threads than free cores run several times slower.",
    ),
]
BatchOpt = Annotated[
    Optional[int],
    typer.Option(
        "--batch",
        min=1,
        show_default=False,
        help="Images (photos or video frames) per detector pass. Default: 32 on CUDA, 4 on the CPU.",
    ),
]
ExactOpt = Annotated[
    bool,
    flag(
        "--exact",
        help="Embed every face of every analysed frame, as on the GPU. By default the CPU reuses a tracked face's embedding for up to 5 frames while it looks the same: the same people and times, faster (benchmarks/README.md).",
    ),
]
OverwriteOpt = Annotated[bool, flag("--overwrite", help="Replace existing output files (never done otherwise).")]
SkipExistingOpt = Annotated[
    bool,
    flag(
        "--skip-existing",
        help="Keep the outputs that already exist and make the rest: finishes a run that was stopped.",
    ),
]
JsonOpt = Annotated[bool, flag("--json", help="Print the results on stdout as JSON instead of text.")]
QuietOpt = Annotated[bool, flag("--quiet", "-q", help="Print only errors and warnings: no progress bars, no summary.")]
VerboseOpt = Annotated[
    bool, flag("--verbose", "-v", help="Also print the model, device, threads and face bank in use.")
]
BlurOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--blur",
        metavar="WHO",
        show_default=False,
        help="Hide faces instead of drawing them: `all`, `unknown`, `known`, or a person's name (repeat for several). In video a person is hidden in every frame from their first to their last.",
    ),
]
KeepOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--keep",
        metavar="NAME",
        show_default=False,
        help="Never hide this person (repeat for several): `--blur all --keep Jo`.",
    ),
]
BlurStyleOpt = Annotated[str, typer.Option("--blur-style", help="How faces are hidden: gaussian, mosaic or solid.")]
BlurPadOpt = Annotated[
    float,
    typer.Option(
        "--blur-pad", min=0.0, max=2.0, help="Hidden area around each face, as a share of its size on every side."
    ),
]
NoBoxesOpt = Annotated[bool, flag("--no-boxes", help="Draw no box around the faces.")]
NoLandmarksOpt = Annotated[bool, flag("--no-landmarks", help="Draw no landmark dots (eyes, nose, mouth).")]
NoScoresOpt = Annotated[bool, flag("--no-scores", help="Show names without their similarity.")]
LabelsOpt = Annotated[
    str, typer.Option("--labels", help="Which faces get a name label: all, known (the bank's people only) or none.")
]
ShowNearestOpt = Annotated[
    bool,
    flag(
        "--show-nearest",
        help="Label an Unknown face with its nearest bank name and similarity: `Unknown (Ross? 0.29)`.",
    ),
]
InputsArg = Annotated[
    list[Path], typer.Argument(metavar="INPUT", show_default=False, help="Files, or folders searched recursively.")
]

BANK_ENV = "ANNOTATE_BANK"


def draw_options(
    no_boxes: bool,
    no_landmarks: bool,
    no_scores: bool,
    labels: str,
    show_nearest: bool,
    blur: BlurPolicy | None,
) -> DrawOptions:
    """The drawing options of a command, resolved once."""
    from ..drawing.options import DrawOptions

    return DrawOptions(not no_boxes, not no_landmarks, not no_scores, labels, show_nearest, blur)


def blur_policy(blur: list[str] | None, keep: list[str] | None, style: str, pad: float) -> BlurPolicy | None:
    """The ``--blur`` options as a policy (None: nothing hidden); ``--keep`` needs ``--blur``."""
    from ..drawing.blur import BlurPolicy
    from ..errors import InputError

    if not blur:
        if keep:
            raise InputError("--keep names people not to blur: give --blur too (e.g. --blur all --keep Jo)")
        return None
    return BlurPolicy(tuple(blur), frozenset(keep or ()), style, pad)


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
