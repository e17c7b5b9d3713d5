"""The grade command on a toy lesson: folder and zip input, partial
answers, an endless cell, and input that must stay untouched."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from autograder.grade import grade
from conftest import load, read_grades, solve

pytestmark = pytest.mark.slow
LESSON = "99_toy"
NFC, NFD = "Jos\u00e9", "Jose\u0301"


@pytest.fixture(scope="module")
def class_folder(toy_course, tmp_path_factory):
    sol, les = toy_course
    solution = load(sol / f"{LESSON}.ipynb")
    student = load(les / f"{LESSON}.ipynb")
    subs = tmp_path_factory.mktemp("subs") / "class"
    notebooks = {
        "alice": solution,
        "bob": student,
        "carol": solve(student, solution, {"double"}),
    }
    endless = solve(student, solution, {"double"})
    for cell in endless["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get(
                "grade_id") == "triple":
            cell["source"] = "def triple(x):\n    while True:\n        pass\n"
    notebooks["dave"] = endless
    for name, nb in notebooks.items():
        (subs / name).mkdir(parents=True)
        (subs / name / f"{LESSON}.ipynb").write_text(json.dumps(nb))
    (subs / "erin").mkdir()
    (subs / "erin" / "notes.txt").write_text("not a notebook")
    (subs / "erin" / "99_other.ipynb").write_text(json.dumps(solution))
    # José's folder twice: composed (NFC, older, all solved) and
    # decomposed (NFD, as macOS writes it; newer, only double solved).
    import os
    for name, nb, stamp in ((NFC, solution, 1e9), (NFD, notebooks["carol"],
                                                   2e9)):
        (subs / name).mkdir()
        path = subs / name / f"{LESSON}.ipynb"
        path.write_text(json.dumps(nb))
        os.utime(path, (stamp, stamp))
    return subs


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(
        p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
        if p.is_file()}


@pytest.fixture(scope="module")
def graded(toy_course, class_folder, tmp_path_factory):
    sol, _ = toy_course
    before = digest(class_folder)
    out = tmp_path_factory.mktemp("out")
    report = grade(class_folder, out, cell_timeout=5, solutions=sol)
    assert digest(class_folder) == before, "grading changed its input"
    return out, report


def test_scores(graded):
    out, _ = graded
    g = read_grades(out / "grades.csv")
    assert g[("alice", LESSON, "double_tests")][:2] == (2.0, 2.0)
    assert g[("alice", LESSON, "triple_tests")][:2] == (1.0, 1.0)
    assert g[("bob", LESSON, "double_tests")][:2] == (0.0, 2.0)
    assert g[("bob", LESSON, "triple_tests")][:2] == (0.0, 1.0)
    assert "NotImplementedError" in g[("bob", LESSON, "triple_tests")][2]
    assert g[("carol", LESSON, "double_tests")][:2] == (2.0, 2.0)
    assert g[("carol", LESSON, "triple_tests")][:2] == (0.0, 1.0)


def test_endless_cell_is_stopped_and_the_rest_still_grades(graded):
    out, _ = graded
    g = read_grades(out / "grades.csv")
    assert g[("dave", LESSON, "double_tests")][:2] == (2.0, 2.0)
    assert g[("dave", LESSON, "triple_tests")][0] == 0.0


def test_feedback_html_per_student(graded):
    out, _ = graded
    for student in ("alice", "bob", "carol", "dave"):
        html = (out / "feedback" / student / f"{LESSON}.html").read_text()
        assert "double_tests" in html or "double" in html


def test_problems_are_reported_not_fatal(graded):
    out, report = graded
    problems = (out / "problems.txt").read_text()
    assert "erin/notes.txt: not a notebook" in problems
    assert "unknown lesson '99_other'" in problems
    assert report.graded == 5


def test_folders_differing_in_normalisation_are_a_reported_conflict(
        graded):
    out, _ = graded
    g = read_grades(out / "grades.csv")
    assert {k[0] for k in g if k[0].startswith("Jos")} == {NFC}
    # The newer (decomposed) folder is graded ...
    assert g[(NFC, LESSON, "double_tests")][:2] == (2.0, 2.0)
    assert g[(NFC, LESSON, "triple_tests")][:2] == (0.0, 1.0)
    note = g[(NFC, LESSON, "double_tests")][2]
    assert "conflict" in note and "Unicode normalisation" in note
    # ... and neither the conflict nor the older file is silent.
    problems = (out / "problems.txt").read_text(encoding="utf-8")
    assert f"{NFD}/{LESSON}.ipynb: conflict: 2 sources give student " \
        f"'{NFC}'" in problems
    assert f"class/{NFC}/{LESSON}.ipynb: not graded: an older " \
        f"submission" in problems


def test_zip_input_gives_the_same_grades(toy_course, class_folder, graded,
                                         tmp_path):
    sol, _ = toy_course
    archive = tmp_path / "class.zip"
    alice, carol = (class_folder / s / f"{LESSON}.ipynb"
                    for s in ("alice", "carol"))
    with zipfile.ZipFile(archive, "w") as zf:
        # Two depths: both students must be found.
        zf.write(alice, f"class/alice/{LESSON}.ipynb")
        zf.write(carol, f"carol/{LESSON}.ipynb")
        # Entries that must be refused, and say so.
        for name in (f"../mallory/{LESSON}.ipynb",
                     f"/abs/trent/{LESSON}.ipynb"):
            zf.writestr(zipfile.ZipInfo(name), alice.read_bytes())
        link = zipfile.ZipInfo(f"class/link/{LESSON}.ipynb")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "../../alice/99_toy.ipynb")
    out = tmp_path / "out"
    report = grade(archive, out, cell_timeout=5, solutions=sol)
    from_zip = read_grades(out / "grades.csv")
    from_folder = read_grades(graded[0] / "grades.csv")
    assert {k[0] for k in from_zip} == {"alice", "carol"}
    assert all(from_zip[k] == from_folder[k] for k in from_zip)
    assert report.graded == 2
    assert (out / "problems.txt").read_text().splitlines() == [
        f"class.zip:../mallory/{LESSON}.ipynb: a path that leaves the "
        f"archive (..), refused",
        f"class.zip:/abs/trent/{LESSON}.ipynb: an absolute path, refused",
        f"class.zip:class/link/{LESSON}.ipynb: a symbolic link, refused"]
