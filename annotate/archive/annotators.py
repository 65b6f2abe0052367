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
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .. import __version__
from ..config import Config
from ..drawing.options import DrawOptions
from ..errors import AnnotateError, InputError
from ..recognition.bank import FaceBank
from ..video.analysis import VideoOptions
from .attempts import Attempts
from .tables import FORMATS, TABLES, detection_table, face_table, status_table, timeline_table, write_table

if TYPE_CHECKING:
    from ..photos import PhotoResult


@dataclass(frozen=True)
class ArchiveSettings:
    """Everything a worker needs, resolved once by the driver and shipped to every worker.

    config: the models (device and threads as each worker should use them). bank: the face
    bank, never rebuilt by a worker; bank_sha256 (derived): its fingerprint for the status table.
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
    bank_sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bank_sha256", bank_fingerprint(self.bank))  # once, on the driver
        if self.fmt not in FORMATS:
            raise InputError(f"format must be one of {', '.join(FORMATS)}, got {self.fmt!r}")
        if not self.out.is_absolute():
            raise InputError(f"{self.out}: the output folder must be an absolute path (workers run elsewhere)")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.run_id):
            raise InputError(f"run_id must be letters, digits, '.', '_' and '-' (it names files), got {self.run_id!r}")


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


Outcome = tuple[dict[str, Any], dict[str, pa.Table]]  # a file's status values, and its tables


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

    def __call__(self, batch: Any) -> pa.Table:
        """Process a block (columns source, relative); returns its status rows. A file's tables
        are kept only when its status is ok, so an input is in the tables once it is done, and
        ``--resume`` adds no row twice. Every table of the block is written, empty too, so a
        retried block replaces all its earlier fragments; the status is written last."""
        s = self.settings
        sources, relatives = _column(batch, "source"), _column(batch, "relative")
        name = _block_name(s.run_id, sources)
        parts: dict[str, list[pa.Table]] = {table: [] for table in self.tables}
        rows = []
        with Attempts(s.out / "attempts" / f"{name}.log") as attempts:
            for source, started, (values, tables) in self._files(sources, relatives, attempts):
                if values.get("ok"):
                    for table, rows_of_file in tables.items():
                        parts[table].append(rows_of_file)
                rows.append(self._status(source, started, **values))
        status = status_table(rows)
        for table, found in parts.items():
            write_table(
                pa.concat_tables(found) if found else TABLES[table].empty_table(),
                s.out / table / f"{name}.{s.fmt}",
                s.fmt,
            )
        write_table(status, s.out / "status" / f"{name}.{s.fmt}", s.fmt)
        attempts.path.unlink(missing_ok=True)
        return status

    def _files(
        self, sources: list[str], relatives: list[str], attempts: Attempts
    ) -> Iterator[tuple[str, float, Outcome]]:
        raise NotImplementedError


def _failure(error: Exception) -> str:
    """A file's error as one line: annotate's own errors as worded, anything else by its type."""
    if isinstance(error, AnnotateError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _failed(error: Exception | str) -> Outcome:
    return {"ok": False, "error": error if isinstance(error, str) else _failure(error)}, {}


class VideoAnnotator(_Annotator):
    """Whole videos: the timeline (and detections) of each, and its annotated copy under
    ``out/videos/<relative>`` (``.mp4`` unless the input's container is one annotate
    writes). A video that stops decoding part-way is an error row with its counts, and its
    copy is kept; its timeline is not (it is done again on ``--resume``)."""

    def __init__(self, settings: ArchiveSettings) -> None:
        super().__init__(settings)
        self.tables = ("timeline", "detections") if settings.detections else ("timeline",)

    def _files(
        self, sources: list[str], relatives: list[str], attempts: Attempts
    ) -> Iterator[tuple[str, float, Outcome]]:
        for source, relative in zip(sources, relatives):
            started = time.perf_counter()
            why = attempts.crashed(source)
            if why is not None:
                yield source, started, _failed(why)
                continue
            attempts.start(source)
            try:
                outcome = self._video(source, Path(relative))
            except Exception as error:  # a bad file is a row, and the block goes on
                outcome = _failed(error)
            attempts.end(source)
            yield source, started, outcome

    def _video(self, source: str, relative: Path) -> Outcome:
        from ..video.analysis import analyse_video
        from ..video.job import output_name
        from ..video.render import render_video

        s = self.settings
        analysis = analyse_video(source, self.recognizer, s.bank, s.video)
        output = None
        if s.render:
            output = s.out / "videos" / output_name(relative)
            render_video(analysis, output, s.video, overwrite=True, drawing=s.drawing)
        tables = {"timeline": timeline_table(source, s.run_id, analysis, s.include_unknown)}
        if s.detections:
            tables["detections"] = detection_table(source, s.run_id, analysis)
        error = None if analysis.error is None else f"decoding stopped early ({analysis.error})"
        values = {
            "ok": error is None,
            "error": error,
            "frames": analysis.decoded,
            "analysed": len(analysis.frames),
            "lost": analysis.lost,
            "faces": sum(len(f.faces) for f in analysis.frames),
            "named": ";".join(sorted({a.name for a in analysis.known()})),
            "output": None if output is None else str(output),
        }
        return values, tables


class PhotoAnnotator(_Annotator):
    """Photos, a block's photos batched through the models (one at a time when Ray retries a
    block): a row per face, and an annotated copy under ``out/photos/<relative>``. A photo's
    seconds are the time since the previous one's row (a batch's model time falls on its
    first photo)."""

    tables = ("faces",)

    def _files(
        self, sources: list[str], relatives: list[str], attempts: Attempts
    ) -> Iterator[tuple[str, float, Outcome]]:
        from ..media import InputFile
        from ..photos import recognise_photos

        todo = []
        for source, relative in zip(sources, relatives):
            why = attempts.crashed(source)
            if why is not None:
                yield source, time.perf_counter(), _failed(why)
            else:
                todo.append(InputFile(Path(source), Path(relative)))
        batch = 1 if attempts.retried else None  # a retry finds the photo that stops its worker
        if not attempts.retried:
            for photo in todo:
                attempts.start(str(photo.source))
        results = recognise_photos(todo, self.recognizer, self.settings.bank, batch)
        for i, photo in enumerate(todo):
            started, source = time.perf_counter(), str(photo.source)
            if attempts.retried:
                attempts.start(source)
            try:
                result = next(results)
            except Exception as error:  # the generator is spent: go on with the photos after it
                outcome = _failed(error)
                results = recognise_photos(todo[i + 1 :], self.recognizer, self.settings.bank, batch)
            else:
                try:  # a copy that cannot be saved fails this photo only; the generator goes on
                    outcome = self._photo(result)
                except Exception as error:
                    outcome = _failed(error)
            attempts.end(source)
            yield source, started, outcome

    def _photo(self, result: PhotoResult) -> Outcome:
        from ..photos import save_annotated

        s = self.settings
        if result.faces is None:
            return _failed(result.error or "unreadable")
        output = save_annotated(result, s.out / "photos", True, s.drawing) if s.render else None
        named = sorted({label for label in result.faces.labels or () if label is not None})
        values = {
            "ok": True,
            "frames": 1,
            "analysed": 1,
            "lost": 0,
            "faces": len(result.faces),
            "named": ";".join(named),
            "output": None if output is None else str(output),
        }
        return values, {"faces": face_table(str(result.source), s.run_id, result.faces)}
