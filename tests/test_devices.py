"""The GPU path against the CPU path on the same frames: boxes within 1 px, the same timeline.

Each test runs on every accelerator torch can see and skips, saying so, on a machine without
one (such as CI); the last test here runs everywhere. The CPU-only counterparts, which compare
each optimised path with its plain one, are in test_video.py (batched against one frame at a
time, sampled decoding against decoding every picture), test_detect.py (the reused
summed-area table; P-Net's windows against numpy's division), test_draw.py (painting regions
against the whole image) and test_threads.py (the GIL switch interval).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from clips import Scene, compose, make_clip, portraits
from conftest import SHARED, run_cli, video_frames

NO_GPU = "no CUDA device: the GPU path is compared with the CPU path only where torch sees one"
DEVICES = [pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU))]


def frames_to_compare() -> list[np.ndarray]:
    """Generated 640x360 frames, plus 1080p frames of ../shared's video when it is there."""
    people = portraits()
    frames = [compose(t, Scene(length=4.0), people) for t in (0.0, 0.5, 1.2, 1.9, 2.5)]
    video = SHARED / "video" / "video.mp4"
    if video.exists():
        frames += [video_frames(video)[i] for i in (0, 33, 66, 99, 104)]
    return frames


def paired(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    """Pair two frames' (N,4) boxes greedily by smallest corner distance."""
    cost = np.abs(a[:, None, :] - b[None, :, :]).max(-1)
    pairs = []
    while cost.size and np.isfinite(cost).any():
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        pairs.append((int(i), int(j)))
        cost[i, :], cost[:, j] = np.inf, np.inf
    return pairs


@pytest.mark.parametrize("device", DEVICES)
def test_detector_on_the_gpu_finds_the_cpu_faces_within_a_pixel(detector, device):
    # On an H100, before detect.cell_boxes divided by a device tensor, 21 of 274 faces of the
    # 1080p video moved by 1-4 px; CUDA's division, emulated on the CPU, gives exactly those
    # boxes (benchmarks/emulate_cuda_division.py). This test in this form has not yet run on a GPU.
    from annotate.detection.detect import FaceDetector

    frames = frames_to_compare()
    on_cpu = detector.detect(frames)
    gpu = FaceDetector(device, min_face=detector.min_face)
    # the whole batch at once, as video does on the GPU, and one frame alone
    on_gpu = gpu.detect(frames)
    assert [len(f) for f in gpu.detect(frames[:1])] == [len(on_cpu[0])]
    assert sum(map(len, on_cpu)) >= len(frames)
    for cpu_faces, gpu_faces in zip(on_cpu, on_gpu):
        assert len(cpu_faces) == len(gpu_faces)
        pairs = paired(cpu_faces.boxes, gpu_faces.boxes)
        assert len(pairs) == len(cpu_faces)
        for i, j in pairs:
            assert np.abs(cpu_faces.boxes[i] - gpu_faces.boxes[j]).max() <= 1.0
            assert np.abs(cpu_faces.landmarks[i] - gpu_faces.landmarks[j]).max() <= 1.0
            assert abs(cpu_faces.scores[i] - gpu_faces.scores[j]) <= 1e-3


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_embedder_on_the_gpu_matches_the_cpu(embedder, detector, device, precision):
    from annotate.recognition.align import align_faces
    from annotate.recognition.embed import Embedder

    images = list(portraits())
    crops = align_faces(images, detector.detect(images))
    assert len(crops) == 2
    cpu = embedder.embed(crops)
    gpu = Embedder(device=device, precision=precision).embed(crops)
    cosine = (cpu * gpu).sum(1)
    assert cosine.min() >= (0.99999 if precision == "fp32" else 0.999), cosine  # fp32: true fp32 (exact_fp32), not TF32
    assert abs(float(cpu[0] @ cpu[1]) - float(gpu[0] @ gpu[1])) < 2e-3


def timeline_and_faces(bank, clip, tmp_path, *args):
    who, per_frame = tmp_path / "who.csv", tmp_path / "faces.jsonl"
    code, _, stderr = run_cli(
        "video", clip, "--no-render", "--csv", who, "--detections", per_frame, "--bank", bank, "--overwrite", *args
    )
    assert code == 0, stderr
    with open(who, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows, [json.loads(line) for line in per_frame.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_video_on_the_gpu_gives_the_cpu_timeline(bank_dir, tmp_path, device, precision):
    clip = tmp_path / "scene.mp4"
    make_clip(clip)
    assert run_cli("bank", "build", bank_dir, "--device", "cpu")[0] == 0
    # the CPU's exact path: the GPU embeds every face, the CPU by default reuses some
    rows_cpu, frames_cpu = timeline_and_faces(bank_dir, clip, tmp_path, "--device", "cpu", "--exact")
    rows_gpu, frames_gpu = timeline_and_faces(bank_dir, clip, tmp_path, "--device", device, "--precision", precision)
    exact = ("label", "track", "start", "end", "start_frame", "end_frame", "frames")
    assert [[r[k] for k in exact] for r in rows_cpu] == [[r[k] for k in exact] for r in rows_gpu]
    assert {r["label"] for r in rows_cpu} == {"Eileen Collins", "Grace Hopper"}
    for a, b in zip(rows_cpu, rows_gpu):
        assert abs(float(a["mean_similarity"]) - float(b["mean_similarity"])) < 1e-3
    assert len(frames_cpu) == len(frames_gpu)
    for f1, f2 in zip(frames_cpu, frames_gpu):
        assert len(f1["faces"]) == len(f2["faces"])
        for a, b in zip(f1["faces"], f2["faces"]):
            assert a["label"] == b["label"] and a["track"] == b["track"]
            assert np.abs(np.subtract(a["box"], b["box"])).max() <= 1.0


@pytest.mark.parametrize("device", DEVICES)
def test_detector_reusing_its_upload_buffer_gives_the_same_faces(detector, device):
    # batches of 3, 3 and 2 frames go through one pinned buffer; each must see its own frames
    from annotate.detection.detect import FaceDetector

    frames = frames_to_compare()[:8]
    gpu = FaceDetector(device, min_face=detector.min_face)
    whole = gpu.detect(frames)
    parts = gpu.detect(frames[:3]) + gpu.detect(frames[3:6]) + gpu.detect(frames[6:])
    for a, b in zip(whole, parts):
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_pnet_windows_on_the_gpu_are_the_cpu_windows(detector, device):
    # CUDA multiplies by the reciprocal when dividing by a Python float; cell_boxes must not
    from annotate.detection.detect import cell_boxes

    cells = torch.stack(torch.meshgrid(torch.arange(960.0), torch.arange(3.0), indexing="xy"), -1).reshape(-1, 2)
    for scale in detector._scales(1080, 1920):
        on_cpu = cell_boxes(cells, scale)
        on_gpu = cell_boxes(cells.to(device), scale)
        for a, b in zip(on_cpu, on_gpu):
            assert torch.equal(a, b.cpu())


def test_exact_fp32_turns_tf32_off_and_back_and_respects_the_newer_settings():
    # runs on any build: the flags exist without a GPU
    from annotate.runtime.devices import exact_fp32

    cudnn = torch.backends.cudnn
    before = cudnn.allow_tf32
    with exact_fp32(torch.device("cuda")):
        assert cudnn.allow_tf32 is False
    assert cudnn.allow_tf32 == before
    with exact_fp32(torch.device("cpu")):
        assert cudnn.allow_tf32 == before
    if not hasattr(cudnn, "conv"):  # torch before 2.9 has only the legacy flags, checked above
        return
    saved = cudnn.conv.fp32_precision
    try:
        cudnn.conv.fp32_precision = "ieee"  # the newer API: torch refuses to mix it with allow_tf32
        with exact_fp32(torch.device("cuda")):
            assert cudnn.conv.fp32_precision == "ieee"
    finally:
        cudnn.conv.fp32_precision = saved
