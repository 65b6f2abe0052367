"""`annotate photos` end to end: names, table, bad inputs, output safety."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from conftest import ROOT, run_cli
from PIL import Image

from annotate.writers import PHOTO_COLUMNS as COLUMNS

PHOTOS = ROOT / "samples" / "photos"


def read_table(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture()
def inputs(tmp_path):
    """A copy of the sample photos plus one of every kind of bad file, in a nested folder."""
    folder = tmp_path / "in"
    shutil.copytree(PHOTOS, folder / "samples")
    good = (PHOTOS / "both.jpg").read_bytes()
    (folder / "bad").mkdir()
    (folder / "bad" / "empty.jpg").write_bytes(b"")
    (folder / "bad" / "text.png").write_bytes(b"hello")
    (folder / "bad" / "truncated.jpg").write_bytes(good[:5000])
    from test_media import tiny_png_header

    (folder / "bad" / "bomb.png").write_bytes(tiny_png_header(40000, 40000))
    return folder


def test_demo_names_both_people_and_goes_past_bad_files(inputs, bank_dir, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        "photos", inputs, "--out", out, "--detections", out / "faces.jsonl", "--bank", bank_dir, "--device", "cpu"
    )
    assert code == 1, "some inputs failed"
    for name in ("empty.jpg", "text.png", "truncated.jpg", "bomb.png"):
        assert any(line.startswith("error: ") and name in line for line in stderr.splitlines()), name
    assert "Traceback" not in stderr
    assert "8 photo(s), 5 face(s), 4 error(s)" in stdout

    rows = read_table(out / "faces.csv")
    assert tuple(rows[0].keys()) == COLUMNS
    by_file: dict[str, list[dict]] = {}
    for row in rows:
        by_file.setdefault(row["path"].split("/in/", 1)[1], []).append(row)
    assert len(by_file) == 8, "every input is accounted for"
    for name in ("samples/both.jpg", "samples/both_exif6.jpg"):
        faces = sorted(by_file[name], key=lambda r: float(r["x1"]))
        assert [r["label"] for r in faces] == ["Eileen Collins", "Grace Hopper"]
        assert [int(r["face"]) for r in sorted(faces, key=lambda r: r["face"])] == [0, 1]
        left = [float(faces[0][k]) for k in ("x1", "y1", "x2", "y2")]
        np.testing.assert_allclose(left, [200, 170, 288, 282], atol=4)  # the astronaut's face, upright
        assert all(float(r["similarity"]) > 0.5 and float(r["det_score"]) > 0.9 for r in faces)
        lex, rex = float(faces[0]["lex"]), float(faces[0]["rex"])
        assert left[0] < lex < rex < left[2]
    assert [r["label"] for r in by_file["samples/grace_hopper_gray.jpg"]] == ["Grace Hopper"]
    assert by_file["samples/no_face.png"] == [
        dict.fromkeys(COLUMNS, "") | {"path": by_file["samples/no_face.png"][0]["path"]}
    ]
    assert by_file["bad/empty.jpg"][0]["label"] == ""

    # annotated copies: same relative paths and formats, drawn on
    assert (out / "samples" / "both.jpg").is_file() and not (out / "bad").exists()
    with Image.open(out / "samples" / "no_face.png") as image:
        assert image.format == "PNG"
    with Image.open(out / "samples" / "both_exif6.jpg") as image:
        assert image.format == "JPEG" and image.size == (1064, 640), "written upright"
    original = np.asarray(Image.open(PHOTOS / "both.jpg"), np.int16)
    drawn = np.asarray(Image.open(out / "samples" / "both.jpg"), np.int16)
    changed = np.abs(drawn - original).max(axis=2) > 60
    assert changed[160:290, 195:295].any() and not changed[500:, 600:].any(), "boxes drawn at the faces only"

    records = [json.loads(line) for line in (out / "faces.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(rows) and records[0].keys() == rows[0].keys()


def test_json_prints_every_face_on_stdout_and_writes_no_file(bank_dir, tmp_path):
    # --json means the results on stdout, one JSON record per table row (no summary line)
    code, stdout, stderr = run_cli(
        "photos", PHOTOS / "both.jpg", PHOTOS / "no_face.png", "--json", "--bank", bank_dir, "--device", "cpu"
    )
    assert code == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert all(tuple(r) == COLUMNS for r in records)
    both = sorted((r for r in records if r["path"].endswith("both.jpg")), key=lambda r: r["x1"])
    assert [r["label"] for r in both] == ["Eileen Collins", "Grace Hopper"] and [r["face"] for r in records[:2]] == [
        0,
        1,
    ]
    np.testing.assert_allclose([both[0][k] for k in ("x1", "y1", "x2", "y2")], [200, 170, 288, 282], atol=4)
    assert [r for r in records if r["path"].endswith("no_face.png")] == [
        dict.fromkeys(COLUMNS) | {"path": str(PHOTOS / "no_face.png")}
    ]
    assert len(records) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["facebank"]


def test_refuses_to_overwrite_and_out_inside_input(bank_dir, tmp_path):
    out = tmp_path / "out"
    args = ("photos", PHOTOS / "both.jpg", "--out", out, "--bank", bank_dir, "--device", "cpu")
    assert run_cli(*args)[0] == 0
    before = (out / "both.jpg").read_bytes()
    (out / "faces.csv").write_text("mine")
    code, _, stderr = run_cli(*args)
    assert code == 2 and "already exist" in stderr and "--overwrite" in stderr
    assert (out / "faces.csv").read_text() == "mine" and (out / "both.jpg").read_bytes() == before
    assert run_cli(*args, "--overwrite")[0] == 0
    assert read_table(out / "faces.csv")[0]["label"] == "Eileen Collins"

    folder = tmp_path / "photos"
    shutil.copytree(PHOTOS, folder)
    for target in (folder, folder / "out"):
        code, _, stderr = run_cli("photos", folder, "--out", target, "--bank", bank_dir, "--device", "cpu")
        assert code == 2 and "inside the input folder" in stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in PHOTOS.iterdir())


def test_same_person_twice_is_named_once(bank_dir, tmp_path):
    astronaut = Image.open(ROOT / "samples" / "astronaut.png").convert("RGB")
    twice = Image.new("RGB", (1024, 512))
    twice.paste(astronaut, (0, 0))
    twice.paste(astronaut.resize((460, 460)), (540, 30))
    twice.save(tmp_path / "twice.png")
    out = tmp_path / "out"
    assert run_cli("photos", tmp_path / "twice.png", "--out", out, "--bank", bank_dir, "--device", "cpu")[0] == 0
    labels = sorted(r["label"] for r in read_table(out / "faces.csv"))
    assert labels == ["Eileen Collins", "Unknown"]


def test_missing_input_and_bad_options(bank_dir, tmp_path):
    code, _, stderr = run_cli("photos", tmp_path / "nope", "--out", tmp_path / "o", "--bank", bank_dir)
    assert code == 2 and "no such file or folder" in stderr
    code, _, stderr = run_cli("photos", PHOTOS, "--out", tmp_path / "o", "--bank", tmp_path / "nobank")
    assert code == 2 and f"error: face bank {tmp_path / 'nobank'} not found" in stderr and "Traceback" not in stderr
    code, _, stderr = run_cli("photos", PHOTOS, "--out", tmp_path / "o", "--bank", bank_dir, "--device", "cuda:7")
    assert code == 2 and "device" in stderr
    code, _, stderr = run_cli(
        "photos", PHOTOS, "--out", tmp_path / "o", "--bank", bank_dir, "--device", "cpu", "--precision", "fp16"
    )
    assert code == 2 and "fp16 runs only on CUDA" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_align_writes_crops(tmp_path):
    out = tmp_path / "crops"
    code, stdout, _ = run_cli("align", PHOTOS, "--out", out, "--device", "cpu")
    assert code == 0, stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["both_0.png", "both_1.png", "both_exif6_0.png", "both_exif6_1.png", "grace_hopper_gray_0.png"]
    with Image.open(out / "both_0.png") as crop:
        assert crop.size == (112, 112)
