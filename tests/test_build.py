"""Lesson sources -> solutions/*.ipynb -> lessons/ (nbgrader release)."""

from __future__ import annotations

import pytest

from autograder.build import SourceError, build_notebook, sources
from autograder.release import release
from conftest import LESSONS, SOLUTIONS, graded_points, load

LESSON_SOURCES = sources(SOLUTIONS)


def test_there_are_lessons():
    assert len(LESSON_SOURCES) >= 2


def test_header_keys_become_nbgrader_metadata(tmp_path):
    src = tmp_path / "01_x.py"
    src.write_text(
        '# %% solution="f"\ndef f():\n    ### BEGIN SOLUTION\n'
        '    return 1\n    ### END SOLUTION\n\n'
        '# %% tests="f_tests" points=2\nassert f() == 1\n')
    nb = build_notebook(src)
    sol, tests = nb.cells
    assert sol.metadata["nbgrader"]["solution"] is True
    assert sol.metadata["nbgrader"]["grade"] is False
    assert tests.metadata["nbgrader"]["grade"] is True
    assert tests.metadata["nbgrader"]["locked"] is True
    assert tests.metadata["nbgrader"]["points"] == 2
    assert [c.id for c in nb.cells] == ["f", "f_tests"]


@pytest.mark.parametrize("header, message", [
    ('# %% tests="t"\npass\n', "needs points"),
    ('# %% solution="a b"\npass\n', "bad grade id"),
    ('# %% solution="a"\npass\n\n# %% solution="a"\npass\n', "used twice"),
])
def test_bad_headers_are_reported(tmp_path, header, message):
    src = tmp_path / "01_x.py"
    src.write_text(header)
    with pytest.raises(SourceError, match=message):
        build_notebook(src)


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    base = tmp_path_factory.mktemp("release")
    release(SOLUTIONS, base / "lessons", built=base / "solutions")
    return base


def test_committed_notebooks_match_a_fresh_release(fresh_release):
    """lessons/ and solutions/*.ipynb do not drift from the sources."""
    for kind, committed in (("solutions", SOLUTIONS), ("lessons", LESSONS)):
        fresh = sorted(p.name for p in (fresh_release / kind).glob("*.ipynb"))
        have = sorted(p.name for p in committed.glob("*.ipynb"))
        assert fresh == have, f"{kind}/: notebooks differ from a release"
        for name in fresh:
            new = (fresh_release / kind / name).read_text(encoding="utf-8")
            old = (committed / name).read_text(encoding="utf-8")
            assert new == old, (
                f"{kind}/{name} is out of date: run "
                f"'python3 course.py release' and commit the result")


def test_release_is_idempotent(fresh_release, tmp_path):
    release(SOLUTIONS, tmp_path / "lessons", built=tmp_path / "solutions")
    for p in (fresh_release / "lessons").glob("*.ipynb"):
        assert p.read_bytes() == (tmp_path / "lessons" / p.name).read_bytes()


@pytest.mark.parametrize("src", LESSON_SOURCES, ids=lambda p: p.stem)
def test_student_notebook_has_no_solutions_or_hidden_tests(src):
    student = load(LESSONS / f"{src.stem}.ipynb")
    solution = load(SOLUTIONS / f"{src.stem}.ipynb")
    text = "".join("".join(c["source"]) for c in student["cells"])
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                   "END HIDDEN TESTS"):
        assert marker not in text
    # Every solution cell became a stub, every test cell kept its points.
    stubs = [c for c in student["cells"]
             if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert stubs, "a lesson needs at least one exercise"
    for cell in stubs:
        assert "raise NotImplementedError()" in "".join(cell["source"])
    assert graded_points(student) == graded_points(solution)
    # The hidden tests are really in the solution and not in the lesson.
    hidden = [c for c in solution["cells"]
              if "BEGIN HIDDEN TESTS" in "".join(c["source"])]
    assert hidden, "every lesson hides some tests"


@pytest.mark.parametrize("src", LESSON_SOURCES, ids=lambda p: p.stem)
def test_solutions_are_stored_without_outputs(src):
    nb = load(SOLUTIONS / f"{src.stem}.ipynb")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
