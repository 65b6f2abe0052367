"""What `annotate live` writes, and how it stops: the CSV targets, the event log, the
recording, Ctrl-C, and the summary."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .app import echo_error

if TYPE_CHECKING:
    from ..live.record import Recorder
    from ..live.source import SourceSpec
    from ..live.watch import LiveResult


def csv_targets(specs: list[SourceSpec], csv: Optional[Path], overwrite: bool) -> list[Path | None]:
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
def event_log(events: Optional[str], overwrite: bool) -> Iterator[Any]:
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


def distinct(events: Optional[str], targets: list[Path | None], out: Optional[str]) -> None:
    """No two outputs are one file (the CSV written at the end would replace the events)."""
    from ..errors import InputError
    from ..live.record import is_stream
    from ..media import resolved

    paths = [Path(events)] if events is not None and events != "-" else []
    paths += [t for t in targets if t is not None]
    if out is not None and not is_stream(out):
        paths.append(Path(out))
    seen: dict[Path, Path] = {}
    for path in paths:
        if resolved(path) in seen:
            raise InputError(f"{path}: given for two outputs")
        seen[resolved(path)] = path


def check_out(out: str, specs: list[SourceSpec], overwrite: bool) -> None:
    """--out records one source, to a container or URL it knows, never over a file: checked
    before the models load."""
    from ..errors import InputError
    from ..live.record import check_target

    if len(specs) != 1:
        raise InputError("--out records one source: give one, or run one `annotate live` per source")
    check_target(out, overwrite)


@contextmanager
def recorder(out: Optional[str], overwrite: bool, timeout: float) -> Iterator[Recorder | None]:
    """A ``live.record.Recorder`` for --out (None without one), closed on leaving."""
    from ..live.record import Recorder

    record = None if out is None else Recorder(out, overwrite, timeout)
    try:
        yield record
    finally:
        if record is not None:
            record.close()


@contextmanager
def stopping() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM end the watch as the end of the stream does (the CSV is written); a
    second one stops at once, as it would any other command."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signum, before[signal.Signals(signum)])

    before = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, old in before.items():
            signal.signal(s, old)


def report(
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
