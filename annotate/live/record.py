"""A drawn copy of a live source, written as frames are analysed: to a file in a container
that a crash leaves playable up to its last frames (Matroska, MPEG-TS or fragmented MP4),
or streamed to a URL (RTMP as FLV; udp, tcp and SRT as MPEG-TS; RTSP).

Each analysed frame is written at its own time on the stream's clock (milliseconds), so a
recording of a source whose frames were skipped to keep up has a variable frame rate.
``Recorder`` draws and writes in its own thread, so that drawing and encoding overlap the
analysis and a receiver that stops reading (FFmpeg's network writes then wait for ever)
stops only the recording.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from ..errors import AnnotateError, InputError, OutputError
from ..media import refuse_existing
from ..media.probe import ffmpeg_reason

if TYPE_CHECKING:
    from ..faces import Faces

FILES = {".mkv": "matroska", ".ts": "mpegts", ".mp4": "mp4"}
STREAMS = {
    "rtmp://": "flv",
    "rtmps://": "flv",
    "udp://": "mpegts",
    "tcp://": "mpegts",
    "srt://": "mpegts",
    "rtsp://": "rtsp",
}
FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}  # an mp4 readable up to a crash


def is_stream(target: str) -> bool:
    """Whether ``target`` is a URL to stream to, not a file."""
    return target.lower().startswith(tuple(STREAMS))


def check_target(target: str, overwrite: bool) -> None:
    """InputError for a target of no kind listed; an existing file is refused unless
    ``overwrite`` (``media.refuse_existing``)."""
    recording_format(target)
    if not is_stream(target):
        refuse_existing([Path(target)], overwrite)


def recording_format(target: str) -> str:
    """The container for ``target``; InputError for a file suffix or URL scheme not listed."""
    for scheme, name in STREAMS.items():
        if target.lower().startswith(scheme):
            return name
    try:
        return FILES[Path(target).suffix.lower()]
    except KeyError:
        kinds = ", ".join(FILES) + " files, or " + ", ".join(STREAMS) + " URLs"
        raise InputError(f"{target}: a live recording goes to {kinds}") from None


class Recording:
    """Open ``target`` (a file: never over an existing one unless ``overwrite``) for pictures of
    ``width`` x ``height``; ``write`` each drawn picture, then ``close``."""

    def __init__(self, target: str, width: int, height: int, overwrite: bool = False) -> None:
        self.format = recording_format(target)
        self.target = target
        is_file = not is_stream(target)
        if is_file:
            refuse_existing([Path(target)], overwrite)
        options = FRAGMENTED if self.format == "mp4" else {}
        try:
            self.container = av.open(target, "w", format=self.format, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(target, ffmpeg_reason(exc)) from exc
        try:
            stream = self.container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = width + width % 2, height + height % 2, "yuv420p"
            # a key frame every 25 pictures: where a fragmented mp4 flushes, and a player can start
            stream.options = {"preset": "veryfast", "tune": "zerolatency", "crf": "20", "g": "25"}
            stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        except (av.FFmpegError, OSError) as exc:
            self.container.close()
            if is_file:  # the file this made, with nothing in it
                Path(target).unlink(missing_ok=True)
            raise OutputError(target, ffmpeg_reason(exc)) from exc
        self.stream = stream
        self.first: float | None = None
        self.last = -1

    def write(self, picture: np.ndarray, time: float) -> None:
        """One (H,W,3) uint8 RGB picture at ``time`` seconds on the stream's clock."""
        if self.first is None:
            self.first = time
        pts = max(self.last + 1, int(round((time - self.first) * 1000)))
        height, width = picture.shape[:2]
        if width % 2 or height % 2:  # yuv420p needs even sizes: repeat the last column or row
            picture = np.pad(picture, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, self.last = pts, pts
        self._encode(frame)

    def close(self) -> None:
        """Flush the encoder and close the container (writing a file's trailer)."""
        try:
            self._encode(None)
        finally:
            try:
                self.container.close()
            except (av.FFmpegError, OSError) as exc:
                raise OutputError(self.target, ffmpeg_reason(exc)) from exc

    def _encode(self, frame: av.VideoFrame | None) -> None:
        try:
            self.container.mux(self.stream.encode(frame))
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(self.target, ffmpeg_reason(exc)) from exc


class Recorder:
    """Draws each analysed frame's faces and writes it to ``target`` (a ``Recording``, opened
    at the first frame) in its own thread, so drawing and encoding overlap the analysis.
    ``add`` hands a frame over, waiting while the writer is busy (no frame is left out).
    ``error`` says why the recording stopped: it could not be opened or written, or the writer
    spent ``timeout`` seconds on one frame (or on closing), as when a receiver stops reading.
    The writer is then left behind (its thread may stay stuck in FFmpeg) and ``add`` does
    nothing more. ``close`` flushes and closes. A target of an unknown kind, or a file that
    exists (unless ``overwrite``), is refused here, before any frame; a bug in the writer is
    raised by ``add`` or ``close``."""

    def __init__(self, target: str, overwrite: bool = False, timeout: float = 10.0) -> None:
        if not timeout > 0:
            raise InputError(f"the write timeout must be positive, got {timeout}")
        check_target(target, overwrite)
        self.target, self.overwrite, self.timeout = target, overwrite, timeout
        self.error: str | None = None
        self._crash: BaseException | None = None
        self._queue: queue.Queue[tuple[np.ndarray, Faces, float] | None] = queue.Queue(maxsize=4)
        self._busy_since: float | None = None  # when the writer began its current frame (or closing)
        self._recording: Recording | None = None  # the writer's: opened at the first frame, when its size is known
        self._thread = threading.Thread(target=self._run, name="annotate-recorder", daemon=True)
        self._thread.start()

    def add(self, picture: np.ndarray, faces: Faces, at: float) -> None:
        """One (H,W,3) uint8 RGB frame, the faces to draw on it, and its time (stream seconds)."""
        while self.error is None and self._crash is None:
            try:
                self._queue.put((picture, faces, at), timeout=0.1)
                break
            except queue.Full:
                self._check_busy()
        self._raise_crash()

    def close(self) -> None:
        """Flush and close the recording (``error`` says if that failed or ran out of time)."""
        while self.error is None and self._crash is None:
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                self._check_busy()
        while self.error is None and self._crash is None and self._thread.is_alive():
            self._thread.join(0.1)
            self._check_busy()
        self._raise_crash()

    def _check_busy(self) -> None:
        busy = self._busy_since
        if busy is not None and time.monotonic() - busy > self.timeout:
            self.error = str(OutputError(self.target, f"no frame written for {self.timeout:g} s"))

    def _raise_crash(self) -> None:
        if self._crash is not None:
            crash, self._crash = self._crash, None
            self.error = self.error or "the recording stopped"
            raise crash

    def _run(self) -> None:
        try:
            self._write_all()
        except AnnotateError as error:  # could not open, write or close it
            self.error = self.error or str(error)
        except BaseException as exc:  # a bug: raised in the caller's thread
            self._crash = exc
        finally:
            if self._recording is not None:  # stopped early: what was written is closed, as far as it can be
                with contextlib.suppress(AnnotateError, av.FFmpegError, OSError):
                    self._recording.container.close()

    def _write_all(self) -> None:
        from ..drawing.draw import draw_faces

        while (item := self._queue.get()) is not None:
            self._busy_since = time.monotonic()
            picture, faces, at = item
            if self._recording is None:
                self._recording = Recording(self.target, picture.shape[1], picture.shape[0], self.overwrite)
            self._recording.write(draw_faces(picture, faces) if len(faces) else picture, at)
            self._busy_since = None
            if self.error is not None:  # left behind: nobody waits for the rest
                return
        self._busy_since = time.monotonic()
        if self._recording is not None:
            recording, self._recording = self._recording, None
            recording.close()
