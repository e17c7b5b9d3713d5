"""The kernel's view of ``helpers`` during grading: the lesson's own
graded reference functions are stubs, everything else is untouched.

A small ``helpers`` package in a temporary folder stands in for the
course's for the stubbing itself; the real course is used to check which
functions each lesson hides and that the stubbed modules still import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from autograder import reference_view as rv
from conftest import ROOT, SOLUTIONS, load

PACKAGE = {
    "__init__.py": "",
    "reference/__init__.py": "",
    "reference/rnn.py": '''
        import numpy as np


        def step(x):
            """The reference step.

            Shapes: x (N, D).
            """
            y = np.tanh(x)
            return y


        def forward(x): return step(x)


        def helper(x):
            return x + 1


        def only_doc():
            """Nothing else."""
        ''',
    "fast/__init__.py": "",
    "fast/rnn.py": '''
        def step_fast(x):
            return x


        def forward_fast(x):
            return x
        ''',
}


def lesson(*solution_sources: str) -> dict:
    cells = [{"cell_type": "code", "source": src, "metadata": {
        "nbgrader": {"solution": True, "grade_id": f"s{i}"}}}
        for i, src in enumerate(solution_sources)]
    cells.append({"cell_type": "code", "source": "def helper(x): pass\n",
                  "metadata": {}})
    return {"cells": cells}


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "helpers"
    for rel, text in PACKAGE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    (root / "reference" / "__pycache__").mkdir()
    return root


def test_hidden_are_the_solution_names_the_reference_defines(package):
    nb = lesson("def step(x):\n    return x\n", "def mine(x): pass\n")
    # helper is defined in a cell that is no solution: not graded.
    assert rv.hidden_functions(nb, package) == {"step"}
    assert rv.reference_functions(package) == {"step", "forward",
                                               "helper", "only_doc"}


def test_stubs_raise_keep_line_numbers_and_the_rest(package):
    text = (package / "reference" / "rnn.py").read_text()
    new = rv.stub_source(text, {"step", "forward", "only_doc"})
    assert new.splitlines()[:len(text.splitlines())] != text.splitlines()
    ns: dict = {}
    exec(compile(new, "rnn.py", "exec"), ns)
    for name, args in (("step", (1.0,)), ("forward", (1.0,)),
                       ("only_doc", ())):
        with pytest.raises(ns["ReferenceNotAvailable"],
                           match=f"{name} is the course's reference.*not "
                                 "available during grading"):
            ns[name](*args)
    assert ns["helper"](1) == 2
    assert ns["step"].__doc__.startswith("The reference step.")
    # Line numbers kept: helper starts where it did.
    old_line = text.splitlines().index("def helper(x):")
    assert new.splitlines()[old_line] == "def helper(x):"
    assert "np.tanh" not in new
    assert rv.stub_source(text, {"nothing"}) is None


def test_view_maps_stubbed_files_over_the_originals(package, tmp_path):
    ro_map, masked = rv.build_view({"step"}, tmp_path / "view", package)
    assert ro_map[0] == [str(package), str(package)]
    dests = {d: s for s, d in ro_map[1:]}
    assert set(dests) == {str(package / "reference" / "rnn.py")}
    stub = open(dests[str(package / "reference" / "rnn.py")]).read()
    assert "ReferenceNotAvailable" in stub and "np.tanh" not in stub
    # The compiled original must not be readable beside the stub.
    assert masked == [str(package / "reference" / "__pycache__")]
    assert rv.build_view(set(), tmp_path / "none", package) == (
        [[str(package), str(package)]], [])


@pytest.mark.parametrize("name,hidden", [
    ("01_sequences", set()),
    ("02_simple_rnn", {"rnn_step_forward", "rnn_forward"}),
    ("03_bptt", {"rnn_step_backward", "rnn_backward",
                 "embedding_backward"}),
    ("04_vanishing_gradients", {"clip_grad_norm"}),
])
def test_each_lessons_hidden_functions(name, hidden):
    path = SOLUTIONS / f"{name}.ipynb"
    if not path.exists():
        pytest.skip(f"{name} is not in this checkout")
    assert rv.hidden_functions(load(path)) == hidden


def test_stubbed_course_modules_still_import(tmp_path):
    """Every stubbed module of the real course compiles and imports with
    the rest of helpers (run in a child with the stubs on top)."""
    names = set()
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        names |= rv.hidden_functions(load(path))
    ro_map, _ = rv.build_view(names, tmp_path / "view")
    overlay = tmp_path / "overlay"
    import shutil
    shutil.copytree(ROOT / "helpers", overlay / "helpers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for src, dest in ro_map[1:]:
        rel = __import__("pathlib").Path(dest).relative_to(ROOT)
        shutil.copyfile(src, overlay / rel)
    code = textwrap.dedent(f"""
        import importlib, inspect, json, pkgutil, sys
        sys.path.insert(0, {str(overlay)!r})
        import helpers.reference, helpers.support
        mods = [importlib.import_module(m.name) for pkg in (
            helpers.reference, helpers.support) for m in
            pkgutil.iter_modules(pkg.__path__, pkg.__name__ + ".")]
        refs = [m for m in mods if m.__name__.startswith(
            "helpers.reference.")]
        assert all(m.__file__.startswith({str(overlay)!r}) for m in mods)
        out = {{}}
        for n in {sorted(names)!r}:
            for mod in refs:
                if n in vars(mod) and getattr(mod, n).__module__ == \
                        mod.__name__:
                    fn = getattr(mod, n)
                    need = [q for q in inspect.signature(fn).parameters
                            .values() if q.default is q.empty]
                    try:
                        fn(*[None] * len(need))
                    except Exception as e:
                        out[n] = type(e).__name__
        print(json.dumps(out))
        """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got == {n: "ReferenceNotAvailable" for n in names}
