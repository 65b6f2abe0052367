"""annotate.drawing.draw: the shipped CJK font, box/label/landmark placement, colours and sizes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import ImageFont

from annotate.drawing import draw
from annotate.drawing.draw import draw_faces, label_colour
from annotate.errors import AnnotateError
from annotate.faces import Faces
from annotate.runtime import resources

NAMES = "Zoë Łukasz 张伟 山田太郎 김민준"
ABSENT = "\ue000"  # private use: in no font we ship, so it renders as .notdef
BG = (10, 20, 30)


def glyph_bitmap(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    """(size, pixels) of the rendered glyph, comparable between characters."""
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def face(x: float, y: float, w: float, h: float | None = None) -> tuple[list[float], np.ndarray]:
    """A box and 5 landmarks (eyes at 30% height, nose 60%, mouth 80%) for a face at (x,y)."""
    h = w * 1.25 if h is None else h
    rel = np.array([[0.3, 0.3], [0.7, 0.3], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]])
    return [x, y, x + w, y + h], rel * [w, h] + [x, y]


def make_faces(*specs: tuple[list[float], np.ndarray]) -> Faces:
    boxes = np.array([b for b, _ in specs], dtype=np.float32).reshape(-1, 4)
    marks = np.array([m for _, m in specs], dtype=np.float32).reshape(-1, 5, 2)
    return Faces(boxes, np.ones(len(boxes)), marks)


def named(faces: Faces, labels, sims=None, tracks=None) -> Faces:
    """``faces`` with a labels column (None: Unknown) and, if given, similarities and tracks."""
    columns: dict[str, object] = {"labels": tuple(labels)}
    if sims is not None:
        columns["similarities"] = sims
    if tracks is not None:
        columns["tracks"] = tracks
    return faces.with_columns(**columns)


def canvas(h: int, w: int) -> np.ndarray:
    return np.full((h, w, 3), BG, dtype=np.uint8)


def is_colour(image: np.ndarray, x: int, y: int, colour: tuple[int, int, int]) -> bool:
    return tuple(int(v) for v in image[y, x]) == colour


def run_length(image: np.ndarray, x: int, y: int, dx: int, dy: int, colour: tuple[int, int, int]) -> int:
    """How many pixels from (x,y) stepping (dx,dy) are exactly ``colour``."""
    n = 0
    while 0 <= x < image.shape[1] and 0 <= y < image.shape[0] and is_colour(image, x, y, colour):
        n, x, y = n + 1, x + dx, y + dy
    return n


# ---------------------------------------------------------------- the font


def test_font_has_every_glyph_of_the_test_names() -> None:
    path = resources.font_path()
    cmap = TTFont(path).getBestCmap()
    font = ImageFont.truetype(str(path), 32)
    notdef = glyph_bitmap(font, ABSENT)
    for ch in NAMES.replace(" ", ""):
        assert ord(ch) in cmap, f"{ch!r} U+{ord(ch):04X} not in the font's cmap"
        size, pixels = glyph_bitmap(font, ch)
        assert (size, pixels) != notdef, f"{ch!r} renders as the missing-glyph box"
        assert any(pixels), f"{ch!r} renders empty"


def test_font_is_small_and_licensed() -> None:
    path = resources.font_path()
    assert path.stat().st_size < 3_500_000
    assert (path.parent / "LICENSE-wqy-microhei.txt").is_file()
    assert "Apache" in (TTFont(path)["name"].getDebugName(13) or "")


def test_pillow_default_font_would_not_do() -> None:
    font = ImageFont.load_default(size=32)
    if not isinstance(font, ImageFont.FreeTypeFont):
        pytest.skip("Pillow built without FreeType: its bitmap default font has no CJK at all")
    notdef = glyph_bitmap(font, ABSENT)
    assert any(glyph_bitmap(font, ch) == notdef for ch in "张山김")


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(resources, "font_path", lambda: tmp_path / "gone.ttf")
    with pytest.raises(AnnotateError, match="font"):
        draw_faces(canvas(200, 200), named(make_faces(face(50, 80, 60)), ["Zoë"]))


def test_importing_loads_no_font() -> None:
    code = "import annotate.drawing.draw, annotate.drawing.fonts as f; print(f.load_font.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


# ---------------------------------------------------------------- colours


def test_label_colours_are_stable_distinct_and_grey_for_unknown() -> None:
    assert label_colour("Eileen Collins") == (57, 230, 223)  # regression guard: sha256-based, not hash()
    assert label_colour("张伟") != label_colour("Zoë Łukasz")
    assert label_colour("Eileen Collins") != label_colour("Grace Hopper")
    assert label_colour(None) == (128, 128, 128)  # Unknown: no bank label
    r, g, b = label_colour("Grace Hopper")
    assert max(r, g, b) - min(r, g, b) > 100  # saturated


def test_label_colour_is_the_same_in_another_process() -> None:
    code = "from annotate.drawing.draw import label_colour; print(label_colour('Zoë Łukasz'))"
    env = {"PYTHONHASHSEED": "12345", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=resources.source_checkout(),
    )
    assert out.stdout.strip() == str(label_colour("Zoë Łukasz"))


# ---------------------------------------------------------------- drawing


def test_box_edges_label_above_and_landmarks() -> None:
    image = canvas(400, 400)
    spec = face(100, 150, 120)
    out = draw_faces(image, named(make_faces(spec), ["Eileen Collins"], np.array([0.62])))
    colour = label_colour("Eileen Collins")
    (x1, y1, x2, y2), marks = spec
    my, mx = int((y1 + y2) / 2), int((x1 + x2) / 2)
    assert is_colour(out, int(x1), my, colour)  # left edge
    assert is_colour(out, int(x2) - 1, my, colour)  # right edge
    assert is_colour(out, mx, int(y2) - 1, colour)  # bottom edge
    assert is_colour(out, mx, int(y1), colour)  # top edge
    assert is_colour(out, mx, my, BG)  # inside is untouched
    # the label: a filled rectangle ending at the box top, starting at the box's left edge
    assert is_colour(out, int(x1) + 1, int(y1) - 1, colour)
    assert run_length(out, int(x1) + 1, int(y1) - 1, 0, -1, colour) >= 14
    assert is_colour(out, int(x1) - 1, int(y1) - 5, BG)
    for x, y in marks:
        assert is_colour(out, int(round(x)), int(round(y)), colour)


def test_label_goes_inside_the_box_at_the_top_edge() -> None:
    spec = face(100, 0, 120)
    out = draw_faces(canvas(400, 400), named(make_faces(spec), ["Eileen Collins"]))
    colour = label_colour("Eileen Collins")
    style = draw._Style.for_face(120, 400)
    # just inside the box's left and top outline: label fill, not background
    x, y = 100 + style.line + 1, style.line + 1
    assert is_colour(out, x, y, colour)
    assert run_length(out, 101, 0, 0, 1, colour) > 14  # label height + line, not just a line
    # without the top edge the same spot is background
    moved = draw_faces(canvas(400, 400), named(make_faces(face(100, 100, 120)), ["Eileen Collins"]))
    assert is_colour(moved, x, 100 + style.line + 1, BG)


def test_unmatched_faces_draw_box_but_no_text_and_similarity_widens_label() -> None:
    spec = face(100, 150, 120)
    blank = draw_faces(canvas(400, 400), make_faces(spec))  # no labels column: never matched
    assert is_colour(blank, 101, 149, BG)
    assert is_colour(blank, 100, 200, label_colour(None))
    plain = draw_faces(canvas(400, 400), named(make_faces(spec), ["Zoë"], np.array([np.nan])))
    scored = draw_faces(canvas(400, 400), named(make_faces(spec), ["Zoë"], np.array([0.62])))
    colour = label_colour("Zoë")
    assert run_length(scored, 100, 148, 1, 0, colour) > run_length(plain, 100, 148, 1, 0, colour)
    hidden = draw_faces(canvas(400, 400), named(make_faces(spec), ["Zoë"], np.array([0.62])), similarity=False)
    np.testing.assert_array_equal(hidden, plain)


def test_sizes_grow_with_face_width() -> None:
    measured = {}
    for w in (50, 1000):
        (x1, y1, _x2, y2), marks = spec = face(400, 600, w)
        out = draw_faces(canvas(2000, 2000), named(make_faces(spec), ["Grace Hopper"]))
        colour = label_colour("Grace Hopper")
        line = run_length(out, int(x1), int((y1 + y2) / 2), 1, 0, colour)
        label = run_length(out, int(x1) + 1, int(y1) - 1, 0, -1, colour)
        dot = run_length(out, int(marks[0, 0]), int(marks[0, 1]), 1, 0, colour)
        measured[w] = (line, label, dot)
    (line_s, label_s, dot_s), (line_l, label_l, dot_l) = measured[50], measured[1000]
    assert 2 <= line_s < line_l <= 12
    # in a 2000 px picture a label is at least 2000/60 px of font tall, and a big face's twice that
    assert 2000 // 60 <= label_s and label_l >= 1.9 * label_s
    assert dot_s < dot_l


def test_unknown_is_grey_on_the_image() -> None:
    spec = face(100, 150, 120)
    out = draw_faces(canvas(400, 400), named(make_faces(spec), [None]))
    assert is_colour(out, 100, 200, (128, 128, 128))
    assert is_colour(out, 101, 149, (128, 128, 128))  # the "Unknown" label above the box
    # an unknown person of a video ("Unknown #3") is grey too
    tracked = draw_faces(canvas(400, 400), named(make_faces(spec), [None], tracks=[3]))
    assert is_colour(tracked, 100, 200, (128, 128, 128))
    assert run_length(tracked, 100, 148, 1, 0, (128, 128, 128)) > run_length(out, 100, 148, 1, 0, (128, 128, 128))


def test_input_untouched_and_empty_faces_copy() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    before = image.copy()
    out = draw_faces(
        image, named(make_faces(face(100, 100, 80), face(10, 200, 50)), ["张伟", None], np.array([0.7, 0.1]))
    )
    np.testing.assert_array_equal(image, before)
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.array_equal(out, image)
    same = draw_faces(image, Faces.empty())
    np.testing.assert_array_equal(same, image)
    assert same is not image and not np.shares_memory(same, image)


def test_faces_partly_or_wholly_outside_do_not_crash() -> None:
    specs = [
        face(-40, -30, 100),  # top-left corner, cut
        face(250, 250, 200),  # bottom-right, cut
        face(-1e9, -1e9, 2e9),  # absurdly large
        face(500, 500, 40),  # wholly outside
        face(-5, 100, 60),  # left edge: label clamped into the image
    ]
    faces = named(
        make_faces(*specs), ["Zoë", "山田太郎", "김민준", "x", "Łukasz"], np.array([0.5, np.inf, 0.3, 1, -0.2])
    )
    out = draw_faces(canvas(300, 300), faces)
    assert out.shape == (300, 300, 3)
    assert is_colour(out, 0, 99, label_colour("Łukasz"))  # label pulled right to x=0
    nan_faces = Faces(np.full((1, 4), np.nan), np.ones(1), np.full((1, 5, 2), np.nan))
    np.testing.assert_array_equal(draw_faces(canvas(50, 50), named(nan_faces, ["a"])), canvas(50, 50))


def test_bad_arguments_are_value_errors() -> None:
    faces = make_faces(face(10, 10, 50))
    # a label or similarity count that does not fit the faces cannot reach the drawing: the
    # Faces table refuses it
    with pytest.raises(ValueError, match="labels"):
        named(faces, [])
    with pytest.raises(ValueError, match="similarities"):
        named(faces, ["a"], np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="uint8"):
        draw_faces(np.zeros((100, 100, 3), np.float32), named(faces, ["a"]))
    with pytest.raises(ValueError, match="uint8"):
        draw_faces(np.zeros((100, 100), np.uint8), named(faces, ["a"]))


def test_painting_regions_gives_the_pixels_of_painting_the_whole_image() -> None:
    # the fast path paints each face's marks and each label on its own crop, one after the
    # other; the plain path paints the whole image. Random layouts: edges, overlaps, tiny and
    # huge faces, tall glyphs.
    rng = np.random.default_rng(0)
    names = ["Zoë", "山田太郎", "김민준", "Łukasz", None, "", "ÅÉgjy", "x" * 30, ABSENT]  # None: Unknown
    crops = 0
    for trial in range(60):
        h, w = int(rng.integers(120, 720)), int(rng.integers(120, 1280))
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        n = int(rng.integers(1, 9))
        specs = [face(rng.uniform(-80, w), rng.uniform(-80, h), rng.uniform(8, 400)) for _ in range(n)]
        specs[0] = face(rng.uniform(0.5, 3.5), rng.uniform(0.5, 3.5), 60.3)  # near the corner, fractional
        labels = [names[int(i)] for i in rng.integers(0, len(names), n)]
        sims = rng.uniform(-1, 1, n)
        tracks = np.arange(1, n + 1) if trial % 2 else None  # in a video: "Unknown #k"
        faces = named(make_faces(*specs), labels, sims, tracks) if trial % 7 else make_faces(*specs)
        fast = draw_faces(image, faces)
        plain = draw_faces(image, faces, region=False)
        np.testing.assert_array_equal(fast, plain, err_msg=f"trial {trial}")
        crops += len(draw.plan_patches(faces, w, h))
    assert crops > 60  # many layouts were painted as several crops


# ---------------------------------------------------------------- labels that publish

from annotate.drawing.fonts import advance  # noqa: E402
from annotate.drawing.labels import fit, label_text  # noqa: E402
from annotate.drawing.options import DrawOptions  # noqa: E402


def label_rects(faces: Faces, width: int, height: int, options: DrawOptions | None = None):
    return [p.label for p in draw.plan_patches(faces, width, height, True, options) if p.label is not None]


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_crowd_labels_never_overlap_each_other() -> None:
    # 32 faces in a tight 8 x 4 grid, 1280x720, long names: every label has a spot of its own
    specs = [face(20 + 155 * c, 30 + 172 * r, 110) for r in range(4) for c in range(8)]
    names = [f"Person number {k} of the crowd" for k in range(32)]
    faces = named(make_faces(*specs), names, np.full(32, 0.71))
    rects = label_rects(faces, 1280, 720)
    assert len(rects) == 32
    for i, a in enumerate(rects):
        assert 0 <= a[0] and a[2] <= 1280 and 0 <= a[1] and a[3] <= 720, "inside the picture"
        for b in rects[i + 1 :]:
            assert not overlaps(a, b), (a, b)
    boxes = faces.boxes.tolist()
    clear = sum(not any(overlaps(r, b) for j, b in enumerate(boxes) if j != i) for i, r in enumerate(rects))
    assert clear >= 28, f"only {clear} of 32 labels clear of the other faces"
    out = draw_faces(canvas(720, 1280), faces)
    assert out.shape == (720, 1280, 3)


def test_long_names_at_the_edges_keep_their_score_and_stay_in_the_picture() -> None:
    long = "Maria Fernanda de los Santos Rodríguez-Villalobos y Montenegro"
    text = fit(long, " 0.62", 200, lambda t: advance(t, 16))
    assert text.endswith("… 0.62") and advance(text, 16) <= 200 and text.startswith("Maria")
    for x in (0, 330):  # at the left and the right edge of a 400 px picture
        faces = named(make_faces(face(x, 0, 70)), [long], np.array([0.62]))
        (rect,) = label_rects(faces, 400, 300)
        assert 0 <= rect[0] and rect[2] <= 400 and rect[1] >= 0


def test_unknown_faces_show_no_score_unless_their_nearest_is_asked_for() -> None:
    assert label_text("Grace Hopper", True, 0.62, "Grace Hopper", False) == ("Grace Hopper", " 0.62")
    assert label_text("Unknown #3", False, -0.04, "Ross", False) == ("Unknown #3", "")
    assert label_text("Unknown", False, 0.29, "Ross", True) == ("Unknown", " (Ross? 0.29)")
    spec = face(100, 150, 120)
    faces = named(make_faces(spec), [None], np.array([-0.04]))
    plain = draw_faces(canvas(400, 400), faces)
    no_scores = draw_faces(canvas(400, 400), faces, similarity=False)
    np.testing.assert_array_equal(plain, no_scores)  # the score was never drawn
    nearest = faces.with_columns(nearest=("Ross",), similarities=np.array([0.29]))
    wider = draw_faces(canvas(400, 400), nearest, options=DrawOptions(show_nearest=True))
    grey = (128, 128, 128)
    assert run_length(wider, 100, 148, 1, 0, grey) > run_length(plain, 100, 148, 1, 0, grey)


def test_options_turn_marks_and_labels_off() -> None:
    spec = face(100, 150, 120)
    faces = named(make_faces(spec, face(250, 150, 100)), ["Zoë", None], np.array([0.8, 0.1]))
    nothing = DrawOptions(boxes=False, landmarks=False, labels="none")
    np.testing.assert_array_equal(draw_faces(canvas(400, 400), faces, options=nothing), canvas(400, 400))
    assert len(label_rects(faces, 400, 400, DrawOptions(labels="known"))) == 1
    no_dots = draw_faces(canvas(400, 400), faces, options=DrawOptions(landmarks=False, labels="none"))
    (x1, y1, _x2, y2), marks = spec
    assert is_colour(no_dots, int(x1), int((y1 + y2) / 2), label_colour("Zoë"))  # the box stays
    assert is_colour(no_dots, int(round(marks[2, 0])), int(round(marks[2, 1])), BG)  # no nose dot


def test_a_1080p_label_is_legible_and_dots_follow_the_eyes() -> None:
    small = draw._Style.for_face(50, 1080, eyes=20)
    assert small.font_size >= 18 and small.radius <= 2, "at 1080p: 18 px text, dots off the eyes"
    large = draw._Style.for_face(1400, 2160, eyes=560)
    assert large.radius >= 30 and large.font_size >= 72


def test_photos_command_takes_the_drawing_options(tmp_path) -> None:
    from conftest import ROOT, run_cli
    from PIL import Image

    from annotate.runtime.resources import sample_path

    source = tmp_path / "in"
    source.mkdir()
    Image.open(sample_path("photos") / "both.jpg").save(source / "both.png")
    bank = str(ROOT / "facebank")
    args = ("--no-boxes", "--no-landmarks", "--labels", "none")
    code, _, err = run_cli("photos", source, "-o", tmp_path / "bare", *args, "-b", bank)
    assert code == 0, err
    before = np.asarray(Image.open(source / "both.png").convert("RGB"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "bare" / "both.png").convert("RGB")), before)
    code, _, err = run_cli("photos", source, "-o", tmp_path / "known", "--labels", "known", "-b", bank)
    assert code == 0 and not np.array_equal(
        np.asarray(Image.open(tmp_path / "known" / "both.png").convert("RGB")), before
    )
    code, _, err = run_cli("photos", source, "-o", tmp_path / "bad", "--labels", "some", "-b", bank)
    assert code == 2 and "--labels" in err and "Traceback" not in err


def test_a_picture_narrower_than_an_ellipsis_still_gets_a_label() -> None:
    assert fit("Grace Hopper", " 0.62", 1, lambda t: advance(t, 14)) == "…"
    faces = named(make_faces(face(0, 0, 6)), ["Grace Hopper"], np.array([0.62]))
    assert draw_faces(canvas(8, 8), faces).shape == (8, 8, 3)
