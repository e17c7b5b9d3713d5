"""The fast path of the LSTM (:mod:`helpers.reference.lstm`).

Same numbers as the readable loop up to rounding, by the same equations
(gate blocks i, f, g, o of ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``)::

    i, f, o = sigma(.),  g = tanh(.)   of  W x_t + U h_{t-1} + b
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

What makes it fast:

* the input projection ``W x_t + b`` of all steps is one matmul, hoisted
  out of the loop;
* arrays are feature-major, ``(T, 4H, N)`` and ``(T + 1, H, N)``, so a
  gate of one step is a contiguous ``(H, N)`` block and the recurrent
  product is ``U @ h_{t-1}``;
* the gate blocks are reordered to o, i, f, g, so the three sigmoid gates
  are adjacent, and their rows are scaled by 1/2: then
  ``sigma(a) = (1 + tanh(a / 2)) / 2`` and one ``tanh`` call activates
  all four gates (scaling by a power of two is exact in floating point);
* the backward pass computes every factor that does not depend on the
  upstream gradient for all steps before its loop, and the weight
  gradients of all steps in one matmul after it;
* with a :class:`~helpers.fast.workspace.Workspace`, a large enough batch
  is split across the cores, one slice per thread
  (:mod:`helpers.fast.threads`); the slices' weight gradients are summed.

Called by :func:`helpers.reference.lstm.lstm_forward` and
:func:`~helpers.reference.lstm.lstm_backward` with ``fast=True``, after
they validated the inputs. The cache is ``(x, h0, h, params, c0, c,
bufs)`` like the readable one, with a
:class:`~helpers.fast.workspace.FastCache` last; its ``c`` is a view of
the workspace, valid as long as the cache is.
"""

from __future__ import annotations

import numpy as np

from helpers.fast.threads import batch_slices, blas_threads, run_slices
from helpers.fast.workspace import (FastCache, Workspace, check_workspace,
                                    columns, empty, input_projection)

__all__ = ["lstm_forward_fast", "lstm_backward_fast", "lstm_slices"]

_PERM = np.array([3, 0, 1, 2])          # internal block j = torch block
_INV = np.argsort(_PERM)                # torch block k = internal block


def _fused(params, H):
    """Gate blocks reordered to o, i, f, g: ``W (4H, D), U (4H, H)``,
    ``b (4H,)``, and the 1/2 row scale of the sigmoid gates."""
    W = params["W"].reshape(4, H, -1)[_PERM].reshape(4 * H, -1)
    U = params["U"].reshape(4, H, H)[_PERM].reshape(4 * H, H)
    b = params["b"].reshape(4, H)[_PERM].reshape(4 * H)
    scale = np.ones(4 * H, dtype=W.dtype)
    scale[:3 * H] = 0.5
    return W, U, b, scale


def lstm_slices(N: int, H: int, ws: Workspace | None) -> list[slice]:
    """The batch slices a fast pass over ``N`` samples runs in parallel
    (one slice: no split); see :class:`~helpers.fast.workspace.Workspace`
    for what ``ws.threads`` asks for."""
    if ws is None or ws.threads == 1:
        return [slice(0, N)]
    if ws.threads is None:         # automatic: only where a split gains
        return batch_slices(N, blas_threads(), 4 * H * H)
    return batch_slices(N, ws.threads)


# ------------------------------------------------------------- forward

def lstm_forward_fast(x: np.ndarray, h0: np.ndarray, c0: np.ndarray,
                      params: dict, workspace: Workspace | None = None):
    """Fast twin of :func:`helpers.reference.lstm.lstm_forward`.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0, c0 : ndarray, shape (N, H)
        Already resolved (no ``None``).
    params : dict
        ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``, gate blocks i, f, g, o.
    workspace : Workspace, optional

    Returns
    -------
    h : ndarray, shape (N, T, H)
    (h_last, c_last) : ndarrays, shape (N, H)
    cache : tuple
        ``(x, h0, h, params, c0, c, bufs)``; after a batch split ``bufs``
        holds ``"slices"`` and one ``FastCache`` per slice in ``"parts"``.
    """
    check_workspace(workspace)
    N = x.shape[0]
    slices = lstm_slices(N, h0.shape[1], workspace)
    if len(slices) > 1:
        return _forward_split(x, h0, c0, params, workspace, slices)
    return _forward(x, h0, c0, params, workspace)


