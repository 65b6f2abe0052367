"""Work a video's tracks make unnecessary: most faces of a frame are the faces of the frame
before, where the tracks expect them, and look as they did.

Between full detector passes (the pyramid and P-Net over the whole picture), faces are looked
for only about the live tracks' predicted boxes (``FaceDetector.detect_near``). A full pass
runs every ``detect_every`` analysed frames, at least every ``detect_seconds``, and wherever
the picture cuts (``video.cuts``). A face is embedded again only when its track's last
embedding is stale (``embed_every`` analysed frames or ``embed_seconds``), the face has moved
by ``moved`` widths or grown or shrunk by ``grown`` times since, its own pixels (a 16x16 grey
thumbnail of its box) correlate less than ``alike`` with those it had then (another person
where the last one was, after a cut the colours did not show), its quality rose by ``better`` times, its
track's name is still undecided (its mean within ``margin`` of the threshold), or the picture
cut; otherwise the face carries its track's last embedding. ``VideoOptions(exact=True)`` and
``LiveOptions(exact=True)`` (the CLI's ``--exact``) turn all of it off. The defaults were chosen with
benchmarks/bench_identity.py and bench_peers.py (benchmarks/README.md, session 15).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import InputError
from ..faces import Faces
from ..recognition.match import assign
from ..recognition.recognizer import Recognizer
from .cuts import CUT, change, signature
from .scan import FrameScanner
from .track import apart, quality


@dataclass(frozen=True)
class Shortcuts:
    """How far the analysis may lean on its tracks (see the module's docstring): analysed
    frames and seconds between full detector passes and between a track's embeddings; the
    move (face widths), change of width (a ratio) and rise of quality (a ratio) that call for
    a new embedding; the margin of similarity about the threshold within which every face is
    embedded; the correlation of its pixels with those then (``alike``) under which it is
    embedded again. A face that only moves within ``moved`` looks the same once aligned."""

    detect_every: int = 1
    detect_seconds: float = 0.5
    embed_every: int = 5
    embed_seconds: float = 1.0
    moved: float = 0.5
    grown: float = 1.25
    alike: float = 0.6
    better: float = 1.25
    margin: float = 0.05

    def __post_init__(self) -> None:
        if self.detect_every < 1 or self.embed_every < 1:
            raise InputError("detect_every and embed_every must be at least 1")
        if not (self.detect_seconds > 0 and self.embed_seconds > 0):
            raise InputError("detect_seconds and embed_seconds must be positive")
        if not (self.moved >= 0.0 and self.margin >= 0.0):
            raise InputError("moved and margin must not be negative")
        if not (self.grown >= 1.0 and self.better >= 1.0):
            raise InputError("grown and better must be at least 1")
        if not -1.0 <= self.alike <= 1.0:
            raise InputError(f"alike must be a correlation in [-1, 1], got {self.alike}")


DEFAULT_SHORTCUTS = Shortcuts()


def shortcuts_on(device: str, exact: bool | None, shortcuts: Shortcuts) -> Shortcuts | None:
    """The shortcuts an analysis on ``device`` ("cpu", "cuda:0"...) takes, None for none:
    exact None is exact on a GPU, where frames go through the networks in large batches, and
    takes ``shortcuts`` on the CPU."""
    exact = device != "cpu" if exact is None else exact
    return None if exact else shortcuts


class Picture(Protocol):
    """An analysed frame: ``media.video.Frame`` or ``live.source.LiveFrame``."""

    @property
    def index(self) -> int: ...
    @property
    def time(self) -> float: ...
    @property
    def image(self) -> np.ndarray: ...


# (frame, faces with embeddings, the frame's cuts.signature) -> the faces' (N,) track ids
Sink = Callable[[Picture, Faces, np.ndarray], np.ndarray]


@dataclass
class _Embedded:
    """A track's last computed embedding: the (4,) box, (D,) embedding, quality and (256,)
    thumbnail (``thumbnail``) of the face it came from, when (seconds), and the analysed
    frames since (the one count that changes)."""

    box: np.ndarray
    embedding: np.ndarray
    quality: float
    look: np.ndarray
    time: float
    frames: int = 0


class TrackedScan:
    """Feeds a ``FrameScanner`` the analysed frames of a video, in order, finding and embedding
    faces the cheap way where its tracks allow (``Shortcuts``). sink: what takes each frame's
    faces and returns their tracks (default ``scanner.add``; a live source's ``Follow``, which
    adds them to the same scanner)."""

    def __init__(
        self, recognizer: Recognizer, scanner: FrameScanner, shortcuts: Shortcuts, sink: Sink | None = None
    ) -> None:
        self.recognizer, self.scanner, self.shortcuts = recognizer, scanner, shortcuts
        self.sink: Sink = sink or (lambda f, faces, picture: scanner.add(f.index, f.time, f.image, faces, picture))
        self._signature: np.ndarray | None = None
        self._full: tuple[int, float] | None = None  # analysed frames and time of the last full pass
        self._analysed = 0
        self._embedded: dict[int, _Embedded] = {}

    def add(self, frames: Sequence[Picture]) -> None:
        """The next analysed frames, in order. Full passes of the batch run together."""
        plan = [self._plan(frame) for frame in frames]
        full = iter(self.recognizer.detect([f.image for f, (key, _, _) in zip(frames, plan) if key]))
        for frame, (key, cut, picture) in zip(frames, plan):
            faces = next(full) if key else self._near(frame)
            self._scan(frame, faces, cut, picture)

    def _plan(self, frame: Picture) -> tuple[bool, bool, np.ndarray]:
        """Whether the frame gets a full detector pass, whether the picture cut before it, and
        its ``cuts.signature`` (which the scanner keeps too)."""
        now = signature(frame.image)
        cut = self._signature is None or change(self._signature, now) >= CUT
        self._signature = now
        due = self._full is None or (
            self._analysed - self._full[0] >= self.shortcuts.detect_every
            or frame.time - self._full[1] >= self.shortcuts.detect_seconds
        )
        key = cut or due
        if key:
            self._full = (self._analysed, frame.time)
        self._analysed += 1
        return key, cut, now

    def _near(self, frame: Picture) -> Faces:
        return self.recognizer.detect_near(frame.image, self.scanner.tracker.expected(frame.time))

    def _scan(self, frame: Picture, faces: Faces, cut: bool, picture: np.ndarray) -> None:
        """Embed the faces that need it, reuse their tracks' embeddings for the others, track."""
        weights = quality(faces.boxes, faces.scores, faces.landmarks)
        looks = np.stack([thumbnail(frame.image, box) for box in faces.boxes]) if len(faces) else np.zeros((0, 256))
        source = np.full(len(faces), -1, np.int64) if cut else self._reusable(faces, weights, looks, frame.time)
        fresh = source < 0
        embeddings = np.zeros((len(faces), self.recognizer.embedder.embedding_size), np.float32)
        if fresh.any():
            embeddings[fresh] = self.recognizer.embed_faces([frame.image], [faces[fresh]])[0]
        for row in np.flatnonzero(~fresh).tolist():
            embeddings[row] = self._embedded[int(source[row])].embedding
        ids = self.sink(frame, faces.with_columns(embeddings=embeddings), picture)
        self._remember(ids, faces, embeddings, weights, looks, fresh, source, frame.time)

    def _reusable(self, faces: Faces, weights: np.ndarray, looks: np.ndarray, time: float) -> np.ndarray:
        """(N,) the track whose last embedding each face may carry, or -1 to embed it."""
        rule = self.shortcuts
        candidates = [
            t
            for t, e in self._embedded.items()
            if e.frames + 1 < rule.embed_every and time - e.time < rule.embed_seconds and self._decided(t)
        ]
        source = np.full(len(faces), -1, np.int64)
        if not candidates or not len(faces):
            return source
        near = _nearness(faces.boxes, np.stack([self._embedded[t].box for t in candidates]), rule.grown)
        for face, column in enumerate(assign(near, 1.0 - rule.moved).tolist()):
            if column < 0:
                continue
            then = self._embedded[candidates[column]]
            if weights[face] <= rule.better * then.quality and float(looks[face] @ then.look) >= rule.alike:
                source[face] = candidates[column]
        return source

    def _decided(self, track: int) -> bool:
        """Whether the track's name is clear of the threshold by ``margin`` (always, with an
        empty bank): more faces would not change it."""
        bank = self.scanner.bank
        mean = self.scanner.sums.mean(track)
        if mean is None or not len(bank):
            return mean is not None
        best = float(np.max(bank.embeddings @ mean))
        return abs(best - self.recognizer.threshold) >= self.shortcuts.margin

    def _remember(
        self,
        ids: np.ndarray,
        faces: Faces,
        embeddings: np.ndarray,
        weights: np.ndarray,
        looks: np.ndarray,
        fresh: np.ndarray,
        source: np.ndarray,
        time: float,
    ) -> None:
        """Record each track's new embedding, age the reused ones, forget ended tracks. A
        reused embedding that the tracker gave to another track than its own is forgotten, so
        that track's next face is embedded."""
        for row, track in enumerate(ids.tolist()):
            if fresh[row]:
                self._embedded[track] = _Embedded(
                    faces.boxes[row], embeddings[row], float(weights[row]), looks[row], time
                )
            elif track != source[row]:
                self._embedded.pop(track, None)
                self._embedded.pop(int(source[row]), None)
        for track in set(source[~fresh].tolist()) & set(self._embedded):
            self._embedded[track].frames += 1
        live = self.scanner.tracker.live
        self._embedded = {t: e for t, e in self._embedded.items() if t in live}


def _nearness(boxes: np.ndarray, then: np.ndarray, grown: float) -> np.ndarray:
    """(N,M) one minus the distance between the centres of (N,4) and (M,4) xyxy boxes, in the
    larger width (``track.apart``), or -inf where one is more than ``grown`` times as wide."""
    distance, ratio = apart(boxes, then)
    same_size = (ratio <= grown) & (ratio >= 1.0 / grown)
    return np.where(same_size, 1.0 - distance, -np.inf)


def thumbnail(image: np.ndarray, box: np.ndarray, size: int = 16) -> np.ndarray:
    """The (size*size,) grey pixels of an (H,W,3) uint8 RGB image over the (4,) xyxy box
    (clipped to the image), each the mean of 4x4 samples, zero-mean and unit-norm: the dot
    product of two is their correlation, near 1 for the same face in the same place."""
    h, w = image.shape[:2]
    xs = np.clip(np.linspace(box[0], box[2], 4 * size), 0, w - 1).astype(np.intp)
    ys = np.clip(np.linspace(box[1], box[3], 4 * size), 0, h - 1).astype(np.intp)
    grey = image[ys[:, None], xs[None, :]].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = grey.reshape(size, 4, size, 4).mean(axis=(1, 3)).reshape(-1)
    grey -= grey.mean()
    return grey / max(float(np.linalg.norm(grey)), 1e-6)
