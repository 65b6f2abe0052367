"""Opening a video with PyAV and learning what it holds (``probe``): size upright, rotation,
frame rate, time base, colour tags, pixel aspect; one-line errors for files that are not
videos, or that look cut short."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError

# the containers of cameras, phones, discs and the web that FFmpeg demuxes
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".wmv", ".flv"}
    | {".3gp", ".3g2", ".mxf", ".ogv", ".vob", ".asf", ".f4v", ".dv", ".y4m"}
)
FASTSTART = frozenset({"mp4", "mov"})
UNSPECIFIED = 2  # AVCOL_SPC_UNSPECIFIED, AVCOL_PRI_UNSPECIFIED, AVCOL_TRC_UNSPECIFIED
LIMITED_RANGE, FULL_RANGE = 1, 2  # AVCOL_RANGE_MPEG (what libx264 is given here), AVCOL_RANGE_JPEG
_MATRICES = frozenset({1, 4, 5, 6, 7, 9, 10})  # BT.709, FCC, BT.470BG, SMPTE 170M and 240M, BT.2020 (swscale's)
_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})  # first boxes of mp4/mov files


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds. width, height: of the upright picture. rotation: degrees
    anticlockwise that the file asks players to turn its pictures. fps: average frame rate.
    frames: count given by the container, or None. duration: seconds, or None. colour: the
    first frame's (colorspace, primaries, transfer) tags, FFmpeg's numbers (2: unspecified).
    sample_aspect: width:height of a pixel of the upright picture, if the file gives one (not
    1:1 in anamorphic video). start: the video stream's first PTS, seconds. origin: where a
    player's clock starts, seconds in the same clock (the container's start: its earliest
    stream); a frame is shown at ``its PTS time - origin``. Both are 0 in most files; not in a
    clip cut from a broadcast, or an mp4 whose edit list delays the video."""

    path: Path
    codec: str
    width: int
    height: int
    rotation: int
    fps: float
    time_base: Fraction
    frames: int | None
    duration: float | None
    copied_streams: int
    colour: tuple[int, int, int] = (UNSPECIFIED, UNSPECIFIED, UNSPECIFIED)
    sample_aspect: Fraction | None = None
    start: float = 0.0
    origin: float = 0.0

    @property
    def matrix(self) -> int | None:
        """The first frame's YUV matrix (FFmpeg's AVColorSpace) where swscale knows it, else
        None (swscale then uses BT.601): what converts this video's pictures to and from RGB."""
        return self.colour[0] if self.colour[0] in _MATRICES else None


def open_video(path: Path) -> av.container.InputContainer:
    """The file opened for reading, with a video stream FFmpeg can decode; InputError otherwise."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        hint = "; the file may be truncated or still being written" if _cut_container(path, exc) else ""
        raise InputError(f"{path}: not a video FFmpeg can read ({ffmpeg_reason(exc)}{hint})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.codec.name:
        container.close()
        raise InputError(f"{path}: unknown video codec, no decoder for it")
    return container


def _cut_container(path: Path, exc: BaseException) -> bool:
    """Whether a file FFmpeg found invalid starts as a video container does (an mp4/mov box,
    Matroska's EBML, RIFF, MPEG-TS sync bytes 188 apart): then it is more likely cut short (an
    mp4 whose index, the moov box, was to come at the end) than not a video at all."""
    if not isinstance(exc, av.InvalidDataError):
        return False
    try:
        with path.open("rb") as file:
            head = file.read(189)
    except OSError:
        return False
    return (
        head[4:8] in _BOXES
        or head[:4] in (b"\x1a\x45\xdf\xa3", b"RIFF")
        or (len(head) == 189 and head[0] == head[188] == 0x47)
    )


def ffmpeg_reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip().splitlines()[0]


def rotation_of(frame: av.VideoFrame) -> int:
    """Anticlockwise quarter turns, in degrees, that make the frame upright."""
    return int(round(frame.rotation / 90.0)) * 90 % 360 if frame.rotation else 0


def probe(path: Path) -> VideoInfo:
    """Open a video and decode its first frame to learn its upright size; InputError if unusable."""
    container = open_video(path)
    try:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.FFmpegError) as exc:
            detail = ffmpeg_reason(exc) if isinstance(exc, av.FFmpegError) else "no frame could be decoded"
            raise InputError(f"{path}: cannot decode its video ({detail})") from exc
        rotation = rotation_of(first)
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if duration is None and container.duration:
            duration = container.duration / av.time_base
        copied = sum(1 for s in container.streams if s.type in ("audio", "subtitle"))
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        return VideoInfo(
            path,
            stream.codec_context.name,
            width,
            height,
            rotation,
            float(rate),
            time_base,
            stream.frames or None,
            duration,
            copied,
            (first.colorspace, first.color_primaries, first.color_trc),
            _sample_aspect(stream, rotation),
            *_start_and_origin(container, stream, time_base, first),
        )
    finally:
        container.close()


def _start_and_origin(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    time_base: Fraction,
    first: av.VideoFrame,
) -> tuple[float, float]:
    """The video stream's first PTS and the container's start, in seconds (see VideoInfo);
    without a start in the file, the first frame's time."""
    if stream.start_time is not None:
        start = float(stream.start_time * time_base)
    else:
        start = float(first.time) if first.time is not None else 0.0
    origin = container.start_time / av.time_base if container.start_time is not None else start
    return start, min(origin, start)


def _sample_aspect(stream: av.video.stream.VideoStream, rotation: int) -> Fraction | None:
    """The pixel aspect ratio of the upright picture (turned with it), or None if unknown."""
    given = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if not given or given <= 0:
        return None
    ratio = Fraction(given)
    return 1 / ratio if rotation in (90, 270) else ratio
