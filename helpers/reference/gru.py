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

The contract (the same in every cell, see :mod:`helpers.reference`)
-------------------------------------------------------------------
Both forms offer the simple RNN's functions, with the same arguments::

    init_gru_params(D, H, rng, dtype=np.float64)  -> params
    gru_step_forward(x, h_prev, params)           -> h_next, cache
    gru_step_backward(dh_next, cache)             -> dx, dh_prev, grads
    gru_forward(x, h0, params, fast=False, workspace=None)
                                                  -> h, h_last, cache
    gru_backward(dh, cache, dh_last=None, fast=False)
                                                  -> dx, dh0, grads

and the same with ``gru_torch_`` for PyTorch's form.

* **Caches.** Step, Cho: ``(x, h_prev, r, z, h_tilde, params)``;
  PyTorch: ``(x, h_prev, r, z, n, hn, params)`` with
  ``hn = U_n h_prev + b_hn``. Sequence: ``(x, h0, h, params, steps)``:
  the four entries every cell's cache starts with, then the list of the
  ``T`` step caches.
* **Initial state.** ``h0=None`` means zeros (in the sequence functions;
  the step functions take arrays only); the cache holds the zeros.
* **Gradients.** ``grads`` has the form's parameter keys (other keys in
  ``params`` are ignored); ``dh_last`` is an optional extra gradient on
  ``h_T``.
* **Fast path.** ``fast=True`` on the forward *and* the backward runs
  :mod:`helpers.fast.gru`: the same numbers up to rounding, tested
  equal; ``workspace=`` (a :class:`helpers.fast.Workspace`) lets repeated
  forward calls reuse its buffers. Its cache has the fast path's buffers
  as its last entry instead of the step caches; a backward with
  ``fast=False`` refuses it (pass ``fast=True`` there too); one with
  ``fast=True`` also accepts a readable cache.
* **Validation.** The sequence functions check every input once (shape,
  dtype, no NaN); the step functions check shapes and dtypes only.
"""

from __future__ import annotations

import numpy as np

from helpers.reference.layers import sigmoid, uniform_init
from helpers.reference.validate import (check_array, check_backward,
                                        check_forward, check_keys,
                                        check_params, check_step,
                                        check_upstream)


__all__ = [
    "init_gru_params",
    "gru_step_forward", "gru_step_backward",
    "gru_forward", "gru_backward",
    "init_gru_torch_params",
    "gru_torch_step_forward", "gru_torch_step_backward",
    "gru_torch_forward", "gru_torch_backward",
]

Params = dict[str, np.ndarray]


# ======================================================== Cho et al. form

def init_gru_params(D: int, H: int, rng: np.random.Generator,
                    dtype=np.float64) -> Params:
    """Random Cho-form parameters, uniform in ±1/sqrt(H).

    Returns ``{"W": (3H, D), "U": (3H, H), "b": (3H,)}``, blocks r, z, h.
    """
    return uniform_init({"W": (3 * H, D), "U": (3 * H, H),
                         "b": (3 * H,)}, H, rng, dtype)


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
    H, D, dtype = _check_params(params, torch_form=False, finite=False)
    check_step(x, {"h_prev": h_prev}, D, H, dtype)

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

    Parameters
    ----------
    dh_next : ndarray, shape (N, H)
    cache : tuple
        ``(x, h_prev, r, z, h_tilde, params)`` from the forward step.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``.
    """
    x, h_prev, r, z, h_tilde, params = cache
    check_upstream("dh_next", dh_next, h_prev.shape, "N, H", h_prev.dtype,
                   finite=False)

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
                fast: bool = False, workspace: "Workspace | None" = None
                ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Run the Cho-form GRU over a sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H), or None
        Initial hidden state; ``None`` means zeros.
    params : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``, blocks r, z, h.
    fast, workspace
        The fast path of :mod:`helpers.fast.gru` and its buffers (see
        the contract in the module docstring).

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states ``h_1 .. h_T``.
    h_last : ndarray, shape (N, H)
    cache : tuple
        ``(x, h0, h, params, steps)``.
    """
    return _forward(x, h0, params, fast, workspace, torch_form=False)


def gru_backward(dh: np.ndarray, cache: tuple,
                 dh_last: np.ndarray | None = None, fast: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backpropagation through time for :func:`gru_forward`.

    Walks from ``t = T`` down to 1 like the simple RNN's BPTT: the
    gradient reaching ``h_t`` is ``dh[:, t]`` plus what step ``t + 1``
    sends back; the parameter gradients are summed over the steps.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : tuple
        ``(x, h0, h, params, steps)`` from :func:`gru_forward`.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on ``h_T``.
    fast : bool
        Use the fast path; pass the ``fast`` of the forward call.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)``, summed over time.
    """
    return _backward(dh, cache, dh_last, fast, torch_form=False)


# ============================================================ PyTorch form

