"""A drawn copy of a live source, written as frames are analysed: to a file in a container
that a crash leaves playable up to its last frames (Matroska, MPEG-TS or fragmented MP4),
or streamed to a URL (RTMP as FLV; udp, tcp and SRT as MPEG-TS; RTSP).

Each analysed frame is written at its own time on the stream's clock (milliseconds), so a
recording of a source whose frames were skipped to keep up has a variable frame rate.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import InputError, OutputError
from ..media import refuse_existing
from ..media.probe import ffmpeg_reason

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
            raise OutputError(Path(target), ffmpeg_reason(exc)) from exc
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
            raise OutputError(Path(target), ffmpeg_reason(exc)) from exc
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
        """Flush the encoder and close the container."""
        try:
            self._encode(None)
        finally:
            self.container.close()

    def _encode(self, frame: av.VideoFrame | None) -> None:
        try:
            self.container.mux(self.stream.encode(frame))
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(Path(self.target), ffmpeg_reason(exc)) from exc