def _forward(x, h0, c0, params, ws, out=None):
    """The fast forward of one batch (slice); ``out``, if given, is
    ``(h, c, h_last, c_last)`` to fill in place (the batch split passes
    slices of shared arrays)."""
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    bufs = FastCache.start(ws)
    W, U, b, scale = _fused(params, H)
    U_s = U * scale[:, None]                                   # (4H, H)
    # Input projection of every step in one call, hoisted out of the loop.
    G = empty(ws, "lstm.G", (T, 4 * H, N), dtype)              # (T, 4H, N)
    input_projection(W * scale[:, None], b * scale, x, G, ws, "lstm")
    hs = empty(ws, "lstm.hs", (T + 1, H, N), dtype)            # (T+1, H, N)
    cs = empty(ws, "lstm.cs", (T + 1, H, N), dtype)
    tanh_c = empty(ws, "lstm.tanh_c", (T, H, N), dtype)        # (T, H, N)
    pre = empty(ws, "lstm.pre", (4 * H, N), dtype)
    ig = empty(ws, "lstm.ig", (H, N), dtype)
    hs[0], cs[0] = h0.T, c0.T
    for t in range(T):
        Gt = G[t]                                              # (4H, N)
        np.matmul(U_s, hs[t], out=pre)
        Gt += pre
        np.tanh(Gt, out=Gt)
        sig = Gt[:3 * H]
        sig *= 0.5
        sig += 0.5                      # now Gt holds o, i, f, g
        np.multiply(Gt[2 * H:3 * H], cs[t], out=cs[t + 1])    # f c_prev
        np.multiply(Gt[H:2 * H], Gt[3 * H:], out=ig)          # i g
        cs[t + 1] += ig
        np.tanh(cs[t + 1], out=tanh_c[t])
        np.multiply(Gt[:H], tanh_c[t], out=hs[t + 1])         # o tanh(c)
    if out is None:
        h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))    # (N, T, H)
        c = cs[1:].transpose(2, 0, 1)               # (N, T, H), a view
        h_last, c_last = hs[T].T.copy(), cs[T].T.copy()        # (N, H)
    else:
        h, c, h_last, c_last = out
        for dst, src in ((h, hs[1:]), (c, cs[1:])):
            np.copyto(dst, src.transpose(2, 0, 1))
        np.copyto(h_last, hs[T].T)
        np.copyto(c_last, cs[T].T)
    bufs.update(G=G, hs=hs, cs=cs, tanh_c=tanh_c)
    return h, (h_last, c_last), (x, h0, h, params, c0, c, bufs)


def _forward_split(x, h0, c0, params, ws, slices):
    bufs = FastCache.start(ws)
    N, T, _ = x.shape
    H = h0.shape[1]
    h, c = (np.empty((N, T, H), x.dtype) for _ in range(2))    # (N, T, H)
    h_last, c_last = (np.empty((N, H), x.dtype) for _ in range(2))
    parts = run_slices(lambda k, s: _forward(
        x[s], h0[s], c0[s], params, ws.part(k),
        (h[s], c[s], h_last[s], c_last[s])), slices)
    bufs.update(slices=slices, parts=[p[2][-1] for p in parts])
    return h, (h_last, c_last), (x, h0, h, params, c0, c, bufs)


# ------------------------------------------------------------ backward

def lstm_backward_fast(dh: np.ndarray, cache: tuple,
                       dh_last: np.ndarray | None = None,
                       dc_last: np.ndarray | None = None):
    """Fast twin of :func:`helpers.reference.lstm.lstm_backward`, with
    the same results ``(dx, dh0, dc0, grads)``.

    ``cache`` is a fast-path cache, or one from the readable path: then
    the fast forward runs again (without a workspace) for its buffers.
    """
    x, h0, h, params, c0 = cache[:5]
    bufs = cache[-1]
    if not isinstance(bufs, FastCache):
        bufs = _forward(x, h0, c0, params, None)[2][-1]
    bufs.check()
    N, T, H = h.shape
    carry_h = np.zeros((N, H), h.dtype)
    carry_c = np.zeros((N, H), h.dtype)
    if dh_last is not None:
        carry_h += dh_last
    if dc_last is not None:
        carry_c += dc_last
    if "slices" in bufs:
        return _backward_split(dh, x, params, bufs, carry_h, carry_c)
    return _backward(dh, x, params, bufs, carry_h, carry_c)


