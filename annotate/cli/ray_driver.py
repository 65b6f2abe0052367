"""The driver of `annotate ray`: the inputs, the run's folder, the face bank built once, the
cluster joined, and the run reported with one progress bar and a line per failed input."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import typer

from .app import bank_for, bank_source, bar, clean_leftovers, detail, echo_error, recognizer_for, say

if TYPE_CHECKING:
    import pyarrow as pa

    from ..archive.annotators import ArchiveSettings
    from ..config import Config
    from ..drawing.options import DrawOptions
    from ..video.analysis import VideoOptions


class Cluster(NamedTuple):
    """Where to run: the cluster's address (None: a local one), and the workers asked for."""

    address: str | None
    workers: int | None
    cpus: float
    gpus: float


class Wanted(NamedTuple):
    """What each input gets: copies drawn so, the timeline's unknowns, detections, video options."""

    render: bool
    drawing: DrawOptions
    include_unknown: bool = False
    detections: bool = False
    video: VideoOptions | None = None


def drive(
    kind: str,
    inputs: list[Path] | None,
    manifest: Path | None,
    out: Path,
    fmt: str,
    resume: bool,
    bank: Path | None,
    config: Config,
    cluster: Cluster,
    wanted: Wanted,
) -> None:
    """The driver: inputs, output folder, bank, cluster, then the run with one progress bar."""
    from ..archive.inputs import list_inputs, lock_run, pending, prepare_out
    from ..archive.record import run_record
    from ..archive.tables import FORMATS, TABLES
    from ..errors import InputError
    from ..media import check_out_dir

    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not inputs and manifest is None:
        raise InputError("give the inputs: folders or files, or --manifest FILE")
    files = list_inputs(inputs or [], manifest, *_suffixes(kind), copy_name=_copy_name(kind))
    out = out.absolute()
    check_out_dir(inputs or [], out)
    settings = _settings(kind, out, fmt, bank, config, cluster, wanted)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    with lock_run(out):  # before run.json: a second run must not replace the first's record
        prepare_out(out, run_record(kind, settings), resume)
        copies = [Path(d) for name in ("videos", "photos") for d, _, _ in os.walk(out / name)]
        clean_leftovers([out / name for name in TABLES] + copies)
        if resume:
            files, skipped = pending(files, out, fmt)
            if skipped:
                say(f"{skipped} input(s) finished by the earlier run are skipped")
            if files.num_rows == 0:
                say(f"nothing to do: every input is done in {out}")
                return
        failed = _execute(kind, files, settings, cluster)
    say(f"{files.num_rows - failed} input(s) done, {failed} failed; tables in {out}")
    if failed:
        raise typer.Exit(1)


def _copy_name(kind: str) -> Callable[[str], str] | None:
    """How an input's path under its folder becomes its copy's: a video's takes .mp4 when
    annotate does not write its container."""
    if kind != "video":
        return None
    from ..video.job import output_name

    return lambda relative: output_name(Path(relative)).as_posix()


def _suffixes(kind: str) -> tuple[frozenset[str], frozenset[str]]:
    from ..media.photo import IMAGE_SUFFIXES, UNREAD_IMAGE_SUFFIXES
    from ..media.probe import VIDEO_SUFFIXES

    if kind == "video":
        return frozenset(VIDEO_SUFFIXES), frozenset()
    return frozenset(IMAGE_SUFFIXES), frozenset(UNREAD_IMAGE_SUFFIXES)


def _settings(
    kind: str,
    out: Path,
    fmt: str,
    bank: Path | None,
    config: Config,
    cluster: Cluster,
    wanted: Wanted,
) -> ArchiveSettings:
    """The face bank, built or refreshed here once, and the workers' settings: the models as
    asked for, on the workers' device (a GPU when each holds one) with their CPUs as threads."""
    import secrets
    import time

    from ..archive.annotators import ArchiveSettings
    from ..video.analysis import VideoOptions

    source = bank_source(bank)
    c = config
    recognizer = recognizer_for(c.model, c.device, c.min_face, c.threshold, c.precision, c.threads)
    face_bank = bank_for(source, recognizer)
    if wanted.drawing.blur is not None:
        wanted.drawing.blur.check_names(face_bank.labels)
    # the model as asked for, not the weights path found here: each worker finds its own, and
    # the bank's model check stops a worker whose weights differ
    device = "cuda" if cluster.gpus else "cpu"
    config = replace(c, device=device, threads=math.ceil(cluster.cpus))
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    detail(f"run {run_id}: {kind}, workers on {config.device} with {config.threads} thread(s) each")
    return ArchiveSettings(
        config,
        face_bank,
        out,
        run_id,
        fmt,
        render=wanted.render,
        detections=wanted.detections,
        include_unknown=wanted.include_unknown,
        video=wanted.video or VideoOptions(),
        drawing=wanted.drawing,
    )


def _execute(kind: str, files: pa.Table, settings: ArchiveSettings, cluster: Cluster) -> int:
    """Join the cluster, run, and report each failed input in a line; returns how many failed."""
    from ..archive.dataset import Pool, connect, run_archive

    resources = connect(cluster.address)
    pool = Pool.fitting(resources, cluster.cpus, cluster.gpus, cluster.workers)
    pool = replace(pool, workers=min(pool.workers, files.num_rows))
    detail(f"cluster: {resources.get('CPU', 0):g} CPU(s), {resources.get('GPU', 0):g} GPU(s); {pool.workers} worker(s)")
    failed = 0
    with bar(files.num_rows, f"{files.num_rows} {'videos' if kind == 'video' else 'photos'} on {pool.workers} worker(s)", "file") as progress:  # fmt: skip
        for status in run_archive(files, kind, settings, pool):
            for row in status.select(["source", "ok", "error"]).to_pylist():
                if not row["ok"]:
                    failed += 1
                    error = row["error"] or "failed"
                    echo_error(error if error.startswith(row["source"]) else f"{row['source']}: {error}")
            progress.update(status.num_rows)
    return failed
