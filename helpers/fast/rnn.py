"""The fast path of the simple RNN (:mod:`helpers.reference.rnn`).

Same numbers as the readable loop up to rounding (float64 results agree
to about 1e-15 relative), by the same equations::

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)

What makes it fast:

* the input projection ``W_xh x_t + b_h`` of all steps is one matmul,
  hoisted out of the loop and written straight into the state buffer;
* the states live in one feature-major buffer ``hs (T + 1, H, N)`` with
  ``hs[0] = h0^T``, so each step is one contiguous block, updated with
  ``out=`` arguments and in-place ufuncs;
* the backward loop only carries the gradient from step to step; the
  weight gradients of all steps are one matmul after it,
  ``[dW_xh | dW_hh | db_h] = da [x | h_prev | 1]`` over ``T * N`` columns.

Called by :func:`helpers.reference.rnn.rnn_forward` and
:func:`~helpers.reference.rnn.rnn_backward` (and its truncated form)
with ``fast=True``, after they validated the inputs.
"""

from __future__ import annotations

import numpy as np

from helpers.fast.workspace import (FastCache, Workspace, check_workspace,
                                    columns, empty, input_projection)

__all__ = ["rnn_forward_fast", "rnn_backward_fast"]


def rnn_forward_fast(x: np.ndarray, h0: np.ndarray, params: dict,
                     workspace: Workspace | None = None):
    """Fast twin of :func:`helpers.reference.rnn.rnn_forward`.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
        Already resolved (no ``None``).
    params : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    workspace : Workspace, optional

    Returns
    -------
    h : ndarray, shape (N, T, H)
    h_last : ndarray, shape (N, H)
    cache : tuple
        ``(x, h0, h, params, bufs)`` with ``bufs`` a :class:`FastCache`
        holding ``hs (T + 1, H, N)``.
    """
    check_workspace(workspace)
    ws = workspace
    N, T, D = x.shape
    H = h0.shape[1]
    bufs = FastCache.start(ws)
    hs = empty(ws, "rnn.hs", (T + 1, H, N), x.dtype)           # (T+1, H, N)
    input_projection(params["W_xh"], params["b_h"], x, hs[1:], ws, "rnn")
    hs[0] = h0.T
    pre = empty(ws, "rnn.pre", (H, N), x.dtype)
    W_hh = params["W_hh"]
    for t in range(T):
        np.matmul(W_hh, hs[t], out=pre)
        hs[t + 1] += pre
        np.tanh(hs[t + 1], out=hs[t + 1])
    h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))        # (N, T, H)
    bufs["hs"] = hs
    return h, hs[T].T.copy(), (x, h0, h, params, bufs)


def rnn_backward_fast(dh: np.ndarray, cache: tuple,
                      dh_last: np.ndarray | None = None,
                      k: int | None = None):
    """Fast twin of :func:`helpers.reference.rnn.rnn_backward` and, with
    a chunk length ``k``, of
    :func:`~helpers.reference.rnn.rnn_backward_truncated`.

    ``cache`` is a fast-path cache, or any cache whose first entries are
    ``(x, h0, h, params)`` (the readable path's, or one built by hand):
    then the state buffer is rebuilt from ``h``.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    """
    x, h0, h, params = cache[:4]
    N, T, D = x.shape
    H = h.shape[2]
    if k is None:
        k = T
    bufs = cache[-1]
    ws = None
    if isinstance(bufs, FastCache):
        bufs.check()
        ws, hs = bufs["workspace"], bufs["hs"]
    else:                             # a cache without buffers: rebuild
        hs = np.empty((T + 1, H, N), dtype=x.dtype)
        hs[0] = h0.T
        hs[1:] = h.transpose(1, 2, 0)
    dtype = x.dtype
    W_hh_T = np.ascontiguousarray(params["W_hh"].T)            # (H, H)
    dh_tm = empty(ws, "rnn.dh", (T, H, N), dtype)              # (T, H, N)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    # da holds tanh'(a_t) = 1 - h_t^2 for all steps, then, step by step,
    # the gradient of the pre-activation a_t.
    da = empty(ws, "rnn.da", (T, H, N), dtype)                 # (T, H, N)
    np.multiply(hs[1:], hs[1:], out=da)
    np.subtract(1.0, da, out=da)
    carry = np.zeros((H, N), dtype)              # gradient from step t+1
    if dh_last is not None:
        carry += dh_last.T
    dht = empty(ws, "rnn.dht", (H, N), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry, out=dht)
        da[t] *= dht
        if t % k == 0 and t > 0:
            carry.fill(0.0)                      # truncation: cut here
        else:
            np.matmul(W_hh_T, da[t], out=carry)
    # Weight gradients of all steps at once: the sum over steps is one
    # matmul over T*N columns, [dW_xh | dW_hh | db_h] = da [x | h_prev | 1].
    da_flat = empty(ws, "rnn.da_flat", (H, T * N), dtype)      # (H, T*N)
    np.copyto(da_flat.reshape(H, T, N), da.transpose(1, 0, 2))
    xh1 = columns(ws, "rnn.xh1", [x.transpose(1, 0, 2),
                                  hs[:-1].transpose(0, 2, 1), None], dtype)
    dWb = da_flat @ xh1                                        # (H, D+H+1)
    grads = {"W_xh": np.ascontiguousarray(dWb[:, :D]),        # (H, D)
             "W_hh": np.ascontiguousarray(dWb[:, D:D + H]),   # (H, H)
             "b_h": dWb[:, D + H].copy()}                      # (H,)
    dx_flat = params["W_xh"].T @ da_flat                       # (D, T*N)
    dx = np.ascontiguousarray(
        dx_flat.reshape(D, T, N).transpose(2, 1, 0))           # (N, T, D)
    return dx, carry.T.copy(), grads
