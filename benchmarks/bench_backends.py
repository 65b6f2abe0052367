"""annotate's networks under other CPU runtimes, against torch eager as annotate runs them, in one
process, on the same real inputs, with the outputs checked.

    python benchmarks/bench_backends.py [VIDEO] [--rounds 5] [--threads 2] [--nets embedder,pnet,rnet,onet]
        [--min-run 0.25] [--json]

Inputs (VIDEO: default ../shared/data/video/video.mp4, 1080p). The detector runs on the first
frame with forward pre-hooks on its three MTCNN nets that keep what each gets: P-Net every
pyramid scale of the frame, (1,3,H,W) from 260x461 down (min face 50); R-Net (K,3,24,24) and
O-Net (K,3,48,48) for that frame's candidates; all channels_last, as the detector makes them.
The embedder gets the aligned crops (``align_faces``) of the faces found in the frames sampled
at 5 fps (at most 128), normalised and cut into passes of 8 as ``Embedder.embed`` does. A
"pass" of a net is all its inputs once: every scale, every candidate, every crop.

Backends (each runs the same weights; one that cannot run is skipped with a one-line reason):
  eager               torch as annotate runs it: the reference. The embedder's module and input
                      are channels_last (``Embedder._features``); the MTCNN nets' weights are
                      NCHW and their inputs channels_last.
  eager-cl            MTCNN nets: weights channels_last too.
  eager-nchw          module and input contiguous NCHW.
  compile             ``torch.compile`` (inductor, default mode) of a copy of the reference module.
  compile-frozen      the same with inductor's freezing (weights folded and prepacked).
  ort                 onnxruntime, CPUExecutionProvider, on the module exported with
                      ``torch.onnx.export`` (dynamic batch, and height and width for P-Net).
  ort-original        the embedder: onnxruntime on insightface's w600k_mbf.onnx itself.
  openvino            OpenVINO's CPU plugin on the exported ONNX, f32 inference precision set
                      explicitly (its default on a CPU with bf16 arithmetic is bf16).
  openvino-original   the embedder: OpenVINO on w600k_mbf.onnx.
torch runs on --threads threads (``torch.set_num_threads``), onnxruntime with
intra_op_num_threads and OpenVINO with INFERENCE_NUM_THREADS set to the same number. The
runtimes outside torch are timed from the torch tensor annotate holds to their numpy outputs
(the NCHW copy of the input included).

Timing: one timed run is --min-run seconds' worth of passes (as many passes as the reference
needs to take that long, the same number for every backend); runs alternate in rounds
(``_harness.alternate``: the order, then reversed). Setup (export, conversion, compilation)
and the first two passes are not timed; "setup s" is the export, conversion or compilation
with the first pass.

It prints, for each net: each backend's setup seconds, best and median ms per pass, "vs eager"
(the median over rounds of the reference's seconds over the backend's in the same round: above
1, faster than annotate's path), the lowest and highest of those ratios ("rounds"), and the
output check against the reference: the embedder's lowest cosine similarity between a crop's
two L2-normalised embeddings and their largest absolute difference; for the MTCNN nets the
largest absolute difference of each output and whether the decisions the detector takes on
the face probability agree (P-Net prob >= 0.6 per cell, R-Net and O-Net prob > 0.7 per
candidate, as ``FaceDetector`` compares them). Each net's heading also says how many cores
other processes kept busy during its rounds (from /proc/stat): near 0, a quiet machine.
Then the thread count, the versions, and which exporter wrote each ONNX file.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from _harness import VIDEO, alternate

from annotate.runtime import cpuload

NETS = ("embedder", "pnet", "rnet", "onet")
OUTPUTS = {
    "embedder": ("features",),
    "pnet": ("reg", "prob"),
    "rnet": ("reg", "prob"),
    "onet": ("reg", "marks", "prob"),
}
MAX_CROPS = 128
EMBED_PASS = 8  # Embedder.batch_size on the CPU

Run = Callable[[torch.Tensor], Sequence[object]]  # one input -> the net's outputs (tensors or arrays)


@dataclass
class Backend:
    name: str
    run: Run | None = None
    setup_s: float = 0.0
    skipped: str = ""  # why it could not run
    outputs: list[np.ndarray] = field(default_factory=list)  # per output, over all inputs


def as_numpy(value: object) -> np.ndarray:
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def nchw(x: torch.Tensor) -> np.ndarray:
    """The contiguous NCHW float32 array an ONNX runtime takes."""
    return np.ascontiguousarray(x.numpy())


# ---------------------------------------------------------------- inputs


def capture_inputs(video: Path, threads: int) -> tuple[dict[str, list[torch.Tensor]], dict[str, str], object]:
    """net name -> the inputs it gets on VIDEO (see the module docstring), net name -> a line
    describing them, and the ``annotate.Recognizer`` whose nets they are."""
    import annotate
    from annotate.media.video import VideoReader
    from annotate.recognition.align import align_faces

    with VideoReader(video) as reader:
        frames = [frame.image for frame in reader.frames(5.0)]
    recognizer = annotate.Recognizer(annotate.Config(device="cpu", threads=threads))
    detector = recognizer.detector
    captured: dict[str, list[torch.Tensor]] = {"pnet": [], "rnet": [], "onet": []}
    hooks = [
        getattr(detector, name).register_forward_pre_hook(
            lambda _module, args, name=name: captured[name].append(args[0].clone(memory_format=torch.preserve_format))
        )
        for name in captured
    ]
    first = recognizer.detect(frames[:1])
    for hook in hooks:
        hook.remove()
    found = recognizer.detect(frames)
    crops = align_faces(frames, found, "cpu")[:MAX_CROPS]
    # outside inference mode: ordinary tensors (the hooks' clones are inference tensors)
    inputs = {name: [x.clone(memory_format=torch.preserve_format) for x in xs] for name, xs in captured.items()}
    inputs["embedder"] = [
        ((crops[i : i + EMBED_PASS].to(torch.float32) / 255.0 - 0.5) / 0.5) for i in range(0, len(crops), EMBED_PASS)
    ]
    h, w = frames[0].shape[:2]
    about = {
        "embedder": f"{len(crops)} aligned crops from {len(frames)} frames at 5 fps, in {len(inputs['embedder'])} "
        f"passes of up to {EMBED_PASS}",
        "pnet": f"{len(inputs['pnet'])} pyramid scales of one {w}x{h} frame: "
        + ", ".join(f"{x.shape[3]}x{x.shape[2]}" for x in inputs["pnet"]),
        "rnet": "one frame's candidates: " + " + ".join(f"({len(x)},3,24,24)" for x in inputs["rnet"]),
        "onet": "one frame's candidates: " + " + ".join(f"({len(x)},3,48,48)" for x in inputs["onet"]),
    }
    about["onet"] += f"; {len(first[0])} faces found"
    return inputs, about, recognizer


# ---------------------------------------------------------------- backends


def torch_run(module: torch.nn.Module, layout: torch.memory_format | None) -> Run:
    """``module(x)`` with x first made ``layout`` (None: as given)."""

    def run(x: torch.Tensor) -> Sequence[object]:
        out = module(x if layout is None else x.contiguous(memory_format=layout))
        return (out,) if isinstance(out, torch.Tensor) else out

    return run


def export_onnx(module: torch.nn.Module, example: torch.Tensor, net: str, folder: Path) -> tuple[Path, str]:
    """``module`` (a NCHW copy) written as ONNX with a dynamic batch (and height, width for
    P-Net): (path, which exporter). The dynamo exporter first, then the TorchScript one."""
    path = folder / f"{net}.onnx"
    names = list(OUTPUTS[net])
    spatial = net == "pnet"
    example = example.contiguous()
    from torch.export import Dim

    dynamo = {
        "dynamo": True,
        "dynamic_shapes": ({0: Dim.DYNAMIC, 2: Dim.DYNAMIC, 3: Dim.DYNAMIC} if spatial else {0: Dim.DYNAMIC},),
    }
    legacy_axes = {0: "n", 2: "h", 3: "w"} if spatial else {0: "n"}
    legacy = {"dynamo": False, "opset_version": 17, "dynamic_axes": {"x": legacy_axes, **{n: {0: "n"} for n in names}}}
    errors: list[str] = []
    for label, settings in (("dynamo", dynamo), ("legacy", legacy)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    module, (example,), str(path), input_names=["x"], output_names=names, verbose=False, **settings
                )
            how = f"torch.onnx.export(dynamo={settings['dynamo']})"
            return path, how + (" after " + errors[0] if errors else "")
        except Exception as error:  # no onnxscript, an op it cannot export...
            errors.append(f"{label}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    raise RuntimeError("; ".join(errors))


def ort_run(path: Path, threads: int) -> Run:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # w600k_mbf.onnx declares a (1,512) output: a warning on every pass otherwise
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> Sequence[object]:
        return session.run(None, {name: nchw(x)})

    return run


def openvino_run(path: Path, threads: int) -> Run:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(
        ov.convert_model(str(path)),
        "CPU",
        {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"},
    )

    def run(x: torch.Tensor) -> Sequence[object]:
        return compiled(nchw(x)).to_tuple()

    return run


def reference_module(net: str, recognizer) -> torch.nn.Module:
    return recognizer.embedder.net if net == "embedder" else getattr(recognizer.detector, net)


def make_backends(net: str, recognizer, example: torch.Tensor, threads: int, folder: Path, notes: list[str]):
    """name -> a function that builds the backend's Run (its time is the setup time)."""
    module = reference_module(net, recognizer)
    cl, flat = torch.channels_last, torch.contiguous_format

    def moved(layout: torch.memory_format) -> torch.nn.Module:
        return copy.deepcopy(module).to(memory_format=layout).eval()

    exported: dict[str, Path | Exception] = {}  # one export for both runtimes, or why there is none

    def onnx_file() -> Path:
        if "path" not in exported:
            try:
                path, how = export_onnx(moved(flat), example, net, folder)
                exported["path"] = path
                notes.append(f"{net}: exported with {how}")
            except Exception as error:
                exported["path"] = error
        found = exported["path"]
        if isinstance(found, Exception):
            raise found
        return found

    builders: dict[str, Callable[[], Run]] = {}
    if net == "embedder":  # Embedder._features: the module and its input channels_last
        builders["eager"] = lambda: torch_run(module, cl)
    else:  # FaceDetector: the module as loaded, its input as the pyramid and crops make it
        builders["eager"] = lambda: torch_run(module, None)
        builders["eager-cl"] = lambda: torch_run(moved(cl), cl)
    builders["eager-nchw"] = lambda: torch_run(moved(flat), flat)
    compile_layout = cl if net == "embedder" else None
    builders["compile"] = lambda: torch_run(torch.compile(copy.deepcopy(module)), compile_layout)
    builders["compile-frozen"] = lambda: torch_run(
        torch.compile(copy.deepcopy(module), options={"freezing": True}), compile_layout
    )
    builders["ort"] = lambda: ort_run(onnx_file(), threads)
    builders["openvino"] = lambda: openvino_run(onnx_file(), threads)
    if net == "embedder":
        original = recognizer.embedder.weights.path
        if Path(original).suffix.lower() == ".onnx":
            builders["ort-original"] = lambda: ort_run(original, threads)
            builders["openvino-original"] = lambda: openvino_run(original, threads)
    return builders


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}"


