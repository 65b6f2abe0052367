"""Small test videos made with PyAV from the sample portraits (nothing binary is committed)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from conftest import ROOT
from PIL import Image

SIZE = (640, 360)  # upright width, height
FPS = 25


@dataclass(frozen=True)
class Scene:
    """Who is on screen when: each person's (start, end) intervals in seconds, ends exclusive."""

    eileen: tuple[tuple[float, float], ...] = ((0.0, 2.0),)
    grace: tuple[tuple[float, float], ...] = ((1.0, 3.0),)
    length: float = 4.0


def portraits() -> tuple[np.ndarray, np.ndarray]:
    """Head-and-shoulders crops of the two portraits, faces about 90 px wide."""
    astronaut = Image.open(ROOT / "samples" / "astronaut.png").convert("RGB").crop((120, 10, 330, 260))
    hopper = (
        Image.open(ROOT / "samples" / "grace_hopper.jpg").convert("RGB").crop((110, 50, 420, 420)).resize((210, 250))
    )
    return np.asarray(astronaut), np.asarray(hopper)


def compose(t: float, scene: Scene, people: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The upright (360, 640, 3) picture at time t: Eileen left (drifting right), Grace right."""
    frame = np.full((SIZE[1], SIZE[0], 3), 96, np.uint8)
    if any(a <= t < b for a, b in scene.eileen):
        x = 40 + int(10 * t)
        frame[60:310, x : x + 210] = people[0]
    if any(a <= t < b for a, b in scene.grace):
        frame[60:310, 390:600] = people[1]
    return frame


def tone(seconds: float, rate: int = 48000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def make_clip(
    path: Path,
    scene: Scene = Scene(),
    times: list[float] | None = None,
    rotation: int = 0,
    audio: bool = True,
    time_base: Fraction = Fraction(1, 12800),
    preset: str = "ultrafast",
    bt709: bool = False,
    sample_aspect: Fraction | None = None,
) -> list[int]:
    """Write an H.264 mp4 of the scene with a 440 Hz AAC tone; returns the video PTS written.

    times: frame times in seconds (default: 25 fps); irregular ones make a VFR clip.
    rotation: display rotation in degrees anticlockwise; frames are stored turned the other way.
    preset: libx264's; "ultrafast" writes no B-frames, "veryfast" writes non-reference ones.
    bt709: convert with the BT.709 matrix and tag the stream so (as HD cameras do), losslessly.
    sample_aspect: the stored pixels' width:height (anamorphic video), if not square.
    """
    people = portraits()
    times = times if times is not None else [i / FPS for i in range(int(scene.length * FPS))]
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=FPS)
        turns = rotation // 90
        w, h = SIZE if turns % 2 == 0 else SIZE[::-1]
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base
        stream.options = {"crf": "0" if bt709 else "20", "preset": preset}
        if bt709:
            context = stream.codec_context
            context.colorspace = context.color_primaries = context.color_trc = context.color_range = 1
        if sample_aspect is not None:
            stream.codec_context.sample_aspect_ratio = sample_aspect
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000, layout="mono") if audio else None
        written = []
        for t in times:
            stored = np.ascontiguousarray(np.rot90(compose(t, scene, people), k=-turns))
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            if bt709:
                frame = frame.reformat(format="yuv420p", dst_colorspace=1)
            frame.pts = int(round(t / time_base))
            written.append(frame.pts)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            samples = tone(scene.length)
            for start in range(0, len(samples), 1024):
                chunk = samples[start : start + 1024][None, :]
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return written


def decoded_planes(path: Path) -> list[np.ndarray]:
    """Every frame of the video as the decoder gives it: (H*3/2,W) uint8 yuv420p planes."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray() for frame in container.decode(video=0)]


def stream_dump(path: Path) -> dict:
    """Video PTS (sorted), video time base, size and frame count, and every audio packet's bytes and PTS."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        pts, audio = [], []
        for packet in container.demux():
            if packet.stream.type == "video" and packet.pts is not None:
                pts.append(packet.pts)
            elif packet.stream.type == "audio" and packet.dts is not None:
                audio.append((packet.pts, bytes(packet)))
        frames = sum(1 for _ in container.decode(video=0)) if container.seek(0) is None else 0
        return {
            "pts": sorted(pts),
            "time_base": video.time_base,
            "size": (video.width, video.height),
            "frames": frames,
            "audio": audio,
            "duration": container.duration,
        }


def trim_clip(src: Path, dst: Path, frames: int) -> None:
    """Cut the first ``frames`` frames off src's video the way a stream copy does: the packets
    are kept and shifted to negative times, and the mp4 edit list hides them."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        target = out.add_stream_from_template(stream)
        shift = round(frames / stream.average_rate / stream.time_base)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            packet.stream = target
            out.mux(packet)


def decodable(path: Path) -> int:
    """Frames a plain single-threaded PyAV loop gets from the video: decode each packet until
    the first error, then drain the decoder (one thread reports each error at its packet)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.codec_context.thread_count = "NONE", 1
        count = 0
        try:
            for packet in container.demux(stream):
                count += len(packet.decode())
        except av.FFmpegError:
            count += len(stream.codec_context.decode(None))
        return count


def cut(src: Path, dst: Path, keep: float) -> Path:
    """dst: the first ``keep`` (0..1) of src's bytes, as a copy interrupted on the way leaves."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def remux(src: Path, dst: Path, options: dict[str, str] | None = None) -> Path:
    """dst: src's video packets copied as they are, in the container dst's suffix names (an mp4
    without options has its index, the moov box, after the media data)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options=options or {}) as out:
        target = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(video=0):
            if packet.dts is not None:
                packet.stream = target
                out.mux(packet)
    return dst


def small_video(path: Path, codec: str, size: tuple[int, int], pts: list[int], pix_fmt: str) -> Path:
    """Frames of a left-to-right ramp (its own shade for each frame) at the given PTS, 25 fps."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for i, t in enumerate(pts):
            image = np.zeros((height, width, 3), np.uint8)
            image[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)
            image[..., 1] = 5 * i % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = t
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def pcm_avi(path: Path) -> Path:
    """An MJPEG AVI with stereo PCM audio: the AVI gives the 2 channels no layout."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mjpeg", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuvj420p"
        audio = out.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 1920), np.int16), format="s16", layout="stereo")
            sound.sample_rate, sound.pts = 48000, 1920 * i
            for packet in audio.encode(sound):
                out.mux(packet)
        for packet in [*video.encode(), *audio.encode()]:
            out.mux(packet)
    return path
