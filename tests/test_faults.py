"""A corpus of bad inputs and faults, each run through the command line as a user would: one
line per problem (never a traceback), the run goes on past a bad file (exit 1), problems with
the run itself stop it before the models load (exit 2), and every output is complete or absent.
Faults the OS will not produce for root (a full disk, a read-only disk) are injected."""

from __future__ import annotations

import csv
import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from clips import Scene, make_clip, pcm_avi, small_video
from conftest import ROOT, run_cli
from PIL import Image

from annotate.media import files as files_module
from annotate.media import publish as publish_module

PHOTOS = ROOT / "samples" / "photos"
BAD_NAME = os.fsdecode(b"a_bad\xff.jpg")  # a name that is not UTF-8, as a camera card may have


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    """A bank file of the two sample people, built once."""
    folder = tmp_path_factory.mktemp("bank")
    for label in ("Eileen Collins", "Grace Hopper"):
        shutil.copytree(ROOT / "facebank" / label, folder / label)
    code, _, err = run_cli("bank", "build", folder)
    assert code == 0, err
    return folder / "facebank.npz"


@pytest.fixture()
def no_models(monkeypatch):
    """Fail the test if the command gets as far as loading the models."""

    def refuse(*args, **kwargs):
        raise RuntimeError("the models were loaded before the problem was found")

    monkeypatch.setattr("annotate.recognition.recognizer.Recognizer.__init__", refuse)
    monkeypatch.setattr("annotate.detection.detect.FaceDetector.__init__", refuse)


def one_line(err: str, *words: str) -> str:
    """The single error line of stderr, after checking it names each of ``words``."""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- photos -------------------------------------------------------------------------------


