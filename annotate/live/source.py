"""Reading a live source in its own thread: opening it (with timeouts, RTSP over TCP), giving
frames a steady clock (a timestamp that jumps or wraps continues from the last one), and
reopening it with backoff when it ends or fails, for up to ``reconnect`` seconds.

PyAV's own timeouts do not always fire (PyAV #584, #1155, #1243), so the consumer also
watches each reader (``Feed.stalled``): a reader stuck in FFmpeg is abandoned, never touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import SourceError
from ..media.probe import ffmpeg_reason
from ..media.sampling import Sampler
from ..media.video import upright_rgb
from .handoff import Handoff

NETWORK = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "http://", "https://", "udp://", "tcp://", "srt://", "rtp://")
JUMP = 10.0  # seconds: a timestamp further ahead than this (or behind) is a jump, not a gap
BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)  # seconds between attempts to reopen


def kind_of(url: str, format: str | None = None) -> str:
    """ "network", "device" (a camera), "lavfi" (a filter graph) or "file"."""
    if format == "lavfi":
        return "lavfi"
    if format in ("v4l2", "video4linux2", "avfoundation", "dshow") or url.startswith("/dev/video"):
        return "device"
    if url.lower().startswith(NETWORK):
        return "network"
    return "file"


@dataclass(frozen=True)
class SourceSpec:
    """One live source. url: a URL, device, file or lavfi graph. format: FFmpeg's input format
    (None: guessed). options: FFmpeg's input options. open_timeout, read_timeout: seconds.
    reconnect: seconds to keep reopening a source that ended or failed (0: never). latest:
    keep only the newest frame (the models skip what they cannot keep up with). sample_fps:
    pass on only this many frames a second (None: all)."""

    url: str
    format: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    open_timeout: float = 10.0
    read_timeout: float = 10.0
    reconnect: float = 0.0
    latest: bool = True
    sample_fps: float | None = None

    @property
    def kind(self) -> str:
        return kind_of(self.url, self.format)

    @property
    def input_format(self) -> str | None:
        """``format``, else v4l2 for a /dev/video device."""
        return self.format or ("v4l2" if self.url.startswith("/dev/video") else None)

    def ffmpeg_options(self) -> dict[str, str]:
        """The input options: RTSP over TCP unless asked otherwise, and FFmpeg's socket
        timeouts from ``read_timeout`` (in microseconds), under the user's own options."""
        out: dict[str, str] = {}
        micro = str(int(self.read_timeout * 1e6))
        url = self.url.lower()
        if url.startswith(("rtsp://", "rtsps://")):
            out.update(rtsp_transport="tcp", timeout=micro)
        elif url.startswith(("tcp://", "http://", "https://", "rtmp://")):
            out["rw_timeout"] = micro
        elif url.startswith("udp://"):
            out["timeout"] = micro
        out.update(self.options)
        return out


@dataclass(frozen=True)
class LiveFrame:
    """A frame as it arrived. index: frames the source sent before it (dropped ones too).
    time: seconds on the source's clock, made steady. arrived: ``time.monotonic()`` when it
    was decoded. image: (H,W,3) uint8 RGB."""

    index: int
    time: float
    arrived: float
    image: np.ndarray


