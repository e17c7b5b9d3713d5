"""The GRU in numpy, in both conventions: Cho et al. and PyTorch.

Dimension letters: N samples, T time steps, D input features, H hidden
units. Lesson 7 ("GRU") teaches both forms side by side.

Cho et al. (2014), the lesson's main form (functions ``gru_*``)::

    r_t  = sigma(W_r x_t + U_r h_{t-1} + b_r)           reset gate
    z_t  = sigma(W_z x_t + U_z h_{t-1} + b_z)           update gate
    h~_t = tanh(W_h x_t + U_h (r_t * h_{t-1}) + b_h)    candidate
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

with ``params = {"W": (3H, D), "U": (3H, H), "b": (3H,)}``, row blocks
r, z, h (``W[0:H] = W_r``, ``W[H:2H] = W_z``, ``W[2H:3H] = W_h``).

PyTorch's ``torch.nn.GRU`` (functions ``gru_torch_*``)::

    r_t = sigma(W_r x_t + b_xr + U_r h_{t-1} + b_hr)
    z_t = sigma(W_z x_t + b_xz + U_z h_{t-1} + b_hz)
    n_t = tanh(W_n x_t + b_xn + r_t * (U_n h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

with ``params = {"W": (3H, D), "U": (3H, H), "b_x": (3H,), "b_h": (3H,)}``,
row blocks r, z, n; ``W`` is ``weight_ih_l0``, ``U`` is ``weight_hh_l0``,
``b_x`` is ``bias_ih_l0`` and ``b_h`` is ``bias_hh_l0`` (exactly, no sums).

The exact difference, and nothing else:

1. **Where the reset gate acts.** Cho multiplies the state *before* the
   matrix, ``U_h (r * h)``; PyTorch multiplies *after* it,
   ``r * (U_n h + b_hn)``. So PyTorch needs the recurrent bias ``b_hn``
   inside the product as a separate vector (for r and z the two biases
   only add up), and it can compute ``U h`` for all three blocks in one
   matmul, while Cho needs ``r`` before the ``U_h`` product.
2. **Which state the update gate keeps.** Cho: ``z`` weights the new
   candidate, ``h = (1 - z) h_prev + z h~``. PyTorch: ``z`` weights the
   old state, ``h = (1 - z) n + z h_prev``. Swapping ``z`` for ``1 - z``
   (negating ``W_z, U_z`` and the z biases) converts one to the other,
   but difference 1 cannot be converted: the two cells are different
   functions, so only the PyTorch form has a parity test with torch.

Each form has a readable per-step path (``fast=False``, default) and a
fast path (``fast=True``: input projection of all steps hoisted into one
matmul, preallocated feature-major buffers, weight gradients of all steps
in one matmul after the backward loop), tested equal.

Caches
------
Cho step cache: ``(x, h_prev, r, z, h_tilde, params)``.
PyTorch step cache: ``(x, h_prev, r, z, n, hn, params)`` with
``hn = U_n h_prev + b_hn``.
Sequence caches: ``(x, h0, h, params, steps)``, ``steps`` being the list
of step caches (readable path) or a dict of buffers (fast path).
"""

from __future__ import annotations

import numpy as np

from helpers.reference.lstm import sigmoid
from helpers.reference.rnn import (Workspace, _check_workspace, _columns,
                                   _empty, _input_projection)
from helpers.reference.validate import (check_array, check_dtype, check_keys,
                              check_params, check_sequence, check_shape,
                              check_state)

__all__ = [
    "init_gru_params", "init_gru_torch_params",
    "gru_step_forward", "gru_step_backward",
    "gru_forward", "gru_backward",
    "gru_torch_step_forward", "gru_torch_step_backward",
    "gru_torch_forward", "gru_torch_backward",
]

Params = dict[str, np.ndarray]


