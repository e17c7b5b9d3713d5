"""The site's sources: one notebook per lesson, and the landing page.

Every lesson source ``solutions/NN_name.py`` becomes ``NN_name.ipynb`` in
the Sphinx source folder, built by the same function as the release
(:func:`autograder.build.build_notebook`), then changed for a reader:

* hidden tests are cut out of every test cell by nbgrader's own
  ``ClearHiddenTests`` (and the page is refused if a marker is left);
* each exercise is shown as the student's notebook has it (nbgrader's
  ``ClearSolutions``, the release's code stub), and the reference
  solution follows in a cell folded behind a "show solution" toggle
  (tag ``hide-input``); it still runs, so the rest of the page works;
* a box under the title links the student notebook and this page's
  notebook and gives the command that opens the lesson locally.

Lessons are found by glob, so a new lesson needs no change here.
"""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.build import build_notebook, sources

HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
STUDENT_DIR = "student"          # student notebooks, in the source folder


@dataclass
class Lesson:
    """What the landing page says about one lesson."""
    name: str                    # "02_simple_rnn"
    title: str                   # "Lesson 2 — The simple RNN"
    goals: list[str] = field(default_factory=list)
    exercises: list[tuple[str, float]] = field(default_factory=list)


def open_command(name: str) -> str:
    return f"python3 course.py start lessons/{name}.ipynb"


def hidden_test_blocks(source: Path) -> list[str]:
    """The text of every hidden-test block of a lesson source."""
    text = source.read_text(encoding="utf-8")
    return re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                      text, flags=re.S)


def _title_and_goals(markdown: str) -> tuple[str, list[str]]:
    lines = markdown.splitlines()
    title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")),
                 "")
    goals: list[str] = []
    inside = False
    for line in lines:
        if line.strip().lower().startswith("**what you will learn"):
            inside = True
            continue
        if not inside:
            continue
        if line.startswith("**"):
            break
        item = re.match(r"^\s*(\d+\.|[-*])\s+(.*)$", line)
        if item:
            goals.append(item.group(2).strip())
        elif line.strip() and goals:
            goals[-1] += " " + line.strip()
    return title, goals


def _box(name: str) -> str:
    return f"""\
:::{{admonition}} Do this lesson yourself
:class: tip

This page shows the lesson run with the reference solutions; every
exercise is shown as your notebook has it, with the solution folded
under it.

* {{download}}`The student notebook <{STUDENT_DIR}/{name}.ipynb>`: the
  exercises to fill in, as they are graded.
* {{download}}`This page as a notebook <{name}.ipynb>`: the text with
  the reference solutions.

From a clone of the course, open the lesson in JupyterLab with

```bash
{open_command(name)}
```
:::
"""