def bad_photos(folder: Path) -> Path:
    """A folder of the photos a real library holds, good and bad."""
    folder.mkdir()
    shutil.copy(PHOTOS / "both.jpg", folder / "good.jpg")
    for i in range(9):
        shutil.copy(PHOTOS / "grace_hopper_gray.jpg", folder / f"copy{i}.jpg")
    shutil.copy(PHOTOS / "grace_hopper_gray.jpg", folder / BAD_NAME)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("not a photo")
    data = (PHOTOS / "both.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    Image.new("RGB", (1, 1)).save(folder / "tiny.png")
    frames = [Image.open(PHOTOS / name).convert("P").resize((320, 160)) for name in ("both.jpg", "no_face.png")]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00\x12\x01\x03\x00\x01\x00\x00\x00"
    Image.open(PHOTOS / "both.jpg").save(folder / "bad_exif.jpg", exif=exif)
    (folder / "raw.cr2").write_bytes(b"II*\x00 a camera raw")
    (folder / "notes.txt").write_text("a sidecar, ignored without a word")
    (folder / "folder.jpg").mkdir()
    return folder


def test_bad_photos_get_a_line_each_and_the_run_goes_on(tmp_path, bank):
    photos = bad_photos(tmp_path / "in")
    code, _, err = run_cli("photos", photos, "-o", tmp_path / "out", "-b", bank)
    assert code == 1 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert sorted(e.split(": ")[1].rsplit("/", 1)[1] for e in errors) == ["empty.jpg", "text.jpg", "truncated.jpg"]
    assert "empty file" in err and "not an image" in err and "truncated" in err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert any("anim.gif: animated (2 frames); only the first is used" in w for w in warnings), err
    assert any("bad_exif.jpg: Corrupt EXIF data" in w for w in warnings), err
    assert any("skipped 1 file(s) of a type not read (1 .cr2), e.g. raw.cr2" in w for w in warnings), err
    table = rows(tmp_path / "out" / "faces.csv")
    by_file = {Path(r["path"]).name: r for r in table}
    assert len(by_file) == 17, "every photo has its rows"
    assert [r["label"] for r in table if r["path"].endswith("/good.jpg")] == ["Eileen Collins", "Grace Hopper"]
    assert by_file["a_bad\\udcff.jpg"]["label"] == "Grace Hopper", "the undecodable name is escaped, not fatal"
    assert by_file["empty.jpg"]["error"].endswith("empty file (0 bytes)") and by_file["empty.jpg"]["label"] == ""
    assert by_file["tiny.png"]["error"] == "" and by_file["tiny.png"]["face"] == "", "no face, no error"
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert BAD_NAME in written and "anim.gif" in written and "empty.jpg" not in written
    assert leftovers(tmp_path / "out") == []


def test_heic_photos_are_read_with_pillow_heif(tmp_path, bank):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif (annotate[heif]) is not installed")
    pillow_heif.register_heif_opener()
    (tmp_path / "in").mkdir()
    Image.open(PHOTOS / "both.jpg").save(tmp_path / "in" / "both.heic", quality=95)
    code, _, err = run_cli("photos", tmp_path / "in", "--csv", tmp_path / "faces.csv", "-b", bank)
    assert code == 0, err
    assert sorted(r["label"] for r in rows(tmp_path / "faces.csv")) == ["Eileen Collins", "Grace Hopper"]


@pytest.mark.parametrize(
    "case, says",
    [
        ("out is a file", "is a file, not a folder"),
        ("out under a file", "is a file, not a folder"),
        ("csv is a folder", "it is a folder; name a file"),
        ("exists", "already exists"),
    ],
)
def test_outputs_that_cannot_be_written_stop_the_run_before_the_models_load(tmp_path, no_models, case, says):
    (tmp_path / "file").write_text("a user's file")
    out, extra = tmp_path / "out", []
    if case == "out is a file":
        out = tmp_path / "file"
    elif case == "out under a file":
        out = tmp_path / "file" / "out"
    elif case == "csv is a folder":
        extra = ["--csv", tmp_path]
    elif case == "exists":
        (out / "both.jpg").parent.mkdir()
        (out / "both.jpg").write_text("a user's file")
    code, _, err = run_cli("photos", PHOTOS, "-o", out, *extra, "-b", "unused.npz")
    assert code == 2, err
    line = one_line(err, says)
    assert case != "exists" or ("--overwrite" in line and "--skip-existing" in line)
    assert (tmp_path / "file").read_text() == "a user's file"
    assert case != "exists" or (out / "both.jpg").read_text() == "a user's file"


def test_a_read_only_output_folder_is_found_before_the_models_load(tmp_path, no_models, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(files_module.tempfile, "TemporaryFile", read_only)
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "out", "-b", "unused.npz")
    assert code == 2
    one_line(err, str(tmp_path / "out"), "Read-only file system")
    code, _, err = run_cli("bank", "build", ROOT / "facebank", "-o", tmp_path / "bank.npz")
    assert code == 2
    one_line(err, "bank.npz", "Read-only file system")


def full_disk(monkeypatch, when=lambda name: True):
    """Make publishing a finished file fail as a full disk does, for the names ``when`` picks."""
    link = os.link

    def fail(src, dst, *args, **kwargs):
        if when(Path(dst).name):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return link(src, dst, *args, **kwargs)

    monkeypatch.setattr(publish_module.os, "link", fail)


def test_a_full_disk_gives_a_line_per_file_and_leaves_nothing_partial(tmp_path, bank, monkeypatch):
    full_disk(monkeypatch, when=lambda name: name == "both.jpg")
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "out", "-b", bank)
    assert code == 1 and "Traceback" not in err
    one_line(err, "both.jpg: cannot write (No space left on device)")
    assert not (tmp_path / "out" / "both.jpg").exists() and (tmp_path / "out" / "both_exif6.jpg").is_file()
    row = next(r for r in rows(tmp_path / "out" / "faces.csv") if r["path"].endswith("/both.jpg"))
    assert "No space left" in row["error"] and row["label"] == "Eileen Collins", "the faces are still listed"
    assert leftovers(tmp_path / "out") == []


def test_a_full_disk_when_the_table_is_closed_is_one_line(tmp_path, bank, monkeypatch):
    full_disk(monkeypatch, when=lambda name: name == "faces.csv")
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "out", "-b", bank)
    assert code == 2
    one_line(err, "faces.csv: cannot write (No space left on device)")
    assert not (tmp_path / "out" / "faces.csv").exists() and leftovers(tmp_path / "out") == []
    assert (tmp_path / "out" / "both.jpg").is_file(), "the copies already made are kept"


