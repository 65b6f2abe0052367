"""Archives on a Ray cluster: the inputs as a Ray Dataset of paths in small blocks, the
annotators as a pool of actors (each loads the models once, on its own GPU where there are
GPUs), and the status rows streamed back to the driver as blocks finish.

Rows are paths, never pixels: Ray's own video reader puts each decoded frame in the object
store and drops audio, rotation and order, and its image reader ignores EXIF orientation. So
the object store holds only paths and status rows; the workers read and write the files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import ClusterError, InputError, MissingPackageError
from .annotators import ArchiveSettings, PhotoAnnotator, VideoAnnotator

ANNOTATORS = {"video": VideoAnnotator, "photos": PhotoAnnotator}
MAX_BLOCK = 16  # inputs per block at most: a block is what a lost worker redoes
BLOCKS_PER_WORKER = 16  # fewer, larger blocks leave workers idle at the end (benchmarks/README.md)


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingPackageError("ray[data]", "running on a Ray cluster", "ray") from None
    return ray


@dataclass(frozen=True)
class Pool:
    """The actors: how many, and the CPUs and GPUs each holds (threads for the networks = CPUs)."""

    workers: int
    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if self.workers < 1 or self.cpus <= 0 or self.gpus < 0:
            raise InputError(f"a pool needs at least one worker with CPUs, got {self}")

    @classmethod
    def fitting(
        cls, resources: dict[str, float], cpus: float = 1.0, gpus: float = 0.0, workers: int | None = None
    ) -> Pool:
        """``workers`` (None: as many as the cluster's ``resources`` hold, by GPUs when each
        takes some) with ``cpus`` and ``gpus`` each."""
        have = resources.get("GPU", 0.0) / gpus if gpus else resources.get("CPU", 1.0) / cpus
        if gpus and int(have) < (workers or 1):  # Ray would wait for them forever
            want = f"{workers or 1} worker(s) want {(workers or 1) * gpus:g} GPU(s)"
            raise InputError(f"{want}, and the cluster has {resources.get('GPU', 0):g}")
        return cls(workers or max(1, int(have)), cpus, gpus)


def connect(address: str | None = None, num_cpus: int | None = None) -> dict[str, float]:
    """Join the Ray cluster at ``address`` ("auto": the one this machine belongs to), or start a
    local one with ``num_cpus`` CPUs (None: all). Returns the cluster's resources. Ray's own
    progress output is turned off: the caller reports progress from the status rows."""
    ray = _ray()
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ClusterError(address, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return dict(ray.cluster_resources())


def block_size(inputs: int, workers: int) -> int:
    """Inputs per block: at least ``BLOCKS_PER_WORKER`` blocks for each worker where there are
    enough inputs (the pool hands blocks to whichever worker is free, so the last ones leave
    little idle time), and at most ``MAX_BLOCK`` inputs each."""
    return max(1, min(MAX_BLOCK, inputs // (BLOCKS_PER_WORKER * workers)))


class _Blocks:
    """One actor of the pool: an annotator, and the run's inputs (one table in the object
    store, which every actor of a node maps without copying). Called with block numbers."""

    def __init__(self, kind: str | type, settings: ArchiveSettings, files: pa.Table, size: int) -> None:
        self.annotator = (ANNOTATORS[kind] if isinstance(kind, str) else kind)(settings)
        self.files, self.size = files, size

    def __call__(self, batch: pa.Table) -> pa.Table:
        blocks = batch.column("id").to_pylist()
        return pa.concat_tables([self.annotator(self.files.slice(i * self.size, self.size)) for i in blocks])


def archive_dataset(files: pa.Table, kind: str | type, settings: ArchiveSettings, pool: Pool) -> Any:
    """The lazy ``ray.data.Dataset`` of a run over ``files`` (columns source and relative, as
    ``inputs.list_inputs`` gives them): one status row per input once executed (the tables
    and copies are written by the workers as they go). kind: "video" or "photos", or an
    annotator class of your own (built with the settings, called with a block of inputs,
    returning its status rows).

    The Dataset's rows are block numbers (``ray.data.range``, made lazily), and each actor
    reads a block's inputs from the one table it was given. Blocks made by the driver, an
    object each, cost minutes and gigabytes for a million inputs; blocks cut by a Ray task
    wait forever for a CPU when the actors hold them all."""
    if isinstance(kind, str) and kind not in ANNOTATORS:
        raise InputError(f"kind must be one of {', '.join(ANNOTATORS)}, got {kind!r}")
    ray = _ray()
    size = block_size(files.num_rows, pool.workers)
    count = -(-files.num_rows // size)
    return ray.data.range(count, override_num_blocks=count).map_batches(
        _Blocks,
        fn_constructor_kwargs={"kind": kind, "settings": settings, "files": files, "size": size},
        compute=ray.data.ActorPoolStrategy(size=pool.workers),
        num_cpus=pool.cpus,
        num_gpus=pool.gpus or None,
        batch_size=None,  # a block number per call: its tables are one fragment each
        batch_format="pyarrow",
    )


def run_archive(files: pa.Table, kind: str | type, settings: ArchiveSettings, pool: Pool) -> Iterator[pa.Table]:
    """Run the archive on the connected cluster (``connect``); yields each block's status rows
    as it finishes. A failure of the run as a whole (not of a file) is a ClusterError."""
    ray = _ray()
    dataset = archive_dataset(files, kind, settings, pool)
    try:
        yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")
    except ray.exceptions.RayError as exc:
        raise ClusterError(ray.get_runtime_context().gcs_address, str(exc).strip().splitlines()[-1]) from exc
