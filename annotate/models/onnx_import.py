"""Native torch modules from ArcFace ONNX files (insightface ``w600k_mbf.onnx``, ``w600k_r50.onnx`` and kin).

The graph's data path (see ``onnx_graph``) is matched against the iResNet or MobileFaceNet layout and the
weights are copied into the native module in the order the graph uses them, every shape checked.
iResNet imports always produce the arcface_torch layout (conv without bias + BatchNorm): a BatchNorm that
the exporter folded into a conv comes back as an exact identity BatchNorm carrying the conv bias.
MobileFaceNet imports fold any BatchNorm into the preceding conv.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, cast

import numpy as np
import torch
from torch import nn

from ..errors import ModelError, WeightsError
from .iresnet import IBasicBlock, IResNet, iresnet_from_layers
from .mobilefacenet import (
    BlockSpec,
    ConvAct,
    ConvSpec,
    LayerSpec,
    MobileFaceNet,
    body_output_shape,
)
from .onnx_graph import BNOp, ConvOp, FlattenOp, LinearOp, Op, PReluOp, ResidualOp, read_onnx


def load_onnx(path: str | Path) -> nn.Module:
    """The ArcFace embedding network stored in the ONNX file ``path``, as a float32 torch module in eval mode.

    Input (N,3,112,112) normalised RGB, output (N,512). WeightsError if the file is missing or unreadable,
    ModelError if the graph is not an ArcFace iResNet (18/34/50/100) or MobileFaceNet.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    ops, dims = read_onnx(path)
    if dims and (len(dims) != 4 or dims[1] not in (None, 3)):
        _fail(path, f"input shape {dims} is not (N,3,H,W)")
    is_iresnet = any(isinstance(op, ResidualOp) and op.main and isinstance(op.main[0], BNOp) for op in ops)
    model = _build_iresnet(path, ops) if is_iresnet else _build_mobilefacenet(path, ops, dims)
    return model.float().eval()


def _fail(path: Path, reason: str) -> NoReturn:
    raise ModelError(f"{path} is not an ArcFace iResNet or MobileFaceNet ONNX model: {reason}")


def _kinds(ops: Sequence[Op]) -> list[type]:
    return [type(op) for op in ops]


def _copy(path: Path, target: torch.Tensor, value: np.ndarray, what: str) -> None:
    """Copy ``value`` into ``target``; ModelError naming ``what`` if the shapes differ."""
    if tuple(value.shape) != tuple(target.shape):
        raise ModelError(
            f"{path}: {what} has shape {tuple(value.shape)}, the architecture expects {tuple(target.shape)}"
        )
    with torch.no_grad():
        target.copy_(torch.from_numpy(np.array(value, dtype=np.float32)))


def _unit_var(eps: float) -> float:
    """A float32 variance v with float32(v + eps) == 1 exactly, so BatchNorm divides by exactly 1."""
    e = np.float32(eps)
    v = np.float32(1.0) - e
    for _ in range(16):
        total = v + e
        if total == np.float32(1.0):
            break
        v = np.nextafter(v, np.float32(2.0) if total < 1 else np.float32(0.0), dtype=np.float32)
    return float(v)


def _set_bn(
    path: Path, bn: nn.modules.batchnorm._BatchNorm, op: BNOp | None, bias: np.ndarray | None, what: str
) -> None:
    """Load BatchNorm ``op`` (or an identity if None) into ``bn``, absorbing a preceding conv ``bias``."""
    n = bn.num_features
    if op is None:
        scale, shift, mean = np.ones(n), np.zeros(n), np.zeros(n)
        var = np.full(n, _unit_var(bn.eps))
    else:
        scale, shift, mean = op.scale, op.bias, op.mean.astype(np.float64)
        var = op.var.astype(np.float64) + (op.eps - bn.eps)  # same denominator under bn.eps
    if bias is not None:
        if bias.shape != (n,):
            raise ModelError(f"{path}: {what} bias has shape {bias.shape}, the architecture expects ({n},)")
        if op is None:
            shift = shift + bias
        else:
            mean = mean - bias
    for name, value in (("weight", scale), ("bias", shift), ("running_mean", mean), ("running_var", var)):
        _copy(path, getattr(bn, name), np.asarray(value), f"{what} {name}")


def _set_conv(path: Path, conv: nn.Conv2d, op: ConvOp, what: str) -> None:
    if (tuple(conv.stride), tuple(conv.padding), conv.groups) != (op.stride, op.padding, op.groups):
        raise ModelError(
            f"{path}: {what} has stride {op.stride}, padding {op.padding}, groups {op.groups}; "
            f"the architecture expects {tuple(conv.stride)}, {tuple(conv.padding)}, {conv.groups}"
        )
    _copy(path, conv.weight, op.weight, f"{what} weight")


