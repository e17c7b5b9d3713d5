"""How far back a gradient reaches: the LSTM's cell state against the
simple RNN's hidden state (lesson 6, "why the additive update lets
gradients survive").

Dimension letters: N sequences, T time steps, D input features, H hidden
units.

For a batch of sequences, :func:`lstm_memory_norms` returns, for every
``t``,
the spectral norm (the largest singular value) of the exact Jacobian
``dc_t/dc_0`` of an LSTM (with ``h_0`` and the inputs held fixed, every
path included: the belt and the paths through the gates), and of its
*direct path* ``prod_t diag(f_t)``, whose spectral norm is exactly
``max_j prod_t f_t[j]``. :func:`rnn_memory_norms` gives
``||dh_t/dh_0||_2`` of a tanh RNN. Both propagate the Jacobian forward in
time with the analytic one-step Jacobians below (tested against torch's
autograd). :func:`memory_norms` runs both on the same random inputs.

One LSTM step, with ``a`` the pre-activations and ``tc = tanh(c_t)``::

    dc_t/dc_{t-1} = diag(f)
    dc_t/dh_{t-1} = diag(c_{t-1} f (1 - f)) U_f + diag(g i (1 - i)) U_i
                    + diag(i (1 - g^2)) U_g
    dh_t/dc_{t-1} = diag(o (1 - tc^2)) diag(f)
    dh_t/dh_{t-1} = diag(tc o (1 - o)) U_o + diag(o (1 - tc^2))
                    dc_t/dh_{t-1}
"""

from __future__ import annotations

import numpy as np

from helpers.reference.layers import sigmoid
from helpers.reference.lstm import init_lstm_params
from helpers.reference.rnn import init_rnn_params

__all__ = ["lstm_memory_norms", "rnn_memory_norms", "memory_norms"]


def _spectral(J: np.ndarray) -> np.ndarray:
    """Spectral norms of a stack of matrices ``(N, H, H) -> (N,)``."""
    return np.linalg.norm(J, 2, axis=(-2, -1))


def lstm_memory_norms(x: np.ndarray, params: dict) -> dict:
    """``||dc_t/dc_0||_2`` and ``||prod diag(f)||_2``, per sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Input sequences; ``h_0 = c_0 = 0``.
    params : dict
        Fused LSTM parameters ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)``,
        blocks in torch's order i, f, g, o.

    Returns
    -------
    dict
        ``"full"`` and ``"direct"``, shape (N, T), entry ``t - 1`` for
        ``c_t``; ``"f"``, shape (N, T, H), the forget gate's values.
    """
    W, U, b = params["W"], params["U"], params["b"]
    N, T, _ = x.shape
    H = U.shape[1]
    U_i, U_f, U_g, U_o = (U[k * H:(k + 1) * H] for k in range(4))
    h, c = np.zeros((N, H)), np.zeros((N, H))
    A = np.zeros((N, H, H))                          # dh_t/dc_0
    B = np.broadcast_to(np.eye(H), (N, H, H))        # dc_t/dc_0
    direct = np.ones((N, H))                   # diagonal of prod diag(f)
    full, direct_norm, fs = [], [], []
    for t in range(T):
        a = x[:, t] @ W.T + h @ U.T + b                      # (N, 4H)
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        dc_dh = ((c * f * (1 - f))[..., None] * U_f      # (N, H, H)
                 + (g * i * (1 - i))[..., None] * U_i
                 + (i * (1 - g * g))[..., None] * U_g)
        dh_dh = ((tc * o * (1 - o))[..., None] * U_o
                 + (o * (1 - tc * tc))[..., None] * dc_dh)
        dh_dc = (o * (1 - tc * tc) * f)[..., None]
        A, B = dh_dh @ A + dh_dc * B, dc_dh @ A + f[..., None] * B
        h, c = o * tc, c_new
        direct = direct * f
        full.append(_spectral(B))
        direct_norm.append(direct.max(axis=1))
        fs.append(f)
    return {"full": np.stack(full, 1), "direct": np.stack(direct_norm, 1),
            "f": np.stack(fs, 1)}


def rnn_memory_norms(x: np.ndarray, params: dict) -> np.ndarray:
    """``||dh_t/dh_0||_2`` for ``t = 1 .. T`` of a tanh RNN, per sequence
    of ``x (N, T, D)``, ``h_0 = 0``; shape (N, T)."""
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
    N, T, _ = x.shape
    H = W_hh.shape[0]
    h = np.zeros((N, H))
    J = np.broadcast_to(np.eye(H), (N, H, H))
    norms = []
    for t in range(T):
        h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)        # (N, H)
        J = (1 - h * h)[..., None] * W_hh @ J     # diag(tanh') W_hh J
        norms.append(_spectral(J))
    return np.stack(norms, 1)


def memory_norms(T: int = 100, H: int = 32, D: int = 2,
                 forget_bias: float | None = 1.0, n_seq: int = 8,
                 seed: int = 0) -> dict:
    """Median over ``n_seq`` random sequences (inputs from N(0, 1), the
    same for both cells) of the LSTM's and the RNN's norms.

    Both cells have torch's default initialisation (uniform in
    ±1/sqrt(H), drawn with ``seed``); the LSTM's forget-gate bias block
    ``b_f`` is then set to ``forget_bias`` (None keeps the random one).

    Returns
    -------
    dict
        ``"lstm"``, ``"direct"``, ``"rnn"``: medians, shape (T,), entry
        ``t - 1``; ``"f_mean"``: the mean forget-gate value;
        ``"W_hh_norm"``: the RNN's ``||W_hh||_2``.
    """
    rng = np.random.default_rng(seed)
    p_lstm = init_lstm_params(D, H, rng)
    p_rnn = init_rnn_params(D, H, rng)
    if forget_bias is not None:
        p_lstm["b"][H:2 * H] = forget_bias
    x = rng.normal(size=(n_seq, T, D))
    lstm = lstm_memory_norms(x, p_lstm)
    return {"lstm": np.median(lstm["full"], axis=0),
            "direct": np.median(lstm["direct"], axis=0),
            "rnn": np.median(rnn_memory_norms(x, p_rnn), axis=0),
            "f_mean": float(lstm["f"].mean()),
            "W_hh_norm": float(np.linalg.norm(p_rnn["W_hh"], 2))}
