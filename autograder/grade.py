"""Grade a class: submissions in, ``grades.csv`` and feedback HTML out.

Input is a folder ``<student>/<lesson>.ipynb`` (one subfolder per
student), a zip of such a folder, or a flat LMS zip (see
:mod:`autograder.intake`). Each submission is graded on its own
(:mod:`autograder.grade_one`): a scratch nbgrader course holding only
that lesson's gradebook and source, nbgrader's ``autograde`` with the
hardened pipeline of :func:`autograder.nbgrader_course.harden`
(sandboxed kernel, graded cells re-checked outside it) and
``generate_feedback``. Submissions are graded in parallel (see
:mod:`autograder.batch`). Results in the output folder:

* ``grades.csv``: one row per student, lesson and graded cell, with
  columns student, lesson, exercise, score, max_score, note. The note
  says why points were lost (the failing check's message) and anything
  the grader had to do (a restored test cell, a stopped cell, ...).
* ``feedback/<student>/<lesson>.html``: nbgrader's feedback page.
* ``autograded/<student>/<lesson>.ipynb``: the executed notebook.
* ``problems.txt``: files that could not be graded, and why.
* ``summary.txt``, ``summary.json``, ``scores.png``: counts, failures
  and the score distribution.

The input is only ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import SOLUTIONS, cells
from .budget import (DEFAULT_FACTOR, DEFAULT_FLOOR, reference_seconds,
                     time_budget)
from .batch import run_batch
from .grade_one import LessonTemplate
from .intake import read_submissions
from .nbgrader_course import (DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY,
                              lesson_names, scratch_course)


@dataclass
class Report:
    rows: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    graded: int = 0
    failed: int = 0
    skipped: int = 0
    output: Path | None = None
    interrupted: bool = False

    def summary(self) -> str:
        lines = [f"graded {self.graded} submission(s)"
                 + (f", {self.failed} could not be graded"
                    if self.failed else "")
                 + (f", {self.skipped} already graded (resumed)"
                    if self.skipped else "")
                 + f"; results in {self.output}"]
        if self.interrupted:
            lines.append("interrupted: run the same command again to "
                         "grade the rest")
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def make_templates(lessons: list[str], solutions: Path, work: Path,
                   budget: tuple[float, float] | None = (DEFAULT_FACTOR,
                                                         DEFAULT_FLOOR)
                   ) -> dict[str, LessonTemplate]:
    """Run generate_assignment once per lesson; keep what grading needs.

    With ``budget = (factor, floor)`` each lesson's source notebook
    carries its time budget: ``factor`` times the solution notebook's own
    time plus ``floor`` seconds (:mod:`autograder.budget`).
    """
    out = {}
    with scratch_course() as course:
        for lesson in lessons:
            course.add_source(lesson, solutions / f"{lesson}.ipynb")
        for lesson in lessons:
            released = course.generate_assignment(lesson)
            folder = work / "templates" / lesson
            (folder / "source").mkdir(parents=True)
            shutil.copytree(course.root / "source" / lesson,
                            folder / "source" / lesson)
            solution = (solutions / f"{lesson}.ipynb").read_bytes()
            points = cells.points(json.loads(solution))
            salt = b""
            if budget is not None:
                ref = reference_seconds(solutions / f"{lesson}.ipynb")
                seconds = time_budget(ref, *budget)
                source = folder / "source" / lesson / f"{lesson}.ipynb"
                nb = json.loads(source.read_text(encoding="utf-8"))
                nb["metadata"].setdefault("rnn_course_grader", {}).update(
                    reference_seconds=round(ref, 2),
                    time_budget=round(seconds, 1))
                source.write_text(json.dumps(nb), encoding="utf-8")
                salt = f"budget {budget}".encode()
            out[lesson] = LessonTemplate(
                lesson, str(folder), list(points), points,
                json.loads(released.read_text(encoding="utf-8")),
                hashlib.sha256(solution + salt).hexdigest())
        # One gradebook knows every lesson; each submission gets a copy.
        for lesson in lessons:
            shutil.copyfile(course.root / "gradebook.db",
                            Path(out[lesson].folder) / "gradebook.db")
    return out


def grade(submissions: Path, output: Path,
          cell_timeout: int = DEFAULT_CELL_TIMEOUT,
          keep: bool = False, solutions: Path = SOLUTIONS,
          jobs: int | None = None, memory: int = DEFAULT_MEMORY,
          lms_pattern: str | None = None, resume: bool = True,
          progress: bool | None = None, match_renamed: bool = False,
          budget: tuple[float, float] | None = (DEFAULT_FACTOR,
                                                DEFAULT_FLOOR)
          ) -> Report:
    """Grade every submission under ``submissions`` into ``output``.

    ``budget = (factor, floor)``: a notebook's cells may run ``factor``
    times as long as the lesson's solution notebook, plus ``floor``
    seconds, in all; None: no budget.
    """
    from .sandbox import ensure_bwrap
    ensure_bwrap()          # the sandbox for student code, or a clear error
    known = lesson_names(solutions)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rnn-course-grading-"))
    os.chmod(work, 0o700)
    try:
        released = {}
        templates = make_templates(known, solutions, work, budget) \
            if known else {}
        for name, t in templates.items():
            released[name] = t.released
        subs, problems = read_submissions(submissions, released,
                                          lms_pattern, match_renamed)
        report = Report(problems=problems, output=output)
        run_batch(subs, templates, output, work, report,
                  cell_timeout=cell_timeout, memory=memory, jobs=jobs,
                  keep=keep, resume=resume, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report