def _backward(dh, x, params, bufs, carry_h, carry_c, out=None):
    """The fast backward of one batch (slice); ``out``, if given, is
    ``(dx, dh0, dc0)`` to fill in place."""
    N, T, D = x.shape
    H = carry_h.shape[1]
    dtype = x.dtype
    ws = bufs["workspace"]
    bufs.check()
    W, U, _, _ = _fused(params, H)
    U_T = np.ascontiguousarray(U.T)                            # (H, 4H)
    G, hs, cs, tanh_c = bufs["G"], bufs["hs"], bufs["cs"], bufs["tanh_c"]
    o, i = G[:, :H], G[:, H:2 * H]                             # (T, H, N)
    f, g = G[:, 2 * H:3 * H], G[:, 3 * H:]
    # Everything that does not depend on the upstream gradient, for all
    # steps at once: each gate's pre-activation gradient is dh_t or dc_t
    # times one factor of P (order o, i, f, g), and dc_t gets dh_t * Q.
    # P is then turned into the gradient dA in place, step by step.
    dA = empty(ws, "lstm.dA", (T, 4 * H, N), dtype)            # (T, 4H, N)
    S = dA[:, :3 * H]
    np.multiply(G[:, :3 * H], G[:, :3 * H], out=S)
    np.subtract(G[:, :3 * H], S, out=S)        # sigma' = s - s^2
    dA[:, :H] *= tanh_c                        # d a_o = dh_t * P_o
    dA[:, H:2 * H] *= g                        # d a_i = dc_t * P_i
    dA[:, 2 * H:3 * H] *= cs[:-1]              # d a_f = dc_t * P_f
    P_g = dA[:, 3 * H:]
    np.multiply(g, g, out=P_g)
    np.subtract(1.0, P_g, out=P_g)             # tanh' = 1 - g^2
    P_g *= i                                   # d a_g = dc_t * P_g
    Q = empty(ws, "lstm.Q", (T, H, N), dtype)                  # (T, H, N)
    np.multiply(tanh_c, tanh_c, out=Q)
    np.subtract(1.0, Q, out=Q)
    Q *= o                                     # dc_t += dh_t * Q
    dA4 = dA.reshape(T, 4, H, N)
    dh_tm = empty(ws, "lstm.dh", (T, H, N), dtype)             # (T, H, N)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    carry_h = np.ascontiguousarray(carry_h.T)                  # (H, N)
    carry_c = np.ascontiguousarray(carry_c.T)                  # (H, N)
    dht = empty(ws, "lstm.dht", (H, N), dtype)
    dc = empty(ws, "lstm.dc", (H, N), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry_h, out=dht)
        np.multiply(dht, Q[t], out=dc)
        dc += carry_c
        dA4[t, 0] *= dht                                       # gate o
        dA4[t, 1:] *= dc                                       # i, f, g
        np.multiply(dc, f[t], out=carry_c)                     # dc_prev
        np.matmul(U_T, dA[t], out=carry_h)                     # dh_prev
    # The weight gradients of all steps: the sum over steps is one matmul
    # over T*N columns, [dW | dU | db] = dA [x | h_prev | 1].
    dA_flat = empty(ws, "lstm.dA_flat", (4 * H, T * N), dtype)
    np.copyto(dA_flat.reshape(4 * H, T, N), dA.transpose(1, 0, 2))
    xh1 = columns(ws, "lstm.xh1", [x.transpose(1, 0, 2),
                                   hs[:-1].transpose(0, 2, 1), None], dtype)
    dWUb = (dA_flat @ xh1).reshape(4, H, -1)[_INV]            # (4, H, D+H+1)
    dWUb = dWUb.reshape(4 * H, D + H + 1)
    dx_flat = W.T @ dA_flat                                    # (D, T*N)
    dx_ntd = dx_flat.reshape(D, T, N).transpose(2, 1, 0)       # (N, T, D)
    if out is not None:
        dx, dh0, dc0 = out
        np.copyto(dx, dx_ntd)
        np.copyto(dh0, carry_h.T)
        np.copyto(dc0, carry_c.T)
        return dx, dh0, dc0, _grads_from(dWUb, D, H)
    return (np.ascontiguousarray(dx_ntd), carry_h.T.copy(),
            carry_c.T.copy(), _grads_from(dWUb, D, H))


def _grads_from(dWUb, D, H):
    """Split ``[dW | dU | db]`` of shape ``(4H, D + H + 1)``."""
    return {"W": np.ascontiguousarray(dWUb[:, :D]),            # (4H, D)
            "U": np.ascontiguousarray(dWUb[:, D:D + H]),       # (4H, H)
            "b": dWUb[:, D + H].copy()}                         # (4H,)


def _backward_split(dh, x, params, bufs, carry_h, carry_c):
    slices = bufs["slices"]
    dx = np.empty_like(x)                                      # (N, T, D)
    dh0, dc0 = np.empty_like(carry_h), np.empty_like(carry_c)  # (N, H)
    parts = run_slices(lambda k, s: _backward(
        dh[s], x[s], params, bufs["parts"][k], carry_h[s], carry_c[s],
        (dx[s], dh0[s], dc0[s])), slices)
    grads = parts[0][3]
    for p in parts[1:]:                  # shared weights: sum over slices
        for k in grads:
            grads[k] += p[3][k]
    return dx, dh0, dc0, grads
