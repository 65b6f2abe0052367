"""Make the demo photos in samples/photos/ and the demo face bank in facebank/.

Everything is derived from the two public-domain portraits in this folder (see README.md):
astronaut.png (Eileen Collins) and grace_hopper.jpg (Grace Hopper). Run from the repository root:

    python samples/make_samples.py

It overwrites only the files it makes.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PHOTOS = HERE / "photos"
BANK = ROOT / "facebank"
EXIF_ORIENTATION = 0x0112


def composite(left: Image.Image, right: Image.Image) -> Image.Image:
    """Both portraits side by side on a grey canvas, bottoms aligned."""
    height = max(left.height, right.height)
    canvas = Image.new("RGB", (left.width + right.width + 40, height + 40), (110, 110, 110))
    canvas.paste(left, (20, 20 + height - left.height))
    canvas.paste(right, (20 + left.width, 20 + height - right.height))
    return canvas


def with_exif_orientation_6(upright: Image.Image) -> tuple[Image.Image, Image.Exif]:
    """Pixels stored turned 90 degrees anticlockwise, with EXIF orientation 6 (rotate 90 clockwise to view)."""
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return stored, exif


def bank_variants(portrait: Image.Image, face_box: tuple[int, int, int, int]) -> list[Image.Image]:
    """Three different looks at one portrait: a loose crop, a tight mirrored crop, a darker tilted crop."""
    x1, y1, x2, y2 = face_box
    w, h = x2 - x1, y2 - y1
    loose = portrait.crop((max(0, x1 - w), max(0, y1 - h), min(portrait.width, x2 + w), min(portrait.height, y2 + h)))
    tight = ImageOps.mirror(portrait.crop((x1 - w // 3, y1 - h // 3, x2 + w // 3, y2 + h // 3)))
    tilted = portrait.crop((x1 - w // 2, y1 - h // 2, x2 + w // 2, y2 + h // 2)).rotate(8, resample=Image.BICUBIC)
    tilted = ImageEnhance.Brightness(tilted).enhance(0.8)
    return [loose, tight, tilted]


def main() -> None:
    astronaut = Image.open(HERE / "astronaut.png").convert("RGB")
    hopper = Image.open(HERE / "grace_hopper.jpg").convert("RGB")
    PHOTOS.mkdir(exist_ok=True)

    both = composite(astronaut, hopper)
    both.save(PHOTOS / "both.jpg", quality=92)
    stored, exif = with_exif_orientation_6(both)
    stored.save(PHOTOS / "both_exif6.jpg", quality=92, exif=exif)
    hopper.convert("L").save(PHOTOS / "grace_hopper_gray.jpg", quality=92)
    astronaut.crop((300, 330, 512, 512)).save(PHOTOS / "no_face.png")  # the suit and the flag, no face

    # face boxes found by MTCNN in the portraits, rounded
    for name, portrait, box in (
        ("Eileen Collins", astronaut, (180, 61, 269, 175)),
        ("Grace Hopper", hopper, (173, 110, 355, 330)),
    ):
        folder = BANK / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, variant in enumerate(bank_variants(portrait, box), start=1):
            variant.save(folder / f"{i}.jpg", quality=90)


if __name__ == "__main__":
    main()
