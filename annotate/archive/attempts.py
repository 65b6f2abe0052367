"""A block's log of the files its workers started and finished, so that a file that kills
its worker is found and left out when Ray retries the block."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path

CRASHES = 2  # a file started this many times without finishing is not tried again


class Attempts:
    """A block's log of the files started and finished, beside its fragments until its status
    is written. A worker killed by a file (out of memory, a crash in a decoder) takes its
    block with it, and Ray retries the block; a file started ``CRASHES`` times without
    finishing is then an error row, so the retries end and the block's other files are done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.unfinished: Counter[str] = Counter()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            with contextlib.suppress(ValueError, IndexError):
                self.unfinished[json.loads(line[1:])] += 1 if line[0] == "+" else -1
        self.retried = bool(lines)

    def __enter__(self) -> Attempts:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.path, "a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self._log.close()

    def crashed(self, source: str) -> str | None:
        """Why ``source`` is not tried again, or None."""
        n = self.unfinished[source]
        return f"its worker stopped {n} times while processing it (out of memory, or a crash)" if n >= CRASHES else None

    def start(self, source: str) -> None:
        self._write("+", source)

    def end(self, source: str) -> None:
        self._write("-", source)

    def _write(self, sign: str, source: str) -> None:
        self._log.write(sign + json.dumps(source) + "\n")
        self._log.flush()
