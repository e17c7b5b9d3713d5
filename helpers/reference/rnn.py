"""The simple (Elman) RNN in numpy: forward, backward and truncated BPTT.

Dimension letters: N samples, T time steps, D input features, H hidden
units. The cell is (lesson 2, "The simple RNN")::

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)

with ``params = {"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)}``. Batches
are rows, so the code writes ``x @ W_xh.T``. Backpropagation through time
and its truncated form are lesson 3. The layer pattern (step and sequence
functions in forward/backward pairs with a cache) follows CS231n's
``rnn_layers.py``; Elman (1990), "Finding structure in time".

Two paths compute the same numbers:

* the readable path (``fast=False``, the default) loops over time and
  calls :func:`rnn_step_forward` / :func:`rnn_step_backward` at each step;
  it is the version the lessons teach;
* the fast path (``fast=True``) hoists the input projection of all time
  steps out of the loop into one matmul, works in preallocated
  feature-major buffers (``(T, H, N)``, so each step's state is one
  contiguous block) with ``out=`` arguments and in-place ufuncs, and
  computes the weight gradients of all steps in one matmul after the
  backward loop. Only rounding differs (float64 results agree to about
  1e-15 relative); a :class:`Workspace` lets repeated calls reuse the
  buffers.

Truncated BPTT (lesson 3): :func:`rnn_backward_truncated` cuts the
gradient flow every ``k`` steps on a full-sequence cache;
:func:`rnn_truncated_bptt` does the same the way a training loop does it,
chunk by chunk with the state carried forward. Both give the exact
gradient of the truncated objective and equal full BPTT when ``k >= T``.

Caches
------
Step cache: ``(x, h_prev, h_next, params)``.
Sequence cache: ``(x, h0, h, params)`` from the readable path; the fast
path appends one more entry, a dict of its buffers (the feature-major
states ``hs`` of shape ``(T + 1, H, N)`` with ``hs[0] = h0.T``, and the
:class:`Workspace` they live in, if any). :func:`rnn_backward` accepts
either form (and a 4-tuple built by hand) and can run either path on it.
"""

from __future__ import annotations

import numpy as np

from helpers.reference.validate import (check_array, check_dtype, check_keys,
                              check_params, check_sequence, check_shape,
                              check_state)

__all__ = [
    "Workspace", "init_rnn_params",
    "rnn_step_forward", "rnn_step_backward",
    "rnn_forward", "rnn_backward",
    "rnn_backward_truncated", "rnn_truncated_bptt",
]

Params = dict[str, np.ndarray]


