"""`annotate video`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from tqdm import tqdm

from .app import BankOpt, DeviceOpt, MinFaceOpt, ModelOpt, OverwriteOpt, ThresholdOpt, app, echo_error, recognizer_for


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
    bank: BankOpt = Path("facebank"),
    threshold: ThresholdOpt = None,
    model: ModelOpt = "auto",
    device: DeviceOpt = "auto",
    min_face: MinFaceOpt = 50,
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
    from ..video import VideoOptions, default_batch, plan_videos, process_video

    if no_render:
        out = None
    elif out is None:
        raise InputError("say where the relabelled video goes with --out, or pass --no-render with --csv")
    if out is None and csv is None and detections is None:
        raise InputError("--no-render writes only the timeline: give --csv (or --detections)")
    jobs = plan_videos(inputs, out, csv, detections, overwrite)
    recognizer = recognizer_for(model, device, min_face, threshold, bank)
    options = VideoOptions(
        batch=batch or default_batch(recognizer.detector.device), max_gap=max_gap, merge_gap=merge_gap,
        sample_fps=sample_fps, include_unknown=include_unknown, crf=crf, preset=preset,
    )
    failed = 0
    for job in jobs:
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
        for note in report.notes:
            typer.echo(f"{job.source}: {note}", err=True)
        if report.error:
            failed += 1
            echo_error(
                f"{job.source}: decoding stopped early ({report.error}); {report.lost} frame(s) lost, "
                f"{report.decoded} kept" + (f" in {job.output}" if job.output else "")
            )
        people = sorted({row.label for row in report.rows})
        typer.echo(
            f"{job.source}: {report.decoded} frame(s), {report.analysed} analysed, {len(report.names)} track(s); "
            f"people: {', '.join(people) or 'none'}"
        )
        for target in (job.output, job.csv, job.detections):
            if target is not None:
                typer.echo(f"wrote {target}")
    if failed:
        raise typer.Exit(1)
