"""Grade one submission in an nbgrader course of its own.

The course is a scratch folder holding a copy of the lesson's gradebook
and source (a :class:`LessonTemplate`) and the submission, repaired by
:mod:`autograder.repair`. nbgrader's ``autograde`` runs with the
hardened pipeline of :func:`autograder.nbgrader_course.harden`, then
``generate_feedback``; the scores are read back from the gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from . import cells
from .intake import Submission
from .nbgrader_course import DEFAULT_MEMORY, ScratchCourse
from .repair import prepare

# nbgrader's name for every student: the real id never reaches a path.
INTERNAL_ID = "student"


@dataclass
class LessonTemplate:
    """A lesson ready to grade: gradebook and source of a scratch course."""

    name: str
    folder: str
    order: list[str]
    points: dict[str, float]
    released: dict
    digest: str = ""


def failure_notes(nb: dict) -> dict[str, str]:
    """First error line printed by each graded cell, keyed by grade id."""
    notes: dict[str, str] = {}
    for cell in nb.get("cells", []):
        grade_id = cells.grade_id(cell)
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


def grade_submission(sub: Submission, template: LessonTemplate,
                     output: Path, work: Path, cell_timeout: int,
                     memory: int = DEFAULT_MEMORY, sandbox_uid: int = -1,
                     keep: bool = False) -> dict:
    """Grade one submission in a course of its own; return its result.

    The result is a JSON-ready dict: ``status`` ("graded" or "failed"),
    ``rows`` for grades.csv, ``notes`` and ``reason`` (when failed).
    """
    from sqlalchemy.exc import SAWarning
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
        for kind, ext in (("feedback", "html"), ("autograded", "ipynb")):
            made = root / kind / INTERNAL_ID / sub.lesson / \
                f"{sub.lesson}.{ext}"
            if made.exists():
                folder = output / kind / sub.student
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