def _set_prelu(path: Path, prelu: nn.PReLU, op: PReluOp, what: str) -> None:
    _copy(path, prelu.weight, op.slope, f"{what} slope")


def _set_linear(path: Path, fc: nn.Linear, op: LinearOp) -> None:
    _copy(path, fc.weight, op.weight, "fc weight")
    _copy(path, fc.bias, np.zeros(fc.out_features) if op.bias is None else op.bias, "fc bias")


# ---- iResNet -------------------------------------------------------------------------------------------

_BLOCK_MAIN = [BNOp, ConvOp, PReluOp, ConvOp]


def _build_iresnet(path: Path, ops: list[Op]) -> IResNet:
    """iResNet from ops [conv, prelu, residual blocks..., bn, flatten, linear, bn]."""
    if len(ops) < 7 or _kinds(ops[:2]) != [ConvOp, PReluOp] or _kinds(ops[-4:]) != [BNOp, FlattenOp, LinearOp, BNOp]:
        _fail(path, "the layers around the residual blocks are not those of an iResNet")
    blocks = ops[2:-4]
    counts: list[int] = []
    for i, block in enumerate(blocks):
        if not isinstance(block, ResidualOp) or _kinds(block.main) != _BLOCK_MAIN:
            _fail(path, f"residual block {i} is not an iResNet block")
        if _kinds(block.shortcut) not in ([], [ConvOp]):
            _fail(path, f"residual block {i} has an unsupported shortcut")
        if block.shortcut:
            counts.append(0)
        elif not counts:
            _fail(path, "the first residual block has no downsampling shortcut")
        counts[-1] += 1
    linear = cast(LinearOp, ops[-2])
    try:
        model = iresnet_from_layers(counts, num_features=linear.weight.shape[0])
    except ValueError as exc:
        _fail(path, str(exc))

    conv, prelu = cast(ConvOp, ops[0]), cast(PReluOp, ops[1])
    _set_conv(path, model.conv1, conv, "conv1")
    _set_bn(path, model.bn1, conv.bn, conv.bias, "bn1")
    _set_prelu(path, model.prelu, prelu, "prelu")
    # cast: the stages are nn.Sequential of the IBasicBlocks that iresnet_from_layers built
    modules = [
        cast(IBasicBlock, m) for stage in (model.layer1, model.layer2, model.layer3, model.layer4) for m in stage
    ]
    stage_names = [f"layer{s + 1}.{j}" for s, n in enumerate(counts) for j in range(n)]
    for name, module, block in zip(stage_names, modules, blocks):
        block = cast(ResidualOp, block)
        bn1, conv1, prelu1, conv2 = cast(tuple[BNOp, ConvOp, PReluOp, ConvOp], tuple(block.main))
        _set_bn(path, module.bn1, bn1, None, f"{name}.bn1")
        _set_conv(path, module.conv1, conv1, f"{name}.conv1")
        _set_bn(path, module.bn2, conv1.bn, conv1.bias, f"{name}.bn2")
        _set_prelu(path, module.prelu, prelu1, f"{name}.prelu")
        _set_conv(path, module.conv2, conv2, f"{name}.conv2")
        _set_bn(path, module.bn3, conv2.bn, conv2.bias, f"{name}.bn3")
        if block.shortcut:
            down = cast(ConvOp, block.shortcut[0])
            # cast: a shortcut opens a stage (counts above), whose first block has a (conv1x1, bn) downsample
            downsample = cast(nn.Sequential, module.downsample)
            _set_conv(path, cast(nn.Conv2d, downsample[0]), down, f"{name}.downsample.0")
            _set_bn(path, cast(nn.BatchNorm2d, downsample[1]), down.bn, down.bias, f"{name}.downsample.1")
    bn2, features = cast(BNOp, ops[-4]), cast(BNOp, ops[-1])
    _set_bn(path, model.bn2, bn2, None, "bn2")
    _set_linear(path, model.fc, linear)
    _set_bn(path, model.features, features, None, "features")
    return model


# ---- MobileFaceNet -------------------------------------------------------------------------------------

Unit = tuple[ConvOp, PReluOp | None]


def _conv_spec(op: ConvOp, act: bool) -> ConvSpec:
    out_c, in_per_group, kh, kw = op.weight.shape
    return ConvSpec(in_per_group * op.groups, out_c, (kh, kw), op.stride, op.padding, op.groups, act)


