"""MTCNN detector: parity with facenet-pytorch 2.5.3 (fixture), batching, and edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import ROOT, load_source, pixel_sha256, read_rgb

from annotate.detection.detect import FaceDetector
from annotate.errors import InputError
from annotate.faces import Faces

REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "mtcnn_reference.json").read_text())
CASES = [(c["min_face"], image) for c in REFERENCE["configs"] for image in c["images"]]


@pytest.fixture(scope="module")
def detectors() -> dict[int, FaceDetector]:
    return {
        c["min_face"]: FaceDetector("cpu", c["min_face"], c["thresholds"], c["factor"]) for c in REFERENCE["configs"]
    }


def assert_matches_reference(faces: Faces, ref: dict) -> None:
    """Same number of faces; each reference face has one of ours within 1 px and 1e-3 in score."""
    ref_boxes = np.array(ref["boxes"], dtype=np.float64).reshape(-1, 4)
    assert len(faces) == len(ref_boxes), f"{len(faces)} faces, reference has {len(ref_boxes)}"
    for box, score, marks in zip(ref_boxes, ref["scores"], np.array(ref["landmarks"]).reshape(-1, 5, 2)):
        i = int(np.argmin(np.abs(faces.boxes - box).max(axis=1)))
        assert np.abs(faces.boxes[i] - box).max() <= 1.0, (faces.boxes[i], box)
        assert abs(faces.scores[i] - score) <= 1e-3
        assert np.abs(faces.landmarks[i] - marks).max() <= 1.0


@pytest.mark.parametrize("min_face,ref", CASES, ids=[f"{m}-{r['id']}" for m, r in CASES])
def test_parity_with_facenet_pytorch(detectors, min_face, ref):
    image = load_source(ref["source"])
    if pixel_sha256(image) != ref["sha256"]:
        if ref["source"].startswith("samples/"):
            pytest.fail(f"{ref['source']} decodes to other pixels than when the fixture was made")
        pytest.skip(f"this PyAV/Pillow build decodes {ref['source']} to other pixels than the fixture's build")
    (faces,) = detectors[min_face].detect(image)
    assert_matches_reference(faces, ref)
    assert np.all(np.diff(faces.scores) <= 0), "faces are sorted by descending score"


@pytest.mark.parametrize("batch", REFERENCE["batches"], ids=lambda b: f"batch-{len(b['image_ids'])}")
def test_batch_parity(detectors, batch):
    sources = {r["id"]: r["source"] for c in REFERENCE["configs"] for r in c["images"]}
    images = np.stack([load_source(sources[i]) for i in batch["image_ids"]])
    results = detectors[batch["min_face"]].detect(images)
    assert len(results) == len(images)
    for faces, ref in zip(results, batch["results"]):
        assert_matches_reference(faces, ref)


def test_mixed_sizes_keep_input_order(detector):
    astronaut, hopper = read_rgb(ROOT / "samples/astronaut.png"), read_rgb(ROOT / "samples/grace_hopper.jpg")
    assert astronaut.shape != hopper.shape
    batch = detector.detect([astronaut, hopper, astronaut])
    singles = [detector.detect(image)[0] for image in (astronaut, hopper, astronaut)]
    for got, want in zip(batch, singles):
        np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-3)
        np.testing.assert_allclose(got.landmarks, want.landmarks, atol=1e-3)
    # the astronaut's face: left eye left of the right eye, both above the nose and mouth
    marks = batch[0].landmarks[0]
    assert marks[0, 0] < marks[1, 0] and marks[:2, 1].max() < marks[2, 1] < marks[3:, 1].min()


def test_summed_area_table_is_exact_and_reuse_leaves_nothing_behind(detector, monkeypatch):
    from annotate.detection import resample
    from annotate.detection.resample import integral

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    expected = np.zeros((2, 38, 54, 3), np.int64)
    expected[:, 1:, 1:] = images.astype(np.int64).cumsum(1).cumsum(2)
    assert np.array_equal(integral(torch.from_numpy(images)).numpy(), expected)
    for rows in (1, 5, 36):  # bands of that many rows on the CPU, the last one shorter
        monkeypatch.setattr(resample, "_BAND_BYTES", rows * 2 * 53 * 3 * 4)
        assert np.array_equal(integral(torch.from_numpy(images)).numpy(), expected)
    monkeypatch.undo()
    scratch = torch.full((2, 38, 54, 3), 7, dtype=torch.int32)  # stale sums inside
    scratch[:, 0], scratch[:, :, 0] = 0, 0
    assert np.array_equal(integral(torch.from_numpy(images), scratch).numpy(), expected)
    # the detector keeps its table between calls: a second image of the same size must give
    # what a fresh detector gives, bit for bit
    astronaut = read_rgb(ROOT / "samples/astronaut.png")
    other = np.ascontiguousarray(astronaut[:, ::-1])  # mirrored: same size, other pixels
    detector.detect(astronaut)
    (again,) = detector.detect(other)
    (fresh,) = FaceDetector("cpu").detect(other)
    assert len(fresh) > 0
    assert np.array_equal(again.boxes, fresh.boxes) and np.array_equal(again.scores, fresh.scores)


def test_no_face_gives_empty_faces(detector):
    blank = np.full((240, 320, 3), 128, np.uint8)
    (faces,) = detector.detect(blank)
    assert len(faces) == 0 and faces.boxes.shape == (0, 4) and faces.landmarks.shape == (0, 5, 2)
    (tiny,) = detector.detect(np.zeros((8, 8, 3), np.uint8))
    assert len(tiny) == 0


def test_min_face_filters_small_faces(detector):
    image = read_rgb(ROOT / "samples/astronaut.png")
    (big,) = detector.detect(image)
    assert len(big) == 1 and 80 < big.widths[0] < 100
    (none,) = FaceDetector("cpu", min_face=400).detect(image)
    assert len(none) == 0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8), np.zeros((64, 64, 3), np.float32), "image.jpg"],
    ids=["gray", "rgba", "float", "str"],
)
def test_bad_input_raises_input_error(detector, bad):
    with pytest.raises(InputError):
        detector.detect([bad])


def test_bad_settings_raise_input_error():
    with pytest.raises(InputError):
        FaceDetector("cpu", min_face=5)
    with pytest.raises(InputError):
        FaceDetector("cpu", thresholds=(0.6, 0.7))
    with pytest.raises(InputError):
        FaceDetector("tpu")


def test_largest_compares_the_area_inside_the_image():
    # a face cut by the left border has the larger box, but less of it is in the picture
    faces = Faces(np.array([[-150.0, 10, 50, 210], [100, 20, 250, 170]]), np.array([0.99, 0.98]), np.zeros((2, 5, 2)))
    assert faces.largest().boxes[0, 0] == -150  # raw box area: 200x200 against 150x150
    np.testing.assert_array_equal(faces.largest((300, 300)).boxes[0], [100, 20, 250, 170])
    assert len(Faces.empty().largest((300, 300))) == 0


def test_pnet_windows_divide_exactly_as_numpy_float32(detector):
    # floor((2*cell + 12) / scale) must not depend on how the device divides: a multiply by
    # the reciprocal rounded to float32 (what CUDA does for a Python-float divisor) floors some
    # whole-number quotients one pixel low, and then the cascade keeps other candidates
    from annotate.detection.detect import cell_boxes

    cells = np.stack(np.meshgrid(np.arange(960), np.arange(3)), -1).reshape(-1, 2).astype(np.float32)
    reciprocal_differs = 0
    for scale in detector._scales(1080, 1920):
        q1, q2 = cell_boxes(torch.from_numpy(cells), scale)
        np.testing.assert_array_equal(q1.numpy(), np.floor((2 * cells + 1) / np.float32(scale)))
        np.testing.assert_array_equal(q2.numpy(), np.floor((2 * cells + 12) / np.float32(scale)))
        reciprocal = np.floor((2 * cells + 12) * np.float32(1 / scale))
        reciprocal_differs += int((reciprocal != q2.numpy()).sum())
    assert reciprocal_differs > 0  # the check would catch a multiply by the reciprocal


def test_running_out_of_gpu_memory_halves_the_batch_and_finds_the_same_faces(detector):
    # a detector that behaves as on CUDA, where more than two frames at once do not fit
    from clips import Scene, compose, portraits

    from annotate.errors import DeviceError

    people = portraits()
    frames = [compose(t, Scene(), people) for t in (0.2, 0.6, 1.1, 1.5, 2.4)]
    expected = detector.detect(frames)
    tried: list[int] = []

    def small_gpu(images):
        tried.append(len(images))
        if len(images) > limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return detector._detect_same_size(images)

    gpu_like = FaceDetector("cpu")
    gpu_like.device = torch.device("cuda")
    gpu_like._detect_same_size = small_gpu
    limit = 2
    for _ in range(2):
        found = gpu_like.detect(frames)
        assert [len(f) for f in found] == [len(f) for f in expected]
        for a, b in zip(found, expected):
            # not bit for bit: a smaller batch changes how R-Net and O-Net group the candidates,
            # hence the float summation order (and, on CPUs with AVX-512/AMX, which oneDNN
            # kernel runs), which moves boxes by ~1.5e-5 px
            np.testing.assert_allclose(a.boxes, b.boxes, rtol=0, atol=1e-3)
            np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=1e-5)
    assert tried == [5, 2, 2, 1, 2, 2, 1]  # the second call (the last three) starts at the size that fitted
    limit = 0
    with pytest.raises(
        DeviceError, match=r"ran out of memory detecting faces in one 640x360 image, even alone"
    ) as caught:
        gpu_like.detect(frames[:1])
    from annotate.cli import advice

    assert advice(caught.value) == "run on the CPU with --device cpu"  # the command line words the way out
