"""A per-notebook time budget: a multiple of the reference's own time.

Each cell has its own time limit, but a notebook of many cells that each
stay just under it could keep a grader busy for a very long time. So a
notebook gets a budget of ``factor`` times the time the lesson's own
solution notebook takes to run, plus a ``floor``; after it is used up the
remaining cells are skipped with a note (:mod:`autograder.execute`).

The solution's time is measured once per lesson version (it is the
instructor's own notebook: it runs in a plain kernel) and kept in a small
cache, ``~/.cache/rnn-course/reference-seconds.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_FACTOR = 5.0
DEFAULT_FLOOR = 120.0
CACHE = Path(os.environ.get("RNN_COURSE_CACHE",
                            Path.home() / ".cache" / "rnn-course")
             ) / "reference-seconds.json"


def _key(data: bytes) -> str:
    return hashlib.sha256(data + sys.version.encode()).hexdigest()[:32]


def run_seconds(notebook: Path, cell_timeout: int = 600) -> float:
    """Wall-clock seconds the notebook takes in a plain kernel."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(notebook, as_version=4)
    env_keys = ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "OPENBLAS_NUM_THREADS")
    old = {k: os.environ.get(k) for k in env_keys}
    os.environ.update({k: "1" for k in env_keys})
    try:
        with tempfile.TemporaryDirectory() as cwd:
            client = NotebookClient(nb, timeout=cell_timeout,
                                    allow_errors=True,
                                    resources={"metadata": {"path": cwd}})
            start = time.monotonic()
            client.execute()
            return time.monotonic() - start
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def reference_seconds(notebook: Path, cache: Path = CACHE) -> float:
    """The solution notebook's own time, measured once per version."""
    key = _key(notebook.read_bytes())
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return float(known[key])
    seconds = run_seconds(notebook)
    known[key] = round(seconds, 2)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1))
        os.replace(tmp, cache)
    except OSError:
        pass
    return seconds


def time_budget(reference: float, factor: float = DEFAULT_FACTOR,
                floor: float = DEFAULT_FLOOR) -> float:
    """Seconds a submission of a lesson may run, all cells together."""
    return factor * reference + floor
