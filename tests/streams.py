"""A camera for the live tests: the "cut" cast (two people) encoded at camera pace to a URL,
in a process of its own. (PyAV holds the GIL while a muxer waits for its peer, such as a tcp
server waiting to be connected to, so a sender thread would stop the reader under test.)"""

from __future__ import annotations

import multiprocessing
import time
from fractions import Fraction

import av
from cast import CASTS, FPS, SIZE, compose, portraits


def send(url: str, fmt: str, seconds: float, options: dict | None = None, start: int = 0, patience: float = 30) -> None:
    """Encode ``seconds`` of the cast from frame ``start`` to ``url`` in container ``fmt``; a
    peer that is not listening yet is tried again for ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return _send(url, fmt, seconds, options, start)
        except av.ConnectionRefusedError:  # the reader is not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _send(url: str, fmt: str, seconds: float, options: dict | None, start: int) -> None:
    parts, _ = CASTS["cut"]
    people = portraits()
    with av.open(url, "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "25"}
        stream.time_base = stream.codec_context.time_base = Fraction(1, FPS)
        began = time.monotonic()
        for k in range(int(seconds * FPS)):
            frame = av.VideoFrame.from_ndarray(compose(start + k, parts, people), format="rgb24")
            frame.pts = k
            for packet in stream.encode(frame):
                out.mux(packet)
            time.sleep(max(0.0, began + (k + 1) / FPS - time.monotonic()))
        for packet in stream.encode(None):
            out.mux(packet)


def send_twice(url: str, fmt: str, seconds: float, away: float) -> None:
    """Send, stop for ``away`` seconds (the camera died), send the next part again."""
    send(url, fmt, seconds)
    time.sleep(away)
    send(url, fmt, seconds, start=int(seconds * FPS))


def sending(target, *args, delay: float = 0.0) -> multiprocessing.Process:  # type: ignore[no-untyped-def]
    """``target(*args)`` in a new process, started after ``delay`` seconds."""
    process = multiprocessing.get_context("spawn").Process(target=_later, args=(delay, target, *args), daemon=True)
    process.start()
    return process


def _later(delay: float, target, *args) -> None:  # type: ignore[no-untyped-def]
    time.sleep(delay)
    target(*args)
