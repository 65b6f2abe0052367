"""Several videos at once (``annotate video --jobs N``): worker processes, each with its own
detector and embedder and the caller's face bank, given one video at a time.

One video rarely keeps a machine busy. Its decoder and encoder are single threads, and on the
CPU much of MTCNN is small serial work. Several videos side by side keep it busy. The workers
are processes rather than threads, because the pipeline's Python would contend for one GIL.
On the CPU each worker gets its share of torch's threads. Workers print nothing: they put
progress and each ``VideoReport`` on a queue, and the caller shows both.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..config import Config
from ..drawing.options import DrawOptions
from ..errors import AnnotateError
from ..recognition.bank import FaceBank
from ..recognition.recognizer import Recognizer
from .job import VideoJob, VideoOptions, VideoReport, process_video

# progress(job index, stage, total frames of a new stage or None, frames done since last call)
ProgressEvent = Callable[[int, str, "int | None", int], None]


@dataclass(frozen=True)
class WorkerSettings:
    """What each worker needs: the caller's resolved ``Config`` (with each worker's share of the
    CPU threads), its face bank (workers never rebuild it), and whether the timelines list
    unknown people, whether outputs that exist (or appear meanwhile) are replaced, and whose
    how the renders show faces (and whose they hide)."""

    config: Config
    bank: FaceBank
    include_unknown: bool = False
    overwrite: bool = False
    drawing: DrawOptions | None = None

    @classmethod
    def sharing(
        cls,
        recognizer: Recognizer,
        bank: FaceBank,
        workers: int,
        include_unknown: bool = False,
        overwrite: bool = False,
        drawing: DrawOptions | None = None,
    ) -> WorkerSettings:
        """Settings that rebuild ``recognizer`` in each of ``workers`` processes; on the CPU
        they share out its threads."""
        config = recognizer.config
        if config.device == "cpu":
            config = replace(config, threads=max(1, (config.threads or 1) // workers))
        return cls(config, bank, include_unknown, overwrite, drawing)


class _Stopped(Exception):
    """Raised inside a worker's video when the caller asks the workers to stop."""


def _watch_parent(grace: float = 10.0) -> threading.Event:
    """An event set when the parent process dies; ``grace`` seconds later the worker exits
    whatever it is doing (a worker waiting for work, or loading models, has nothing to tidy)."""
    orphaned = threading.Event()
    parent = multiprocessing.parent_process()

    def watch() -> None:
        if parent is None:
            return
        parent.join()  # returns when the parent's end of a pipe closes: it has exited, however
        orphaned.set()
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
    return orphaned


def _worker_main(settings: WorkerSettings, tasks: Any, events: Any, stop: Any) -> None:
    """A worker process: build the recognizer, then process tasks until a None or ``stop``.

    Ctrl-C (and a SIGTERM sent to the group) reaches every process of the terminal's group.
    Workers ignore both and stop through ``stop``, or when their parent is gone (``kill -9``),
    checked before each video and at every progress tick, so a video being written is
    abandoned through its context managers: its temporary file is removed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    orphaned = _watch_parent()
    try:
        recognizer = Recognizer(settings.config)
    except BaseException:  # the caller built the same recognizer, so this is a bug: report it
        events.put(("crashed", -1, traceback.format_exc()))
        return
    while True:
        task = tasks.get()
        if task is None or stop.is_set() or orphaned.is_set():
            return
        index, job, options = task

        def progress(stage: str, total: int | None, index: int = index) -> Callable[[int], None]:
            events.put(("progress", index, (stage, total, 0)))

            def tick(n: int) -> None:
                if stop.is_set() or orphaned.is_set():
                    raise _Stopped
                events.put(("progress", index, (stage, None, n)))

            return tick

        try:
            outcome: VideoReport | AnnotateError = process_video(
                job,
                recognizer,
                settings.bank,
                options,
                progress,
                settings.include_unknown,
                settings.overwrite,
                settings.drawing,
            )
        except _Stopped:
            return
        except AnnotateError as error:
            outcome = error
        except BaseException:
            events.put(("crashed", index, traceback.format_exc()))
            return
        events.put(("done", index, outcome))


def process_videos(
    jobs: Sequence[VideoJob], settings: WorkerSettings, options: VideoOptions, workers: int, progress: ProgressEvent
) -> Iterator[tuple[VideoJob, VideoReport | AnnotateError]]:
    """Process the jobs in ``workers`` processes; yield each job with its report, or with the
    project error that stopped it, as each finishes. If the caller stops early (Ctrl-C, an
    error), the workers abandon their videos cleanly and exit before this returns."""
    context = multiprocessing.get_context("spawn")  # fork is unsafe once torch (or CUDA) is up
    tasks, events, stop = context.Queue(), context.Queue(), context.Event()
    for index, job in enumerate(jobs):
        tasks.put((index, job, options))
    for _ in range(workers):
        tasks.put(None)
    processes = [
        context.Process(target=_worker_main, args=(settings, tasks, events, stop), daemon=True) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    remaining = len(jobs)
    try:
        while remaining:
            try:
                kind, index, payload = events.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p in processes):
                    raise RuntimeError("the video worker processes ended without finishing their videos") from None
                continue
            if kind == "progress":
                progress(index, *payload)
            elif kind == "done":
                remaining -= 1
                yield jobs[index], payload
            else:
                raise RuntimeError(f"a video worker failed:\n{payload}")
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():  # stuck: workers ignore SIGTERM (it is for the whole group), so SIGKILL
                process.kill()
                process.join(timeout=5)
