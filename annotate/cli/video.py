"""`annotate video`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from tqdm import tqdm

from .app import (
    BankOpt, DeviceOpt, MinFaceOpt, ModelOpt, OverwriteOpt, PrecisionOpt, ThresholdOpt, app, echo_error, recognizer_for,
)


@app.command()
def video(
    inputs: Annotated[list[Path], typer.Argument(help="Videos (anything FFmpeg reads), or folders of them.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", help="The relabelled video (.mp4/.mov/.mkv), or a folder for several.")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Timeline CSV of who appears when (a folder for several videos).")] = None,
    detections: Annotated[Optional[Path], typer.Option("--detections", help="JSON lines, one per analysed frame: every face's box, landmarks, label, similarity and track.")] = None,
    no_render: Annotated[bool, typer.Option("--no-render", help="Skip drawing and encoding: write only the CSV / detections.")] = False,
    sample_fps: Annotated[Optional[float], typer.Option("--sample-fps", min=0.01, help="Analyse only this many frames per second (fast indexing).")] = None,
    include_unknown: Annotated[bool, typer.Option("--include-unknown", help="Also list unknown people (`Unknown #3`) in the CSV.")] = False,
    merge_gap: Annotated[float, typer.Option("--merge-gap", min=0.0, help="Appearances of one person at most this many seconds apart make one CSV row.")] = 1.0,
    max_gap: Annotated[int, typer.Option("--max-gap", min=0, help="Analysed frames a face may go unseen before its track ends.")] = 10,
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, help="Frames per detector batch. Default: 32 on CUDA, 4 on the CPU.")] = None,
    crf: Annotated[int, typer.Option("--crf", min=0, max=51, help="libx264 quality: lower is better and bigger.")] = 18,
    preset: Annotated[str, typer.Option("--preset", help="libx264 speed preset (ultrafast ... veryslow).")] = "veryfast",
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Videos processed at once, each in its own process with its own copy of the models (for several videos). On the CPU the cores are shared out among them.")] = 1,
    bank: BankOpt = Path("facebank"),
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
    precision: PrecisionOpt = "auto",
    overwrite: OverwriteOpt = False,
) -> None:
    """Relabel a video with names, keep its sound, and write a timeline of who appears when.

    The output keeps the input's resolution, frame rate and every frame's timestamp; audio
    and subtitle streams are copied untouched. Each face is followed from frame to frame and
    named once from all its frames, so names do not flicker; unknown people are told apart
    as `Unknown #N`.

    Example: `annotate video party.mp4 --out party-named.mp4 --csv who.csv`
    """
    from ..errors import InputError
    from ..video import VideoOptions, default_batch, plan_videos

    if no_render:
        out = None
    elif out is None:
        raise InputError("say where the relabelled video goes with --out, or pass --no-render with --csv")
    if out is None and csv is None and detections is None:
        raise InputError("--no-render writes only the timeline: give --csv (or --detections)")
    planned = plan_videos(inputs, out, csv, detections, overwrite)
    recognizer = recognizer_for(model, device, min_face, threshold, bank, precision)
    options = VideoOptions(
        batch=batch or default_batch(recognizer.detector.device), max_gap=max_gap, merge_gap=merge_gap,
        sample_fps=sample_fps, include_unknown=include_unknown, crf=crf, preset=preset,
    )
    if jobs > 1 and len(planned) > 1:
        failed = _in_parallel(planned, recognizer, model, min(jobs, len(planned)), options)
    else:
        failed = _one_by_one(planned, recognizer, options)
    if failed:
        raise typer.Exit(1)


def _one_by_one(planned: list, recognizer, options) -> int:
    """Process the videos in turn, with a progress bar per pass; returns how many failed."""
    from ..errors import InputError
    from ..video import process_video

    failed = 0
    for job in planned:
        bars: list[tqdm] = []

        def progress(stage: str, total: int | None):
            for bar in bars:
                bar.close()
            bars.append(tqdm(total=total, desc=f"{job.source.name}: {stage}", unit="frame", dynamic_ncols=True))
            return bars[-1].update

        try:
            report = process_video(job, recognizer, options, progress)
        except InputError as error:
            failed += 1
            echo_error(str(error))
            continue
        finally:
            for bar in bars:
                bar.close()
        failed += _report(report)
    return failed


def _in_parallel(planned: list, recognizer, model: str, workers: int, options) -> int:
    """Process the videos in worker processes, with one progress bar over every pass of every
    video; returns how many failed."""
    from ..workers import WorkerSettings, process_videos

    settings = WorkerSettings.sharing(recognizer, model, workers)
    failed = 0
    with tqdm(total=0, desc=f"{len(planned)} videos, {workers} at a time", unit="frame", dynamic_ncols=True) as bar:

        def progress(index: int, stage: str, total: int | None, done: int) -> None:
            if total:
                bar.total += total
                bar.refresh()
            if done:
                bar.update(done)

        for job, outcome in process_videos(planned, settings, options, workers, progress):
            if isinstance(outcome, Exception):
                failed += 1
                echo_error(str(outcome))
            else:
                failed += _report(outcome)
    return failed


def _report(report) -> int:
    """Print what happened to one video; returns 1 if it failed part-way, else 0."""
    job = report.job
    for note in report.notes:
        tqdm.write(f"{job.source}: {note}", file=sys.stderr)
    failed = 0
    if report.error:
        failed = 1
        echo_error(
            f"{job.source}: decoding stopped early ({report.error}); {report.lost} frame(s) lost, "
            f"{report.decoded} kept" + (f" in {job.output}" if job.output else "")
        )
    people = sorted({row.label for row in report.rows})
    tqdm.write(
        f"{job.source}: {report.decoded} frame(s), {report.analysed} analysed, {len(report.names)} track(s); "
        f"people: {', '.join(people) or 'none'}", file=sys.stdout,
    )
    for target in (job.output, job.csv, job.detections):
        if target is not None:
            tqdm.write(f"wrote {target}", file=sys.stdout)
    return failed
