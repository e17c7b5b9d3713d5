"""The LSTM cell in numpy: step and sequence, forward and backward.

Dimension letters: N samples, T time steps, D input features, H hidden
units. The cell (lesson 6, "LSTM"; Hochreiter & Schmidhuber 1997, with
the forget gate of Gers et al. 2000, as in ``torch.nn.LSTM``)::

    i_t = sigma(W_i x_t + U_i h_{t-1} + b_i)      input gate
    f_t = sigma(W_f x_t + U_f h_{t-1} + b_f)      forget gate
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)       candidate (C~_t)
    o_t = sigma(W_o x_t + U_o h_{t-1} + b_o)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

Parameters
----------
The four gates share one fused dict
``params = {"W": (4H, D), "U": (4H, H), "b": (4H,)}`` whose row blocks
are stacked in PyTorch's order **i, f, g, o**::

    W[0:H]   = W_i    U[0:H]   = U_i    b[0:H]   = b_i
    W[H:2H]  = W_f    U[H:2H]  = U_f    b[H:2H]  = b_f
    W[2H:3H] = W_g    U[2H:3H] = U_g    b[2H:3H] = b_g
    W[3H:4H] = W_o    U[3H:4H] = U_o    b[3H:4H] = b_o

so ``W`` is ``torch.nn.LSTM.weight_ih_l0``, ``U`` is ``weight_hh_l0`` and
``b`` is ``bias_ih_l0 + bias_hh_l0`` (see :mod:`helpers.support.torch_weights`).
One matmul computes all four pre-activations: ``a = x W^T + h U^T + b``.

In the syllabus symbols, ``f_t = sigma(W_f x_t + U_f h_{t-1} + b_f)`` is
``sigmoid(x @ W[H:2H].T + h_prev @ U[H:2H].T + b[H:2H])``;
:func:`gate_blocks` returns the per-gate views by name.

Two paths compute the same numbers: the readable per-step loop
(``fast=False``, default) that calls :func:`lstm_step_forward`, and a fast
path (``fast=True``) that hoists the input projection of all steps into
one matmul, keeps the gates in preallocated feature-major buffers
(optionally from a :class:`helpers.reference.rnn.Workspace`), activates all four
gates with one ``tanh`` call per step, and computes the weight gradients
of all steps in one matmul after the backward loop. With a workspace, a
large enough batch is also split across the cores, one slice per thread
(:mod:`helpers.fast.threads`); the slices' weight gradients are summed.

Caches
------
Step cache: ``(x, h_prev, c_prev, i, f, g, o, c_next, params)``.
Sequence cache: ``(x, h0, c0, h, c, params, steps)`` where ``h`` and
``c`` are all states ``(N, T, H)`` and ``steps`` is the list of step
caches (readable path) or a dict of buffers (fast path; after a batch
split, ``{"slices": [...], "parts": [...]}`` with one dict per slice).
"""

from __future__ import annotations

import numpy as np

from helpers.fast.threads import batch_slices, blas_threads, run_slices
from helpers.reference.rnn import (Workspace, _check_workspace, _columns,
                                   _empty, _input_projection)
from helpers.reference.validate import (check_array, check_dtype, check_keys,
                              check_params, check_sequence, check_shape,
                              check_state)

__all__ = [
    "GATES", "sigmoid", "init_lstm_params", "gate_blocks",
    "lstm_step_forward", "lstm_step_backward",
    "lstm_forward", "lstm_backward",
]

Params = dict[str, np.ndarray]