def _exercise_cell(student_source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(
        "**Exercise.** Your notebook has this cell; fill in the marked "
        "part and run the test below it.\n\n"
        f"```python\n{student_source}\n```")


def site_notebook(source: Path) -> tuple[nbformat.NotebookNode, Lesson]:
    """The page notebook of one lesson source, and its summary."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = build_notebook(source)
    student = copy.deepcopy(nb)
    ClearSolutions(code_stub={"python": CODE_STUB}).preprocess(student, {})
    ClearHiddenTests().preprocess(nb, {})
    name = source.stem
    title, goals = _title_and_goals(
        nb.cells[0].source if nb.cells else "")
    lesson = Lesson(name=name, title=title or name, goals=goals)

    cells = []
    for i, (cell, mine) in enumerate(zip(nb.cells, student.cells)):
        grading = cell.metadata.get("nbgrader", {})
        cell.metadata = {}
        if grading.get("solution") and cell.cell_type == "code":
            cells.append(_exercise_cell(mine.source))
            cell.metadata["tags"] = ["hide-input"]
            cell.metadata["mystnb"] = {
                "code_prompt_show": "Show the reference solution",
                "code_prompt_hide": "Hide the reference solution"}
        if grading.get("grade"):
            lesson.exercises.append(
                (grading["grade_id"], grading["points"]))
        cells.append(cell)
        if i == 0:
            cells.append(nbformat.v4.new_markdown_cell(_box(name)))
    for j, cell in enumerate(cells):
        cell.id = f"site-{j:03d}"
        for marker in HIDDEN_MARKERS:
            if marker in cell.source:
                raise ValueError(f"{source.name}: {marker!r} left in a "
                                 "page cell")
    nb.cells = cells
    return nb, lesson


def _write_if_changed(path: Path, text: str) -> None:
    """Keep the file (and its time stamp) when nothing changed, so that
    Sphinx reads again only the pages whose lesson changed."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.write_text(text, encoding="utf-8")


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return
    shutil.copyfile(src, dst)


def quick_start(readme: Path) -> str:
    """The README's first bash block under "Quick start"."""
    text = readme.read_text(encoding="utf-8")
    part = text.split("## Quick start", 1)[-1]
    block = re.search(r"```bash\n(.*?)```", part, flags=re.S)
    return block.group(1).strip() if block else "python3 course.py start"


def _intro(readme: Path) -> str:
    """The README's first paragraph of text."""
    paragraphs = readme.read_text(encoding="utf-8").split("\n\n")
    return next((p for p in paragraphs[1:] if p.strip() and
                 not p.lstrip().startswith(("#", "|", "`"))), "")


def landing_page(lessons: list[Lesson], readme: Path) -> str:
    """The MyST text of the landing page."""
    out = [
        "# Recurrent neural networks: an interactive course", "",
        _intro(readme), "",
        "## Who it is for", "",
        "* **Self-learners**: read every lesson here, run with the "
        "reference solutions, then do the exercises in your own copy "
        "of the notebooks; the tests in them tell you what is wrong.",
        "* **Students** of a class that uses the course: your notebooks "
        "are graded automatically, with hidden tests on fresh inputs.",
        "* **Instructors**: release, grade and hand back feedback with "
        "one command each (see below).", "",
        "You need numpy and some calculus (the chain rule); PyTorch is "
        "used only to check your code and no experience with it is "
        "assumed.", "",
        "## The lessons", "",
    ]
    for lesson in lessons:
        out += [f"### {{doc}}`{lesson.title} <{lesson.name}>`", ""]
        if lesson.goals:
            out += ["You will learn:", ""]
            out += [f"{k}. {goal}" for k, goal in
                    enumerate(lesson.goals, 1)]
            out.append("")
        if lesson.exercises:
            total = sum(p for _, p in lesson.exercises)
            names = ", ".join(f"`{g.removesuffix('_tests')}`"
                              for g, _ in lesson.exercises)
            out += [f"You build (graded, {total:g} points): {names}.", ""]
    out += [
        "## Run it on your computer", "",
        "You need Python 3.11 or newer. From a clone of the course:", "",
        "```bash", quick_start(readme), "```", "",
        "The first command sets up a virtual environment in `.venv` and "
        "opens the first lesson in JupyterLab; the second runs every "
        "test. To open a given lesson, name it: "
        f"`{open_command(lessons[0].name) if lessons else ''}`.", "",
        "## For instructors: grading", "",
        "Each lesson is one nbgrader assignment. `python3 course.py "
        "release` makes the student notebooks; collect the submissions "
        "into one folder per student (or a zip, also as a learning "
        "management system downloads it) and grade them with", "",
        "```bash",
        "python3 course.py grade SUBMISSIONS -o grading-output", "```",
        "",
        "which writes `grades.csv` (a score and a reason for every "
        "exercise), a feedback page per student and lesson, and a "
        "summary. Every notebook runs in a sandboxed kernel and every "
        "score is checked again outside it. The README of the course "
        "gives the details, including the nbgrader exchange on "
        "JupyterHub.", "",
        "```{toctree}", ":hidden:", ":maxdepth: 1", "",
    ]
    out += [lesson.name for lesson in lessons]
    out += ["```", ""]
    return "\n".join(out)


def write_sources(root: Path, srcdir: Path) -> list[Lesson]:
    """Write every page of the site into ``srcdir``; stale pages of
    lessons that no longer exist are removed."""
    srcdir.mkdir(parents=True, exist_ok=True)
    (srcdir / STUDENT_DIR).mkdir(exist_ok=True)
    lessons, wanted = [], {"index.md"}
    for source in sources(root / "solutions"):
        nb, lesson = site_notebook(source)
        target = srcdir / f"{source.stem}.ipynb"
        _write_if_changed(target, nbformat.writes(nb) + "\n")
        student = root / "lessons" / f"{source.stem}.ipynb"
        if not student.exists():
            raise FileNotFoundError(
                f"{student} is missing: run `python3 course.py release`")
        _copy_if_changed(student, srcdir / STUDENT_DIR / student.name)
        lessons.append(lesson)
        wanted.add(target.name)
    for old in srcdir.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for old in (srcdir / STUDENT_DIR).glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    _write_if_changed(srcdir / "index.md",
                      landing_page(lessons, root / "README.md"))
    return lessons


__all__ = ["Lesson", "hidden_test_blocks", "site_notebook",
           "landing_page", "write_sources", "quick_start", "open_command",
           "HIDDEN_MARKERS", "STUDENT_DIR"]
