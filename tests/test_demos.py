"""Demonstration cells: which ones the grader leaves out, and a real
grade of the toy lesson, whose demo cell binds ``demo_table``."""

from __future__ import annotations

import json

import pytest

from autograder.demos import cell_names, demo_sources, skipped
from autograder.execute import DEMO_NOT_RUN, META_KEY
from autograder.grade import grade
from conftest import load, read_grades, solve

LESSON = "99_toy"


@pytest.mark.parametrize("code, binds, reads", [
    ("y = x + 1", {"y"}, {"x"}),
    ("x = x + 1", {"x"}, {"x"}),                 # reads the old x first
    ("rng = make()\nrng.normal()", {"rng"}, {"make"}),
    ("n += 1", {"n"}, {"n"}),
    ("def f():\n    return model\n", {"f"}, {"model"}),
    # a name bound inside a function or a comprehension is not bound
    # at the top of the cell: a later statement's read is the old one
    ("def f():\n    model = 1\nprint(model)", {"f"}, {"model", "print"}),
    ("a = [v for v in range(3)]\nprint(v)", {"a"}, {"range", "print", "v"}),
    ("def f(x, *a, k=d, **kw):\n    y = x\n    return y, a, k, kw, z",
     {"f"}, {"d", "z"}),
    ("def f():\n    global g\n    g = 1", {"f", "g"}, set()),
    ("f = lambda t: t + u", {"f"}, {"u"}),
    ("@wrap\ndef f(x: T = d) -> R:\n    return x", {"f"},
     {"wrap", "T", "d", "R"}),
    ("s = {k: v for k, v in d.items() if k}", {"s"}, {"d"}),
    ("if (w := 2):\n    pass", {"w"}, set()),
    ("if c:\n    z = 1\nprint(z)", {"z"}, {"c", "print", "z"}),
    ("import numpy as np\nnp.ones(2)", {"np"}, set()),
    ("from m import a as b\nb()", {"b"}, set()),
    ("del q", {"q"}, {"q"}),
])
def test_what_a_cell_binds_and_reads(code, binds, reads):
    names = cell_names(code)
    assert names.binds == binds and names.reads == reads


@pytest.mark.parametrize("code", [
    "print(globals()['model'])", "eval('model')", "exec('print(m)')",
    "vars()", "dir()", "import __main__", "sys.modules['__main__']",
    "f.__globals__['model']", "%who", "get_ipython().user_ns['m']",
    "def broken(:", "import inspect\ninspect.currentframe().f_back",
    "x" + ".a" * 200_000, "-" * 100_000 + "1",       # too deep to read
])
def test_dynamic_or_unreadable_code_reads_every_name(code):
    assert cell_names(code).reads is None


def test_a_star_import_binds_unknown_names():
    assert cell_names("from numpy import *").binds is None


DEMO_A = "table = make()\nplot(table)"
DEMO_B = "plot(table)\nsummary = len(table)"


@pytest.mark.parametrize("cells, left_out", [
    # nothing later reads the demo's names
    (["make = f", DEMO_A, "x = 1"], {1}),
    # a later cell reads what the demo bound: it runs
    (["make = f", DEMO_A, "print(table)"], set()),
    # read only by another demo that is left out: both are left out
    (["make = f", DEMO_A, None, DEMO_B], {1, 3}),
    # ... unless something reads that demo's result in turn
    (["make = f", DEMO_A, DEMO_B, "print(summary)"], set()),
    # a later cell that may read any name keeps every demo before it
    (["make = f", DEMO_A, "print(globals())", DEMO_B], {3}),
    # a cell with the demo's code changed is not a demo
    (["make = f", DEMO_A + "  # mine"], set()),
])
def test_which_demos_are_left_out(cells, left_out):
    assert skipped(cells, frozenset({DEMO_A, DEMO_B})) == left_out


def test_demo_sources_come_from_tagged_code_cells_only():
    nb = {"cells": [
        {"cell_type": "code", "source": ["a = 1\n", "b = 2"],
         "metadata": {"tags": ["demo"]}},
        {"cell_type": "code", "source": "c = 3", "metadata": {}},
        {"cell_type": "markdown", "source": "d", "metadata":
         {"tags": ["demo"]}},
        # nbgrader's cells are never demos, whatever their tags say
        {"cell_type": "code", "source": "e = 5", "metadata": {
            "tags": ["demo"], "nbgrader": {"grade_id": "e"}}},
    ]}
    assert demo_sources(nb) == {"a = 1\nb = 2"}


