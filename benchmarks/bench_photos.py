"""Images per second of `annotate photos` and of the face-bank build, against baselines in this process.

    python benchmarks/bench_photos.py [DIR] [--photos 500] [--batch 16] [--rounds 1] [--device cpu|cuda]

DIR is a folder of photos, searched recursively (default: LFW in ../shared/data, read in place).
Measured on the same files, in --rounds alternating rounds (median reported):
  - a plain decode -> JPEG encode of each photo (the floor: what `annotate photos` must do anyway);
  - `annotate photos` (``recognise_photos`` against --bank, then ``save_annotated``) one photo
    at a time, and in batches of --batch;
then, when DIR holds <label>/ folders: a full bank build (``annotate.build_bank``) of its first
--bank-people labels with at least 2 photos, then an incremental rebuild after adding one photo.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from pathlib import Path

from _harness import ROOT, add_recognizer_args, alternate, bank_from, median, recognizer_from, report

LFW = ROOT.parent / "shared" / "data" / "lfw" / "lfw-deepfunneled"


def annotate_photos(jobs, recognizer, bank, out: Path, batch: int) -> None:
    """What `annotate photos --out OUT` does per photo: faces and names, and the annotated copy."""
    from annotate.photos import recognise_photos, save_annotated

    for result in recognise_photos(jobs, recognizer, bank, batch):
        if result.error:
            raise RuntimeError(result.error)
        save_annotated(result, out)


def plain(jobs, out: Path) -> None:
    from annotate.media import read_image, write_image

    for job in jobs:
        target = out / job.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_image(target, read_image(job.source))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, nargs="?", default=LFW, help="folder of photos (default: LFW)")
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bank-people", type=int, default=100)
    add_recognizer_args(parser, device="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.dir.is_dir():
        raise SystemExit(f"{args.dir}: no such folder (the default needs ../shared/data/lfw)")

    import annotate
    from annotate.media import IMAGE_SUFFIXES, find_inputs

    recognizer = recognizer_from(args)
    bank = bank_from(args, recognizer)
    jobs = find_inputs([args.dir], IMAGE_SUFFIXES)[: args.photos]
    result: dict[str, object] = {
        "dir": str(args.dir),
        "device": recognizer.config.device,
        "threads": recognizer.config.threads,
        "photos": len(jobs),
    }
    with tempfile.TemporaryDirectory() as tmp:
        fresh = (Path(tmp) / f"out{i}" for i in itertools.count())  # a new folder for every run
        annotate_photos(jobs[:8], recognizer, bank, next(fresh), 8)  # warm-up
        batched = f"batch{args.batch}"
        times = alternate(
            {
                "plain": lambda: plain(jobs, next(fresh)),
                "batch1": lambda: annotate_photos(jobs, recognizer, bank, next(fresh), 1),
                batched: lambda: annotate_photos(jobs, recognizer, bank, next(fresh), args.batch),
            },
            args.rounds,
        )
        per_s = {name: len(jobs) / median(seconds) for name, seconds in times.items()}
        result |= {
            "plain_decode_encode_per_s": per_s["plain"],
            "batch1_photos_per_s": per_s["batch1"],
            f"{batched}_photos_per_s": per_s[batched],
            "batch_speedup": per_s[batched] / per_s["batch1"],
            "batched_over_plain": per_s[batched] / per_s["plain"],
        }

        # face bank: people with at least two photos, copied to a temp bank folder
        people = [d for d in sorted(args.dir.iterdir()) if d.is_dir() and len(list(d.glob("*.jpg"))) >= 2][
            : args.bank_people
        ]
        if people:
            folder = Path(tmp) / "bank"
            for person in people:
                shutil.copytree(person, folder / person.name)
            start = time.perf_counter()
            full = annotate.build_bank(folder, recognizer)
            full_s = time.perf_counter() - start
            extra = next(d for d in sorted(args.dir.iterdir()) if d.is_dir() and d.name not in {p.name for p in people})
            shutil.copy(next(extra.glob("*.jpg")), folder / people[0].name / "added.jpg")
            start = time.perf_counter()
            again = annotate.build_bank(folder, recognizer, previous=full.bank)
            incremental_s = time.perf_counter() - start
            result |= {
                "bank_photos": len(full.bank.image_paths),
                "bank_labels": len(full.bank),
                "full_build_s": full_s,
                "bank_photos_per_s": len(full.bank.image_paths) / full_s,
                "incremental_build_s": incremental_s,
                "incremental_embedded": len(again.embedded),
                "full_over_incremental": full_s / incremental_s,
            }
    report(result, args.json, width=28)


if __name__ == "__main__":
    main()