class _Clock:
    """Steady seconds from PTS: a frame whose time goes back, or jumps more than ``JUMP``
    ahead, continues from the last frame (after a reconnect: plus the wall time lost)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.last: float | None = None
        self.step = 1 / 25
        self.wall = 0.0
        self.resumed = False

    def __call__(self, raw: float | None) -> float:
        now = time.monotonic()
        if self.last is None:
            t = raw or 0.0
        elif raw is None:  # no timestamp: one frame on, the offset kept for the next one
            t = self.last + (max(self.step, now - self.wall) if self.resumed else self.step)
        else:
            gap = max(self.step, now - self.wall) if self.resumed else self.step
            t = raw + self.offset
            if self.resumed or not self.last < t <= self.last + JUMP:
                t = self.last + gap
                self.offset = t - raw
        self.resumed = False
        self.last, self.wall = t, now
        return t


class Reader:
    """A daemon thread that reads ``spec`` into a ``Handoff`` until it ends, fails for longer
    than ``spec.reconnect`` seconds, or ``stop`` is called. ``beat``: ``time.monotonic()`` of
    its latest sign of life (an attempt to open, opened, a frame); ``last_frame``: of its
    latest frame (None before the first)."""

    def __init__(self, spec: SourceSpec, size: int = 8, arrived: threading.Event | None = None) -> None:
        """arrived: set at each frame (shared by the readers of one watch)."""
        self.spec = spec
        self.frames: Handoff[LiveFrame] = Handoff(spec.latest, size, arrived)
        self.clock = _Clock()
        self.received = 0
        self.reconnects = 0  # times the stream came back after it was lost
        self.opened = threading.Event()
        self.fps = 0.0  # the stream's average rate, once opened (0: unknown)
        self.time_base: Fraction | None = None
        self.beat = time.monotonic()
        self.last_frame: float | None = None
        self.opening = False  # inside av.open
        self.waiting = False  # waiting for the consumer to take a frame: alive, not stuck
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"live {spec.url}", daemon=True)

    def start(self) -> Reader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.frames.close()

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self._read()
        except BaseException as exc:  # handed to the consumer, which words it
            error = exc
        self.frames.close(error)

    def _read(self) -> None:
        """Read until the source ends; a stream that ends or fails is reopened, with backoff,
        until ``reconnect`` seconds pass without a picture. Then an end is the end of the run
        and a failure is a ``SourceError``."""
        spec, attempt = self.spec, 0
        last_ok = time.monotonic()
        again = spec.reconnect > 0 and spec.kind not in ("file", "lavfi")
        first: str | None = None  # what went wrong first since the last picture (None: it ended)
        while not self._stop.is_set():
            failure: str | None = None
            try:
                for frame in self._decode():
                    self.reconnects += bool(attempt and self.received > 1)  # back after a loss
                    attempt, last_ok, first = 0, time.monotonic(), None
                    self.last_frame, self.waiting = last_ok, True
                    taken = self.frames.put(frame)
                    self.waiting, self.beat = False, time.monotonic()
                    if not taken:
                        return
            except (av.FFmpegError, OSError) as exc:
                failure = _opening(ffmpeg_reason(exc), self.opened.is_set())
                if not again:
                    raise SourceError(spec.url, failure) from exc
            first = failure if attempt == 0 else first
            if not again or self._stop.is_set():
                return
            if time.monotonic() - last_ok > spec.reconnect:
                if first is None and self.opened.is_set():
                    return  # it ended, and did not come back
                raise SourceError(spec.url, f"{failure or first}; reopening it failed for {spec.reconnect:g} s")
            self.waiting = True  # backing off is not being stuck
            self._stop.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            self.waiting = False
            attempt += 1
            self.clock.resumed = True

    def _decode(self) -> Iterator[LiveFrame]:
        spec = self.spec
        self.beat, self.opening = time.monotonic(), True
        try:
            container = av.open(
                spec.url,
                format=spec.input_format,
                options=spec.ffmpeg_options(),
                timeout=(spec.open_timeout, spec.read_timeout),
            )
        finally:
            self.opening = False
        try:
            if not container.streams.video:
                raise SourceError(spec.url, "has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                self.clock.step = 1 / float(rate)
            self.fps, self.time_base = (float(rate) if rate else 0.0), stream.time_base
            self.opened.set()
            self.beat = time.monotonic()
            sampler = Sampler(spec.sample_fps) if spec.sample_fps else None
            to_rgb = VideoReformatter()
            for frame in container.decode(stream):
                if self._stop.is_set():
                    return
                self.beat = time.monotonic()
                raw = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
                t = self.clock(raw)
                index = self.received
                self.received += 1
                if sampler is not None and not sampler(t):
                    continue
                yield LiveFrame(index, t, self.beat, upright_rgb(to_rgb, frame))
        finally:
            container.close()

    def stuck(self, grace: float) -> bool:
        """Inside FFmpeg for longer than the timeouts allow (plus ``grace`` seconds): opening
        for ``open_timeout``, or reading for ``read_timeout``. Waiting for the consumer, or
        backing off before reopening, is not being stuck."""
        if self.frames.closed or self.waiting:
            return False
        limit = self.spec.open_timeout if self.opening or not self.opened.is_set() else self.spec.read_timeout
        return time.monotonic() - self.beat > limit + grace


def _opening(reason: str, opened: bool) -> str:
    return reason if opened else f"cannot open ({reason})"