def init_gru_params(D: int, H: int, rng: np.random.Generator,
                    dtype=np.float64) -> Params:
    """Random Cho-form parameters, uniform in ±1/sqrt(H).

    Returns ``{"W": (3H, D), "U": (3H, H), "b": (3H,)}``, blocks r, z, h.
    """
    k = 1.0 / np.sqrt(H)
    return {"W": rng.uniform(-k, k, (3 * H, D)).astype(dtype),
            "U": rng.uniform(-k, k, (3 * H, H)).astype(dtype),
            "b": rng.uniform(-k, k, (3 * H,)).astype(dtype)}


def init_gru_torch_params(D: int, H: int, rng: np.random.Generator,
                          dtype=np.float64) -> Params:
    """Random PyTorch-form parameters like ``torch.nn.GRU``.

    Returns ``{"W": (3H, D), "U": (3H, H), "b_x": (3H,), "b_h": (3H,)}``,
    blocks r, z, n.
    """
    k = 1.0 / np.sqrt(H)
    return {"W": rng.uniform(-k, k, (3 * H, D)).astype(dtype),
            "U": rng.uniform(-k, k, (3 * H, H)).astype(dtype),
            "b_x": rng.uniform(-k, k, (3 * H,)).astype(dtype),
            "b_h": rng.uniform(-k, k, (3 * H,)).astype(dtype)}


# ------------------------------------------------------------ validation

def _check_params(params, torch_form: bool) -> tuple[int, int, np.dtype]:
    biases = ("b_x", "b_h") if torch_form else ("b",)
    check_keys(params, ("W", "U") + biases)
    H = check_array("params['U']", params["U"], 2, "3H, H").shape[1]
    D = check_array("params['W']", params["W"], 2, "3H, D").shape[1]
    expected = {"W": ((3 * H, D), "3H, D"), "U": ((3 * H, H), "3H, H")}
    expected.update({k: ((3 * H,), "3H") for k in biases})
    return H, D, check_params(params, expected)


def _check_step(x, h_prev, params, torch_form):
    H, D, dtype = _check_params(params, torch_form)
    check_array("x", x, 2, "N, D")
    N = x.shape[0]
    check_shape("x", x, (N, D), "N, D")
    check_dtype("x", x, dtype)
    check_array("h_prev", h_prev, 2, "N, H")
    check_shape("h_prev", h_prev, (N, H), "N, H")
    check_dtype("h_prev", h_prev, dtype)
    return H


def _check_sequence(x, h0, params, torch_form):
    H, D, dtype = _check_params(params, torch_form)
    N, _ = check_sequence(x, D, dtype)
    return check_state("h0", h0, N, H, dtype)


def _check_upstream(name, d, shape, letters, dtype):
    check_array(name, d, len(shape), letters)
    check_shape(name, d, shape, letters)
    check_dtype(name, d, dtype, "the forward pass")


# ======================================================== Cho et al. form

def gru_step_forward(x: np.ndarray, h_prev: np.ndarray, params: Params
                     ) -> tuple[np.ndarray, tuple]:
    """One GRU step, Cho et al. form (equations in the module docstring).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    params : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``, blocks r, z, h.

    Returns
    -------
    h_next : ndarray, shape (N, H)
    cache : tuple
        ``(x, h_prev, r, z, h_tilde, params)``.
    """
    H = _check_step(x, h_prev, params, torch_form=False)
    W, U, b = params["W"], params["U"], params["b"]
    a_x = x @ W.T + b                                          # (N, 3H)
    r = sigmoid(a_x[:, :H] + h_prev @ U[:H].T)                 # (N, H)
    z = sigmoid(a_x[:, H:2 * H] + h_prev @ U[H:2 * H].T)
    h_tilde = np.tanh(a_x[:, 2 * H:] + (r * h_prev) @ U[2 * H:].T)
    h_next = (1.0 - z) * h_prev + z * h_tilde
    return h_next, (x, h_prev, r, z, h_tilde, params)


