"""Grouping the faces nobody named into people: the clustering against its plain twin and known
groups, the scores, and the naming loop end to end (``people``, ``bank add``, ``bank build``,
``people`` again) on LFW photos and on the Hamilton clip, with the review page's sections."""

from __future__ import annotations

import csv
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, needs_shared, run_cli

from annotate.evaluate.clustering import score_clusters
from annotate.faces import Faces
from annotate.people.naming import add_to_bank
from annotate.recognition.cluster import _average_linkage, group

LFW_PEOPLE = ("Colin_Powell", "George_W_Bush", "Tony_Blair")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test's face cache in its own folder, not the user's."""
    monkeypatch.setenv("ANNOTATE_CACHE", str(tmp_path / "cache"))


def sample_folder(tmp_path):
    """A folder holding the sample photo of both sample people."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(ROOT / "samples" / "photos" / "both.jpg", photos)
    return photos


def blobs(people=30, each=8, dim=64, spread=0.9, seed=0):
    """Unit vectors around ``people`` random centres, and which centre each came from."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((people, dim))
    truth = np.repeat(np.arange(people), each)
    points = centres[truth] + spread * rng.standard_normal((len(truth), dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32), truth


def same_partition(a, b):
    pairs = lambda labels: {(x, y) for x in range(len(labels)) for y in range(x) if labels[x] == labels[y]}
    return pairs(list(a)) == pairs(list(b))


def test_grouping_by_components_is_the_plain_average_linkage():
    points, truth = blobs()
    for threshold in (0.2, 0.35, 0.5):
        assert same_partition(group(points, threshold), _average_linkage(points, threshold)), threshold
    assert score_clusters(truth, group(points, 0.35)).bcubed_f > 0.99


def test_people_are_numbered_by_first_face_and_nothing_is_one_group():
    points, _ = blobs(people=3, each=4)
    order = np.array([8, 0, 4, 9, 1, 5, 10, 2, 6, 11, 3, 7])  # the third person first
    found = group(points[order])
    assert found.tolist() == [0, 1, 2] * 4
    assert group(np.zeros((0, 64), np.float32)).tolist() == []
    assert group(points[:1]).tolist() == [0]


def test_a_component_too_big_to_cluster_exactly_is_cut_at_a_higher_threshold():
    points, truth = blobs(people=10, each=20, spread=0.6)
    chained = group(points, 0.1, biggest=15)  # at 0.1 all are one component
    assert chained.max() + 1 >= 10 and score_clusters(truth, chained).bcubed_precision > 0.95


def test_scores_of_a_hand_made_grouping():
    s = score_clusters(np.array([0, 0, 1, 1]), np.array([5, 5, 5, 7]))
    assert (s.pair_precision, s.pair_recall) == pytest.approx((1 / 3, 1 / 2))
    assert (s.bcubed_precision, s.bcubed_recall) == pytest.approx((2 / 3, 3 / 4))
    assert (s.clusters, s.people) == (2, 2)
    with pytest.raises(ValueError):
        score_clusters(np.array([0, 1]), np.array([0]))


def test_faces_concatenate_keeps_the_columns_every_part_has():
    a = Faces(np.ones((2, 4)), np.ones(2), np.zeros((2, 5, 2)), labels=("A", None), embeddings=np.eye(2, 3))
    b = Faces(np.zeros((1, 4)), np.zeros(1), np.zeros((1, 5, 2)), labels=("B",))
    both = Faces.concatenate([a, b])
    assert len(both) == 3 and both.labels == ("A", None, "B") and both.embeddings is None
    assert both.boxes[:, 0].tolist() == [1, 1, 0]
    assert len(Faces.concatenate([])) == 0


def test_adding_to_the_bank_copies_never_replaces_and_checks_the_label(tmp_path):
    person = tmp_path / "person-001"
    person.mkdir()
    for name in ("01.jpg", "02.jpg"):
        shutil.copy(ROOT / "samples" / "photos" / "both.jpg", person / name)
    (person / "02.jpg").write_bytes((person / "02.jpg").read_bytes() + b"\0")  # other contents
    bank = tmp_path / "bank"
    (bank / "Ross").mkdir(parents=True)
    (bank / "Ross" / "01.jpg").write_bytes(b"the user's own photo")
    written, same = add_to_bank(person, bank, " Ross ")
    assert [p.name for p in written] == ["01-1.jpg", "02.jpg"] and same == 0
    assert (bank / "Ross" / "01.jpg").read_bytes() == b"the user's own photo"
    assert add_to_bank(person, bank, "Ross") == ([], 2), "photos already there are skipped"
    for bad in ("", "..", "a/b", ".hidden"):
        code, _, err = run_cli("bank", "add", str(person), "--as", bad, "-b", str(bank))
        assert code == 2 and "cannot be a label" in err and "Traceback" not in err


class Sections(HTMLParser):
    """The review page's person sections, video time links and known labels."""

    def __init__(self):
        super().__init__()
        self.people, self.times, self.known, self.images = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-person" in attrs:
            self.people.append(attrs["data-person"])
        if "data-time" in attrs:
            self.times.append((attrs["href"], float(attrs["data-time"])))
        if "data-known" in attrs:
            self.known.append(attrs["data-known"])
        if tag == "img":
            self.images.append(attrs["src"])


