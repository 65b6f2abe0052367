"""Naming the people of live sources as frames arrive: each source read by its own thread
(``live.source``), the newest frames of all sources batched through one set of models, each
source's people followed (``live.follow``) with events as they happen, and at the end each
source's timeline named by the file's rule (the same ``video.scan`` as ``analyse_video``, so
a file watched frame by frame gives the file's CSV). On the CPU each source leans on its
tracks as a file's analysis does (``video.shortcuts``), one source at a time; ``exact`` (and
a GPU) put every frame of every source through the models together. A carried embedding
counts towards a shown name as a new one would: it is carried only once the track's name is
clear of the threshold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import AnnotateError, InputError, SourceError
from ..faces import Faces
from ..media.probe import VideoInfo, probe
from ..recognition.bank import FaceBank
from ..recognition.recognizer import Recognizer
from ..video.analysis import VideoAnalysis, VideoOptions, finished
from ..video.shortcuts import DEFAULT_SHORTCUTS, Shortcuts, TrackedScan, shortcuts_on
from .events import Event
from .follow import Follow
from .source import LiveFrame, Reader, SourceSpec

GRACE = 1.0  # seconds past a timeout before the watchdog acts (FFmpeg's own timeout goes first)


@dataclass(frozen=True)
class LiveOptions:
    """duration: stop after this many seconds (None: when every source has ended). batch:
    frames per detector pass for a source that keeps every frame (None: the device's default;
    a ``latest`` source gives its newest frame to each pass). max_gap, merge_gap, exact,
    shortcuts: as in ``VideoOptions``. remember: seconds a stranger who left keeps their
    number. min_faces: faces a track needs before a name is shown."""

    duration: float | None = None
    batch: int | None = None
    max_gap: int = 10
    merge_gap: float = 1.0
    remember: float = 30.0
    min_faces: int = 3
    exact: bool | None = None
    shortcuts: Shortcuts = DEFAULT_SHORTCUTS

    def __post_init__(self) -> None:
        if self.duration is not None and not self.duration > 0:
            raise InputError(f"duration must be positive, got {self.duration}")
        if self.batch is not None and self.batch < 1:
            raise InputError(f"batch must be at least 1, got {self.batch}")


@dataclass(frozen=True)
class LiveResult:
    """One source's run. analysis: its timeline named by the file's rule (None when it never
    sent a picture). error: why it stopped early, or None. received: frames it sent;
    analysed: frames the models saw; dropped: frames skipped to stay current."""

    spec: SourceSpec
    analysis: VideoAnalysis | None
    error: str | None
    received: int
    analysed: int
    dropped: int
    reconnects: int


class _Source:
    """A source's reader (replaced when the watchdog gives up on it) and its people."""

    def __init__(self, spec: SourceSpec, size: int, arrived: threading.Event) -> None:
        self.spec, self.size, self.arrived = spec, size, arrived
        self.file = probe(Path(spec.url)) if spec.kind == "file" else None  # a file's own VideoInfo
        self.reader = Reader(spec, 2 * size, arrived).start()
        self.began = time.monotonic()
        self.follow: Follow | None = None
        self.tracked: TrackedScan | None = None  # with shortcuts: finds and embeds for ``follow``
        self.error: str | None = None
        self.dropped = self.reconnects = 0
        self.shape: tuple[int, int] = (0, 0)

    @property
    def done(self) -> bool:
        return self.error is not None or self.reader.frames.finished

    def take(self, over: Callable[[], bool]) -> list[LiveFrame]:
        """The frames for the next pass: the newest one, or (every frame kept) a full batch
        unless the source ends or stalls, or ``over()`` says the run is over, first."""
        frames = self.reader.frames
        if self.spec.latest:  # the loop waits for any source's frame (``arrived``), not each in turn
            return frames.take(1, 0.0)
        got: list[LiveFrame] = []
        while len(got) < self.size:
            more = frames.take(self.size - len(got), 0.2)
            got += more
            if not more and (frames.closed or over() or self._watchdog()):
                break
        return got

    def check(self) -> None:
        """The reader's own error, or the watchdog's: a reader stuck in FFmpeg past its
        timeouts is abandoned and replaced while ``reconnect`` allows, else the source stops
        with an error."""
        frames = self.reader.frames
        if frames.finished and frames.error is not None and self.error is None:
            error = frames.error
            if isinstance(error, SourceError):
                self.error = error.reason
            elif isinstance(error, AnnotateError):
                self.error = str(error)
            else:  # a bug, not the source: raised as it is
                raise error
        self._watchdog()

    def _watchdog(self) -> bool:
        spec, reader = self.spec, self.reader
        if self.error is not None or not reader.stuck(GRACE):
            return False
        why = f"no picture for {spec.read_timeout:g} s"
        if not reader.opened.is_set():
            why = f"cannot open: nothing within {spec.open_timeout:g} s"
        quiet = time.monotonic() - (reader.last_frame or self.began)
        if spec.reconnect > 0 and spec.kind not in ("file", "lavfi") and quiet <= spec.reconnect:
            self._reopen()
            return True
        self.error = why if spec.reconnect <= 0 else f"{why}; reopening it failed for {spec.reconnect:g} s"
        reader.stop()  # its thread may stay stuck in FFmpeg: abandoned, never touched again
        return True

    def _reopen(self) -> None:
        old = self.reader
        old.stop()
        self.dropped += old.frames.dropped
        self.reader = Reader(self.spec, 2 * self.size, self.arrived)
        self.reader.clock, self.reader.received = old.clock, old.received
        self.reader.last_frame, self.reader.reconnects = old.last_frame, old.reconnects
        self.reader.clock.resumed = True
        self.reader.start()