# ---------------------------------------------------------------- checks


def check(net: str, reference: list[np.ndarray], outputs: list[np.ndarray], thresholds: Sequence[float]) -> dict:
    """How far a backend's outputs are from the reference's (see the module docstring)."""
    if net == "embedder":
        a, b = (o / np.linalg.norm(o, axis=1, keepdims=True) for o in (reference[0], outputs[0]))
        return {"min_cosine": float((a * b).sum(1).min()), "max_abs_diff": float(np.abs(a - b).max())}
    diffs = {name: float(np.abs(r - o).max()) for name, r, o in zip(OUTPUTS[net], reference, outputs)}
    threshold = thresholds[NETS.index(net) - 1]
    ref_prob, prob = reference[-1], outputs[-1]
    if net == "pnet":
        ref_face, face = ref_prob[:, 1] >= threshold, prob[:, 1] >= threshold
    else:
        ref_face, face = ref_prob[:, 1] > threshold, prob[:, 1] > threshold
    return {
        "max_abs_diff": diffs,
        "decisions": int(ref_face.size),
        "faces": int(ref_face.sum()),
        "decisions_differ": int((ref_face != face).sum()),
    }


def check_text(net: str, result: dict) -> str:
    if net == "embedder":
        return f"min cos {result['min_cosine']:.7f}, max |diff| {result['max_abs_diff']:.1e}"
    diffs = ", ".join(f"{name} {value:.1e}" for name, value in result["max_abs_diff"].items())
    differ = result["decisions_differ"]
    agree = "decisions same" if not differ else f"{differ} decisions DIFFER"
    return f"max |diff| {diffs}; {agree} ({result['faces']}/{result['decisions']} faces)"


