"""Damaged and unusual videos, made in tmp_path: truncated files keep every decodable frame and
say so (and only they do), odd sizes and streams a container cannot hold come with a note, and
failures to write are OutputErrors."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from clips import Scene, cut, decodable, make_clip, pcm_avi, remux, small_video

from annotate.errors import InputError, OutputError
from annotate.media.probe import probe
from annotate.media.video import TRUNCATED, Frame, VideoReader
from annotate.media.writer import VideoWriter


def read(path: Path, sample_fps: float | None = None) -> tuple[list[Frame], VideoReader]:
    with VideoReader(path) as reader:
        return list(reader.frames(sample_fps)), reader


def frames_of(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def b_frames(path: Path) -> Path:
    """A 2 s clip with B-frames (as most cameras' files have) and AAC audio, in path's container."""
    make_clip(path, Scene(length=2.0), preset="veryfast")
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_a_truncated_video_keeps_every_decodable_frame(tmp_path, suffix):
    # a frame-threaded decoder holds a few frames; the packet the cut went through must not
    # take them with it, and sampling decodes and counts the same frames
    source = cut(b_frames(tmp_path / f"whole{suffix}"), tmp_path / f"cut{suffix}", 0.6)
    frames, reader = read(source)
    assert 0 < len(frames) == decodable(source) < 50
    assert [f.pts for f in frames] == sorted(f.pts for f in frames), "in presentation order"
    _, sampled = read(source, 5.0)
    assert sampled.decoded == reader.decoded == len(frames) and sampled.error == reader.error
    if suffix == ".mp4":  # its index lists 50 frames; Matroska and MPEG-TS have none to tell
        assert reader.error == TRUNCATED and reader.lost == 50 - len(frames)


def test_a_decode_error_keeps_the_frames_in_the_decoder_threads(tmp_path):
    # a broken NAL length in the 20th picture: decoding stops there, with every frame FFmpeg
    # decoded before it, those still in the frame threads included
    source = b_frames(tmp_path / "whole.mp4")
    with av.open(str(source)) as container:
        where = [p.pos for p in container.demux(video=0) if p.size][20]
    data = bytearray(source.read_bytes())
    data[where : where + 4] = b"\x7f\xff\xff\xff"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    frames, reader = read(broken)
    assert reader.error and "Invalid data" in reader.error
    assert 20 <= decodable(broken) <= len(frames) < 50
    assert reader.lost == 50 - len(frames)


def test_an_mp4_cut_between_two_packets_is_truncated(tmp_path):
    # no packet is cut short, the demuxer just ends: the sample table still lists 50 frames
    source = b_frames(tmp_path / "whole.mp4")
    with av.open(str(source)) as container:
        end = [p.pos + p.size for p in container.demux(video=0) if p.size][29]
    boundary = tmp_path / "boundary.mp4"
    boundary.write_bytes(source.read_bytes()[:end])
    frames, reader = read(boundary)
    assert len(frames) == decodable(boundary) == 30
    assert reader.error == TRUNCATED and reader.lost == 20


def test_a_complete_avi_is_not_truncated_though_its_header_counts_one_more_frame(tmp_path):
    # a gap in the PTS makes FFmpeg's AVI muxer count a dropped frame that no packet holds
    gap = small_video(tmp_path / "gap.avi", "mjpeg", (64, 48), [*range(25), *range(26, 51)], "yuvj420p")
    with av.open(str(gap)) as container:
        assert container.streams.video[0].frames == 51
    frames, reader = read(gap)
    assert len(frames) == decodable(gap) == 50
    assert reader.error is None and reader.lost == 0
    # cut, the same file is truncated: its last packet ends short, at the end of the file
    frames, reader = read(cut(gap, tmp_path / "cut.avi", 0.7))
    assert len(frames) == decodable(tmp_path / "cut.avi") < 50
    assert reader.error == TRUNCATED and reader.lost == 51 - len(frames)


def test_an_odd_sized_video_is_padded_with_a_note(tmp_path):
    # 4:2:0 H.264 crops in 2-pixel steps only: the size cannot be kept, and the note says so
    source = small_video(tmp_path / "odd.mkv", "ffv1", (641, 479), list(range(5)), "yuv444p")
    info = probe(source)
    out = tmp_path / "out.mp4"
    with VideoReader(source, info) as reader:
        writer = VideoWriter(out, info, [], "mp4", crf=0)
        assert writer.notes == [
            "641x479 is odd-sized; H.264 (yuv420p) needs even sizes, so the output is 642x480 "
            "with the last column and row repeated"
        ]
        for frame in reader.frames():
            writer.write(frame.image, frame.pts)
        writer.close()
    with av.open(str(out)) as container:
        picture = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert picture.shape == (480, 642, 3)
    assert np.abs(picture[:, -1] - picture[:, -2]).max() <= 3 and np.abs(picture[-1] - picture[-2]).max() <= 3


def render(source: Path, out: Path, out_format: str) -> VideoWriter:
    """Copy source's frames and side streams through a VideoWriter, as the render pass does."""
    info = probe(source)
    with VideoReader(source, info) as reader:
        writer = VideoWriter(out, info, reader.side_streams(), out_format)
        for item in reader.packets(writer.sources):
            if isinstance(item, Frame):
                writer.write(item.image, item.pts)
            else:
                writer.mux(item)
        writer.close()
    return writer


def test_audio_the_output_container_cannot_hold_is_left_out_with_a_note(tmp_path):
    # the mp4 muxer takes PCM until its trailer, after the whole render, then cannot name the
    # channel layout; a trial in memory finds it first. QuickTime's mov holds it.
    source = pcm_avi(tmp_path / "pcm.avi")
    writer = render(source, tmp_path / "out.mp4", "mp4")
    assert writer.notes == ["audio stream 1 (pcm_s16le) cannot be stored in mp4 (Invalid argument); left out"]
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert not container.streams.audio and sum(1 for _ in container.decode(video=0)) == 10
    writer = render(source, tmp_path / "out.mov", "mov")
    assert writer.notes == []
    with av.open(str(tmp_path / "out.mov")) as container:
        assert container.streams.audio[0].codec_context.name == "pcm_s16le"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full (a device that is always full)")
@pytest.mark.parametrize(("out_format", "frames"), [("mp4", 30), ("matroska", 10)])
def test_a_full_disk_is_an_output_error_naming_the_final_file(tmp_path, out_format, frames):
    # mp4 fails while writing (its buffer fills with incompressible noise), Matroska at close
    info = probe(small_video(tmp_path / "in.avi", "mjpeg", (64, 48), list(range(3)), "yuvj420p"))
    final = tmp_path / "final.mp4"
    writer = VideoWriter(Path("/dev/full"), info, [], out_format, name=final)
    noise = np.random.default_rng(0).integers(0, 256, (frames, 48, 64, 3), dtype=np.uint8)
    with pytest.raises(OutputError, match="No space left on device") as caught:
        for i, picture in enumerate(noise):
            writer.write(picture, i)
        writer.close()
    assert caught.value.path == final and str(caught.value).startswith(f"{final}: cannot write (")


def test_a_packet_the_muxer_refuses_is_an_output_error(tmp_path, monkeypatch):
    source = tmp_path / "clip.mp4"
    make_clip(source, Scene(length=1.0))
    info = probe(source)
    with VideoReader(source, info) as reader:
        writer = VideoWriter(tmp_path / "out.mp4", info, reader.side_streams(), "mp4")
        audio = next(item for item in reader.packets(writer.sources) if isinstance(item, av.Packet))
        writer.mux(audio)
        audio.stream = reader.side_streams()[0]
        closed = []
        monkeypatch.setattr(writer, "abort", lambda: closed.append(VideoWriter.abort(writer)))
        with pytest.raises(OutputError, match=r"out\.mp4: cannot write \(Invalid argument\)"):
            writer.mux(audio)  # the same DTS again
        assert closed, "the container is closed before the error goes up"


def test_an_mp4_without_its_index_hints_that_it_is_truncated(tmp_path):
    # the moov box comes last unless the file was made for streaming: cut, nothing can be read
    late = remux(b_frames(tmp_path / "whole.mp4"), tmp_path / "late.mp4")
    with pytest.raises(InputError, match="may be truncated or still being written"):
        probe(cut(late, tmp_path / "cut.mp4", 0.6))
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(InputError, match=r"not a video FFmpeg can read \([^;]*\)$"):
        probe(text)