def _block_units(ops: Sequence[Op]) -> list[Unit] | None:
    """The three units of a DepthWise block if ``ops`` is [1x1 conv, prelu, depthwise, prelu, 1x1 conv]."""
    if _kinds(ops) != [ConvOp, PReluOp, ConvOp, PReluOp, ConvOp]:
        return None
    expand, a1, dw, a2, project = cast(tuple[ConvOp, PReluOp, ConvOp, PReluOp, ConvOp], tuple(ops))
    channels = dw.weight.shape[0]
    if expand.weight.shape[2:] != (1, 1) or project.weight.shape[2:] != (1, 1) or dw.groups != channels:
        return None
    return [(expand, a1), (dw, a2), (project, None)]


def _mobilefacenet_layers(path: Path, ops: list[Op]) -> tuple[list[LayerSpec], list[Unit]]:
    """Layer specs and their (conv, prelu) units, in order, for the ops before the flatten."""
    specs: list[LayerSpec] = []
    units: list[Unit] = []
    i = 0
    while i < len(ops) and not isinstance(ops[i], FlattenOp):
        op, block = ops[i], None
        if isinstance(op, ResidualOp):
            block = _block_units(op.main) if not op.shortcut else None
            if block is None:
                _fail(path, f"residual layer {i} is not a MobileFaceNet DepthWise block")
            i += 1
        elif isinstance(op, ConvOp):
            block = _block_units(ops[i : i + 5])
            if block is not None and not (i + 5 < len(ops) and isinstance(ops[i + 5], PReluOp)):
                i += 5
            else:
                nxt = ops[i + 1] if i + 1 < len(ops) else None
                prelu = nxt if isinstance(nxt, PReluOp) else None
                specs.append(_conv_spec(op, prelu is not None))
                units.append((op, prelu))
                i += 1 if prelu is None else 2
                continue
        else:
            _fail(path, f"unexpected {type(op).__name__} at layer {i}")
        convs = [_conv_spec(c, a is not None) for c, a in block]
        specs.append(BlockSpec(convs[0], convs[1], convs[2], residual=isinstance(op, ResidualOp)))
        units.extend(block)
    if not any(isinstance(s, BlockSpec) for s in specs):
        _fail(path, "no DepthWise blocks found")
    if _kinds(ops[i:]) != [FlattenOp, LinearOp, BNOp]:
        _fail(path, "the network does not end in flatten, linear, batch norm")
    return specs, units


def _fold(op: ConvOp) -> tuple[np.ndarray, np.ndarray]:
    """(weight, bias) of ``op`` with its BatchNorm folded in."""
    weight = op.weight.astype(np.float64)
    bias = np.zeros(weight.shape[0]) if op.bias is None else op.bias.astype(np.float64)
    if op.bn is not None:
        bn = op.bn
        s = bn.scale.astype(np.float64) / np.sqrt(bn.var.astype(np.float64) + bn.eps)
        weight = weight * s[:, None, None, None]
        bias = (bias - bn.mean) * s + bn.bias
    return weight, bias


def _build_mobilefacenet(path: Path, ops: list[Op], dims: list[int | None]) -> MobileFaceNet:
    specs, units = _mobilefacenet_layers(path, ops)
    linear, features = cast(LinearOp, ops[-2]), cast(BNOp, ops[-1])
    size = (dims[2] or 112, dims[3] or 112) if len(dims) == 4 else (112, 112)
    try:
        c, h, w = body_output_shape(specs, size)
    except ValueError as exc:
        _fail(path, str(exc))
    if c * h * w != linear.weight.shape[1]:
        _fail(path, f"body output {c}x{h}x{w} does not fit a linear layer of {linear.weight.shape[1]} inputs")
    try:
        model = MobileFaceNet(specs, c * h * w, linear.weight.shape[0])
    except ValueError as exc:  # e.g. channels not divisible by groups
        _fail(path, str(exc))
    convs = [m for m in model.modules() if isinstance(m, ConvAct)]
    for k, (module, (conv, prelu)) in enumerate(zip(convs, units)):
        weight, bias = _fold(conv)
        _set_conv(path, module.conv, ConvOp(weight, None, conv.stride, conv.padding, conv.groups), f"conv {k}")
        assert module.conv.bias is not None  # ConvAct's conv is built with bias=True
        _copy(path, module.conv.bias, bias, f"conv {k} bias")
        if prelu is not None:
            _set_prelu(path, cast(nn.PReLU, module.prelu), prelu, f"conv {k} prelu")
    _set_linear(path, model.fc, linear)
    _set_bn(path, model.features, features, None, "features")
    return model