class Workspace:
    """Scratch buffers that the fast paths reuse from call to call.

    Writing to a freshly allocated multi-megabyte array costs one page
    fault per 4 KiB page, which on a small machine can take longer than
    the arithmetic of a whole forward pass. A training loop that calls
    ``*_forward(..., fast=True, workspace=ws)`` and the matching backward
    with one ``Workspace`` allocates its buffers once and then reuses
    them (``torch`` gets the same effect from its allocator).

    A fast-path cache points into the workspace, so it stays valid only
    until the next forward call that uses the same workspace; a backward
    call on an older cache raises ``RuntimeError``. Returned arrays
    (states, input and parameter gradients) are always fresh.

    ``threads`` is how many threads a fast path may split the batch over
    (see :mod:`helpers.fast.threads`; the LSTM uses it): ``None``, the
    default, means as many as numpy's BLAS uses, and only for batches big
    enough to gain from it; ``1`` never splits; ``k > 1`` always splits
    into up to ``k`` slices of at least ``MIN_ROWS`` rows. Each thread
    gets its own part of the workspace (:meth:`part`).
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


def _empty(ws: Workspace | None, name: str, shape, dtype) -> np.ndarray:
    """``ws.empty(...)``, or a fresh array without a workspace."""
    if ws is None:
        return np.empty(shape, dtype)
    return ws.empty(name, shape, dtype)


def _input_projection(W: np.ndarray, b: np.ndarray, x: np.ndarray,
                      out: np.ndarray, ws: Workspace | None, tag: str
                      ) -> None:
    """``out[t] = W x_t + b`` for every step in one matmul (fast paths).

    ``W (kH, D)``, ``b (kH,)``, ``x (N, T, D)``, ``out (T, kH, N)``. The
    bias rides along as an extra column of ``W`` times a row of ones.
    """
    N, T, D = x.shape
    x1 = _empty(ws, tag + ".x1", (T, D + 1, N), x.dtype)       # (T, D+1, N)
    np.copyto(x1[:, :D], x.transpose(1, 2, 0))
    x1[:, D] = 1.0
    np.matmul(np.concatenate([W, b[:, None]], axis=1), x1, out=out)


def _columns(ws: Workspace | None, name: str, parts, dtype) -> np.ndarray:
    """``[p_1 | p_2 | ...]`` as one ``(T*N, width)`` array (fast paths).

    Each part is a ``(T, N, w)`` array or ``None`` for a column of ones,
    so that one matmul ``da_flat @ columns`` gives the weight and bias
    gradients of all steps at once.
    """
    T, N = next(p.shape[:2] for p in parts if p is not None)
    widths = [1 if p is None else p.shape[2] for p in parts]
    out = _empty(ws, name, (T, N, sum(widths)), dtype)
    j = 0
    for p, w in zip(parts, widths):
        if p is None:
            out[..., j] = 1.0
        else:
            np.copyto(out[..., j:j + w], p)
        j += w
    return out.reshape(T * N, sum(widths))


def init_rnn_params(D: int, H: int, rng: np.random.Generator,
                    dtype=np.float64) -> Params:
    """Random parameters like ``torch.nn.RNN``: uniform in ±1/sqrt(H).

    Returns ``{"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)}``.
    """
    k = 1.0 / np.sqrt(H)
    return {
        "W_xh": rng.uniform(-k, k, (H, D)).astype(dtype),
        "W_hh": rng.uniform(-k, k, (H, H)).astype(dtype),
        "b_h": rng.uniform(-k, k, (H,)).astype(dtype),
    }


def _check_params(params) -> tuple[int, int, np.dtype]:
    """Validate an RNN parameter dict; return ``(H, D, dtype)``."""
    check_keys(params, ("W_xh", "W_hh", "b_h"))
    H, D = check_array("params['W_xh']", params["W_xh"], 2, "H, D").shape
    dtype = check_params(params, {"W_xh": ((H, D), "H, D"),
                                  "W_hh": ((H, H), "H, H"),
                                  "b_h": ((H,), "H")})
    return H, D, dtype


# ---------------------------------------------------------------- one step

def rnn_step_forward(x: np.ndarray, h_prev: np.ndarray, params: Params
                     ) -> tuple[np.ndarray, tuple]:
    """One time step: ``h_next = tanh(W_xh x + W_hh h_prev + b_h)``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs at this step.
    h_prev : ndarray, shape (N, H)
        Hidden state of the previous step.
    params : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.

    Returns
    -------
    h_next : ndarray, shape (N, H)
    cache : tuple
        ``(x, h_prev, h_next, params)``, what the backward step needs.
    """
    H, D, dtype = _check_params(params)
    check_array("x", x, 2, "N, D")
    N = x.shape[0]
    check_shape("x", x, (N, D), "N, D")
    check_array("h_prev", h_prev, 2, "N, H")
    check_shape("h_prev", h_prev, (N, H), "N, H")
    check_dtype("x", x, dtype)
    check_dtype("h_prev", h_prev, dtype)

    a = x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]
    h_next = np.tanh(a)                                       # (N, H)
    return h_next, (x, h_prev, h_next, params)


def rnn_step_backward(dh_next: np.ndarray, cache: tuple
                      ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backward pass of :func:`rnn_step_forward`.

    With ``a = W_xh x + W_hh h_prev + b_h`` and ``h_next = tanh(a)``:
    ``da = dh_next * (1 - h_next**2)``, ``dx = da W_xh``,
    ``dh_prev = da W_hh``, ``dW_xh = da^T x``, ``dW_hh = da^T h_prev``,
    ``db_h = sum_n da``.

    Parameters
    ----------
    dh_next : ndarray, shape (N, H)
        Upstream gradient of the loss with respect to ``h_next``.
    cache : tuple
        ``(x, h_prev, h_next, params)`` from the forward step.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    """
    x, h_prev, h_next, params = cache
    check_array("dh_next", dh_next, 2, "N, H")
    check_shape("dh_next", dh_next, h_next.shape, "N, H")
    check_dtype("dh_next", dh_next, h_next.dtype, "the forward pass")

    da = dh_next * (1.0 - h_next * h_next)      # tanh'(a) = 1 - tanh(a)^2
    dx = da @ params["W_xh"]                                  # (N, D)
    dh_prev = da @ params["W_hh"]                             # (N, H)
    grads = {
        "W_xh": da.T @ x,                                     # (H, D)
        "W_hh": da.T @ h_prev,                                # (H, H)
        "b_h": da.sum(axis=0),                                # (H,)
    }
    return dx, dh_prev, grads


# ---------------------------------------------------------- whole sequence

def _check_sequence(x, h0, params):
    """Validate sequence inputs; return ``(h0, N, T, D, H)``."""
    H, D, dtype = _check_params(params)
    N, T = check_sequence(x, D, dtype)
    return check_state("h0", h0, N, H, dtype), N, T, D, H


def rnn_forward(x: np.ndarray, h0: np.ndarray | None, params: Params,
                fast: bool = False, workspace: Workspace | None = None
                ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Run the RNN over a whole sequence.

    ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)`` for ``t = 1 .. T``,
    the same parameters at every step.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Input sequences.
    h0 : ndarray, shape (N, H), or None
        Initial hidden state; ``None`` means zeros.
    params : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    fast : bool
        ``False``: the readable per-step loop. ``True``: the hoisted,
        preallocated version (same numbers up to rounding).
    workspace : Workspace, optional
        Buffers to reuse on the fast path (see :class:`Workspace`).

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states ``h_1 .. h_T``.
    h_last : ndarray, shape (N, H)
        ``h[:, -1]``, the state a many-to-one head reads.
    cache : tuple
        ``(x, h0, h, params)``, plus the fast path's buffers (see the
        module docstring).
    """
    h0, N, T, D, H = _check_sequence(x, h0, params)
    _check_workspace(fast, workspace)
    if fast:
        return _rnn_forward_fast(x, h0, params, workspace)

    h = np.empty((N, T, H), dtype=x.dtype)
    h_prev = h0
    for t in range(T):        # the loop over time is the recurrence
        h_prev, _ = rnn_step_forward(x[:, t], h_prev, params)
        h[:, t] = h_prev
    return h, h[:, -1].copy(), (x, h0, h, params)


def _check_workspace(fast: bool, workspace) -> None:
    if workspace is not None and not fast:
        raise ValueError("workspace is only used by the fast path; "
                         "pass fast=True")
    if workspace is not None and not isinstance(workspace, Workspace):
        raise TypeError(f"workspace must be a Workspace, got "
                        f"{type(workspace).__name__}")


# The fast path works feature-major: the states are stored as
# hs (T + 1, H, N), so the state of one step is a contiguous (H, N) block
# and the recurrent product is W_hh @ h_{t-1}.

def _rnn_forward_fast(x, h0, params, ws):
    N, T, D = x.shape
    H = h0.shape[1]
    generation = ws.begin_forward() if ws is not None else None
    hs = _empty(ws, "rnn.hs", (T + 1, H, N), x.dtype)         # (T+1, H, N)
    # Input projection of every step in one call, hoisted out of the loop
    # and written straight into the state buffer.
    _input_projection(params["W_xh"], params["b_h"], x, hs[1:], ws, "rnn")
    hs[0] = h0.T
    pre = _empty(ws, "rnn.pre", (H, N), x.dtype)
    W_hh = params["W_hh"]
    for t in range(T):
        np.matmul(W_hh, hs[t], out=pre)
        hs[t + 1] += pre
        np.tanh(hs[t + 1], out=hs[t + 1])
    h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))        # (N, T, H)
    bufs = {"hs": hs, "workspace": ws, "generation": generation}
    return h, hs[T].T.copy(), (x, h0, h, params, bufs)


def _check_dh(dh, dh_last, h):
    N, T, H = h.shape
    check_array("dh", dh, 3, "N, T, H")
    check_shape("dh", dh, (N, T, H), "N, T, H")
    check_dtype("dh", dh, h.dtype, "the forward pass")
    if dh_last is not None:
        check_array("dh_last", dh_last, 2, "N, H")
        check_shape("dh_last", dh_last, (N, H), "N, H")
        check_dtype("dh_last", dh_last, h.dtype, "the forward pass")


def rnn_backward(dh: np.ndarray, cache: tuple,
                 dh_last: np.ndarray | None = None,
                 fast: bool | None = None
                 ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backpropagation through time for :func:`rnn_forward`.

    Walks from ``t = T`` down to 1. The gradient reaching ``h_t`` is the
    upstream ``dh[:, t]`` plus what flows back from step ``t + 1``; the
    gradients of the shared ``W_xh, W_hh, b_h`` are summed over all steps.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state (zeros where no loss
        reads the state).
    cache : tuple
        From :func:`rnn_forward`.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on the last state ``h_T`` (e.g. from a many-to-one
        head that reads ``h_last``); added to ``dh[:, -1]``.
    fast : bool, optional
        Use the fast path; by default, the path the forward took.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``, summed over time.
    """
    return rnn_backward_truncated(dh, cache, None, dh_last, fast)


