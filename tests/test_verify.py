"""The verifier's source scan: which student cells use the reference.

A small ``helpers`` package in a temporary folder stands in for the
course's, so these tests read only what they write.
"""

from __future__ import annotations

import textwrap

import pytest

from autograder import verify
from autograder.verify import (bound_names, read_lesson, reference_names,
                               scan_student_cells, used_names)

NAMES = {"rnn_step_forward", "lstm_forward"}

PACKAGE = {
    "__init__.py": "from helpers.reference.rnn import rnn_step_forward\n",
    "reference/__init__.py": "",
    "reference/rnn.py": """
        import numpy as np
        from numpy import tanh as rnn_helper

        def rnn_step_forward(x):
            return np.tanh(x)

        def unrelated(x):
            return x
        """,
    "fast/__init__.py": "",
    "fast/rnn.py": """
        from helpers.reference.rnn import rnn_step_forward as ref_step
        """,
    "checks/__init__.py": "",
    "checks/rnn.py": """
        def rnn_step_forward(fn):
            '''A checker named like the exercise.'''
            assert fn(0) == 0
        """,
    "broken.py": "def rnn_step_forward(:\n",
}


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "helpers"
    for rel, text in PACKAGE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    real = verify.reference_names
    monkeypatch.setattr(verify, "reference_names",
                        lambda names: real(names, root))
    return root


def test_reference_names_follow_definitions_and_aliases(package):
    assert reference_names(NAMES, package) == {
        "helpers": {"rnn_step_forward": "rnn_step_forward"},
        "helpers.reference.rnn": {"rnn_step_forward": "rnn_step_forward"},
        "helpers.fast.rnn": {"ref_step": "rnn_step_forward"},
    }


def cell(source: str, **nbgrader) -> dict:
    out = {"cell_type": "code", "metadata": {}, "outputs": [],
           "execution_count": None, "source": textwrap.dedent(source)}
    if nbgrader:
        out["metadata"]["nbgrader"] = nbgrader
    return out


SETUP = cell("import numpy as np\nfrom helpers.checks.rnn import "
             "rnn_step_forward as check_step\n")
STEP = "def rnn_step_forward(x):\n    return np.tanh(x)\n"
LSTM = "def lstm_forward(x):\n    return x\n"
TEST = cell("check_step(rnn_step_forward)\n", grade=True, locked=True,
            grade_id="test_step", points=1, solution=False)
SOURCE = {"cells": [
    SETUP, cell(STEP, solution=True, grade_id="step"),
    cell(LSTM, solution=True, grade_id="lstm"), TEST,
    {"cell_type": "markdown", "metadata": {}, "source": "# Notes"}]}


def test_read_lesson_collects_imports_names_and_tests():
    lesson = read_lesson(SOURCE)
    assert lesson.imports == [
        "import numpy as np",
        "from helpers.checks.rnn import rnn_step_forward as check_step"]
    assert lesson.student_names == {"step": {"rnn_step_forward"},
                                    "lstm": {"lstm_forward"}}
    assert lesson.tests == {"test_step": TEST["source"]}
    assert lesson.all_student_names == NAMES


AT_STEP = " in the solution cell 'step' (cell 2)"


def scan(step: str, *extra: dict) -> dict[str, str]:
    """Scan a submission whose ``step`` solution cell is ``step``."""
    nb = {"cells": [SETUP, cell(step, solution=True, grade_id="step"),
                    cell(LSTM, solution=True, grade_id="lstm"), *extra,
                    TEST]}
    return scan_student_cells(nb, read_lesson(SOURCE))


@pytest.mark.parametrize("step, reason", [
    ("from helpers.reference.rnn import rnn_step_forward\n",
     "imports rnn_step_forward from the course's helpers.reference.rnn"),
    ("from helpers import rnn_step_forward\n",
     "imports rnn_step_forward from the course's helpers"),
    ("from helpers.fast.rnn import ref_step as mine\n"
     "rnn_step_forward = mine\n",
     "imports ref_step from the course's helpers.fast.rnn"),
    ("from helpers.reference.rnn import *\n",
     "imports * from the course's helpers.reference.rnn"),
    ("import helpers.reference.rnn as r\n"
     "def rnn_step_forward(x):\n    return r.rnn_step_forward(x)\n",
     "uses helpers.reference.rnn.rnn_step_forward, the course's "
     "reference, instead of your own code,"),
    ("from helpers.reference import rnn\n"
     "def rnn_step_forward(x):\n    return rnn.rnn_step_forward(x)\n",
     "uses helpers.reference.rnn.rnn_step_forward, the course's "
     "reference, instead of your own code,"),
    ("def rnn_step_forward(x):\n"
     "    return helpers.reference.rnn.rnn_step_forward(x)\n",
     "uses helpers.reference.rnn.rnn_step_forward, the course's "
     "reference, instead of your own code,"),
])
def test_reference_use_is_flagged_for_its_exercise(package, step, reason):
    assert scan(step) == {"rnn_step_forward": reason + AT_STEP}


