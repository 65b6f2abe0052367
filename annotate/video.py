"""The video job: name the people in a video, keep its audio, and write who appears when.

Two passes over the file keep memory flat however long it is. The analysis pass decodes,
detects and embeds in batches, and links faces into tracks; tracks are then named from their
mean embeddings. The render pass decodes again, draws each frame with its tracks' final names
(on the decoder's own YUV planes where it can, so nothing but the drawing changes), and
encodes, while audio and subtitle packets are copied as they are. Each pass is a pipeline
of threads with small queues (decode | detect or draw | encode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from .draw import draw_faces
from .draw_yuv import draw_faces_yuv
from .errors import InputError
from .match import similarity_matrix
from .media import atomic_path, check_out_dir, check_targets, find_inputs, refuse_existing
from .media.video import VIDEO_SUFFIXES, Frame, VideoInfo, VideoReader, YuvFrame, probe
from .media.writer import VideoWriter
from .pipeline import Recognizer
from .threads import prefetch
from .timeline import Appearance, appearances, face_similarities, write_detections, write_timeline
from .timing import stage
from .track import FrameFaces, IoUTracker, TrackName, TrackSums, name_tracks

OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}

# progress(stage, total frames or None) -> a function called with the frames just done
Progress = Callable[[str, "int | None"], Callable[[int], None]]


@dataclass(frozen=True)
class VideoOptions:
    """batch: frames per detector pass. max_gap: analysed frames a track may be unseen.
    merge_gap: seconds between appearances of one label that still make one row.
    sample_fps: analyse only this many frames per second (None: all). crf, preset: libx264."""

    batch: int = 4
    max_gap: int = 10
    merge_gap: float = 1.0
    sample_fps: float | None = None
    include_unknown: bool = False
    crf: int = 18
    preset: str = "veryfast"


def default_batch(device: object) -> int:
    """Frames per detector pass: 32 on CUDA, 4 on the CPU (where the detector splits a pass
    into cache-sized chunks anyway, so larger batches gain nothing)."""
    return 32 if str(device).startswith("cuda") else 4


@dataclass(frozen=True)
class VideoJob:
    """One input video and its outputs (None: not wanted)."""

    source: Path
    output: Path | None
    csv: Path | None
    detections: Path | None


@dataclass(frozen=True)
class VideoReport:
    """What happened to one video. error: why decoding stopped early, or None."""

    job: VideoJob
    info: VideoInfo
    decoded: int
    analysed: int
    lost: int
    error: str | None
    rows: list[Appearance] = field(default_factory=list)
    names: dict[int, TrackName] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _output_name(relative: Path) -> Path:
    return relative if relative.suffix.lower() in OUTPUT_FORMATS else relative.with_suffix(".mp4")


def plan_videos(
    inputs: Sequence[Path], out: Path | None, csv: Path | None, detections: Path | None, overwrite: bool
) -> list[VideoJob]:
    """Jobs for ``inputs`` (files, or folders searched recursively). With one input file, each
    of out/csv/detections names a file; with several, a folder that mirrors the input tree."""
    files = find_inputs(inputs, VIDEO_SUFFIXES)
    if not files:
        raise InputError("no videos found in the inputs (looked for " + ", ".join(sorted(VIDEO_SUFFIXES)) + ")")
    single = len(files) == 1 and not inputs[0].is_dir()
    for folder in (out, csv, detections):
        if folder is not None and not single:
            check_out_dir(inputs, folder)

    def place(target: Path | None, relative: Path, suffix: str | None) -> Path | None:
        if target is None:
            return None
        if single and target.suffix:
            return target
        name = _output_name(relative) if suffix is None else relative.with_suffix(suffix)
        return target / name

    jobs = [
        VideoJob(f.source, place(out, f.relative, None), place(csv, f.relative, ".csv"), place(detections, f.relative, ".jsonl"))
        for f in files
    ]
    check_targets((j.source, t) for j in jobs for t in (j.output, j.csv, j.detections) if t is not None)
    for job in jobs:
        if job.output is not None and job.output.suffix.lower() not in OUTPUT_FORMATS:
            raise InputError(f"{job.output}: write videos as .mp4, .m4v, .mov or .mkv")
    refuse_existing([p for j in jobs for p in (j.output, j.csv, j.detections) if p is not None], overwrite)
    return jobs


def analyse(
    reader: VideoReader, recognizer: Recognizer, options: VideoOptions, tick: Callable[[int], None]
) -> tuple[list[FrameFaces], TrackSums]:
    """The analysis pass: faces, bank similarities and track ids of every analysed frame, and
    each track's summed embedding."""
    tracker = IoUTracker(max_gap=options.max_gap)
    records: list[FrameFaces] = []
    seen = TrackSums()
    bank = recognizer.bank.embeddings
    batch: list[Frame] = []
    decoded = 0

    def flush() -> None:
        for frame, (faces, emb) in zip(batch, recognizer.describe([f.image for f in batch])):
            with stage("track"):
                tracks = tracker.update(faces.boxes)
                seen.add(tracks, emb)
            with stage("match"):
                sims = similarity_matrix(emb, bank)
            records.append(FrameFaces(frame.index, frame.time, faces, sims, tracks))
        batch.clear()

    for frame in prefetch(reader.frames(options.sample_fps), size=2 * options.batch, name="decode"):
        tick(frame.index + 1 - decoded)
        decoded = frame.index + 1
        batch.append(frame)
        if len(batch) == options.batch:
            flush()
    if batch:
        flush()
    tick(reader.decoded - decoded)
    return records, seen


