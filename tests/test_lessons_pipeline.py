"""Every lesson through the real nbgrader pipeline.

Three students hand in every lesson: one hands in the solution notebook,
one the untouched student notebook, one the student notebook with only
its first exercise solved. They are graded together with the sample
class, in one run of the grade command (the ``lesson_class`` fixture of
conftest.py).
"""

from __future__ import annotations

import pytest

from autograder.build import sources
from conftest import SOLUTIONS, graded_points, load

pytestmark = pytest.mark.slow
NAMES = [p.stem for p in sources(SOLUTIONS)]


@pytest.fixture(scope="module")
def graded(lesson_class):
    run = lesson_class.run
    assert run.returncode == 0, run.stderr[-3000:]
    problems = lesson_class.out / "problems.txt"
    assert not problems.exists(), problems.read_text(encoding="utf-8")
    return lesson_class


@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(graded, name):
    who = graded.student("solved", name)
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    for exercise, pts in points.items():
        score, max_score, note = graded.grades[(who, name, exercise)]
        assert (score, max_score) == (pts, pts), f"{exercise}: {note}"


@pytest.mark.parametrize("name", NAMES)
def test_solution_executes_without_error(graded, name):
    who = graded.student("solved", name)
    nb = load(graded.out / "autograded" / who / f"{name}.ipynb")
    for i, cell in enumerate(nb["cells"]):
        for o in cell.get("outputs", []):
            assert o["output_type"] != "error", (
                f"cell {i} raised {o.get('ename')}: {o.get('evalue')}")
    # The demonstration cells the grader leaves out (tested below) run,
    # and must not raise, when the site is built (tests/test_site.py).
    from autograder.execute import META_KEY
    left_out = set(nb["metadata"][META_KEY]["demo_cells_not_run"])
    assert all(c.get("execution_count") for i, c in enumerate(nb["cells"])
               if c["cell_type"] == "code" and i not in left_out), \
        "not every cell ran"


@pytest.mark.parametrize("name", NAMES)
def test_every_demo_of_the_solution_is_left_out(graded, name):
    """Each cell its author tagged as a demonstration is one the grader
    leaves out of the solution (nothing after it needs it), and says
    so; the full marks above were earned without them."""
    from autograder.demos import is_demo
    from autograder.execute import DEMO_NOT_RUN, META_KEY
    tagged = [i for i, c in enumerate(load(SOLUTIONS / f"{name}.ipynb")
                                      ["cells"]) if is_demo(c)]
    who = graded.student("solved", name)
    nb = load(graded.out / "autograded" / who / f"{name}.ipynb")
    assert nb["metadata"][META_KEY]["demo_cells_not_run"] == tagged
    for i in tagged:
        assert ["".join(o.get("text", "")) for o in nb["cells"][i]
                ["outputs"]] == [DEMO_NOT_RUN], f"cell {i}"


@pytest.mark.parametrize("name", NAMES)
def test_blank_notebook_scores_zero(graded, name):
    who = graded.student("blank", name)
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    for exercise in points:
        score, _, note = graded.grades[(who, name, exercise)]
        assert score == 0, exercise
        assert note, f"{exercise}: a failing test should leave a reason"


@pytest.mark.parametrize("name", NAMES)
def test_one_exercise_solved_gets_exactly_its_points(graded, name):
    who = graded.student("first-only", name)
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    first_test = next(iter(points))
    for exercise, pts in points.items():
        score, _, note = graded.grades[(who, name, exercise)]
        expected = pts if exercise == first_test else 0
        assert score == expected, f"{exercise}: {score} ({note})"


@pytest.mark.parametrize("role", ["trap", "trap-check"])
def test_a_reference_import_in_another_exercise_costs_nothing(graded, role):
    """Lesson 3: importing the reference rnn_forward and rnn_backward in
    the truncated-BPTT cell (another exercise's solution cell), or trying
    truncated_bptt there with the course's forward and backward as the
    lesson's test does, leaves every exercise with full marks. During
    grading the reference rnn_backward is a stub: the import works, a
    call fails where it is made, and exercise 2 is graded on the
    student's own rnn_backward, the one its test saw."""
    points = graded_points(load(SOLUTIONS / "03_bptt.ipynb"))
    for exercise, pts in points.items():
        score, _, note = graded.grades[(role, "03_bptt", exercise)]
        assert score == pts, f"{exercise}: {score} ({note})"


def test_the_reference_is_a_stub_in_the_graded_kernel(graded):
    """The trap-check student's call of the course's rnn_backward met the
    stub (in a cell no test depends on); the solution notebook itself
    never needs the lesson's own reference."""
    nb = load(graded.out / "autograded" / "trap-check" / "03_bptt.ipynb")
    errors = [o for c in nb["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert any(e["ename"] == "ReferenceNotAvailable" and "rnn_backward"
               in e["evalue"] for e in errors), errors


def test_an_exercise_is_graded_on_its_own_function(graded):
    """The same import with exercise 2 left blank: the later import of
    the reference does not earn exercise 2's points, and the note says
    the student's own function is not implemented."""
    points = graded_points(load(SOLUTIONS / "03_bptt.ipynb"))
    for exercise, pts in points.items():
        score, _, note = graded.grades[("trap-blank-2", "03_bptt",
                                        exercise)]
        if exercise == "rnn_backward_tests":
            assert score == 0 and "not implemented" in note, note
        else:
            assert score == pts, f"{exercise}: {score} ({note})"
