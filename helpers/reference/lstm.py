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
``b`` is ``bias_ih_l0 + bias_hh_l0`` (see
:mod:`helpers.support.torch_weights`). One matmul computes all four
pre-activations: ``a = x W^T + h U^T + b``.

In the syllabus symbols, ``f_t = sigma(W_f x_t + U_f h_{t-1} + b_f)`` is
``sigmoid(x @ W[H:2H].T + h_prev @ U[H:2H].T + b[H:2H])``;
:func:`gate_blocks` returns the per-gate views by name.

The contract (the same in every cell, see :mod:`helpers.reference`)
-------------------------------------------------------------------
The simple RNN's functions, with the cell state ``c`` next to every
hidden state ``h``::

    init_lstm_params(D, H, rng, dtype=np.float64) -> params
    lstm_step_forward(x, h_prev, c_prev, params)  -> h_next, c_next, cache
    lstm_step_backward(dh_next, dc_next, cache)   -> dx, dh_prev, dc_prev,
                                                     grads
    lstm_forward(x, h0, c0, params, fast=False, workspace=None)
                                        -> h, (h_last, c_last), cache
    lstm_backward(dh, cache, dh_last=None, dc_last=None, fast=False)
                                        -> dx, dh0, dc0, grads

* **Caches.** Step: ``(x, h_prev, c_prev, i, f, g, o, c_next, params)``.
  Sequence: ``(x, h0, h, params, c0, c, steps)``: the four entries every
  cell's cache starts with, then the cell states ``c0 (N, H)`` and
  ``c (N, T, H)``, and last the list of the ``T`` step caches.
* **Initial states.** ``h0=None`` and ``c0=None`` mean zeros (in the
  sequence functions; the step functions take arrays only); the cache
  holds the zeros.
* **Gradients.** ``grads`` has the keys ``W, U, b`` (other keys in
  ``params`` are ignored); ``dh_last`` and ``dc_last`` are optional extra
  gradients on ``h_T`` and ``c_T`` (e.g. from an encoder whose final
  state feeds a decoder).
* **Fast path.** ``fast=True`` on the forward *and* the backward runs
  :mod:`helpers.fast.lstm`: the same numbers up to rounding; with a
  ``workspace=`` (a :class:`helpers.fast.Workspace`) it reuses its
  buffers and may split a large batch across the cores. Its cache has
  the fast path's buffers as its last entry instead of the step caches;
  a backward with ``fast=False`` refuses it (pass ``fast=True`` there
  too); one with ``fast=True`` also accepts a readable cache.
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
    "GATES", "init_lstm_params", "gate_blocks",
    "lstm_step_forward", "lstm_step_backward",
    "lstm_forward", "lstm_backward",
]

Params = dict[str, np.ndarray]

#: Order of the gate blocks in ``W``, ``U`` and ``b`` (PyTorch's order).
GATES = ("i", "f", "g", "o")


def init_lstm_params(D: int, H: int, rng: np.random.Generator,
                     dtype=np.float64) -> Params:
    """Random parameters like ``torch.nn.LSTM``: uniform in ±1/sqrt(H).

    Returns ``{"W": (4H, D), "U": (4H, H), "b": (4H,)}``.
    """
    return uniform_init({"W": (4 * H, D), "U": (4 * H, H),
                         "b": (4 * H,)}, H, rng, dtype)


