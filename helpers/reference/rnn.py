"""The simple (Elman) RNN in numpy: forward, backward and truncated BPTT.

Dimension letters: N samples, T time steps, D input features, H hidden
units. The cell (lesson 2, "The simple RNN")::

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)

with ``params = {"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)}``. Batches
are rows, so the code writes ``x @ W_xh.T``. Backpropagation through time
and its truncated form are lesson 3. The layer pattern (step and sequence
functions in forward/backward pairs with a cache) follows CS231n's
``rnn_layers.py``; Elman (1990), "Finding structure in time".

The contract (the same in every cell, see :mod:`helpers.reference`)
-------------------------------------------------------------------
::

    init_rnn_params(D, H, rng, dtype=np.float64) -> params
    rnn_step_forward(x, h_prev, params)          -> h_next, cache
    rnn_step_backward(dh_next, cache)            -> dx, dh_prev, grads
    rnn_forward(x, h0, params, fast=False, workspace=None)
                                                 -> h, h_last, cache
    rnn_backward(dh, cache, dh_last=None, fast=False)
                                                 -> dx, dh0, grads

and, for lesson 3, the truncated form of ``rnn_backward``::

    rnn_backward_truncated(dh, cache, k, dh_last=None, fast=False)
                                                 -> dx, dh0, grads
    rnn_truncated_bptt(x, h0, params, dh, k, fast=False)
                                                 -> h, dx, grads

* **Caches.** Step: ``(x, h_prev, h_next, params)``. Sequence:
  ``(x, h0, h, params)``, lesson 2's cache: the first four entries of
  every cell's sequence cache. Other cells append the list of step
  caches; the RNN needs none, because the cache of step ``t`` is
  ``(x[:, t], h_{t-1}, h[:, t], params)``, all in those four entries.
* **Initial state.** ``h0=None`` means zeros (in the sequence functions;
  the step functions take arrays only); the cache holds the zeros.
* **Gradients.** ``grads`` has the keys ``W_xh, W_hh, b_h`` (other keys
  in ``params`` are ignored); ``dh`` is the gradient on every state,
  ``dh_last`` an optional extra one on ``h_T`` (from a many-to-one head
  that reads ``h_last``).
* **Fast path.** ``fast=True`` on the forward *and* the backward runs
  :mod:`helpers.fast.rnn`: the same numbers up to rounding (float64
  agrees to about 1e-15 relative), hoisted and preallocated;
  ``workspace=`` (a :class:`helpers.fast.Workspace`) lets repeated
  forward calls reuse its buffers. Its cache is ``(x, h0, h, params,
  bufs)``. A backward with ``fast=False`` refuses it (pass ``fast=True``
  there too); one with ``fast=True`` also accepts a readable cache.
* **Validation.** The sequence functions check every input once (shape,
  dtype, no NaN); the step functions check shapes and dtypes only, so the
  loop over time does not re-read the weights at every step.

Truncated BPTT (lesson 3): :func:`rnn_backward_truncated` cuts the
gradient flow every ``k`` steps on a full-sequence cache;
:func:`rnn_truncated_bptt` does the same the way a training loop does it,
chunk by chunk with the state carried forward. Both give the exact
gradient of the truncated objective and equal full BPTT when ``k >= T``.
"""

from __future__ import annotations

import numpy as np

from helpers.reference.layers import uniform_init
from helpers.reference.validate import (check_array, check_backward,
                                        check_forward, check_keys,
                                        check_params, check_step,
                                        check_upstream)


__all__ = [
    "init_rnn_params",
    "rnn_step_forward", "rnn_step_backward",
    "rnn_forward", "rnn_backward",
    "rnn_backward_truncated", "rnn_truncated_bptt",
]

Params = dict[str, np.ndarray]


