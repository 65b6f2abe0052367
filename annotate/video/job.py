"""One video from start to finish, as the command line and the worker processes run it:
analyse, write the timeline and detections, render. Planning checks every output first, so a
run never replaces a user's file unless asked to."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..drawing.options import DrawOptions
from ..errors import InputError
from ..media import check_out_dir, check_targets, check_writable, find_inputs, refuse_existing
from ..media.probe import VIDEO_SUFFIXES
from ..recognition.bank import FaceBank
from ..recognition.recognizer import Recognizer
from ..writers import to_csv, to_jsonl
from .analysis import Progress, VideoAnalysis, VideoOptions, analyse_video
from .identity import Track
from .render import OUTPUT_FORMATS, output_format, render_video
from .report import write_video_report
from .timeline import Appearance


@dataclass(frozen=True)
class VideoJob:
    """One input video and its outputs (None: not wanted)."""

    source: Path
    output: Path | None
    csv: Path | None
    detections: Path | None
    report: Path | None = None


@dataclass(frozen=True)
class VideoReport:
    """What happened to one video, small enough to send back from a worker process: its counts,
    tracks and appearances, and the render's notes. The per-frame faces are not kept: they went
    into the files the job asked for (a long video has a Faces per analysed frame)."""

    job: VideoJob
    decoded: int
    analysed: int
    lost: int
    error: str | None
    tracks: dict[int, Track]
    appearances: tuple[Appearance, ...]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, job: VideoJob, analysis: VideoAnalysis, notes: list[str]) -> VideoReport:
        a = analysis
        return cls(job, a.decoded, len(a.frames), a.lost, a.error, a.tracks, a.appearances, notes)


def output_name(relative: Path) -> Path:
    """A video's relabelled copy's name: its own, or ``.mp4`` for a container annotate does not write."""
    return relative if relative.suffix.lower() in OUTPUT_FORMATS else relative.with_suffix(".mp4")


def plan_videos(
    inputs: Sequence[Path],
    out: Path | None,
    csv: Path | None,
    detections: Path | None,
    overwrite: bool,
    skip_existing: bool = False,
    report: Path | None = None,
) -> list[VideoJob]:
    """Jobs for ``inputs`` (files, or folders searched recursively). With one input file, each
    of out/csv/detections/report names a file (or an existing folder to write it in); with several, a
    folder that mirrors the input tree. Every output location must be writable; an existing
    output is refused unless ``overwrite``, or, with ``skip_existing``, left out of its job
    (a job with nothing left to write is dropped)."""
    files = find_inputs(inputs, VIDEO_SUFFIXES)
    if not files:
        raise InputError("no videos found in the inputs (looked for " + ", ".join(sorted(VIDEO_SUFFIXES)) + ")")
    single = len(files) == 1 and not inputs[0].is_dir()
    for folder in (out, csv, detections, report):
        if folder is not None and not single:
            check_out_dir(inputs, folder)

    def place(target: Path | None, relative: Path, suffix: str | None) -> Path | None:
        if target is None:
            return None
        if single and target.suffix and not target.is_dir():
            return target
        name = output_name(relative) if suffix is None else relative.with_suffix(suffix)
        return target / name

    jobs = [
        VideoJob(
            f.source,
            place(out, f.relative, None),
            place(csv, f.relative, ".csv"),
            place(detections, f.relative, ".jsonl"),
            place(report, f.relative, ".html"),
        )
        for f in files
    ]
    pairs = [(j.source, t) for j in jobs for t in _outputs(j) if t is not None]
    targets = [t for _, t in pairs]
    check_targets(pairs)
    for job in jobs:
        if job.output is not None:
            output_format(job.output)
    check_writable(files=targets)
    if skip_existing:
        return _without_existing(jobs)
    refuse_existing(targets, overwrite)
    return jobs


def _outputs(job: VideoJob) -> tuple[Path | None, ...]:
    return job.output, job.csv, job.detections, job.report


def _without_existing(jobs: list[VideoJob]) -> list[VideoJob]:
    """The jobs with outputs that exist left out (None), and jobs with none left dropped."""
    left = []
    for job in jobs:
        keep = [None if t is None or os.path.lexists(t) else t for t in _outputs(job)]
        if any(t is not None for t in keep):
            left.append(VideoJob(job.source, *keep))
    return left


def process_video(
    job: VideoJob,
    recognizer: Recognizer,
    bank: FaceBank,
    options: VideoOptions,
    progress: Progress,
    include_unknown: bool = False,
    overwrite: bool = False,
    drawing: DrawOptions | None = None,
) -> VideoReport:
    """Analyse one video, render it, then write its timeline, detections and report (each where the
    job asks for it): the tables appear only once the render has succeeded, so a stopped run
    leaves either every output of a video or those ``--skip-existing`` redoes. An existing
    output is replaced only with ``overwrite`` (OutputExistsError: another run wrote it).
    drawing: how the render shows faces, and whose it hides."""
    analysis = analyse_video(job.source, recognizer, bank, options, progress)
    return write_outputs(job, analysis, progress, include_unknown, overwrite, drawing)


def write_outputs(
    job: VideoJob,
    analysis: VideoAnalysis,
    progress: Progress,
    include_unknown: bool = False,
    overwrite: bool = False,
    drawing: DrawOptions | None = None,
) -> VideoReport:
    """The job's outputs of an ``analysis`` (``process_video`` after analysing, or an analysis
    read back from a detections file): render, then timeline, detections and report."""
    notes: list[str] = []
    if job.output is not None:
        tick = progress("render", analysis.decoded)
        notes = render_video(analysis, job.output, tick=tick, overwrite=overwrite, drawing=drawing)
    if job.csv is not None:
        to_csv(analysis, job.csv, include_unknown=include_unknown, overwrite=overwrite)
    if job.detections is not None:
        to_jsonl(analysis, job.detections, overwrite=overwrite)
    if job.report is not None:
        write_video_report(analysis, job.report, job.output, replace=overwrite)
    return VideoReport.of(job, analysis, notes)
