"""Read an ONNX face-embedding graph into a flat list of layer ops with their weights.

Only initializers and the node list are used: the data path from the single input to the single output
is walked node by node; a Conv directly followed by a BatchNormalization becomes one ``ConvOp``;
a tensor consumed twice opens a residual branch that must close at an ``Add``. Nothing here runs the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..errors import ModelError, WeightsError


@dataclass
class BNOp:
    """BatchNormalization: y = (x - mean) / sqrt(var + eps) * scale + bias; vectors of shape (C,)."""

    scale: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float


@dataclass
class ConvOp:
    """Conv2d; weight (out,in/groups,kh,kw), bias (out,) or None, plus a BatchNormalization that follows it."""

    weight: np.ndarray
    bias: np.ndarray | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    groups: int
    bn: BNOp | None = None


@dataclass
class PReluOp:
    """PReLU with one slope per channel: slope (C,)."""

    slope: np.ndarray


@dataclass
class FlattenOp:
    """(N,C,H,W) -> (N,C*H*W)."""


@dataclass
class LinearOp:
    """y = x @ weight.T + bias; weight (out,in), bias (out,) or None."""

    weight: np.ndarray
    bias: np.ndarray | None


@dataclass
class ResidualOp:
    """main(x) + shortcut(x); an empty shortcut is the identity."""

    main: list[Op] = field(default_factory=list)
    shortcut: list[Op] = field(default_factory=list)


Op = ConvOp | BNOp | PReluOp | FlattenOp | LinearOp | ResidualOp

_PASS_THROUGH = {"Identity", "Dropout"}
_SHAPE_OPS = {"Shape", "Size"}


class GraphReader:
    """The data path of one ONNX model as a list of ``Op``; raises ModelError for anything unsupported."""

    def __init__(self, path: Path, model: Any) -> None:
        from onnx import helper, numpy_helper

        self.path = path
        self._attr: Callable[[Any], Any] = helper.get_attribute_value
        graph = model.graph
        self.consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.alias: dict[str, str] = {}
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            try:
                if self._fold_constant(node, numpy_helper):
                    continue
            except (ValueError, TypeError, IndexError, KeyError) as exc:
                self.fail(f"cannot evaluate constant node {node.name or node.op_type} ({exc})")
            if node.op_type in _PASS_THROUGH:
                self.alias[node.output[0]] = self._name(node.input[0])
                continue
            if node.op_type in _SHAPE_OPS:
                continue
            for name in node.input:
                if name and name not in self.consts:
                    self.consumers.setdefault(self._name(name), []).append(node)
        inputs = [i for i in graph.input if i.name not in self.consts]
        if len(inputs) != 1 or len(graph.output) != 1:
            self.fail(f"expected one input and one output, found {len(inputs)} and {len(graph.output)}")
        self.input_name: str = inputs[0].name
        self.input_dims = [
            d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim
        ]
        self.output_name: str = self._name(graph.output[0].name)

    def fail(self, reason: str) -> NoReturn:
        raise ModelError(f"{self.path} is not an ArcFace iResNet or MobileFaceNet ONNX model: {reason}")

    def _name(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def _fold_constant(self, node: Any, numpy_helper: Any) -> bool:
        """Record the output of a Constant node or of a shape op on constants; True if folded."""
        if node.op_type == "Constant":
            attrs = {a.name: a for a in node.attribute}
            if "value" in attrs:
                self.consts[node.output[0]] = numpy_helper.to_array(attrs["value"].t)
                return True
            return False
        if node.op_type not in {"Identity", "Unsqueeze", "Squeeze", "Reshape", "Transpose"}:
            return False
        if not node.input or any(n and n not in self.consts for n in node.input):
            return False
        x = self.consts[node.input[0]]
        attrs = self._attrs(node)
        if node.op_type in {"Unsqueeze", "Squeeze"}:
            axes = attrs.get("axes")
            if axes is None and len(node.input) > 1:
                axes = self.consts[node.input[1]].tolist()
            if node.op_type == "Unsqueeze":
                if axes is None:
                    raise ValueError("Unsqueeze without axes")
                x = np.expand_dims(x, tuple(int(a) % (x.ndim + len(axes)) for a in axes))
            else:
                x = np.squeeze(x, None if axes is None else tuple(int(a) for a in axes))
        elif node.op_type == "Transpose":
            x = np.transpose(x, attrs.get("perm"))
        elif node.op_type == "Reshape":
            shape = [d if d != 0 else x.shape[i] for i, d in enumerate(self.consts[node.input[1]].tolist())]
            x = x.reshape(shape)
        self.consts[node.output[0]] = x
        return True

    def _attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self._attr(a) for a in node.attribute}

    def _const(self, node: Any, index: int, what: str) -> np.ndarray | None:
        """Float32 value of input ``index`` of ``node`` (None if absent)."""
        if index >= len(node.input) or not node.input[index]:
            return None
        value = self.consts.get(node.input[index])
        if value is None:
            self.fail(f"{what} of node {node.name or node.op_type} is not a stored weight")
        return np.asarray(value, dtype=np.float32)

    def _required(self, node: Any, index: int, what: str) -> np.ndarray:
        """``_const``, failing if the input is absent."""
        value = self._const(node, index, what)
        if value is None:
            self.fail(f"{what} of node {node.name or node.op_type} is missing")
        return value

    def _next(self, tensor: str) -> list[Any]:
        return self.consumers.get(tensor, [])

    def read(self) -> list[Op]:
        """Walk the data path from the input to the output."""
        ops, end = self._walk(self.input_name, branch=False)
        if end != self.output_name:
            self.fail("the data path does not end at the graph output")
        return ops

    def _walk(self, tensor: str, branch: bool) -> tuple[list[Op], str]:
        """Ops from ``tensor`` until the output (or, in a branch, until an Add); returns (ops, last tensor)."""
        ops: list[Op] = []
        while True:
            nodes = self._next(tensor)
            if not nodes:
                return ops, tensor
            if len(nodes) == 1 and nodes[0].op_type == "Add" and not self._bias_add(nodes[0]):
                if branch:
                    return ops, tensor
                self.fail(f"unexpected Add at node {nodes[0].name}")
            if len(nodes) == 1:
                op, tensor = self._layer(nodes[0], tensor)
                ops.append(op)
            elif len(nodes) == 2 and not branch:
                op, tensor = self._residual(tensor, nodes)
                ops.append(op)
            else:
                self.fail(f"tensor {tensor} feeds {len(nodes)} nodes")

    def _bias_add(self, node: Any) -> bool:
        return any(name in self.consts for name in node.input)

    def _residual(self, tensor: str, nodes: list[Any]) -> tuple[ResidualOp, str]:
        """Two branches from ``tensor`` that meet at one Add; the shorter is the shortcut."""
        branches: list[tuple[list[Op], str, Any]] = []
        for node in nodes:
            if node.op_type == "Add":
                branches.append(([], tensor, node))
                continue
            op, out = self._layer(node, tensor)
            rest, end = self._walk(out, branch=True)
            adds = self._next(end)
            if len(adds) != 1 or adds[0].op_type != "Add":
                self.fail(f"branch from {tensor} does not end in an Add")
            branches.append(([op, *rest], end, adds[0]))
        (ops_a, end_a, add_a), (ops_b, end_b, add_b) = branches
        if add_a is not add_b or {self._name(n) for n in add_a.input} != {end_a, end_b} or len(ops_a) == len(ops_b):
            self.fail(f"unsupported branch structure after {tensor}")
        main, short = (ops_a, ops_b) if len(ops_a) > len(ops_b) else (ops_b, ops_a)
        return ResidualOp(main, short), add_a.output[0]

    def _layer(self, node: Any, tensor: str) -> tuple[Op, str]:
        """The op for ``node`` whose data input is ``tensor``; returns (op, output tensor)."""
        if self._name(node.input[0]) != tensor:
            self.fail(f"node {node.name or node.op_type} does not take the data path as its first input")
        kind, attrs, out = node.op_type, self._attrs(node), node.output[0]
        if kind == "Conv":
            return self._conv(node, attrs)
        if kind == "BatchNormalization":
            return self._bn(node, attrs), out
        if kind == "PRelu":
            slope = self._required(node, 1, "PRelu slope")
            return PReluOp(slope.reshape(-1)), out
        if kind in {"Flatten", "Reshape"}:
            if kind == "Flatten" and attrs.get("axis", 1) != 1:
                self.fail(f"Flatten with axis {attrs['axis']}")
            following = self._next(out)
            if kind == "Reshape" and (len(following) != 1 or following[0].op_type not in {"Gemm", "MatMul"}):
                self.fail(f"Reshape {node.name} is not a flatten before the embedding layer")
            return FlattenOp(), out
        if kind == "Gemm":
            w = self._required(node, 1, "Gemm weight")
            if attrs.get("transA", 0) or w.ndim != 2:
                self.fail(f"unsupported Gemm {node.name}")
            w = (w if attrs.get("transB", 0) else w.T) * float(attrs.get("alpha", 1.0))
            b = self._const(node, 2, "Gemm bias")
            return LinearOp(w, None if b is None else b.reshape(-1) * float(attrs.get("beta", 1.0))), out
        if kind == "MatMul":
            w = self._required(node, 1, "MatMul weight")
            bias, following = None, self._next(out)
            if len(following) == 1 and following[0].op_type == "Add" and self._bias_add(following[0]):
                add = following[0]
                bias = next(self.consts[n] for n in add.input if n in self.consts).astype(np.float32).reshape(-1)
                out = add.output[0]
            return LinearOp(w.T, bias), out
        self.fail(f"unsupported operator {kind} (node {node.name})")

    def _conv(self, node: Any, attrs: dict[str, Any]) -> tuple[ConvOp, str]:
        w = self._required(node, 1, "Conv weight")
        if w.ndim != 4 or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            self.fail(f"unsupported Conv {node.name}")
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:] or any(d != 1 for d in attrs.get("dilations", [1, 1])):
            self.fail(f"Conv {node.name} has asymmetric padding or dilation")
        stride = tuple(attrs.get("strides", [1, 1]))
        op = ConvOp(
            w, self._const(node, 2, "Conv bias"), (stride[0], stride[1]), (pads[0], pads[1]), attrs.get("group", 1)
        )
        out = node.output[0]
        following = self._next(out)
        if len(following) == 1 and following[0].op_type == "BatchNormalization":
            op.bn = self._bn(following[0], self._attrs(following[0]))
            out = following[0].output[0]
        return op, out

    def _bn(self, node: Any, attrs: dict[str, Any]) -> BNOp:
        if attrs.get("training_mode", 0):
            self.fail(f"BatchNormalization {node.name} is in training mode")
        values = [self._const(node, i, "BatchNormalization parameter") for i in range(1, 5)]
        if any(v is None for v in values):
            self.fail(f"BatchNormalization {node.name} lacks parameters")
        scale, bias, mean, var = (np.asarray(v).reshape(-1) for v in values)
        return BNOp(scale, bias, mean, var, float(attrs.get("epsilon", 1e-05)))


def read_onnx(path: Path) -> tuple[list[Op], list[int | None]]:
    """(ops on the data path, input dims with None for symbolic ones); WeightsError if unreadable."""
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, missing external data, OSError...
        raise WeightsError(f"{path}: cannot read ONNX model ({type(exc).__name__}: {exc})") from exc
    _check_complete(path, model)
    reader = GraphReader(path, model)
    return reader.read(), reader.input_dims


def _check_complete(path: Path, model: Any) -> None:
    """WeightsError when the protobuf parsed but is empty or references tensors that are not stored."""
    graph = model.graph
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    for node in graph.node:
        if any(name not in known for name in node.input):
            raise WeightsError(f"{path}: ONNX model is corrupt or truncated (node {node.name} has missing inputs)")
        known.update(node.output)
    if not graph.node or not model.opset_import or any(o.name not in known for o in graph.output):
        raise WeightsError(f"{path}: ONNX model is empty, corrupt or truncated")
