"""What the benchmark scripts share: the default inputs, a recognizer and face bank built from
command-line arguments, alternating rounds of timings, and the report.

A script in this folder imports it first (``from _harness import ...``): importing it puts
this checkout at the front of ``sys.path``, so every script times this checkout's annotate.
Nothing here changes how annotate runs: a variant to compare is a parameter of the code
under test (``draw_faces(region=False)``, ``render_video(yuv=False)``,
``VideoOptions(switch_interval=...)``, ``FaceDetector(windows=...)``), never a patched global.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VIDEO = ROOT.parent / "shared" / "data" / "video" / "video.mp4"  # 1080p, 105 frames, with sound
BANK = ROOT / "facebank"  # the demo bank: Eileen Collins and Grace Hopper

if TYPE_CHECKING:
    import annotate

Name = TypeVar("Name", bound=Hashable)  # what names a variant: "baseline", a number of jobs...


def add_recognizer_args(parser: argparse.ArgumentParser, device: str = "cpu", bank: bool = True) -> None:
    """--device, --model, --precision, --min-face, --threads (and --bank), as `annotate` takes them."""
    parser.add_argument("--device", default=device, help=f"auto, cpu, cuda or cuda:N (default {device})")
    parser.add_argument("--model", default="auto", help="recognition model, as annotate's --model")
    parser.add_argument("--precision", default="auto", help="the embedder's arithmetic, as annotate's --precision")
    parser.add_argument("--min-face", type=int, default=50, help="smallest face in pixels (default 50)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the networks (default: annotate's, the cores not kept busy)",
    )
    if bank:
        parser.add_argument("--bank", type=Path, default=BANK, help=f"face bank folder or .npz (default {BANK})")


def config_from(args: argparse.Namespace) -> annotate.Config:
    """The ``annotate.Config`` the arguments of ``add_recognizer_args`` ask for."""
    import annotate

    return annotate.Config(
        model=args.model, device=args.device, min_face=args.min_face, precision=args.precision, threads=args.threads
    )


def recognizer_from(args: argparse.Namespace) -> annotate.Recognizer:
    """The detector and embedder, as ``annotate.Recognizer(config_from(args))``."""
    import annotate

    return annotate.Recognizer(config_from(args))


def bank_from(args: argparse.Namespace, recognizer: annotate.Recognizer) -> annotate.FaceBank:
    """``annotate.load_bank(args.bank, recognizer)``: the bank file when it is current, else
    the folder's photos embedded in memory (nothing is written)."""
    import annotate

    return annotate.load_bank(args.bank, recognizer)


def _synchronise(device: object) -> None:
    if device is not None and str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def alternate(
    runs: Mapping[Name, Callable[[], object]],
    rounds: int,
    device: object = None,
    cpu: dict[Name, list[float]] | None = None,
) -> dict[Name, list[float]]:
    """Wall seconds of each of ``runs``, once per round, for ``rounds`` rounds: the given order,
    then reversed, and so on, so that a machine whose speed drifts (10-30% within minutes on
    a shared 2-core VM) slows each variant alike. device: a CUDA device is synchronised before
    and after each call. cpu: if given, gets the CPU seconds (user + system) of this process
    for each call, by name. Returns name -> seconds of each round."""
    times: dict[Name, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            _synchronise(device)
            before, start = os.times(), time.perf_counter()
            runs[name]()
            _synchronise(device)
            times[name].append(time.perf_counter() - start)
            if cpu is not None:
                after = os.times()
                cpu.setdefault(name, []).append(after.user - before.user + after.system - before.system)
    return times


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def medians(times: Mapping[Name, Iterable[float]]) -> dict[Name, float]:
    """name -> median seconds."""
    return {name: median(values) for name, values in times.items()}


def ratio(times: Mapping[Name, Iterable[float]], slower: Name, faster: Name) -> float:
    """How many times ``faster``'s median is below ``slower``'s (above 1: ``faster`` is faster)."""
    return median(times[slower]) / median(times[faster])


def report(result: Mapping[str, object], as_json: bool = False, width: int = 24) -> None:
    """Print ``result`` as indented JSON, or one ``key value`` line each (floats to 4 digits)."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:{width}s} {value:.4g}" if isinstance(value, float) else f"{key:{width}s} {value}")


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident set in MB (0 if it has gone), from /proc."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0
