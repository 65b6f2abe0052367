"""Build a face bank from labelled folders (`FOLDER/<label>/*.jpg`) and save it.

    python examples/build_bank.py [FOLDER] OUT.npz

Default FOLDER: the sample face bank that ships with annotate. Use the saved bank with
`annotate.FaceBank.load(OUT.npz)`, or `annotate photos ... --bank OUT.npz`.
"""

import argparse
import sys
from pathlib import Path

import annotate

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("folder", nargs="?", default=annotate.sample_path("facebank"))
parser.add_argument("out", help="the bank file to write (.npz); an existing file is not replaced")
args = parser.parse_args()
if Path(args.out).exists():
    sys.exit(f"{args.out} exists; choose another name")

recognizer = annotate.Recognizer(device="cpu")
report = annotate.build_bank(args.folder, recognizer)
for note in report.notes:
    print(note)
report.bank.save(args.out)
for label, count in zip(report.bank.labels, report.bank.counts):
    print(f"{label}: {count} photo(s)")
print(f"wrote {args.out}")
