"""The fast paths of the GRU (:mod:`helpers.reference.gru`), both forms.

Same numbers as the readable loops up to rounding, by the same equations
(see :mod:`helpers.reference.gru`: Cho et al. with blocks r, z, h of
``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``; PyTorch's form with blocks
r, z, n and the two biases ``b_x``, ``b_h``).

What makes them fast:

* the input projection of all steps is one matmul, hoisted out of the
  loop (for PyTorch's form, the r and z parts of ``b_h`` go into it too:
  they only ever add to ``b_x``);
* arrays are feature-major, ``(T, 3H, N)`` and ``(T + 1, H, N)``, so one
  gate of one step is a contiguous ``(H, N)`` block;
* the rows of the two sigmoid gates r, z are scaled by 1/2 (exact in
  floating point) so that ``sigma(a) = (1 + tanh(a / 2)) / 2`` needs a
  single ``tanh`` call for both;
* the backward pass computes every factor that does not depend on the
  upstream gradient for all steps before its loop, and the weight
  gradients of all steps in one matmul after it.

Called by the functions of :mod:`helpers.reference.gru` with
``fast=True``, after they validated the inputs. Caches are
``(x, h0, h, params, bufs)`` like the readable ones, with a
:class:`~helpers.fast.workspace.FastCache` last.
"""

from __future__ import annotations

import numpy as np

from helpers.fast.workspace import (FastCache, Workspace, check_workspace,
                                    columns, empty, input_projection)

__all__ = ["gru_forward_fast", "gru_backward_fast",
           "gru_torch_forward_fast", "gru_torch_backward_fast"]


def _half_rz(H, dtype):
    scale = np.ones(3 * H, dtype)
    scale[:2 * H] = 0.5
    return scale


def _forward_result(x, h0, params, bufs):
    """``(h, h_last, cache)`` from the feature-major states
    ``bufs["hs"]`` of shape ``(T + 1, H, N)``."""
    hs = bufs["hs"]
    h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))        # (N, T, H)
    return h, hs[-1].T.copy(), (x, h0, h, params, bufs)


def _backward_start(cache, dh_last, forward):
    """``(x, params, bufs, carry, gates, h_prev)`` for a backward pass of
    either form: the buffers of a fast cache (``forward`` runs again for
    them on a readable cache), the initial gradient carry ``(N, H)``,
    zeros plus ``dh_last``, the three blocks of ``bufs["G"]`` (r, z and
    the candidate, each ``(T, H, N)``) and the states ``h_{t-1}``
    ``(T, H, N)``."""
    x, h0, h, params, bufs = cache
    if not isinstance(bufs, FastCache):
        bufs = forward(x, h0, params)[2][-1]
    bufs.check()
    carry = np.zeros(h0.shape, h.dtype)
    if dh_last is not None:
        carry += dh_last
    H, G = h0.shape[1], bufs["G"]
    gates = G[:, :H], G[:, H:2 * H], G[:, 2 * H:]              # (T, H, N)
    return x, params, bufs, carry, gates, bufs["hs"][:-1]


# ======================================================== Cho et al. form