def init_gru_torch_params(D: int, H: int, rng: np.random.Generator,
                          dtype=np.float64) -> Params:
    """Random PyTorch-form parameters like ``torch.nn.GRU``.

    Returns ``{"W": (3H, D), "U": (3H, H), "b_x": (3H,), "b_h": (3H,)}``,
    blocks r, z, n.
    """
    return uniform_init({"W": (3 * H, D), "U": (3 * H, H),
                         "b_x": (3 * H,), "b_h": (3 * H,)}, H, rng, dtype)


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
    H, D, dtype = _check_params(params, torch_form=True, finite=False)
    check_step(x, {"h_prev": h_prev}, D, H, dtype)

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

    Parameters
    ----------
    dh_next : ndarray, shape (N, H)
    cache : tuple
        ``(x, h_prev, r, z, n, hn, params)`` from the forward step.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``, ``b_h (3H,)``.
    """
    x, h_prev, r, z, n, hn, params = cache
    check_upstream("dh_next", dh_next, h_prev.shape, "N, H", h_prev.dtype,
                   finite=False)

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
                      workspace: "Workspace | None" = None
                      ) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Run the PyTorch-form GRU over a sequence (like ``torch.nn.GRU``).

    As :func:`gru_forward`, with ``params`` ``W (3H, D)``, ``U (3H, H)``,
    ``b_x (3H,)``, ``b_h (3H,)`` (blocks r, z, n).
    """
    return _forward(x, h0, params, fast, workspace, torch_form=True)


def gru_torch_backward(dh: np.ndarray, cache: tuple,
                       dh_last: np.ndarray | None = None,
                       fast: bool = False
                       ) -> tuple[np.ndarray, np.ndarray, Params]:
    """Backpropagation through time for :func:`gru_torch_forward`.

    As :func:`gru_backward`, with the steps of PyTorch's form; ``grads``
    has ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``, ``b_h (3H,)``,
    summed over time.
    """
    return _backward(dh, cache, dh_last, fast, torch_form=True)


# ------------------------------------------ the loop over time, both forms

def _forward(x, h0, params, fast, workspace, torch_form):
    """The sequence forward of either form: they differ only in the
    step. Checks the inputs once, then loops over time."""
    H, D, dtype = _check_params(params, torch_form)
    N, T, h0 = check_forward(x, {"h0": h0}, D, H, dtype, fast, workspace)
    if fast:
        from helpers.fast import gru as fast_gru
        return (fast_gru.gru_torch_forward_fast if torch_form else
                fast_gru.gru_forward_fast)(x, h0, params, workspace)
    step_forward = gru_torch_step_forward if torch_form \
        else gru_step_forward
    h = np.empty((N, T, H), dtype)                             # (N, T, H)
    steps = []
    h_prev = h0
    for t in range(T):        # the loop over time is the recurrence
        h_prev, step_cache = step_forward(x[:, t], h_prev, params)
        h[:, t] = h_prev
        steps.append(step_cache)
    return h, h_prev, (x, h0, h, params, steps)


def _backward(dh, cache, dh_last, fast, torch_form):
    """BPTT of either form, from ``t = T`` down to 1; the parameter
    gradients are summed over time. Returns ``(dx, dh0, grads)``."""
    N, T, H = check_backward(dh, cache, {"dh_last": dh_last}, 5,
                             "gru_torch_forward" if torch_form
                             else "gru_forward", fast)
    x, h0, h, params, steps = cache
    if fast:
        from helpers.fast import gru as fast_gru
        return (fast_gru.gru_torch_backward_fast if torch_form else
                fast_gru.gru_backward_fast)(dh, cache, dh_last)
    step_backward, keys = (gru_torch_step_backward, ("W", "U", "b_x", "b_h")
                           ) if torch_form else (gru_step_backward,
                                                 ("W", "U", "b"))
    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name]) for name in keys}
    dh_next = np.zeros_like(h0)          # what step t+1 sends back to h_t
    if dh_last is not None:
        dh_next = dh_next + dh_last
    for t in reversed(range(T)):
        dx[:, t], dh_next, step_grads = step_backward(dh[:, t] + dh_next,
                                                      steps[t])
        for name in grads:           # shared weights: sum over steps
            grads[name] += step_grads[name]
    return dx, dh_next, grads


# ------------------------------------------------------------ input checks

def _check_params(params, torch_form: bool, finite: bool = True
                  ) -> tuple[int, int, np.dtype]:
    """Validate GRU parameters of either form; return ``(H, D, dtype)``."""
    biases = ("b_x", "b_h") if torch_form else ("b",)
    check_keys(params, ("W", "U") + biases)
    H = check_array("params['U']", params["U"], 2, "3H, H",
                    finite=False).shape[1]
    D = check_array("params['W']", params["W"], 2, "3H, D",
                    finite=False).shape[1]
    expected = {"W": ((3 * H, D), "3H, D"), "U": ((3 * H, H), "3H, H")}
    expected.update({k: ((3 * H,), "3H") for k in biases})
    return H, D, check_params(params, expected, finite=finite)


