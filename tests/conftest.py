"""Shared fixtures: paths, and notebooks built once per test session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.cells import grade_id, is_solution, nbgrader

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory):
    """The toy lesson released: (solutions dir, lessons dir)."""
    from autograder.release import release
    base = tmp_path_factory.mktemp("toy")
    sol = base / "solutions"
    shutil.copytree(FIXTURES / "toy", sol)
    les = base / "lessons"
    release(sol, les)
    return sol, les


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
