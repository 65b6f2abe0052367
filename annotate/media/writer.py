"""The H.264 writer: upright RGB pictures, or yuv420p planes passed through from the decoder,
encoded with libx264 at their original PTS and time base, next to untouched copies of the
audio and subtitle streams."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import InputError
from ..runtime.timing import stage
from .video import FASTSTART, LIMITED_RANGE, UNSPECIFIED, VideoInfo, ffmpeg_reason


class VideoWriter:
    """Writes upright pictures as H.264 (libx264, yuv420p) at their original PTS and time base,
    and muxes copied packets unchanged. The file is complete only after ``close()``."""

    def __init__(
        self, path: Path, info: VideoInfo, copy: Sequence, out_format: str, crf: int = 18, preset: str = "veryfast"
    ) -> None:
        options = {"movflags": "+faststart"} if out_format in FASTSTART else {}
        self.path = path
        try:
            self.container = av.open(str(path), "w", format=out_format, options=options)
        except (av.FFmpegError, ValueError) as exc:
            raise InputError(f"{path}: cannot write a {out_format} file ({ffmpeg_reason(exc)})") from exc
        try:
            self._setup(info, copy, out_format, crf, preset)
        except BaseException:
            self.abort()
            raise

    def _setup(self, info: VideoInfo, copy: Sequence, out_format: str, crf: int, preset: str) -> None:
        rate = Fraction(info.fps).limit_denominator(1001 * 1000)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = info.width + info.width % 2, info.height + info.height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = info.time_base
        self.stream.codec_context.time_base = info.time_base
        self.stream.options = {"crf": str(crf), "preset": preset}
        # the source's colour tags, so players read the YUV as it was made (pictures that pass
        # through keep the source's matrix; RGB ones are converted with it)
        context = self.stream.codec_context
        for name, value in zip(("colorspace", "color_primaries", "color_trc"), info.colour):
            if value != UNSPECIFIED:
                setattr(context, name, value)
        if any(value != UNSPECIFIED for value in info.colour):
            context.color_range = LIMITED_RANGE
        self._matrix = info.matrix
        if info.sample_aspect is not None and info.sample_aspect != 1:  # anamorphic: shown as wide as the input
            context.sample_aspect_ratio = info.sample_aspect
        supported = self.container.supported_codecs
        self.copies, self.notes, self.copied_inputs = {}, [], []
        for src in copy:
            codec = src.codec_context.name if src.codec_context else None
            if codec in supported:
                self.copies[src.index] = self.container.add_stream_from_template(src)
                self.copied_inputs.append(src)
            else:
                self.notes.append(f"{src.type} stream {src.index} ({codec}) cannot be stored in {out_format}; left out")
        self._to_yuv = VideoReformatter()  # one swscale context for the stream, not one per frame
        self._frame_ticks = 1 / (rate * info.time_base)  # one frame in time-base units, for frames without PTS
        self.frames = 0

    @property
    def sources(self) -> list:
        """The input streams whose packets this writer copies."""
        return list(self.copied_inputs)

    def write(self, picture: np.ndarray, pts: int | None) -> None:
        """Encode one picture: (H,W,3) uint8 RGB, upright (odd sizes are padded by one edge
        pixel), or the (H*3/2,W) uint8 yuv420p planes of a ``YuvFrame``, encoded as they are."""
        if picture.ndim == 2:
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        else:
            h, w = picture.shape[:2]
            if (h % 2) or (w % 2):
                picture = np.pad(picture, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            with stage("colour"):
                frame = self._to_yuv.reformat(
                    av.VideoFrame.from_ndarray(picture, format="rgb24"), format="yuv420p", dst_colorspace=self._matrix
                )
        frame.pts = pts if pts is not None else round(self.frames * self._frame_ticks)
        frame.time_base = self.stream.codec_context.time_base
        with stage("encode"):
            try:
                for packet in self.stream.encode(frame):
                    self.container.mux(packet)
            except av.FFmpegError as exc:
                raise InputError(f"{self.path}: libx264 refused the picture ({ffmpeg_reason(exc)})") from exc
        self.frames += 1

    def mux(self, packet: av.Packet) -> None:
        """Copy one packet of an audio or subtitle stream, bytes and timestamps unchanged."""
        target = self.copies.get(packet.stream.index)
        if target is not None:
            packet.stream = target
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        except av.FFmpegError as exc:
            self.abort()
            raise InputError(f"{self.path}: libx264 failed at the end ({ffmpeg_reason(exc)})") from exc
        self.container.close()

    def abort(self) -> None:
        """Close the container after a failure (the file is incomplete; its caller removes it)."""
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):  # the file is being thrown away
            self.container.close()