def read_out(out: Path):
    with open(out / "people.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    page = Sections()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    return rows, page


def people_of(rows):
    found = {}
    for row in rows:
        found.setdefault(row["person"], set()).add(Path(row["source"]).name)
    return found


def test_naming_loop_on_lfw_photos(tmp_path):
    lfw = needs_shared("lfw", "lfw-deepfunneled")
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in LFW_PEOPLE:
        for n in range(1, 5):
            shutil.copy(lfw / person / f"{person}_{n:04d}.jpg", photos)
    out, bank = tmp_path / "people", tmp_path / "bank"
    code, _, err = run_cli("people", photos, "-o", out, "-b", bank)
    assert code == 2 and "bank" in err, "a missing bank given by name is an error"
    shutil.copytree(ROOT / "facebank", bank)
    code, stdout, err = run_cli("people", photos, "-o", out, "-b", bank)
    assert code == 0, err
    rows, page = read_out(out)
    groups = people_of(rows)
    assert sorted(map(sorted, groups.values())) == sorted(
        sorted(f"{p}_{n:04d}.jpg" for n in range(1, 5)) for p in LFW_PEOPLE
    ), "each person's four photos, and only theirs"
    assert sorted(page.people) == sorted(groups) and all(r["frame"] == r["time"] == "" for r in rows)
    assert all((out / src).is_file() for src in page.images) and len(page.images) == 12
    bush = next(pid for pid, names in groups.items() if any("Bush" in n for n in names))
    code, _, err = run_cli("bank", "add", out / bush, "--as", "George W Bush", "-b", bank)
    assert code == 0 and len(list((bank / "George W Bush").glob("*.jpg"))) == 4, err
    assert run_cli("bank", "build", bank)[0] == 0
    code, stdout, err = run_cli("people", photos, "-o", out, "-b", bank)
    assert code == 0 and "George W Bush x4" in stdout, stdout + err
    rows, page = read_out(out)
    again = people_of(rows)
    assert bush not in again and not (out / bush).exists(), "now named by the bank"
    assert again == {pid: names for pid, names in groups.items() if pid != bush}, "the others keep their numbers"
    assert page.known == ["George W Bush"]


def test_naming_loop_on_the_hamilton_clip(tmp_path):
    clip = needs_shared("video", "hamilton", "short_hamilton_clip.mp4")
    out, bank = tmp_path / "people", tmp_path / "bank"
    shutil.copytree(ROOT / "facebank", bank)
    code, _, err = run_cli("people", clip, "-o", out, "-b", bank)
    assert code == 0, err
    rows, page = read_out(out)
    groups = {pid: [r for r in rows if r["person"] == pid] for pid in people_of(rows)}
    # the clip's people (tests/fixtures/identity/hamilton.json): Lin-Manuel Miranda in two
    # shots, Alex Lacamoire, a man in profile, and four in the audience after the cut at 7.9 s
    assert len(groups) == 7
    lin = max(
        groups, key=lambda pid: max(float(r["time"]) for r in groups[pid]) - min(float(r["time"]) for r in groups[pid])
    )
    times = sorted(float(r["time"]) for r in groups[lin])
    assert times[0] < 1.5 and times[-1] > 7.0, "one person across both his shots"
    assert sum(1 for pid in groups if min(float(r["time"]) for r in groups[pid]) > 7.8) == 4, "the audience"
    assert sorted(page.people) == sorted(groups)
    linked = [t for href, t in page.times if href.startswith("../short_hamilton_clip.mp4") or "hamilton" in href]
    assert linked and all(any(abs(t - float(r["time"])) < 1e-3 for r in rows) for t in linked)
    code, _, err = run_cli("bank", "add", out / lin, "--as", "Lin-Manuel Miranda", "-b", bank)
    assert code == 0 and run_cli("bank", "build", bank)[0] == 0, err
    code, stdout, err = run_cli("people", clip, "-o", out, "-b", bank)
    assert code == 0 and "Lin-Manuel Miranda x" in stdout, stdout + err
    rows, page = read_out(out)
    assert lin not in people_of(rows) and len(people_of(rows)) == 6 and page.known == ["Lin-Manuel Miranda"]
    assert set(people_of(rows)) <= set(groups), "the others keep their numbers"


def test_people_refuses_a_folder_it_did_not_write_and_one_inside_an_input(tmp_path):
    photos = sample_folder(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    code, _, err = run_cli("people", photos, "-o", busy, "-b", ROOT / "facebank")
    assert code == 2 and "did not write" in err and (busy / "notes.txt").read_text() == "mine"
    code, _, err = run_cli("people", photos, "-o", photos / "people", "-b", ROOT / "facebank")
    assert code == 2 and "Traceback" not in err


def test_a_rerun_takes_each_files_faces_from_the_cache_and_names_them_with_the_new_bank(tmp_path, monkeypatch):
    import annotate
    import annotate.people.sources as sources
    from annotate.people.find import find_people

    clip = needs_shared("video", "hamilton", "short_hamilton_clip.mp4")
    photos = sample_folder(tmp_path)
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    cache = tmp_path / "faces.npz"
    first = find_people([photos, clip], recognizer, cache=cache)
    assert cache.is_file() and len(first.people) == 9, "7 in the clip, the 2 sample people unnamed"

    def no_analysis(*args, **kwargs):
        raise AssertionError("analysed again")

    monkeypatch.setattr(sources, "analyse_video", no_analysis)
    monkeypatch.setattr(recognizer, "describe", no_analysis)
    bank = annotate.load_bank(ROOT / "facebank", recognizer)
    again = find_people([photos, clip], recognizer, bank, cache=cache)
    assert sorted(again.known) == ["Eileen Collins", "Grace Hopper"] and len(again.people) == 7
    rows = lambda people: sorted((len(p.rows), round(float(p.mean[0]), 5)) for p in people.people)
    assert rows(again) == [r for r in rows(first) if r[0] != 1], "the same clip people, from the cache"


def test_person_numbers_are_never_given_twice():
    from annotate.people.find import _stable_ids

    mean = np.eye(4, dtype=np.float32)
    ids, issued = _stable_ids([mean[0], mean[1]], {"person-002": mean[1]}, issued=5)
    assert ids == ["person-006", "person-002"] and issued == 6, "a new person after every number ever issued"


def test_a_stopped_write_leaves_only_files_the_state_lists(tmp_path, monkeypatch):
    import annotate
    import annotate.people.output as output
    from annotate.people.find import find_people
    from annotate.people.state import load_state

    photos = sample_folder(tmp_path)
    recognizer = annotate.Recognizer(annotate.Config(device="cpu"))
    out = tmp_path / "people"
    output.write_people(find_people([photos], recognizer), out)
    (out / "person-001" / "mine.jpg").write_bytes(b"a user's own file")

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "write_review", stop)
    with pytest.raises(KeyboardInterrupt):
        output.write_people(find_people([photos], recognizer, previous=load_state(out)), out)
    monkeypatch.undo()
    output.write_people(find_people([photos], recognizer, previous=load_state(out)), out)
    state = load_state(out)
    for folder in sorted(out.glob("person-*")):
        files = sorted(p.name for p in folder.iterdir())
        owned = sorted(state.crops.get(folder.name, []))
        assert files == sorted([*owned, *(["mine.jpg"] if folder.name == "person-001" else [])]), folder
    assert (out / "person-001" / "mine.jpg").read_bytes() == b"a user's own file"


def test_a_damaged_or_crafted_state_is_an_error_or_ignored_never_a_deletion(tmp_path):
    photos = sample_folder(tmp_path)
    out = tmp_path / "people"
    out.mkdir()
    (out / "people.npz").write_bytes(b"")
    code, _, err = run_cli("people", photos, "-o", out)
    assert code == 2 and "people.npz" in err and "Traceback" not in err
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    np.savez(
        out / "people.npz",
        version=np.array(1),
        ids=np.array([], dtype=str),
        means=np.zeros((0, 512), np.float32),
        model=np.array(""),
        issued=np.array(0),
        crops=np.array(["victim.txt"]),
        crop_owners=np.array([".."]),
    )
    code, _, err = run_cli("people", photos, "-o", out)
    assert code == 0, err
    assert victim.read_text() == "keep me"
