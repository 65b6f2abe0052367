"""Who appears when: appearances per label, from the named faces of the analysed frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..faces import Faces, unknown_name


@dataclass(frozen=True)
class FrameFaces:
    """The named faces of one analysed frame. index: frame number in the video (decode order
    from 0). time: seconds, the frame's PTS in the stream's clock (a player shows it at
    ``time - VideoInfo.origin``)."""

    index: int
    time: float
    faces: Faces


@dataclass(frozen=True)
class Appearance:
    """One row of the timeline: a label on screen from ``start`` to ``end`` seconds of a
    player's clock (end is when the next analysed frame without it begins). label: None for
    an unknown person. tracks: the people's ids (one, unless a label went to two people who
    were never on screen together). similarities: of its faces to the label."""

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


def _runs(frames: Sequence[FrameFaces], end_time: float, origin: float, hidden: frozenset[int]) -> list[dict]:
    """Each person's runs of consecutive analysed frames: label, track, first and last frame,
    start, end (player seconds; the end is when the next analysed frame begins) and the
    faces' similarities. A person missing from two analysed frames in a row ends their run
    (one missed detection does not)."""
    next_time = [f.time - origin for f in frames[1:]] + [end_time]
    runs: list[dict] = []
    previous = -1
    current: dict[int, dict] = {}  # track -> its run, if it was in one of the last two analysed frames
    for frame, after in zip(frames, next_time):
        faces = frame.faces
        if faces.tracks is None or faces.labels is None or faces.similarities is None:
            raise ValueError("appearances() needs faces with tracks, labels and similarities")
        seen: dict[int, dict] = {}
        for track, label, sim in zip(faces.tracks.tolist(), faces.labels, faces.similarities.tolist()):
            if track in hidden:
                continue
            run = seen.get(track) or current.get(track)
            if run is None:
                run = {"label": label, "track": track, "start": frame.time - origin, "first": frame.index, "sims": []}
                runs.append(run)
            run["end"], run["last"] = after, frame.index
            run["sims"].append(sim)
            seen[track] = run
        current = {**{t: r for t, r in current.items() if r["last"] == previous}, **seen}
        previous = frame.index
    return runs


def _row(run: dict) -> Appearance:
    sims = run["sims"]
    return Appearance(
        run["label"],
        (run["track"],),
        run["start"],
        run["end"],
        run["first"],
        run["last"],
        len(sims),
        float(np.mean(sims)),
        float(np.max(sims)),
    )


def _joined(last: Appearance, new: Appearance) -> Appearance:
    total = last.frames + new.frames
    return Appearance(
        new.label,
        tuple(dict.fromkeys(last.tracks + new.tracks)),
        last.start,
        max(last.end, new.end),
        last.start_frame,
        max(last.end_frame, new.end_frame),
        total,
        (last.mean_similarity * last.frames + new.mean_similarity * new.frames) / total,
        max(last.max_similarity, new.max_similarity),
    )


def appearances(
    frames: Sequence[FrameFaces],
    end_time: float,
    merge_gap: float = 1.0,
    origin: float = 0.0,
    hidden: frozenset[int] = frozenset(),
) -> list[Appearance]:
    """Timeline rows, sorted by start then name: each person's runs on screen, and runs of one
    person at most ``merge_gap`` seconds apart merged (a known person by label, an unknown one
    by track: ``Unknown #3`` is one person). Times are a player's: seconds from ``origin``, the
    start of the presentation, in the frames' clock. end_time: when the last analysed frame
    ends, in player seconds. hidden: tracks left out (spurious detections)."""
    rows: list[Appearance] = []
    key = lambda a: (a.label is None, a.label or "", a.tracks[0] if a.label is None else 0)
    for new in sorted(map(_row, _runs(frames, end_time, origin, hidden)), key=lambda a: (key(a), a.start)):
        last = rows[-1] if rows else None
        if last is not None and key(last) == key(new) and new.start - last.end <= merge_gap:
            rows[-1] = _joined(last, new)
        else:
            rows.append(new)
    return sorted(rows, key=lambda a: (a.start, a.name))
