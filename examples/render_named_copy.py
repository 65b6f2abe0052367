"""Render a copy of a video with every face boxed and named; the sound is kept.

    python examples/render_named_copy.py [VIDEO] OUT.mp4 [--bank FOLDER]

Defaults: the sample clip and face bank that ship with annotate.
"""

import argparse

import annotate

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("video", nargs="?", default=annotate.sample_path("clip.mp4"))
parser.add_argument("out", help="the named copy (.mp4, .mov or .mkv); an existing file is not replaced")
parser.add_argument("--bank", default=annotate.sample_path("facebank"))
args = parser.parse_args()

recognizer = annotate.Recognizer(device="cpu")
bank = annotate.load_bank(args.bank, recognizer)
analysis = annotate.analyse_video(args.video, recognizer, bank)
notes = annotate.render_video(analysis, args.out)
people = sorted({row.name for row in analysis.appearances})
print(f"{analysis.decoded} frames, people: {', '.join(people)}")
print(f"wrote {args.out}" + "".join(f"\nnote: {n}" for n in notes))
