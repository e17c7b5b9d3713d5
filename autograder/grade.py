"""Grade a class: submissions in, ``grades.csv`` and feedback HTML out.

Input is a folder ``<student>/<lesson>.ipynb`` (one subfolder per
student) or a zip file holding such a folder. The submissions are copied
into a scratch nbgrader course outside the repository, graded there with
nbgrader's ``autograde`` and ``generate_feedback``, and the results are
written to the output folder:

* ``grades.csv``: one row per student, lesson and graded cell, with
  columns student, lesson, exercise, score, max_score, note. The note
  gives the first line of the error a failing test cell printed.
* ``feedback/<student>/<lesson>.html``: nbgrader's feedback page.
* ``autograded/<student>/<lesson>.ipynb``: the executed notebook.

The input is only ever read.
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from . import SOLUTIONS
from .nbgrader_course import (DEFAULT_CELL_TIMEOUT, ScratchCourse,
                              lesson_names, scratch_course)

CSV_COLUMNS = ["student", "lesson", "exercise", "score", "max_score",
               "note"]


@dataclass
class Submission:
    student: str
    lesson: str
    data: bytes
    origin: str


@dataclass
class Report:
    rows: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    graded: int = 0
    output: Path | None = None

    def summary(self) -> str:
        lines = [f"graded {self.graded} submission(s); "
                 f"results in {self.output}"]
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def read_folder(folder: Path, origin: str) -> tuple[list[Submission],
                                                    list[str]]:
    """Submissions found in ``folder/<student>/<lesson>.ipynb``."""
    subs, problems = [], []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for nb in sorted(student_dir.iterdir()):
            where = f"{origin}/{student_dir.name}/{nb.name}"
            if nb.is_file() and nb.suffix == ".ipynb":
                subs.append(Submission(student_dir.name, nb.stem,
                                       nb.read_bytes(), where))
            else:
                problems.append(f"{where}: not a notebook, skipped")
    for stray in sorted(p for p in folder.iterdir() if p.is_file()):
        problems.append(f"{origin}/{stray.name}: not inside a student "
                        f"folder, skipped")
    return subs, problems


def read_zip(path: Path) -> tuple[list[Submission], list[str]]:
    """Submissions in a zip laid out like the folder form."""
    subs, problems = [], []
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        parts = [PurePosixPath(n).parts for n in names]
        # Allow one enclosing folder around the student folders.
        strip = 1 if parts and all(len(p) == 3 for p in parts) and \
            len({p[0] for p in parts}) == 1 else 0
        for name, p in zip(names, parts):
            p = p[strip:]
            where = f"{path.name}:{name}"
            if len(p) == 2 and p[1].endswith(".ipynb"):
                subs.append(Submission(p[0], p[1][:-len(".ipynb")],
                                       zf.read(name), where))
            else:
                problems.append(f"{where}: not <student>/<lesson>.ipynb, "
                                f"skipped")
    return subs, problems


def read_submissions(path: Path) -> tuple[list[Submission], list[str]]:
    if path.is_dir():
        return read_folder(path, path.name)
    if zipfile.is_zipfile(path):
        return read_zip(path)
    raise SystemExit(f"{path}: expected a folder or a zip file")


def failure_notes(autograded: Path) -> dict[str, str]:
    """First error line printed by each graded cell, keyed by grade id."""
    notes: dict[str, str] = {}
    try:
        nb = json.loads(autograded.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return notes
    for cell in nb.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get(
            "grade_id")
        for out in cell.get("outputs", []):
            if grade_id and out.get("output_type") == "error":
                text = f"{out.get('ename')}: {out.get('evalue')}"
                notes[grade_id] = text.splitlines()[0][:300]
    return notes


def grade_ids(solution: Path) -> list[str]:
    """Graded cells of a lesson, in notebook order."""
    nb = json.loads(solution.read_text(encoding="utf-8"))
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def grade_one(course: ScratchCourse, sub: Submission,
              order: list[str]) -> tuple[list[dict], str | None]:
    """Autograde one submission; return its rows and a problem, if any."""
    dest = course.root / "submitted" / sub.student / sub.lesson
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{sub.lesson}.ipynb").write_bytes(sub.data)
    result = course.api.autograde(sub.lesson, sub.student, force=True,
                                  create=True)
    if not result["success"]:
        reason = (result.get("error") or result.get("log") or "").strip()
        reason = reason.splitlines()[-1] if reason else "unknown error"
        return [], f"{sub.origin}: could not be graded: {reason}"
    course.api.generate_feedback(sub.lesson, sub.student, force=True)
    notes = failure_notes(course.root / "autograded" / sub.student /
                          sub.lesson / f"{sub.lesson}.ipynb")
    rows = []
    with Gradebook(course.api.coursedir.db_url) as gb:
        nb = gb.find_submission_notebook(sub.lesson, sub.lesson,
                                         sub.student)
        grades = {g.name: g for g in nb.grades}
        for exercise in order:
            g = grades[exercise]
            rows.append({
                "student": sub.student, "lesson": sub.lesson,
                "exercise": exercise, "score": float(g.score),
                "max_score": float(g.max_score),
                "note": notes.get(exercise, "")})
    return rows, None


def grade(submissions: Path, output: Path,
          cell_timeout: int = DEFAULT_CELL_TIMEOUT,
          keep: bool = False, solutions: Path = SOLUTIONS) -> Report:
    """Grade every submission under ``submissions`` into ``output``."""
    # nbgrader's gradebook triggers harmless SQLAlchemy session warnings.
    warnings.filterwarnings("ignore", category=SAWarning)
    subs, problems = read_submissions(submissions)
    known = set(lesson_names(solutions))
    report = Report(problems=problems, output=output)
    todo = []
    for sub in subs:
        if sub.lesson in known:
            todo.append(sub)
        else:
            report.problems.append(
                f"{sub.origin}: unknown lesson {sub.lesson!r} (expected "
                f"one of {', '.join(sorted(known))}), skipped")
    output.mkdir(parents=True, exist_ok=True)
    with scratch_course(cell_timeout, keep) as course:
        lessons = sorted({s.lesson for s in todo})
        orders = {}
        for lesson in lessons:
            course.add_source(lesson, solutions / f"{lesson}.ipynb")
            course.generate_assignment(lesson)
            orders[lesson] = grade_ids(solutions / f"{lesson}.ipynb")
        for sub in todo:
            rows, problem = grade_one(course, sub, orders[sub.lesson])
            if problem:
                report.problems.append(problem)
                continue
            report.rows.extend(rows)
            report.graded += 1
            for kind, ext in (("feedback", "html"), ("autograded", "ipynb")):
                made = (course.root / kind / sub.student / sub.lesson /
                        f"{sub.lesson}.{ext}")
                if made.exists():
                    target = output / kind / sub.student
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(made, target / f"{sub.lesson}.{ext}")
    with open(output / "grades.csv", "w", newline="",
              encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(report.rows)
    if report.problems:
        (output / "problems.txt").write_text(
            "\n".join(report.problems) + "\n", encoding="utf-8")
    return report
