"""Where a face will be: a constant-velocity Kalman filter on its box, as SORT and ByteTrack
predict theirs, so that fast motion and sampled analysis (``--sample-fps``: 0.2-0.5 s between
analysed frames) do not break tracks.

The state is the box centre, width and height and their velocities, in pixels and pixels per
second; noise scales with the box height (ByteTrack's weights, per second instead of per
frame), so a large face may move more pixels than a small one.
"""

from __future__ import annotations

import numpy as np

_POSITION, _VELOCITY = 1 / 20, 1 / 160  # std of position and velocity noise, in box heights (ByteTrack)
_FRAME = 1 / 25  # the frame time ByteTrack's weights are per


def to_cwh(boxes: np.ndarray) -> np.ndarray:
    """(..., 4) xyxy -> (..., 4) centre x, centre y, width, height."""
    boxes = np.asarray(boxes, np.float64)
    return np.concatenate([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], axis=-1)


def to_xyxy(cwh: np.ndarray) -> np.ndarray:
    """(4,) centre x, centre y, width, height -> (4,) xyxy."""
    cx, cy, w, h = cwh[:4]
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float64)


class BoxKalman:
    """One box's state: mean (8,) = cx, cy, w, h and their velocities (px, px/s); covariance (8,8)."""

    def __init__(self, box: np.ndarray) -> None:
        cwh = to_cwh(np.asarray(box, np.float64))
        self.mean = np.concatenate([cwh, np.zeros(4)])
        h = max(cwh[3], 1.0)
        std = np.array([2 * _POSITION * h] * 4 + [10 * _VELOCITY * h / _FRAME] * 4)
        self.cov = np.diag(std**2)

    def predicted(self, dt: float) -> np.ndarray:
        """The (4,) xyxy box ``dt`` seconds after the last update, without changing the state."""
        return to_xyxy(self.mean[:4] + dt * self.mean[4:])

    def update(self, box: np.ndarray, dt: float) -> None:
        """Move the state ``dt`` seconds on, then correct it with the measured (4,) xyxy box."""
        motion = np.eye(8)
        motion[:4, 4:] = dt * np.eye(4)
        h = max(self.mean[3], 1.0)
        steps = max(dt / _FRAME, 1e-6)  # noise grows with time as it would over that many frames
        q = np.array([_POSITION * h] * 4 + [_VELOCITY * h / _FRAME] * 4) ** 2 * steps
        mean = motion @ self.mean
        cov = motion @ self.cov @ motion.T + np.diag(q)
        r = np.diag(np.full(4, (_POSITION * h) ** 2))
        innovation = to_cwh(np.asarray(box, np.float64)) - mean[:4]
        s = cov[:4, :4] + r
        gain = cov[:, :4] @ np.linalg.inv(s)
        self.mean = mean + gain @ innovation
        self.cov = cov - gain @ cov[:4, :]