def rnn_backward_truncated(dh: np.ndarray, cache: tuple, k: int | None,
                           dh_last: np.ndarray | None = None,
                           fast: bool | None = None
                           ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Truncated BPTT over chunks of ``k`` steps, from a full forward cache.

    The sequence is cut into chunks ``[0, k), [k, 2k), ...``. The forward
    state is carried from chunk to chunk (so the forward pass is exactly
    :func:`rnn_forward`), but the graph is cut at every chunk start: no
    gradient flows from chunk ``c`` back into chunk ``c - 1``. Each
    chunk's parameter gradients are summed. This is what training chunk by
    chunk with a detached carried state computes (see
    :func:`rnn_truncated_bptt`), and it is the exact gradient of the
    *truncated objective* in which each chunk's start state is a constant.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : tuple
        From :func:`rnn_forward`.
    k : int or None
        Chunk length (``k >= 1``); ``None`` or ``k >= T`` is full BPTT.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on ``h_T``.
    fast : bool, optional
        Use the fast path; by default, the path the forward took.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
        Input gradients; within-chunk paths only.
    dh0 : ndarray, shape (N, H)
        Gradient on ``h0`` from the losses of the first chunk only (the
        later chunks are cut off from it).
    grads : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    """
    x, h0, h, params = cache[:4]
    _check_dh(dh, dh_last, h)
    N, T, H = h.shape
    if k is None:
        k = T
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) \
            or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if fast is None:
        fast = len(cache) > 4
    if fast:
        bufs = cache[4] if len(cache) > 4 else None
        return _rnn_backward_fast(dh, x, h0, h, params, bufs, k, dh_last)

    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name])
             for name in ("W_xh", "W_hh", "b_h")}
    dh_carry = np.zeros((N, H), dtype=h.dtype)   # from step t+1 into h_t
    if dh_last is not None:
        dh_carry = dh_carry + dh_last
    for t in reversed(range(T)):
        h_prev = h0 if t == 0 else h[:, t - 1]
        step_cache = (x[:, t], h_prev, h[:, t], params)
        dx[:, t], dh_prev, step_grads = rnn_step_backward(
            dh[:, t] + dh_carry, step_cache)
        for name in grads:           # shared weights: sum over steps
            grads[name] += step_grads[name]
        # cut the graph at a chunk start: h_prev belongs to the
        # previous chunk, which treats its state as a constant
        dh_carry = np.zeros_like(dh_prev) if t % k == 0 and t > 0 \
            else dh_prev
    return dx, dh_carry, grads


def _rnn_backward_fast(dh, x, h0, h, params, bufs, k, dh_last):
    N, T, D = x.shape
    H = h.shape[2]
    ws = None
    if bufs is None:                  # a cache built by hand: rebuild
        hs = np.empty((T + 1, H, N), dtype=x.dtype)
        hs[0] = h0.T
        hs[1:] = h.transpose(1, 2, 0)
    else:
        ws, hs = bufs["workspace"], bufs["hs"]
        if ws is not None:
            ws.check(bufs["generation"])
    dtype = x.dtype
    W_hh_T = np.ascontiguousarray(params["W_hh"].T)            # (H, H)
    dh_tm = _empty(ws, "rnn.dh", (T, H, N), dtype)             # (T, H, N)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    # da holds tanh'(a_t) = 1 - h_t^2 for all steps, then, step by step,
    # the gradient of the pre-activation a_t.
    da = _empty(ws, "rnn.da", (T, H, N), dtype)                # (T, H, N)
    np.multiply(hs[1:], hs[1:], out=da)
    np.subtract(1.0, da, out=da)
    carry = np.zeros((H, N), dtype)              # gradient from step t+1
    if dh_last is not None:
        carry += dh_last.T
    dht = _empty(ws, "rnn.dht", (H, N), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry, out=dht)
        da[t] *= dht
        if t % k == 0 and t > 0:
            carry.fill(0.0)                      # truncation: cut here
        else:
            np.matmul(W_hh_T, da[t], out=carry)
    # Weight gradients of all steps at once: the sum over steps is one
    # matmul over T*N columns, [dW_xh | dW_hh | db_h] = da [x | h_prev | 1].
    da_flat = _empty(ws, "rnn.da_flat", (H, T * N), dtype)     # (H, T*N)
    np.copyto(da_flat.reshape(H, T, N), da.transpose(1, 0, 2))
    xh1 = _columns(ws, "rnn.xh1", [x.transpose(1, 0, 2),
                                   hs[:-1].transpose(0, 2, 1), None], dtype)
    dWb = da_flat @ xh1                                        # (H, D+H+1)
    grads = {"W_xh": np.ascontiguousarray(dWb[:, :D]),        # (H, D)
             "W_hh": np.ascontiguousarray(dWb[:, D:D + H]),   # (H, H)
             "b_h": dWb[:, D + H].copy()}                      # (H,)
    dx_flat = params["W_xh"].T @ da_flat                       # (D, T*N)
    dx = np.ascontiguousarray(
        dx_flat.reshape(D, T, N).transpose(2, 1, 0))           # (N, T, D)
    return dx, carry.T.copy(), grads


def rnn_truncated_bptt(x: np.ndarray, h0: np.ndarray | None,
                       params: Params, dh: np.ndarray, k: int,
                       fast: bool = False
                       ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Truncated BPTT the way a training loop does it, chunk by chunk.

    For each chunk of ``k`` steps: run :func:`rnn_forward` from the
    carried state, run :func:`rnn_backward` on that chunk only (its
    ``dh0`` is thrown away: the graph is cut), add the chunk's parameter
    gradients, and carry the last state into the next chunk. Gives the
    same result as :func:`rnn_backward_truncated` on a full cache; a
    training loop would also take an optimiser step after each chunk.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H), or None
    params : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state.
    k : int
        Chunk length, ``k >= 1``.
    fast : bool
        Passed on to :func:`rnn_forward`.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states (identical to the untruncated forward).
    dx : ndarray, shape (N, T, D)
    grads : dict
        Parameter gradients summed over chunks.
    """
    h0, N, T, D, H = _check_sequence(x, h0, params)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) \
            or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    check_array("dh", dh, 3, "N, T, H")
    check_shape("dh", dh, (N, T, H), "N, T, H")
    check_dtype("dh", dh, x.dtype, "x")
    h = np.empty((N, T, H), dtype=x.dtype)
    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name])
             for name in ("W_xh", "W_hh", "b_h")}
    h_carry = h0
    for start in range(0, T, k):
        chunk = slice(start, min(start + k, T))
        h[:, chunk], h_carry, cache = rnn_forward(
            x[:, chunk], h_carry, params, fast=fast)
        dx[:, chunk], _, chunk_grads = rnn_backward(dh[:, chunk], cache)
        for name in grads:
            grads[name] += chunk_grads[name]
    return h, dx, grads
