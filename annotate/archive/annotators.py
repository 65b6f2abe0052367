"""The work of one archive worker: plain classes that Ray Data runs as a pool of actors (each
loads the models once), and that run without Ray just as well.

An annotator is called with a block of inputs (columns ``source`` and ``relative``) and
processes each whole file, in order, with annotate's own readers: rows are paths, never
pixels. It writes the block's tables as fragments (status last: a block with a status has all
its tables), renders copies under the output folder, and returns the block's status rows. A
file that fails is a status row with its error, and the block goes on.
"""

from __future__ import annotations

import hashlib
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .. import __version__
from ..config import Config
from ..drawing.options import DrawOptions
from ..errors import AnnotateError, InputError
from ..recognition.bank import FaceBank
from ..video.analysis import VideoOptions
from .tables import FORMATS, detection_table, face_table, status_table, timeline_table, write_table


@dataclass(frozen=True)
class ArchiveSettings:
    """Everything a worker needs, resolved once by the driver and shipped to every worker.

    config: the models (device and threads as each worker should use them). bank: the face
    bank, never rebuilt by a worker; bank_sha256: its fingerprint for the status table.
    out: the run's folder, on storage every worker sees. run_id: this run's id, in every row.
    fmt: "parquet" or "csv". render: write annotated copies. detections: also write one row
    per face per analysed frame (videos). include_unknown: unknown people in the timeline.
    video: how videos are analysed and encoded. drawing: how faces are drawn, whose hidden.
    """

    config: Config
    bank: FaceBank
    out: Path
    run_id: str
    fmt: str = "parquet"
    render: bool = True
    detections: bool = False
    include_unknown: bool = False
    video: VideoOptions = field(default_factory=VideoOptions)
    drawing: DrawOptions | None = None
    bank_sha256: str = ""

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise InputError(f"format must be one of {', '.join(FORMATS)}, got {self.fmt!r}")
        if not self.out.is_absolute():
            raise InputError(f"{self.out}: the output folder must be an absolute path (workers run elsewhere)")


def bank_fingerprint(bank: FaceBank) -> str:
    """sha256 of a bank's labels, embeddings and model: equal banks name faces equally."""
    digest = hashlib.sha256(bank.model_sha256.encode())
    digest.update("\n".join(bank.labels).encode())
    digest.update(bank.embeddings.astype("<f4").tobytes())
    return digest.hexdigest()


def _column(batch: Any, name: str) -> list[Any]:
    """A column of a block given as an Arrow table or a dict of sequences."""
    if isinstance(batch, pa.Table):
        return batch.column(name).to_pylist()
    return [str(v) for v in batch[name]]