# ------------------------------------------------- a real grading run
@pytest.fixture(scope="module")
def graded_demos(toy_course, tmp_path_factory):
    """The toy lesson graded for four students: one hands in the
    solution ("plain"), one adds a cell that reads the demo's table
    ("reader"), one reads it in a way its code does not show
    ("hidden"), one changed the demo cell ("edited")."""
    sol, les = toy_course
    solution = load(sol / f"{LESSON}.ipynb")
    student = solve(load(les / f"{LESSON}.ipynb"), solution,
                    {"double", "triple"})
    reader = json.loads(json.dumps(student))
    reader["cells"].append({
        "cell_type": "code", "execution_count": None, "id": "mine",
        "metadata": {}, "outputs": [], "source": "print(sum(demo_table))"})
    hidden = json.loads(json.dumps(student))
    hidden["cells"].append({
        "cell_type": "code", "execution_count": None, "id": "mine",
        "metadata": {}, "outputs": [], "source": (
            "import builtins\n"
            "print(sum(getattr(builtins, 'ev' + 'al')('demo_table')))")})
    edited = json.loads(json.dumps(student))
    demo = next(c for c in edited["cells"]
                if "demo" in c["metadata"].get("tags", []))
    demo["source"] = "".join(demo["source"]) + "  # my note"
    subs = tmp_path_factory.mktemp("demo-subs")
    for who, nb in (("plain", student), ("reader", reader),
                    ("hidden", hidden), ("edited", edited)):
        (subs / who).mkdir()
        (subs / who / f"{LESSON}.ipynb").write_text(json.dumps(nb))
    out = tmp_path_factory.mktemp("demo-out")
    grade(subs, out, cell_timeout=30, solutions=sol, jobs=1, budget=None)
    return out


def demo_cell(out, who):
    nb = load(out / "autograded" / who / f"{LESSON}.ipynb")
    index = next(i for i, c in enumerate(nb["cells"])
                 if "demo" in c["metadata"].get("tags", []))
    text = "".join("".join(o.get("text", ""))
                   for o in nb["cells"][index]["outputs"])
    return index, text, nb["metadata"][META_KEY]["demo_cells_not_run"]


@pytest.mark.slow
def test_a_demo_nothing_reads_is_not_run_and_says_so(graded_demos):
    index, text, not_run = demo_cell(graded_demos, "plain")
    assert text == DEMO_NOT_RUN and not_run == [index]


@pytest.mark.slow
@pytest.mark.parametrize("who", ["reader", "edited"])
def test_a_demo_that_is_read_or_changed_runs(graded_demos, who):
    _, text, not_run = demo_cell(graded_demos, who)
    assert "demo table" in text and not_run == []


@pytest.mark.slow
def test_a_name_error_for_a_left_out_demo_runs_everything_again(
        graded_demos):
    # The static reading misses this cell's lookup of the demo's table;
    # its NameError makes the grader run the notebook again, demo included.
    _, text, not_run = demo_cell(graded_demos, "hidden")
    assert "demo table" in text and not_run == []
    nb = load(graded_demos / "autograded" / "hidden" / f"{LESSON}.ipynb")
    assert "".join(nb["cells"][-1]["outputs"][0]["text"]).strip() == "12"
    notes = nb["metadata"][META_KEY]["notes"]
    assert any("'demo_table'" in n and "again with every cell" in n
               for n in notes), notes
    plain = load(graded_demos / "autograded" / "plain" / f"{LESSON}.ipynb")
    assert not plain["metadata"][META_KEY]["notes"]


@pytest.mark.slow
def test_leaving_demos_out_costs_no_points(graded_demos):
    g = read_grades(graded_demos / "grades.csv")
    for who in ("plain", "reader", "hidden", "edited"):
        for exercise, pts in (("double_tests", 2.0), ("triple_tests", 1.0)):
            assert g[(who, LESSON, exercise)][:2] == (pts, pts), who
    nb = load(graded_demos / "autograded" / "reader" / f"{LESSON}.ipynb")
    assert "".join(nb["cells"][-1]["outputs"][0]["text"]).strip() == "12"