def gru_forward_fast(x: np.ndarray, h0: np.ndarray, params: dict,
                     workspace: Workspace | None = None):
    """Fast twin of :func:`helpers.reference.gru.gru_forward`.

    Returns ``(h, h_last, cache)`` with ``cache = (x, h0, h, params,
    bufs)``; ``h0`` is already resolved (no ``None``).
    """
    check_workspace(workspace)
    ws = workspace
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    bufs = FastCache.start(ws)
    scale = _half_rz(H, dtype)
    U_rz_s = params["U"][:2 * H] * scale[:2 * H, None]         # (2H, H)
    U_h = params["U"][2 * H:]                                  # (H, H)
    # Input projection of every step in one call, hoisted out of the loop;
    # XW is then overwritten with r, z and h~ step by step.
    XW = empty(ws, "gru.XW", (T, 3 * H, N), dtype)             # (T, 3H, N)
    input_projection(params["W"] * scale[:, None], params["b"] * scale, x,
                     XW, ws, "gru")
    hs = empty(ws, "gru.hs", (T + 1, H, N), dtype)             # (T+1, H, N)
    rh = empty(ws, "gru.rh", (T, H, N), dtype)                 # r * h_prev
    pre = empty(ws, "gru.pre", (2 * H, N), dtype)
    tmp = empty(ws, "gru.tmp", (H, N), dtype)
    hs[0] = h0.T
    for t in range(T):
        rz = XW[t, :2 * H]                                     # (2H, N)
        np.matmul(U_rz_s, hs[t], out=pre)
        rz += pre
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                      # now r, z
        np.multiply(rz[:H], hs[t], out=rh[t])
        h_t = XW[t, 2 * H:]                                    # (H, N)
        np.matmul(U_h, rh[t], out=tmp)
        h_t += tmp
        np.tanh(h_t, out=h_t)                          # candidate h~
        np.subtract(h_t, hs[t], out=tmp)
        tmp *= rz[H:]
        np.add(hs[t], tmp, out=hs[t + 1])      # h + z (h~ - h)
    bufs.update(G=XW, hs=hs, rh=rh)
    return _forward_result(x, h0, params, bufs)


def gru_backward_fast(dh: np.ndarray, cache: tuple,
                      dh_last: np.ndarray | None = None):
    """Fast twin of :func:`helpers.reference.gru.gru_backward`.

    ``cache`` is a fast-path cache, or one from the readable path: then
    the fast forward runs again (without a workspace) for its buffers.
    Returns ``(dx, dh0, grads)``.
    """
    x, params, bufs, carry, (r, z, h_t), h_prev = _backward_start(
        cache, dh_last, gru_forward_fast)
    (N, T, D), H, dtype, ws = x.shape, carry.shape[1], x.dtype, \
        bufs["workspace"]
    rh = bufs["rh"]
    # Factors that do not depend on the upstream gradient, all steps:
    # da_r = d(rh) * C_r, da_z = dh_t * C_z, da_h = dh_t * C_h.
    C = empty(ws, "gru.C", (T, 3 * H, N), dtype)               # (T, 3H, N)
    C_r, C_z, C_h = C[:, :H], C[:, H:2 * H], C[:, 2 * H:]
    np.multiply(r, r, out=C_r)
    np.subtract(r, C_r, out=C_r)
    C_r *= h_prev                             # h_prev r (1 - r)
    np.multiply(z, z, out=C_z)
    np.subtract(z, C_z, out=C_z)
    np.subtract(h_t, h_prev, out=C_h)
    C_z *= C_h                                # (h~ - h_prev) z (1 - z)
    np.multiply(h_t, h_t, out=C_h)
    np.subtract(1.0, C_h, out=C_h)
    C_h *= z                                  # z (1 - h~^2)
    omz = empty(ws, "gru.omz", (T, H, N), dtype)
    np.subtract(1.0, z, out=omz)              # 1 - z
    C_zh = C.reshape(T, 3, H, N)[:, 1:]                        # (T,2,H,N)
    U_rz_T = np.ascontiguousarray(params["U"][:2 * H].T)       # (H, 2H)
    U_h_T = np.ascontiguousarray(params["U"][2 * H:].T)        # (H, H)
    dh_tm = empty(ws, "gru.dh", (T, H, N), dtype)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    carry = np.ascontiguousarray(carry.T)                      # (H, N)
    dht = empty(ws, "gru.dht", (H, N), dtype)
    d_rh = empty(ws, "gru.d_rh", (H, N), dtype)
    tmp = empty(ws, "gru.tmp", (H, N), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry, out=dht)
        C_zh[t] *= dht                                 # da_z, da_h
        np.matmul(U_h_T, C[t, 2 * H:], out=d_rh)       # grad of r * h
        C[t, :H] *= d_rh                               # da_r
        np.matmul(U_rz_T, C[t, :2 * H], out=carry)
        np.multiply(dht, omz[t], out=tmp)
        carry += tmp
        np.multiply(d_rh, r[t], out=tmp)
        carry += tmp                                   # dh_prev
    # Weight gradients of all steps, one matmul each.
    C_flat = empty(ws, "gru.C_flat", (3 * H, T * N), dtype)    # (3H, T*N)
    np.copyto(C_flat.reshape(3 * H, T, N), C.transpose(1, 0, 2))
    # [x | 1 | h_prev | r h_prev] for all steps, (T*N, D+1+2H)
    cols = columns(ws, "gru.cols", [x.transpose(1, 0, 2), None,
                                    h_prev.transpose(0, 2, 1),
                                    rh.transpose(0, 2, 1)], dtype)
    dWb = C_flat @ cols[:, :D + 1]                             # (3H, D+1)
    dU = np.concatenate(
        [C_flat[:2 * H] @ cols[:, D + 1:D + 1 + H],            # U_r, U_z
         C_flat[2 * H:] @ cols[:, D + 1 + H:]])                # U_h
    dx_flat = params["W"].T @ C_flat                           # (D, T*N)
    dx = np.ascontiguousarray(
        dx_flat.reshape(D, T, N).transpose(2, 1, 0))           # (N, T, D)
    grads = {"W": np.ascontiguousarray(dWb[:, :D]), "U": dU,
             "b": dWb[:, D].copy()}
    return dx, carry.T.copy(), grads


