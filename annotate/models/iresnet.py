"""ArcFace iResNet backbones, state-dict compatible with insightface ``arcface_torch/backbones/iresnet.py``.

Input: (N,3,112,112) float32 RGB normalised as (pixel - 127.5) / 127.5.
Output: (N,num_features) float32 embedding (not L2-normalised).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

#: Blocks per stage for each supported depth.
IRESNET_LAYERS: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 14, 3),
    100: (3, 13, 30, 3),
}

BN_EPS = 1e-05


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class IBasicBlock(nn.Module):
    """Pre-activation residual block: bn1 -> conv1 -> bn2 -> prelu -> conv2(stride) -> bn3, plus shortcut.

    (N,inplanes,H,W) -> (N,planes,H/stride,W/stride).
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("IBasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise ValueError("IBasicBlock does not support dilation > 1")
        self.bn1 = nn.BatchNorm2d(inplanes, eps=BN_EPS)
        self.conv1 = conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,C,H,W) -> (N,planes,H/stride,W/stride)."""
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity


class IResNet(nn.Module):
    """ArcFace iResNet: (N,3,112,112) normalised RGB -> (N,num_features) embedding."""

    fc_scale = 7 * 7

    def __init__(
        self,
        block: type[IBasicBlock] = IBasicBlock,
        layers: Sequence[int] = IRESNET_LAYERS[50],
        dropout: float = 0.0,
        num_features: int = 512,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        fp16: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"layers must have 4 entries, got {list(layers)}")
        if replace_stride_with_dilation is not None and any(replace_stride_with_dilation):
            raise ValueError("IResNet does not support replace_stride_with_dilation")
        self.layer_counts: tuple[int, ...] = tuple(int(n) for n in layers)
        self.fp16 = fp16
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes, eps=BN_EPS)
        self.prelu = nn.PReLU(self.inplanes)
        self.layer1 = self._make_layer(block, 64, layers[0], stride=2)
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.bn2 = nn.BatchNorm2d(512 * block.expansion, eps=BN_EPS)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(512 * block.expansion * self.fc_scale, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=BN_EPS)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.1)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, IBasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: type[IBasicBlock], planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion, eps=BN_EPS),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width))
        return nn.Sequential(*layers)

    @property
    def arch(self) -> str:
        """Architecture name, e.g. ``"iresnet50"``."""
        for depth, counts in IRESNET_LAYERS.items():
            if counts == self.layer_counts:
                return f"iresnet{depth}"
        return "iresnet" + "-".join(str(n) for n in self.layer_counts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,3,112,112) normalised RGB -> (N,num_features) embedding."""
        with torch.autocast(device_type=x.device.type, enabled=self.fp16 and x.is_cuda):
            x = self.prelu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = self.bn2(x)
            x = torch.flatten(x, 1)
            x = self.dropout(x)
        x = self.fc(x.float() if self.fp16 else x)
        return self.features(x)


def _iresnet(depth: int, **kwargs: object) -> IResNet:
    return IResNet(IBasicBlock, IRESNET_LAYERS[depth], **kwargs)  # type: ignore[arg-type]


def iresnet18(**kwargs: object) -> IResNet:
    """iResNet-18 (blocks 2,2,2,2)."""
    return _iresnet(18, **kwargs)


def iresnet34(**kwargs: object) -> IResNet:
    """iResNet-34 (blocks 3,4,6,3)."""
    return _iresnet(34, **kwargs)


def iresnet50(**kwargs: object) -> IResNet:
    """iResNet-50 (blocks 3,4,14,3)."""
    return _iresnet(50, **kwargs)


def iresnet100(**kwargs: object) -> IResNet:
    """iResNet-100 (blocks 3,13,30,3)."""
    return _iresnet(100, **kwargs)


def iresnet_from_layers(layers: Sequence[int], num_features: int = 512) -> IResNet:
    """Build the iResNet whose stages have ``layers`` blocks; raises ValueError for unknown depths."""
    counts = tuple(int(n) for n in layers)
    if counts not in IRESNET_LAYERS.values():
        raise ValueError(f"no supported iResNet has blocks per stage {counts}")
    return IResNet(IBasicBlock, counts, num_features=num_features)
