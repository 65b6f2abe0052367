"""Video input with PyAV: upright RGB frames with their PTS (or, for the render pass, the decoder's
own yuv420p planes where they can go to the encoder as they are), and the audio and subtitle
packets to copy. Opening and probing are in ``media.probe``, the H.264 writer in ``media.writer``."""

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
from .probe import FULL_RANGE, VideoInfo, ffmpeg_reason, open_video, probe, rotation_of
from .sampling import Sampler

TRUNCATED = "the file ends before its last frame"
_INDEXED = frozenset({"mov", "mp4"})  # demuxers whose frame count is the sample table's: one packet per frame


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


def passes_through(frame: av.VideoFrame) -> bool:
    """Whether the encoder (libx264, yuv420p, limited range) can take the decoder's picture as
    it is: 8-bit yuv420p, even width and height, not full range, no rotation to apply."""
    return (
        frame.format.name == "yuv420p"
        and frame.width % 2 == 0
        and frame.height % 2 == 0
        and frame.color_range != FULL_RANGE
        and not rotation_of(frame)
    )


def upright_rgb(reformatter: VideoReformatter, frame: av.VideoFrame) -> np.ndarray:
    """(H,W,3) uint8 RGB of ``frame``, turned upright as its rotation asks."""
    rgb: np.ndarray = reformatter.reformat(frame, format="rgb24").to_ndarray()
    turns = rotation_of(frame) // 90
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


class VideoReader:
    """Decodes a video, frame by frame, to upright RGB.

    After iterating, ``decoded`` counts frames and ``error`` says why decoding stopped early
    (a truncated or damaged file), or is None. ``lost`` estimates the frames not decoded (0
    when ``error`` is None); ``discarded`` counts pictures an edit list hides, ``skipped``
    those sampling left out. ``demuxed`` counts the video packets read.
    """

    def __init__(self, path: Path, info: VideoInfo | None = None, skip: bool = True) -> None:
        """skip: when sampling, leave undecoded the H.264 pictures the sampler cannot pick and
        nothing references (False decodes every picture: the benchmark's baseline)."""
        self.info = info if info is not None else probe(path)
        self.path = path
        self.container = open_video(path)
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
        self.demuxed = 0
        self.error: str | None = None
        self._cut_off = False  # the last video packet ended where the file does, short of its size

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
                rgb = upright_rgb(self._to_rgb, frame)
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
        try:
            for item in self._demux(copy, sampler, pending):
                if isinstance(item, av.Packet):
                    yield item
                else:
                    yield from self._emit(item, sampler, pending, yuv)
        except av.FFmpegError as exc:
            self.error = ffmpeg_reason(exc)
            yield from self._emit(self._drain(), sampler, pending, yuv)
        self.decoded += len(pending)
        if self.error is None and self._cut_short():
            self.error = TRUNCATED

    def _demux(
        self, copy: Sequence, sampler: Sampler | None, pending: list[int]
    ) -> Iterator[av.Packet | list[av.VideoFrame]]:
        """The packets of the ``copy`` streams, and the frames each video packet decodes to, in
        file order; the last item drains the decoder. A video packet that the end of the file
        cut short (FFmpeg flags it corrupt) is held back: decoded if more video follows, left
        out if not. Its decode error would come out of the frame threads while the decoder
        drains, and PyAV then gives up the frames still in the threads."""
        recent: deque[int] = deque(maxlen=32)  # PTS of the latest video packets, in file order
        held: av.Packet | None = None
        for packet in self.container.demux([self.stream, *copy]):
            if packet.stream is not self.stream:
                if packet.dts is not None:
                    yield packet
                continue
            if packet.size == 0 and packet.dts is None:  # the end of the stream: drain the decoder
                self._cut_off = held is not None
                yield self._decode(packet, sampler, recent, pending)
                continue
            self.demuxed += 1
            if held is not None:
                yield self._decode(held, sampler, recent, pending)
                held = None
            if packet.is_corrupt:
                held = packet
            elif packet.size:  # an empty one (a dropped frame) holds nothing, and would drain the decoder
                yield self._decode(packet, sampler, recent, pending)

    def _decode(
        self, packet: av.Packet, sampler: Sampler | None, recent: deque[int], pending: list[int]
    ) -> list[av.VideoFrame]:
        """The frames that come out of the decoder for a video packet; nothing for a picture
        ``_skippable`` leaves undecoded (its PTS goes to ``pending``)."""
        if packet.is_discard:  # before the start of an edit list: decoded, never shown
            self.discarded += 1
        elif sampler is not None and packet.pts is not None and self._skippable(packet, sampler, recent):
            heapq.heappush(pending, packet.pts)
            self.skipped += 1
            return []
        if packet.pts is not None:
            recent.append(packet.pts)
        with stage("decode"):
            # cast: packets of the video stream decode to VideoFrames (the stub gives every kind)
            return cast("list[av.VideoFrame]", packet.decode())

    def _emit(
        self, decoded: list[av.VideoFrame], sampler: Sampler | None, pending: list[int], yuv: bool
    ) -> Iterator[Frame | YuvFrame]:
        """The decoded frames the sampler picks; the others, and the skipped pictures shown
        before each, are only counted."""
        for frame in decoded:
            while pending and frame.pts is not None and pending[0] < frame.pts:
                heapq.heappop(pending)
                self.decoded += 1
            if sampler is None or sampler(self._time(frame)):
                yield self._frame(frame, yuv)
            else:
                self.decoded += 1

    def _drain(self) -> list[av.VideoFrame]:
        """After a demux or decode error: the frames still in the decoder (its frame threads
        hold a few), so that every frame FFmpeg can decode is kept. Nothing if the error came as
        the decoder drained already: FFmpeg takes no second drain, and PyAV asks for frames
        only after sending one."""
        try:
            return cast("list[av.VideoFrame]", self.stream.codec_context.decode(None))
        except av.FFmpegError:
            return []

    def _cut_short(self) -> bool:
        """Whether the file ends before its last frame, once read to its end without an error:
        its last video packet was cut short, or (mp4, mov) fewer packets were read than the
        sample table lists. Not a header's frame count against the frames decoded: an AVI's
        may count a dropped frame that no packet holds, or one the decoder gives nothing for."""
        if self._cut_off:
            return True
        indexed = bool(_INDEXED & set(self.container.format.name.split(",")))
        return indexed and self.demuxed < (self.stream.frames or 0)

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
        """Frames the container announced but that were not decoded, in a file that ``error``
        says is cut short or damaged (0 otherwise: a header's count may be off by a frame the
        file never held). Pictures before the start of an edit list (a file cut without
        re-encoding) are announced, decoded and never shown: they are not lost."""
        if self.error is None:
            return 0
        return max(0, (self.info.frames or 0) - self.decoded - self.discarded)

    def side_streams(self) -> list:
        """The audio and subtitle streams, to copy into the output."""
        return [s for s in self.container.streams if s.type in ("audio", "subtitle")]


def frames_at(path: Path, indices: Sequence[int], sample_fps: float | None = None) -> dict[int, np.ndarray]:
    """The (H,W,3) uint8 RGB pictures of frames ``indices`` (decode order from 0), decoded as an
    analysis at ``sample_fps`` decoded them (so that sampled frames are found), stopping after
    the last one wanted. A frame the video does not have is left out."""
    wanted, found = set(indices), dict[int, np.ndarray]()
    if not wanted:
        return found
    with VideoReader(path, probe(path)) as reader:
        for frame in reader.frames(sample_fps):
            if frame.index in wanted:
                found[frame.index] = frame.image
                if len(found) == len(wanted):
                    break
    return found
