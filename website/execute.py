"""Run the lessons the cache does not hold yet, several at a time.

MyST-NB executes a page's notebook when Sphinx reads that page, one page
after another. Before the build starts, :func:`execute_missing` runs the
lessons missing from the jupyter-cache side by side (one kernel per CPU
core, the longest notebook first) with the function MyST-NB itself uses,
and caches them; the build then finds every lesson in the cache. A
notebook that fails is not cached: MyST-NB runs it again during the
build, which then fails with that notebook's error.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

# Seconds a cell may run (MyST-NB's nb_execution_timeout, in conf.py).
TIMEOUT = 1800


def _execute(path: str, timeout: int) -> tuple[str, dict, float, str]:
    """In a worker: run one notebook in its own folder, as MyST-NB
    would; return (path, executed notebook, seconds, error or "")."""
    from jupyter_cache.executors.utils import single_nb_execution
    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(nb, cwd=str(Path(path).parent),
                                 allow_errors=False, timeout=timeout,
                                 meta_override=True)
    error = (result.exc_string or "failed") if result.err else ""
    return path, nb, result.time, error


def missing(cache, notebooks: list[Path]) -> list[Path]:
    """The notebooks whose code the cache has not run yet."""
    out = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            out.append(path)
    return out


def execute_missing(cache_path: Path, notebooks: list[Path],
                    timeout: int, jobs: int | None = None,
                    log=print) -> list[Path]:
    """Execute and cache the notebooks the cache lacks; return those
    that failed (left for the build to run again and report)."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    cache = get_cache(str(cache_path))
    todo = missing(cache, notebooks)
    if not todo:
        return []
    todo.sort(key=lambda p: p.stat().st_size, reverse=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    log(f"executing {len(todo)} lesson(s), {jobs} at a time ...")
    failed = []
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) \
            as pool:
        runs = [pool.submit(_execute, str(p), timeout) for p in todo]
        for run in runs:
            path, nb, seconds, error = run.result()
            if error:
                failed.append(Path(path))
                log(f"{Path(path).name}: failed; the build runs it again "
                    "to report the error")
                continue
            cache.add_nb_to_project(path)
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, path,
                              data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            log(f"{Path(path).name}: Executed notebook in {seconds:.1f} s")
    return failed
