"""`annotate live`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .app import Say, app, bank_for, bank_source, bar, echo_error, recognizer_for, say, warn
from .live_io import check_out, csv_targets, distinct, event_log, recorder, report, stopping
from .options import (
    BankOpt,
    BatchOpt,
    DeviceOpt,
    ExactOpt,
    MinFaceOpt,
    ModelOpt,
    OverwriteOpt,
    PrecisionOpt,
    QuietOpt,
    ThreadsOpt,
    ThresholdOpt,
    VerboseOpt,
    flag,
    path_option,
)

if TYPE_CHECKING:
    from ..faces import Faces
    from ..live.source import LiveFrame, SourceSpec

DROPS = ("latest", "none")


@app.command(no_args_is_help=True)
def live(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="What to watch: /dev/video0, rtsp://..., rtmp://..., http(s)://..., udp://..., tcp://..., a video file, or a lavfi graph with --format lavfi. Several are watched at once, through one set of models.",
            show_default=False,
        ),
    ],
    input_format: Annotated[
        Optional[str],
        typer.Option("--format", "-f", show_default=False, help="FFmpeg's input format (v4l2, lavfi, mpegts, ...)."),
    ] = None,
    option: Annotated[
        Optional[list[str]],
        typer.Option(
            "--option",
            "-O",
            show_default=False,
            help="An FFmpeg input option KEY=VAL, e.g. -O video_size=1280x720 -O rtsp_transport=udp (repeatable).",
        ),
    ] = None,
    events: Annotated[
        Optional[str],
        path_option(
            "--events",
            help="Write events as JSON lines as they happen (appear, named, renamed, leave), flushed line by line; - for standard output.",
        ),
    ] = None,
    csv: Annotated[
        Optional[Path],
        path_option(
            "--csv",
            help="When the run ends, write the timeline (the format of `annotate video --csv`); with several sources, a folder of one CSV each.",
        ),
    ] = None,
    out: Annotated[
        Optional[str],
        path_option(
            "--out",
            "-o",
            help="Record the source with the names drawn, as it is analysed: a .mkv, .ts or .mp4 (fragmented) file that a crash leaves playable, or an rtmp://, udp://, tcp://, srt:// or rtsp:// URL to stream to. One source only.",
        ),
    ] = None,
    include_unknown: Annotated[
        bool, flag("--include-unknown", help="Also list unknown people (`Unknown #3`) in the CSV.")
    ] = False,
    sample_fps: Annotated[
        Optional[float],
        typer.Option("--sample-fps", min=0.01, show_default=False, help="Analyse at most this many frames a second."),
    ] = None,
    drop: Annotated[
        Optional[str],
        typer.Option(
            "--drop",
            show_default=False,
            help="latest: analyse the newest frame and skip what the models cannot keep up with (default for cameras and streams); none: analyse every frame, however late (default for files).",
        ),
    ] = None,
    duration: Annotated[
        Optional[float],
        typer.Option("--duration", min=0.01, show_default=False, help="Stop after this many seconds."),
    ] = None,
    open_timeout: Annotated[
        float, typer.Option("--open-timeout", min=0.1, help="Seconds a source may take to send its first picture.")
    ] = 10.0,
    read_timeout: Annotated[
        float, typer.Option("--read-timeout", min=0.1, help="Seconds without a picture before a source is reopened.")
    ] = 10.0,
    write_timeout: Annotated[
        float,
        typer.Option(
            "--write-timeout",
            min=0.1,
            help="Seconds --out may spend on one frame (a receiver that stopped reading) before the recording stops; the watch goes on.",
        ),
    ] = 10.0,
    reconnect: Annotated[
        Optional[float],
        typer.Option(
            "--reconnect",
            min=0.0,
            show_default=False,
            help="Seconds to keep reopening a stream that ended or failed, with backoff (default: 30 for streams and cameras, 0 for files).",
        ),
    ] = None,
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
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Name the people on a camera or a network stream as it plays.

    Examples:

      annotate live /dev/video0 --events -                       # a webcam, events on stdout

      annotate live rtsp://cam.local/stream --events door.jsonl --csv door.csv --sample-fps 5

      annotate live party.mp4 --csv who.csv                      # a file, every frame, as `video`

    Names are shown once a face has been seen a few times and change only when another name
    leads for several updates; a stranger who comes back within 30 s keeps their number. The
    run ends at the end of the stream, after --duration, or on Ctrl-C; the CSV is written then,
    each person named from all their faces as `annotate video` names them.
    """
    from ..errors import InputError
    from ..live.watch import LiveOptions, watch

    Say.set(quiet, verbose)
    specs = _specs(sources, input_format, option or [], drop, sample_fps, open_timeout, read_timeout, reconnect)
    targets = csv_targets(specs, csv, overwrite)
    if events is None and csv is None and out is None:
        raise InputError("say where the results go: --events FILE (or - for standard output), --csv FILE or --out")
    if out is not None:
        check_out(out, specs, overwrite)
    distinct(events, targets, out)
    options = LiveOptions(duration=duration, batch=batch, exact=True if exact else None)
    source = bank_source(bank)
    recognizer = recognizer_for(model, device, min_face, threshold, precision, threads)
    face_bank = bank_for(source, recognizer)
    with event_log(events, overwrite) as emit, stopping() as stop, recorder(out, overwrite, write_timeout) as record:
        progress = bar(None, "live", "frame")
        told: list[str] = []  # a recording's error, said when it happens (the watch goes on)

        def analysed(k: int, frame: LiveFrame, faces: Faces) -> None:
            progress.update(1)
            if record is not None:
                record.add(frame.image, faces, frame.time)
                if record.error is not None and not told:
                    told.append(record.error)
                    echo_error(record.error)

        with progress:
            results = watch(specs, recognizer, face_bank, options, emit, stop, analysed)
    failed = report(results, targets, include_unknown, overwrite, warn if events == "-" else say)
    if record is not None and record.error is not None:
        failed += 1
        if not told:  # it failed as it closed
            echo_error(record.error)
    if failed:
        raise typer.Exit(1)


def _specs(
    sources: list[str],
    input_format: Optional[str],
    option: list[str],
    drop: Optional[str],
    sample_fps: Optional[float],
    open_timeout: float,
    read_timeout: float,
    reconnect: Optional[float],
) -> list[SourceSpec]:
    from ..errors import InputError
    from ..live.source import SourceSpec, kind_of

    if drop is not None and drop not in DROPS:
        raise InputError(f"--drop takes latest or none, not {drop!r}")
    pairs = {}
    for item in option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--option takes KEY=VAL, not {item!r}")
        pairs[key] = value
    specs = []
    for url in sources:
        kind = kind_of(url, input_format)
        if kind == "file" and not Path(url).is_file():
            raise InputError(f"{url}: no such file, and not a stream URL (rtsp://, http://, udp://, ...) or a device")
        streaming = kind in ("network", "device")
        latest = drop == "latest" if drop is not None else streaming
        again = reconnect if reconnect is not None else (30.0 if streaming else 0.0)
        specs.append(SourceSpec(url, input_format, pairs, open_timeout, read_timeout, again, latest, sample_fps))
    return specs
