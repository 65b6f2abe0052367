"""Re-identification's cost as tracks grow: ``link_tracks`` on synthetic tracks.

    python benchmarks/bench_link.py [--tracks 1000,5000] [--baseline REV] [--rounds 3]

Each person (one in five tracks) has a random 512-d face; each track is that face plus noise
(within a person, tracks are 0.56-0.7 alike; between people, under 0.12), and no two tracks
share a frame, so every track of a person can be joined. Reports the median seconds per
size, and with --baseline, the same for ``link_tracks`` of commit REV (extracted as
``annotate_baseline``, as bench_ab.py does), run in alternating rounds in this process. Both
must find one group per person.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

import numpy as np
from _harness import alternate, median, report
from bench_ab import extract_baseline, resolve


def tracks(module: object, count: int, seed: int = 0) -> object:
    """A TrackSums of ``module`` (either side's identity module) with ``count`` tracks."""
    rng = np.random.default_rng(seed)
    people = rng.normal(size=(count // 5, 512))
    sums = module.TrackSums()  # type: ignore[attr-defined]
    for t in range(count):
        face = people[t % len(people)] + 0.8 * rng.normal(size=512)
        sums.add(np.array([t + 1]), (face / np.linalg.norm(face))[None].astype(np.float32), time=float(t))
    return sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", default="1000,5000")
    parser.add_argument("--baseline", default=None, help="a git revision whose link_tracks to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sides = {"current": importlib.import_module("annotate.video.identity")}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            full = resolve(args.baseline)
            extract_baseline(full, Path(tmp))
            sys.path.insert(0, tmp)
            sides["baseline"] = importlib.import_module("annotate_baseline.video.identity")
        result: dict[str, object] = {"baseline": args.baseline or "-", "rounds": args.rounds}
        for count in map(int, args.tracks.split(",")):
            inputs = {name: tracks(module, count) for name, module in sides.items()}
            groups = {name: len(set(m.link_tracks(inputs[name]).values())) for name, m in sides.items()}
            times = alternate(
                {name: (lambda m=m, s=inputs[name]: m.link_tracks(s)) for name, m in sides.items()}, args.rounds
            )
            for name in sides:
                result[f"{count} tracks, {name} s"] = round(median(times[name]), 3)
                result[f"{count} tracks, {name} people"] = groups[name]
            result[f"{count} tracks, people"] = count // 5
    report(result, args.json)


if __name__ == "__main__":
    main()
