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
    assert report.graded == 4


def test_zip_input_gives_the_same_grades(toy_course, class_folder, graded,
                                         tmp_path):
    sol, _ = toy_course
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for student in ("alice", "carol"):
            p = class_folder / student / f"{LESSON}.ipynb"
            zf.write(p, f"class/{student}/{LESSON}.ipynb")
    out = tmp_path / "out"
    grade(archive, out, cell_timeout=5, solutions=sol)
    from_zip = read_grades(out / "grades.csv")
    from_folder = read_grades(graded[0] / "grades.csv")
    assert from_zip and all(from_zip[k] == from_folder[k] for k in from_zip)
