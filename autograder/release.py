"""Regenerate ``solutions/*.ipynb`` and ``lessons/`` from the sources.

The student notebooks are made by nbgrader's own ``generate_assignment``
(solutions replaced by stubs, hidden tests removed, test cells locked),
run in a scratch course directory. Running it twice gives the same files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import LESSONS, SOLUTIONS
from .build import build_all
from .nbgrader_course import scratch_course


def release(solutions: Path = SOLUTIONS, lessons: Path = LESSONS,
            built: Path | None = None) -> list[Path]:
    """Build solution notebooks, then the student notebooks.

    ``built`` is where the solution notebooks go (default: ``solutions``);
    tests pass other folders to compare a fresh release with the
    committed one.
    """
    notebooks = build_all(solutions, built)
    lessons.mkdir(parents=True, exist_ok=True)
    written = []
    with scratch_course() as course:
        for nb in notebooks:
            course.add_source(nb.stem, nb)
        for nb in notebooks:
            student = course.generate_assignment(nb.stem)
            target = lessons / nb.name
            shutil.copyfile(student, target)
            written.append(target)
    expected = {p.name for p in written}
    for old in lessons.glob("*.ipynb"):
        if old.name not in expected:
            old.unlink()
    return written
