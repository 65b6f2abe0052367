"""Who appears when: appearances per label from named tracks, as CSV rows and per-frame JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .match import UNKNOWN
from .media import atomic_path
from .track import FrameFaces, TrackName

TIMELINE_COLUMNS = (
    "label", "track", "start", "end", "start_frame", "end_frame", "frames", "mean_similarity", "max_similarity",
)


@dataclass(frozen=True)
class Appearance:
    """One row of the timeline: a label on screen from ``start`` to ``end`` seconds (end is when
    the next analysed frame without it begins). tracks: the track ids merged into it."""

    label: str
    tracks: tuple[int, ...]
    start: float
    end: float
    start_frame: int
    end_frame: int
    frames: int
    mean_similarity: float
    max_similarity: float

    def row(self) -> dict[str, object]:
        return {
            "label": self.label, "track": ";".join(map(str, self.tracks)),
            "start": f"{self.start:.3f}", "end": f"{self.end:.3f}",
            "start_frame": self.start_frame, "end_frame": self.end_frame, "frames": self.frames,
            "mean_similarity": f"{self.mean_similarity:.4f}", "max_similarity": f"{self.max_similarity:.4f}",
        }


def face_similarities(record: FrameFaces, names: dict[int, TrackName]) -> np.ndarray:
    """(N,) cosine of each face to its track's label (to the track's best label when Unknown)."""
    sims = record.similarities
    if sims.shape[1] == 0 or len(record.tracks) == 0:
        return np.zeros(len(record.tracks), np.float32)
    best = sims.max(axis=1)
    rows = [names[t].index for t in record.tracks.tolist()]
    return np.array([sims[i, r] if r >= 0 else best[i] for i, r in enumerate(rows)], np.float32)


def appearances(
    records: Sequence[FrameFaces],
    names: dict[int, TrackName],
    end_time: float,
    merge_gap: float = 1.0,
    include_unknown: bool = False,
) -> list[Appearance]:
    """Timeline rows, sorted by start: each track's span, then spans of one label at most
    ``merge_gap`` seconds apart merged. end_time: when the last analysed frame ends."""
    next_time = [r.time for r in records[1:]] + [end_time]
    spans: dict[int, dict] = {}
    for record, after in zip(records, next_time):
        for track, sim in zip(record.tracks.tolist(), face_similarities(record, names).tolist()):
            span = spans.setdefault(track, {"start": record.time, "first": record.index, "sims": []})
            span["end"], span["last"] = after, record.index
            span["sims"].append(sim)
    rows: list[Appearance] = []
    for track, span in sorted(spans.items(), key=lambda ts: (names[ts[0]].label, ts[1]["start"])):
        label = names[track].label
        if label.startswith(UNKNOWN) and not include_unknown:
            continue
        sims = span["sims"]
        new = Appearance(
            label, (track,), span["start"], span["end"], span["first"], span["last"], len(sims),
            float(np.mean(sims)), float(np.max(sims)),
        )
        last = rows[-1] if rows else None
        if last is not None and last.label == label and new.start - last.end <= merge_gap:
            total = last.frames + new.frames
            rows[-1] = Appearance(
                label, last.tracks + new.tracks, last.start, max(last.end, new.end), last.start_frame,
                max(last.end_frame, new.end_frame), total,
                (last.mean_similarity * last.frames + new.mean_similarity * new.frames) / total,
                max(last.max_similarity, new.max_similarity),
            )
        else:
            rows.append(new)
    return sorted(rows, key=lambda a: (a.start, a.label))


def write_timeline(path: Path, rows: Sequence[Appearance]) -> None:
    """The timeline CSV, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TIMELINE_COLUMNS)
        writer.writeheader()
        writer.writerows(a.row() for a in rows)


def write_detections(path: Path, records: Sequence[FrameFaces], names: dict[int, TrackName]) -> None:
    """One JSON line per analysed frame: time, frame, and each face's box, landmarks, label,
    similarity and track. Written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for record in records:
            sims = face_similarities(record, names)
            faces = [
                {
                    "box": [round(float(v), 2) for v in record.faces.boxes[i]],
                    "landmarks": [[round(float(v), 2) for v in p] for p in record.faces.landmarks[i]],
                    "label": names[t].label, "similarity": round(float(sims[i]), 4), "track": t,
                }
                for i, t in enumerate(record.tracks.tolist())
            ]
            line = {"time": round(record.time, 6), "frame": record.index, "faces": faces}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
