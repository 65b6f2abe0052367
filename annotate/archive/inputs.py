"""What an archive run reads and where it writes: the inputs (folders, or a manifest of paths
for millions of files), the output folder it owns, and what an earlier run there finished.

The output folder holds ``run.json`` (what decides the run's results: ``archive.record``) and a folder per
table, each of fragments named ``<run id>-<block>.<format>``. A block's status fragment is
written last, so a block with a status has all its tables; ``--resume`` removes the fragments
of blocks that stopped before their status (they are redone) and skips the inputs whose
status says ok.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EarlierRunError, InputError
from ..media import atomic_path, find_inputs
from .record import differences
from .tables import STATUS_SCHEMA, TABLES

INPUT_SCHEMA = pa.schema([pa.field("source", pa.string()), pa.field("relative", pa.string())])


def read_manifest(path: Path) -> pa.Table:
    """The inputs a manifest lists: a Parquet or CSV table with a ``path`` column (paths as
    the workers see them; a relative one is taken from the current folder). Each input's
    copy goes under its absolute path without the leading ``/``. Columnar throughout: a
    million paths take seconds, not Python objects."""
    if not path.is_file():
        raise InputError(f"{path}: the manifest does not exist")
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=["path"])
        else:
            import pyarrow.csv as pcsv

            types = pcsv.ConvertOptions(column_types={"path": pa.string()}, include_columns=["path"])
            table = pcsv.read_csv(path, convert_options=types)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a manifest with a 'path' column ({exc})") from exc
    paths = table.column("path").cast(pa.string()).combine_chunks()
    paths = paths.filter(pc.and_(pc.is_valid(paths), pc.not_equal(paths, "")))
    plain = pc.and_(pc.starts_with(paths, "/"), pc.invert(pc.match_substring_regex(paths, r"//|/\.\.?(/|$)|.+/$")))
    if not pc.all(plain).as_py():  # relative, or not in normal form: as Python's paths give them back
        paths = pa.array([os.path.abspath(p) for p in paths.to_pylist()], pa.string())
    relative = pc.utf8_slice_codeunits(paths, 1)
    return pa.Table.from_arrays([paths, relative], schema=INPUT_SCHEMA)


def _first_of_each(table: pa.Table) -> pa.Table:
    """The rows of ``table`` with a source not seen before, in order."""
    numbered = table.append_column("row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    first = numbered.group_by("source", use_threads=False).aggregate([("row", "min")]).column("row_min")
    return table.take(np.sort(first.to_numpy()))


def list_inputs(
    inputs: Sequence[Path],
    manifest: Path | None,
    suffixes: frozenset[str],
    others: frozenset[str] = frozenset(),
    copy_name: Callable[[str], str] | None = None,
) -> pa.Table:
    """The files to process, as columns ``source`` (absolute: a worker's working folder is not
    the driver's) and ``relative`` (where its copy goes, renamed by ``copy_name``: a video's
    copy may take another container): folders searched recursively and files as given, then
    the rows of ``manifest``, each file once. InputError when there are none, or when two
    would write one copy."""
    parts = [INPUT_SCHEMA.empty_table()]
    if inputs:
        found = find_inputs(inputs, suffixes, others)
        columns = {
            "source": [os.path.abspath(f.source) for f in found],
            "relative": [f.relative.as_posix() for f in found],
        }
        parts.append(pa.table(columns, schema=INPUT_SCHEMA))
    if manifest is not None:
        parts.append(read_manifest(manifest))
    table = _first_of_each(pa.concat_tables(parts).combine_chunks())
    if table.num_rows == 0:
        raise InputError("no inputs found (looked for " + ", ".join(sorted(suffixes)) + ")")
    if copy_name is not None:
        renamed = pa.array([copy_name(r) for r in table.column("relative").to_pylist()], pa.string())
        table = table.set_column(1, "relative", renamed)
    counts = table.group_by("relative").aggregate([("source", "count")])
    twice = counts.filter(pc.greater(counts.column("source_count"), 1))
    if twice.num_rows:
        relative = twice.column("relative")[0].as_py()
        both = table.filter(pc.equal(table.column("relative"), relative)).column("source").to_pylist()
        raise InputError(f"{both[0]} and {both[1]} would both be written to {relative}")
    return table


def _read_marker(marker: Path) -> dict[str, Any] | None:
    """An earlier run's ``run.json``, or None when there is none (or it is not one of ours)."""
    try:
        earlier = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return earlier if isinstance(earlier, dict) and earlier.get("annotate") == "archive" else None


