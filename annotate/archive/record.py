"""What decides an archive run's results, kept in its ``run.json``: a ``--resume`` must match
it, so that one archive is never made half with one setting and half with another."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .annotators import ArchiveSettings

# What runs made before a setting was recorded did: the command line could not change the
# gaps, and a run that rendered nothing drew nothing. Other settings they lacked are unknown.
UNRECORDED = {"max_gap": 10, "merge_gap": 1.0, "drawing": None, "detect_all": None}


def run_record(kind: str, settings: ArchiveSettings) -> dict[str, Any]:
    """The record of a ``kind`` ("video", "photos") run with ``settings``, as JSON values. The
    drawing (whose faces are hidden, too) counts when copies are rendered: a resume without
    ``--blur`` would otherwise leave faces visible in an archive that hides them."""
    s, v = settings, settings.video
    record = {
        "kind": kind,
        "format": s.fmt,
        "model_sha256": s.bank.model_sha256,
        "bank_sha256": s.bank_sha256,
        "min_face": s.config.min_face,
        "threshold": s.config.threshold,
        "sample_fps": v.sample_fps,
        "max_gap": v.max_gap,
        "merge_gap": v.merge_gap,
        "exact": v.shortcuts_for(s.config.device) is None,  # as the workers' device resolves it
        "detections": s.detections,
        "include_unknown": s.include_unknown,
        "render": s.render,
        "drawing": _drawing(settings) if s.render else None,
        "detect_all": v.detect_all if s.render else None,  # blurs the faces between samples
    }
    return json.loads(json.dumps(record, default=sorted))  # tuples and sets as lists, as read back


def differences(earlier: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """How ``record`` differs from an earlier run's, a phrase per setting; a setting the earlier
    run did not record counts as ``UNRECORDED`` says, or else as different."""
    changed = []
    for key, now in record.items():
        if key in earlier:
            if earlier[key] != now:
                changed.append(f"{key}: {earlier[key]!r}, now {now!r}")
        elif key not in UNRECORDED or UNRECORDED[key] != now:
            changed.append(f"{key}: not recorded by the annotate that made it, now {now!r}")
    return changed


def _drawing(settings: ArchiveSettings) -> dict[str, Any]:
    from ..drawing.options import DrawOptions

    drawing = asdict(settings.drawing or DrawOptions())  # None draws as the defaults do
    if drawing["blur"] is not None:
        drawing["blur"]["targets"] = sorted(drawing["blur"]["targets"])  # --blur a --blur b: either order
    return drawing
