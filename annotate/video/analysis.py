"""The analysis pass over a video: faces of every analysed frame, linked into tracks, each
track named once from its mean embedding. The result is a value, ``VideoAnalysis``; writing
the timeline or rendering a copy are separate steps (``annotate.writers``, ``video.render``).

Tracking, summing and naming are ``video.scan``'s, which a live stream's analysis shares.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..media.probe import VideoInfo, probe
from ..media.sampling import Sampler
from ..media.video import VideoReader
from ..recognition.bank import FaceBank
from ..recognition.recognizer import Recognizer
from ..runtime.devices import default_batch
from ..runtime.threads import prefetched
from .identity import Track
from .scan import FrameScanner
from .shortcuts import DEFAULT_SHORTCUTS, Shortcuts, TrackedScan, shortcuts_on
from .timeline import Appearance, FrameFaces, appearances

# progress(stage, total frames or None) -> a function called with the frames just done
Progress = Callable[[str, "int | None"], Callable[[int], object]]


def no_progress(stage: str, total: int | None) -> Callable[[int], object]:
    return lambda n: None


X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


@dataclass(frozen=True)
class VideoOptions:
    """batch: frames per detector pass (None: 32 on CUDA, 4 on the CPU). max_gap: analysed
    frames a track may go unseen. merge_gap: seconds between appearances of one label that
    still make one timeline row. sample_fps: analyse only this many frames per second (None:
    every frame). crf, preset: libx264's, for rendering. switch_interval: the most seconds a
    thread holds the GIL while the decode, draw and encode threads run (None: 0.2 ms, see
    ``runtime.threads``; benchmarks/bench_video.py --gil-switch compares others).
    keep_embeddings: keep each face's (D,) embedding in ``VideoAnalysis.frames`` (2 KB a face;
    off: only each person's mean is kept; with shortcuts, a face may carry its track's last
    one). detect_all: with sample_fps, also run the detector (not the embedder) on the frames
    between samples, keeping its faces in ``VideoAnalysis.glimpses``:
    blurring then covers the faces that show only between analysed frames. exact: True finds and
    embeds every face of every analysed frame from scratch; False leans on the tracks as
    ``shortcuts`` says (``video.shortcuts``); None is exact on CUDA, where frames go through the
    networks in large batches, and shortcuts on the CPU."""

    batch: int | None = None
    max_gap: int = 10
    merge_gap: float = 1.0
    sample_fps: float | None = None
    crf: int = 18
    preset: str = "veryfast"
    switch_interval: float | None = None
    keep_embeddings: bool = False
    detect_all: bool = False
    exact: bool | None = None
    shortcuts: Shortcuts = DEFAULT_SHORTCUTS

    def __post_init__(self) -> None:
        if self.batch is not None and self.batch < 1:
            raise InputError(f"batch must be at least 1, got {self.batch}")
        if self.sample_fps is not None and not self.sample_fps > 0:
            raise InputError(f"sample_fps must be positive, got {self.sample_fps}")
        if self.max_gap < 0 or self.merge_gap < 0:
            raise InputError("max_gap and merge_gap must not be negative")
        if not 0 <= self.crf <= 51:
            raise InputError(f"crf must be 0 to 51, got {self.crf}")
        if self.preset not in X264_PRESETS:
            raise InputError(f"unknown libx264 preset {self.preset!r}: one of {', '.join(X264_PRESETS)}")
        if self.switch_interval is not None and not self.switch_interval > 0:
            raise InputError(f"switch_interval must be positive, got {self.switch_interval}")

    def step(self, fps: float) -> float:
        """Seconds each analysed frame stands for, in a video of ``fps`` frames a second."""
        return max(1.0 / self.sample_fps, 1.0 / fps) if self.sample_fps else 1.0 / fps

    def shortcuts_for(self, device: str) -> Shortcuts | None:
        """The shortcuts the analysis takes on ``device`` ("cpu", "cuda:0"...), None for none."""
        return shortcuts_on(device, self.exact, self.shortcuts)

    def batch_for(self, device: str) -> int:
        """Frames per detector pass: ``batch``, else ``runtime.devices.default_batch``."""
        return self.batch or default_batch(device)


@dataclass(frozen=True)
class VideoAnalysis:
    """What a video holds. frames: the named faces of every analysed frame, in order.
    tracks: id -> Track (name, similarity, mean embedding). appearances: the timeline, every
    person (unknown ones too), by start. decoded: frames decoded; lost: frames the decoder
    could not give; error: why decoding stopped early, or None. options: as analysed.
    glimpses: with ``VideoOptions.detect_all``, the faces (boxes, scores, landmarks; no names
    or tracks) of the frames not analysed, for blurring."""

    source: Path
    info: VideoInfo
    frames: tuple[FrameFaces, ...]
    tracks: dict[int, Track]
    appearances: tuple[Appearance, ...]
    decoded: int
    lost: int
    error: str | None
    options: VideoOptions
    glimpses: tuple[FrameFaces, ...] = ()

    @property
    def spurious(self) -> frozenset[int]:
        """The people too brief or uncertain to list (``Track.spurious``)."""
        return _spurious(self.tracks)

    def known(self) -> list[Appearance]:
        """The appearances of people in the bank."""
        return [a for a in self.appearances if a.label is not None]


def _scan(
    reader: VideoReader,
    recognizer: Recognizer,
    scanner: FrameScanner,
    options: VideoOptions,
    tick: Callable[[int], object],
) -> None:
    """Decode, detect and embed, in batches, into ``scanner``. With ``detect_all``, the frames
    between samples are decoded too, and only detected."""
    size = options.batch_for(recognizer.config.device)
    shortcuts = options.shortcuts_for(recognizer.config.device)
    tracked = None if shortcuts is None else TrackedScan(recognizer, scanner, shortcuts)
    batch: list = []
    others: list = []
    decoded = 0

    def flush() -> None:
        if tracked is not None:
            tracked.add(batch)
        else:
            for frame, faces in zip(batch, recognizer.describe([f.image for f in batch])):
                scanner.add(frame.index, frame.time, frame.image, faces)
        batch.clear()

    def glimpse() -> None:
        for frame, faces in zip(others, recognizer.detect([f.image for f in others])):
            scanner.glimpse(frame.index, frame.time, faces)
        others.clear()

    between = options.detect_all and options.sample_fps is not None
    picks = Sampler(options.sample_fps) if between and options.sample_fps else None
    frames = reader.frames(None if between else options.sample_fps)
    with prefetched(frames, size=2 * size, name="decode", switch_interval=options.switch_interval) as ahead:
        for frame in ahead:
            tick(frame.index + 1 - decoded)
            decoded = frame.index + 1
            chosen = picks is None or picks(frame.time)  # the frames reader.frames(sample_fps) gives
            (batch if chosen else others).append(frame)
            if len(batch) == size:
                flush()
            if len(others) == size:
                glimpse()
    if batch:
        flush()
    if others:
        glimpse()
    tick(reader.decoded - decoded)


def analyse_video(
    source: str | os.PathLike[str],
    recognizer: Recognizer,
    bank: FaceBank | None = None,
    options: VideoOptions | None = None,
    progress: Progress = no_progress,
) -> VideoAnalysis:
    """Find, follow and name the people of a video. bank: None names nobody. A file FFmpeg
    cannot open is an InputError; a video that stops decoding part-way is analysed as far as
    it goes, with ``error`` and ``lost`` set."""
    options = options or VideoOptions()
    bank = recognizer.empty_bank() if bank is None else bank
    recognizer.check_bank(bank)
    path = Path(source)
    info = probe(path)
    scanner = FrameScanner(bank, options.max_gap, options.keep_embeddings)
    with VideoReader(path, info) as reader:
        _scan(reader, recognizer, scanner, options, progress("analyse", info.frames))
        decoded, lost, error = reader.decoded, reader.lost, reader.error
    frames, tracks = scanner.named(recognizer.threshold, options.step(info.fps))
    return finished(path, info, frames, tracks, options, decoded, lost, error, tuple(scanner.glimpses))


def finished(
    path: Path,
    info: VideoInfo,
    frames: tuple[FrameFaces, ...],
    tracks: dict[int, Track],
    options: VideoOptions,
    decoded: int,
    lost: int = 0,
    error: str | None = None,
    glimpses: tuple[FrameFaces, ...] = (),
) -> VideoAnalysis:
    """The analysis of named ``frames`` and ``tracks``, with its timeline."""
    step = options.step(info.fps)
    rows = tuple(
        appearances(frames, _end(frames, info, step, error), options.merge_gap, info.origin, _spurious(tracks))
    )
    return VideoAnalysis(path, info, frames, tracks, rows, decoded, lost, error, options, glimpses)


def _spurious(tracks: dict[int, Track]) -> frozenset[int]:
    return frozenset(t for t, track in tracks.items() if track.spurious)


def _end(frames: tuple[FrameFaces, ...], info: VideoInfo, step: float, error: str | None) -> float:
    """When the last analysed frame stops being shown, in the player's seconds: one ``step``
    after it, but not after the end of the video stream (its start plus its duration)."""
    if not frames:
        return 0.0
    shown = frames[-1].time - info.origin
    if info.duration and not error:  # never before the last frame begins, whatever the metadata says
        return max(shown, min(shown + step, info.start + info.duration - info.origin))
    return shown + step