def gate_blocks(params: Params) -> dict[str, Params]:
    """Split fused parameters into the syllabus symbols, per gate.

    Returns ``{"i": {"W": W_i, "U": U_i, "b": b_i}, "f": {...}, ...}``
    (views, shapes ``(H, D)``, ``(H, H)``, ``(H,)``).
    """
    H = params["U"].shape[1]
    return {gate: {k: params[k][j * H:(j + 1) * H] for k in ("W", "U", "b")}
            for j, gate in enumerate(GATES)}


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
    H, D, dtype = _check_params(params, finite=False)
    check_step(x, {"h_prev": h_prev, "c_prev": c_prev}, D, H, dtype)

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
        check_upstream(name, d, c_next.shape, "N, H", c_next.dtype,
                       finite=False)

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
                 workspace: "Workspace | None" = None
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
    fast, workspace
        The fast path of :mod:`helpers.fast.lstm` and its buffers (see
        the contract in the module docstring).

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All hidden states ``h_1 .. h_T``.
    (h_last, c_last) : ndarrays, shape (N, H)
        Final hidden and cell state (like ``torch.nn.LSTM``'s
        ``(h_n, c_n)``).
    cache : tuple
        ``(x, h0, h, params, c0, c, steps)``, see the module docstring.
    """
    H, D, dtype = _check_params(params)
    N, T, h0, c0 = check_forward(x, {"h0": h0, "c0": c0}, D, H, dtype,
                                 fast, workspace)
    if fast:
        from helpers.fast.lstm import lstm_forward_fast
        return lstm_forward_fast(x, h0, c0, params, workspace)

    h = np.empty((N, T, H), dtype)
    c = np.empty((N, T, H), dtype)
    steps = []
    h_prev, c_prev = h0, c0
    for t in range(T):
        h_prev, c_prev, step_cache = lstm_step_forward(
            x[:, t], h_prev, c_prev, params)
        h[:, t], c[:, t] = h_prev, c_prev
        steps.append(step_cache)
    return h, (h_prev, c_prev), (x, h0, h, params, c0, c, steps)


def lstm_backward(dh: np.ndarray, cache: tuple,
                  dh_last: np.ndarray | None = None,
                  dc_last: np.ndarray | None = None, fast: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Params]:
    """Backpropagation through time for :func:`lstm_forward`.

    Walks from ``t = T`` down to 1 like the simple RNN's BPTT, carrying
    two gradients back from step ``t + 1``: ``dh_next`` into ``h_t``
    (added to the upstream ``dh[:, t]``) and ``dc_next`` along the cell
    state.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradient on every hidden state.
    cache : tuple
        ``(x, h0, h, params, c0, c, steps)`` from :func:`lstm_forward`.
    dh_last, dc_last : ndarray, shape (N, H), optional
        Extra gradient on the final ``h_T`` and ``c_T`` (e.g. from an
        encoder whose final state feeds a decoder).
    fast : bool
        Use the fast path; pass the ``fast`` of the forward call.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0, dc0 : ndarray, shape (N, H)
    grads : dict
        ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``, summed over time.
    """
    N, T, H = check_backward(dh, cache, {"dh_last": dh_last,
                                         "dc_last": dc_last}, 7,
                             "lstm_forward", fast)
    x, h0, h, params, c0, c, steps = cache
    if fast:
        from helpers.fast.lstm import lstm_backward_fast
        return lstm_backward_fast(dh, cache, dh_last, dc_last)

    dx = np.empty_like(x)
    grads = {name: np.zeros_like(params[name])
             for name in ("W", "U", "b")}
    dh_next = np.zeros((N, H), h.dtype)    # what step t+1 sends back to h_t
    dc_next = np.zeros((N, H), h.dtype)    # ... and to c_t
    if dh_last is not None:
        dh_next = dh_next + dh_last
    if dc_last is not None:
        dc_next = dc_next + dc_last
    for t in reversed(range(T)):
        dx[:, t], dh_next, dc_next, step_grads = lstm_step_backward(
            dh[:, t] + dh_next, dc_next, steps[t])
        for name in grads:           # shared weights: sum over steps
            grads[name] += step_grads[name]
    return dx, dh_next, dc_next, grads


# ------------------------------------------------------------ input checks

def _check_params(params, finite: bool = True) -> tuple[int, int, np.dtype]:
    """Validate fused LSTM parameters; return ``(H, D, dtype)``."""
    check_keys(params, ("W", "U", "b"))
    H = check_array("params['U']", params["U"], 2, "4H, H",
                    finite=False).shape[1]
    D = check_array("params['W']", params["W"], 2, "4H, D",
                    finite=False).shape[1]
    dtype = check_params(params, {"W": ((4 * H, D), "4H, D"),
                                  "U": ((4 * H, H), "4H, H"),
                                  "b": ((4 * H,), "4H")}, finite=finite)
    return H, D, dtype
