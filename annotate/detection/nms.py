"""Exact greedy non-maximum suppression, batched per group, on any torch device.

Greedy NMS keeps a box unless a higher-scoring kept box of its group overlaps it by more
than the threshold. We solve that recursion with matrix operations (the "Cluster-NMS"
fixed point), which gives the same answer as the sequential loop without a loop per box,
so it runs as a few large kernels on the GPU. Memory is bounded by splitting large work.
"""

from __future__ import annotations

import torch

# Largest (groups x K x K) overlap matrix built at once.
_MAX_CELLS = 1 << 24


def _overlap(a: torch.Tensor, b: torch.Tensor, mode: str) -> torch.Tensor:
    """Pairwise overlap of boxes a (..., Ka, 4) and b (..., Kb, 4) xyxy -> (..., Ka, Kb).

    mode "union": IoU with area (x2-x1)*(y2-y1), as torchvision.ops.nms.
    mode "min": intersection over the smaller area, with +1 pixel widths, as the MTCNN paper's code.
    """
    one = 1.0 if mode == "min" else 0.0
    area_a = (a[..., 2] - a[..., 0] + one) * (a[..., 3] - a[..., 1] + one)
    area_b = (b[..., 2] - b[..., 0] + one) * (b[..., 3] - b[..., 1] + one)
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (rb - lt + one).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    if mode == "min":
        return inter / torch.minimum(area_a[..., :, None], area_b[..., None, :])
    return inter / (area_a[..., :, None] + area_b[..., None, :] - inter)


def _greedy_keep(over: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Solve keep[j] = valid[j] and not any(keep[i] and over[i, j] for i < j).

    over: (G,K,K) bool, strictly upper triangular. valid: (G,K) bool. Returns (G,K) bool.
    After t rounds the first t entries are final, and in practice it settles in a few rounds.
    """
    keep = valid
    for _ in range(over.shape[-1] + 1):
        new = valid & ~(over & keep[:, :, None]).any(dim=1)
        if torch.equal(new, keep):
            break
        keep = new
    return keep


def _nms_padded(boxes: torch.Tensor, valid: torch.Tensor, threshold: float, mode: str) -> torch.Tensor:
    """boxes (G,K,4) sorted by descending score per group, valid (G,K) -> keep (G,K) bool."""
    k = boxes.shape[1]
    over = _overlap(boxes, boxes, mode) > threshold
    over &= torch.ones(k, k, dtype=torch.bool, device=boxes.device).triu(1)
    return _greedy_keep(over, valid)


def _nms_long(boxes: torch.Tensor, threshold: float, mode: str, block: int = 2048) -> torch.Tensor:
    """Greedy NMS of one large group, sorted boxes (K,4), in blocks -> keep (K,) bool."""
    keep = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    for start in range(0, len(boxes), block):
        chunk = boxes[start : start + block]
        kept = boxes[:start][keep[:start]]
        valid = torch.ones(len(chunk), dtype=torch.bool, device=boxes.device)
        if len(kept):
            valid = ~(_overlap(chunk, kept, mode) > threshold).any(dim=1)
        keep[start : start + block] = _nms_padded(chunk[None], valid[None], threshold, mode)[0]
    return keep


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, threshold: float, mode: str = "union"
) -> torch.Tensor:
    """Greedy NMS run separately in each group (e.g. image of a batch).

    boxes (K,4) xyxy, scores (K,), groups (K,) int. Returns (M,) int64 indices of the kept
    boxes, ordered by group then by descending score. Stays on the input's device.
    """
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    order = order[torch.sort(groups[order], stable=True).indices]
    g = groups[order]
    _, counts = torch.unique_consecutive(g, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    n_groups, k_max = len(counts), int(counts.max())
    rank = torch.arange(len(order), device=boxes.device) - torch.repeat_interleave(starts, counts)
    slot = torch.repeat_interleave(torch.arange(n_groups, device=boxes.device), counts)

    keep_sorted = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    if k_max * k_max > _MAX_CELLS:
        for s, c in zip(starts.tolist(), counts.tolist()):
            keep_sorted[s : s + c] = _nms_long(boxes[order[s : s + c]], threshold, mode)
    else:
        per_call = max(1, _MAX_CELLS // (k_max * k_max))
        padded = boxes.new_zeros(n_groups, k_max, 4)
        valid = torch.zeros(n_groups, k_max, dtype=torch.bool, device=boxes.device)
        padded[slot, rank] = boxes[order]
        valid[slot, rank] = True
        keep = torch.cat(
            [
                _nms_padded(padded[i : i + per_call], valid[i : i + per_call], threshold, mode)
                for i in range(0, n_groups, per_call)
            ]
        )
        keep_sorted = keep[slot, rank]
    return order[keep_sorted]
