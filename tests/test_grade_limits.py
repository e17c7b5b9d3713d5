"""Limits that keep one submission from hurting the others: a fixed CPU
share per kernel (a CPU hog beside a normal lesson notebook) and a time
budget per notebook (a submission that sleeps just under the cell limit
in every cell)."""

from __future__ import annotations

import json
import os
import time

import pytest

import corpus
from autograder import cpushare
from autograder.grade import grade, make_templates
from conftest import SOLUTIONS, graded_points, load, read_grades

pytestmark = pytest.mark.slow
LESSON = "98_checked"
EXERCISES = ("project_tests", "rnn_step_tests", "count_tests")

HOG = """
import multiprocessing as mp, resource, time

def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass

procs = [mp.Process(target=spin, args=(20,)) for _ in range(4)]
t0 = time.time()
for p in procs:
    p.start()
for p in procs:
    p.join()
wall = time.time() - t0
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print("HOG", round(wall, 2), round(used.ru_utime + used.ru_stime, 2))
# Keep spinning while the rest of the class is graded.
for _ in range(4):
    mp.Process(target=spin, args=(600,), daemon=True).start()
"""


def scores(grades, student, lesson=LESSON, exercises=EXERCISES):
    return tuple(grades[(student, lesson, e)][0] for e in exercises)


@pytest.mark.skipif(os.geteuid() != 0 or cpushare._root() is None,
                    reason="cpu cgroups need root and a cpu controller")
def test_a_cpu_hog_does_not_hurt_a_normal_lesson_notebook(
        checked_course, tmp_path):
    sol, les = checked_course
    solution, student = (load(sol / f"{LESSON}.ipynb"),
                         load(les / f"{LESSON}.ipynb"))
    full = corpus.solve(student, solution, set(corpus.solution_ids(
        solution)))
    # The hog's kernel lives on, its four processes spinning, well past
    # the normal notebook's end (a few seconds); then it is stopped.
    hog = corpus._add_cell(corpus._add_cell(full, HOG, after="project"),
                           "import time\ntime.sleep(25)\n",
                           after="count_tests")
    subs = tmp_path / "subs"
    (subs / "hog").mkdir(parents=True)
    (subs / "hog" / f"{LESSON}.ipynb").write_text(json.dumps(hog))
    # The normal notebook: a real lesson's solution (lesson 5, a short
    # one, so that it runs from start to end beside the spinning hog).
    name = "05_gates"
    (subs / "normal").mkdir()
    (subs / "normal" / f"{name}.ipynb").write_bytes(
        (SOLUTIONS / f"{name}.ipynb").read_bytes())
    sols = tmp_path / "solutions"
    sols.mkdir()
    for src in (sol / f"{LESSON}.ipynb", SOLUTIONS / f"{name}.ipynb"):
        (sols / src.name).write_bytes(src.read_bytes())
    out = tmp_path / "out"
    grade(subs, out, cell_timeout=120, solutions=sols, jobs=2,
          budget=None)
    g = read_grades(out / "grades.csv")
    points = graded_points(load(SOLUTIONS / f"{name}.ipynb"))
    for exercise, pts in points.items():
        score, _, note = g[("normal", name, exercise)]
        assert score == pts, f"{exercise}: {note}"
    assert scores(g, "hog") == (2.0, 3.0, 1.0)
    nb = load(out / "autograded" / "hog" / f"{LESSON}.ipynb")
    assert nb["metadata"]["rnn_course_grader"]["sandbox"]["cgroup"]
    text = "".join("".join(o.get("text", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    wall, cpu = map(float, text.split("HOG", 1)[1].split()[:2])
    # Four busy processes got one CPU between them, not the machine.
    assert cpu / wall < 1.2, (wall, cpu)


def test_the_time_budget_skips_the_rest_of_a_sleepy_notebook(
        checked_course, tmp_path):
    sol, les = checked_course
    solution, student = (load(sol / f"{LESSON}.ipynb"),
                         load(les / f"{LESSON}.ipynb"))
    full = corpus.solve(student, solution, set(corpus.solution_ids(
        solution)))
    sleepy = full
    # After every cell a cell that sleeps just under the 10 s limit.
    for gid in ("project", "project_tests", "rnn_step_forward",
                "rnn_step_tests", "count_positive", "count_tests"):
        sleepy = corpus._add_cell(sleepy, "import time\ntime.sleep(8)\n",
                                  after=gid)
    subs = tmp_path / "subs"
    for who, nb in (("sleepy", sleepy), ("ok", full)):
        (subs / who).mkdir(parents=True)
        (subs / who / f"{LESSON}.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "out"
    start = time.monotonic()
    grade(subs, out, cell_timeout=10, solutions=sol, jobs=2,
          budget=(0.0, 21.0))
    took = time.monotonic() - start
    g = read_grades(out / "grades.csv")
    assert scores(g, "ok") == (2.0, 3.0, 1.0)
    # project and its test ran, with a sleep after each (16 s); then
    # rnn_step_forward's cell may still start (the grader grades that
    # function, its own test cell or not), but after the third sleep the
    # budget is gone: count_positive (after four sleeps) never ran.
    got = scores(g, "sleepy")
    assert got[0] == 2.0 and got[2] == 0.0, got
    for e in EXERCISES:
        assert "time budget of 21 s used up" in g[("sleepy", LESSON, e)][2]
    nb = load(out / "autograded" / "sleepy" / f"{LESSON}.ipynb")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = next(i for i, c in enumerate(code) if c["metadata"].get(
        "nbgrader", {}).get("grade_id") == "count_positive")
    # Every cell from count_positive on was skipped with the note (a
    # graded test cell shows the re-check instead; its note is above);
    # how many cells before it ran depends on the machine's speed.
    rest = [c for c in code[first:]
            if not c["metadata"].get("nbgrader", {}).get("grade")]
    for c in rest:
        assert any("time budget" in o.get("evalue", "")
                   for o in c.get("outputs", [])), c["source"][:60]
    assert len(rest) >= 3
    # 6 sleeps of 8 s would take 48 s; the budget stopped it long before.
    assert took < 21 + 8 + 60, took


def test_a_lessons_budget_is_a_multiple_of_its_solutions_time(
        checked_course, tmp_path):
    sol, _ = checked_course
    templates = make_templates([LESSON], sol, tmp_path, budget=(3.0, 7.0))
    t = templates[LESSON]
    meta = load(tmp_path / "templates" / LESSON / "source" / LESSON /
                f"{LESSON}.ipynb")["metadata"]["rnn_course_grader"]
    assert meta["reference_seconds"] > 0
    assert meta["time_budget"] == pytest.approx(
        3.0 * meta["reference_seconds"] + 7.0, abs=0.1)
    other = make_templates([LESSON], sol, tmp_path / "b",
                           budget=(4.0, 7.0))
    assert other[LESSON].digest != t.digest
