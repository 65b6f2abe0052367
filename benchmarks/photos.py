"""Photo throughput with and without batching, and incremental against full face-bank builds.

Both comparisons run in this one process on the same files, so their ratios are fair:

    python benchmarks/photos.py            # 500 LFW photos from ../shared/data
    python benchmarks/photos.py --photos 100 --device cpu

Needs ../shared/data/lfw (the LFW images are read in place, never copied into the repo).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "lfw" / "lfw-deepfunneled"


def photos_per_second(jobs, recognizer, out: Path, batch: int) -> float:
    from annotate.photos import annotate_photos

    start = time.perf_counter()
    for result in annotate_photos(jobs, recognizer, out, batch=batch):
        if result.error:
            raise RuntimeError(result.error)
    return len(jobs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--bank-people", type=int, default=100)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if not LFW.is_dir():
        raise SystemExit(f"needs {LFW}")

    from annotate.facebank import build
    from annotate.media import InputFile
    from annotate.pipeline import Recognizer

    recognizer = Recognizer(device=args.device)
    files = sorted(LFW.rglob("*.jpg"))[: args.photos]
    jobs = [InputFile(p, p.relative_to(LFW)) for p in files]
    result: dict[str, object] = {"device": str(recognizer.detector.device), "photos": len(jobs)}
    with tempfile.TemporaryDirectory() as tmp:
        photos_per_second(jobs[:8], recognizer, Path(tmp) / "warm", 8)
        result["batch1_photos_per_s"] = photos_per_second(jobs, recognizer, Path(tmp) / "b1", 1)
        result[f"batch{args.batch}_photos_per_s"] = photos_per_second(jobs, recognizer, Path(tmp) / "bn", args.batch)
        result["batch_speedup"] = result[f"batch{args.batch}_photos_per_s"] / result["batch1_photos_per_s"]

        # face bank: people with at least two photos, copied to a temp bank folder
        people = [d for d in sorted(LFW.iterdir()) if len(list(d.glob("*.jpg"))) >= 2][: args.bank_people]
        bank = Path(tmp) / "bank"
        for person in people:
            shutil.copytree(person, bank / person.name)
        emb = recognizer.embedder
        start = time.perf_counter()
        full = build(bank, recognizer.embed_files, emb.name, emb.weights.sha256)
        full_s = time.perf_counter() - start
        extra = next(d for d in sorted(LFW.iterdir()) if d.name not in {p.name for p in people})
        shutil.copy(next(extra.glob("*.jpg")), bank / people[0].name / "added.jpg")
        start = time.perf_counter()
        again = build(bank, recognizer.embed_files, emb.name, emb.weights.sha256, previous=full.bank)
        incremental_s = time.perf_counter() - start
        result |= {
            "bank_photos": len(full.bank.image_paths), "bank_labels": len(full.bank),
            "full_build_s": full_s, "incremental_build_s": incremental_s,
            "incremental_embedded": len(again.embedded), "full_over_incremental": full_s / incremental_s,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