# ============================================================ PyTorch form

def gru_torch_forward_fast(x: np.ndarray, h0: np.ndarray, params: dict,
                           workspace: Workspace | None = None):
    """Fast twin of :func:`helpers.reference.gru.gru_torch_forward`;
    returns as :func:`gru_forward_fast`."""
    check_workspace(workspace)
    ws, (N, T, D), H, dtype = workspace, x.shape, h0.shape[1], x.dtype
    bufs = FastCache.start(ws)
    scale = _half_rz(H, dtype)
    U_s = params["U"] * scale[:, None]                         # (3H, H)
    # For r and z the two biases simply add, so both go into the hoisted
    # input projection; only b_hn stays inside the reset product.
    b = params["b_x"].copy()
    b[:2 * H] += params["b_h"][:2 * H]
    b_hn = params["b_h"][2 * H:, None]                         # (H, 1)
    XW = empty(ws, "grut.XW", (T, 3 * H, N), dtype)            # (T, 3H, N)
    input_projection(params["W"] * scale[:, None], b * scale, x, XW, ws,
                     "grut")
    A = empty(ws, "grut.A", (T, 3 * H, N), dtype)    # U h_prev, (T, 3H, N)
    hs = empty(ws, "grut.hs", (T + 1, H, N), dtype)            # (T+1, H, N)
    tmp = empty(ws, "grut.tmp", (H, N), dtype)
    hs[0] = h0.T
    for t in range(T):
        np.matmul(U_s, hs[t], out=A[t])
        rz = XW[t, :2 * H]                                     # (2H, N)
        rz += A[t, :2 * H]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                      # now r, z
        hn = A[t, 2 * H:]
        hn += b_hn                                     # U_n h + b_hn
        n = XW[t, 2 * H:]
        np.multiply(rz[:H], hn, out=tmp)               # reset after U_n
        n += tmp
        np.tanh(n, out=n)
        np.subtract(hs[t], n, out=tmp)
        tmp *= rz[H:]
        np.add(n, tmp, out=hs[t + 1])          # n + z (h_prev - n)
    bufs.update(G=XW, A=A, hs=hs)
    return _forward_result(x, h0, params, bufs)