def gru_step_backward(dh_next: np.ndarray, cache: tuple
                      ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backward pass of :func:`gru_step_forward`.

    ``dh~ = dh_next z``, ``dz = dh_next (h~ - h_prev)``; through the
    candidate, ``d(r h_prev) = da_h U_h`` feeds both ``dr`` and
    ``dh_prev``; ``dh_prev`` also collects ``dh_next (1 - z)`` and the
    products with ``U_r``, ``U_z``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``.
    """
    x, h_prev, r, z, h_tilde, params = cache
    _check_upstream("dh_next", dh_next, h_prev.shape, "N, H", h_prev.dtype)
    H = h_prev.shape[1]
    U = params["U"]
    da_h = dh_next * z * (1.0 - h_tilde * h_tilde)     # candidate pre-act.
    da_z = dh_next * (h_tilde - h_prev) * z * (1.0 - z)
    d_rh = da_h @ U[2 * H:]                            # grad of r * h_prev
    da_r = d_rh * h_prev * r * (1.0 - r)
    da = np.concatenate([da_r, da_z, da_h], axis=1)            # (N, 3H)
    dx = da @ params["W"]                                      # (N, D)
    dh_prev = (dh_next * (1.0 - z) + d_rh * r
               + da[:, :2 * H] @ U[:2 * H])                    # (N, H)
    dU = np.concatenate([da[:, :2 * H].T @ h_prev,             # (2H, H)
                         da_h.T @ (r * h_prev)], axis=0)       # (3H, H)
    grads = {"W": da.T @ x, "U": dU, "b": da.sum(axis=0)}
    return dx, dh_prev, grads


def gru_forward(x: np.ndarray, h0: np.ndarray | None, params: Params,
                fast: bool = False, workspace: Workspace | None = None
                ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Run the Cho-form GRU over a sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H), or None (zeros)
    params : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``, blocks r, z, h.
    fast : bool
        Readable loop (``False``) or fast path (``True``).
    workspace : Workspace, optional
        Buffers to reuse on the fast path.

    Returns
    -------
    h : ndarray, shape (N, T, H)
    h_last : ndarray, shape (N, H)
    cache : tuple
        ``(x, h0, h, params, steps)``.
    """
    h0 = _check_sequence(x, h0, params, torch_form=False)
    _check_workspace(fast, workspace)
    if fast:
        return _gru_forward_fast(x, h0, params, workspace)
    return _steps_forward(gru_step_forward, x, h0, params)


def gru_backward(dh: np.ndarray, cache: tuple,
                 dh_last: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, Params]:
    """BPTT for :func:`gru_forward` (either path).

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : tuple
        From :func:`gru_forward`.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on ``h_T``.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``, summed over time.
    """
    x, h0, h, params, steps = cache
    carry = _start_backward(dh, dh_last, h)
    if isinstance(steps, dict):
        return _gru_backward_fast(dh, x, params, steps, carry)
    return _steps_backward(gru_step_backward, dh, x, params, steps, carry)


def _steps_forward(step_forward, x, h0, params):
    """The readable path of either form: one step function per step."""
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), x.dtype)
    steps = []
    h_prev = h0
    for t in range(T):
        h_prev, step_cache = step_forward(x[:, t], h_prev, params)
        h[:, t] = h_prev
        steps.append(step_cache)
    return h, h_prev, (x, h0, h, params, steps)


def _steps_backward(step_backward, dh, x, params, steps, carry):
    """BPTT on the readable path: step backward from ``T`` down to 1."""
    dx = np.empty_like(x)
    grads = None
    for t in reversed(range(x.shape[1])):
        dx[:, t], carry, step_grads = step_backward(
            dh[:, t] + carry, steps[t])
        if grads is None:
            grads = step_grads
        else:
            for k in grads:              # shared weights: sum over steps
                grads[k] += step_grads[k]
    return dx, carry, grads


