"""Face bank: build, incremental rebuild, quality checks, model mismatch, CLI."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
from conftest import ROOT, run_cli
from PIL import Image

from annotate.errors import BankError, BankFileError, BankModelError
from annotate.recognition.bank import BANK_FILE, FaceBank, build
from annotate.recognition.bank_quality import quality_problems
from annotate.recognition.loading import load_bank, open_bank
from annotate.recognition.recognizer import Recognizer


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(device="cpu")


class CountingEmbed:
    """Wraps Recognizer.embed_files and records which files it was asked to embed."""

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer, self.seen = recognizer, []

    def __call__(self, paths):
        self.seen += [p.name for p in paths]
        return self.recognizer.embed_files(paths)


def build_with(recognizer, root, previous=None):
    counter = CountingEmbed(recognizer)
    return build(root, counter, recognizer.model_name, recognizer.model_sha256, previous), counter


def photos_cli(bank, tmp_path, *options):
    """`annotate photos` on one sample photo with ``--bank bank``, a table only."""
    photo = ROOT / "samples" / "photos" / "grace_hopper_gray.jpg"
    return run_cli(
        "photos", photo, "--csv", tmp_path / "faces.csv", "--overwrite", "--bank", bank, "--device", "cpu", *options
    )


def test_build_makes_one_unit_vector_per_label(recognizer, bank_dir, tmp_path):
    report, counter = build_with(recognizer, bank_dir)
    bank = report.bank
    assert bank.labels == ("Eileen Collins", "Grace Hopper")
    assert bank.counts.tolist() == [3, 3] and len(counter.seen) == 6
    np.testing.assert_allclose(np.linalg.norm(bank.embeddings, axis=1), 1.0, atol=1e-5)
    mean = bank.image_embeddings[:3].mean(axis=0)
    np.testing.assert_allclose(bank.embeddings[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert bank.embeddings[0] @ bank.embeddings[1] < 0.3
    assert bank.model == "w600k_mbf" and bank.model_sha256 == recognizer.embedder.weights.sha256
    path = tmp_path / "bank.npz"
    bank.save(path)
    again = FaceBank.load(path)
    assert again.labels == bank.labels and again.image_paths == bank.image_paths
    np.testing.assert_array_equal(again.image_embeddings, bank.image_embeddings)
    assert len(again.image_sha256[0]) == 64


def test_unicode_labels_and_incremental_rebuild(recognizer, bank_dir):
    first, _ = build_with(recognizer, bank_dir)
    shutil.move(bank_dir / "Grace Hopper", bank_dir / "张伟")
    shutil.copy(ROOT / "samples" / "photos" / "grace_hopper_gray.jpg", bank_dir / "张伟" / "4.jpg")
    second, counter = build_with(recognizer, bank_dir, previous=first.bank)
    assert counter.seen == ["4.jpg"], "only the new photo is embedded; moved files are found by content"
    assert second.reused == 6 and second.embedded == ("张伟/4.jpg",)
    assert second.bank.labels == ("Eileen Collins", "张伟") and second.bank.counts.tolist() == [3, 4]
    third, counter = build_with(recognizer, bank_dir, previous=second.bank)
    assert counter.seen == [] and third.reused == 7


def test_photo_without_face_is_reported_and_skipped(recognizer, bank_dir):
    shutil.copy(ROOT / "samples" / "photos" / "no_face.png", bank_dir / "Grace Hopper" / "flag.png")
    (bank_dir / "Grace Hopper" / "broken.jpg").write_bytes(b"not a jpeg")
    report, _ = build_with(recognizer, bank_dir)
    assert report.bank.counts.tolist() == [3, 3]
    notes = "\n".join(report.notes)
    assert "Grace Hopper/flag.png: no face found; skipped" in notes
    assert "Grace Hopper/broken.jpg" in notes and "not an image" in notes
    assert "Grace Hopper/broken.jpg" not in report.embedded
    # the broken file is remembered by content: the next build neither retries it nor counts it as new
    again, counter = build_with(recognizer, bank_dir, previous=report.bank)
    assert counter.seen == [] and again.embedded == () and again.bank.counts.tolist() == [3, 3]
    assert any("broken.jpg" in note and "skipped" in note for note in again.notes)


def test_several_faces_use_the_largest_and_say_so(recognizer, bank_dir):
    shutil.copy(ROOT / "samples" / "photos" / "both.jpg", bank_dir / "Grace Hopper" / "both.jpg")
    report, _ = build_with(recognizer, bank_dir)
    assert "Grace Hopper/both.jpg: 2 faces found; used the largest" in report.notes
    row = report.bank.image_paths.index("Grace Hopper/both.jpg")
    # the largest face in both.jpg is Grace Hopper's, so it agrees with her other photos
    assert report.bank.image_embeddings[row] @ report.bank.embeddings[1] > 0.8


def test_mislabel_warning(recognizer, bank_dir):
    shutil.copy(ROOT / "facebank" / "Grace Hopper" / "1.jpg", bank_dir / "Eileen Collins" / "oops.jpg")
    report, _ = build_with(recognizer, bank_dir)
    problems = quality_problems(report.bank, recognizer.threshold)
    assert problems[0].startswith("Eileen Collins/oops.jpg: looks more like 'Grace Hopper'"), problems
    # the wrong photo also pulls Eileen Collins's mean towards Grace Hopper's (cosine ~0.33,
    # at the threshold), which may add the duplicate-label warning; nothing else may appear
    assert all(p.startswith("'Eileen Collins' and 'Grace Hopper' look like the same person") for p in problems[1:]), (
        problems
    )


def test_single_image_and_duplicate_label_warnings(recognizer, bank_dir):
    (bank_dir / "Solo").mkdir()
    shutil.copy(ROOT / "facebank" / "Eileen Collins" / "2.jpg", bank_dir / "Solo" / "1.jpg")
    report, _ = build_with(recognizer, bank_dir)
    problems = quality_problems(report.bank, recognizer.threshold)
    assert "'Solo' has only one image; add a few more for reliable matches" in problems
    assert any(p.startswith("'Eileen Collins' and 'Solo' look like the same person") for p in problems)
    assert not any("Grace Hopper" in p for p in problems)


def test_bank_of_another_model_is_refused_by_name_and_rebuilt_in_a_folder(recognizer, bank_dir, tmp_path):
    report, _ = build_with(recognizer, bank_dir)
    other = FaceBank(*[getattr(report.bank, f) for f in ("labels", "embeddings", "counts")], "w600k_r50", "ab" * 32)
    other.save(tmp_path / "other.npz")
    with pytest.raises(BankModelError, match="built with model w600k_r50"):
        load_bank(tmp_path / "other.npz", recognizer)
    code, _, err = photos_cli(tmp_path / "other.npz", tmp_path)
    assert code == 2 and "rebuild it: annotate bank build" in err and "Traceback" not in err
    # a folder's bank file is only a cache of its photos: made again, with a note, nothing written
    other.save(bank_dir / BANK_FILE)
    before = (bank_dir / BANK_FILE).read_bytes()
    loaded = open_bank(bank_dir, recognizer)
    assert loaded.report is not None and "built with model w600k_r50" in loaded.report.notes[0]
    assert loaded.bank.model == recognizer.model_name and (bank_dir / BANK_FILE).read_bytes() == before


def _damaged(good: bytes, how: str) -> bytes:
    """A bank file's bytes damaged as disks and users damage them."""
    if how == "empty":
        return b""
    if how == "text":
        return b"labels: Eileen, Grace\n"
    if how == "truncated":
        return good[: len(good) // 2]
    if how == "bit-flipped":
        middle = len(good) // 2
        return good[:middle] + bytes([good[middle] ^ 0x40]) + good[middle + 1 :]
    return b"PK\x03\x04 not a zip"


@pytest.mark.parametrize(
    "how, says",
    [
        ("empty", "is empty"),
        ("text", "not a face bank"),
        ("truncated", "damaged"),
        ("bit-flipped", "damaged"),
        ("fake-zip", "damaged"),
    ],
)
def test_a_damaged_bank_file_is_one_line_and_a_folder_rebuilds_it(recognizer, bank_dir, tmp_path, how, says):
    good = tmp_path / "good.npz"
    open_bank(bank_dir, recognizer).bank.save(good)
    (tmp_path / "bad.npz").write_bytes(_damaged(good.read_bytes(), how))
    with pytest.raises(BankFileError, match=says):
        FaceBank.load(tmp_path / "bad.npz")
    code, _, err = run_cli("bank", "list", "--bank", tmp_path / "bad.npz")
    assert code == 2 and err.startswith("error: face bank file") and len(err.strip().splitlines()) == 1, err
    assert "annotate bank build" in err
    (bank_dir / BANK_FILE).write_bytes(_damaged(good.read_bytes(), how))
    loaded = open_bank(bank_dir, recognizer)
    assert loaded.report is not None and says in loaded.report.notes[0] and len(loaded.bank) == 2
    code, _, err = run_cli("bank", "build", bank_dir)
    assert code == 0 and says in err, err
    assert FaceBank.load(bank_dir / BANK_FILE).labels == ("Eileen Collins", "Grace Hopper")


def test_a_bank_of_nan_or_wrong_sized_embeddings_is_refused_in_one_line(recognizer, bank_dir, tmp_path):
    bank = open_bank(bank_dir, recognizer).bank
    replace(bank, embeddings=np.full_like(bank.embeddings, np.nan)).save(tmp_path / "nan.npz")
    with pytest.raises(BankFileError, match="not finite unit vectors"):
        FaceBank.load(tmp_path / "nan.npz")
    code, _, err = run_cli("bank", "list", "--bank", tmp_path / "nan.npz")
    assert code == 2 and "not finite unit vectors" in err and "Traceback" not in err
    short = bank.embeddings[:, :128] / np.linalg.norm(bank.embeddings[:, :128], axis=1, keepdims=True)
    replace(bank, embeddings=short, image_embeddings=bank.image_embeddings[:, :128]).save(tmp_path / "short.npz")
    with pytest.raises(BankError, match="128-value embeddings, but w600k_mbf makes 512"):
        recognizer.check_bank(FaceBank.load(tmp_path / "short.npz"))
    code, _, err = run_cli("bank", "list", "--bank", tmp_path / "short.npz")
    assert code == 2 and "128-value embeddings, but w600k_mbf makes 512" in err and "Traceback" not in err
    code, _, err = run_cli(
        "photos", ROOT / "samples" / "photos", "--csv", tmp_path / "f.csv", "-b", tmp_path / "short.npz"
    )
    assert code == 2 and "128-value" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "f.csv").exists()


