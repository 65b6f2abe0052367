"""Video input with PyAV: upright RGB frames with their PTS (or, for the render pass, the decoder's
own yuv420p planes where they can go to the encoder as they are), and the audio and subtitle
packets to copy. The H.264 writer is in ``media.writer``."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import InputError
from ..runtime.timing import stage
from .h264 import is_non_reference, nal_length_size
from .sampling import Sampler

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".mpg", ".mpeg", ".wmv", ".flv"}
)
FASTSTART = frozenset({"mp4", "mov"})
UNSPECIFIED = 2  # AVCOL_SPC_UNSPECIFIED, AVCOL_PRI_UNSPECIFIED, AVCOL_TRC_UNSPECIFIED
LIMITED_RANGE, _FULL_RANGE = 1, 2  # AVCOL_RANGE_MPEG (what libx264 is given here), AVCOL_RANGE_JPEG
_MATRICES = frozenset({1, 4, 5, 6, 7, 9, 10})  # BT.709, FCC, BT.470BG, SMPTE 170M and 240M, BT.2020 (swscale's)


@dataclass(frozen=True)
class Frame:
    """One decoded frame. index: position in the stream from 0. pts: in the stream's time base
    (None if the file has none). time: seconds from PTS. image: (H,W,3) uint8 RGB, upright."""

    index: int
    pts: int | None
    time: float
    image: np.ndarray


@dataclass(frozen=True)
class YuvFrame:
    """One decoded frame as the decoder gave it. index, pts, time: as ``Frame``. planes:
    (H*3/2,W) uint8 yuv420p, the Y plane then U then V ((H/2,W/2) each), limited range,
    upright; H and W even."""

    index: int
    pts: int | None
    time: float
    planes: np.ndarray


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds. width, height: of the upright picture. rotation: degrees
    anticlockwise that the file asks players to turn its pictures. fps: average frame rate.
    frames: count given by the container, or None. duration: seconds, or None. colour: the
    first frame's (colorspace, primaries, transfer) tags, FFmpeg's numbers (2: unspecified).
    sample_aspect: width:height of a pixel of the upright picture, if the file gives one (not
    1:1 in anamorphic video)."""

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

    @property
    def matrix(self) -> int | None:
        """The first frame's YUV matrix (FFmpeg's AVColorSpace) where swscale knows it, else
        None (swscale then uses BT.601): what converts this video's pictures to and from RGB."""
        return self.colour[0] if self.colour[0] in _MATRICES else None


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a video FFmpeg can read ({ffmpeg_reason(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.codec.name:
        container.close()
        raise InputError(f"{path}: unknown video codec, no decoder for it")
    return container


def ffmpeg_reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip().splitlines()[0]


def _rotation(frame: av.VideoFrame) -> int:
    """Anticlockwise quarter turns, in degrees, that make the frame upright."""
    return int(round(frame.rotation / 90.0)) * 90 % 360 if frame.rotation else 0


def probe(path: Path) -> VideoInfo:
    """Open a video and decode its first frame to learn its upright size; InputError if unusable."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.FFmpegError) as exc:
            detail = ffmpeg_reason(exc) if isinstance(exc, av.FFmpegError) else "no frame could be decoded"
            raise InputError(f"{path}: cannot decode its video ({detail})") from exc
        rotation = _rotation(first)
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
        )
    finally:
        container.close()


def _sample_aspect(stream: av.video.stream.VideoStream, rotation: int) -> Fraction | None:
    """The pixel aspect ratio of the upright picture (turned with it), or None if unknown."""
    given = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if not given or given <= 0:
        return None
    ratio = Fraction(given)
    return 1 / ratio if rotation in (90, 270) else ratio


def passes_through(frame: av.VideoFrame) -> bool:
    """Whether the encoder (libx264, yuv420p, limited range) can take the decoder's picture as
    it is: 8-bit yuv420p, even width and height, not full range, no rotation to apply."""
    return (
        frame.format.name == "yuv420p"
        and frame.width % 2 == 0
        and frame.height % 2 == 0
        and frame.color_range != _FULL_RANGE
        and not _rotation(frame)
    )


class VideoReader:
    """Decodes a video, frame by frame, to upright RGB.

    After iterating, ``decoded`` counts frames and ``error`` says why decoding stopped early
    (a truncated or damaged file), or is None. ``lost`` estimates the frames not decoded;
    ``discarded`` counts pictures an edit list hides, ``skipped`` those sampling left out.
    """

    def __init__(self, path: Path, info: VideoInfo | None = None, skip: bool = True) -> None:
        """skip: when sampling, leave undecoded the H.264 pictures the sampler cannot pick and
        nothing references (False decodes every picture: the benchmark's baseline)."""
        self.info = info if info is not None else probe(path)
        self.path = path
        self.container = _open(path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        if self.stream.time_base is None:  # FFmpeg gives every demuxed stream one
            raise InputError(f"{path}: the video stream has no time base")
        self._time_base: Fraction = self.stream.time_base
        self._to_rgb = VideoReformatter()  # one swscale context for the stream, not one per frame
        context = self.stream.codec_context
        self._length_size = nal_length_size(context.name, context.extradata) if skip else None
        self.decoded = 0
        self.skipped = 0
        self.discarded = 0
        self.error: str | None = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def _time(self, frame: av.VideoFrame) -> float:
        return float(frame.pts * self._time_base) if frame.pts is not None else self.decoded / self.info.fps

    def _frame(self, frame: av.VideoFrame, yuv: bool = False) -> Frame | YuvFrame:
        out: Frame | YuvFrame
        if yuv and passes_through(frame):
            out = YuvFrame(self.decoded, frame.pts, self._time(frame), frame.to_ndarray())
        else:
            with stage("colour"):
                rgb: np.ndarray = self._to_rgb.reformat(frame, format="rgb24").to_ndarray()
                turns = _rotation(frame) // 90
                if turns:
                    rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
            out = Frame(self.decoded, frame.pts, self._time(frame), rgb)
        self.decoded += 1
        return out

    def frames(self, sample_fps: float | None = None) -> Iterator[Frame]:
        """Every frame in presentation order; with sample_fps, only the first frame at or after
        each tick of a 1/sample_fps grid (the others are decoded, counted, and not converted)."""
        yield from self.packets((), None if sample_fps is None else Sampler(sample_fps))  # type: ignore[misc]

    def packets(
        self, copy: Sequence, sampler: Sampler | None = None, yuv: bool = False
    ) -> Iterator[Frame | YuvFrame | av.Packet]:
        """Frames of the video stream, and the raw packets of the ``copy`` streams, in file order.
        sampler: which frames to convert and yield (None: every frame). H.264 pictures that it
        cannot pick and that no frame references are not even decoded (``skipped`` counts
        them); ``decoded`` and frame indices still count them. yuv: yield a ``YuvFrame``, not
        converted, for each frame that ``passes_through``."""
        pending: list[int] = []  # PTS of skipped pictures not yet passed in presentation order
        recent: deque[int] = deque(maxlen=32)  # PTS of the latest video packets, in file order
        try:
            for packet in self.container.demux([self.stream, *copy]):
                if packet.stream is not self.stream:
                    if packet.dts is not None:
                        yield packet
                    continue
                if packet.is_discard:  # before the start of an edit list: decoded, never shown
                    self.discarded += 1
                elif sampler is not None and packet.pts is not None and self._skippable(packet, sampler, recent):
                    heapq.heappush(pending, packet.pts)
                    self.skipped += 1
                    continue
                if packet.pts is not None:
                    recent.append(packet.pts)
                with stage("decode"):
                    # cast: packets of the video stream decode to VideoFrames (the stub gives every kind)
                    decoded = cast("list[av.VideoFrame]", packet.decode())
                for frame in decoded:
                    while pending and frame.pts is not None and pending[0] < frame.pts:
                        heapq.heappop(pending)
                        self.decoded += 1
                    if sampler is None or sampler(self._time(frame)):
                        yield self._frame(frame, yuv)
                    else:
                        self.decoded += 1
        except av.FFmpegError as exc:
            self.error = ffmpeg_reason(exc)
        self.decoded += len(pending)
        if self.error is None and self.lost:
            self.error = "the file ends before its last frame"

    def _skippable(self, packet: av.Packet, sampler: Sampler, recent: deque[int]) -> bool:
        """Whether a video packet holds a non-reference H.264 picture that the sampler cannot
        pick, judged from the latest earlier PTS among the packets already read."""
        if self._length_size is None or packet.pts is None or packet.size == 0:
            return False
        earlier = max((p for p in recent if p < packet.pts), default=None)
        if earlier is None:
            return False
        base = self._time_base
        if sampler.could_pick(float(earlier * base), float(packet.pts * base)):
            return False
        return is_non_reference(memoryview(packet), self._length_size)

    @property
    def lost(self) -> int:
        """Frames the container announced but that were not decoded. Pictures before the
        start of an edit list (a file cut without re-encoding) are announced, decoded and
        never shown: they are not lost."""
        return max(0, (self.info.frames or 0) - self.decoded - self.discarded)

    def side_streams(self) -> list:
        """The audio and subtitle streams, to copy into the output."""
        return [s for s in self.container.streams if s.type in ("audio", "subtitle")]
