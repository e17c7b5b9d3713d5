"""Read a submitted file into a notebook nbgrader can grade, or say why not.

Runs before nbgrader sees a submission. Unreadable files (empty, not
JSON, not a notebook, too large) give a reason instead of a notebook;
old notebook formats are converted. Then every cell's nbgrader metadata
is put back as released, matched by grade id, cell id or (for locked
cells) source: a changed ``points``, ``grade`` flag or ``grade_id`` would
otherwise make nbgrader reject the whole submission ("Inconsistent
checksums", "metadata may be corrupted"). Deleted graded or solution
cells are put back where they were. Test cell *sources* are left to
nbgrader's OverwriteCells, which restores them (with the hidden tests)
from the gradebook.

A submitted file is untrusted: a crafted one (deeply nested JSON, a
million tiny cells) can need gigabytes to read. So :func:`prepare` and
:func:`parse_isolated` read it in a child process with a memory and a
time limit (:data:`READ_MEMORY`, :data:`READ_SECONDS`); a file that
breaks a limit gets a reason, and the grader goes on.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from dataclasses import dataclass, field

import nbformat

from .cells import grade_id, grade_ids, is_locked, nbgrader

MAX_BYTES = 50 * 2 ** 20
# Limits of the child that reads one file: address space (bytes) and
# seconds (wall clock; CPU time is limited to the same).
READ_MEMORY = int(os.environ.get("RNN_COURSE_READ_MEMORY", 2 * 2 ** 30))
READ_SECONDS = int(os.environ.get("RNN_COURSE_READ_SECONDS", 120))
_SIGNATURES = {b"%PDF": "a PDF file", b"PK\x03\x04": "a zip archive",
               b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
               b"\x7fELF": "a program"}


@dataclass
class Repaired:
    nb: dict | None
    notes: list[str] = field(default_factory=list)
    error: str = ""


def parse(data: bytes) -> Repaired:
    """Bytes -> a version-4 notebook dict, or an error message."""
    if not data.strip():
        return Repaired(None, error="the file is empty")
    if len(data) > MAX_BYTES:
        return Repaired(None, error=f"the file is too large "
                                    f"({len(data) / 2 ** 20:.0f} MB)")
    for magic, what in _SIGNATURES.items():
        if data.startswith(magic):
            return Repaired(None, error=f"not a notebook: this is {what}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Repaired(None, error="not a notebook: not UTF-8 text")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        return Repaired(None, error=f"not a notebook: invalid JSON "
                                    f"({exc})")
    if not isinstance(raw, dict) or not (
            "cells" in raw or "worksheets" in raw):
        return Repaired(None, error="not a notebook: JSON without cells")
    notes = []
    version = raw.get("nbformat")
    try:
        nb = nbformat.reads(text, as_version=4)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:                    # noqa: BLE001
        return Repaired(None, error=f"not a readable notebook ({exc})")
    if isinstance(version, int) and version < 4:
        notes.append(f"converted from the old notebook format "
                     f"v{version}")
    nb = json.loads(nbformat.writes(nb, version=4)) if _valid(nb) \
        else _sanitise(nb, notes)
    return Repaired(nb, notes)


def _valid(nb) -> bool:
    try:
        nbformat.validate(nb)
        return True
    except (MemoryError, RecursionError):
        raise
    except Exception:                           # noqa: BLE001
        return False


def _sanitise(nb, notes: list[str]) -> dict:
    """Keep what makes a valid notebook; outputs are cleared anyway."""
    cells = []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        kind = kind if kind in ("code", "markdown", "raw") else "raw"
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        meta = cell.get("metadata") if isinstance(
            cell.get("metadata"), dict) else {}
        new = {"cell_type": kind, "metadata": json.loads(
            json.dumps(meta, default=str)), "source": src}
        if kind == "code":
            new.update(outputs=[], execution_count=None)
        cells.append(new)
    notes.append("the notebook had invalid parts; they were dropped")
    out = {"cells": cells, "metadata": {}, "nbformat": 4,
           "nbformat_minor": 4}
    meta = nb.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("kernelspec"), dict):
        out["metadata"]["kernelspec"] = meta["kernelspec"]
    return out


def _src(cell) -> str:
    s = cell.get("source", "")
    return ("".join(s) if isinstance(s, list) else str(s)).strip()


_HIDDEN = re.compile(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?",
                     re.DOTALL)


def _visible(src: str) -> str:
    return _HIDDEN.sub("\n", src).strip()


def restore_cells(nb: dict, reference: dict) -> list[str]:
    """Put the released nbgrader cells of ``reference`` back into ``nb``.

    ``reference`` is the released student notebook. Changes ``nb`` in
    place and returns notes for the instructor.
    """
    notes: list[str] = []
    refs = [c for c in reference["cells"] if grade_id(c)]
    by_gid = {grade_id(c): c for c in refs}
    by_id = {c.get("id"): c for c in refs if c.get("id")}
    by_src = {_src(c): c for c in refs if is_locked(c) and _src(c)}
    used: dict[str, int] = {}
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        m = nbgrader(cell)
        match = None
        for ref in (by_gid.get(m.get("grade_id")), by_id.get(cell.get("id")),
                    by_src.get(_src(cell))):
            if ref is not None and grade_id(ref) not in used:
                match = ref
                break
        if match is None:
            if m:
                cell["metadata"].pop("nbgrader", None)
                if m.get("grade") or m.get("solution") or m.get("locked"):
                    notes.append(
                        f"a cell claimed to be graded cell "
                        f"{m.get('grade_id')!r}; its grading metadata was "
                        f"removed")
            continue
        gid, released = grade_id(match), nbgrader(match)
        used[gid] = i
        if m != released or cell.get("cell_type") != match["cell_type"]:
            changed = sorted(k for k in set(m) | set(released)
                             if k not in ("checksum", "cell_type") and
                             m.get(k) != released.get(k))
            if changed or cell.get("cell_type") != match["cell_type"]:
                notes.append(f"{gid}: nbgrader metadata was changed "
                             f"({', '.join(changed) or 'cell type'}); "
                             f"the released metadata was restored")
        cell["metadata"] = copy.deepcopy(match.get("metadata", {}))
        if cell.get("cell_type") != match["cell_type"]:
            cell["cell_type"] = match["cell_type"]
            if match["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        if "id" in match:
            cell["id"] = match["id"]
        if is_locked(match) and \
                _visible(_src(cell)) != _visible(_src(match)):
            notes.append(f"{gid}: the test cell was edited; the "
                         f"instructor's version is graded")
    # Put back deleted cells after the cell that preceded them.
    order = [grade_id(c) for c in refs]
    for k, gid in enumerate(order):
        if gid in used:
            continue
        before = [used[g] for g in order[:k] if g in used]
        at = max(before) + 1 if before else _first_code(cells)
        cells.insert(at, copy.deepcopy(by_gid[gid]))
        for g in used:
            if used[g] >= at:
                used[g] += 1
        used[gid] = at
        notes.append(f"{gid}: the cell was missing (deleted); the released "
                     f"cell was put back")
    seen_ids = set()
    for cell in cells:
        cid = cell.get("id")
        if cid in seen_ids:
            cell.pop("id", None)
        seen_ids.add(cid)
    nbformat.validator.normalize(nb)
    return notes


def _first_code(cells) -> int:
    return next((i for i, c in enumerate(cells)
                 if c.get("cell_type") == "code"), len(cells))


def prepare(data: bytes, reference: dict, isolate: bool = True
            ) -> Repaired:
    """Parse a submission and restore its graded cells (in a limited
    child process unless ``isolate`` is false)."""
    if isolate:
        return _in_child(data, reference)
    try:
        return _prepare(data, reference)
    except Exception as exc:                    # noqa: BLE001
        return Repaired(None, error=_unreadable(exc))


def parse_isolated(data: bytes) -> Repaired:
    """:func:`parse` in a limited child process."""
    return _in_child(data, None)


def _unreadable(exc: BaseException, memory: int | None = None) -> str:
    if isinstance(exc, MemoryError):
        return (f"the file needs more than {_size(memory or READ_MEMORY)} "
                f"of memory "
                f"to read; not a notebook the grader accepts")
    if isinstance(exc, RecursionError):
        return "not a readable notebook (nested too deeply)"
    return f"not a readable notebook ({type(exc).__name__}: {exc})"[:500]


def _size(n: int) -> str:
    return f"{n / 2 ** 30:g} GiB" if n >= 2 ** 30 else \
        f"{n / 2 ** 20:g} MiB"


_CTX = None


def _context():
    """A fork server that has this module loaded: each file is read in a
    fresh fork of it, without the cost of starting Python."""
    global _CTX
    if _CTX is None:
        import multiprocessing as mp
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["autograder.repair"])
        _CTX = ctx
    return _CTX


def _start_without_main(child) -> None:
    """Start ``child`` without running the caller's main script in it.

    multiprocessing re-runs a script's ``__main__`` (``python script.py``)
    in every child it starts, so that the target can be found there; our
    target lives in this module, and a script that imports the grader
    would cost each file read a second or more of imports. The child is
    told of an empty main module instead.
    """
    import types
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        child.start()
    finally:
        sys.modules["__main__"] = main


def _in_child(data: bytes, reference: dict | None,
              memory: int | None = None, seconds: int | None = None
              ) -> Repaired:
    """Run :func:`parse` or :func:`prepare` on ``data`` in a child with
    an address-space, CPU-time and wall-clock limit."""
    memory = memory or READ_MEMORY
    seconds = seconds or READ_SECONDS
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, daemon=True,
                        args=(send, data, reference, memory, seconds))
    _start_without_main(child)
    send.close()
    out = None
    try:
        if recv.poll(seconds):
            out = recv.recv()
    except (EOFError, OSError):
        out = None
    finally:
        recv.close()
        if out is None and child.is_alive():
            child.kill()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    if out is not None:
        return Repaired(*out)
    return Repaired(None, error=(
        f"the file could not be read within the grader's limits "
        f"({_size(memory)} of memory, {seconds} s): the reading process "
        f"was stopped ({_how(child.exitcode)}); not a notebook the "
        f"grader accepts"))


def _how(code: int | None) -> str:
    import signal
    if code is None or code == -signal.SIGKILL:
        return "killed after the time limit, or out of memory"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _child(conn, data: bytes, reference: dict | None, memory: int,
           seconds: int) -> None:
    import resource
    import warnings
    warnings.filterwarnings("ignore")
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.setrecursionlimit(5000)
    try:
        rep = parse(data) if reference is None else \
            _prepare(data, reference)
    except Exception as exc:                    # noqa: BLE001
        rep = Repaired(None, error=_unreadable(exc, memory))
    del data
    try:
        conn.send((rep.nb, rep.notes, rep.error))
    except MemoryError:
        os._exit(3)
    conn.close()


def _prepare(data: bytes, reference: dict) -> Repaired:
    rep = parse(data)
    if rep.nb is None:
        return rep
    if not any(c.get("cell_type") == "code" for c in rep.nb["cells"]):
        return Repaired(None, rep.notes,
                        "the notebook has no code cells")
    rep.notes += restore_cells(rep.nb, reference)
    # Cells without ids are valid in 4.4; give the notebook a consistent
    # minor version so nbgrader's validation accepts it.
    if any("id" not in c for c in rep.nb["cells"]):
        rep.nb["nbformat_minor"] = 4
        for c in rep.nb["cells"]:
            c.pop("id", None)
    else:
        rep.nb["nbformat_minor"] = max(rep.nb.get("nbformat_minor", 5), 5)
    return rep


def best_lesson(nb: dict, lessons: dict[str, dict]) -> str | None:
    """The lesson whose graded cells ``nb`` shares most, if any."""
    ids = set(grade_ids(nb))
    scored = sorted(((len(ids & set(grade_ids(ref))), name)
                     for name, ref in lessons.items()), reverse=True)
    if scored and scored[0][0] > 0:
        return scored[0][1]
    return None
