"""The public API: the names `import annotate` exports, what importing costs, and settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import annotate
from annotate.config import Config
from annotate.errors import InputError
from annotate.runtime import devices


def test_every_public_name_resolves():
    assert annotate.__all__ == [
        "Config",
        "Recognizer",
        "Faces",
        "FaceBank",
        "load_bank",
        "build_bank",
        "read_image",
        "draw_faces",
        "analyse_video",
        "render_video",
        "VideoOptions",
        "VideoAnalysis",
        "to_csv",
        "to_jsonl",
        "sample_path",
        "AnnotateError",
    ]
    for name in annotate.__all__:
        assert getattr(annotate, name) is not None
    with pytest.raises(AttributeError):
        annotate.nothing_here


def test_importing_annotate_loads_no_torch():
    code = "import sys, annotate; print('torch' in sys.modules); annotate.Faces; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_every_public_name_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") :]
    section = section[: section.index("\n## ", 4)]
    missing = [name for name in annotate.__all__ if f"`{name}" not in section]
    assert missing == []


def test_samples_ship_with_the_package():
    assert sorted(p.name for p in annotate.sample_path("photos").iterdir()) == [
        "both.jpg",
        "both_exif6.jpg",
        "grace_hopper_gray.jpg",
        "no_face.png",
    ]
    assert annotate.sample_path("clip.mp4").stat().st_size > 10_000
    assert sorted(p.name for p in annotate.sample_path("facebank").iterdir() if p.is_dir()) == [
        "Eileen Collins",
        "Grace Hopper",
    ]
    with pytest.raises(FileNotFoundError):
        annotate.sample_path("nothing.mp4")


@pytest.mark.parametrize("settings", [{"min_face": 11}, {"threshold": 1.5}, {"threads": 0}])
def test_config_refuses_impossible_settings(settings):
    with pytest.raises(InputError):
        Config(**settings)


def test_recognizer_resolves_its_config_once(embedder):
    recognizer = annotate.Recognizer(device="cpu", threads=1)
    c = recognizer.config
    assert c.device == "cpu" and c.precision == "fp32" and c.threads == 1
    assert c.threshold == pytest.approx(0.331) and Path(c.model).name == "w600k_mbf.onnx"
    again = annotate.Recognizer(c)
    assert again.config == c
    with pytest.raises(TypeError):
        annotate.Recognizer(c, device="cpu")


def test_a_bank_of_another_model_is_refused(embedder):
    recognizer = annotate.Recognizer(device="cpu")
    other = annotate.FaceBank(("A",), np.eye(1, 512), np.ones(1), "other", "ab" * 32)
    with pytest.raises(annotate.AnnotateError, match="built with model other"):
        recognizer.recognise([np.zeros((64, 64, 3), np.uint8)], other)


@pytest.mark.parametrize(
    ("loadavg", "busy"),
    [
        ("0.00 0.01 0.05 1/300 123", 0),
        ("1.10 0.80 0.50 1/300 123", 1),  # a busy minute
        ("0.05 0.01 0.05 2/300 123", 1),  # another task running right now
        ("3.90 2.00 1.00 5/300 123", 4),
    ],
)
def test_busy_cores_reads_the_load(tmp_path, loadavg, busy):
    file = tmp_path / "loadavg"
    file.write_text(loadavg)
    assert devices.busy_cores(file) == busy


def test_default_threads_leaves_busy_cores_alone(monkeypatch):
    monkeypatch.setattr(devices, "usable_cores", lambda: 4)
    for busy, want in ((0, 4), (1, 3), (3, 1), (9, 1)):
        monkeypatch.setattr(devices, "busy_cores", lambda busy=busy: busy)
        assert devices.default_threads() == want


def test_using_threads_restores_the_callers_setting():
    import torch

    before = torch.get_num_threads()
    with devices.using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
