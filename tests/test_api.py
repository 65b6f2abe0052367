"""The public API: the names `import annotate` exports, what importing costs, and settings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli

import annotate
from annotate.config import Config
from annotate.errors import InputError
from annotate.runtime import cpuload, devices


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
        "find_people",
        "People",
        "write_people",
        "watch",
        "LiveOptions",
        "LiveResult",
        "SourceSpec",
        "ArchiveSettings",
        "VideoAnnotator",
        "PhotoAnnotator",
        "archive_dataset",
        "run_archive",
    ]
    archive = importlib.util.find_spec("pyarrow") is None  # the ray extra is not installed
    for name in annotate.__all__:
        if archive and annotate._EXPORTS[name].startswith(".archive"):
            with pytest.raises(annotate.AnnotateError, match="pyarrow, which is not installed"):
                getattr(annotate, name)
            continue
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
    with pytest.raises(annotate.AnnotateError, match=r"no sample 'nothing\.mp4'"):
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


def test_others_busy_is_the_machines_cpu_time_less_this_processs():
    start = cpuload.CpuTimes(machine_busy=100.0, own=5.0, wall=10.0)
    assert cpuload.others_busy(start, cpuload.CpuTimes(101.0, 5.5, 11.0)) == pytest.approx(0.5)
    assert cpuload.others_busy(start, cpuload.CpuTimes(102.0, 7.0, 11.0)) == 0.0  # all of it ours
    assert cpuload.others_busy(start, cpuload.CpuTimes(103.8, 5.0, 12.0)) == pytest.approx(1.9)
    assert cpuload.others_busy(cpuload.CpuTimes(None, 0, 0), cpuload.CpuTimes(None, 0, 1)) is None


def test_a_busy_loop_in_another_process_is_seen():
    code = "import time\nend = time.time() + 30\nwhile time.time() < end:\n    pass\n"
    busy = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        start = cpuload.sample()
        time.sleep(0.5)
        seen = cpuload.busy_since(start)
    finally:
        busy.kill()
        busy.wait()
    assert seen is not None and seen > 0.6  # one core, less what other work left it


def test_default_threads_leaves_busy_cores_alone(monkeypatch):
    monkeypatch.setattr(devices, "usable_cores", lambda: 4)
    for busy, want in ((0.0, 4), (0.9, 3), (2.6, 1), (9.0, 1)):
        monkeypatch.setattr(devices, "busy_since", lambda since, busy=busy: busy)
        assert devices.default_threads(since=cpuload.sample()) == want
    monkeypatch.setattr(devices, "busy_since", lambda since: None)  # no /proc/stat: the load average
    monkeypatch.setattr(devices, "load_average", lambda: 1.2)
    assert devices.default_threads(since=cpuload.sample()) == 3 and devices.default_threads() == 3


def test_using_threads_restores_the_callers_setting():
    import torch

    before = torch.get_num_threads()
    with devices.using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_read_image_takes_a_string_path():
    image = annotate.read_image(str(annotate.sample_path("photos") / "both.jpg"))
    assert image.dtype == np.uint8 and image.shape[2] == 3
    with pytest.raises(annotate.AnnotateError, match="no such file"):
        annotate.read_image("no/such/photo.jpg")


def test_video_options_refuse_what_libx264_would_refuse_later():
    with pytest.raises(InputError, match="preset"):
        annotate.VideoOptions(preset="quick")
    code, _, err = run_cli("video", ROOT / "samples" / "clip.mp4", "-o", "x.mp4", "--preset", "quick")
    assert code == 2 and "unknown libx264 preset 'quick'" in err and len(err.strip().splitlines()) == 1


def test_outputs_of_one_run_never_name_the_same_file(tmp_path):
    clip = annotate.sample_path("clip.mp4")
    same = tmp_path / "x.txt"
    code, _, err = run_cli("video", clip, "--no-render", "--csv", same, "--detections", same)
    assert code == 2 and f"two outputs of {clip} would both be written to {same}" in err and not same.exists()
    code, _, err = run_cli("photos", annotate.sample_path("photos"), "--csv", same, "--detections", same)
    assert code == 2 and "same file" in err and not same.exists()


def test_machine_load_counts_only_the_cores_this_process_may_use(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  700 0 300 100 0 0 0 0 0 0\n"
        "cpu0 600 0 200 50 0 0 0 0 0 0\n"  # busy, but not ours
        "cpu1 100 0 100 50 0 0 0 0 0 0\n"
        "intr 12345\n"
    )
    monkeypatch.setattr(cpuload.os, "sched_getaffinity", lambda pid: {1}, raising=False)
    ticks = cpuload.os.sysconf("SC_CLK_TCK")
    assert cpuload.sample(stat).machine_busy == pytest.approx(200 / ticks)
    monkeypatch.setattr(cpuload.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert cpuload.sample(stat).machine_busy == pytest.approx(1000 / ticks)


def test_the_wheel_carries_what_the_runtime_reads():
    # setup.py copies SHIPPED's folders into annotate/_data at build time; runtime.resources
    # reads the same names: both tables must agree, and the patterns must cover each file read
    import ast

    from annotate.runtime import resources

    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "SHIPPED")
    built = ast.literal_eval(node.value)
    assert {name: folder for name, (folder, _) in built.items()} == resources.SHIPPED
    copied = {
        (name, path.relative_to(ROOT / folder).as_posix())
        for name, (folder, patterns) in built.items()
        for pattern in patterns
        for path in (ROOT / folder).glob(pattern)
    }
    needed = [("mtcnn", f"{net}.pt") for net in ("pnet", "rnet", "onet")]
    needed += [("fonts", resources.font_path().name), ("samples", "clip.mp4")]
    needed += [("samples", f"photos/{p.name}") for p in annotate.sample_path("photos").iterdir()]
    needed += [("facebank", p.relative_to(ROOT / "facebank").as_posix()) for p in (ROOT / "facebank").glob("*/*.jpg")]
    assert [item for item in needed if item not in copied] == []
