"""Images per second of `annotate photos` and of the face-bank build, against baselines in this process.

    python benchmarks/bench_photos.py [DIR] [--photos 500] [--batch 16] [--device cpu|cuda]

DIR is a folder of photos, searched recursively (default: LFW in ../shared/data, read in place).
Measured on the same files, one after the other:
  - a plain decode -> JPEG encode of each photo (the floor: what `annotate photos` must do anyway);
  - `annotate photos` one photo at a time, then in batches of --batch;
  - when DIR holds <label>/ folders: a full bank build of its first --bank-people labels with at
    least 2 photos, then an incremental rebuild after adding one photo.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LFW = ROOT.parent / "shared" / "data" / "lfw" / "lfw-deepfunneled"


def photos_per_second(jobs, recognizer, out: Path, batch: int) -> float:
    from annotate.photos import annotate_photos

    start = time.perf_counter()
    for result in annotate_photos(jobs, recognizer, out, batch=batch):
        if result.error:
            raise RuntimeError(result.error)
    return len(jobs) / (time.perf_counter() - start)


def plain_per_second(jobs, out: Path) -> float:
    from annotate.media import read_image, write_image

    start = time.perf_counter()
    for job in jobs:
        target = out / job.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_image(target, read_image(job.source))
    return len(jobs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, nargs="?", default=LFW, help="folder of photos (default: LFW)")
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--bank-people", type=int, default=100)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if not args.dir.is_dir():
        raise SystemExit(f"{args.dir}: no such folder (the default needs ../shared/data/lfw)")

    from annotate.recognition.bank import build
    from annotate.media import IMAGE_SUFFIXES, find_inputs
    from annotate.recognition.recognizer import Recognizer

    recognizer = Recognizer(device=args.device)
    jobs = find_inputs([args.dir], IMAGE_SUFFIXES)[: args.photos]
    result: dict[str, object] = {"dir": str(args.dir), "device": str(recognizer.detector.device), "photos": len(jobs)}
    with tempfile.TemporaryDirectory() as tmp:
        photos_per_second(jobs[:8], recognizer, Path(tmp) / "warm", 8)
        result["plain_decode_encode_per_s"] = plain_per_second(jobs, Path(tmp) / "plain")
        result["batch1_photos_per_s"] = photos_per_second(jobs, recognizer, Path(tmp) / "b1", 1)
        result[f"batch{args.batch}_photos_per_s"] = photos_per_second(jobs, recognizer, Path(tmp) / "bn", args.batch)
        result["batch_speedup"] = result[f"batch{args.batch}_photos_per_s"] / result["batch1_photos_per_s"]
        result["batched_over_plain"] = result[f"batch{args.batch}_photos_per_s"] / result["plain_decode_encode_per_s"]

        # face bank: people with at least two photos, copied to a temp bank folder
        people = [d for d in sorted(args.dir.iterdir()) if d.is_dir() and len(list(d.glob("*.jpg"))) >= 2][: args.bank_people]
        if not people:
            print(json.dumps(result, indent=2))
            return
        bank = Path(tmp) / "bank"
        for person in people:
            shutil.copytree(person, bank / person.name)
        emb = recognizer.embedder
        start = time.perf_counter()
        full = build(bank, recognizer.embed_files, emb.name, emb.weights.sha256)
        full_s = time.perf_counter() - start
        extra = next(d for d in sorted(args.dir.iterdir()) if d.is_dir() and d.name not in {p.name for p in people})
        shutil.copy(next(extra.glob("*.jpg")), bank / people[0].name / "added.jpg")
        start = time.perf_counter()
        again = build(bank, recognizer.embed_files, emb.name, emb.weights.sha256, previous=full.bank)
        incremental_s = time.perf_counter() - start
        result |= {
            "bank_photos": len(full.bank.image_paths), "bank_labels": len(full.bank),
            "full_build_s": full_s, "bank_photos_per_s": len(full.bank.image_paths) / full_s, "incremental_build_s": incremental_s,
            "incremental_embedded": len(again.embedded), "full_over_incremental": full_s / incremental_s,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
