"""`annotate ray video|photos`: an archive on a Ray cluster, into one table dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import Say, app
from .options import (
    BankOpt,
    BlurOpt,
    BlurPadOpt,
    BlurStyleOpt,
    ExactOpt,
    KeepOpt,
    LabelsOpt,
    MinFaceOpt,
    ModelOpt,
    NoBoxesOpt,
    NoLandmarksOpt,
    NoScoresOpt,
    PrecisionOpt,
    QuietOpt,
    ThresholdOpt,
    VerboseOpt,
    blur_policy,
    draw_options,
    flag,
    path_option,
)
from .ray_driver import Cluster, Wanted, drive

ray_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Annotate archives too big for one machine on a Ray cluster (`pip install 'annotate[ray]'`): every input once, into one Parquet dataset.",
)
app.add_typer(ray_app, name="ray")

SourcesArg = Annotated[
    Optional[list[Path]],
    typer.Argument(
        metavar="INPUT",
        show_default=False,
        help="Files, or folders searched recursively, at paths every worker sees (shared storage).",
    ),
]
OutOpt = Annotated[
    Path,
    path_option(
        "--out",
        "-o",
        help="The run's folder, on storage every worker sees: status/, timeline/ (or faces/), detections/ and the annotated copies. New or empty, or an earlier run's with --resume.",
    ),
]
ManifestOpt = Annotated[
    Optional[Path],
    path_option(
        "--manifest",
        help="A Parquet or CSV table with a `path` column: the inputs, for millions of files (with or instead of INPUT).",
    ),
]
AddressOpt = Annotated[
    Optional[str],
    typer.Option(
        "--address",
        show_default=False,
        help="The cluster to join: `auto` (the one this machine is part of) or HOST:6379. Default: a Ray started here, for this run only.",
    ),
]
WorkersOpt = Annotated[
    Optional[int],
    typer.Option(
        "--workers",
        min=1,
        show_default=False,
        help="Workers, each with its own copy of the models. Default: as many as the cluster's CPUs (or GPUs) hold.",
    ),
]
CpusOpt = Annotated[
    float, typer.Option("--cpus-per-worker", min=0.01, help="CPUs each worker holds; its threads for the networks.")
]
GpusOpt = Annotated[
    float,
    typer.Option("--gpus-per-worker", min=0.0, help="GPUs each worker holds (0: run on the CPU; 0.5: two per GPU)."),
]
FormatOpt = Annotated[str, typer.Option("--format", help="The tables' format: parquet or csv.")]
ResumeOpt = Annotated[
    bool,
    flag(
        "--resume",
        help="Go on with the earlier run in --out: inputs it finished are skipped, the rest are done (again).",
    ),
]
NoRenderOpt = Annotated[bool, flag("--no-render", help="Write only the tables, no annotated copies.")]


@ray_app.command("video")
def ray_video(
    inputs: SourcesArg = None,
    out: OutOpt = ...,  # type: ignore[assignment]
    manifest: ManifestOpt = None,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    cpus_per_worker: CpusOpt = 1.0,
    gpus_per_worker: GpusOpt = 0.0,
    sample_fps: Annotated[
        Optional[float],
        typer.Option("--sample-fps", min=0.01, show_default=False, help="Analyse only this many frames per second."),
    ] = None,
    no_render: NoRenderOpt = False,
    detections: Annotated[
        bool, flag("--detections", help="Also write detections/: one row per face per analysed frame.")
    ] = False,
    include_unknown: Annotated[
        bool, flag("--include-unknown", help="Also list unknown people (`Unknown #3`) in the timeline.")
    ] = False,
    fmt: FormatOpt = "parquet",
    resume: ResumeOpt = False,
    no_boxes: NoBoxesOpt = False,
    no_landmarks: NoLandmarksOpt = False,
    no_scores: NoScoresOpt = False,
    labels: LabelsOpt = "all",
    blur: BlurOpt = None,
    keep: KeepOpt = None,
    blur_style: BlurStyleOpt = "gaussian",
    blur_pad: BlurPadOpt = 0.2,
    bank: BankOpt = None,
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    exact: ExactOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Annotate every video of an archive on a Ray cluster: `annotate video` for each, spread
    over the cluster's workers, with the timelines of all in one table.

    The driver (this command) lists the inputs, builds the face bank once and sends it to the
    workers. Each worker loads the models once and does whole videos. A file that fails is a
    row in status/ with its error, and the run goes on; a lost worker's videos are redone.

    Example: `annotate ray video /mnt/archive -o /mnt/runs/2026-11 --address auto --gpus-per-worker 1 --no-render`
    """
    from ..config import Config
    from ..video.analysis import VideoOptions

    Say.set(quiet, verbose)
    policy = blur_policy(blur, keep, blur_style, blur_pad)
    _check_blur(policy is not None, no_render)
    drawing = draw_options(no_boxes, no_landmarks, no_scores, labels, False, policy)
    video = VideoOptions(sample_fps=sample_fps, detect_all=policy is not None, exact=True if exact else None)
    wanted = Wanted(not no_render, drawing, include_unknown, detections, video)
    config = Config(model, "auto", min_face, threshold, precision)
    cluster = Cluster(address, workers, cpus_per_worker, gpus_per_worker)
    drive("video", inputs, manifest, out, fmt, resume, bank, config, cluster, wanted)


@ray_app.command("photos")
def ray_photos(
    inputs: SourcesArg = None,
    out: OutOpt = ...,  # type: ignore[assignment]
    manifest: ManifestOpt = None,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    cpus_per_worker: CpusOpt = 1.0,
    gpus_per_worker: GpusOpt = 0.0,
    no_render: NoRenderOpt = False,
    fmt: FormatOpt = "parquet",
    resume: ResumeOpt = False,
    no_boxes: NoBoxesOpt = False,
    no_landmarks: NoLandmarksOpt = False,
    no_scores: NoScoresOpt = False,
    labels: LabelsOpt = "all",
    blur: BlurOpt = None,
    keep: KeepOpt = None,
    blur_style: BlurStyleOpt = "gaussian",
    blur_pad: BlurPadOpt = 0.2,
    bank: BankOpt = None,
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Name the faces in every photo of an archive on a Ray cluster, into faces/ (a row per
    face) and status/ (a row per photo), with annotated copies under photos/.

    Example: `annotate ray photos /mnt/photos -o /mnt/runs/photos --address auto`
    """
    from ..config import Config

    Say.set(quiet, verbose)
    policy = blur_policy(blur, keep, blur_style, blur_pad)
    _check_blur(policy is not None, no_render)
    drawing = draw_options(no_boxes, no_landmarks, no_scores, labels, False, policy)
    config = Config(model, "auto", min_face, threshold, precision)
    cluster = Cluster(address, workers, cpus_per_worker, gpus_per_worker)
    drive("photos", inputs, manifest, out, fmt, resume, bank, config, cluster, Wanted(not no_render, drawing))


def _check_blur(blur: bool, no_render: bool) -> None:
    from ..errors import InputError

    if blur and no_render:
        raise InputError("--blur hides faces in the annotated copies: leave out --no-render")
