"""The render pass: a copy of the video with every analysed face drawn, its sound kept.

The video is decoded again and each frame drawn with the named faces of its analysis (a
sampled analysis holds each frame's drawing until the next analysed frame), on the decoder's
own YUV planes where it can, so nothing but the drawing changes; audio and subtitle packets
are copied as they are. decode | draw | encode run as threads with small queues.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import av
import numpy as np

from ..drawing.blur import blur_rgb, blur_yuv
from ..drawing.draw import draw_faces
from ..drawing.draw_yuv import draw_faces_yuv
from ..drawing.options import DrawOptions
from ..errors import InputError, OutputError
from ..faces import Faces
from ..media import atomic_path, check_targets, refuse_existing
from ..media.probe import ffmpeg_reason
from ..media.video import Frame, VideoReader, YuvFrame
from ..media.writer import VideoWriter
from ..runtime.threads import prefetched
from ..runtime.timing import stage
from .analysis import VideoAnalysis, VideoOptions
from .hide import hidden_faces
from .timeline import FrameFaces

OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def output_format(path: Path) -> str:
    """The container for an output path's suffix; InputError for other suffixes."""
    try:
        return OUTPUT_FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputError(f"{path}: videos are written as " + ", ".join(OUTPUT_FORMATS)) from None


def render_video(
    analysis: VideoAnalysis,
    output: str | os.PathLike[str],
    options: VideoOptions | None = None,
    tick: Callable[[int], object] | None = None,
    overwrite: bool = False,
    *,
    yuv: bool = True,
    drawing: DrawOptions | None = None,
) -> list[str]:
    """Draw every frame of the analysed video with its named faces (not the spurious ones) and encode it to ``output``
    (.mp4, .m4v, .mov or .mkv) with libx264, keeping every frame's timestamp, the rotation,
    colour tags and the audio and subtitle streams. The file appears under its name only when
    complete, and never over a file that exists then unless ``overwrite`` (OutputExistsError);
    OutputError if it cannot be written. options: crf, preset and switch_interval (default: the analysis's). tick(n):
    frames written. yuv: draw on the decoder's yuv420p pictures where they can go to the
    encoder as they are (False converts every picture to RGB and back: the baseline of
    benchmarks/bench_render.py). drawing: which marks and labels (``DrawOptions``), and whose
    faces to hide instead (its ``blur``), in every frame from their first to their last
    (``video.hide``).
    Returns notes (e.g. streams that could not be copied)."""
    out = Path(output)
    container = output_format(out)
    refuse_existing([out], overwrite)
    check_targets([(analysis.source, out)])
    options = options or analysis.options
    hold = 1.0 / analysis.options.sample_fps if analysis.options.sample_fps else 0.0
    drawing = drawing or DrawOptions()
    blur = drawing.blur
    hidden = hidden_faces(analysis, blur) if blur is not None else None
    left_out = analysis.spurious | (hidden.people if hidden is not None else frozenset())
    by_index = {f.index: _without(f, left_out) for f in analysis.frames}
    info = analysis.info
    with VideoReader(analysis.source, info) as reader, atomic_path(out, overwrite) as tmp:
        writer = VideoWriter(tmp, info, reader.side_streams(), container, options.crf, options.preset, name=out)
        shown: FrameFaces | None = None

        def drawn() -> Iterator[tuple[np.ndarray, int | None] | av.Packet]:
            nonlocal shown
            decoded = reader.packets(writer.sources, yuv=yuv)
            with prefetched(decoded, size=8, name="decode", switch_interval=options.switch_interval) as ahead:
                for item in ahead:
                    if not isinstance(item, (Frame, YuvFrame)):
                        yield item
                        continue
                    record = by_index.get(item.index)
                    if record is not None:
                        shown = record
                    elif shown is None or item.time - shown.time >= hold:
                        shown = None
                    draw: Callable[[np.ndarray, Faces], np.ndarray]
                    hide: Callable[..., np.ndarray]
                    if isinstance(item, YuvFrame):
                        draw = partial(draw_faces_yuv, matrix=info.matrix, options=drawing)
                        picture, hide = item.planes, blur_yuv
                    else:
                        picture, draw, hide = item.image, partial(draw_faces, options=drawing), blur_rgb
                    if hidden is not None and blur is not None:
                        boxes, extra = hidden.at(item.time)
                        if len(boxes):
                            with stage("blur"):
                                picture = hide(picture, boxes, blur.style, blur.pad, extra)
                    if shown is not None and len(shown.faces):
                        with stage("draw"):
                            picture = draw(picture, shown.faces)
                    yield picture, item.pts

        try:
            _encode(writer, drawn(), tick, options)
            writer.close()
        except av.FFmpegError as exc:  # the muxer refused a packet, or the disk filled up
            writer.abort()
            raise OutputError(out, ffmpeg_reason(exc)) from exc
        except BaseException:
            writer.abort()
            raise
    return writer.notes


def _without(frame: FrameFaces, hidden: frozenset[int]) -> FrameFaces:
    """The frame without the faces of ``hidden`` people (the spurious: they are not in the
    timeline either; and the blurred)."""
    tracks = frame.faces.tracks
    if not hidden or tracks is None:
        return frame
    keep = ~np.isin(tracks, list(hidden))
    return frame if keep.all() else FrameFaces(frame.index, frame.time, frame.faces[keep])


def _encode(
    writer: VideoWriter,
    drawn: Iterator[tuple[np.ndarray, int | None] | av.Packet],
    tick: Callable[[int], object] | None,
    options: VideoOptions,
) -> None:
    """Encode the drawn pictures and mux the copied packets, in the order they come."""
    with prefetched(drawn, size=8, name="draw", switch_interval=options.switch_interval) as ahead:
        for item in ahead:
            if isinstance(item, tuple):
                writer.write(*item)
                if tick is not None:
                    tick(1)
            else:
                writer.mux(item)