#: Order of the gate blocks in ``W``, ``U`` and ``b`` (PyTorch's order).
GATES = ("i", "f", "g", "o")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-a))``, element-wise."""
    with np.errstate(over="ignore"):     # exp(-a) = inf gives 0, correct
        return 1.0 / (1.0 + np.exp(-a))


def init_lstm_params(D: int, H: int, rng: np.random.Generator,
                     dtype=np.float64) -> Params:
    """Random parameters like ``torch.nn.LSTM``: uniform in ±1/sqrt(H).

    Returns ``{"W": (4H, D), "U": (4H, H), "b": (4H,)}``.
    """
    k = 1.0 / np.sqrt(H)
    return {
        "W": rng.uniform(-k, k, (4 * H, D)).astype(dtype),
        "U": rng.uniform(-k, k, (4 * H, H)).astype(dtype),
        "b": rng.uniform(-k, k, (4 * H,)).astype(dtype),
    }


def gate_blocks(params: Params) -> dict[str, Params]:
    """Split fused parameters into the syllabus symbols, per gate.

    Returns ``{"i": {"W": W_i, "U": U_i, "b": b_i}, "f": {...}, ...}``
    (views, shapes ``(H, D)``, ``(H, H)``, ``(H,)``).
    """
    H = params["U"].shape[1]
    return {gate: {k: params[k][j * H:(j + 1) * H] for k in ("W", "U", "b")}
            for j, gate in enumerate(GATES)}


def _check_params(params) -> tuple[int, int, np.dtype]:
    """Validate fused LSTM parameters; return ``(H, D, dtype)``."""
    check_keys(params, ("W", "U", "b"))
    H = check_array("params['U']", params["U"], 2, "4H, H").shape[1]
    D = check_array("params['W']", params["W"], 2, "4H, D").shape[1]
    dtype = check_params(params, {"W": ((4 * H, D), "4H, D"),
                                  "U": ((4 * H, H), "4H, H"),
                                  "b": ((4 * H,), "4H")})
    return H, D, dtype


# ---------------------------------------------------------------- one step

def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray,
                      c_prev: np.ndarray, params: Params
                      ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One LSTM step (equations in the module docstring).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c_prev : ndarray, shape (N, H)
    params : dict
        ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``, gate blocks i, f, g, o.

    Returns
    -------
    h_next : ndarray, shape (N, H)
    c_next : ndarray, shape (N, H)
    cache : tuple
        ``(x, h_prev, c_prev, i, f, g, o, c_next, params)``.
    """
    H, D, dtype = _check_params(params)
    check_array("x", x, 2, "N, D")
    N = x.shape[0]
    check_shape("x", x, (N, D), "N, D")
    check_dtype("x", x, dtype)
    for name, state in (("h_prev", h_prev), ("c_prev", c_prev)):
        check_array(name, state, 2, "N, H")        # None is an error here
        check_state(name, state, N, H, dtype)

    a = x @ params["W"].T + h_prev @ params["U"].T + params["b"]  # (N, 4H)
    i = sigmoid(a[:, 0:H])                                     # (N, H)
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:4 * H])
    c_next = f * c_prev + i * g          # the additive conveyor belt
    h_next = o * np.tanh(c_next)
    return h_next, c_next, (x, h_prev, c_prev, i, f, g, o, c_next, params)


def lstm_step_backward(dh_next: np.ndarray, dc_next: np.ndarray,
                       cache: tuple
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                  Params]:
    """Backward pass of :func:`lstm_step_forward`.

    ``dc = dc_next + dh_next * o * (1 - tanh(c_next)^2)`` collects both
    paths into ``c_next``; then ``dc_prev = dc * f`` (the path along the
    belt), ``di = dc * g``, ``df = dc * c_prev``, ``dg = dc * i``,
    ``do = dh_next * tanh(c_next)``, and each gate's pre-activation
    gradient multiplies by ``sigma' = s (1 - s)`` or ``tanh' = 1 - g^2``.

    Parameters
    ----------
    dh_next : ndarray, shape (N, H)
    dc_next : ndarray, shape (N, H)
    cache : tuple
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    dc_prev : ndarray, shape (N, H)
    grads : dict
        ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``.
    """
    x, h_prev, c_prev, i, f, g, o, c_next, params = cache
    for name, d in (("dh_next", dh_next), ("dc_next", dc_next)):
        check_array(name, d, 2, "N, H")
        check_shape(name, d, c_next.shape, "N, H")
        check_dtype(name, d, c_next.dtype, "the forward pass")

    tanh_c = np.tanh(c_next)
    do = dh_next * tanh_c
    dc = dc_next + dh_next * o * (1.0 - tanh_c * tanh_c)
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    dc_prev = dc * f
    da = np.concatenate([di * i * (1.0 - i),                  # (N, 4H)
                         df * f * (1.0 - f),
                         dg * (1.0 - g * g),
                         do * o * (1.0 - o)], axis=1)
    dx = da @ params["W"]                                      # (N, D)
    dh_prev = da @ params["U"]                                 # (N, H)
    grads = {"W": da.T @ x,                                    # (4H, D)
             "U": da.T @ h_prev,                               # (4H, H)
             "b": da.sum(axis=0)}                              # (4H,)
    return dx, dh_prev, dc_prev, grads


# ---------------------------------------------------------- whole sequence

