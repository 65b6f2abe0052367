"""The evaluation protocol on synthetic cases with known answers, and the commands on a few LFW images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_shared, run_cli

from annotate.config import Config
from annotate.errors import AnnotateError, InputError
from annotate.evaluate.images import (
    LFW_LANDMARKS,
    EmbeddingCache,
    ImageEmbedder,
    fallback_face,
    nearest_centre,
)
from annotate.evaluate.protocol import (
    OpenSet,
    accuracy,
    best_threshold,
    kfold_accuracy,
    read_pairs,
    roc_auc,
    roc_curve,
    tar_at_far,
    threshold_at_far,
)
from annotate.faces import Faces


def write_pairs(path: Path, folds: int, per: int) -> Path:
    lines = [f"{folds}\t{per}"]
    for k in range(folds):
        lines += [f"Same_{k}_{i}\t{i + 1}\t{i + 2}" for i in range(per)]
        lines += [f"A_{k}_{i}\t1\tB_{k}_{i}\t{i + 3}" for i in range(per)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_pairs_splits_folds(tmp_path):
    pairs = read_pairs(write_pairs(tmp_path / "pairs.txt", folds=3, per=2))
    assert len(pairs) == 12 and pairs.n_folds == 3
    assert pairs.folds.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert pairs.same.tolist() == [True, True, False, False] * 3
    assert pairs.first[0] == "Same_0_0/Same_0_0_0001.jpg" and pairs.second[0] == "Same_0_0/Same_0_0_0002.jpg"
    assert pairs.first[6] == "A_1_0/A_1_0_0001.jpg" and pairs.second[7] == "B_1_1/B_1_1_0004.jpg"


@pytest.mark.parametrize(
    "text, message",
    [
        ("10 300\nA 1 2\n", "there are 1"),
        ("x\n", "first line"),
        ("1 1\nA 1\nA 1 B 2\n", ":2: expected a matched"),
        ("1 1\nA 1 2\nA 1 B\n", ":3: expected a mismatched"),
    ],
)
def test_read_pairs_rejects_bad_files(tmp_path, text, message):
    (tmp_path / "p.txt").write_text(text)
    with pytest.raises(InputError, match=message):
        read_pairs(tmp_path / "p.txt")


def brute_best_accuracy(scores: np.ndarray, same: np.ndarray) -> float:
    cuts = np.r_[-np.inf, np.unique(scores), np.inf]
    return max(float(np.mean((scores >= t) == same)) for t in cuts)


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(20):
        same = rng.random(60) < 0.5
        scores = np.round(rng.normal(same * 0.6, 0.3), 1)  # many ties
        t = best_threshold(scores, same)
        assert accuracy(scores, same, t) == pytest.approx(brute_best_accuracy(scores, same))
    assert best_threshold(np.array([0.1, 0.2, 0.7, 0.9]), np.array([0, 0, 1, 1], bool)) == pytest.approx(0.45)


def test_kfold_threshold_comes_from_the_other_folds():
    folds = np.repeat(np.arange(4), 10)
    same = np.tile(np.r_[np.ones(5, bool), np.zeros(5, bool)], 4)
    scores = np.where(same, np.linspace(0.6, 0.9, 40), np.linspace(0.0, 0.3, 40))
    scores[0] = 0.1  # one same-person pair of fold 0 looks like different people
    result = kfold_accuracy(scores, same, folds)
    assert result.accuracies.tolist() == [0.9, 1.0, 1.0, 1.0]
    assert result.mean == pytest.approx(0.975) and result.std == pytest.approx(np.std([0.9, 1, 1, 1]))
    assert np.all((result.thresholds > scores[~same].max()) & (result.thresholds < scores[same][1:].min()))
    # fold 3's different-person pairs score 0.5: its own best threshold would split them off,
    # but the threshold from the other folds (midway between 0.3 and their lowest same pair) does not
    scores[(folds == 3) & ~same] = 0.5
    result = kfold_accuracy(scores, same, folds)
    assert result.accuracies[3] == 0.5 and result.thresholds[3] < 0.5


def test_tar_at_far_matches_brute_force():
    imp = np.arange(1000) / 1000
    assert threshold_at_far(imp, 1e-2) == pytest.approx(0.989) and np.sum(imp >= threshold_at_far(imp, 1e-2)) == 10
    rng = np.random.default_rng(2)
    same = rng.random(2000) < 0.5
    scores = np.round(rng.normal(same * 1.5, 0.5), 2)
    folds = np.repeat(np.arange(5), 400)
    for far in (1e-3, 1e-2, 0.1):
        result = tar_at_far(scores, same, folds, far)
        for k in range(5):
            train_imp, test = scores[(folds != k) & ~same], folds == k
            ok = [t for t in np.r_[np.unique(scores), np.inf] if np.mean(train_imp >= t) <= far]
            t = min(ok)
            assert result.tars[k] == pytest.approx(np.mean(scores[test & same] >= t))
            assert result.fars[k] == pytest.approx(np.mean(scores[test & ~same] >= t))


def test_roc_auc_matches_brute_force():
    rng = np.random.default_rng(3)
    same = rng.random(300) < 0.4
    scores = np.round(rng.normal(same * 0.8, 0.5), 1)
    pos, neg = scores[same], scores[~same]
    brute = np.mean((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None]))
    assert roc_auc(scores, same) == pytest.approx(brute)
    far, tar, _ = roc_curve(scores, same)
    assert (far[0], tar[0], far[-1], tar[-1]) == (0, 0, 1, 1)
    assert np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2) == pytest.approx(brute)  # trapezoids


def test_open_set_rates_match_brute_force():
    rng = np.random.default_rng(4)
    known = rng.uniform(-0.2, 1, (200, 30))
    truth = rng.integers(-1, 30, 200)
    distractors = rng.uniform(-0.2, 0.8, (500, 30))
    o = OpenSet.from_similarities(known, truth, distractors)
    right = (known.argmax(1) == truth) & (truth >= 0)
    assert o.rank1 == pytest.approx(right.mean())
    for far in (1e-2, 1e-3):
        dir_, t = o.dir_at_far(far)
        top_d = distractors.max(1)
        assert np.mean(top_d >= t) <= far and np.mean(top_d >= np.nextafter(t, -1)) > far  # the lowest such threshold
        assert dir_ == pytest.approx(np.mean(right & (known.max(1) >= t)))
    assert o.rejected(0.5) + o.misnamed(0.5) + round(o.dir(0.5) * 200) == 200


def test_nearest_centre_and_fallback():
    boxes = np.array([[0, 0, 60, 60], [100, 90, 160, 150], [180, 180, 250, 250]], np.float32)
    faces = Faces(boxes, np.array([0.99, 0.9, 0.95]), np.zeros((3, 5, 2)))
    assert nearest_centre(faces, 250, 250).boxes.tolist() == [boxes[1].tolist()]
    assert len(nearest_centre(Faces.empty(), 250, 250)) == 0
    np.testing.assert_allclose(fallback_face(250, 250).landmarks[0], LFW_LANDMARKS, atol=1e-4)
    np.testing.assert_allclose(fallback_face(500, 700).landmarks[0], (LFW_LANDMARKS - 125) * 2 + [350, 250], atol=1e-3)


class FakeRecognizer:
    """Detector that finds a face only in bright images; embedder whose vector is one-hot at
    the crop's mean grey level, so each image's embedding says which pixels it was made from."""

    config = Config(device="cpu")  # threads None: the embedder leaves torch's threads as they are

    class detector:  # noqa: N801  (an attribute of the fake, named as Recognizer's)
        device, min_face = "cpu", 50

        @staticmethod
        def detect(images):
            face = Faces(np.array([[90, 90, 160, 160]]), np.ones(1), LFW_LANDMARKS[None])
            return [face if image.mean() > 100 else Faces.empty() for image in images]

    class embedder:  # noqa: N801
        embedding_size = 512
        calls = 0

        @classmethod
        def embed(cls, crops, flip=False):
            cls.calls += len(crops)
            levels = np.asarray(crops, np.float32).mean(axis=(1, 2, 3)).round().astype(int) % 512
            return np.eye(512, dtype=np.float32)[levels]


def test_image_embedder_caches_by_content(tmp_path):
    from PIL import Image

    paths = []
    for i, level in enumerate([200, 200, 20]):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.full((250, 250, 3), level, np.uint8)).save(paths[-1])
    cache = tmp_path / "cache.npz"
    FakeRecognizer.embedder.calls = 0
    first = ImageEmbedder(FakeRecognizer, cache, batch=2).embed_paths(paths)
    assert first.computed == 2 and first.faces.tolist() == [1, 1, 0] and first.no_face == 1
    # each row is its own image's: the two bright copies share one, the dark one (centre crop) differs
    assert first.embeddings.argmax(axis=1).tolist() == [200, 200, 20]
    assert FakeRecognizer.embedder.calls == 2 and cache.is_file()
    again = ImageEmbedder(FakeRecognizer, cache).embed_paths(paths)
    assert again.computed == 0 and FakeRecognizer.embedder.calls == 2
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    assert len(EmbeddingCache(cache, 512)) == 2 and len(EmbeddingCache(cache, 128)) == 0
    # a later run with a new image grows the cache file in place (it is the cache's own file)
    paths.append(tmp_path / "3.png")
    Image.fromarray(np.full((250, 250, 3), 90, np.uint8)).save(paths[-1])
    grown = ImageEmbedder(FakeRecognizer, cache).embed_paths(paths)
    assert grown.computed == 1 and len(EmbeddingCache(cache, 512)) == 3


def test_plot_needs_matplotlib(tmp_path, monkeypatch):
    import sys

    from annotate.evaluate.plot import plot_lfw

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(AnnotateError, match="plotting needs matplotlib, which is not installed") as caught:
        plot_lfw(tmp_path / "roc.png", np.array([0.1, 0.9]), np.array([False, True]), 0.5, "t")
    from annotate.cli import advice

    assert advice(caught.value) == "pip install 'annotate[plot]'"


def test_lfw_smoke_20_pairs(tmp_path, monkeypatch):
    root = needs_shared("lfw")
    lines = (root / "pairs.txt").read_text().splitlines()
    # 2 folds of 5 matched + 5 mismatched pairs, from the first two folds of the real file
    body = lines[1:6] + lines[301:306] + lines[601:606] + lines[901:906]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2 5\n" + "\n".join(body) + "\n")
    monkeypatch.setenv("ANNOTATE_CACHE", str(tmp_path / "cache"))
    args = ["evaluate", "lfw", "--images", root / "lfw-deepfunneled", "--pairs", pairs, "--device", "cpu", "--json"]
    try:
        import matplotlib  # noqa: F401  (the optional [plot] extra; [dev] installs it)
    except ImportError:
        code, out, err = run_cli(*args, "--plot", tmp_path / "roc.png")
        assert code == 2 and "pip install 'annotate[plot]'" in err and "embedding" not in err, "refused before any work"
        pytest.skip("matplotlib is not installed: the ROC plot is untested")
    code, out, err = run_cli(*args, "--plot", tmp_path / "roc.png")
    assert code == 0, err
    numbers = json.loads(out)
    assert numbers["pairs"] == 20 and numbers["folds"] == 2 and numbers["images"] == numbers["images_embedded_now"] > 30
    assert numbers["accuracy_mean"] >= 0.9 and numbers["roc_auc"] >= 0.95
    assert set(numbers["tar_at_far"]) == {"0.001", "0.01"}
    assert (tmp_path / "roc.png").stat().st_size > 1000
    assert len(list((tmp_path / "cache" / "embeddings").glob("*.npz"))) == 1
    code, out, err = run_cli(*args[:-1])  # the table, from the cache
    assert code == 0, err
    assert "accuracy" in out and "ROC AUC" in out and "embedded 0 image(s)" in out


def test_split_tree_is_seeded_and_disjoint(tmp_path):
    from annotate.evaluate.runs import split_tree

    for name, count in (("A", 5), ("B", 4), ("C", 3), ("D", 1), ("E", 1)):
        (tmp_path / name).mkdir()
        for i in range(count):
            (tmp_path / name / f"{name}_{i:04d}.jpg").write_bytes(b"x")
    split = split_tree(tmp_path, seed=0)
    assert sorted(split.bank) == ["A", "B"] and all(len(v) == 2 for v in split.bank.values())
    assert len(split.known) == 5 and [p.name for p in split.distractors] == ["D_0000.jpg", "E_0000.jpg"]
    assert not {p for v in split.bank.values() for p in v} & {p for p, _ in split.known}
    assert split_tree(tmp_path, seed=0) == split
    assert any(split_tree(tmp_path, seed=s).bank != split.bank for s in range(1, 10))


def test_identify_smoke(tmp_path, monkeypatch):
    root = needs_shared("lfw", "lfw-deepfunneled")
    tree = tmp_path / "people"
    for name, count in (("Colin_Powell", 4), ("Tony_Blair", 4), ("Aaron_Eckhart", 1), ("AJ_Cook", 1)):
        (tree / name).mkdir(parents=True)
        for i in range(1, count + 1):
            (tree / name / f"{name}_{i:04d}.jpg").symlink_to(root / name / f"{name}_{i:04d}.jpg")
    monkeypatch.setenv("ANNOTATE_CACHE", str(tmp_path / "cache"))
    code, out, err = run_cli("evaluate", "identify", "--images", tree, "--device", "cpu", "--json")
    assert code == 0, err
    numbers = json.loads(out)
    assert (numbers["gallery_people"], numbers["gallery_images"], numbers["known_probes"], numbers["distractors"]) == (
        2,
        4,
        4,
        2,
    )
    assert numbers["rank1"] == 1.0 and numbers["far_at_threshold"] == 0.0
    assert numbers["dir_at_far"]["0.01"]["dir"] == 1.0  # 2 distractors: FAR 1% accepts none
