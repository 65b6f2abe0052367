"""`annotate live`: a file or a paced lavfi replay watched frame by frame gives the file's CSV;
streams sent over tcp, udp, RTSP and HTTP by a PyAV writer in this process are read and
named; a slow consumer stays current with --drop latest; a writer that dies and comes back is
reopened; a source that accepts and never sends is a one-line error within its timeout."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest
from cast import make_cast
from conftest import ROOT, needs_shared, run_cli
from streams import send, send_twice, sending

import annotate
from annotate.live.source import SourceSpec, _Clock
from annotate.live.watch import LiveOptions, watch

BANK = ("-b", str(ROOT / "facebank"))


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def events_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_file_watched_frame_by_frame_gives_the_files_csv_and_events(tmp_path):
    clip = tmp_path / "cut.mp4"
    make_cast(clip, "cut")
    code, _, err = run_cli(  # on the CPU both lean on their tracks (video.shortcuts) alike
        "video", clip, "--no-render", "--csv", tmp_path / "file.csv", "--include-unknown", *BANK
    )
    assert code == 0, err
    events = tmp_path / "events.jsonl"
    code, out, err = run_cli(
        "live", clip, "--csv", tmp_path / "live.csv", "--events", events, "--include-unknown", *BANK
    )
    assert code == 0, err
    assert "150 frame(s), 150 analysed" in out
    assert (tmp_path / "live.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()
    log = events_of(events.read_text())
    named = {e["name"] for e in log if e["event"] == "named"}
    assert named == {"Eileen Collins", "Grace Hopper"}
    appeared = {e["track"]: e["time"] for e in log if e["event"] == "appear"}
    for e in log:
        if e["event"] == "named":  # three faces are enough; every shot begins with a new track
            assert e["time"] - appeared[e["track"]] == pytest.approx(0.08, abs=0.001), e
    by_track = {}
    for e in log:
        by_track.setdefault(e["track"], []).append(e["event"])
    for kinds in by_track.values():  # every track appears first and leaves last
        assert kinds[0] == "appear" and kinds[-1] == "leave"
    leaves = [e for e in log if e["event"] == "leave"]
    assert {e["name"] for e in leaves} == {"Eileen Collins", "Grace Hopper"}
    assert max(e["last"] for e in leaves) == pytest.approx(5.96, abs=0.05)


def test_a_lavfi_paced_replay_gives_the_files_csv(tmp_path):
    video = needs_shared("video", "video.mp4")
    code, _, err = run_cli(  # --exact on both: every face embedded
        "video", video, "--no-render", "--csv", tmp_path / "file.csv", "--include-unknown", "--exact", *BANK
    )
    assert code == 0, err
    graph = f"movie={video},realtime"
    started = time.monotonic()
    code, out, err = run_cli(
        "live",
        graph,
        "-f",
        "lavfi",
        "--drop",
        "none",
        "--csv",
        tmp_path / "live.csv",
        "--include-unknown",
        "--exact",
        *BANK,
    )
    assert code == 0, err
    assert time.monotonic() - started > 4.0, "the replay is paced as the clip plays"
    assert "105 frame(s), 105 analysed" in out
    assert (tmp_path / "live.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()


@pytest.mark.parametrize("protocol", ["tcp", "udp", "rtsp", "http"])
def test_a_stream_sent_over_the_network_is_read_and_named(tmp_path, protocol):
    port = free_port(socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM)
    host = f"127.0.0.1:{port}"
    reader_options: list[str] = []
    if protocol == "tcp":
        url, target = f"tcp://{host}", (f"tcp://{host}?listen=1", "mpegts", 3)
    elif protocol == "http":  # the reader listens, the camera posts
        url, target = f"http://{host}/cam", (f"http://{host}/cam", "mpegts", 3)
        reader_options = ["-O", "listen=1"]
    elif protocol == "udp":  # no connection: sent from when the reader is likely bound, for longer
        url, target = f"udp://{host}", (f"udp://{host}?pkt_size=1316", "mpegts", 6)
    else:  # the reader listens, the camera pushes
        url, target = f"rtsp://{host}/cam", (f"rtsp://{host}/cam", "rtsp", 3, {"rtsp_transport": "tcp"})
        reader_options = ["-O", "rtsp_flags=listen", "-O", "listen_timeout=8"]
    # a camera that pushes tries until the reader listens (once the models are loaded)
    sender = sending(send, *target, delay=3.0 if protocol == "udp" else 0.0)
    code, out, err = run_cli(
        "live",
        url,
        *reader_options,
        "--events",
        "-",
        "--reconnect",
        "5",
        "--read-timeout",
        "5",
        "--duration",
        "12",
        *BANK,
    )
    sender.join(5)
    log = events_of(out)
    assert {e["name"] for e in log if e["event"] == "named"} == {"Eileen Collins", "Grace Hopper"}, err
    assert code == 0 or "no picture" in err, err  # udp has no end: it stops at its read timeout


def test_a_slow_consumer_stays_current_only_with_drop_latest():
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    graph = "testsrc2=size=320x240:rate=25,realtime"

    def lags(latest: bool) -> tuple[list[float], int]:
        began: list[float] = []
        out: list[float] = []

        def slow(k, frame, faces):
            now = time.monotonic()
            if not began:
                began.extend([now, frame.time])
            out.append((now - began[0]) - (frame.time - began[1]))  # behind the source, seconds
            time.sleep(0.2)  # five frames a second, of 25

        spec = SourceSpec(graph, "lavfi", latest=latest)
        (result,) = watch([spec], recognizer, None, LiveOptions(duration=5, batch=1), on_frame=slow)
        return out, result.dropped

    latest, dropped = lags(True)
    assert max(latest[3:]) < 1.0 and dropped > 50
    every, dropped = lags(False)
    assert every[-1] > 2.0 and dropped == 0, "without dropping, a slow consumer falls behind"


def test_a_writer_that_dies_and_comes_back_is_reopened(tmp_path):
    port = free_port()
    host = f"127.0.0.1:{port}"

    sending(send_twice, f"tcp://{host}?listen=1", "mpegts", 2.0, 1.0)
    code, out, err = run_cli(
        "live",
        f"tcp://{host}",
        "--events",
        "-",
        "--reconnect",
        "3",
        "--csv",
        tmp_path / "t.csv",
        "--include-unknown",
        *BANK,
    )
    assert code == 0, err
    assert "reopened 1 time(s)" in err and not [line for line in out.splitlines() if not line.startswith("{")]
    frames = int(err.split(" frame(s)")[0].split()[-1])
    assert frames >= 90, err  # most of both halves
    times = [e["time"] for e in events_of(out)]
    assert times == sorted(times), "the clock goes on across the reconnect"
    assert max(times) > 4.5, "the second half comes after the first, with the time it was away"


def test_a_source_that_accepts_and_never_sends_is_a_one_line_error_within_the_timeout():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        held = []
        threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
        started = time.monotonic()
        code, _, err = run_cli(
            "live",
            f"tcp://127.0.0.1:{port}",
            "--events",
            "-",
            "--open-timeout",
            "2",
            "--read-timeout",
            "2",
            "--reconnect",
            "0",
            *BANK,
        )
        took = time.monotonic() - started
    assert code == 1 and err.count("\n") == 1 and f"tcp://127.0.0.1:{port}" in err, err
    assert took < 15, took  # models loading included


def test_a_source_that_never_comes_back_ends_with_an_error_after_its_reconnect_time():
    port = free_port()  # nobody listens: every attempt is refused
    started = time.monotonic()
    code, _, err = run_cli(
        "live", f"tcp://127.0.0.1:{port}", "--events", "-", "--open-timeout", "1", "--reconnect", "3", *BANK
    )
    assert code == 1 and err.count("\n") == 1 and "reopening it failed for 3 s" in err, err
    assert time.monotonic() - started < 20


def test_how_sources_are_opened():
    camera = SourceSpec("/dev/video0")
    assert camera.kind == "device" and camera.input_format == "v4l2"
    rtsp = SourceSpec("rtsp://cam.local/stream", read_timeout=5)
    assert rtsp.kind == "network" and rtsp.ffmpeg_options() == {"rtsp_transport": "tcp", "timeout": "5000000"}
    assert SourceSpec("rtsp://c/s", options={"rtsp_transport": "udp"}).ffmpeg_options()["rtsp_transport"] == "udp"
    assert SourceSpec("testsrc2", "lavfi").kind == "lavfi" and SourceSpec("clip.mp4").kind == "file"


def test_a_clock_that_jumps_or_wraps_goes_on_steadily():
    clock = _Clock()
    clock.step = 0.04
    times = [clock(t) for t in (100.0, 100.04, 100.08, 0.0, 0.04, None, 0.12, 500.0, 500.04)]
    assert times[:3] == [100.0, 100.04, 100.08]
    assert np.allclose(np.diff(times), 0.04), times  # back to 0 (a wrap), no timestamp, a jump ahead


def test_a_recording_has_the_names_drawn_and_never_replaces_a_file(tmp_path):
    clip = tmp_path / "cut.mp4"
    make_cast(clip, "cut")
    out = tmp_path / "named.mkv"
    code, _, err = run_cli("live", clip, "--out", out, *BANK)
    assert code == 0, err
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        before = [f.to_ndarray(format="rgb24") for f in a.decode(video=0)]
        after = [f.to_ndarray(format="rgb24") for f in b.decode(video=0)]
    assert len(after) == len(before) == 150
    # the first two frames of each shot: no name yet, nothing drawn; then a box around each face
    changed = [float(np.abs(x.astype(int) - y).mean()) for x, y in zip(before, after)]
    assert max(changed[:2]) < 2.0 and min(changed[3:50]) > 2.0, changed[:6]
    code, _, err = run_cli("live", clip, "--out", out, *BANK)
    assert code == 2 and "already exists" in err
    code, _, err = run_cli("live", clip, "--out", tmp_path / "x.avi", *BANK)
    assert code == 2 and err.count("\n") == 1 and ".mkv" in err


def test_a_receiver_that_stops_reading_stops_only_the_recording(tmp_path):
    clip = tmp_path / "cut.mp4"
    make_cast(clip, "cut")
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # takes a few kB, then reads nothing
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted: list = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    target = f"tcp://127.0.0.1:{server.getsockname()[1]}?send_buffer_size=4096"  # and sends little
    events = tmp_path / "events.jsonl"
    paced = ["live", f"movie={clip},realtime", "-f", "lavfi", "--drop", "none"]  # 6 s on any machine
    command = [*paced, "--out", target, "--write-timeout", "2", "--events", events, "--csv", tmp_path / "live.csv"]
    process = subprocess.Popen(  # a process of its own: a recording that waited for ever would hold this one too
        [sys.executable, "-m", "annotate", *map(str, [*command, *BANK])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        timer = threading.Timer(120, process.kill)
        timer.start()
        said = process.stderr.readline()  # said as it happens ...
        events_then = len(events.read_text().splitlines())
        out, rest = process.communicate()
        timer.cancel()
    finally:
        process.kill()
        for connection in (*accepted, server):
            connection.close()
    assert said == f"error: {target}: cannot write (no frame written for 2 s)\n" and rest == "", (said, rest)
    assert len(events.read_text().splitlines()) > events_then, "... while the watch went on"
    assert process.returncode == 1 and "150 frame(s), 150 analysed" in out
    assert len(_csv_rows(tmp_path / "live.csv")) >= 2  # the watch went on to its end


def test_a_recording_that_cannot_be_written_or_made_is_an_error_not_a_crash(tmp_path):
    from annotate.errors import AnnotateError
    from annotate.faces import Faces
    from annotate.live.record import Recorder

    full = tmp_path / "full.mkv"
    full.symlink_to("/dev/full")  # every write fails: no space left
    recorder = Recorder(str(full), overwrite=True, timeout=5.0)
    for k in range(30):
        recorder.add(np.full((64, 64, 3), k, np.uint8), Faces.empty(), k / 25)
    recorder.close()  # the error is kept, not raised: the watch and its CSV go on
    assert recorder.error is not None and recorder.error.startswith(f"{full}: cannot write"), recorder.error
    kept = tmp_path / "kept.mkv"
    kept.write_bytes(b"a user's file")
    for target in (str(kept), str(tmp_path / "x.avi")):  # refused before any frame
        with pytest.raises(AnnotateError):
            Recorder(target)
    assert kept.read_bytes() == b"a user's file"


def test_a_recording_killed_mid_stream_plays_up_to_the_kill(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    clip = tmp_path / "cut.mp4"
    make_cast(clip, "cut")
    out = tmp_path / "rec.mp4"  # fragmented: an mp4 whose index is written as it goes
    command = [
        sys.executable,
        "-m",
        "annotate",
        "live",
        f"movie={clip}:loop=0,realtime",
        "-f",
        "lavfi",
        "--out",
        str(out),
    ]
    process = subprocess.Popen([*command, *BANK], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.stat().st_size > 10_000) and time.monotonic() < deadline:
            time.sleep(0.1)  # until the first fragment is out (before it, only the file's header)
        time.sleep(1.0)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    frames = 0
    with av.open(str(out)) as container:
        try:
            for _ in container.decode(video=0):
                frames += 1
        except av.InvalidDataError:  # the fragment being written at the kill: cut short
            pass
    assert frames >= 25, frames  # at least the first fragment, of a stream that never ends


@pytest.mark.parametrize("exact", [True, None])
def test_several_sources_share_the_models_and_keep_their_own_people(tmp_path, recognizer, bank, exact, monkeypatch):
    """Each source's CSV is its file's, exact or leaning on its tracks as the file does; the
    shortcuts embed the faces the file's analysis embeds, fewer than the exact path's all."""
    from annotate.writers import to_csv

    clips = []
    for name in ("cut", "cross"):
        clips.append(tmp_path / f"{name}.mp4")
        make_cast(clips[-1], name)
    specs = [annotate.SourceSpec(str(clip), latest=False) for clip in clips]
    embedded = [0]
    embed = recognizer.embedder.embed

    def counting(crops, *args, **kwargs):
        embedded[0] += len(crops)
        return embed(crops, *args, **kwargs)

    monkeypatch.setattr(recognizer.embedder, "embed", counting)
    events: list = []
    results = annotate.watch(specs, recognizer, bank, annotate.LiveOptions(exact=exact), emit=events.append)
    by_live, faces = embedded[0], 0
    embedded[0] = 0
    for clip, result in zip(clips, results):
        assert result.error is None and result.received == result.analysed == 150
        faces += sum(len(frame.faces) for frame in result.analysis.frames)
        to_csv(result.analysis, tmp_path / f"{clip.stem}.live.csv", include_unknown=True)
        analysis = annotate.analyse_video(clip, recognizer, bank, annotate.VideoOptions(exact=exact))
        to_csv(analysis, tmp_path / f"{clip.stem}.csv", include_unknown=True)
        assert (tmp_path / f"{clip.stem}.live.csv").read_bytes() == (tmp_path / f"{clip.stem}.csv").read_bytes()
    assert by_live == embedded[0], "live embeds the faces the file's analysis embeds"
    assert (by_live == faces) if exact else (by_live < 0.5 * faces), (by_live, faces)
    sources = {e.source for e in events if e.kind == "named"}
    assert sources == {str(c) for c in clips}


def test_a_stranger_who_comes_back_keeps_their_number(tmp_path):
    clip = tmp_path / "return.mp4"
    make_cast(clip, "return")  # one person leaves at 2 s and comes back elsewhere at 3.5 s
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    events: list = []
    (result,) = annotate.watch([annotate.SourceSpec(str(clip), latest=False)], recognizer, None, emit=events.append)
    assert result.error is None
    named = [e for e in events if e.kind == "named"]
    assert len(named) == 3, [(e.track, e.name, e.time) for e in named]  # three tracks: one each, then the return
    first, other, back = sorted(named, key=lambda e: (e.time, e.name))
    assert back.time > 3.4 and back.name in (first.name, other.name), (first, other, back)
    left = [e for e in events if e.kind == "leave" and e.name == back.name and e.track != back.track]
    assert left and left[0].detail["last"] < 2.1, "the same number, given to the one who left"
    assert len({e.name for e in named}) == 2


def _csv_rows(path) -> list[dict]:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
