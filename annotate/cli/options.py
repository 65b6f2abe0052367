"""The options every command shares, one meaning each, and what they resolve to."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from ..drawing.blur import BlurPolicy
    from ..drawing.options import DrawOptions


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
