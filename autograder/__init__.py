"""Instructor commands around nbgrader's real CLI and API.

* :mod:`autograder.build` turns the lesson sources ``solutions/*.py``
  (jupytext percent format) into ``solutions/*.ipynb`` with nbgrader
  cell metadata.
* :mod:`autograder.release` runs nbgrader's ``generate_assignment`` on
  them in a scratch course directory and writes ``lessons/``.
* :mod:`autograder.grade` grades a folder or zip of submissions with
  nbgrader's ``autograde`` and ``generate_feedback``.

Run them through ``python3 course.py release|grade`` or
``python -m autograder``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
