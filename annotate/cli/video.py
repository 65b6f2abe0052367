"""`annotate video`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import Say, app, bank_for, bank_source, check_overwrite, clean_leftovers, recognizer_for, say
from .options import (
    BankOpt,
    BatchOpt,
    BlurOpt,
    BlurPadOpt,
    BlurStyleOpt,
    DeviceOpt,
    ExactOpt,
    InputsArg,
    JsonOpt,
    KeepOpt,
    LabelsOpt,
    MinFaceOpt,
    ModelOpt,
    NoBoxesOpt,
    NoLandmarksOpt,
    NoScoresOpt,
    OverwriteOpt,
    PrecisionOpt,
    QuietOpt,
    ShowNearestOpt,
    SkipExistingOpt,
    ThreadsOpt,
    ThresholdOpt,
    VerboseOpt,
    blur_policy,
    draw_options,
    flag,
    path_option,
)
from .video_run import in_parallel, one_by_one, render_from_detections


@app.command()
def video(
    inputs: InputsArg,
    out: Annotated[
        Optional[Path],
        path_option("--out", "-o", help="The relabelled video (.mp4/.mov/.mkv), or a folder for several."),
    ] = None,
    csv: Annotated[
        Optional[Path], path_option("--csv", help="Timeline CSV of who appears when (a folder for several videos).")
    ] = None,
    detections: Annotated[
        Optional[Path],
        path_option(
            "--detections",
            help="JSON lines, one per analysed frame: every face's box, landmarks, label, similarity and track (a folder for several videos).",
        ),
    ] = None,
    from_detections: Annotated[
        Optional[Path],
        path_option(
            "--from-detections",
            help="Render from a detections file (`--detections` of an earlier run, edited if you like: a name fixed, a face removed) instead of analysing the video again.",
        ),
    ] = None,
    report: Annotated[
        Optional[Path],
        path_option(
            "--report",
            help="An HTML page of who appears when: a lane per person, a bar per appearance that plays the video from there (a folder for several videos). Self-contained; open it beside the video.",
        ),
    ] = None,
    no_render: Annotated[
        bool, flag("--no-render", help="Skip drawing and encoding: write only the CSV / detections / report.")
    ] = False,
    sample_fps: Annotated[
        Optional[float],
        typer.Option(
            "--sample-fps",
            min=0.01,
            show_default=False,
            help="Analyse only this many frames per second (fast indexing).",
        ),
    ] = None,
    include_unknown: Annotated[
        bool, flag("--include-unknown", help="Also list unknown people (`Unknown #3`) in the CSV.")
    ] = False,
    merge_gap: Annotated[
        float,
        typer.Option(
            "--merge-gap", min=0.0, help="Appearances of one person at most this many seconds apart make one CSV row."
        ),
    ] = 1.0,
    max_gap: Annotated[
        int, typer.Option("--max-gap", min=0, help="Analysed frames a face may go unseen before its track ends.")
    ] = 10,
    crf: Annotated[
        int, typer.Option("--crf", min=0, max=51, help="libx264 quality: lower is better and bigger; 0 is lossless.")
    ] = 18,
    preset: Annotated[
        str, typer.Option("--preset", help="libx264 speed preset (ultrafast ... veryslow).")
    ] = "veryfast",
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=1,
            help="Videos processed at once, each in its own process with its own copy of the models (for several videos). On the CPU the threads are shared out among them.",
        ),
    ] = 1,
    no_boxes: NoBoxesOpt = False,
    no_landmarks: NoLandmarksOpt = False,
    no_scores: NoScoresOpt = False,
    labels: LabelsOpt = "all",
    show_nearest: ShowNearestOpt = False,
    blur: BlurOpt = None,
    keep: KeepOpt = None,
    blur_style: BlurStyleOpt = "gaussian",
    blur_pad: BlurPadOpt = 0.2,
    bank: BankOpt = None,
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    threads: ThreadsOpt = None,
    batch: BatchOpt = None,
    exact: ExactOpt = False,
    overwrite: OverwriteOpt = False,
    skip_existing: SkipExistingOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Relabel a video with names, keep its sound, and write a timeline of who appears when.

    The output keeps the input's resolution, frame rate and every frame's timestamp; audio
    and subtitle streams are copied untouched. Each face is followed from frame to frame and
    named once from all its frames, so names do not flicker; unknown people are told apart
    as `Unknown #N`.

    Example: `annotate video party.mp4 -o party-named.mp4 --csv who.csv`

    To publish: `--blur unknown` hides everyone the bank does not name, in every frame they are
    in (boxes are followed between analysed frames); `--blur all --keep Jo` everyone but Jo.
    With `--sample-fps`, blurring still runs the face detector on every frame, so that a face
    seen only between analysed frames is hidden too.
    """
    from ..errors import InputError
    from ..video.analysis import VideoOptions
    from ..video.job import plan_videos

    Say.set(quiet, verbose)
    policy = blur_policy(blur, keep, blur_style, blur_pad)
    drawing = draw_options(no_boxes, no_landmarks, no_scores, labels, show_nearest, policy)
    if policy is not None and (no_render or out is None):
        raise InputError("--blur hides faces in the relabelled video: give --out, without --no-render")
    if no_render:
        out = None
    elif out is None:
        raise InputError("say where the relabelled video goes with --out, or pass --no-render with --csv")
    if out is None and csv is None and detections is None and report is None and not as_json:
        raise InputError("--no-render writes only the timeline: give --csv, --detections, --report or --json")
    options = VideoOptions(
        batch=batch,
        max_gap=max_gap,
        merge_gap=merge_gap,
        sample_fps=sample_fps,
        crf=crf,
        preset=preset,
        detect_all=policy is not None,  # a face seen only between samples is blurred too
        exact=True if exact else None,
    )
    check_overwrite(overwrite, skip_existing)
    planned = plan_videos(inputs, out, csv, detections, overwrite, skip_existing, report)
    if not planned:
        say("nothing to do: every output exists")
        return
    clean_leftovers([t.parent for j in planned for t in (j.output, j.csv, j.detections, j.report) if t is not None])
    if from_detections is not None:
        render_from_detections(planned, from_detections, options, include_unknown, as_json, overwrite, drawing)
        return
    source = bank_source(bank)
    recognizer = recognizer_for(model, device, min_face, threshold, precision, threads)
    face_bank = bank_for(source, recognizer)
    if drawing.blur is not None:
        drawing.blur.check_names(face_bank.labels)
    if jobs > 1 and len(planned) > 1:
        workers = min(jobs, len(planned))
        failed = in_parallel(
            planned, recognizer, face_bank, workers, options, include_unknown, as_json, overwrite, drawing
        )
    else:
        failed = one_by_one(planned, recognizer, face_bank, options, include_unknown, as_json, overwrite, drawing)
    if failed:
        raise typer.Exit(1)