@pytest.mark.parametrize("step, how", [
    ("import importlib\nrnn_step_forward = importlib.import_module("
     "'helpers.reference.rnn').rnn_step_forward\n",
     "loads code dynamically (importlib), which solution cells may not "
     "do,"),
    ("rnn_step_forward = eval('lambda x: x')\n",
     "loads code dynamically (eval), which solution cells may not do,"),
    ("exec('def rnn_step_forward(x): return x')\n",
     "loads code dynamically (exec), which solution cells may not do,"),
    ("import sys\n"
     "rnn_step_forward = sys.modules['helpers'].rnn_step_forward\n",
     "reads sys.modules"),
])
def test_dynamic_loading_flags_the_cells_own_exercise(package, step, how):
    assert scan(step) == {"rnn_step_forward": how + AT_STEP}


def test_dynamic_loading_outside_solution_cells_flags_every_exercise(
        package):
    got = scan(STEP, cell("f = __import__('helpers')\n"))
    reason = ("loads code dynamically (__import__), which solution cells "
              "may not do, in cell 4")
    assert got == {"rnn_step_forward": reason, "lstm_forward": reason}


@pytest.mark.parametrize("step", [
    STEP,
    # A checker named like the exercise is not the reference.
    "from helpers.checks.rnn import rnn_step_forward as check\n" + STEP,
    "import numpy as np\n" + STEP + "print(np.linalg.norm([3, 4]))\n",
    "%timeit np.zeros(3)\n!ls\n" + STEP,
    "def rnn_step_forward(x):\n    return x.exec()\n",
    "def rnn_step_forward(x:\n    return x\n",     # cannot be parsed
])
def test_own_code_is_not_flagged(package, step):
    assert scan(step) == {}


def test_instructor_and_locked_cells_are_not_scanned(package):
    # The instructor's own cells, unchanged, and any locked cell.
    locked = cell("eval('1')\nfrom helpers.reference.rnn import "
                  "rnn_step_forward\n", locked=True, grade_id="given",
                  grade=False, solution=False)
    instructor = cell("from helpers.reference.rnn import "
                      "rnn_step_forward\n")
    source = {"cells": SOURCE["cells"] + [instructor]}
    nb = {"cells": [SETUP, cell(STEP, solution=True, grade_id="step"),
                    locked, instructor, TEST]}
    assert scan_student_cells(nb, read_lesson(source)) == {}


def test_bound_and_used_names():
    src = textwrap.dedent("""
        import numpy.linalg as la, os.path
        from math import pi
        x, (y, z) = 1, (2, 3)
        w: int = 4
        n += 1
        %matplotlib inline
        def f(a):
            return la.norm(a) + hidden
        class C:
            inner = 1
        """)
    assert bound_names(src) == {"la", "os", "pi", "x", "y", "z", "w", "n",
                                "f", "C"}
    assert used_names(src) == {"la", "a", "hidden", "int"}
    assert bound_names("def (") == set() == used_names("def (")


def test_another_exercises_reference_is_allowed_in_a_solution_cell(
        package):
    """Lesson 3's trap: the truncated-BPTT cell imports rnn_backward.
    That is not the exercise rnn_backward's own cell, so the import
    counts against neither exercise; in the exercise's own cell, or in
    a cell that is no solution, it counts against that exercise."""
    uses_step = ("from helpers.reference.rnn import rnn_step_forward\n"
                 "def lstm_forward(x):\n"
                 "    return rnn_step_forward(x)\n")
    nb = {"cells": [SETUP, cell(STEP, solution=True, grade_id="step"),
                    cell(uses_step, solution=True, grade_id="lstm"),
                    TEST]}
    assert scan_student_cells(nb, read_lesson(SOURCE)) == {}
    scratch = cell("from helpers.reference.rnn import rnn_step_forward\n")
    nb["cells"].append(scratch)
    assert scan_student_cells(nb, read_lesson(SOURCE)) == {
        "rnn_step_forward": "imports rnn_step_forward from the course's "
                            "helpers.reference.rnn in cell 5"}
