"""Index a video: print who appears when.

    python examples/who_appears_when.py [VIDEO] [--bank FOLDER] [--csv who.csv]

Defaults: the sample clip and face bank that ship with annotate. Five frames a second are
analysed, which is enough for a timeline and several times faster than every frame.
"""

import argparse

import annotate

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("video", nargs="?", default=annotate.sample_path("clip.mp4"))
parser.add_argument("--bank", default=annotate.sample_path("facebank"))
parser.add_argument("--csv", help="also write the timeline as CSV")
args = parser.parse_args()

recognizer = annotate.Recognizer(device="cpu")
bank = annotate.load_bank(args.bank, recognizer)
analysis = annotate.analyse_video(args.video, recognizer, bank, annotate.VideoOptions(sample_fps=5))
print(f"{len(analysis.frames)} frames analysed, {len(analysis.tracks)} tracks")
for row in analysis.appearances:
    print(f"{row.start:7.2f} s - {row.end:7.2f} s  {row.name}  (similarity {row.mean_similarity:.2f})")
if args.csv:
    annotate.to_csv(analysis, args.csv)
    print(f"wrote {args.csv}")