def _start_backward(dh, dh_last, h):
    """Validate upstream gradients; return the initial carry (N, H)."""
    N, T, H = h.shape
    _check_upstream("dh", dh, (N, T, H), "N, T, H", h.dtype)
    carry = np.zeros((N, H), h.dtype)
    if dh_last is not None:
        _check_upstream("dh_last", dh_last, (N, H), "N, H", h.dtype)
        carry += dh_last
    return carry


# Fast paths. Arrays are feature-major, (T, 3H, N) and (T + 1, H, N), so
# one gate of one step is a contiguous (H, N) block. The rows of the two
# sigmoid gates r, z are scaled by 1/2 (exact in floating point) so that
# sigma(a) = (1 + tanh(a / 2)) / 2 needs a single tanh call.

def _half_rz(H, dtype):
    scale = np.ones(3 * H, dtype)
    scale[:2 * H] = 0.5
    return scale


def _gru_forward_fast(x, h0, params, ws):
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    generation = ws.begin_forward() if ws is not None else None
    scale = _half_rz(H, dtype)
    U_rz_s = params["U"][:2 * H] * scale[:2 * H, None]         # (2H, H)
    U_h = params["U"][2 * H:]                                  # (H, H)
    # Input projection of every step in one call, hoisted out of the loop;
    # XW is then overwritten with r, z and h~ step by step.
    XW = _empty(ws, "gru.XW", (T, 3 * H, N), dtype)            # (T, 3H, N)
    _input_projection(params["W"] * scale[:, None], params["b"] * scale, x,
                      XW, ws, "gru")
    hs = _empty(ws, "gru.hs", (T + 1, H, N), dtype)            # (T+1, H, N)
    rh = _empty(ws, "gru.rh", (T, H, N), dtype)                # r * h_prev
    pre = _empty(ws, "gru.pre", (2 * H, N), dtype)
    tmp = _empty(ws, "gru.tmp", (H, N), dtype)
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
    h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))        # (N, T, H)
    bufs = {"G": XW, "hs": hs, "rh": rh, "workspace": ws,
            "generation": generation}
    return h, hs[T].T.copy(), (x, h0, h, params, bufs)