def lstm_forward(x: np.ndarray, h0: np.ndarray | None,
                 c0: np.ndarray | None, params: Params, fast: bool = False,
                 workspace: Workspace | None = None
                 ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray],
                            tuple]:
    """Run the LSTM over a whole sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0, c0 : ndarray, shape (N, H), or None
        Initial hidden and cell state; ``None`` means zeros.
    params : dict
        ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``, gate blocks i, f, g, o.
    fast : bool
        ``False``: the readable per-step loop; ``True``: hoisted input
        projection and preallocated buffers (same numbers up to
        rounding).
    workspace : Workspace, optional
        Buffers to reuse on the fast path (see
        :class:`helpers.reference.rnn.Workspace`).

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states ``h_1 .. h_T``.
    (h_last, c_last) : ndarrays, shape (N, H)
        Final hidden and cell state (like ``torch.nn.LSTM``'s
        ``(h_n, c_n)``).
    cache : tuple
        ``(x, h0, c0, h, c, params, steps)``, see the module docstring.
    """
    H, D, dtype = _check_params(params)
    N, T = check_sequence(x, D, dtype)
    h0 = check_state("h0", h0, N, H, dtype)
    c0 = check_state("c0", c0, N, H, dtype)
    _check_workspace(fast, workspace)
    if fast:
        slices = _slices(N, H, workspace)
        if len(slices) == 1:
            return _lstm_forward_fast(x, h0, c0, params, workspace)
        return _lstm_forward_split(x, h0, c0, params, workspace, slices)

    h = np.empty((N, T, H), dtype)
    c = np.empty((N, T, H), dtype)
    steps = []
    h_prev, c_prev = h0, c0
    for t in range(T):
        h_prev, c_prev, step_cache = lstm_step_forward(
            x[:, t], h_prev, c_prev, params)
        h[:, t], c[:, t] = h_prev, c_prev
        steps.append(step_cache)
    return h, (h_prev, c_prev), (x, h0, c0, h, c, params, steps)


# Fast path. Two layout choices make every slice used inside the time
# loop one contiguous block of memory:
# * arrays are feature-major, (T, 4H, N) and (T + 1, H, N), so a gate of
#   one step is a contiguous (H, N) block and the recurrent product is
#   U @ h_{t-1} with h_{t-1} of shape (H, N);
# * the gate blocks are reordered to o, i, f, g, so the three sigmoid
#   gates are adjacent, and their rows are scaled by 1/2: then
#   sigma(a) = (1 + tanh(a / 2)) / 2 and one tanh call activates all
#   four gates. Scaling by a power of two is exact in floating point.
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


def _lstm_forward_fast(x, h0, c0, params, ws, out=None):
    """The fast forward; ``out``, if given, is ``(h, c, h_last, c_last)``
    to fill in place (the batch split passes slices of shared arrays)."""
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    generation = ws.begin_forward() if ws is not None else None
    W, U, b, scale = _fused(params, H)
    U_s = U * scale[:, None]                                   # (4H, H)
    # Input projection of every step in one call, hoisted out of the loop.
    G = _empty(ws, "lstm.G", (T, 4 * H, N), dtype)             # (T, 4H, N)
    _input_projection(W * scale[:, None], b * scale, x, G, ws, "lstm")
    hs = _empty(ws, "lstm.hs", (T + 1, H, N), dtype)           # (T+1, H, N)
    cs = _empty(ws, "lstm.cs", (T + 1, H, N), dtype)
    tanh_c = _empty(ws, "lstm.tanh_c", (T, H, N), dtype)       # (T, H, N)
    pre = _empty(ws, "lstm.pre", (4 * H, N), dtype)
    ig = _empty(ws, "lstm.ig", (H, N), dtype)
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
    bufs = {"G": G, "hs": hs, "cs": cs, "tanh_c": tanh_c,
            "workspace": ws, "generation": generation}
    return h, (h_last, c_last), (x, h0, c0, h, c, params, bufs)


