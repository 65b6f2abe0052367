"""Grouping faces into people, on all of LFW (13,233 images of 5,749 people, the standard
face-clustering benchmark): ours (``annotate.recognition.cluster.group``) against DBSCAN at cosine
0.48 (insightface's desktop app) and Chinese whispers (dlib, face_recognition), on the same
embeddings, at a sweep of thresholds.

    python benchmarks/bench_people.py [--thresholds 0.3,0.35,0.4,0.45,0.48,0.52] [--rounds 1]
    python benchmarks/bench_people.py --scale 100000   # time and memory at 100k faces

Embeddings are those of ``annotate evaluate`` (one face per image, cached by file sha256 in
the evaluate cache; the first run embeds every image, about 9 minutes on 2 CPU cores). Each
method and threshold runs in a fresh process, so its peak memory (the process's maximum
resident set, embeddings and libraries included) is its own; rounds alternate the methods.
Reported: pairwise and BCubed precision, recall and F, clusters found, seconds (median of the
rounds) and peak MB. DBSCAN needs scikit-learn (``pip install scikit-learn``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _harness import ROOT, add_recognizer_args, recognizer_from

LFW = ROOT.parent / "shared" / "data" / "lfw" / "lfw-deepfunneled"
METHODS = ("ours", "dbscan", "whispers")


def lfw_embeddings(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """(N,D) unit embeddings of every LFW image and (N,) person names."""
    from tqdm import tqdm

    from annotate.evaluate.images import ImageEmbedder, cache_file

    paths = sorted(LFW.glob("*/*.jpg"))
    if not paths:
        sys.exit(f"LFW not found at {LFW}")
    recognizer = recognizer_from(args)
    with tqdm(total=len(paths), desc="embed", unit="image", disable=not sys.stderr.isatty()) as bar:
        embedded = ImageEmbedder(recognizer, cache_file(recognizer)).embed_paths(paths, bar)
    return embedded.embeddings.astype(np.float32), np.array([p.parent.name for p in paths])


def scaled(embeddings: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n unit embeddings: LFW's, then noisy copies of them (about 0.7 alike to their original),
    for time and memory at a size LFW does not have."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(embeddings), max(0, n - len(embeddings)))
    noise = rng.standard_normal((len(picks), embeddings.shape[1])).astype(np.float32) / np.sqrt(embeddings.shape[1])
    copies = embeddings[picks] + noise
    out = np.concatenate([embeddings, copies / np.linalg.norm(copies, axis=1, keepdims=True)])
    return out[:n]


def dbscan(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """scikit-learn's DBSCAN on cosine distance, eps = 1 - threshold, min_samples 1 (insightface's
    app keeps every face: a lone face is a person of its own)."""
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=1.0 - threshold, min_samples=1, metric="cosine").fit_predict(embeddings)


def whispers(embeddings: np.ndarray, threshold: float, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """Chinese whispers (Biemann 2006, as dlib's chinese_whispers_clustering): on the graph of
    pairs at least ``threshold`` alike (from the same nearest-neighbour search as ours), each
    face in random order takes the label with the most similarity among its neighbours."""
    from annotate.recognition.cluster import neighbours

    index, similarity = neighbours(embeddings)
    rng = np.random.default_rng(seed)
    edges = [
        (
            index[i][(similarity[i] >= threshold) & (index[i] != i)],
            similarity[i][(similarity[i] >= threshold) & (index[i] != i)],
        )
        for i in range(len(index))
    ]
    labels = np.arange(len(index))
    for _ in range(iterations):
        for i in rng.permutation(len(index)):
            near, weight = edges[i]
            if len(near):
                totals: dict[int, float] = {}
                for label, w in zip(labels[near].tolist(), weight.tolist()):
                    totals[label] = totals.get(label, 0.0) + w
                labels[i] = max(totals, key=totals.__getitem__)
    return labels


def run_one(method: str, embeddings: np.ndarray, threshold: float) -> tuple[np.ndarray, float, float]:
    """In a fresh process: cluster numbers, seconds, and the process's peak resident MB."""
    started = time.perf_counter()
    if method == "ours":
        from annotate.recognition.cluster import group

        found = group(embeddings, threshold)
    elif method == "dbscan":
        found = dbscan(embeddings, threshold)
    else:
        found = whispers(embeddings, threshold)
    return found, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh(method: str, embeddings: np.ndarray, threshold: float) -> tuple[np.ndarray, float, float]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_one, method, embeddings, threshold).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.3,0.35,0.4,0.45,0.48,0.52")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--scale", type=int, default=0, help="cluster this many faces (LFW's and noisy copies) with ours only"
    )
    parser.add_argument("--json", action="store_true")
    add_recognizer_args(parser, bank=False)
    args = parser.parse_args()
    from annotate.evaluate.clustering import score_clusters

    embeddings, names = lfw_embeddings(args)
    if args.scale:
        data = scaled(embeddings, args.scale)
        _, seconds, peak = fresh("ours", data, float(args.thresholds.split(",")[0]))
        print(json.dumps({"faces": len(data), "seconds": round(seconds, 1), "peak MB": round(peak)}))
        return
    rows = []
    for threshold in [float(t) for t in args.thresholds.split(",")]:
        times: dict[str, list[float]] = {}
        results: dict[str, tuple[np.ndarray, float]] = {}
        for _ in range(args.rounds):
            for method in args.methods.split(","):
                found, seconds, peak = fresh(method, embeddings, threshold)
                times.setdefault(method, []).append(seconds)
                results[method] = (found, max(peak, results.get(method, (None, 0.0))[1]))
        for method, (found, peak) in results.items():
            s = score_clusters(names, found)
            rows.append(
                {
                    "method": method,
                    "threshold": threshold,
                    "pair P": round(s.pair_precision, 4),
                    "pair R": round(s.pair_recall, 4),
                    "pair F": round(s.pair_f, 4),
                    "BCubed P": round(s.bcubed_precision, 4),
                    "BCubed R": round(s.bcubed_recall, 4),
                    "BCubed F": round(s.bcubed_f, 4),
                    "clusters": s.clusters,
                    "people": s.people,
                    "seconds": round(statistics.median(times[method]), 2),
                    "peak MB": round(peak),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