def watch(
    specs: Sequence[SourceSpec],
    recognizer: Recognizer,
    bank: FaceBank | None = None,
    options: LiveOptions | None = None,
    emit: Callable[[Event], object] = lambda event: None,
    stop: threading.Event | None = None,
    on_frame: Callable[[int, LiveFrame, Faces], object] | None = None,
) -> list[LiveResult]:
    """Follow and name the people of live ``specs`` until each ends or fails, ``duration``
    passes or ``stop`` is set; ``emit`` gets each event as it happens and ``on_frame(source,
    frame, faces)`` each analysed frame with the faces whose name is shown, as shown (for
    drawing: see ``Follow.add``). Returns one ``LiveResult`` per source, in order."""
    options = options or LiveOptions()
    bank = recognizer.empty_bank() if bank is None else bank
    recognizer.check_bank(bank)
    size = options.batch or VideoOptions().batch_for(recognizer.config.device)
    arrived = threading.Event()  # set by every reader at each frame
    sources = [_Source(spec, size, arrived) for spec in specs]
    started = time.monotonic()

    def over() -> bool:
        late = options.duration is not None and time.monotonic() - started >= options.duration
        return late or (stop is not None and stop.is_set())

    try:
        while not over():
            for source in sources:  # errors (the reader's, or the watchdog's) before "done"
                source.check()
            active = [k for k, s in enumerate(sources) if not s.done]
            if not active:
                break
            arrived.clear()
            picked = [(k, frame) for k in active for frame in sources[k].take(over)]
            if picked:
                _analyse(picked, sources, recognizer, bank, options, emit, on_frame)
            else:
                arrived.wait(0.05)  # a frame from any source, or time to look at the watchdog
    finally:
        for source in sources:
            source.reader.stop()
    return [_result(s, recognizer, options) for s in sources]


def _analyse(
    picked: list[tuple[int, LiveFrame]],
    sources: list[_Source],
    recognizer: Recognizer,
    bank: FaceBank,
    options: LiveOptions,
    emit: Callable[[Event], object],
    on_frame: Callable[[int, LiveFrame, Faces], object] | None,
) -> None:
    """One pass of the models over the frames of every source, then each source's people;
    with shortcuts, each source's frames in turn through its ``TrackedScan``."""
    shortcuts = shortcuts_on(recognizer.config.device, options.exact, options.shortcuts)

    def follow(k: int, frame: LiveFrame) -> Follow:
        source = sources[k]
        if source.follow is None:
            source.shape = frame.image.shape[:2]
            source.follow = Follow(
                source.spec.url,
                bank,
                recognizer.threshold,
                emit,
                options.max_gap,
                options.remember,
                options.min_faces,
                _origin(source),
            )
        return source.follow

    def sink(k: int, frame: LiveFrame, faces: Faces, picture: np.ndarray | None = None) -> np.ndarray:
        tracks, shown = follow(k, frame).add(frame.index, frame.time, frame.image, faces, picture)
        if on_frame is not None:
            on_frame(k, frame, shown)
        return tracks

    if shortcuts is None:
        for (k, frame), faces in zip(picked, recognizer.describe([frame.image for _, frame in picked])):
            sink(k, frame, faces)
        return
    for k in sorted({k for k, _ in picked}):
        frames = [frame for j, frame in picked if j == k]
        source = sources[k]
        if source.tracked is None:
            scanner = follow(k, frames[0]).scanner
            # the sink keeps this call's on_frame, emit and bank: the same for the whole watch
            source.tracked = TrackedScan(recognizer, scanner, shortcuts, partial(sink, k))
        source.tracked.add(frames)


def _origin(source: _Source) -> float | None:
    """Stream seconds shown as 0: a file's player's origin, a filter graph's 0, else the
    first frame's time."""
    if source.file is not None:
        return source.file.origin
    return 0.0 if source.spec.kind == "lavfi" else None


def _result(source: _Source, recognizer: Recognizer, options: LiveOptions) -> LiveResult:
    """The source's timeline by the file's rule, once everyone on screen has left."""
    reader, follow = source.reader, source.follow
    dropped = source.dropped + reader.frames.dropped
    reconnects = source.reconnects + reader.reconnects
    if follow is None:
        return LiveResult(source.spec, None, source.error, reader.received, 0, dropped, reconnects)
    follow.close()
    info = _info(source, reader, follow)
    video = VideoOptions(max_gap=options.max_gap, merge_gap=options.merge_gap, sample_fps=source.spec.sample_fps)
    frames, tracks = follow.scanner.named(recognizer.threshold, video.step(info.fps))
    analysis = finished(info.path, info, frames, tracks, video, reader.received, 0, source.error)
    return LiveResult(source.spec, analysis, source.error, reader.received, follow.analysed, dropped, reconnects)


def _info(source: _Source, reader: Reader, follow: Follow) -> VideoInfo:
    """A file's own ``VideoInfo``; for a stream, what its frames showed."""
    spec = source.spec
    if source.file is not None:
        return source.file
    fps = reader.fps or 25.0
    height, width = source.shape
    base = reader.time_base or Fraction(1, 90000)
    return VideoInfo(Path(spec.url), "", width, height, 0, fps, base, None, None, 0, origin=follow.origin or 0.0)
