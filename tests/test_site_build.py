"""The site build on a toy course of two tiny lessons: what it makes of
an exercise, and what its execution cache runs again.

* the exercise is shown as the student's notebook has it, the reference
  solution follows behind a toggle, the hidden test is gone;
* a second build with no change executes nothing; after one lesson's code
  changed, that lesson alone runs again;
* a cell that raises fails the build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.build import build_notebook
from website.notebooks import CODE_STUB, site_notebook

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

LESSON = '''\
# %% [markdown]
# # Lesson {n} — Toy {n}
#
# **What you will learn**
#
# 1. To add {n}, $y = x + {n}$.

# %% solution="add_{n}"
def add_{n}(x):
    """Return x + {n}."""
    ### BEGIN SOLUTION
    return x + {n}
    ### END SOLUTION

# %% tests="add_{n}_tests" points=1
assert add_{n}(1) == {n} + 1
### BEGIN HIDDEN TESTS
assert add_{n}(41) == 41 + {n}, "secret-hidden-check-{n}"
### END HIDDEN TESTS

# %%
print("result", add_{n}(1){extra})
'''

README = """# Toy course

A course of two toy lessons.

## Quick start

```bash
python3 course.py start
```
"""


def write_lesson(root: Path, n: int, extra: str = "") -> None:
    source = root / "solutions" / f"0{n}_toy.py"
    source.write_text(LESSON.format(n=n, extra=extra), encoding="utf-8")
    student = build_notebook(source)
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    ClearSolutions(code_stub={"python": CODE_STUB}).preprocess(student, {})
    ClearHiddenTests().preprocess(student, {})
    (root / "lessons" / f"0{n}_toy.ipynb").write_text(
        nbformat.writes(student), encoding="utf-8")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    (root / "solutions").mkdir()
    (root / "lessons").mkdir()
    (root / "README.md").write_text(README, encoding="utf-8")
    for n in (1, 2):
        write_lesson(root, n)
    return root


def build(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "website", "--root", str(root),
         "--out", str(root / "site" / "html"),
         "--cache", str(root / "cache")],
        cwd=ROOT, env=env, capture_output=True, text=True)


def executed(result: subprocess.CompletedProcess) -> list[str]:
    """The pages executed in this build (before it, side by side, or by
    MyST-NB while reading)."""
    pattern = r"(\w+)\.ipynb: Execut(?:ing|ed) notebook"
    return sorted(set(re.findall(pattern,
                                 result.stdout + result.stderr)))


def test_the_page_of_an_exercise(toy):
    nb, lesson = site_notebook(toy / "solutions" / "01_toy.py")
    text = "\n".join(c.source for c in nb.cells)
    assert "secret-hidden-check" not in text
    assert "HIDDEN TESTS" not in text
    assert lesson.title == "Lesson 1 — Toy 1"
    assert lesson.goals == ["To add 1, $y = x + 1$."]
    assert lesson.exercises == [("add_1_tests", 1)]
    shown = [c for c in nb.cells if c.cell_type == "markdown"
             and "raise NotImplementedError()" in c.source]
    assert len(shown) == 1 and "return x + 1" not in shown[0].source
    solution = [c for c in nb.cells if "return x + 1" in c.source]
    assert len(solution) == 1
    assert solution[0].metadata["tags"] == ["hide-input"]


def test_the_cache_runs_only_what_changed_and_errors_fail(toy):
    first = build(toy)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert executed(first) == ["01_toy", "02_toy"]
    page = (toy / "site" / "html" / "01_toy.html").read_text()
    assert "result 2" in page and "secret-hidden-check" not in page
    index = (toy / "site" / "html" / "index.html").read_text()
    assert "Lesson 2 — Toy 2" in index

    again = build(toy)
    assert again.returncode == 0, again.stderr
    assert executed(again) == []

    write_lesson(toy, 2, extra=" * 10")
    changed = build(toy)
    assert changed.returncode == 0, changed.stderr
    assert executed(changed) == ["02_toy"]
    assert "result 30" in (toy / "site" / "html" / "02_toy.html").read_text()

    write_lesson(toy, 2, extra=" / 0")
    broken = build(toy)
    assert broken.returncode != 0
    assert "ZeroDivisionError" in broken.stdout + broken.stderr
    shutil.rmtree(toy / "site")