def gather(run: Run, inputs: list[torch.Tensor], net: str) -> list[np.ndarray]:
    """Each output of ``run`` over all inputs: the embedder's and R/O-Net's stacked by row,
    P-Net's maps flattened per channel (N,C,h*w) and joined along the cells."""
    parts = [[as_numpy(o).copy() for o in run(x)] for x in inputs]
    if net == "pnet":
        return [np.concatenate([p[i].reshape(p[i].shape[0], p[i].shape[1], -1) for p in parts], 2) for i in range(2)]
    return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]


# ---------------------------------------------------------------- main


def bench_net(net: str, inputs: list[torch.Tensor], recognizer, args, folder: Path, notes: list[str]) -> dict:
    thresholds = recognizer.detector.thresholds
    backends: list[Backend] = []
    for name, build in make_backends(net, recognizer, inputs[0], args.threads, folder, notes).items():
        backend = Backend(name)
        try:
            start = time.perf_counter()
            with torch.inference_mode(False):  # copies and exports of ordinary tensors; the runs are in it
                run = build()
            for x in inputs:  # the first pass: compiles, plans, allocates
                run(x)
            backend.setup_s = time.perf_counter() - start
            backend.run = run
            backend.outputs = gather(run, inputs, net)  # the second pass
        except Exception as error:
            backend.skipped = one_line(error)
        backends.append(backend)
    ready = [b for b in backends if b.run is not None]
    reference = ready[0]
    if reference.name != "eager":
        raise SystemExit(f"bench_backends: the reference failed: {backends[0].skipped}")

    def one_pass(run: Run) -> None:
        for x in inputs:
            run(x)

    start = time.perf_counter()
    one_pass(reference.run)
    repeat = max(1, round(args.min_run / max(time.perf_counter() - start, 1e-9)))

    def timed(run: Run) -> Callable[[], None]:
        def go() -> None:
            for _ in range(repeat):
                one_pass(run)

        return go

    before = cpuload.sample()  # how many cores other processes keep busy meanwhile: a noisy run
    times = alternate({b.name: timed(b.run) for b in ready}, args.rounds)
    others = cpuload.others_busy(before, cpuload.sample())
    rows = {}
    for backend in backends:
        if backend.run is None:
            rows[backend.name] = {"skipped": backend.skipped}
            continue
        per_pass = [t / repeat for t in times[backend.name]]
        ratios = [r / t for r, t in zip(times[reference.name], times[backend.name])]
        rows[backend.name] = {
            "setup_s": backend.setup_s,
            "best_ms": 1000 * min(per_pass),
            "median_ms": 1000 * statistics.median(per_pass),
            "vs_eager": statistics.median(ratios),
            "vs_eager_rounds": ratios,
            "check": check(net, reference.outputs, backend.outputs, thresholds),
        }
    return {"passes_per_run": repeat, "other_cores": others, "backends": rows}


