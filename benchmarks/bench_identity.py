"""Who appears when, against truth: per person and clip and sample rate, the share of screen
time the timeline covers, the seconds named as someone else, identities per person
(fragmentation) and identity switches; and what the identity work costs.

    python benchmarks/bench_identity.py [--clips cut,return,cross,swap] [--rates full,2,5] [--real]
        [--paths exact,default] [--detect-every 1] [--embed-every 5] [--json]

The clips are made in a temporary folder from the sample portraits (``tests/cast.py``: hard
cuts where each person appears exactly where the other was, a person who leaves and comes
back, two people crossing), and analysed with the demo bank. With --real, ``video.mp4`` and
the Hamilton clip from ../shared are analysed too (the bank then also holds the clip's two
known people, Lin-Manuel Miranda and Alex Lacamoire, one photo each), and scored against their hand labels in
``tests/fixtures/identity/`` where those exist. "identity s" is the time of the stages
"track" and "link" (the tracker and the re-identification), as a share of the whole analysis
(``annotate video --no-render``).

Each clip and rate is analysed by each of ``--paths``: ``exact`` (``VideoOptions(exact=True)``,
every face found and embedded from scratch) and ``default`` (the tracks' shortcuts,
``video.shortcuts``; --detect-every and --embed-every change its ``Shortcuts``, to judge
other settings than the defaults). A shortcut path's rows also give "faces kept": the share of the exact
path's faces that it finds in the same frames (box IoU of 0.5 or more), and "faces added":
its faces the exact path does not have, per exact face.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import BANK, ROOT, add_recognizer_args, bank_from, recognizer_from

sys.path.insert(0, str(ROOT / "tests"))

import annotate
from annotate.evaluate.identity import Presence, score
from annotate.runtime import timing
from annotate.video.shortcuts import Shortcuts

SHARED = ROOT.parent / "shared" / "data" / "video"
LABELS = ROOT / "tests" / "fixtures" / "identity"
REAL = {"video": SHARED / "video.mp4", "hamilton": SHARED / "hamilton" / "short_hamilton_clip.mp4"}


def hand_labels(name: str) -> list[Presence] | None:
    path = LABELS / f"{name}.json"
    if not path.is_file():
        return None
    return [Presence(**{**p, "start": tuple(p["start"]), "end": tuple(p["end"])}) for p in json.loads(path.read_text())]


def real_bank(tmp: Path) -> Path:
    """The demo bank's people and the Hamilton clip's two known people (one photo each)."""
    import shutil

    folder = tmp / "bank"
    for label in ("Eileen Collins", "Grace Hopper"):
        shutil.copytree(BANK / label, folder / label)
    for photo in ("lin-manuel-miranda.png", "alex-lacamoire.png"):
        label = Path(photo).stem.replace("-", " ").title()
        (folder / label).mkdir(parents=True)
        shutil.copy(SHARED / "hamilton" / photo, folder / label / photo)
    return folder


PATHS = ("exact", "default")


def analyse(
    path: Path, recognizer, bank, rate: float | None, exact: bool, shortcuts: Shortcuts
) -> tuple[annotate.VideoAnalysis, float, float]:
    """The analysis, its wall seconds, and the seconds of its identity stages."""
    options = annotate.VideoOptions(sample_fps=rate, exact=exact, shortcuts=shortcuts)
    with timing.recording() as times:
        started = time.perf_counter()
        analysis = annotate.analyse_video(path, recognizer, bank, options)
        wall = time.perf_counter() - started
    return analysis, wall, sum(times.seconds.get(s, 0.0) for s in ("track", "link"))


def faces_kept(analysis, reference) -> tuple[float, float]:
    """The share of ``reference``'s faces that ``analysis`` finds in the same frames (box IoU
    0.5 or more, each face matched once), and its unmatched faces per reference face."""
    from annotate.recognition.match import assign
    from annotate.video.track import box_iou

    theirs = {f.index: f.faces.boxes for f in analysis.frames}
    total = kept = added = 0
    for frame in reference.frames:
        mine, other = frame.faces.boxes, theirs.get(frame.index, np.zeros((0, 4)))
        matched = int((assign(box_iou(mine, other), 0.5) >= 0).sum()) if len(mine) and len(other) else 0
        total, kept, added = total + len(mine), kept + matched, added + len(other) - matched
    return (kept / total, added / total) if total else (1.0, 0.0)


def rows_for(
    clip: str, rate: float | None, route: str, analysis, wall: float, identity: float, truth, reference
) -> list[dict]:
    kept, added = faces_kept(analysis, reference) if reference is not None else ("", "")  # no exact run before
    base = {
        "clip": clip,
        "rate": "full" if rate is None else f"{rate:g} fps",
        "path": route,
        "faces": sum(len(f.faces) for f in analysis.frames),
        "faces kept": kept if kept == "" else round(kept, 3),
        "faces added": added if added == "" else round(added, 3),
        "tracks": len(analysis.tracks),
        "rows": len(analysis.appearances),
        "known rows": len(analysis.known()),
        "identity s": round(identity, 3),
        "analysis s": round(wall, 2),
        "identity share": round(identity / wall, 4) if wall else 0.0,
    }
    if not truth:
        return [base]
    return [
        {
            **base,
            "person": s.person,
            "screen s": round(s.screen_time, 2),
            "coverage": round(s.coverage, 3),
            "wrong s": round(s.wrong_seconds, 3),
            "identities": s.identities,
            "switches": s.switches,
            "found": round(s.found, 3),
        }
        for s in score(analysis, truth)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="cut,return,cross,swap")
    parser.add_argument("--rates", default="full,2,5")
    parser.add_argument("--real", action="store_true", help="also video.mp4 and the Hamilton clip (../shared)")
    parser.add_argument("--paths", default="exact,default", help="analyses to compare: exact, default")
    parser.add_argument("--detect-every", type=int, default=1, help="the default path's Shortcuts.detect_every")
    parser.add_argument("--embed-every", type=int, default=5, help="the default path's Shortcuts.embed_every")
    parser.add_argument("--json", action="store_true")
    add_recognizer_args(parser)
    args = parser.parse_args()
    from cast import make_cast

    if not set(args.paths.split(",")) <= set(PATHS):
        parser.error(f"--paths takes {', '.join(PATHS)}")
    recognizer = recognizer_from(args)
    shortcuts = Shortcuts(detect_every=args.detect_every, embed_every=args.embed_every)
    rates = [None if r == "full" else float(r) for r in args.rates.split(",")]
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        bank = bank_from(args, recognizer) if not args.real else annotate.load_bank(real_bank(Path(tmp)), recognizer)
        inputs = {}
        for name in filter(None, args.clips.split(",")):
            inputs[name] = (Path(tmp) / f"{name}.mp4", None)
            inputs[name] = (inputs[name][0], make_cast(inputs[name][0], name))
        if args.real:
            inputs.update({name: (path, hand_labels(name)) for name, path in REAL.items() if path.is_file()})
        for name, (path, truth) in inputs.items():
            for rate in rates:
                reference = None
                for route in args.paths.split(","):
                    analysis, wall, identity = analyse(path, recognizer, bank, rate, route == "exact", shortcuts)
                    results += rows_for(name, rate, route, analysis, wall, identity, truth, reference)
                    reference = analysis if route == "exact" else reference
    if args.json:
        print(json.dumps(results, indent=1))
        return
    keys = list(dict.fromkeys(k for r in results for k in r))
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")


if __name__ == "__main__":
    main()
