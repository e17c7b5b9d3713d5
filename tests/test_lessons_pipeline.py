"""Every lesson through the real nbgrader pipeline.

Three students hand in every lesson: one hands in the solution notebook,
one the untouched student notebook, one the student notebook with only
its first exercise solved. The committed lessons/ equal a fresh release
(tests/test_build.py), so they stand for the released notebooks.
"""

from __future__ import annotations

import json

import pytest

from autograder.build import sources
from autograder.grade import grade
from conftest import (LESSONS, SOLUTIONS, graded_points, load, read_grades,
                      solution_ids, solve)

pytestmark = pytest.mark.slow
NAMES = [p.stem for p in sources(SOLUTIONS)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("class")
    for name in NAMES:
        solution = load(SOLUTIONS / f"{name}.ipynb")
        student = load(LESSONS / f"{name}.ipynb")
        first = solution_ids(solution)[0]
        for who, nb in (("solved", solution), ("blank", student),
                        ("first-only", solve(student, solution, {first}))):
            (subs / who).mkdir(exist_ok=True)
            (subs / who / f"{name}.ipynb").write_text(json.dumps(nb))
    out = tmp_path_factory.mktemp("out")
    report = grade(subs, out, cell_timeout=300)
    assert not report.problems, report.problems
    return out, read_grades(out / "grades.csv")


@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(graded, name):
    _, grades = graded
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    for exercise, pts in points.items():
        score, max_score, note = grades[("solved", name, exercise)]
        assert (score, max_score) == (pts, pts), f"{exercise}: {note}"


@pytest.mark.parametrize("name", NAMES)
def test_solution_executes_without_error(graded, name):
    out, _ = graded
    nb = load(out / "autograded" / "solved" / f"{name}.ipynb")
    for i, cell in enumerate(nb["cells"]):
        for o in cell.get("outputs", []):
            assert o["output_type"] != "error", (
                f"cell {i} raised {o.get('ename')}: {o.get('evalue')}")
    assert all(c.get("execution_count") for c in nb["cells"]
               if c["cell_type"] == "code"), "not every cell ran"


@pytest.mark.parametrize("name", NAMES)
def test_blank_notebook_scores_zero(graded, name):
    _, grades = graded
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    for exercise in points:
        score, _, note = grades[("blank", name, exercise)]
        assert score == 0, exercise
        assert note, f"{exercise}: a failing test should leave a reason"


@pytest.mark.parametrize("name", NAMES)
def test_one_exercise_solved_gets_exactly_its_points(graded, name):
    _, grades = graded
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    first_test = next(iter(points))
    for exercise, pts in points.items():
        score, _, note = grades[("first-only", name, exercise)]
        expected = pts if exercise == first_test else 0
        assert score == expected, f"{exercise}: {score} ({note})"
