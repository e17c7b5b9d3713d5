"""nbgrader's metadata of a notebook cell, read in one place.

nbgrader keeps what a cell is for under ``cell.metadata.nbgrader``:
``solution`` (the student writes it), ``grade`` (it earns ``points``),
``locked`` (the student may not change it) and ``grade_id`` (its name).
A submitted notebook may carry any JSON there, so every reader here
accepts a missing or malformed entry and sees no metadata.
"""

from __future__ import annotations


def nbgrader(cell: dict) -> dict:
    """The cell's nbgrader metadata; ``{}`` when absent or malformed."""
    meta = cell.get("metadata")
    found = meta.get("nbgrader") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else {}


def source(cell: dict) -> str:
    """The cell's text, stored as one string or as a list of lines."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def grade_id(cell: dict) -> str | None:
    return nbgrader(cell).get("grade_id")


def is_solution(cell: dict) -> bool:
    """The student writes this cell."""
    return bool(nbgrader(cell).get("solution"))


def is_graded(cell: dict) -> bool:
    """The cell earns points (an autograded test cell)."""
    return bool(nbgrader(cell).get("grade"))


def is_locked(cell: dict) -> bool:
    """The student may not change this cell."""
    return bool(nbgrader(cell).get("locked"))


def grade_ids(nb: dict) -> list[str]:
    """Every named nbgrader cell of ``nb``, in notebook order."""
    return [g for g in map(grade_id, nb.get("cells", [])) if g]


def points(nb: dict) -> dict[str, float]:
    """``{grade_id: points}`` of the graded cells, in notebook order."""
    return {grade_id(c): float(nbgrader(c)["points"])
            for c in nb.get("cells", []) if is_graded(c)}
