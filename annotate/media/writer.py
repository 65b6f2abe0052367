"""The H.264 writer: upright RGB pictures, or yuv420p planes passed through from the decoder,
encoded with libx264 at their original PTS and time base, next to untouched copies of the
audio and subtitle streams."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import InputError, OutputError
from ..runtime.timing import stage
from .probe import FASTSTART, LIMITED_RANGE, UNSPECIFIED, VideoInfo, ffmpeg_reason


class VideoWriter:
    """Writes upright pictures as H.264 (libx264, yuv420p) at their original PTS and time base,
    and muxes copied packets unchanged. The file is complete only after ``close()``. Any
    failure to write (FFmpeg's or the system's) is an OutputError naming ``name``, the final
    name (default: ``path``, which may be a temporary one), and the container is closed."""

    def __init__(
        self,
        path: Path,
        info: VideoInfo,
        copy: Sequence,
        out_format: str,
        crf: int = 18,
        preset: str = "veryfast",
        name: Path | None = None,
    ) -> None:
        options = {"movflags": "+faststart"} if out_format in FASTSTART else {}
        self.path = path
        self.name = name if name is not None else path
        try:
            self.container = av.open(str(path), "w", format=out_format, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(self.name, ffmpeg_reason(exc)) from exc
        except ValueError as exc:  # a format FFmpeg does not know
            raise InputError(f"{self.name}: cannot write a {out_format} file ({ffmpeg_reason(exc)})") from exc
        try:
            self._setup(info, copy, out_format, crf, preset)
        except (av.FFmpegError, OSError) as exc:
            raise self._failed(exc) from exc
        except BaseException:
            self.abort()
            raise

    def _setup(self, info: VideoInfo, copy: Sequence, out_format: str, crf: int, preset: str) -> None:
        rate = Fraction(info.fps).limit_denominator(1001 * 1000)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = info.width + info.width % 2, info.height + info.height % 2
        self.notes: list[str] = [_odd_size_note(info.width, info.height)] if info.width % 2 or info.height % 2 else []
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
        firsts = _first_packets(copy)
        self.copies, self.copied_inputs = {}, []
        for src in copy:
            codec = src.codec_context.name if src.codec_context else None
            refused = _refused(src, firsts.get(src.index), out_format) if codec in supported else ""
            if refused is None:
                self.copies[src.index] = self.container.add_stream_from_template(src)
                self.copied_inputs.append(src)
            else:
                why = f" ({refused})" if refused else ""
                self.notes.append(
                    f"{src.type} stream {src.index} ({codec}) cannot be stored in {out_format}{why}; left out"
                )
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
            except (av.FFmpegError, OSError) as exc:
                raise self._failed(exc) from exc
        self.frames += 1

    def mux(self, packet: av.Packet) -> None:
        """Copy one packet of an audio or subtitle stream, bytes and timestamps unchanged."""
        target = self.copies.get(packet.stream.index)
        if target is not None:
            packet.stream = target
            try:
                self.container.mux(packet)
            except (av.FFmpegError, OSError) as exc:
                raise self._failed(exc) from exc

    def close(self) -> None:
        """Flush the encoder and finish the file (the mp4 muxer writes its index only now)."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
        except (av.FFmpegError, OSError) as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: BaseException) -> OutputError:
        """The error to raise for a failure to write, once the container is closed."""
        self.abort()
        return OutputError(self.name, ffmpeg_reason(exc))

    def abort(self) -> None:
        """Close the container after a failure (the file is incomplete; its caller removes it)."""
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):  # the file is being thrown away
            self.container.close()


def _odd_size_note(width: int, height: int) -> str:
    """Why the output is a pixel wider or taller than the input. H.264's frame cropping, which
    hides padding from players, counts in 2-pixel units for 4:2:0 video: it cannot do this."""
    edges = " and ".join(edge for edge, odd in (("column", width % 2), ("row", height % 2)) if odd)
    return (
        f"{width}x{height} is odd-sized; H.264 (yuv420p) needs even sizes, so the output is "
        f"{width + width % 2}x{height + height % 2} with the last {edges} repeated"
    )


def _first_packets(copy: Sequence, limit: int = 2000) -> dict[int, av.Packet]:
    """The first packet of each of the ``copy`` streams (by input stream index), read from a
    second opening of their file, at most ``limit`` packets in: what ``_refused`` tries."""
    if not copy:
        return {}
    wanted = {src.index for src in copy}
    found: dict[int, av.Packet] = {}
    try:
        with av.open(copy[0].container.name, metadata_errors="ignore") as source:
            for count, packet in enumerate(source.demux([source.streams[i] for i in sorted(wanted)])):
                if packet.dts is not None and packet.size:
                    found.setdefault(packet.stream.index, packet)
                if len(found) == len(wanted) or count >= limit:
                    break
    except (av.FFmpegError, OSError, ValueError, IndexError):  # then each stream is tried without a packet
        pass
    return found


def _refused(src: av.stream.Stream, packet: av.Packet | None, out_format: str) -> str | None:
    """Why the muxer refuses a copy of ``src`` (FFmpeg's words), or None if it takes it: a
    throwaway file in memory gets its header, the stream's first packet (if known) and its
    trailer. Some refusals come only with the trailer, after a whole render: the mp4 muxer's
    index cannot name the channel layout of PCM audio that has none."""
    try:
        with av.open(io.BytesIO(), "w", format=out_format) as trial:
            target = trial.add_stream_from_template(src)
            if packet is None:
                trial.start_encoding()
            else:
                packet.stream = target
                trial.mux(packet)
    except (av.FFmpegError, OSError, ValueError) as exc:
        return ffmpeg_reason(exc)
    return None