def _node() -> str:
    """Where this runs: the Ray node's id inside a Ray worker, else the host name."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return str(ray.get_runtime_context().get_node_id())
    return socket.gethostname()


def _block_name(run_id: str, sources: list[str]) -> str:
    """A block's fragment name: the same for the same inputs, so a block Ray retries replaces
    its own earlier fragments instead of adding rows twice."""
    return f"{run_id}-{hashlib.sha1(chr(10).join(sources).encode()).hexdigest()[:16]}"


class _Annotator:
    """The models and settings of one worker, and the writing of a block's tables."""

    tables: tuple[str, ...] = ()

    def __init__(self, settings: ArchiveSettings) -> None:
        from ..recognition.recognizer import Recognizer

        self.settings = settings
        self.recognizer = Recognizer(settings.config)
        settings.bank.check_model(self.recognizer.model_name, self.recognizer.model_sha256)

    def _status(self, source: str, started: float, **values: Any) -> dict[str, Any]:
        s = self.settings
        return {
            "source": source,
            "run_id": s.run_id,
            "seconds": round(time.perf_counter() - started, 3),
            "node": _node(),
            "model": self.recognizer.model_name,
            "bank_sha256": s.bank_sha256,
            "version": __version__,
        } | values

    def _write(self, sources: list[str], parts: dict[str, list[pa.Table]], status: pa.Table) -> None:
        s = self.settings
        name = f"{_block_name(s.run_id, sources)}.{s.fmt}"
        for table, tables in parts.items():
            if tables:
                write_table(pa.concat_tables(tables), s.out / table / name, s.fmt)
        write_table(status, s.out / "status" / name, s.fmt)

    def __call__(self, batch: Any) -> pa.Table:
        """Process a block (columns source, relative); returns its status rows."""
        sources, relatives = _column(batch, "source"), _column(batch, "relative")
        parts: dict[str, list[pa.Table]] = {table: [] for table in self.tables}
        rows = list(self._block(sources, relatives, parts))
        status = status_table(rows)
        self._write(sources, parts, status)
        return status

    def _block(
        self, sources: list[str], relatives: list[str], parts: dict[str, list[pa.Table]]
    ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError


def _failure(error: Exception) -> str:
    """A file's error as one line: annotate's own errors as worded, anything else by its type."""
    if isinstance(error, AnnotateError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class VideoAnnotator(_Annotator):
    """Whole videos: the timeline (and detections) of each, and its annotated copy under
    ``out/videos/<relative>`` (``.mp4`` unless the input's container is one annotate writes)."""

    def __init__(self, settings: ArchiveSettings) -> None:
        super().__init__(settings)
        self.tables = ("timeline", "detections") if settings.detections else ("timeline",)

    def _block(
        self, sources: list[str], relatives: list[str], parts: dict[str, list[pa.Table]]
    ) -> Iterator[dict[str, Any]]:
        for source, relative in zip(sources, relatives):
            started = time.perf_counter()
            try:
                yield self._status(source, started, **self._video(source, Path(relative), parts))
            except Exception as error:  # a bad file is a row, and the block goes on
                yield self._status(source, started, ok=False, error=_failure(error))

    def _video(self, source: str, relative: Path, parts: dict[str, list[pa.Table]]) -> dict[str, Any]:
        from ..video.analysis import analyse_video
        from ..video.job import output_name
        from ..video.render import render_video

        s = self.settings
        analysis = analyse_video(source, self.recognizer, s.bank, s.video)
        output = None
        if s.render:
            output = s.out / "videos" / output_name(relative)
            render_video(analysis, output, s.video, overwrite=True, drawing=s.drawing)
        parts["timeline"].append(timeline_table(source, s.run_id, analysis, s.include_unknown))
        if s.detections:
            parts["detections"].append(detection_table(source, s.run_id, analysis))
        error = None if analysis.error is None else f"decoding stopped early ({analysis.error})"
        return {
            "ok": error is None,
            "error": error,
            "frames": analysis.decoded,
            "analysed": len(analysis.frames),
            "lost": analysis.lost,
            "faces": sum(len(f.faces) for f in analysis.frames),
            "named": ";".join(sorted({a.name for a in analysis.known()})),
            "output": None if output is None else str(output),
        }


class PhotoAnnotator(_Annotator):
    """Photos, a block's photos batched through the models: a row per face, and an annotated
    copy under ``out/photos/<relative>``. A photo's seconds are the time since the previous
    one's row (its batch's model time falls on the batch's first photo)."""

    tables = ("faces",)

    def _block(
        self, sources: list[str], relatives: list[str], parts: dict[str, list[pa.Table]]
    ) -> Iterator[dict[str, Any]]:
        from ..media import InputFile
        from ..photos import recognise_photos, save_annotated

        s = self.settings
        started = time.perf_counter()
        photos = [InputFile(Path(a), Path(b)) for a, b in zip(sources, relatives)]
        for result in recognise_photos(photos, self.recognizer, s.bank):
            source = str(result.source)
            if result.faces is None:
                yield self._status(source, started, ok=False, error=result.error)
                started = time.perf_counter()
                continue
            try:
                output = save_annotated(result, s.out / "photos", True, s.drawing) if s.render else None
            except AnnotateError as error:
                yield self._status(source, started, ok=False, error=str(error))
                started = time.perf_counter()
                continue
            parts["faces"].append(face_table(source, s.run_id, result.faces))
            named = sorted({label for label in result.faces.labels or () if label is not None})
            yield self._status(
                source,
                started,
                ok=True,
                frames=1,
                analysed=1,
                lost=0,
                faces=len(result.faces),
                named=";".join(named),
                output=None if output is None else str(output),
            )
            started = time.perf_counter()