def test_a_file_that_appears_during_the_run_is_never_replaced(tmp_path, bank, monkeypatch):
    """Another run (or the user) writes an output after this run checked for it: it is kept."""
    import annotate.photos

    draw = annotate.photos.draw_faces

    def draw_and_race(image, faces, **options):
        intruder = tmp_path / "out" / "both.jpg"
        if not intruder.exists():
            intruder.parent.mkdir(parents=True, exist_ok=True)
            intruder.write_bytes(b"written by another run")
        return draw(image, faces, **options)

    monkeypatch.setattr(annotate.photos, "draw_faces", draw_and_race)
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "out", "-b", bank)
    assert code == 1
    one_line(err, "both.jpg: already exists")
    assert (tmp_path / "out" / "both.jpg").read_bytes() == b"written by another run"
    assert (tmp_path / "out" / "faces.csv").is_file() and leftovers(tmp_path / "out") == []


def test_skip_existing_and_no_render(tmp_path, bank):
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "index", "--no-render", "-b", bank)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == ["faces.csv"]
    out = tmp_path / "out"
    (out).mkdir()
    (out / "both.jpg").write_bytes(b"kept")
    code, stdout, err = run_cli("photos", PHOTOS, "-o", out, "--skip-existing", "-b", bank)
    assert code == 0, err
    assert (out / "both.jpg").read_bytes() == b"kept" and (out / "both_exif6.jpg").is_file()
    assert len(rows(out / "faces.csv")) == len(rows(tmp_path / "index" / "faces.csv")), "the table is complete"
    code, stdout, err = run_cli("photos", PHOTOS, "-o", out, "--skip-existing", "-b", bank)
    assert code == 0 and "nothing to do" in stdout


def test_a_read_only_bank_folder_is_used_unsaved(tmp_path, monkeypatch):
    folder = tmp_path / "people"
    shutil.copytree(ROOT / "facebank" / "Grace Hopper", folder / "Grace Hopper")
    make = publish_module.tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if Path(dir) == folder:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return make(*args, dir=dir, **kwargs)

    monkeypatch.setattr(publish_module.tempfile, "mkstemp", read_only)
    code, _, err = run_cli("photos", PHOTOS / "grace_hopper_gray.jpg", "--csv", tmp_path / "f.csv", "-b", folder)
    assert code == 0 and "could not save it" in err and "Read-only file system" in err, err
    assert rows(tmp_path / "f.csv")[0]["label"] == "Grace Hopper"


# --- inputs -------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_inputs_that_are_not_there_are_one_line(tmp_path, no_models):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    for given, says in (
        ("loop", "loops back on itself"),
        ("dangling.jpg", "gone.jpg, which does not exist"),
        ("missing.jpg", "no such file"),
    ):
        code, _, err = run_cli("photos", tmp_path / given, "-o", tmp_path / "out")
        assert code == 2
        one_line(err, given, says)


# --- video --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    make_clip(path, Scene(length=1.0))
    return path


def test_two_outputs_of_one_video_on_one_path_are_refused(tmp_path, clip, no_models):
    for args in (["--no-render", "--csv", "x.csv", "--detections", "x.csv"], ["-o", "x.mp4", "--csv", "x.mp4"]):
        code, _, err = run_cli("video", clip, *[str(tmp_path / a) if a.startswith("x.") else a for a in args])
        assert code == 2
        one_line(err, "would both be written to")


def test_an_existing_folder_given_as_the_video_output_holds_it(tmp_path, clip, bank):
    (tmp_path / "named.mp4").mkdir()
    code, _, err = run_cli("video", clip, "-o", tmp_path / "named.mp4", "-b", bank)
    assert code == 0, err
    assert (tmp_path / "named.mp4" / "clip.mp4").is_file()