def render(
    job: VideoJob, info: VideoInfo, records: Sequence[FrameFaces], names: dict[int, TrackName],
    options: VideoOptions, tick: Callable[[int], None],
) -> list[str]:
    """The render pass: draw every frame with its tracks' names and encode; copy audio and
    subtitles. The file appears under its final name only when complete. Returns notes.
    Where the decoder gives 8-bit yuv420p (``passes_through``), pictures stay in YUV and only
    the pixels painted change; others go through RGB."""
    by_index = {r.index: r for r in records}
    hold = 1.0 / options.sample_fps if options.sample_fps else 0.0
    if job.output is None:
        raise ValueError("render() needs a job with an output path")
    with VideoReader(job.source, info) as reader, atomic_path(job.output) as tmp:
        writer = VideoWriter(tmp, info, reader.side_streams(), OUTPUT_FORMATS[job.output.suffix.lower()], options.crf, options.preset)
        shown: FrameFaces | None = None

        def drawn() -> Iterator[tuple[np.ndarray, int | None] | object]:
            nonlocal shown
            for item in prefetch(reader.packets(writer.sources, yuv=True), size=8, name="decode"):
                if not isinstance(item, (Frame, YuvFrame)):
                    yield item
                    continue
                record = by_index.get(item.index)
                if record is not None:
                    shown = record
                elif shown is None or item.time - shown.time >= hold:
                    shown = None
                if isinstance(item, YuvFrame):
                    picture, draw = item.planes, partial(draw_faces_yuv, matrix=info.matrix)
                else:
                    picture, draw = item.image, draw_faces
                if shown is not None and len(shown.faces):
                    labels = [names[t].label for t in shown.tracks.tolist()]
                    with stage("draw"):
                        picture = draw(picture, shown.faces, labels, face_similarities(shown, names))
                yield picture, item.pts

        for item in prefetch(drawn(), size=8, name="draw"):
            if isinstance(item, tuple):
                writer.write(*item)
                tick(1)
            else:
                writer.mux(item)
        writer.close()
    return writer.notes


def process_video(job: VideoJob, recognizer: Recognizer, options: VideoOptions, progress: Progress) -> VideoReport:
    """Analyse, name, write the timeline and detections, and render one video."""
    info = probe(job.source)
    with VideoReader(job.source, info) as reader:
        records, seen = analyse(reader, recognizer, options, progress("analyse", info.frames))
        decoded, lost, error = reader.decoded, reader.lost, reader.error
    bank = recognizer.bank
    with stage("match"):
        names = name_tracks(seen, bank.embeddings, bank.labels, recognizer.threshold)
    step = 1.0 / options.sample_fps if options.sample_fps else 1.0 / info.fps
    last = records[-1].time + step if records else 0.0
    end = min(last, info.duration) if info.duration and not error else last
    rows = appearances(records, names, end, options.merge_gap, options.include_unknown)
    if job.csv is not None:
        write_timeline(job.csv, rows)
    if job.detections is not None:
        write_detections(job.detections, records, names)
    notes: list[str] = []
    if job.output is not None:
        notes = render(job, info, records, names, options, progress("render", decoded))
    return VideoReport(job, info, decoded, len(records), lost, error, rows, names, notes)