def init_rnn_params(D: int, H: int, rng: np.random.Generator,
                    dtype=np.float64) -> Params:
    """Random parameters like ``torch.nn.RNN``: uniform in ±1/sqrt(H).

    Returns ``{"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)}``.
    """
    return uniform_init({"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)},
                        H, rng, dtype)


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
    H, D, dtype = _check_params(params, finite=False)
    check_step(x, {"h_prev": h_prev}, D, H, dtype)

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
    check_upstream("dh_next", dh_next, h_next.shape, "N, H", h_next.dtype,
                   finite=False)

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

def rnn_forward(x: np.ndarray, h0: np.ndarray | None, params: Params,
                fast: bool = False, workspace: "Workspace | None" = None
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
    fast, workspace
        The fast path of :mod:`helpers.fast.rnn` and its buffers (see
        the contract in the module docstring).

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states ``h_1 .. h_T``.
    h_last : ndarray, shape (N, H)
        ``h[:, -1]``, the state a many-to-one head reads.
    cache : tuple
        ``(x, h0, h, params)``; the fast path appends its buffers.
    """
    H, D, dtype = _check_params(params)
    N, T, h0 = check_forward(x, {"h0": h0}, D, H, dtype, fast, workspace)
    if fast:
        from helpers.fast.rnn import rnn_forward_fast
        return rnn_forward_fast(x, h0, params, workspace)

    h = np.empty((N, T, H), dtype)
    h_prev = h0
    for t in range(T):        # the loop over time is the recurrence
        h_prev, _ = rnn_step_forward(x[:, t], h_prev, params)
        h[:, t] = h_prev
    return h, h_prev, (x, h0, h, params)


def rnn_backward(dh: np.ndarray, cache: tuple,
                 dh_last: np.ndarray | None = None, fast: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backpropagation through time for :func:`rnn_forward`.

    Walks from ``t = T`` down to 1. The gradient reaching ``h_t`` is the
    upstream ``dh[:, t]`` plus the ``dh_prev`` that step ``t + 1`` sends
    back; the gradients of the shared ``W_xh, W_hh, b_h`` are summed over
    all steps.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state (zeros where no loss
        reads the state).
    cache : tuple
        ``(x, h0, h, params)`` from :func:`rnn_forward`.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on the last state ``h_T`` (e.g. from a many-to-one
        head that reads ``h_last``); added to ``dh[:, -1]``.
    fast : bool
        Use the fast path; pass the ``fast`` of the forward call.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``, summed over time.
    """
    N, T, H = check_backward(dh, cache, {"dh_last": dh_last}, 4,
                             "rnn_forward", fast)
    x, h0, h, params = cache[:4]
    if fast:
        from helpers.fast.rnn import rnn_backward_fast
        return rnn_backward_fast(dh, cache, dh_last)

    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name])
             for name in ("W_xh", "W_hh", "b_h")}
    dh_next = np.zeros((N, H), h.dtype)    # what step t+1 sends back to h_t
    if dh_last is not None:
        dh_next = dh_next + dh_last
    for t in reversed(range(T)):
        h_prev = h0 if t == 0 else h[:, t - 1]
        step_cache = (x[:, t], h_prev, h[:, t], params)
        dx[:, t], dh_next, step_grads = rnn_step_backward(
            dh[:, t] + dh_next, step_cache)
        for name in grads:           # shared weights: sum over steps
            grads[name] += step_grads[name]
    return dx, dh_next, grads


# ---------------------------------------------------------- truncated BPTT

def rnn_backward_truncated(dh: np.ndarray, cache: tuple, k: int | None,
                           dh_last: np.ndarray | None = None,
                           fast: bool = False
                           ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Truncated BPTT over chunks of ``k`` steps, from a full forward cache.

    The sequence is cut into chunks ``[0, k), [k, 2k), ...``. The forward
    state is carried from chunk to chunk (so the forward pass is exactly
    :func:`rnn_forward`), but the graph is cut at every chunk start: no
    gradient flows from chunk ``c`` back into chunk ``c - 1``. So each
    chunk is a plain :func:`rnn_backward` on its own slice of the cache,
    whose start state is a constant, and the chunks' parameter gradients
    are summed. This is what training chunk by chunk with a detached
    carried state computes (see :func:`rnn_truncated_bptt`), and it is
    the exact gradient of the *truncated objective*.

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
    fast : bool
        Use the fast path; pass the ``fast`` of the forward call.

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
    N, T, H = check_backward(dh, cache, {"dh_last": dh_last}, 4,
                             "rnn_forward", fast)
    x, h0, h, params = cache[:4]
    if k is None:
        k = T
    _check_chunk_length(k)
    if fast:
        from helpers.fast.rnn import rnn_backward_fast
        return rnn_backward_fast(dh, cache, dh_last, k)

    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name])
             for name in ("W_xh", "W_hh", "b_h")}
    for start in reversed(range(0, T, k)):     # the last chunk first
        c = slice(start, start + k)
        h_start = h0 if start == 0 else h[:, start - 1]   # a constant
        chunk_cache = (x[:, c], h_start, h[:, c], params)
        chunk_dh_last = dh_last if start + k >= T else None
        dx[:, c], dh_start, chunk_grads = rnn_backward(
            dh[:, c], chunk_cache, chunk_dh_last)
        for name in grads:
            grads[name] += chunk_grads[name]
    return dx, dh_start, grads        # dh_start of the first chunk: dh0


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
        Passed on to :func:`rnn_forward` and :func:`rnn_backward`.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states (identical to the untruncated forward).
    dx : ndarray, shape (N, T, D)
    grads : dict
        Parameter gradients summed over chunks.
    """
    H, D, dtype = _check_params(params)
    N, T, h0 = check_forward(x, {"h0": h0}, D, H, dtype)
    _check_chunk_length(k)
    check_upstream("dh", dh, (N, T, H), "N, T, H", dtype)

    h = np.empty((N, T, H), dtype)
    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name])
             for name in ("W_xh", "W_hh", "b_h")}
    h_carry = h0
    for start in range(0, T, k):
        c = slice(start, start + k)
        h[:, c], h_carry, cache = rnn_forward(x[:, c], h_carry, params,
                                              fast=fast)
        dx[:, c], _, chunk_grads = rnn_backward(dh[:, c], cache, fast=fast)
        for name in grads:           # the chunk's dh0 is dropped: the cut
            grads[name] += chunk_grads[name]
    return h, dx, grads


# ------------------------------------------------------------ input checks

def _check_params(params, finite: bool = True) -> tuple[int, int, np.dtype]:
    """Validate an RNN parameter dict; return ``(H, D, dtype)``."""
    check_keys(params, ("W_xh", "W_hh", "b_h"))
    H, D = check_array("params['W_xh']", params["W_xh"], 2, "H, D",
                       finite=False).shape
    dtype = check_params(params, {"W_xh": ((H, D), "H, D"),
                                  "W_hh": ((H, H), "H, H"),
                                  "b_h": ((H,), "H")}, finite=finite)
    return H, D, dtype


def _check_chunk_length(k) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) \
            or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
