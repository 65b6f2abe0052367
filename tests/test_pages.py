"""The pages in a real browser (headless Chromium, tests/browser.py): the review page of
``annotate people``, the video report and the photo report open with no console error, show
one section per person and one bar per timeline row, and a click on a bar moves the video to
that row's start. Screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import csv
import shutil

import pytest
from browser import chromium, console_errors, needs_browser, screenshot
from conftest import ROOT, needs_shared, run_cli


@pytest.fixture(scope="module")
def browser():
    needs_browser()
    with chromium() as driver:
        yield driver


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATE_CACHE", str(tmp_path / "cache"))


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def open_page(driver, path):
    driver.get(path.resolve().as_uri())
    driver.execute_script("return document.readyState")
    return console_errors(driver)


def test_review_page_of_people(browser, tmp_path):
    clip = needs_shared("video", "hamilton", "short_hamilton_clip.mp4")
    out = tmp_path / "people"
    assert run_cli("people", clip, "-o", out, "-b", ROOT / "facebank")[0] == 0
    assert open_page(browser, out / "index.html") == []
    sections = browser.execute_script(
        "return [...document.querySelectorAll('[data-person]')].map(s => s.dataset.person)"
    )
    assert sorted(sections) == sorted({r["person"] for r in rows_of(out / "people.csv")})
    loaded = browser.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert loaded, "every crop shows"
    screenshot(browser, "people-review")


def test_video_report_plays_each_appearance_from_its_start(browser, tmp_path):
    clip = needs_shared("video", "hamilton", "short_hamilton_clip.mp4")
    who, page = tmp_path / "who.csv", tmp_path / "report.html"
    code, _, err = run_cli(
        "video", clip, "--no-render", "--csv", who, "--include-unknown", "--report", page, "-b", ROOT / "facebank"
    )
    assert code == 0, err
    rows = rows_of(who)
    assert open_page(browser, page) == []
    bars = browser.execute_script(
        "return [...document.querySelectorAll('.bar')].map(b => [b.closest('[data-person]').dataset.person, +b.dataset.start, +b.dataset.end])"
    )
    assert sorted(bars) == sorted([r["label"], float(r["start"]), float(r["end"])] for r in rows), "one bar per row"
    fps = float(browser.execute_script("return document.getElementById('player').dataset.fps"))
    browser.execute_script(
        "const p = document.getElementById('player'); window.seeks = [];"
        "p.addEventListener('seeking', () => window.seeks.push(p.currentTime));"
    )
    for k, (_, start, _) in enumerate(bars):
        browser.execute_script("document.querySelectorAll('.bar')[arguments[0]].click()", k)
        seek = browser.execute_script("return window.seeks[window.seeks.length - 1]")
        assert seek is not None and abs(seek - start) <= 1 / fps, (k, seek, start)
    browser.execute_script("document.getElementById('player').pause()")
    assert console_errors(browser) == []
    screenshot(browser, "video-report")


def test_photo_report_groups_the_faces_by_person(browser, tmp_path):
    lfw = needs_shared("lfw", "lfw-deepfunneled")
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in ("Colin_Powell", "Tony_Blair"):
        for n in (1, 2, 3):
            shutil.copy(lfw / person / f"{person}_{n:04d}.jpg", photos)
    shutil.copy(ROOT / "samples" / "photos" / "both.jpg", photos)
    page = tmp_path / "report.html"
    code, _, err = run_cli(
        "photos", photos, "--no-render", "--csv", tmp_path / "faces.csv", "--report", page, "-b", ROOT / "facebank"
    )
    assert code == 0, err
    assert open_page(browser, page) == []
    sections = browser.execute_script(
        "return [...document.querySelectorAll('section')].map(s => [s.dataset.person, +s.dataset.faces])"
    )
    known = [s for s in sections if not s[0].startswith("person-")]
    assert sorted(known) == [["Eileen Collins", 1], ["Grace Hopper", 1]], "the bank's people first"
    assert sections[2:] == [["person-001", 3], ["person-002", 3]], "the two strangers, three photos each"
    screenshot(browser, "photos-report")
