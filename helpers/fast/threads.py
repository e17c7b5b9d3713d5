"""Split a batch across threads for the fast paths.

The samples of a batch never interact in an RNN: row ``n`` of every state
depends only on row ``n`` of the input. So a forward and backward pass over
``N`` samples can run as independent passes over slices of the batch, one
per core, and only the weight gradients need adding up at the end.

Why not let the BLAS threads do it? On a small machine each time step's
matmul is tiny (``(4H, H) @ (H, N)``), and when two BLAS threads share it,
half of every state vector is written by the other core: each step then
pays for moving cache lines between cores, and the element-wise work
between the matmuls runs on one core while the other waits. Giving each
core its own slice of the batch keeps every slice's buffers in one core's
cache and runs the element-wise work on both cores.

Numpy releases the GIL inside ufuncs on large enough arrays and inside
matmul, so plain Python threads run the slices in parallel; while they
run, numpy's BLAS is limited to one thread (restored afterwards), so the
two levels of threading do not compete.

Used by the LSTM's fast path (:mod:`helpers.fast.lstm`) through
:class:`helpers.fast.workspace.Workspace`: ``Workspace(threads=2)``
splits, ``Workspace(threads=1)`` does not; the default uses as many
threads as numpy's BLAS, for batches whose slices have enough work
(``MIN_SLICE_MACS``).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, Sequence, TypeVar

__all__ = ["MIN_ROWS", "MIN_SLICE_MACS", "blas_threads", "batch_slices",
           "run_slices"]

#: Fewest rows a slice may have.
MIN_ROWS = 8

#: Fewest multiply-adds one time step's recurrent matmul must do in each
#: slice (``rows * 4H * H`` for the LSTM). Below it a split is slower than
#: none: a step's arithmetic is then shorter than the Python calls around
#: it, which both threads make, and OpenBLAS runs such small matmuls on one
#: thread anyway. Measured here: LSTM N=32, H=128 (1.0e6 per slice) runs
#: 0.75x the time of no split; N=16, H=128 (0.5e6) 1.24x; N=32, H=64
#: (0.26e6) 1.45x.
MIN_SLICE_MACS = 600_000

R = TypeVar("R")

_lock = threading.Lock()          # one split region at a time
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: start afresh."""
    global _lock, _pool, _pool_size
    _lock = threading.Lock()
    _pool, _pool_size = None, 0


os.register_at_fork(after_in_child=_forget_after_fork)


def _blas_controllers():
    """threadpoolctl's controllers of the BLAS libraries numpy loaded."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController
        _blas = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas


def blas_threads() -> int:
    """Threads numpy's BLAS uses now (1 if none is found)."""
    counts = [c.num_threads for c in _blas_controllers()]
    return max(counts, default=1)


def batch_slices(N: int, threads: int, row_macs: int = 0) -> list[slice]:
    """Cut ``range(N)`` into at most ``threads`` slices, sizes differing by
    at most one; one slice means no split.

    Each slice gets at least ``MIN_ROWS`` rows and at least
    ``MIN_SLICE_MACS`` multiply-adds per step, where one row costs
    ``row_macs`` (e.g. ``4H * H`` for the LSTM's recurrent matmul).
    """
    min_rows = MIN_ROWS
    if row_macs > 0:
        min_rows = max(min_rows, -(-MIN_SLICE_MACS // row_macs))
    n = max(1, min(threads, N // min_rows))
    bounds = [round(k * N / n) for k in range(n + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size < workers:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = ThreadPoolExecutor(workers, thread_name_prefix="batch")
        _pool_size = workers
    return _pool


def run_slices(fn: Callable[[int, slice], R], slices: Sequence[slice]
               ) -> list[R]:
    """``[fn(k, s) for k, s in enumerate(slices)]``, in parallel threads.

    Slice 0 runs in the calling thread, the others in a shared pool, with
    numpy's BLAS limited to one thread meanwhile. Exceptions propagate. A
    call made while another split is running (from another thread, or
    from inside ``fn``) runs its slices one after the other instead, and
    so does one where no thread can be started (e.g. under a process
    limit).
    """
    if len(slices) == 1 or not _lock.acquire(blocking=False):
        return [fn(k, s) for k, s in enumerate(slices)]
    try:
        controllers = _blas_controllers()
        saved = [c.num_threads for c in controllers]
        for c in controllers:
            c.set_num_threads(1)
        try:
            pool = _executor(len(slices) - 1)
            futures = []
            try:
                for k in range(1, len(slices)):
                    futures.append(pool.submit(fn, k, slices[k]))
            except RuntimeError:         # no new thread allowed here:
                pass                     # the rest runs in this thread
            try:
                first = fn(0, slices[0])
                rest = [fn(k, slices[k])
                        for k in range(1 + len(futures), len(slices))]
            finally:
                wait(futures)       # no thread outlives the BLAS limit
            return [first] + [f.result() for f in futures] + rest
        finally:
            for c, n in zip(controllers, saved):
                c.set_num_threads(n)
    finally:
        _lock.release()
