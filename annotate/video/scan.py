"""Faces of analysed frames as they come, tracked and summed per track, then named once: what
the analysis of a file (``video.analysis``) and of a live stream (``annotate.live``) share, so
that both give one timeline for the same frames.

Memory grows with the faces, not the pixels: per analysed frame only boxes, landmarks, track
ids and each face's similarity to the bank labels are kept (no embeddings unless asked, which
are summed per track as they come), about a kilobyte for a frame of a few faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faces import Faces
from ..recognition.bank import FaceBank
from ..recognition.match import named, similarity_matrix
from ..runtime.timing import stage
from .cuts import PictureChanges
from .identity import Track, TrackSums, link_tracks, name_tracks
from .stitch import stitch_tracks
from .timeline import FrameFaces
from .track import FaceTracker, quality


@dataclass(frozen=True)
class _Seen:
    """An analysed frame before its tracks are named: faces with track ids, and their (N,K)
    similarities to the bank labels."""

    index: int
    time: float
    faces: Faces
    similarities: np.ndarray


class FrameScanner:
    """Add analysed frames in order (``add``), then name the people (``named``). max_gap:
    analysed frames a track may go unseen. keep_embeddings: keep each face's embedding."""

    def __init__(self, bank: FaceBank, max_gap: int = 10, keep_embeddings: bool = False) -> None:
        self.bank, self.keep_embeddings = bank, keep_embeddings
        self.tracker = FaceTracker(max_gap=max_gap)
        self.sums = TrackSums()
        self.pictures = PictureChanges()
        self.seen: list[_Seen] = []
        self.glimpses: list[FrameFaces] = []

    def add(
        self, index: int, time: float, image: np.ndarray, faces: Faces, picture: np.ndarray | None = None
    ) -> np.ndarray:
        """One analysed frame (``index``, ``time`` seconds, (H,W,3) RGB) and its faces with
        embeddings; returns their (N,) track ids. picture: the image's ``cuts.signature``, when
        the caller has it already."""
        if faces.embeddings is None:
            raise ValueError("FrameScanner.add needs faces with embeddings")
        with stage("track"):
            tracks = self.tracker.update(faces.boxes, faces.embeddings, time)
            weights = quality(faces.boxes, faces.scores, faces.landmarks)
            self.sums.add(tracks, faces.embeddings, weights, time, faces.scores, faces.boxes)
            self.pictures.add(time, image, picture)
        with stage("match"):
            bank = self.bank
            sims = similarity_matrix(faces.embeddings, bank.embeddings).reshape(len(faces), len(bank))
        kept = faces.embeddings if self.keep_embeddings else None
        self.seen.append(_Seen(index, time, faces.with_columns(embeddings=kept, tracks=tracks), sims))
        return tracks

    def glimpse(self, index: int, time: float, faces: Faces) -> None:
        """The faces detected (not analysed) in a frame between samples, for blurring."""
        self.glimpses.append(FrameFaces(index, time, faces))

    def named(self, threshold: float, step: float) -> tuple[tuple[FrameFaces, ...], dict[int, Track]]:
        """The frames with each face named by its person, and the people: tracks stitched
        across brief losses, joined by their faces (never across a cut for a stitch), each
        person named once from all their faces. step: seconds an analysed frame stands for."""
        with stage("link"):
            chains = stitch_tracks(self.sums, self.pictures, frozenset(self.tracker.cuts))
            joined = link_tracks(self.sums.merged(chains))
            people = {track: joined[chain] for track, chain in chains.items()}
            segments: dict[int, tuple[int, ...]] = {}
            for track, person in sorted(people.items()):
                segments[person] = (*segments.get(person, ()), track)
            merged = self.sums.merged(people)
        bank = self.bank
        with stage("match"):
            tracks = name_tracks(merged, bank.embeddings, bank.labels, threshold, segments, step)
        index = {label: k for k, label in enumerate(bank.labels)}
        frames = tuple(_named(_as_people(f, people), tracks, index, bank.labels) for f in self.seen)
        return frames, tracks


def _named(frame: _Seen, tracks: dict[int, Track], index: dict[str, int], labels: tuple[str, ...]) -> FrameFaces:
    """The frame's faces named as their tracks are (``match.named``: each face's similarity is to
    its track's label, or to its own nearest label when Unknown)."""
    ids = frame.faces.tracks.tolist() if frame.faces.tracks is not None else []
    names = [tracks[t].label for t in ids]
    chosen = np.array([-1 if label is None else index[label] for label in names], np.int64)
    return FrameFaces(frame.index, frame.time, named(frame.faces, frame.similarities, chosen, labels))


def _as_people(frame: _Seen, people: dict[int, int]) -> _Seen:
    """The frame with each face's tracker track replaced by its person (``link_tracks``)."""
    ids = frame.faces.tracks.tolist() if frame.faces.tracks is not None else []
    tracks = np.array([people[t] for t in ids], np.int64)
    return _Seen(frame.index, frame.time, frame.faces.with_columns(tracks=tracks), frame.similarities)
