"""Where the identity thresholds come from, measured on video.mp4 and the Hamilton clip.

    python benchmarks/calibrate_identity.py [--rates full,2,5]

1. The appearance gate (``video.track.APPEARANCE_GATE``): how alike consecutive faces of one
   track are, with the tracker's appearance gate off (boxes and motion only).
2. The joining threshold (``video.identity.REID_THRESHOLD``): with the tracker as it is, how
   alike the mean faces of one hand-labelled person's identities are when the analysis leaves
   them apart, and how alike the means of different people are.
3. The spurious score (``video.identity.UNSURE``): each identity's mean detection score, for
   the hand-labelled people and for the rest (false detections).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np
from _harness import ROOT

sys.path.insert(0, str(ROOT / "tests"))

from bench_identity import REAL, hand_labels, real_bank

import annotate
from annotate.evaluate.identity import _face_in
from annotate.media.video import VideoReader
from annotate.video.track import FaceTracker


def consecutive(path: Path, recognizer: annotate.Recognizer) -> np.ndarray:
    """Cosine similarities of each face to the last face of its track, appearance gate off."""
    tracker, last, sims = FaceTracker(appearance=-2.0), {}, []
    with VideoReader(path) as reader:
        frames = list(reader.frames())
    for start in range(0, len(frames), 4):
        chunk = frames[start : start + 4]
        for frame, faces in zip(chunk, recognizer.describe([f.image for f in chunk])):
            for track, emb in zip(tracker.update(faces.boxes, faces.embeddings, frame.time).tolist(), faces.embeddings):
                if track in last:
                    sims.append(float(last[track] @ emb))
                last[track] = emb
    return np.array(sims)


def people_of(analysis: annotate.VideoAnalysis, truth: list) -> dict[int, set[str]]:
    """Identity -> the hand-labelled people its faces belong to."""
    who: dict[int, set[str]] = {}
    for frame in analysis.frames:
        for presence in truth:
            if presence.first <= frame.index <= presence.last:
                face = _face_in(frame.faces.boxes, presence.region(frame.index))
                if face is not None:
                    who.setdefault(int(frame.faces.tracks[face]), set()).add(presence.person)
    return who


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="full,2,5")
    args = parser.parse_args()
    recognizer = annotate.Recognizer(device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        bank = annotate.load_bank(real_bank(Path(tmp)), recognizer)
    for name, path in REAL.items():
        sims = consecutive(path, recognizer)
        print(
            f"{name}: consecutive faces of one track, percentiles 0.5/1/5/50:",
            np.percentile(sims, [0.5, 1, 5, 50]).round(3),
        )
        truth = hand_labels(name) or []
        for rate in [None if r == "full" else float(r) for r in args.rates.split(",")]:
            analysis = annotate.analyse_video(path, recognizer, bank, annotate.VideoOptions(sample_fps=rate))
            who = people_of(analysis, truth)
            same, apart = [], []
            for a, b in itertools.combinations(sorted(analysis.tracks), 2):
                sim = float(analysis.tracks[a].embedding @ analysis.tracks[b].embedding)
                if who.get(a) and who.get(b):
                    (same if who[a] & who[b] else apart).append(round(sim, 3))
            labelled = [t for t in analysis.tracks if t in who]
            scores = {
                t: round(
                    float(
                        np.mean(
                            [
                                f.faces.scores[i]
                                for f in analysis.frames
                                for i, x in enumerate(f.faces.tracks.tolist())
                                if x == t
                            ]
                        )
                    ),
                    3,
                )
                for t in analysis.tracks
            }
            rate_name = "full" if rate is None else f"{rate:g} fps"
            print(f"  {rate_name}: one person's identities left apart: {sorted(same, reverse=True)[:5]}")
            print(f"  {rate_name}: different people, most alike: {sorted(apart, reverse=True)[:5]}")
            print(f"  {rate_name}: mean scores, labelled people: {sorted(scores[t] for t in labelled)[:5]} (lowest)")
            print(
                f"  {rate_name}: mean scores, the rest: {sorted((scores[t] for t in scores if t not in who), reverse=True)[:5]} (highest)"
            )


if __name__ == "__main__":
    main()
