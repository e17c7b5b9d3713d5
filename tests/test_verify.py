"""What the verifier reads from a lesson: imports, names, test cells.

(Reference use is no longer read from the cells: it is judged by what
runs, see tests/test_reference_view.py and tests/test_grade_hostile.py.)
"""

from __future__ import annotations

import textwrap

from autograder.verify import bound_names, read_lesson, used_names

NAMES = {"rnn_step_forward", "lstm_forward"}


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
