"""A scratch nbgrader course directory, outside the repository.

nbgrader wants its own layout (``source/<assignment>/``, a gradebook, ...).
Rather than keep that inside the repository, every instructor command
builds one in a temporary folder, runs nbgrader there through its real
API, and copies out only what it needs.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from . import SOLUTIONS
from .sandbox import with_own_bin

# Seconds a single cell may run before the kernel is interrupted.
DEFAULT_CELL_TIMEOUT = 120


# Address-space limit of a student's kernel (bytes).
DEFAULT_MEMORY = 4 * 2 ** 30


@contextmanager
def own_bin_on_path() -> Iterator[None]:
    """Run nbgrader with this Python's bin folder on PATH, then restore it.

    nbgrader creates a gradebook by running the ``alembic`` command of
    its own environment, which is not on PATH when ``.venv/bin/python``
    is called directly.
    """
    old = os.environ.get("PATH")
    os.environ["PATH"] = with_own_bin(old)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema: what
    ``alembic heads`` prints, read from nbgrader's migration scripts.

    nbgrader asks a new ``alembic`` process for it every time it makes a
    gradebook, which costs seconds (see :func:`known_schema`).
    """
    from nbgrader.dbutil import ALEMBIC_DIR
    revisions, parents = set(), set()
    for script in Path(ALEMBIC_DIR, "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        rev = re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        down = re.search(r"^down_revision\s*=\s*(.*)$", text, re.M)
        if rev:
            revisions.add(rev.group(1))
        if down:
            parents.update(re.findall(r"['\"](\w+)['\"]", down.group(1)))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"nbgrader's gradebook schema has {len(heads)} "
                           f"newest revisions in {ALEMBIC_DIR}, not one")
    return heads.pop()


@contextmanager
def known_schema() -> Iterator[None]:
    """Let nbgrader make a gradebook without starting ``alembic``: in
    this block it gets the schema's revision from :func:`alembic_head`."""
    import nbgrader.api
    ask = nbgrader.api.get_alembic_version
    nbgrader.api.get_alembic_version = alembic_head
    try:
        yield
    finally:
        nbgrader.api.get_alembic_version = ask


def harden(c: Config, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
           sandbox_uid: int = -1, memory: int = DEFAULT_MEMORY,
           hide: list[str] | None = None) -> Config:
    """Make nbgrader's autograde safe for untrusted notebooks.

    The kernel runs sandboxed (:mod:`autograder.execute`), graded cells
    are re-checked outside it, and a deleted test cell is put back.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties,
                                        CheckCellMetadata, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)

    from .execute import SandboxedExecute
    c.Execute.timeout = cell_timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.startup_timeout = 120
    c.SandboxedExecute.sandbox_uid = sandbox_uid
    c.SandboxedExecute.memory_limit = memory
    c.SandboxedExecute.hide_paths = list(hide or [])
    c.Autograde.autograde_preprocessors = [
        SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor,
        LimitOutput, SaveAutoGrades, AssignLatePenalties,
        CheckCellMetadata]
    # A student who deletes a test cell still gets it graded.
    c.OverwriteCells.add_missing_cells = True
    # Feedback pages never show the hidden tests.
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from .feedback import FeedbackExporter, HideHiddenTests
    c.GenerateFeedback.exporter_class = FeedbackExporter
    c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades,
                                        CSSHTMLHeaderPreprocessor]
    return c


def make_config(root: Path, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                **hardening) -> Config:
    """nbgrader configuration for a scratch course rooted at ``root``."""
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "rnn-course"
    c.ClearSolutions.code_stub = {
        "python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return harden(c, cell_timeout, **hardening)


COURSE_CONFIG = """\
# nbgrader configuration of the RNN course (written by
# `python -m autograder course-config`).
import os
import sys
sys.path.insert(0, {root!r})
from autograder.nbgrader_course import harden
from autograder.sandbox import with_own_bin

# nbgrader runs `alembic` from its own environment to make a gradebook.
os.environ["PATH"] = with_own_bin(os.environ.get("PATH"))
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.ClearSolutions.code_stub = {{
    "python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
{exchange}harden(c, cell_timeout={timeout!r}, memory={memory!r})
"""


def write_course_config(folder: Path, course_id: str = "rnn-course",
                        exchange: Path | None = None,
                        cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                        memory: int = DEFAULT_MEMORY) -> Path:
    """Write ``nbgrader_config.py`` for a real, long-lived course."""
    from . import ROOT
    ex = (f"c.Exchange.root = {str(exchange)!r}\n" if exchange else "")
    path = folder / "nbgrader_config.py"
    path.write_text(COURSE_CONFIG.format(
        root=str(ROOT), course_id=course_id, exchange=ex,
        timeout=cell_timeout, memory=memory))
    return path


class ScratchCourse:
    """An nbgrader course in a temporary directory."""

    def __init__(self, root: Path, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                 **hardening):
        self.root = root
        self.config = make_config(root, cell_timeout, **hardening)
        coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(coursedir=coursedir, config=self.config)
        self.api.log.setLevel(logging.ERROR)

    def add_source(self, lesson: str, notebook: Path) -> None:
        """Place a solution notebook as nbgrader assignment ``lesson``."""
        dest = self.root / "source" / lesson
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, dest / f"{lesson}.ipynb")

    def generate_assignment(self, lesson: str) -> Path:
        """Run nbgrader's generate_assignment; return the student notebook."""
        with known_schema():        # the first call makes the gradebook
            result = self.api.generate_assignment(lesson, force=True,
                                                  create=True)
        if not result["success"]:
            raise RuntimeError(
                f"nbgrader generate_assignment failed for {lesson}:\n"
                f"{result.get('error') or ''}\n{result.get('log') or ''}")
        return self.root / "release" / lesson / f"{lesson}.ipynb"


@contextmanager
def scratch_course(cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                   keep: bool = False) -> Iterator[ScratchCourse]:
    """Yield a :class:`ScratchCourse`; delete it afterwards unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix="rnn-course-nbgrader-"))
    try:
        yield ScratchCourse(root, cell_timeout)
    finally:
        if keep:
            print(f"nbgrader course directory kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def lesson_names(solutions: Path = SOLUTIONS) -> list[str]:
    """Names of the lessons that have a solution notebook."""
    return sorted(p.stem for p in solutions.glob("[0-9][0-9]_*.ipynb"))
