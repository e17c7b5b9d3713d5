"""Shared fixtures: paths, and notebooks built or graded once per test
session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.cells import grade_id, is_solution, nbgrader

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = FIXTURES / "submissions"


# ------------------------------------------------------- pytest-xdist
# `course.py test` runs two pytest-xdist workers. A test file runs in one
# worker, so its module fixtures are made once; the files that use the
# graded lesson class run in the same worker, so the class is graded
# once. The longest files are handed out first, so that neither worker
# is left with one of them at the end; each worker starts with two.
SAME_WORKER = {"tests/test_samples.py": "tests/test_lessons_pipeline.py"}
LONGEST_FIRST = ("test_lessons_pipeline", "test_site", "test_grade_batch",
                 "test_grade_hostile", "test_grade_limits", "test_exchange",
                 "test_grade", "test_grade_class", "test_site_build")


def _rank(path: str) -> int:
    name = Path(path).stem
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else \
        len(LONGEST_FIRST)


@pytest.hookimpl(optionalhook=True)   # pytest without xdist: unused
def pytest_xdist_make_scheduler(config, log):
    from collections import OrderedDict

    from xdist.scheduler import LoadFileScheduling

    class ByFile(LoadFileScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(scope, scope)

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:        # xdist queues the most tests first
                self.workqueue = OrderedDict(
                    (s, self.workqueue[s])
                    for s in sorted(self.workqueue, key=_rank))
                self.ordered = True
            super()._assign_work_unit(node)

    return ByFile(config, log)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def graded_points(nb: dict) -> dict[str, float]:
    """grade_id -> points of every autograded test cell."""
    out = {}
    for cell in nb["cells"]:
        meta = nbgrader(cell)
        if meta.get("grade"):
            out[meta["grade_id"]] = float(meta["points"])
    return out


def released(tmp_path_factory, fixture: str) -> tuple[Path, Path]:
    """``tests/fixtures/<fixture>`` released into a scratch folder:
    (solutions dir, lessons dir)."""
    from autograder.release import release
    base = tmp_path_factory.mktemp(fixture)
    sol, les = base / "solutions", base / "lessons"
    shutil.copytree(FIXTURES / fixture, sol)
    release(sol, les)
    return sol, les


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory):
    """The toy lesson released: (solutions dir, lessons dir)."""
    return released(tmp_path_factory, "toy")


@pytest.fixture(scope="session")
def checked_course(tmp_path_factory):
    """The fixture lesson 98_checked released: (solutions dir, lessons
    dir). Its tests go through ``helpers.checks``."""
    return released(tmp_path_factory, "checked")


def solve(student: dict, solution: dict, grade_ids: set[str]) -> dict:
    """A copy of ``student`` with the solution cells ``grade_ids`` filled
    in from ``solution``, as a student who solved just those would."""
    answers = {grade_id(c): c["source"]
               for c in solution["cells"] if is_solution(c)}
    out = json.loads(json.dumps(student))
    for cell in out["cells"]:
        gid = grade_id(cell)
        if gid in grade_ids:
            cell["source"] = answers[gid]
    return out


def solution_ids(nb: dict) -> list[str]:
    return [grade_id(c) for c in nb["cells"] if is_solution(c)]


def read_grades(csv_path: Path) -> dict[tuple[str, str, str], tuple]:
    import csv
    with open(csv_path, encoding="utf-8") as fh:
        return {(r["student"], r["lesson"], r["exercise"]):
                (float(r["score"]), float(r["max_score"]), r["note"])
                for r in csv.DictReader(fh)}


TRAP_IMPORT = "from helpers.reference.rnn import rnn_forward, rnn_backward\n"
# A student who, as the lesson's test does, tries the truncated BPTT with
# the course's forward and backward right after writing it.
TRAP_CHECK = ("\n_x, _dh = np.ones((1, 4, 2)), np.ones((1, 4, 3))\n"
              "_p = ref.init_rnn_params(2, 3, np.random.default_rng(0))\n"
              "print(truncated_bptt(_x, np.zeros((1, 3)), _p, _dh, 2,\n"
              "                     ref.rnn_forward, ref.rnn_backward)[0]"
              ".shape)\n")


@dataclass
class GradedClass:
    """One run of the grade command and what it wrote."""

    run: subprocess.CompletedProcess
    out: Path
    grades: dict[tuple[str, str, str], tuple]
    notebooks: int
    who: dict[tuple[str, str], str]

    def student(self, role: str, lesson: str) -> str:
        """The student who handed in ``lesson`` as ``role``."""
        return self.who[(role, lesson)]


@pytest.fixture(scope="session")
def lesson_class(tmp_path_factory):
    """Every lesson and the sample class graded by one run of the grade
    command, as the README runs it.

    The sample class (tests/fixtures/submissions) is copied in unchanged.
    For every lesson three roles hand in: "solved" the solution notebook,
    "blank" the untouched student notebook and "first-only" the student
    notebook with only its first exercise solved. Where a sample notebook
    already is that notebook (ada hands in solutions, grace solved only
    the first step of lesson 2), its student stands in for the role, so
    no notebook is graded twice. The committed lessons/ equal a fresh
    release (tests/test_build.py), so they stand for the released
    notebooks.
    """
    from autograder.build import sources
    subs = tmp_path_factory.mktemp("class")
    shutil.copytree(SAMPLES, subs, dirs_exist_ok=True)
    samples = {(p.parent.name, p.stem): load(p)
               for p in sorted(SAMPLES.glob("*/*.ipynb"))}
    who = {}
    for name in [p.stem for p in sources(SOLUTIONS)]:
        solution = load(SOLUTIONS / f"{name}.ipynb")
        student = load(LESSONS / f"{name}.ipynb")
        first = solution_ids(solution)[0]
        for role, nb in (("solved", solution), ("blank", student),
                         ("first-only", solve(student, solution,
                                              {first}))):
            same = [s for (s, lesson), sample in samples.items()
                    if lesson == name and sample == nb]
            who[(role, name)] = same[0] if same else role
            if not same:
                (subs / role).mkdir(exist_ok=True)
                (subs / role / f"{name}.ipynb").write_text(json.dumps(nb))
    # Lesson 3's trap: a student imports the reference rnn_forward and
    # rnn_backward in the truncated-BPTT cell (once with everything else
    # right, once with exercise 2 left blank), or tries the function
    # there with the course's forward and backward.
    solution = load(SOLUTIONS / "03_bptt.ipynb")
    student = load(LESSONS / "03_bptt.ipynb")
    every = set(solution_ids(solution))
    for role, ids, before, after in (
            ("trap", every, TRAP_IMPORT, ""),
            ("trap-blank-2", every - {"rnn_backward"}, TRAP_IMPORT, ""),
            ("trap-check", every, "", TRAP_CHECK)):
        nb = solve(student, solution, ids)
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == \
                    "truncated_bptt":
                cell["source"] = before + "".join(cell["source"]) + after
        who[(role, "03_bptt")] = role
        (subs / role).mkdir(exist_ok=True)
        (subs / role / "03_bptt.ipynb").write_text(json.dumps(nb))
    out = tmp_path_factory.mktemp("graded") / "grading-output"
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(subs), "-o",
         str(out), "--timeout", "300",
         # No time budget: it would first run every lesson's solution
         # once more to time it; tests/test_grade_limits.py tests it.
         "--budget", "0", "0"],
        cwd=ROOT, capture_output=True, text=True)
    grades = read_grades(out / "grades.csv") if run.returncode == 0 \
        else {}
    return GradedClass(run, out, grades, len(list(subs.rglob("*.ipynb"))),
                       who)
