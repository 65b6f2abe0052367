"""Name the faces in a photo, and save a copy with them drawn.

    python examples/name_faces.py [PHOTO] [--bank FOLDER] [--out named.jpg]

Defaults: a sample photo and the sample face bank that ship with annotate.
"""

import argparse

from PIL import Image

import annotate

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("photo", nargs="?", default=annotate.sample_path("photos") / "both.jpg")
parser.add_argument("--bank", default=annotate.sample_path("facebank"))
parser.add_argument("--out", help="write the photo with its faces drawn here")
args = parser.parse_args()

recognizer = annotate.Recognizer(device="cpu")
bank = annotate.load_bank(args.bank, recognizer)
image = annotate.read_image(args.photo)
faces = recognizer.recognise([image], bank)[0]
for face in faces:
    x1, y1, x2, y2 = face.box.round().astype(int)
    print(f"{face.label or 'Unknown'}  similarity {face.similarity:.2f}  box ({x1}, {y1}, {x2}, {y2})")
if args.out:
    Image.fromarray(annotate.draw_faces(image, faces)).save(args.out)
    print(f"wrote {args.out}")
