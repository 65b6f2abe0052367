"""`annotate live`."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .app import (
    BankOpt,
    BatchOpt,
    DeviceOpt,
    MinFaceOpt,
    ModelOpt,
    OverwriteOpt,
    PrecisionOpt,
    QuietOpt,
    Say,
    ThreadsOpt,
    ThresholdOpt,
    VerboseOpt,
    app,
    bank_for,
    bank_source,
    bar,
    echo_error,
    flag,
    path_option,
    recognizer_for,
    say,
    warn,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..faces import Faces
    from ..live.source import LiveFrame, SourceSpec
    from ..live.watch import LiveResult

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
    targets = _csv_targets(specs, csv, overwrite)
    if events is None and csv is None and out is None:
        raise InputError("say where the results go: --events FILE (or - for standard output), --csv FILE or --out")
    if out is not None:
        _check_out(out, specs, overwrite)
    options = LiveOptions(duration=duration, batch=batch)
    source = bank_source(bank)
    recognizer = recognizer_for(model, device, min_face, threshold, precision, threads)
    face_bank = bank_for(source, recognizer)
    with _event_log(events, overwrite) as emit, _stopping() as stop, _recorder(out, overwrite) as record:
        progress = bar(None, "live", "frame")

        def analysed(k: int, frame: LiveFrame, faces: Faces) -> None:
            progress.update(1)
            record(frame, faces)

        with progress:
            results = watch(specs, recognizer, face_bank, options, emit, stop, analysed)
    failed = _report(results, targets, include_unknown, overwrite, warn if events == "-" else say)
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


def _csv_targets(specs: list[SourceSpec], csv: Optional[Path], overwrite: bool) -> list[Path | None]:
    """Where each source's CSV goes; checked before anything is watched."""
    from ..media import refuse_existing

    if csv is None:
        return [None] * len(specs)
    if len(specs) == 1:
        targets = [csv]
    else:
        csv.mkdir(parents=True, exist_ok=True)
        targets = [csv / f"{k + 1:02d}-{_slug(s.url)}.csv" for k, s in enumerate(specs)]
    refuse_existing(targets, overwrite)
    return list(targets)


def _slug(url: str) -> str:
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in url.rstrip("/").split("/")[-1])
    return name[:60] or "source"


@contextmanager
def _event_log(events: Optional[str], overwrite: bool) -> Iterator[Any]:
    """The events' writer: standard output, a file (written as the events come, so that other
    programs can follow it; never over an existing file without --overwrite), or nothing."""
    from ..live.events import EventLog
    from ..media import refuse_existing

    if events is None:
        yield lambda event: None
    elif events == "-":
        yield EventLog(sys.stdout)
    else:
        refuse_existing([Path(events)], overwrite)
        with open(events, "w", encoding="utf-8") as handle:
            yield EventLog(handle)


def _check_out(out: str, specs: list[SourceSpec], overwrite: bool) -> None:
    """--out records one source, to a container or URL it knows, never over a file."""
    from ..errors import InputError
    from ..live.record import STREAMS, recording_format
    from ..media import refuse_existing

    if len(specs) != 1:
        raise InputError("--out records one source: give one, or run one `annotate live` per source")
    recording_format(out)
    if not out.lower().startswith(tuple(STREAMS)):
        refuse_existing([Path(out)], overwrite)


@contextmanager
def _recorder(out: Optional[str], overwrite: bool) -> Iterator[Callable[[LiveFrame, Faces], None]]:
    """record(frame, faces): draw and write each analysed frame to --out (opened on the first
    frame, when its size is known), closed at the end."""
    from ..drawing.draw import draw_faces
    from ..live.record import Recording

    opened: list[Recording] = []

    def record(frame: LiveFrame, faces: Faces) -> None:
        if out is None:
            return
        if not opened:
            height, width = frame.image.shape[:2]
            opened.append(Recording(out, width, height, overwrite))
        opened[0].write(draw_faces(frame.image, faces) if len(faces) else frame.image, frame.time)

    try:
        yield record
    finally:
        for recording in opened:
            recording.close()


@contextmanager
def _stopping() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM end the watch as the end of the stream does (the CSV is written)."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    before = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, old in before.items():
            signal.signal(s, old)


def _report(
    results: list[LiveResult],
    targets: list[Path | None],
    include_unknown: bool,
    overwrite: bool,
    say: Callable[[str], None],
) -> int:
    """Write each CSV and ``say`` what each source gave (on stderr when the events go to
    stdout, which then holds only JSON lines); returns how many failed."""
    from ..writers import to_csv

    failed = 0
    for result, target in zip(results, targets):
        url = result.spec.url
        if result.error is not None:
            failed += 1
            echo_error(f"{url}: {result.error}")
        if result.analysis is None:
            continue
        if target is not None:
            to_csv(result.analysis, target, include_unknown, overwrite)
        names = sorted({a.name for a in result.analysis.appearances if include_unknown or a.label is not None})
        dropped = f", {result.dropped} skipped to keep up" if result.dropped else ""
        again = f", reopened {result.reconnects} time(s)" if result.reconnects else ""
        say(
            f"{url}: {result.received} frame(s), {result.analysed} analysed{dropped}{again}; "
            f"named: {', '.join(names) or 'none'}"
        )
        if target is not None:
            say(f"wrote {target}")
    return failed