def gru_torch_backward_fast(dh: np.ndarray, cache: tuple,
                            dh_last: np.ndarray | None = None):
    """Fast twin of :func:`helpers.reference.gru.gru_torch_backward`;
    the cache as in :func:`gru_backward_fast`."""
    x, params, bufs, carry, (r, z, n), h_prev = _backward_start(
        cache, dh_last, gru_torch_forward_fast)
    (N, T, D), H, dtype, ws = x.shape, carry.shape[1], x.dtype, \
        bufs["workspace"]
    hn = bufs["A"][:, 2 * H:]
    # All pre-activation gradients are dh_t times a factor that does not
    # depend on dh_t. C holds the blocks n, r, z, hn so that C[:, :3H]
    # (n, r, z) is the input-side gradient and C[:, H:] (r, z, hn) the
    # recurrent one, both contiguous for the matmuls.
    C = empty(ws, "grut.C", (T, 4 * H, N), dtype)              # (T, 4H, N)
    C_n, C_r = C[:, :H], C[:, H:2 * H]
    C_z, C_hn = C[:, 2 * H:3 * H], C[:, 3 * H:]
    np.multiply(n, n, out=C_n)
    np.subtract(1.0, C_n, out=C_n)
    np.subtract(1.0, z, out=C_hn)
    C_n *= C_hn                               # (1 - z)(1 - n^2)
    np.multiply(r, r, out=C_r)
    np.subtract(r, C_r, out=C_r)
    C_r *= hn
    C_r *= C_n                                # C_n hn r (1 - r)
    np.multiply(z, z, out=C_z)
    np.subtract(z, C_z, out=C_z)
    np.subtract(h_prev, n, out=C_hn)
    C_z *= C_hn                               # (h_prev - n) z (1 - z)
    np.multiply(C_n, r, out=C_hn)             # C_n r
    C4 = C.reshape(T, 4, H, N)
    U_T = np.ascontiguousarray(params["U"].T)                  # (H, 3H)
    dh_tm = empty(ws, "grut.dh", (T, H, N), dtype)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    carry = np.ascontiguousarray(carry.T)                      # (H, N)
    dht = empty(ws, "grut.dht", (H, N), dtype)
    tmp = empty(ws, "grut.tmp", (H, N), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry, out=dht)
        C4[t] *= dht                           # all four blocks at once
        np.matmul(U_T, C[t, H:], out=carry)    # r, z, hn blocks
        np.multiply(dht, z[t], out=tmp)
        carry += tmp                           # dh_prev
    C_flat = empty(ws, "grut.C_flat", (4 * H, T * N), dtype)   # (4H, T*N)
    np.copyto(C_flat.reshape(4 * H, T, N), C.transpose(1, 0, 2))
    # [x | 1 | h_prev | 1] for all steps, (T*N, D+H+2)
    cols = columns(ws, "grut.cols", [x.transpose(1, 0, 2), None,
                                     h_prev.transpose(0, 2, 1), None],
                   dtype)
    da_x = C_flat[:3 * H]                     # blocks n, r, z
    da_h = C_flat[H:]                         # blocks r, z, hn
    order = np.r_[H:3 * H, 0:H]               # n, r, z -> r, z, n
    dWb = (da_x @ cols[:, :D + 1])[order]                      # (3H, D+1)
    dUb = da_h @ cols[:, D + 1:]                               # (3H, H+1)
    dx_flat = params["W"][np.r_[2 * H:3 * H, 0:2 * H]].T @ da_x  # (D, T*N)
    dx = np.ascontiguousarray(
        dx_flat.reshape(D, T, N).transpose(2, 1, 0))           # (N, T, D)
    grads = {"W": np.ascontiguousarray(dWb[:, :D]),
             "U": np.ascontiguousarray(dUb[:, :H]),
             "b_x": dWb[:, D].copy(), "b_h": dUb[:, H].copy()}
    return dx, carry.T.copy(), grads
