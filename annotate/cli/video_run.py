"""How `annotate video` runs its planned jobs: from a detections file, one by one, or in
worker processes, with a progress bar per stage and a line (or JSON) per video."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .app import Bars, bar, detail, echo_error, say, warn

if TYPE_CHECKING:
    from ..drawing.options import DrawOptions
    from ..recognition.bank import FaceBank
    from ..recognition.recognizer import Recognizer
    from ..video.analysis import VideoOptions
    from ..video.job import VideoJob, VideoReport


def render_from_detections(
    planned: list[VideoJob],
    detections: Path,
    options: VideoOptions,
    include_unknown: bool,
    as_json: bool,
    overwrite: bool,
    drawing: DrawOptions,
) -> None:
    """Write one video's outputs from an (edited) detections file: no model is loaded."""
    from ..errors import InputError
    from ..media import resolved
    from ..video.edited import analysis_from_detections
    from ..video.job import write_outputs

    if len(planned) != 1:
        raise InputError("--from-detections renders one video: give one video file")
    job = planned[0]
    if resolved(detections) in {
        resolved(t) for t in (job.output, job.csv, job.detections, job.report) if t is not None
    }:
        raise InputError(f"{detections}: an output would replace the file --from-detections reads")
    analysis = analysis_from_detections(job.source, detections, options)
    if drawing.blur is not None:  # the names are the file's, as edited
        drawing.blur.check_names(sorted({t.label for t in analysis.tracks.values() if t.label is not None}))
    with Bars() as bars:
        report = write_outputs(
            job, analysis, partial(_stage_bar, bars, job.source.name), include_unknown, overwrite, drawing
        )
    if _report(report, include_unknown, as_json):
        raise typer.Exit(1)


def one_by_one(
    planned: list[VideoJob],
    recognizer: Recognizer,
    face_bank: FaceBank,
    options: VideoOptions,
    include_unknown: bool,
    as_json: bool,
    overwrite: bool,
    drawing: DrawOptions | None = None,
) -> int:
    """Process the videos in turn, with a progress bar per pass; returns how many failed. A
    video that fails (unreadable, an output that cannot be written) gets one line, and the
    next one goes on."""
    from ..errors import AnnotateError
    from ..video.job import process_video

    failed = 0
    for job in planned:
        with Bars() as bars:
            progress = partial(_stage_bar, bars, job.source.name)
            try:
                report = process_video(
                    job, recognizer, face_bank, options, progress, include_unknown, overwrite, drawing
                )
            except AnnotateError as error:
                failed += 1
                echo_error(str(error))
                continue
        failed += _report(report, include_unknown, as_json)
    return failed


def _stage_bar(bars: Bars, name: str, stage: str, total: int | None) -> Callable[[int], object]:
    """The bar of one pass over a video ("analyse", "render"), in frames."""
    return bars.stage(f"{name}: {stage}", total, "frame")


def in_parallel(
    planned: list[VideoJob],
    recognizer: Recognizer,
    face_bank: FaceBank,
    workers: int,
    options: VideoOptions,
    include_unknown: bool,
    as_json: bool,
    overwrite: bool,
    drawing: DrawOptions | None = None,
) -> int:
    """Process the videos in worker processes, with one progress bar over every pass of every
    video; returns how many failed."""
    from ..video.workers import WorkerSettings, process_videos

    settings = WorkerSettings.sharing(recognizer, face_bank, workers, include_unknown, overwrite, drawing)
    failed = 0
    detail(f"{len(planned)} videos, {workers} at a time, each in its own process")
    with bar(0, f"{len(planned)} videos, {workers} at a time", "frame") as progress:

        def tick(index: int, stage: str, total: int | None, done: int) -> None:
            if total:
                progress.total += total
                progress.refresh()
            if done:
                progress.update(done)

        for _job, outcome in process_videos(planned, settings, options, workers, tick):
            if isinstance(outcome, Exception):
                failed += 1
                echo_error(str(outcome))
            else:
                failed += _report(outcome, include_unknown, as_json)
    return failed


def _report(report: VideoReport, include_unknown: bool, as_json: bool) -> int:
    """Print what happened to one video; returns 1 if it failed part-way, else 0."""
    job = report.job
    for note in report.notes:
        warn(f"{job.source}: {note}")
    failed = 0
    if report.error:
        failed = 1
        echo_error(
            f"{job.source}: decoding stopped early ({report.error}); {report.lost} frame(s) lost, "
            f"{report.decoded} kept" + (f" in {job.output}" if job.output else "")
        )
    shown = [a for a in report.appearances if include_unknown or a.label is not None]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "video": str(job.source),
                    "frames": report.decoded,
                    "analysed": report.analysed,
                    "tracks": len(report.tracks),
                    "lost": report.lost,
                    "error": report.error,
                    "appearances": [
                        {"label": a.name, "tracks": list(a.tracks), "start": round(a.start, 3), "end": round(a.end, 3)}
                        for a in shown
                    ],
                },
                ensure_ascii=False,
            )
        )
        return failed
    people = sorted({a.name for a in shown})
    brief = sum(1 for t in report.tracks.values() if t.spurious)
    left_out = f" ({brief} brief or uncertain detection(s) left out)" if brief else ""
    say(
        f"{job.source}: {report.decoded} frame(s), {report.analysed} analysed, "
        f"{len(report.tracks) - brief} people{left_out}; named: {', '.join(people) or 'none'}"
    )
    unknown = sum(1 for t in report.tracks.values() if t.label is None and not t.spurious)
    if not include_unknown and not any(a.label is not None for a in report.appearances) and job.csv is not None:
        warn(
            f"{job.csv}: nobody from the face bank was seen, so the timeline is empty; "
            f"{unknown} unknown person(s) were (list them with --include-unknown)"
        )
    for target in (job.output, job.csv, job.detections, job.report):
        if target is not None:
            say(f"wrote {target}")
    return failed