def test_a_video_that_cannot_be_written_does_not_stop_the_next(tmp_path, clip, bank, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(clip, folder / "a.mp4")
    shutil.copy(clip, folder / "b.mp4")
    (folder / "c.mp4").write_text("not a video")
    from annotate.media.writer import VideoWriter

    write = VideoWriter.write

    def fill_up(self, picture, pts):
        if "a.mp4" in self.path.name and self.frames == 10:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(self, picture, pts)

    monkeypatch.setattr(VideoWriter, "write", fill_up)
    out = tmp_path / "out"
    code, _, err = run_cli("video", folder, "-o", out, "--csv", out, "-b", bank)
    assert code == 1 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "a.mp4: cannot write (No space left on device)" in errors[0], errors
    assert "c.mp4" in errors[1] and "not a video" in errors[1]
    assert sorted(p.name for p in out.iterdir()) == ["b.csv", "b.mp4"], "a's table waits for its render"
    assert leftovers(out) == []


def test_an_odd_sized_image_and_an_empty_video_folder(tmp_path, bank):
    image = np.zeros((479, 641, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / "odd.png")
    code, _, err = run_cli("photos", tmp_path / "odd.png", "-o", tmp_path / "out", "-b", bank)
    assert code == 0, err
    assert Image.open(tmp_path / "out" / "odd.png").size == (641, 479)
    (tmp_path / "videos").mkdir()
    code, _, err = run_cli("video", tmp_path / "videos", "-o", tmp_path / "vout", "-b", bank)
    assert code == 2
    one_line(err, "no videos found")


def test_a_missing_or_damaged_bank_is_found_before_the_models_load(tmp_path, no_models):
    (tmp_path / "bad.npz").write_text("labels: Eileen\n")
    for bank, says in ((tmp_path / "gone", "not found"), (tmp_path / "bad.npz", "not a face bank")):
        code, _, err = run_cli("photos", PHOTOS, "--csv", tmp_path / "f.csv", "-b", bank)
        assert code == 2
        one_line(err, str(bank), says, "annotate bank build")
    assert not (tmp_path / "f.csv").exists()


def test_a_photo_without_read_permission_is_not_called_truncated(tmp_path, bank, monkeypatch):
    """Root reads any file, so the refusal is injected where Pillow opens the file."""
    import PIL.Image

    open_image = PIL.Image.open

    def refuse(path, *args, **kwargs):
        if Path(path).name == "both.jpg":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return open_image(path, *args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", refuse)
    code, _, err = run_cli("photos", PHOTOS, "--csv", tmp_path / "f.csv", "-b", bank)
    assert code == 1
    line = one_line(err, "both.jpg: cannot read (Permission denied)")
    assert "truncated" not in line


def test_streams_the_output_cannot_hold_and_odd_sizes_come_with_a_note(tmp_path, bank):
    """The issue's MJPEG AVI with PCM audio, rendered to mp4, failed after the whole render."""
    folder = tmp_path / "in"
    folder.mkdir()
    pcm_avi(folder / "pcm.avi")
    small_video(folder / "odd.mkv", "ffv1", (641, 479), list(range(5)), "yuv444p")
    code, _, err = run_cli("video", folder, "-o", tmp_path / "out", "-b", bank)
    assert code == 0 and "Traceback" not in err, err
    assert "pcm.avi: audio stream 1 (pcm_s16le) cannot be stored in mp4 (Invalid argument); left out" in err
    assert "odd.mkv: 641x479 is odd-sized" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["odd.mkv", "pcm.mp4"]


def test_align_skips_existing_crops_and_names_the_ones_it_would_replace(tmp_path):
    out = tmp_path / "crops"
    code, stdout, err = run_cli("align", PHOTOS / "both.jpg", "-o", out)
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["both_0.png", "both_1.png"], err
    kept = (out / "both_1.png").read_bytes()
    (out / "both_0.png").unlink()
    code, stdout, err = run_cli("align", PHOTOS / "both.jpg", "-o", out)
    assert code == 1
    one_line(err, "both_1.png: already exists", "--skip-existing")
    assert (out / "both_0.png").is_file(), "the crop that was missing is made"
    (out / "both_0.png").unlink()
    code, stdout, err = run_cli("align", PHOTOS / "both.jpg", "-o", out, "--skip-existing")
    assert code == 0 and "1 crop(s) written" in stdout and "1 kept" in stdout, stdout
    assert (out / "both_1.png").read_bytes() == kept and (out / "both_0.png").is_file()


def test_skip_existing_with_only_tables_has_nothing_to_do_and_a_stale_table_is_named(tmp_path, bank, monkeypatch):
    code, _, err = run_cli("photos", PHOTOS, "--csv", tmp_path / "f.csv", "-b", bank)
    assert code == 0, err
    monkeypatch.setattr("annotate.recognition.recognizer.Recognizer.__init__", None)  # would fail if loaded
    code, stdout, err = run_cli("photos", PHOTOS, "--csv", tmp_path / "f.csv", "--skip-existing", "-b", bank)
    assert code == 0 and "nothing to do" in stdout, err
    monkeypatch.undo()
    more = tmp_path / "more"
    shutil.copytree(PHOTOS, more)
    shutil.copy(PHOTOS / "both.jpg", more / "new.jpg")
    (tmp_path / "out").mkdir()
    shutil.copy(tmp_path / "f.csv", tmp_path / "out" / "faces.csv")
    code, _, err = run_cli("photos", more, "-o", tmp_path / "out", "--skip-existing", "-b", bank)
    assert code == 0, err
    assert "faces.csv is kept as it is, but does not list 5 of the photos" in err, err
    assert (tmp_path / "out" / "faces.csv").read_bytes() == (tmp_path / "f.csv").read_bytes()
    assert (tmp_path / "out" / "new.jpg").is_file()


def test_a_full_disk_while_a_copy_is_written(tmp_path, bank, monkeypatch):
    save = Image.Image.save

    def fill_up(self, fp, *args, **kwargs):
        if ".both.jpg." in str(fp):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", fill_up)
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "out", "-b", bank)
    assert code == 1
    one_line(err, "both.jpg: cannot write (No space left on device)")
    assert not (tmp_path / "out" / "both.jpg").exists() and leftovers(tmp_path / "out") == []


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_symbolic_links_at_output_names(tmp_path, no_models):
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    code, _, err = run_cli("photos", PHOTOS, "--csv", tmp_path / "loop.csv", "-b", "unused.npz")
    assert code == 2
    one_line(err, "loop.csv: a symbolic link that loops back on itself")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "both.jpg").symlink_to(tmp_path / "gone.jpg")
    code, _, err = run_cli("photos", PHOTOS, "-o", tmp_path / "out", "-b", "unused.npz")
    assert code == 2
    one_line(err, "both.jpg: already exists")


def test_a_camera_jpeg_with_a_preview_is_not_called_animated(tmp_path):
    import warnings

    from annotate import read_image

    picture = Image.open(PHOTOS / "both.jpg")
    picture.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[picture.resize((160, 120))])
    assert Image.open(tmp_path / "camera.jpg").n_frames == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_image(tmp_path / "camera.jpg")
    assert [str(w.message) for w in caught] == []


@pytest.mark.skipif(os.name != "posix", reason="flock and process ids")
def test_only_the_leftovers_of_gone_runs_are_removed(tmp_path):
    """A .part whose process is gone is removed, unless someone holds its lock: a run in another
    container or host, where our process ids mean nothing."""
    import subprocess
    import sys

    from annotate.media import remove_stale_parts

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)
    stale, held = (tmp_path / f".{n}.jpg.{pid}.abcd1234.part" for n in ("stale", "held"))
    mine = tmp_path / f".mine.jpg.{os.getpid()}.abcd1234.part"
    user = tmp_path / f".user.{pid}.part"  # not of this program's pattern
    for path in (stale, held, mine, user):
        path.write_bytes(b"partial")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl,sys; f=open({str(held)!r}); fcntl.flock(f, fcntl.LOCK_EX); print(1, flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "1"
        assert remove_stale_parts([tmp_path]) == [stale]
    finally:
        holder.communicate("")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (held, mine, user))
    assert remove_stale_parts([tmp_path]) == [held], "once its holder is gone, it is a leftover too"
