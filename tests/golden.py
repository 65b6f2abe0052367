"""Golden outputs: what the photo and video jobs write, recorded once and compared after changes.

`python tests/golden.py` records them into tests/fixtures/golden/ (run it on the revision
whose outputs are the reference; 865e3c2 recorded the files in the repository). The test in
test_golden.py runs the same jobs and compares:
- CSV and JSONL cell by cell: text exactly, numbers within one unit of their last printed
  digit (a value that lies on a rounding boundary may print either way after a change that
  moves it by float rounding alone);
- images and every decoded frame of a rendered video by the sha256 of their pixels: boxes are
  drawn at whole pixels, so float rounding of a box does not reach the pixels.
Inputs: the sample photos, a generated clip, and the two videos in ../shared/data/video
(skipped when absent). The jobs run through the command line, so the recording does not
depend on the package's internals.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clips import make_clip
from conftest import ROOT, SHARED, run_cli

GOLDEN = ROOT / "tests" / "fixtures" / "golden"
HAMILTON = {"Lin-Manuel Miranda": "lin-manuel-miranda.png", "Alex Lacamoire": "alex-lacamoire.png"}


def _pixels_sha256(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def frame_hashes(path: Path) -> list[str]:
    """sha256 of every decoded frame's planes, in decode order."""
    with av.open(str(path)) as container:
        return [_pixels_sha256(frame.to_ndarray()) for frame in container.decode(video=0)]


def image_hash(path: Path) -> str:
    with Image.open(path) as image:
        return _pixels_sha256(np.asarray(image.convert("RGB")))


def demo_bank(work: Path) -> Path:
    folder = work / "facebank"
    for label in ("Eileen Collins", "Grace Hopper"):
        shutil.copytree(ROOT / "facebank" / label, folder / label)
    return folder


def hamilton_bank(work: Path) -> Path:
    folder = work / "hamilton-bank"
    for label, name in HAMILTON.items():
        (folder / label).mkdir(parents=True)
        shutil.copy(SHARED / "video" / "hamilton" / name, folder / label / name)
    return folder


def _cli(*args: object) -> None:
    code, _, stderr = run_cli(*map(str, args))
    if code != 0:
        raise RuntimeError(f"annotate {' '.join(map(str, args))} failed ({code}): {stderr}")


def photos(work: Path) -> dict[str, str]:
    """Outputs of the photo job on samples/photos: file name -> text, or pixel sha256 for images."""
    out = work / "photos-out"
    _cli(
        "photos",
        ROOT / "samples" / "photos",
        "--out",
        out,
        "--detections",
        out / "faces.jsonl",
        "--bank",
        demo_bank(work),
        "--device",
        "cpu",
    )
    result = {name: (out / name).read_text(encoding="utf-8") for name in ("faces.csv", "faces.jsonl")}
    for image in sorted(p for p in out.rglob("*") if p.suffix.lower() in {".jpg", ".png"}):
        result[image.relative_to(out).as_posix()] = image_hash(image)
    # the table names each input by the path it was given; keep it relative to the repository
    return {k: v.replace(str(ROOT) + "/", "") for k, v in result.items()}


VIDEOS = {"scene": None, "video": ("video.mp4",), "hamilton": ("hamilton", "short_hamilton_clip.mp4")}


def video_input(work: Path, name: str) -> tuple[Path, Path]:
    """The video ``name`` (a key of VIDEOS) and its face bank folder, made in ``work``: the
    generated clip, or a video under ../shared/data/video (which the caller checks is there)."""
    if name == "scene":
        make_clip(work / "scene.mp4")
        return work / "scene.mp4", demo_bank(work / "s")
    source = SHARED.joinpath("video", *VIDEOS[name])
    return source, hamilton_bank(work) if name == "hamilton" else demo_bank(work / "v")


def video(work: Path, name: str, source: Path, bank: Path) -> dict[str, object]:
    """Outputs of the video job on one video (every unknown person included in the timeline),
    with ``--exact``: every face of every frame embedded, as on the GPU."""
    out, who, det = work / f"{name}-named.mp4", work / f"{name}.csv", work / f"{name}.jsonl"
    _cli(
        "video",
        source,
        "--out",
        out,
        "--csv",
        who,
        "--detections",
        det,
        "--include-unknown",
        "--bank",
        bank,
        "--device",
        "cpu",
        "--exact",
    )
    return {
        "csv": who.read_text(encoding="utf-8"),
        "jsonl": det.read_text(encoding="utf-8"),
        "frames": frame_hashes(out),
    }


def timeline(work: Path, name: str, source: Path, bank: Path) -> str:
    """The timeline CSV of the video job's default analysis on the CPU (its shortcuts taken)."""
    who = work / f"{name}-default.csv"
    _cli("video", source, "--no-render", "--csv", who, "--include-unknown", "--bank", bank, "--device", "cpu")
    return who.read_text(encoding="utf-8")


def _numbers_close(a: str, b: str) -> bool:
    """Whether two printed cells are equal, or numbers within one unit of the last printed digit."""
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    digits = max(len(s.partition(".")[2]) for s in (a, b))
    return abs(x - y) <= 10.0**-digits * 1.0001


def _flat(value: object, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}[{i}]").items()}
    return {prefix: json.dumps(value, ensure_ascii=False)}


def differences(kind: str, want: str, got: str) -> list[str]:
    """Cells of a CSV or JSONL text that differ beyond printing precision (at most 10 listed)."""
    if kind == "csv":
        rows = [list(csv.reader(io.StringIO(text))) for text in (want, got)]
        cells = [{f"{r}:{c}": v for r, row in enumerate(t) for c, v in enumerate(row)} for t in rows]
    else:
        cells = [
            {f"{n}{k}": v for n, line in enumerate(t.splitlines()) for k, v in _flat(json.loads(line)).items()}
            for t in (want, got)
        ]
    out = [
        f"{key}: {cells[0].get(key)} != {cells[1].get(key)}"
        for key in sorted(set(cells[0]) | set(cells[1]))
        if cells[0].get(key) is None or cells[1].get(key) is None or not _numbers_close(cells[0][key], cells[1][key])
    ]
    return out[:10]


def record(cases: list[str]) -> None:
    """Record the named cases (all of them when none is named): "photos" and the VIDEOS keys."""
    import tempfile

    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not cases or "photos" in cases:
            result = photos(work)
            text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
            (GOLDEN / "photos.json").write_text(text, encoding="utf-8")
        for name, parts in VIDEOS.items():
            if cases and name not in cases:
                continue
            if parts is not None and not SHARED.joinpath("video", *parts).is_file():
                continue
            source, bank = video_input(work, name)
            outputs = video(work, name, source, bank)
            (GOLDEN / f"{name}.json").write_text(
                json.dumps(outputs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            print(f"recorded {name}: {len(outputs['frames'])} frames")


if __name__ == "__main__":
    import sys

    record(sys.argv[1:])
