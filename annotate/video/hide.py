"""Where each hidden person's face is in every frame of a video, analysed or not, so that a
blur never leaks: between analysed frames (``--sample-fps``) and over missed detections the
box covers both sightings around it, and before a person's first and after their last
analysed frame it is held for one analysed frame's time, padded by how fast the face moves.

A person is hidden from their first frame to their last, whatever their name: in a file the
name is decided from all of a person's faces before anything is drawn.

A face that shows only between analysed frames (a brief or faint one) is hidden when the
analysis detected it there (``VideoOptions.detect_all``, its ``glimpses``): when it touches a
hidden person's box, or when the policy hides unnamed faces and no shown person's box holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..drawing.blur import BlurPolicy
from .analysis import VideoAnalysis

HELD = 0.7  # a face detected between samples is a shown person's when this share of it is in their box


@dataclass(frozen=True)
class _Path:
    times: np.ndarray  # (K,) seconds, increasing
    boxes: np.ndarray  # (K,4) xyxy


@dataclass(frozen=True)
class HiddenFaces:
    """The hidden people's paths. step: seconds an analysed frame stands for (a box is held that
    long before the first and after the last sighting); gap: the longest unseen time that is
    interpolated over (a longer one: the person left, and is held ``step`` at each side)."""

    paths: dict[int, _Path]
    step: float
    gap: float
    shown: dict[int, _Path] = field(default_factory=dict)
    glimpses: dict[float, np.ndarray] = field(default_factory=dict)
    unnamed: bool = False

    def at(self, time: float) -> tuple[np.ndarray, np.ndarray]:
        """(M,4) boxes of the hidden faces at ``time`` (the stream's seconds) and (M,) extra
        padding in pixels for their motion."""
        boxes, extra = self._on(self.paths, time)
        glimpsed = self.glimpses.get(round(time, 6))
        if glimpsed is not None:
            glimpsed = glimpsed[self._hides(glimpsed, boxes, time)]
            boxes = np.concatenate([boxes, glimpsed])
            extra = np.concatenate([extra, np.zeros(len(glimpsed))])
        return boxes, extra

    def _on(self, paths: dict[int, _Path], time: float) -> tuple[np.ndarray, np.ndarray]:
        boxes, extra = [], []
        for path in paths.values():
            found = _box_at(path, time, self.step, self.gap)
            if found is not None:
                boxes.append(found[0])
                extra.append(found[1])
        return np.array(boxes, np.float64).reshape(-1, 4), np.array(extra, np.float64)

    def _hides(self, glimpsed: np.ndarray, hidden: np.ndarray, time: float) -> np.ndarray:
        """(G,) which faces detected between samples to hide: those touching a hidden box, and
        with ``unnamed``, those no shown person's box holds (mostly inside it)."""
        hide = np.asarray((_overlap(glimpsed, hidden) > 0).any(axis=1))
        if self.unnamed:
            shown, _ = self._on(self.shown, time)
            held = (_overlap(glimpsed, shown) >= HELD * _area(glimpsed)[:, None]).any(axis=1)
            hide = np.asarray(hide | ~held)
        return hide

    @property
    def people(self) -> frozenset[int]:
        return frozenset(self.paths)


def hidden_faces(analysis: VideoAnalysis, policy: BlurPolicy) -> HiddenFaces:
    """The paths of the people ``policy`` hides (spurious detections too, as Unknown), and of
    those it shows, with the faces detected between samples."""
    samples: dict[int, tuple[list[float], list[np.ndarray]]] = {}
    hides: dict[int, bool] = {}
    for frame in analysis.frames:
        tracks = frame.faces.tracks
        if tracks is None:
            continue
        for track, box in zip(tracks.tolist(), frame.faces.boxes):
            person = analysis.tracks.get(track)
            hides[track] = policy.hides(person.label if person is not None else None)
            times, boxes = samples.setdefault(track, ([], []))
            times.append(frame.time)
            boxes.append(np.asarray(box, np.float64))
    step = analysis.options.step(analysis.info.fps)
    paths = {t: _Path(np.array(times), np.stack(boxes)) for t, (times, boxes) in samples.items()}
    glimpses = {round(f.time, 6): f.faces.boxes.astype(np.float64) for f in analysis.glimpses if len(f.faces)}
    return HiddenFaces(
        {t: p for t, p in paths.items() if hides[t]},
        step,
        (analysis.options.max_gap + 1) * step,
        {t: p for t, p in paths.items() if not hides[t]},
        glimpses,
        policy.hides(None),
    )


def _box_at(path: _Path, time: float, step: float, gap: float) -> tuple[np.ndarray, float] | None:
    """The box of ``path`` at ``time`` and its extra padding, or None when the person is not there."""
    times, boxes = path.times, path.boxes
    eps = 1e-6
    if time < times[0] - step - eps or time > times[-1] + step + eps:
        return None
    i = int(np.searchsorted(times, time, side="right")) - 1  # last sighting at or before
    if i < 0:
        return boxes[0], _speed(path, 0) * (times[0] - time)
    if i == len(times) - 1 or times[i] == time:
        return boxes[i], _speed(path, i) * (time - times[i])
    t0, t1 = times[i], times[i + 1]
    if t1 - t0 > gap:  # left and came back: held a step at each side
        if time - t0 <= step + eps:
            return boxes[i], _speed(path, i) * (time - t0)
        if t1 - time <= step + eps:
            return boxes[i + 1], _speed(path, i + 1) * (t1 - time)
        return None
    # between two sightings the face may be anywhere from one to the other (it may move late, or
    # stand still while the detector missed it): the box covering both
    a, b = boxes[i], boxes[i + 1]
    return np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])]), 0.0


def _area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A,B) areas of intersection of xyxy boxes."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.clip(hi - lo, 0, None).prod(axis=2)


def _speed(path: _Path, i: int) -> float:
    """Pixels per second the box's edges move around sighting ``i`` (the fastest edge)."""
    times, boxes = path.times, path.boxes
    if len(times) < 2:
        return 0.0
    j = i + 1 if i + 1 < len(times) else i - 1
    dt = abs(times[j] - times[i])
    return float(np.abs(boxes[j] - boxes[i]).max() / dt) if dt > 0 else 0.0
