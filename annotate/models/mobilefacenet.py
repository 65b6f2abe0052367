"""ArcFace MobileFaceNet with BatchNorm folded into its convolutions, as in insightface's ``w600k_mbf.onnx``.

The network is described by a list of layer specs so that it can be rebuilt from any ONNX export of
this family (see ``onnx_import``). Input: (N,3,112,112) float32 RGB normalised as (pixel - 127.5) / 127.5.
Output: (N,num_features) float32 embedding (not L2-normalised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

Size2 = tuple[int, int]


@dataclass(frozen=True)
class ConvSpec:
    """A convolution with bias (BatchNorm folded in), optionally followed by a per-channel PReLU."""

    in_channels: int
    out_channels: int
    kernel: Size2 = (1, 1)
    stride: Size2 = (1, 1)
    padding: Size2 = (0, 0)
    groups: int = 1
    act: bool = True

    def out_size(self, size: Size2) -> Size2:
        """Spatial size (H,W) after this convolution for an input of ``size``."""
        return (
            (size[0] + 2 * self.padding[0] - self.kernel[0]) // self.stride[0] + 1,
            (size[1] + 2 * self.padding[1] - self.kernel[1]) // self.stride[1] + 1,
        )


@dataclass(frozen=True)
class BlockSpec:
    """Inverted-bottleneck "DepthWise" block: 1x1 expand + PReLU, depthwise + PReLU, linear 1x1 project."""

    expand: ConvSpec
    depthwise: ConvSpec
    project: ConvSpec
    residual: bool

    def convs(self) -> tuple[ConvSpec, ConvSpec, ConvSpec]:
        """The three convolutions in execution order."""
        return (self.expand, self.depthwise, self.project)


LayerSpec = ConvSpec | BlockSpec


class ConvAct(nn.Module):
    """Conv2d (with bias) + optional PReLU: (N,in,H,W) -> (N,out,H',W')."""

    def __init__(self, spec: ConvSpec) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            spec.in_channels,
            spec.out_channels,
            kernel_size=spec.kernel,
            stride=spec.stride,
            padding=spec.padding,
            groups=spec.groups,
            bias=True,
        )
        self.prelu: nn.Module = nn.PReLU(spec.out_channels) if spec.act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,in,H,W) -> (N,out,H',W')."""
        return self.prelu(self.conv(x))


class DepthWise(nn.Module):
    """Expand, depthwise, project; adds the input back when ``residual``."""

    def __init__(self, spec: BlockSpec) -> None:
        super().__init__()
        self.residual = spec.residual
        self.expand = ConvAct(spec.expand)
        self.depthwise = ConvAct(spec.depthwise)
        self.project = ConvAct(spec.project)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,in,H,W) -> (N,out,H',W')."""
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.residual else out


class MobileFaceNet(nn.Module):
    """body (ConvAct / DepthWise layers) -> flatten -> fc (Linear) -> features (BatchNorm1d).

    (N,3,H,W) normalised RGB -> (N,num_features) embedding; ``fc_in`` = C*H*W of the body output.
    """

    arch = "mobilefacenet"

    def __init__(self, layers: Sequence[LayerSpec], fc_in: int, num_features: int = 512) -> None:
        super().__init__()
        self.specs: tuple[LayerSpec, ...] = tuple(layers)
        self.body = nn.Sequential(*(DepthWise(s) if isinstance(s, BlockSpec) else ConvAct(s) for s in layers))
        self.fc = nn.Linear(fc_in, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,3,112,112) normalised RGB -> (N,num_features) embedding."""
        x = torch.flatten(self.body(x), 1)
        return self.features(self.fc(x))


def body_output_shape(layers: Sequence[LayerSpec], size: Size2 = (112, 112)) -> tuple[int, int, int]:
    """(C,H,W) of the body output for an input of spatial ``size``; ValueError if channels do not chain."""
    channels = 3
    for layer in layers:
        for conv in layer.convs() if isinstance(layer, BlockSpec) else (layer,):
            if conv.in_channels != channels:
                raise ValueError(f"convolution expects {conv.in_channels} channels, gets {channels}")
            channels = conv.out_channels
            size = conv.out_size(size)
    return channels, size[0], size[1]


def _block(c_in: int, mid: int, c_out: int, stride: int, residual: bool) -> BlockSpec:
    return BlockSpec(
        expand=ConvSpec(c_in, mid),
        depthwise=ConvSpec(mid, mid, (3, 3), (stride, stride), (1, 1), groups=mid),
        project=ConvSpec(mid, c_out, act=False),
        residual=residual,
    )


def w600k_mbf_spec() -> list[LayerSpec]:
    """Layers of insightface ``w600k_mbf.onnx`` (arcface_torch mbf, blocks (1,4,6,2), scale 2)."""
    layers: list[LayerSpec] = [
        ConvSpec(3, 128, (3, 3), (2, 2), (1, 1)),
        ConvSpec(128, 128, (3, 3), (1, 1), (1, 1), groups=64),
        _block(128, 128, 128, 2, False),
    ]
    layers += [_block(128, 128, 128, 1, True) for _ in range(4)]
    layers.append(_block(128, 256, 256, 2, False))
    layers += [_block(256, 256, 256, 1, True) for _ in range(6)]
    layers.append(_block(256, 512, 256, 2, False))
    layers += [_block(256, 256, 256, 1, True) for _ in range(2)]
    layers += [ConvSpec(256, 512), ConvSpec(512, 64)]
    return layers
