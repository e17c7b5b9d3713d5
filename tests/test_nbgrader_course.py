"""The scratch nbgrader course: a gradebook is made without ``alembic``
on PATH, with the schema revision ``alembic`` itself names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from autograder.nbgrader_course import (alembic_head, known_schema,
                                        own_bin_on_path, scratch_course)

BIN = os.path.dirname(sys.executable)
BARE_PATH = "/usr/bin:/bin"

MAKE_GRADEBOOK = textwrap.dedent("""
    import os
    import sys
    from pathlib import Path

    import nbformat

    from autograder.nbgrader_course import scratch_course

    assert os.environ["PATH"] == sys.argv[2], "changed PATH at import"
    cell = nbformat.v4.new_code_cell("assert True")
    cell.metadata["nbgrader"] = {
        "grade": True, "grade_id": "t", "locked": True, "points": 1,
        "solution": False, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[cell])
    path = Path(sys.argv[1]) / "01_tiny.ipynb"
    nbformat.write(nb, path)
    with scratch_course() as course:
        course.add_source("01_tiny", path)
        assert course.generate_assignment("01_tiny").exists()
        assert (course.root / "gradebook.db").exists()
    assert os.environ["PATH"] == sys.argv[2], "PATH not restored"
    """)


def test_gradebook_made_when_venv_bin_is_not_on_path(tmp_path):
    """``.venv/bin/python`` called directly, its bin folder not on PATH."""
    if shutil.which("alembic", path=BARE_PATH):
        pytest.skip("alembic is installed system-wide")
    env = {"PATH": BARE_PATH, "HOME": str(tmp_path),
           "LANG": "C.UTF-8"}
    res = subprocess.run(
        [sys.executable, "-c", MAKE_GRADEBOOK, str(tmp_path), BARE_PATH],
        env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def test_own_bin_on_path_restores_the_environment(monkeypatch):
    monkeypatch.setenv("PATH", BARE_PATH)
    with own_bin_on_path():
        assert os.environ["PATH"].split(os.pathsep)[0] == BIN
    assert os.environ["PATH"] == BARE_PATH
    monkeypatch.delenv("PATH")
    with own_bin_on_path():
        assert os.environ["PATH"].startswith(BIN)
    assert "PATH" not in os.environ


def test_the_schema_revision_is_the_one_alembic_names(tmp_path):
    """What nbgrader writes into a new gradebook: ``alembic heads`` in a
    process of its own (nbgrader's way) and :func:`alembic_head` agree,
    and a scratch course's gradebook carries that revision."""
    import sqlite3

    import nbformat
    import nbgrader.api

    with own_bin_on_path():
        assert alembic_head() == nbgrader.api.get_alembic_version()
    cell = nbformat.v4.new_code_cell("assert True")
    cell.metadata["nbgrader"] = {
        "grade": True, "grade_id": "t", "locked": True, "points": 1,
        "solution": False, "schema_version": 3}
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    with scratch_course() as course:
        course.add_source("01_tiny", path)
        course.generate_assignment("01_tiny")
        db = sqlite3.connect(course.root / "gradebook.db")
        (version,), = db.execute("SELECT version_num FROM alembic_version")
        db.close()
    assert version == alembic_head()


def test_known_schema_gives_nbgrader_its_own_lookup_back():
    import nbgrader.api
    ask = nbgrader.api.get_alembic_version
    with known_schema():
        assert nbgrader.api.get_alembic_version is alembic_head
    assert nbgrader.api.get_alembic_version is ask
    with pytest.raises(KeyError):
        with known_schema():
            raise KeyError("x")
    assert nbgrader.api.get_alembic_version is ask
