"""Who appears when: appearances per label, from the named faces of the analysed frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..faces import Faces, unknown_name


@dataclass(frozen=True)
class FrameFaces:
    """The named faces of one analysed frame. index: frame number in the video (decode order
    from 0). time: seconds, from the frame's PTS."""

    index: int
    time: float
    faces: Faces


@dataclass(frozen=True)
class Appearance:
    """One row of the timeline: a label on screen from ``start`` to ``end`` seconds (end is when
    the next analysed frame without it begins). label: None for an unknown person (one track).
    tracks: the track ids merged into it. similarities: of its faces to the label."""

    label: str | None
    tracks: tuple[int, ...]
    start: float
    end: float
    start_frame: int
    end_frame: int
    frames: int
    mean_similarity: float
    max_similarity: float

    @property
    def name(self) -> str:
        """The label, or "Unknown #track"."""
        return self.label if self.label is not None else unknown_name(self.tracks[0])


def _spans(frames: Sequence[FrameFaces], end_time: float) -> dict[int, dict]:
    """Per track: its label, first and last frame, start, end and faces' similarities."""
    next_time = [f.time for f in frames[1:]] + [end_time]
    spans: dict[int, dict] = {}
    for frame, after in zip(frames, next_time):
        faces = frame.faces
        if faces.tracks is None or faces.labels is None or faces.similarities is None:
            raise ValueError("appearances() needs faces with tracks, labels and similarities")
        for track, label, sim in zip(faces.tracks.tolist(), faces.labels, faces.similarities.tolist()):
            span = spans.setdefault(track, {"label": label, "start": frame.time, "first": frame.index, "sims": []})
            span["end"], span["last"] = after, frame.index
            span["sims"].append(sim)
    return spans


def appearances(frames: Sequence[FrameFaces], end_time: float, merge_gap: float = 1.0) -> list[Appearance]:
    """Timeline rows, sorted by start then name: each track's span, then spans of one label at
    most ``merge_gap`` seconds apart merged (unknown people are never merged: each is its own
    track). end_time: when the last analysed frame ends."""
    rows: list[Appearance] = []
    spans = [
        Appearance(
            s["label"],
            (t,),
            s["start"],
            s["end"],
            s["first"],
            s["last"],
            len(s["sims"]),
            float(np.mean(s["sims"])),
            float(np.max(s["sims"])),
        )
        for t, s in _spans(frames, end_time).items()
    ]
    for new in sorted(spans, key=lambda a: (a.name, a.start)):
        last = rows[-1] if rows else None
        if last is not None and new.label is not None and last.label == new.label and new.start - last.end <= merge_gap:
            total = last.frames + new.frames
            rows[-1] = Appearance(
                new.label,
                last.tracks + new.tracks,
                last.start,
                max(last.end, new.end),
                last.start_frame,
                max(last.end_frame, new.end_frame),
                total,
                (last.mean_similarity * last.frames + new.mean_similarity * new.frames) / total,
                max(last.max_similarity, new.max_similarity),
            )
        else:
            rows.append(new)
    return sorted(rows, key=lambda a: (a.start, a.name))