def lstm_backward(dh: np.ndarray, cache: tuple,
                  dh_last: np.ndarray | None = None,
                  dc_last: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Params]:
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : tuple
        From :func:`lstm_forward` (either path).
    dh_last, dc_last : ndarray, shape (N, H), optional
        Extra gradient on the final ``h_T`` and ``c_T`` (e.g. from an
        encoder whose final state feeds a decoder).

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0, dc0 : ndarray, shape (N, H)
    grads : dict
        ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``, summed over time.
    """
    x, h0, c0, h, c, params, steps = cache
    N, T, H = h.shape
    check_array("dh", dh, 3, "N, T, H")
    check_shape("dh", dh, (N, T, H), "N, T, H")
    check_dtype("dh", dh, h.dtype, "the forward pass")
    carry_h = np.zeros((N, H), h.dtype)
    carry_c = np.zeros((N, H), h.dtype)
    for name, d, carry in (("dh_last", dh_last, carry_h),
                           ("dc_last", dc_last, carry_c)):
        if d is not None:
            check_array(name, d, 2, "N, H")
            check_shape(name, d, (N, H), "N, H")
            check_dtype(name, d, h.dtype, "the forward pass")
            carry += d
    if isinstance(steps, dict) and "slices" in steps:
        return _lstm_backward_split(dh, x, params, steps, carry_h, carry_c)
    if isinstance(steps, dict):
        return _lstm_backward_fast(dh, x, params, steps, carry_h, carry_c)

    dx = np.empty_like(x)
    grads = {k: np.zeros_like(params[k]) for k in ("W", "U", "b")}
    for t in reversed(range(T)):
        dx[:, t], carry_h, carry_c, step_grads = lstm_step_backward(
            dh[:, t] + carry_h, carry_c, steps[t])
        for k in grads:                  # shared weights: sum over steps
            grads[k] += step_grads[k]
    return dx, carry_h, carry_c, grads


def _lstm_backward_fast(dh, x, params, bufs, carry_h, carry_c, out=None):
    """The fast backward; ``out``, if given, is ``(dx, dh0, dc0)`` to
    fill in place."""
    N, T, D = x.shape
    H = carry_h.shape[1]
    dtype = x.dtype
    ws = bufs["workspace"]
    if ws is not None:
        ws.check(bufs["generation"])
    W, U, _, _ = _fused(params, H)
    U_T = np.ascontiguousarray(U.T)                            # (H, 4H)
    G, hs, cs, tanh_c = bufs["G"], bufs["hs"], bufs["cs"], bufs["tanh_c"]
    o, i = G[:, :H], G[:, H:2 * H]                             # (T, H, N)
    f, g = G[:, 2 * H:3 * H], G[:, 3 * H:]
    # Everything that does not depend on the upstream gradient, for all
    # steps at once: each gate's pre-activation gradient is dh_t or dc_t
    # times one factor of P (order o, i, f, g), and dc_t gets dh_t * Q.
    # P is then turned into the gradient dA in place, step by step.
    dA = _empty(ws, "lstm.dA", (T, 4 * H, N), dtype)           # (T, 4H, N)
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
    Q = _empty(ws, "lstm.Q", (T, H, N), dtype)                 # (T, H, N)
    np.multiply(tanh_c, tanh_c, out=Q)
    np.subtract(1.0, Q, out=Q)
    Q *= o                                     # dc_t += dh_t * Q
    dA4 = dA.reshape(T, 4, H, N)
    dh_tm = _empty(ws, "lstm.dh", (T, H, N), dtype)            # (T, H, N)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    carry_h = np.ascontiguousarray(carry_h.T)                  # (H, N)
    carry_c = np.ascontiguousarray(carry_c.T)                  # (H, N)
    dht = _empty(ws, "lstm.dht", (H, N), dtype)
    dc = _empty(ws, "lstm.dc", (H, N), dtype)
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
    dA_flat = _empty(ws, "lstm.dA_flat", (4 * H, T * N), dtype)
    np.copyto(dA_flat.reshape(4 * H, T, N), dA.transpose(1, 0, 2))
    xh1 = _columns(ws, "lstm.xh1", [x.transpose(1, 0, 2),
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


# Batch split (see helpers.fast.threads): with a Workspace of more than
# one thread, the fast path runs on slices of the batch in parallel, each
# slice with its own part of the workspace, and adds up the weight
# gradients of the slices.

def _slices(N: int, H: int, ws: Workspace | None) -> list[slice]:
    if ws is None or ws.threads == 1:
        return [slice(0, N)]
    if ws.threads is None:         # automatic: only where a split gains
        return batch_slices(N, blas_threads(), 4 * H * H)
    return batch_slices(N, ws.threads)


def _lstm_forward_split(x, h0, c0, params, ws, slices):
    generation = ws.begin_forward()
    N, T, _ = x.shape
    H = h0.shape[1]
    h, c = (np.empty((N, T, H), x.dtype) for _ in range(2))    # (N, T, H)
    h_last, c_last = (np.empty((N, H), x.dtype) for _ in range(2))
    parts = run_slices(lambda k, s: _lstm_forward_fast(
        x[s], h0[s], c0[s], params, ws.part(k),
        (h[s], c[s], h_last[s], c_last[s])), slices)
    bufs = {"slices": slices, "parts": [p[2][6] for p in parts],
            "workspace": ws, "generation": generation}
    return h, (h_last, c_last), (x, h0, c0, h, c, params, bufs)


def _lstm_backward_split(dh, x, params, bufs, carry_h, carry_c):
    bufs["workspace"].check(bufs["generation"])
    slices = bufs["slices"]
    dx = np.empty_like(x)                                      # (N, T, D)
    dh0, dc0 = np.empty_like(carry_h), np.empty_like(carry_c)  # (N, H)
    parts = run_slices(lambda k, s: _lstm_backward_fast(
        dh[s], x[s], params, bufs["parts"][k], carry_h[s], carry_c[s],
        (dx[s], dh0[s], dc0[s])), slices)
    grads = parts[0][3]
    for p in parts[1:]:                  # shared weights: sum over slices
        for k in grads:
            grads[k] += p[3][k]
    return dx, dh0, dc0, grads
