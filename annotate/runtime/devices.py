"""Choosing the torch device and the embedder's arithmetic."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, cast

import torch

from ..errors import InputError, PrecisionError
from .cpuload import CpuTimes, busy_since, usable_cores

T = TypeVar("T")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """ "auto" -> CUDA when available, else CPU; "cpu", "cuda", "cuda:1" are checked to exist."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown device {spec!r}: use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {spec!r} was asked for, but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"device {spec!r} does not exist: {torch.cuda.device_count()} CUDA device(s) found")
    elif device.type != "cpu":
        raise InputError(f"unsupported device {spec!r}: use auto, cpu, cuda or cuda:N")
    return device


@contextlib.contextmanager
def exact_fp32(device: torch.device) -> Iterator[None]:
    """Within it, cuDNN convolutions on ``device`` run in true fp32 rather than cuDNN's default
    TF32 (10-bit mantissa), which moved MTCNN's boxes by up to 7 px from the CPU's on an H100.
    Restores the previous setting on exit; does nothing off CUDA, nor where the caller has set
    TF32 through torch's newer per-operator settings (torch refuses to mix the two)."""
    with contextlib.ExitStack() as stack:
        if device.type == "cuda":
            cudnn = torch.backends.cudnn
            # RuntimeError "a mix of the legacy and new APIs": the caller's choice stands
            with contextlib.suppress(RuntimeError):
                stack.enter_context(
                    cudnn.flags(
                        enabled=cudnn.enabled,
                        benchmark=cudnn.benchmark,
                        deterministic=cudnn.deterministic,
                        allow_tf32=False,
                    )
                )
        yield


def run_bucketed(net: Callable[[torch.Tensor], T], x: torch.Tensor, minimum: int = 1) -> T:
    """``net(x)`` for a batch ``x`` of independent rows; the output (a tensor or a tuple of
    them) has ``len(x)`` rows. On CUDA, ``x`` is padded with zero rows to a power-of-two length
    (at least ``minimum``) and each output is cut back: cuDNN builds plans for every new input
    shape it meets, and face and candidate counts change from batch to batch (on an H100 the
    first pass over a video took 20.7 s, later passes 2.5-2.8 s). Elsewhere ``net(x)`` as is."""
    if x.device.type != "cuda":
        return net(x)
    n = len(x)
    size = max(minimum, 1 << max(n - 1, 0).bit_length())
    out = net(x if size == n else torch.cat([x, x.new_zeros(size - n, *x.shape[1:])]))
    # casts: T is the net's output, a tensor or else a tuple of tensors (as documented above)
    if isinstance(out, torch.Tensor):
        return cast(T, out[:n])
    parts = cast(tuple[torch.Tensor, ...], out)
    return cast(T, type(parts)(o[:n] for o in parts))


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_precision(spec: str, device: torch.device) -> torch.dtype:
    """ "auto" -> fp16 on CUDA, fp32 on the CPU; "fp32"; "bf16" on CUDA or on a CPU with
    native bfloat16 arithmetic; "fp16" on CUDA only. Anything else raises InputError."""
    if spec not in PRECISIONS:
        raise InputError(f"unknown precision {spec!r}: use {', '.join(PRECISIONS)}")
    if spec == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if spec == "fp16" and device.type != "cuda":
        raise PrecisionError("fp16 runs only on CUDA, not on the CPU (bf16, where the CPU has it, or fp32 do)")
    if spec == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        raise PrecisionError(
            "bf16 was asked for, but this CPU has no native bfloat16 arithmetic (AVX512-BF16 or "
            "AMX), so it would be slower than fp32 (precision auto)"
        )
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[spec]


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has bfloat16 instructions (the avx512_bf16 or amx_bf16 flag, on Linux);
    where there is no /proc/cpuinfo, whether oneDNN offers bf16 at all."""
    try:
        flags = cpuinfo.read_text(errors="replace").split()
    except OSError:
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def default_batch(device: str) -> int:
    """Images per detector pass: 32 on CUDA, 4 on the CPU (where the detector splits a pass
    into cache-sized chunks anyway, so larger batches gain nothing)."""
    return 32 if device.startswith("cuda") else 4


def load_average() -> float:
    """The 1-minute load average (0 where the OS has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def default_threads(since: CpuTimes | None = None) -> int:
    """CPU threads for the networks when none are asked for: the usable cores less those that
    other processes kept busy since ``since`` (a ``cpuload.sample()``; where that cannot be
    measured, or without one, less the 1-minute load average), at least 1.

    Why: torch's OpenMP threads wait for each other at every layer, so a thread that shares
    its core with another process holds the others up. On the 2-core VM beside one busy
    process, 2 threads took 1.7-2.1x as long as 1, while on an idle machine 2 threads were
    1.3-1.8x faster (benchmarks/bench_threads.py; numbers in benchmarks/README.md)."""
    cores = usable_cores()
    busy = busy_since(since) if since is not None else None
    if busy is None:
        busy = load_average()
    return max(1, min(cores, cores - round(busy)))


@contextlib.contextmanager
def using_threads(threads: int | None) -> Iterator[None]:
    """Within it, torch runs its CPU operators on ``threads`` threads (None: as it is); the
    previous number comes back after, so a caller's own torch work is left as it was."""
    previous = torch.get_num_threads()
    if threads is None or threads == previous:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