def test_a_label_whose_photos_give_no_face_is_reported_as_a_label(recognizer, bank_dir):
    (bank_dir / "Nobody").mkdir()
    Image.new("RGB", (200, 200), (90, 120, 150)).save(bank_dir / "Nobody" / "wall.jpg")
    report = open_bank(bank_dir, recognizer).report
    assert report is not None and "label 'Nobody': none of its 1 photo(s) gave a face" in "\n".join(report.notes)
    assert report.bank.labels == ("Eileen Collins", "Grace Hopper")


def test_open_bank_builds_in_memory_and_the_cli_saves_it(recognizer, bank_dir, tmp_path):
    loaded = open_bank(bank_dir, recognizer)
    assert loaded.report is not None and loaded.file == bank_dir / BANK_FILE
    assert loaded.bank.labels == ("Eileen Collins", "Grace Hopper") and len(loaded.report.embedded) == 6
    assert not (bank_dir / BANK_FILE).exists(), "open_bank writes nothing"
    code, _, err = photos_cli(bank_dir, tmp_path)
    assert code == 0, err
    assert (bank_dir / BANK_FILE).is_file(), "the command line saves the refreshed bank beside its photos"
    assert FaceBank.load(bank_dir / BANK_FILE).min_face == 50
    again = open_bank(bank_dir, recognizer)
    assert again.report is None, "an up-to-date bank is used as it is"
    assert again.bank.labels == ("Eileen Collins", "Grace Hopper")


