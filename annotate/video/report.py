"""The video report: one lane per person (known people, then unknown, in order of first
appearance), a thumbnail of their best face, and a bar per timeline row (``appearances``);
hovering a bar shows its times and similarity, clicking it plays the video from its start.
The page is ``report/templates/video.html``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..drawing.crop import crop_face
from ..media.video import frames_at
from ..report.page import href, render, thumbnail, write_page
from .analysis import VideoAnalysis
from .track import quality


def best_faces(analysis: VideoAnalysis) -> dict[int, tuple[int, np.ndarray]]:
    """Person id -> (frame index, (4,) box) of their best face: the highest ``track.quality``."""
    best: dict[int, tuple[float, int, np.ndarray]] = {}
    for frame in analysis.frames:
        faces = frame.faces
        if faces.tracks is None or not len(faces):
            continue
        weights = quality(faces.boxes, faces.scores, faces.landmarks)
        for track, weight, box in zip(faces.tracks.tolist(), weights.tolist(), faces.boxes):
            if track not in best or weight > best[track][0]:
                best[track] = (weight, frame.index, box)
    return {t: (index, box) for t, (_, index, box) in best.items()}


def _thumbs(analysis: VideoAnalysis, people: list[int]) -> dict[int, str]:
    chosen = {t: f for t, f in best_faces(analysis).items() if t in people}
    pictures = frames_at(analysis.source, sorted({i for i, _ in chosen.values()}), analysis.options.sample_fps)
    return {t: thumbnail(crop_face(pictures[i], box)) for t, (i, box) in chosen.items() if i in pictures}


def render_video_report(analysis: VideoAnalysis, page: Path, video: Path | None = None) -> str:
    """The report's HTML, to be written at ``page``; ``video``: the file its player plays (the
    named copy), default the analysed video."""
    rows = analysis.appearances
    lanes: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: (r.label is None, r.start)):
        lane = lanes.setdefault(
            row.name, {"name": row.name, "known": row.label is not None, "person": row.tracks[0], "bars": []}
        )
        lane["bars"].append(row)
    info = analysis.info
    ends = [info.start + info.duration - info.origin] if info.duration else []
    duration = max([*ends, *(r.end for r in rows), 1e-3])
    thumbs = _thumbs(analysis, [lane["person"] for lane in lanes.values()])
    for lane in lanes.values():
        lane["thumb"] = thumbs.get(lane["person"])
    return render(
        "video.html",
        title=analysis.source.name,
        video=href(video or analysis.source, page),
        duration=duration,
        lanes=list(lanes.values()),
        rows=len(rows),
        fps=analysis.info.fps,
    )


def write_video_report(analysis: VideoAnalysis, page: Path, video: Path | None = None, replace: bool = False) -> Path:
    """Write the report (``render_video_report``) atomically."""
    return write_page(page, render_video_report(analysis, page, video), replace)