def _gru_backward_fast(dh, x, params, bufs, carry):
    N, T, D = x.shape
    H = carry.shape[1]
    dtype = x.dtype
    ws = bufs["workspace"]
    if ws is not None:
        ws.check(bufs["generation"])
    G, hs, rh = bufs["G"], bufs["hs"], bufs["rh"]
    r, z, h_t = G[:, :H], G[:, H:2 * H], G[:, 2 * H:]          # (T, H, N)
    h_prev = hs[:-1]
    # Factors that do not depend on the upstream gradient, all steps:
    # da_r = d(rh) * C_r, da_z = dh_t * C_z, da_h = dh_t * C_h.
    C = _empty(ws, "gru.C", (T, 3 * H, N), dtype)              # (T, 3H, N)
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
    omz = _empty(ws, "gru.omz", (T, H, N), dtype)
    np.subtract(1.0, z, out=omz)              # 1 - z
    C_zh = C.reshape(T, 3, H, N)[:, 1:]                        # (T,2,H,N)
    U_rz_T = np.ascontiguousarray(params["U"][:2 * H].T)       # (H, 2H)
    U_h_T = np.ascontiguousarray(params["U"][2 * H:].T)        # (H, H)
    dh_tm = _empty(ws, "gru.dh", (T, H, N), dtype)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    carry = np.ascontiguousarray(carry.T)                      # (H, N)
    dht = _empty(ws, "gru.dht", (H, N), dtype)
    d_rh = _empty(ws, "gru.d_rh", (H, N), dtype)
    tmp = _empty(ws, "gru.tmp", (H, N), dtype)
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
    C_flat = _empty(ws, "gru.C_flat", (3 * H, T * N), dtype)   # (3H, T*N)
    np.copyto(C_flat.reshape(3 * H, T, N), C.transpose(1, 0, 2))
    # [x | 1 | h_prev | r h_prev] for all steps, (T*N, D+1+2H)
    cols = _columns(ws, "gru.cols", [x.transpose(1, 0, 2), None,
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

def gru_torch_step_forward(x: np.ndarray, h_prev: np.ndarray,
                           params: Params) -> tuple[np.ndarray, tuple]:
    """One GRU step, PyTorch form (equations in the module docstring).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    params : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``, ``b_h (3H,)``,
        blocks r, z, n.

    Returns
    -------
    h_next : ndarray, shape (N, H)
    cache : tuple
        ``(x, h_prev, r, z, n, hn, params)``, ``hn = U_n h_prev + b_hn``.
    """
    H = _check_step(x, h_prev, params, torch_form=True)
    a_x = x @ params["W"].T + params["b_x"]                    # (N, 3H)
    a_h = h_prev @ params["U"].T + params["b_h"]               # (N, 3H)
    r = sigmoid(a_x[:, :H] + a_h[:, :H])
    z = sigmoid(a_x[:, H:2 * H] + a_h[:, H:2 * H])
    hn = a_h[:, 2 * H:]                      # U_n h_prev + b_hn, (N, H)
    n = np.tanh(a_x[:, 2 * H:] + r * hn)     # reset gate after U_n
    h_next = (1.0 - z) * n + z * h_prev      # z keeps the old state
    return h_next, (x, h_prev, r, z, n, hn, params)


def gru_torch_step_backward(dh_next: np.ndarray, cache: tuple
                            ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backward pass of :func:`gru_torch_step_forward`.

    ``da_n = dh_next (1 - z)(1 - n^2)``; the reset gate gets
    ``da_r = da_n hn r (1 - r)``, the update gate
    ``da_z = dh_next (h_prev - n) z (1 - z)``; the recurrent
    pre-activation of block n is ``da_n r``, which is also ``db_hn``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``, ``b_h (3H,)``.
    """
    x, h_prev, r, z, n, hn, params = cache
    _check_upstream("dh_next", dh_next, h_prev.shape, "N, H", h_prev.dtype)
    da_n = dh_next * (1.0 - z) * (1.0 - n * n)
    da_r = da_n * hn * r * (1.0 - r)
    da_z = dh_next * (h_prev - n) * z * (1.0 - z)
    da_x = np.concatenate([da_r, da_z, da_n], axis=1)          # (N, 3H)
    da_h = np.concatenate([da_r, da_z, da_n * r], axis=1)      # (N, 3H)
    dx = da_x @ params["W"]                                    # (N, D)
    dh_prev = dh_next * z + da_h @ params["U"]                 # (N, H)
    grads = {"W": da_x.T @ x, "U": da_h.T @ h_prev,
             "b_x": da_x.sum(axis=0), "b_h": da_h.sum(axis=0)}
    return dx, dh_prev, grads


def gru_torch_forward(x: np.ndarray, h0: np.ndarray | None,
                      params: Params, fast: bool = False,
                      workspace: Workspace | None = None
                      ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Run the PyTorch-form GRU over a sequence (like ``torch.nn.GRU``).

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H), or None (zeros)
    params : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``, ``b_h (3H,)``.
    fast : bool
        Readable loop (``False``) or fast path (``True``).
    workspace : Workspace, optional
        Buffers to reuse on the fast path.

    Returns
    -------
    h : ndarray, shape (N, T, H)
    h_last : ndarray, shape (N, H)
    cache : tuple
        ``(x, h0, h, params, steps)``.
    """
    h0 = _check_sequence(x, h0, params, torch_form=True)
    _check_workspace(fast, workspace)
    if fast:
        return _gru_torch_forward_fast(x, h0, params, workspace)
    return _steps_forward(gru_torch_step_forward, x, h0, params)


def gru_torch_backward(dh: np.ndarray, cache: tuple,
                       dh_last: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, Params]:
    """BPTT for :func:`gru_torch_forward` (either path).

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
    cache : tuple
        From :func:`gru_torch_forward`.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on ``h_T``.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``, ``b_h (3H,)``.
    """
    x, h0, h, params, steps = cache
    carry = _start_backward(dh, dh_last, h)
    if isinstance(steps, dict):
        return _gru_torch_backward_fast(dh, x, params, steps, carry)
    return _steps_backward(gru_torch_step_backward, dh, x, params, steps,
                           carry)


def _gru_torch_forward_fast(x, h0, params, ws):
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    generation = ws.begin_forward() if ws is not None else None
    scale = _half_rz(H, dtype)
    U_s = params["U"] * scale[:, None]                         # (3H, H)
    # For r and z the two biases simply add, so both go into the hoisted
    # input projection; only b_hn stays inside the reset product.
    b = params["b_x"].copy()
    b[:2 * H] += params["b_h"][:2 * H]
    b_hn = params["b_h"][2 * H:, None]                         # (H, 1)
    XW = _empty(ws, "grut.XW", (T, 3 * H, N), dtype)           # (T, 3H, N)
    _input_projection(params["W"] * scale[:, None], b * scale, x, XW, ws,
                      "grut")
    A = _empty(ws, "grut.A", (T, 3 * H, N), dtype)   # U h_prev, (T, 3H, N)
    hs = _empty(ws, "grut.hs", (T + 1, H, N), dtype)           # (T+1, H, N)
    tmp = _empty(ws, "grut.tmp", (H, N), dtype)
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
    h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))        # (N, T, H)
    bufs = {"G": XW, "A": A, "hs": hs, "workspace": ws,
            "generation": generation}
    return h, hs[T].T.copy(), (x, h0, h, params, bufs)


def _gru_torch_backward_fast(dh, x, params, bufs, carry):
    N, T, D = x.shape
    H = carry.shape[1]
    dtype = x.dtype
    ws = bufs["workspace"]
    if ws is not None:
        ws.check(bufs["generation"])
    G, A, hs = bufs["G"], bufs["A"], bufs["hs"]
    r, z, n = G[:, :H], G[:, H:2 * H], G[:, 2 * H:]            # (T, H, N)
    hn = A[:, 2 * H:]
    h_prev = hs[:-1]
    # All pre-activation gradients are dh_t times a factor that does not
    # depend on dh_t. C holds the blocks n, r, z, hn so that C[:, :3H]
    # (n, r, z) is the input-side gradient and C[:, H:] (r, z, hn) the
    # recurrent one, both contiguous for the matmuls.
    C = _empty(ws, "grut.C", (T, 4 * H, N), dtype)             # (T, 4H, N)
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
    dh_tm = _empty(ws, "grut.dh", (T, H, N), dtype)
    np.copyto(dh_tm, dh.transpose(1, 2, 0))
    carry = np.ascontiguousarray(carry.T)                      # (H, N)
    dht = _empty(ws, "grut.dht", (H, N), dtype)
    tmp = _empty(ws, "grut.tmp", (H, N), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry, out=dht)
        C4[t] *= dht                           # all four blocks at once
        np.matmul(U_T, C[t, H:], out=carry)    # r, z, hn blocks
        np.multiply(dht, z[t], out=tmp)
        carry += tmp                           # dh_prev
    C_flat = _empty(ws, "grut.C_flat", (4 * H, T * N), dtype)  # (4H, T*N)
    np.copyto(C_flat.reshape(4 * H, T, N), C.transpose(1, 0, 2))
    # [x | 1 | h_prev | 1] for all steps, (T*N, D+H+2)
    cols = _columns(ws, "grut.cols", [x.transpose(1, 0, 2), None,
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
