"""Alignment: Umeyama fit, exact warp geometry (pixel centres), and real faces."""

from __future__ import annotations

import numpy as np
import torch
from conftest import ROOT, needs_shared, read_rgb
from PIL import Image

from annotate.detection.detect import FaceDetector
from annotate.faces import Faces
from annotate.recognition.align import ARCFACE_TEMPLATE, align_faces, estimate_similarity, warp


def similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_known_transform_is_recovered_exactly():
    truth = similarity(2.5, 0.4, 130.0, -20.0)  # template -> image
    landmarks = apply(truth, ARCFACE_TEMPLATE.astype(np.float64))
    fitted = estimate_similarity(landmarks)  # image -> template: the inverse of truth
    np.testing.assert_allclose(fitted @ np.vstack([truth, [0, 0, 1]]), np.eye(3)[:2], atol=1e-9)
    batch = estimate_similarity(np.stack([landmarks, landmarks + 5]))
    assert batch.shape == (2, 2, 3)
    np.testing.assert_allclose(batch[1][:, 2], fitted[:, 2] - fitted[:, :2] @ [5, 5], atol=1e-9)


def test_reflection_is_not_used():
    mirrored = ARCFACE_TEMPLATE * [-1, 1]  # a mirror image cannot be reached by a similarity
    fitted = estimate_similarity(mirrored)
    assert np.linalg.det(fitted[:, :2]) > 0


def coordinate_map(h: int, w: int) -> torch.Tensor:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return torch.from_numpy(np.stack([xs, ys], axis=-1))[None]


def test_crop_pixel_shows_inverse_mapped_source_point():
    """Pixel (u, v) of the crop samples the source at M^-1 (u, v), pixel centres at integers."""
    matrix = estimate_similarity(apply(similarity(1.7, -0.3, 200.0, 150.0), ARCFACE_TEMPLATE.astype(np.float64)))
    crops = warp(coordinate_map(480, 640), torch.tensor([0]), matrix[None])
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    for u, v in [(0, 0), (38, 52), (74, 51), (56, 72), (111, 111), (5, 100)]:
        np.testing.assert_allclose(crops[0, :, v, u].numpy(), apply(inverse, np.array([u, v])), atol=2e-3)


def test_faces_of_a_batch_come_from_their_own_image():
    canvas = np.zeros((2, 200, 300, 3), np.uint8)
    canvas[0, ..., 0] = 255  # image 0 red, image 1 blue
    canvas[1, ..., 2] = 255
    marks = apply(similarity(1.0, 0.0, 90.0, 40.0), ARCFACE_TEMPLATE.astype(np.float64))
    faces = [Faces([[90, 40, 202, 152]], [1.0], marks[None]) for _ in range(2)]
    crops = align_faces(list(canvas), faces)
    assert crops.shape == (2, 3, 112, 112)
    assert torch.all(crops[0, 0] > 254.9) and torch.all(crops[0, 2] < 0.1)
    assert torch.all(crops[1, 2] > 254.9) and torch.all(crops[1, 0] < 0.1)


def test_outside_the_image_is_black_not_the_next_image():
    canvas = np.full((2, 100, 100, 3), 200, np.uint8)
    marks = apply(similarity(1.0, 0.0, -50.0, 60.0), ARCFACE_TEMPLATE.astype(np.float64))  # hangs off left and bottom
    faces = [Faces(np.zeros((1, 4)), [1.0], marks[None]) for _ in range(2)]
    crops = align_faces(list(canvas), faces)
    assert torch.all(crops[:, :, 50:60, 0:45] == 0)  # x < -0.5: outside
    assert torch.all((crops[:, :, 0:30, 52:100] - 200).abs() < 1e-3)  # well inside
    assert torch.all(crops[:, :, 45:, 52:100] == 0)  # y > 99.5: outside, even in image 0 above image 1


def test_matches_pillow_affine_with_half_pixel_correction():
    image = read_rgb(ROOT / "samples/astronaut.png")
    marks = np.array([[204.1, 100.6], [247.4, 103.4], [225.0, 128.7], [201.8, 140.0], [245.3, 142.8]])
    matrix = estimate_similarity(marks)
    ours = align_faces(image, [Faces([[180, 61, 269, 175]], [1.0], marks[None])])[0].permute(1, 2, 0).numpy()
    a, b, c, d, e, f = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2].ravel()
    # Pillow maps output point (x + 0.5, y + 0.5) and puts pixel centres at +0.5: shift by half a pixel
    data = (a, b, c + 0.5 - 0.5 * (a + b), d, e, f + 0.5 - 0.5 * (d + e))
    pil = np.asarray(Image.fromarray(image).transform((112, 112), Image.AFFINE, data, Image.BILINEAR), np.float32)
    assert np.abs(ours - pil).mean() < 0.6  # Pillow rounds to uint8: 0.25 on average
    naive = np.asarray(Image.fromarray(image).transform((112, 112), Image.AFFINE, (a, b, c, d, e, f), Image.BILINEAR))
    assert np.abs(ours - naive).mean() > 2 * np.abs(ours - pil).mean()  # half a pixel off


def test_real_face_eyes_land_on_template(detector):
    image = read_rgb(needs_shared("lfw", "lfw-deepfunneled", "George_W_Bush", "George_W_Bush_0001.jpg"))
    faces = detector.detect(image)[0].largest()
    matrix = estimate_similarity(faces.landmarks[0])
    eyes = apply(matrix, faces.landmarks[0][:2].astype(np.float64))
    assert np.abs(eyes - ARCFACE_TEMPLATE[:2]).max() < 1.0
    # and the warped pixels really are those points: re-detect the face in the 3x upscaled crop
    crop = align_faces(image, [faces])[0].permute(1, 2, 0).round().byte().numpy()
    big = np.asarray(Image.fromarray(crop).resize((336, 336), Image.BICUBIC))
    from annotate.detection.detect import FaceDetector

    found = FaceDetector("cpu", min_face=100).detect(big)[0].largest()
    assert np.abs(found.landmarks[0][:2] / 3 - ARCFACE_TEMPLATE[:2]).max() < 1.5


def test_warping_patches_equals_warping_whole_images():
    # align_faces warps only the region around each face; warp() on the whole images is the plain path
    image = read_rgb(ROOT / "samples/photos/both.jpg")
    faces = FaceDetector("cpu").detect(image)[0]
    edge = Faces(faces.boxes[:1], faces.scores[:1], faces.landmarks[:1] - faces.landmarks[:1, :, :1].min() + 5)
    for found in (faces, edge):  # the second hangs off the left border
        fast = align_faces([image, image[::-1].copy()], [found, Faces.empty()])
        plain = warp(
            torch.from_numpy(image.copy())[None],
            torch.zeros(len(found), dtype=torch.long),
            estimate_similarity(found.landmarks),
        )
        assert fast.shape == plain.shape == (len(found), 3, 112, 112)
        # float32 grid coordinates of a 1000 px image carry ~1e-4 px of rounding: ~0.01 grey levels
        assert (fast - plain).abs().max() < 0.05
        assert (fast - plain).abs().mean() < 1e-3