def prepare_out(out: Path, record: dict[str, Any], resume: bool) -> None:
    """Make ``out`` an archive run's folder, with ``record`` (the kind of run, table format
    and what decides its results: model, bank, options) in ``run.json``; or, with ``resume``,
    check that it holds a run with the same record. A folder with other files is refused:
    the run owns its folder, so it never replaces a user's file. (A folder with only our
    ``run.json`` is a run that stopped before its first file, and starts afresh.)"""
    marker = out / "run.json"
    earlier = _read_marker(marker)
    others = out.is_dir() and any(p.name not in (marker.name, ".lock") for p in out.iterdir())
    if earlier is not None and others:
        if not resume:
            raise EarlierRunError(out)
        changed = differences(earlier, record)
        if changed:
            raise InputError(f"{out} holds a run made with other settings ({'; '.join(changed)})")
        return
    if out.exists() and (not out.is_dir() or others or (marker.exists() and earlier is None)):
        raise InputError(f"{out} is not empty and holds no earlier run")
    with atomic_path(marker, replace=True) as tmp:
        tmp.write_text(json.dumps({"annotate": "archive"} | record, indent=1) + "\n", encoding="utf-8")


@contextmanager
def lock_run(out: Path) -> Iterator[None]:
    """Hold ``out`` for this run: InputError if another run holds it (two runs in one folder
    would remove each other's unfinished fragments). An flock on ``out/.lock``, released
    when the block ends or the process dies."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock, no check
        yield
        return
    handle = open(out / ".lock", "a+", encoding="utf-8")  # noqa: SIM115 (closed below)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            raise InputError(f"{out} is in use by another run ({handle.read().strip() or 'unknown'})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"host {socket.gethostname()}, process {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def _fragments(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def finished(out: Path, fmt: str) -> pa.Array:
    """The sources an earlier run in ``out`` finished: a status row that says ok."""
    import pyarrow.dataset as ds

    folder = out / "status"
    if not _fragments(folder):
        return pa.array([], pa.string())
    if fmt == "csv":
        import pyarrow.csv as pcsv

        options = pcsv.ConvertOptions(column_types=STATUS_SCHEMA, strings_can_be_null=True)
        form: ds.FileFormat | str = ds.CsvFileFormat(convert_options=options)
    else:
        form = "parquet"
    data = ds.dataset(folder, format=form, schema=STATUS_SCHEMA)  # skips names that start with "." or "_"
    return data.to_table(columns=["source"], filter=pc.field("ok")).column("source").combine_chunks()


def remove_unfinished(out: Path) -> list[Path]:
    """Remove the table fragments of blocks that have no status fragment (a run stopped while
    writing them), and the earlier run's attempt logs: those inputs are done again. Returns
    what was removed."""
    statuses = {p.stem for p in _fragments(out / "status")}
    removed = _fragments(out / "attempts")
    for path in removed:
        path.unlink()
    for table in TABLES:
        if table == "status":
            continue
        for path in _fragments(out / table):
            if path.stem not in statuses:
                path.unlink()
                removed.append(path)
    return removed


def pending(files: pa.Table, out: Path, fmt: str) -> tuple[pa.Table, int]:
    """The inputs an earlier run in ``out`` did not finish, and how many it did; the fragments
    of its unfinished blocks are removed first."""
    remove_unfinished(out)
    left = files.filter(pc.invert(pc.is_in(files.column("source"), value_set=finished(out, fmt))))
    return left, files.num_rows - left.num_rows
