"""Grade a class: submissions in, ``grades.csv`` and feedback HTML out.

Input is a folder ``<student>/<lesson>.ipynb`` (one subfolder per
student), a zip of such a folder, or a flat LMS zip (see
:mod:`autograder.intake`). Each submission is graded on its own: a
scratch nbgrader course holding only that lesson's gradebook and source,
nbgrader's ``autograde`` with the hardened pipeline of
:func:`autograder.nbgrader_course.harden` (sandboxed kernel, graded cells
re-checked outside it) and ``generate_feedback``. Submissions are graded
in parallel (see :mod:`autograder.batch`). Results in the output folder:

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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import SOLUTIONS
from .intake import Submission, read_submissions
from .nbgrader_course import (DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY,
                              lesson_names, scratch_course)
from .repair import prepare

CSV_COLUMNS = ["student", "lesson", "exercise", "score", "max_score",
               "note"]
INTERNAL_ID = "student"


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


@dataclass
class LessonTemplate:
    """A lesson ready to grade: gradebook and source of a scratch course."""

    name: str
    folder: str
    order: list[str]
    points: dict[str, float]
    released: dict
    digest: str = ""


def grade_ids(solution: Path) -> list[str]:
    """Graded cells of a lesson, in notebook order."""
    nb = json.loads(solution.read_text(encoding="utf-8"))
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def _points(solution: Path) -> dict[str, float]:
    nb = json.loads(solution.read_text(encoding="utf-8"))
    return {c["metadata"]["nbgrader"]["grade_id"]:
            float(c["metadata"]["nbgrader"]["points"])
            for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def make_templates(lessons: list[str], solutions: Path, work: Path
                   ) -> dict[str, LessonTemplate]:
    """Run generate_assignment once per lesson; keep what grading needs."""
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
            out[lesson] = LessonTemplate(
                lesson, str(folder), grade_ids(solutions /
                                               f"{lesson}.ipynb"),
                _points(solutions / f"{lesson}.ipynb"),
                json.loads(released.read_text(encoding="utf-8")),
                hashlib.sha256((solutions / f"{lesson}.ipynb")
                               .read_bytes()).hexdigest())
        # One gradebook knows every lesson; each submission gets a copy.
        for lesson in lessons:
            shutil.copyfile(course.root / "gradebook.db",
                            Path(out[lesson].folder) / "gradebook.db")
    return out


def failure_notes(nb: dict) -> dict[str, str]:
    """First error line printed by each graded cell, keyed by grade id."""
    notes: dict[str, str] = {}
    for cell in nb.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get(
            "grade_id")
        for out in cell.get("outputs", []):
            if grade_id and out.get("output_type") == "error":
                text = f"{out.get('ename')}: {out.get('evalue')}"
                notes[grade_id] = text.splitlines()[0][:500]
    return notes


def zero_rows(sub: Submission, template: LessonTemplate, note: str
              ) -> list[dict]:
    return [{"student": sub.student, "lesson": sub.lesson, "exercise": g,
             "score": 0.0, "max_score": template.points[g], "note": note}
            for g in template.order]


def safe_folder(student: str) -> str:
    """A folder name for ``student`` (ids are checked in intake)."""
    return student


def grade_submission(sub: Submission, template: LessonTemplate,
                     output: Path, work: Path, cell_timeout: int,
                     memory: int = DEFAULT_MEMORY, sandbox_uid: int = -1,
                     keep: bool = False) -> dict:
    """Grade one submission in a course of its own; return its result.

    The result is a JSON-ready dict: ``status`` ("graded" or "failed"),
    ``rows`` for grades.csv, ``notes`` and ``reason`` (when failed).
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning
    from .nbgrader_course import ScratchCourse
    warnings.filterwarnings("ignore", category=SAWarning)

    result = {"student": sub.student, "lesson": sub.lesson,
              "origin": sub.origin, "notes": list(sub.notes)}
    rep = prepare(sub.data, template.released)
    result["notes"] += rep.notes
    general = "; ".join(result["notes"])
    if rep.nb is None:
        result.update(status="failed", reason=rep.error,
                      rows=zero_rows(sub, template, _join(
                          f"not graded: {rep.error}", general)))
        return result
    root = Path(tempfile.mkdtemp(prefix="c", dir=work))
    os.chmod(root, 0o700)
    try:
        shutil.copyfile(Path(template.folder) / "gradebook.db",
                        root / "gradebook.db")
        shutil.copytree(Path(template.folder) / "source", root / "source")
        dest = root / "submitted" / INTERNAL_ID / sub.lesson
        dest.mkdir(parents=True)
        (dest / f"{sub.lesson}.ipynb").write_text(
            json.dumps(rep.nb), encoding="utf-8")
        course = ScratchCourse(root, cell_timeout, sandbox_uid=sandbox_uid,
                               memory=memory, hide=[str(work)])
        res = course.api.autograde(sub.lesson, INTERNAL_ID, force=True,
                                   create=True)
        if not res["success"]:
            reason = (res.get("error") or res.get("log") or "").strip()
            reason = reason.splitlines()[-1] if reason else "unknown error"
            result.update(status="failed",
                          reason=f"nbgrader could not grade it: {reason}",
                          rows=zero_rows(sub, template, _join(
                              f"not graded: {reason}", general)))
            return result
        course.api.generate_feedback(sub.lesson, INTERNAL_ID, force=True)
        graded_nb = root / "autograded" / INTERNAL_ID / sub.lesson / \
            f"{sub.lesson}.ipynb"
        nb = json.loads(graded_nb.read_text(encoding="utf-8"))
        meta = nb.get("metadata", {}).get("rnn_course_grader", {})
        result["notes"] += meta.get("notes", [])
        result["sandbox"] = meta.get("sandbox", {})
        notes = failure_notes(nb)
        rows = []
        with Gradebook(course.api.coursedir.db_url) as gb:
            snb = gb.find_submission_notebook(sub.lesson, sub.lesson,
                                              INTERNAL_ID)
            grades = {g.name: g for g in snb.grades}
            for exercise in template.order:
                g = grades[exercise]
                own = [n for n in result["notes"] if n.startswith(
                    exercise + ":")]
                rest = [n for n in result["notes"]
                        if n.split(":")[0] not in template.order]
                rows.append({
                    "student": sub.student, "lesson": sub.lesson,
                    "exercise": exercise, "score": float(g.score),
                    "max_score": float(g.max_score),
                    "note": _join(notes.get(exercise, ""), *own, *rest)})
        result.update(status="graded", rows=rows)
        target = safe_folder(sub.student)
        for kind, ext in (("feedback", "html"), ("autograded", "ipynb")):
            made = root / kind / INTERNAL_ID / sub.lesson / \
                f"{sub.lesson}.{ext}"
            if made.exists():
                folder = output / kind / target
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(made, folder / f"{sub.lesson}.{ext}")
        return result
    finally:
        if keep:
            print(f"nbgrader course directory kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def grade(submissions: Path, output: Path,
          cell_timeout: int = DEFAULT_CELL_TIMEOUT,
          keep: bool = False, solutions: Path = SOLUTIONS,
          jobs: int | None = None, memory: int = DEFAULT_MEMORY,
          lms_pattern: str | None = None, resume: bool = True,
          progress: bool | None = None, match_renamed: bool = False
          ) -> Report:
    """Grade every submission under ``submissions`` into ``output``."""
    from .batch import run_batch
    known = lesson_names(solutions)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rnn-course-grading-"))
    os.chmod(work, 0o700)
    try:
        released = {}
        templates = make_templates(known, solutions, work) if known else {}
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