def print_net(net: str, about: str, result: dict) -> None:
    others = result["other_cores"]
    busy = "" if others is None else f"; other processes kept {others:.2f} cores busy during the rounds"
    print(f"\n{net}: {about}; {result['passes_per_run']} pass(es) per timed run{busy}")
    print(
        f"  {'backend':18s} {'setup s':>8s} {'best ms':>9s} {'median ms':>9s} {'vs eager':>9s} {'rounds':>11s}  check"
    )
    for name, row in result["backends"].items():
        if "skipped" in row:
            print(f"  {name:18s} skipped: {row['skipped']}")
            continue
        check = "reference" if name == "eager" else check_text(net, row["check"])
        print(
            f"  {name:18s} {row['setup_s']:8.2f} {row['best_ms']:9.2f} {row['median_ms']:9.2f} "
            f"{row['vs_eager']:8.2f}x {min(row['vs_eager_rounds']):5.2f}-{max(row['vs_eager_rounds']):<5.2f}  {check}"
        )


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    found = {"torch": torch.__version__, "python": platform.python_version()}
    for module in ("onnx", "onnxscript", "onnxruntime", "openvino"):
        try:
            found[module] = __import__(module).__version__
        except Exception:  # not installed: its backends are skipped
            found[module] = "not installed"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", type=Path, default=VIDEO)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="threads for torch, onnxruntime and OpenVINO")
    parser.add_argument("--nets", default=",".join(NETS), help=f"some of {','.join(NETS)}")
    parser.add_argument("--min-run", type=float, default=0.25, help="seconds of the reference per timed run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    if unknown := sorted(set(nets) - set(NETS)):
        sys.exit(f"bench_backends: unknown nets {unknown}; use some of {','.join(NETS)}")
    if not args.video.is_file():
        sys.exit(f"bench_backends: {args.video} not found (the default is ../shared/data/video/video.mp4)")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed. Skipping ..."
    # P-Net's pyramid: a graph per scale or parity of a side (ceil-mode pooling), for two compiled
    # copies of one forward; past dynamo's default limit of 8 the rest would run eager, unseen
    torch._dynamo.config.recompile_limit = 64
    torch.set_num_threads(args.threads)
    inputs, about, recognizer = capture_inputs(args.video, args.threads)
    torch.set_num_threads(args.threads)
    notes: list[str] = []
    results = {}
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        # a cold compile, as a first run meets it, and nothing left in the user's inductor cache
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(tmp) / "inductor")
        for net in nets:
            results[net] = bench_net(net, inputs[net], recognizer, args, Path(tmp), notes)
            if not args.json:
                print_net(net, about[net], results[net])
    summary = {
        "video": str(args.video),
        "threads": args.threads,
        "rounds": args.rounds,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "versions": versions(),
        "inputs": {net: about[net] for net in nets},
        "notes": notes,
        "nets": results,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"\n{args.threads} threads for torch, onnxruntime (intra_op_num_threads) and OpenVINO (INFERENCE_NUM_THREADS)"
    )
    print(
        f"{summary['cpu']}, {summary['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in summary["versions"].items())
    )
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