def test_a_bank_embedded_with_another_min_face_is_embedded_again(recognizer, bank_dir):
    # the smallest face decides which faces a photo gives, so cached embeddings of another
    # --min-face are not reused
    first = open_bank(bank_dir, recognizer)
    assert first.report is not None
    first.bank.save(first.file)  # as the command line does
    before = first.file.read_bytes()
    smaller = Recognizer(device="cpu", min_face=30)
    loaded = open_bank(bank_dir, smaller)
    report = loaded.report
    assert report is not None and report.reused == 0 and len(report.embedded) == len(report.bank.image_paths) > 0
    assert report.bank.min_face == 30
    assert first.file.read_bytes() == before, "open_bank writes nothing"
    loaded.bank.save(loaded.file)
    assert FaceBank.load(bank_dir / BANK_FILE).min_face == 30
    assert open_bank(bank_dir, smaller).report is None


def test_unreadable_bank_file(tmp_path):
    (tmp_path / BANK_FILE).write_bytes(b"garbage")
    with pytest.raises(BankError, match="unreadable"):
        FaceBank.load(tmp_path / BANK_FILE)


def test_cli_build_and_list(bank_dir):
    code, out, _ = run_cli("bank", "build", bank_dir, "--device", "cpu")
    assert code == 0, out
    assert "2 label(s) from 6 photo(s); embedded 6, reused 0" in out
    code, out, _ = run_cli("bank", "list", "--bank", bank_dir)
    assert code == 0
    assert "Eileen Collins: 3 photo(s)" in out and "Grace Hopper: 3 photo(s)" in out
    assert "0 possible problem(s)" in out
    code, out, err = run_cli("bank", "list", "--bank", bank_dir / "missing")
    assert code == 2 and "not found" in err and "Traceback" not in err


def test_a_bank_file_is_used_as_it_is_and_never_emptied(recognizer, bank_dir, tmp_path):
    # `bank build FOLDER -o elsewhere/team.npz`, then `--bank elsewhere/team.npz`: the folder
    # beside the file has no label folders, and the file must not be rebuilt from it
    file = tmp_path / "elsewhere" / "team.npz"
    code, _, err = run_cli("bank", "build", bank_dir, "-o", file, "--device", "cpu")
    assert code == 0, err
    before = file.read_bytes()
    loaded = open_bank(file, recognizer)
    assert loaded.report is None and loaded.file == file
    assert list(loaded.bank.labels) == ["Eileen Collins", "Grace Hopper"]
    assert file.read_bytes() == before
    with pytest.raises(BankError, match=r"face bank file .*missing\.npz not found"):
        load_bank(tmp_path / "missing.npz", recognizer)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BankError, match="no faces found"):
        load_bank(empty, recognizer)
    assert not (empty / "facebank.npz").exists()
