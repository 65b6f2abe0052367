"""MTCNN face detection (P-Net, R-Net, O-Net) in plain torch, batched over images.

Weights are facenet-pytorch's (MIT), vendored in ``weights/mtcnn``. The arithmetic follows
facenet-pytorch's ``detect_face`` so boxes and scores agree with it, but every stage runs
on the whole batch at once, on the device, and crops are resampled for all candidates at
once from an integral image (an exact "area" resize) instead of one candidate at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import DeviceError, InputError
from ..faces import Faces
from ..models.mtcnn import ONet, PNet, RNet, load_net
from ..runtime.devices import exact_fp32, resolve_device, run_bucketed
from ..runtime.resources import mtcnn_weights_dir
from ..runtime.timing import stage
from .boxes import cell_boxes, regress, seeds, square
from .nms import batched_nms
from .resample import crops, integral, normalise, resize, table_dtype

_SUB_BATCH = 512  # R-Net / O-Net candidates per forward pass (CPU)
_CUDA_SUB_BATCH, _CUDA_MIN_BUCKET = 8192, 256  # on CUDA: larger passes, padded (see ``run_bucketed``)
# Pixels per pyramid pass on the CPU. Larger passes fall out of the cache: at 1080p, one frame
# per pass takes 60 ms a frame, four take 85 ms (2-core EPYC); at 720p four per pass is best.
_CPU_PIXELS = 4_000_000
_NEAR_NMS = 0.5
_KEEP_TABLE_BYTES = 128 * 2**20  # largest summed-area table kept between calls (CPU)


class FaceDetector:
    """MTCNN face detector.

    min_face: smallest face side searched for, in pixels. thresholds: score cut-offs of
    P-Net, R-Net and O-Net. factor: scale step of the image pyramid. windows: P-Net's cells
    at a scale -> their windows' corners (``cell_boxes``; benchmarks/emulate_cuda_division.py
    passes the division CUDA did before it).
    """

    def __init__(
        self,
        device: str | torch.device = "auto",
        min_face: int = 50,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        windows: Callable[[torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]] = cell_boxes,
    ) -> None:
        if min_face < 12:
            raise InputError(f"min_face must be at least 12 pixels, got {min_face}")
        if len(thresholds) != 3 or not all(0.0 <= t <= 1.0 for t in thresholds):
            raise InputError(f"thresholds must be three numbers in [0, 1], got {tuple(thresholds)}")
        if not 0.0 < factor < 1.0:
            raise InputError(f"factor must be between 0 and 1, got {factor}")
        self.device = resolve_device(device)
        self.min_face = int(min_face)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)
        self.windows = windows
        folder = mtcnn_weights_dir()
        self.pnet = load_net(PNet(), folder / "pnet.pt").to(self.device)
        self.rnet = load_net(RNet(), folder / "rnet.pt").to(self.device)
        self.onet = load_net(ONet(), folder / "onet.pt").to(self.device)
        self._scratch = threading.local()  # each thread's summed-area table and pinned upload buffer
        self._fits: dict[tuple[int, ...], int] = {}  # CUDA: image shape -> batch size since the GPU ran out of memory

    def detect(self, images: np.ndarray | Sequence[np.ndarray]) -> list[Faces]:
        """Find faces in one (H,W,3) uint8 RGB image or a batch of them.

        A (B,H,W,3) array or a list of arrays is a batch; images of different sizes are
        grouped by size. On the CPU a group goes through in passes of about 4 Mpixel, which
        keeps the summed-area table in cache; on CUDA the whole group goes at once, unless the
        GPU runs out of memory: then in halves, and no larger for that image size from then on
        (the faces found are the same). DeviceError if one image alone does not fit. Returns
        one Faces per image, sorted by descending score.
        """
        batch = _as_batch(images)
        results: list[Faces | None] = [None] * len(batch)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, image in enumerate(batch):
            by_shape.setdefault(image.shape, []).append(index)
        for shape, group in by_shape.items():
            if self.device.type == "cpu":
                step = max(1, _CPU_PIXELS // (shape[0] * shape[1]))
            else:
                step = self._fits.get(shape, len(group))
            start = 0
            while start < len(group):
                indices = group[start : start + step]
                try:
                    found = self._detect_same_size([batch[i] for i in indices])
                except torch.OutOfMemoryError as error:
                    step = self._after_oom(shape, len(indices), error)
                    continue
                for i, faces in zip(indices, found):
                    results[i] = faces
                start += len(indices)
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def detect_near(self, image: np.ndarray, expected: np.ndarray) -> Faces:
        """Faces in one (H,W,3) uint8 RGB image, looked for only about (T,4) xyxy boxes where
        faces are expected (a video's tracks): R-Net and O-Net on candidate windows shifted
        and scaled about each box (``boxes.seeds``), in place of the pyramid and P-Net. The
        boxes, scores and landmarks are those the full cascade gives when P-Net proposes such
        windows; a face away from every expected box is not found. Sorted by descending score."""
        if not len(expected):
            return Faces.empty()
        with stage("upload"):
            pixels = self._upload(_as_batch(image)[:1])
        with exact_fp32(self.device):
            with stage("pyramid"):
                table = integral(pixels, self._table(pixels.shape))
            windows = seeds(torch.tensor(np.asarray(expected, np.float32), device=self.device))
            h, w = pixels.shape[1:3]  # crops need windows that start in the image and end after they start
            inside = (windows[:, 0] < w) & (windows[:, 1] < h) & (windows[:, 2:] > windows[:, :2].clamp(min=0)).all(1)
            windows = windows[inside]
            if not len(windows):  # every expected box off the picture (or degenerate)
                return Faces.empty()
            candidates = torch.cat([windows, windows.new_zeros(len(windows), 1)], dim=1)
            image_idx = torch.zeros(len(windows), dtype=torch.long, device=self.device)
            with stage("rnet"):
                boxes, image_idx = self._refine(table, candidates, image_idx)
            with stage("nms"):  # the windows about one face regress onto it: keep one
                pick = batched_nms(boxes[:, :4], boxes[:, 4], image_idx, _NEAR_NMS)
            boxes, image_idx = boxes[pick], image_idx[pick]
            points = boxes.new_zeros(0, 5, 2)
            if len(boxes):
                with stage("onet"):
                    boxes, image_idx, points = self._output(table, boxes, image_idx)
        with stage("download"):
            found, marks = boxes.cpu().numpy(), points.cpu().numpy()
        return Faces(found[:, :4], found[:, 4], marks)

    def _after_oom(self, shape: tuple[int, ...], tried: int, error: Exception) -> int:
        """The batch size to try after ``tried`` images of ``shape`` ran the GPU out of memory,
        remembered for that size; DeviceError when a single image did."""
        torch.cuda.empty_cache()
        if tried == 1:
            h, w = shape[:2]
            raise DeviceError(
                f"the GPU ({self.device}) ran out of memory detecting faces in one {w}x{h} image, "
                "even alone; other programs may hold its memory, and the CPU can do it"
            ) from error
        self._fits[shape] = tried // 2
        return tried // 2

    def _table(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A zeroed (B,H+1,W+1,3) table for (B,H,W,3) images. On the CPU, a table of up to
        128 MB is kept for this thread's next call: a video's frames all have one size, and
        writing into fresh pages costs more than the sums themselves (1080p: 8 ms a frame on
        the 2-core VM). CUDA's caching allocator already reuses its memory."""
        b, h, w, c = shape
        size = (b, h + 1, w + 1, c)
        table = getattr(self._scratch, "table", None)
        if table is not None and tuple(table.shape) == size:
            return table
        self._scratch.table = None
        table = torch.zeros(size, dtype=table_dtype(h, w), device=self.device)
        if self.device.type == "cpu" and table.nbytes <= _KEEP_TABLE_BYTES:
            self._scratch.table = table
        return table

    def _scales(self, h: int, w: int) -> list[float]:
        scale = 12.0 / self.min_face
        side = min(h, w) * scale
        scales = []
        while side >= 12:
            scales.append(scale)
            scale *= self.factor
            side *= self.factor
        return scales

    def _upload(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """Same-size (H,W,3) uint8 images -> one (B,H,W,3) tensor on the device. For CUDA they
        are stacked straight into a pinned buffer, kept per thread while the image size
        repeats, and copied asynchronously; that copy is waited for before the buffer is
        filled again."""
        if self.device.type != "cuda":
            return torch.from_numpy(np.stack(images))
        pinned, copied = getattr(self._scratch, "pinned", (None, None))
        if pinned is None or pinned.shape[1:] != images[0].shape or len(pinned) < len(images):
            pinned, copied = torch.empty((len(images), *images[0].shape), dtype=torch.uint8, pin_memory=True), None
        if copied is not None:
            copied.synchronize()
        np.stack(images, out=pinned[: len(images)].numpy())
        pixels = pinned[: len(images)].to(self.device, non_blocking=True)
        copied = torch.cuda.Event()
        copied.record(torch.cuda.current_stream(self.device))
        self._scratch.pinned = (pinned, copied)
        return pixels

    @torch.inference_mode()
    def _detect_same_size(self, images: Sequence[np.ndarray]) -> list[Faces]:
        """B same-size (H,W,3) uint8 images -> B Faces."""
        with stage("upload"):
            pixels = self._upload(images)
        with exact_fp32(self.device):
            return self._detect_uploaded(pixels)

    def _detect_uploaded(self, pixels: torch.Tensor) -> list[Faces]:
        """(B,H,W,3) uint8 on the device -> B Faces."""
        n, h, w, _ = pixels.shape
        with stage("pyramid"):
            table = integral(pixels, self._table(pixels.shape))
        with stage("pnet"):
            boxes, image_idx = self._propose(table, h, w)
        points = boxes.new_zeros(0, 5, 2)
        if len(boxes):
            with stage("rnet"):
                boxes, image_idx = self._refine(table, boxes, image_idx)
            if len(boxes):
                with stage("onet"):
                    boxes, image_idx, points = self._output(table, boxes, image_idx)
        with stage("download"):
            boxes_np, idx_np, points_np = boxes.cpu().numpy(), image_idx.cpu().numpy(), points.cpu().numpy()
        return [Faces(boxes_np[idx_np == i, :4], boxes_np[idx_np == i, 4], points_np[idx_np == i]) for i in range(n)]

    def _propose(self, table: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        """P-Net over the pyramid -> squared candidate boxes (K,5) [xyxy, score], image index (K,)."""
        found, found_idx = [], []
        for scale in self._scales(h, w):
            with stage("pyramid"):
                scaled = resize(table, (int(h * scale + 1), int(w * scale + 1)))
            reg, prob = run_bucketed(self.pnet, normalise(scaled))
            mask = prob[:, 1] >= self.thresholds[0]
            where = mask.nonzero()
            image_idx, cell = where[:, 0], where[:, 1:].flip(1).to(reg.dtype)
            q1, q2 = self.windows(cell, scale)
            cand = torch.cat([q1, q2, prob[:, 1][mask][:, None], reg.permute(0, 2, 3, 1)[mask]], dim=1)
            with stage("nms"):
                keep = batched_nms(cand[:, :4], cand[:, 4], image_idx, 0.5)
            found.append(cand[keep])
            found_idx.append(image_idx[keep])
        if not found:
            return torch.zeros(0, 5, device=table.device), torch.zeros(0, dtype=torch.long, device=table.device)
        cand, image_idx = torch.cat(found), torch.cat(found_idx)
        with stage("nms"):
            keep = batched_nms(cand[:, :4], cand[:, 4], image_idx, 0.7)
        cand, image_idx = cand[keep], image_idx[keep]
        size = (cand[:, 2:4] - cand[:, 0:2]).repeat(1, 2)
        boxes = square(cand[:, :4] + cand[:, 5:9] * size)
        return torch.cat([boxes, cand[:, 4:5]], dim=1), image_idx

    def _run(self, net: nn.Module, table: torch.Tensor, boxes: torch.Tensor, image_idx: torch.Tensor, size: int):
        """Crop every candidate and run ``net`` in sub-batches (padded to a power of two on CUDA);
        outputs are concatenated."""
        cuda = table.device.type == "cuda"
        step = _CUDA_SUB_BATCH if cuda else _SUB_BATCH
        outs, oks = [], []
        for start in range(0, len(boxes), step):
            end = start + step
            patches, ok = crops(table, boxes[start:end, :4], image_idx[start:end], size)
            outs.append(run_bucketed(net, patches, _CUDA_MIN_BUCKET))
            oks.append(ok)
        return [torch.cat(parts) for parts in zip(*outs)], torch.cat(oks)

    def _refine(self, table: torch.Tensor, boxes: torch.Tensor, image_idx: torch.Tensor):
        """R-Net stage: (K,5) candidates -> fewer, regressed, squared candidates."""
        (reg, prob), ok = self._run(self.rnet, table, boxes, image_idx, 24)
        score = prob[:, 1]
        keep = ok & (score > self.thresholds[1])
        boxes = torch.cat([boxes[keep, :4], score[keep, None]], dim=1)
        image_idx, reg = image_idx[keep], reg[keep]
        with stage("nms"):
            pick = batched_nms(boxes[:, :4], boxes[:, 4], image_idx, 0.7)
        boxes, image_idx, reg = boxes[pick], image_idx[pick], reg[pick]
        boxes = torch.cat([square(regress(boxes[:, :4], reg)), boxes[:, 4:]], dim=1)
        return boxes, image_idx

    def _output(self, table: torch.Tensor, boxes: torch.Tensor, image_idx: torch.Tensor):
        """O-Net stage: final boxes (M,5), image index (M,), landmarks (M,5,2)."""
        (reg, marks, prob), ok = self._run(self.onet, table, boxes, image_idx, 48)
        score = prob[:, 1]
        keep = ok & (score > self.thresholds[2])
        boxes, image_idx, reg, marks = boxes[keep, :4], image_idx[keep], reg[keep], marks[keep]
        wh = (boxes[:, 2:4] - boxes[:, 0:2] + 1)[:, None, :]
        points = wh * torch.stack([marks[:, :5], marks[:, 5:]], dim=2) + boxes[:, None, 0:2] - 1
        boxes = torch.cat([regress(boxes, reg), score[keep, None]], dim=1)
        with stage("nms"):
            pick = batched_nms(boxes[:, :4], boxes[:, 4], image_idx, 0.7, mode="min")
        return boxes[pick], image_idx[pick], points[pick]


def _as_batch(images: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate input and return a list of (H,W,3) uint8 arrays."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    batch = list(images)
    for i, image in enumerate(batch):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise InputError(f"image {i} must be a uint8 RGB array of shape (H, W, 3), got {got}")
    return batch
