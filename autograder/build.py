"""Lesson sources (jupytext percent) -> ``solutions/*.ipynb``.

A source cell header carries the nbgrader role in short form::

    # %% solution="rnn_step_forward"          a cell the student fills in
    # %% tests="rnn_step_forward_tests" points=3   an autograded test cell
    # %% tags=["demo"]     a demonstration, not run when grading
                                              (see autograder/demos.py)

The build expands these into nbgrader's cell metadata (schema 3), gives
every cell a stable id, drops outputs and jupytext's own metadata, so the
generated notebook is the same byte for byte on every run.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

from .demos import DEMO_TAG

GRADE_ID = re.compile(r"^[A-Za-z0-9_\-]+$")
TAGS = {DEMO_TAG}
KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}


class SourceError(ValueError):
    """A lesson source breaks the authoring rules."""


def nbgrader_meta(cell, where: str) -> dict | None:
    """nbgrader metadata for a cell from its short header keys."""
    md = cell.metadata
    if "solution" in md and "tests" in md:
        raise SourceError(f"{where}: a cell is either solution or tests")
    if "solution" in md:
        grade_id = md["solution"]
        meta = {"grade": False, "locked": False, "solution": True}
    elif "tests" in md:
        grade_id = md["tests"]
        points = md.get("points")
        if not isinstance(points, (int, float)) or points <= 0:
            raise SourceError(
                f"{where}: tests cell {grade_id!r} needs points=<number>")
        meta = {"grade": True, "locked": True, "points": points,
                "solution": False}
    else:
        return None
    if not isinstance(grade_id, str) or not GRADE_ID.match(grade_id):
        raise SourceError(f"{where}: bad grade id {grade_id!r}")
    if cell.cell_type != "code":
        raise SourceError(f"{where}: {grade_id!r} must be a code cell")
    meta.update({"grade_id": grade_id, "schema_version": 3,
                 "task": False})
    return dict(sorted(meta.items()))


def build_notebook(source: Path) -> nbformat.NotebookNode:
    """Read one lesson source and return the solution notebook."""
    nb = jupytext.read(source, fmt="py:percent")
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        where = f"{source.name}, cell {i}"
        meta = nbgrader_meta(cell, where)
        tags = cell.metadata.get("tags", [])
        if not set(tags) <= TAGS or tags and (meta or cell.cell_type
                                              != "code"):
            raise SourceError(f"{where}: tags {tags} (only {sorted(TAGS)}"
                              f", on a code cell nbgrader does not own)")
        cell.metadata = {"tags": list(tags)} if tags else {}
        if meta is not None:
            if meta["grade_id"] in seen:
                raise SourceError(
                    f"{where}: grade id {meta['grade_id']!r} used twice")
            seen.add(meta["grade_id"])
            cell.metadata["nbgrader"] = meta
            cell.id = meta["grade_id"]
        else:
            cell.id = f"cell-{i:03d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` with a trailing newline, like JupyterLab does."""
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def sources(solutions: Path) -> list[Path]:
    """The lesson sources, in lesson order."""
    return sorted(solutions.glob("[0-9][0-9]_*.py"))


def build_all(solutions: Path, out_dir: Path | None = None) -> list[Path]:
    """Build every source in ``solutions`` into ``out_dir`` (default: same)."""
    out_dir = out_dir or solutions
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources(solutions):
        target = out_dir / (src.stem + ".ipynb")
        write_notebook(build_notebook(src), target)
        written.append(target)
    return written
