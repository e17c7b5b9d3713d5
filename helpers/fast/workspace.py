"""Reused buffers and the shared plumbing of the fast paths.

* :class:`Workspace`: scratch buffers that repeated fast calls reuse;
* :class:`FastCache`: the last entry of a fast-path cache, the buffers a
  fast forward leaves for its backward;
* :func:`empty`, :func:`input_projection`, :func:`columns`: the three
  steps every fast path shares (a buffer from the workspace, the input
  projection of all time steps in one matmul, and the ``[x | h_prev | 1]``
  columns that give the weight gradients of all steps in one matmul).

Layout: the fast paths work feature-major. A sequence of states is stored
as ``(T, H, N)`` (or ``(T + 1, H, N)`` with the initial state first), so
the state of one step is one contiguous ``(H, N)`` block and the recurrent
product is ``U @ h_{t-1}``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace", "FastCache", "check_workspace", "empty",
           "input_projection", "columns"]


class Workspace:
    """Scratch buffers that the fast paths reuse from call to call.

    Writing to a freshly allocated multi-megabyte array costs one page
    fault per 4 KiB page, which on a small machine can take longer than
    the arithmetic of a whole forward pass. A training loop that calls
    ``*_forward(..., fast=True, workspace=ws)`` and the matching
    ``*_backward(..., fast=True)`` with one ``Workspace`` allocates its
    buffers once and then reuses them (``torch`` gets the same effect from
    its allocator).

    A fast-path cache points into the workspace, so it stays valid only
    until the next forward call that uses the same workspace; a backward
    call on an older cache raises ``RuntimeError``. Returned arrays
    (states, input and parameter gradients) are always fresh.

    Parameters
    ----------
    threads : int or None
        How many threads a fast path may split the batch over (see
        :mod:`helpers.fast.threads`; the LSTM uses it): ``None``, the
        default, means as many as numpy's BLAS uses, and only for batches
        big enough to gain from it; ``1`` never splits; ``k > 1`` always
        splits into up to ``k`` slices of at least ``MIN_ROWS`` rows. Each
        thread gets its own part of the workspace (:meth:`part`).
    """

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None and (not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"threads must be None or an int >= 1, "
                             f"got {threads!r}")
        self._buffers: dict[str, np.ndarray] = {}
        self._parts: list[Workspace] = []
        self.threads = threads
        self.generation = 0      # bumped by every forward that uses it

    def part(self, k: int) -> "Workspace":
        """The workspace of batch slice ``k`` (created on first use)."""
        while len(self._parts) <= k:
            self._parts.append(Workspace(threads=1))
        return self._parts[k]

    def empty(self, name: str, shape: tuple[int, ...], dtype
              ) -> np.ndarray:
        """An uninitialised buffer ``name``, reused if shape and dtype
        match the last request of that name."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            buf = np.empty(shape, dtype)
            self._buffers[name] = buf
        return buf

    def begin_forward(self) -> int:
        """Invalidate earlier caches; return the new generation."""
        self.generation += 1
        return self.generation

    def check(self, generation: int) -> None:
        """Raise if a forward call has reused the buffers since."""
        if generation != self.generation:
            raise RuntimeError(
                "this cache was overwritten: a later forward call used "
                "the same Workspace; run backward before the next forward "
                "or use one Workspace per cache")


class FastCache(dict):
    """The buffers a fast forward leaves for its backward.

    The last entry of every fast-path sequence cache (the readable path
    has the list of step caches there). Keys name the buffers (``"hs"``,
    ``"G"``, ...); ``"workspace"`` and ``"generation"`` tie them to the
    :class:`Workspace` they live in, if any.
    """

    @classmethod
    def start(cls, ws: Workspace | None) -> "FastCache":
        """An empty record for a forward that is about to fill ``ws``;
        earlier caches on ``ws`` become stale."""
        generation = ws.begin_forward() if ws is not None else None
        return cls(workspace=ws, generation=generation)

    def check(self) -> None:
        """Raise ``RuntimeError`` if a later forward reused the buffers."""
        if self["workspace"] is not None:
            self["workspace"].check(self["generation"])


def check_workspace(workspace) -> None:
    """Raise ``TypeError`` unless ``workspace`` is None or a Workspace."""
    if workspace is not None and not isinstance(workspace, Workspace):
        raise TypeError(f"workspace must be a Workspace, got "
                        f"{type(workspace).__name__}")


def empty(ws: Workspace | None, name: str, shape, dtype) -> np.ndarray:
    """``ws.empty(...)``, or a fresh array without a workspace."""
    if ws is None:
        return np.empty(shape, dtype)
    return ws.empty(name, shape, dtype)


def input_projection(W: np.ndarray, b: np.ndarray, x: np.ndarray,
                     out: np.ndarray, ws: Workspace | None, tag: str
                     ) -> None:
    """``out[t] = W x_t + b`` for every step in one matmul.

    ``W (kH, D)``, ``b (kH,)``, ``x (N, T, D)``, ``out (T, kH, N)``. The
    bias rides along as an extra column of ``W`` times a row of ones.
    """
    N, T, D = x.shape
    x1 = empty(ws, tag + ".x1", (T, D + 1, N), x.dtype)        # (T, D+1, N)
    np.copyto(x1[:, :D], x.transpose(1, 2, 0))
    x1[:, D] = 1.0
    np.matmul(np.concatenate([W, b[:, None]], axis=1), x1, out=out)


def columns(ws: Workspace | None, name: str, parts, dtype) -> np.ndarray:
    """``[p_1 | p_2 | ...]`` as one ``(T*N, width)`` array.

    Each part is a ``(T, N, w)`` array or ``None`` for a column of ones,
    so that one matmul ``da_flat @ columns`` gives the weight and bias
    gradients of all steps at once.
    """
    T, N = next(p.shape[:2] for p in parts if p is not None)
    widths = [1 if p is None else p.shape[2] for p in parts]
    out = empty(ws, name, (T, N, sum(widths)), dtype)
    j = 0
    for p, w in zip(parts, widths):
        if p is None:
            out[..., j] = 1.0
        else:
            np.copyto(out[..., j:j + w], p)
        j += w
    return out.reshape(T * N, sum(widths))
