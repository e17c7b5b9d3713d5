"""Non-recurrent layers, a loss and optimisers in numpy.

Dimension letters: N samples, T time steps, D input (embedding) features,
H hidden units, K outputs (classes), V vocabulary size.

These are the pieces around a recurrent cell that a language model or a
sequence classifier needs (lessons 2, 3 and 8):

* a word (or character) **embedding**, a lookup ``x_t = W_e[idx_t]``;
* a **time-distributed affine** output head ``y_t = W h_t + b`` applied
  at every time step with the same ``W``;
* the **softmax cross-entropy over time** with a mask that drops padded
  steps: ``L = sum_t m_t * (-log softmax(y_t)[target_t])``;
* **gradient clipping** by the global norm (lesson 4);
* the **SGD** and **Adam** optimisers (Kingma and Ba, 2015);
* the two squashing functions, :func:`sigmoid` (the gates of the LSTM and
  the GRU) and :func:`softmax`.

Each layer comes as a forward/backward pair in the style of CS231n's
``rnn_layers.py``: forward returns ``(out, cache)``; backward takes
``(dout, cache)`` and returns the input gradient followed by a dict of
parameter gradients. All functions work in float32 and float64 and keep
the dtype of their inputs. Parity with ``torch.nn.Embedding``,
``torch.nn.functional.cross_entropy``, ``torch.nn.utils.clip_grad_norm_``
and ``torch.optim.Adam`` / ``torch.optim.SGD`` is tested in float64.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from helpers.reference.validate import (check_array, check_keys,
                                        check_same_dtype, check_shape)

__all__ = [
    "sigmoid", "softmax",
    "embedding_forward", "embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward",
    "temporal_softmax_loss",
    "clip_grad_norm",
    "sgd_update", "SGD", "Adam",
]

Params = dict[str, np.ndarray]


def _check_int_array(name: str, a, ndim: int, letters: str) -> np.ndarray:
    """Return ``a`` if it is an integer array with ``ndim`` dimensions."""
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of integers, got "
            f"{type(a).__name__}")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(
            f"{name} has dtype {a.dtype}; expected an integer dtype "
            f"(indices)")
    if a.ndim != ndim:
        raise ValueError(
            f"{name} has {a.ndim} dimensions (shape {a.shape}); "
            f"expected {ndim} ({letters})")
    return a


def uniform_init(shapes: dict[str, tuple[int, ...]], H: int,
                 rng: np.random.Generator, dtype=np.float64) -> Params:
    """``{name: array of shapes[name]}``, each entry uniform in
    ``±1/sqrt(H)``: how ``torch.nn.RNN``, ``LSTM`` and ``GRU`` start.

    The arrays are drawn in the order of ``shapes``.
    """
    k = 1.0 / np.sqrt(H)
    return {name: rng.uniform(-k, k, shape).astype(dtype)
            for name, shape in shapes.items()}


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function ``sigma(a) = 1 / (1 + exp(-a))``, element-wise.

    The gate nonlinearity of the LSTM and the GRU. For very negative
    ``a``, ``exp(-a)`` overflows to ``inf`` and the result is ``0``, which
    is correct, so the overflow warning is silenced.
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``.

    ``softmax(x)_k = exp(x_k - max(x)) / sum_j exp(x_j - max(x))``;
    subtracting the maximum changes nothing mathematically but keeps
    ``exp`` from overflowing.
    """
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


# --------------------------------------------------------------- embedding

def embedding_forward(x: np.ndarray, W_e: np.ndarray
                      ) -> tuple[np.ndarray, tuple]:
    """Look up the embedding of each token: ``out[n, t] = W_e[x[n, t]]``.

    This equals multiplying a one-hot vector by the matrix, without
    building the one-hot vectors (lesson 2).

    Parameters
    ----------
    x : ndarray of int, shape (N, T)
        Token indices in ``[0, V)``.
    W_e : ndarray, shape (V, D)
        One row per token, the layout of ``torch.nn.Embedding.weight``.

    Returns
    -------
    out : ndarray, shape (N, T, D)
    cache : tuple
        ``(x, V)`` for :func:`embedding_backward`.
    """
    _check_int_array("x", x, 2, "N, T")
    check_array("W_e", W_e, 2, "V, D")
    V = W_e.shape[0]
    if x.size and (x.min() < 0 or x.max() >= V):
        bad = x[(x < 0) | (x >= V)][0]
        raise IndexError(
            f"x contains index {int(bad)}, outside the vocabulary "
            f"[0, V) = [0, {V})")
    out = W_e[x]                                      # (N, T, D)
    return out, (x, V)


def embedding_backward(dout: np.ndarray, cache: tuple) -> Params:
    """Gradient of the embedding lookup.

    Row ``v`` of ``dW_e`` is the sum of ``dout[n, t]`` over every position
    where ``x[n, t] == v``; ``np.add.at`` accumulates repeated indices
    (plain fancy-index assignment would keep only the last one).

    ``dout (N, T, D)`` and the cache of :func:`embedding_forward` give
    ``{"W_e": dW_e}`` with ``dW_e`` of shape ``(V, D)``. The indices
    ``x`` are integers and have no gradient, so no input gradient is
    returned.
    """
    x, V = cache
    check_array("dout", dout, 3, "N, T, D")
    N, T = x.shape
    check_shape("dout", dout, (N, T, dout.shape[2]), "N, T, D")
    dW_e = np.zeros((V, dout.shape[2]), dtype=dout.dtype)    # (V, D)
    np.add.at(dW_e, x, dout)
    return {"W_e": dW_e}


# ------------------------------------------------- time-distributed affine

def temporal_affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray
                            ) -> tuple[np.ndarray, tuple]:
    """The same affine map at every time step: ``y_t = W h_t + b``.

    Parameters
    ----------
    x : ndarray, shape (N, T, H)
        Hidden states of all time steps.
    W : ndarray, shape (K, H)
        Output weights (``W_hy`` in the lesson, ``nn.Linear.weight``).
    b : ndarray, shape (K,)

    Returns
    -------
    out : ndarray, shape (N, T, K)
    cache : tuple
        ``(x, W)``.
    """
    check_array("x", x, 3, "N, T, H")
    check_array("W", W, 2, "K, H")
    check_array("b", b, 1, "K")
    N, T, H = x.shape
    K = W.shape[0]
    check_shape("W", W, (K, H), "K, H")
    check_shape("b", b, (K,), "K")
    check_same_dtype(x=x, W=W, b=b)
    out = x @ W.T + b                                 # (N, T, K)
    return out, (x, W)


def temporal_affine_backward(dout: np.ndarray, cache: tuple
                             ) -> tuple[np.ndarray, Params]:
    """Gradients of :func:`temporal_affine_forward`.

    The weights are shared over time, so their gradients are sums over
    both the batch and the time axis.

    Parameters
    ----------
    dout : ndarray, shape (N, T, K)
    cache : tuple from :func:`temporal_affine_forward`

    Returns
    -------
    dx : ndarray, shape (N, T, H)
    grads : dict
        ``{"W": (K, H), "b": (K,)}``.
    """
    x, W = cache
    N, T, H = x.shape
    K = W.shape[0]
    check_array("dout", dout, 3, "N, T, K")
    check_shape("dout", dout, (N, T, K), "N, T, K")
    dx = dout @ W                                     # (N, T, H)
    dW = dout.reshape(N * T, K).T @ x.reshape(N * T, H)    # (K, H)
    db = dout.sum(axis=(0, 1))                        # (K,)
    return dx, {"W": dW, "b": db}


# ------------------------------------------------------- loss over time

_REDUCTIONS = ("mean", "sum", "batch")


def temporal_softmax_loss(scores: np.ndarray, y: np.ndarray,
                          mask: np.ndarray | None = None,
                          reduction: str = "mean"
                          ) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy at every time step, with a mask.

    ``L = sum_{n,t} m_{n,t} * (-log p_{n,t}[y_{n,t}])`` with
    ``p_{n,t} = softmax(scores[n, t])``, divided according to
    ``reduction``. The log-softmax is computed as
    ``s - max(s) - log(sum(exp(s - max(s))))``, which never overflows.

    Parameters
    ----------
    scores : ndarray, shape (N, T, K)
        Unnormalised log-probabilities (logits).
    y : ndarray of int, shape (N, T)
        Target classes in ``[0, K)``. Entries where the mask is False are
        ignored and may hold any integer (e.g. a padding index).
    mask : ndarray of bool, shape (N, T), optional
        True where the step counts (a real token), False for padding.
        Default: every step counts.
    reduction : {"mean", "sum", "batch"}
        ``"mean"`` divides by the number of kept steps, the same as
        ``torch.nn.functional.cross_entropy`` with ``ignore_index`` for
        the masked steps; ``"sum"`` divides by nothing; ``"batch"`` sums
        over time and averages over the N sequences (CS231n's
        ``temporal_softmax_loss``).

    Returns
    -------
    loss : float
    dscores : ndarray, shape (N, T, K)
        Gradient of ``loss`` with respect to ``scores``; zero at masked
        steps.
    """
    check_array("scores", scores, 3, "N, T, K")
    N, T, K = scores.shape
    _check_int_array("y", y, 2, "N, T")
    check_shape("y", y, (N, T), "N, T")
    if mask is None:
        mask = np.ones((N, T), dtype=bool)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(
            "mask must be a boolean numpy array (True = the step counts), "
            f"got {getattr(mask, 'dtype', type(mask).__name__)}")
    check_shape("mask", mask, (N, T), "N, T")
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"reduction is {reduction!r}; expected one of {_REDUCTIONS}")
    kept = y[mask]
    if kept.size and (kept.min() < 0 or kept.max() >= K):
        bad = kept[(kept < 0) | (kept >= K)][0]
        raise IndexError(
            f"y contains class {int(bad)} at a kept step, outside "
            f"[0, K) = [0, {K})")
    if reduction == "mean" and not mask.any():
        raise ValueError(
            "mask keeps no time step, so the mean loss is undefined; "
            "use reduction='sum' or keep at least one step")

    flat = scores.reshape(N * T, K)                   # (N*T, K)
    m = mask.reshape(N * T)
    # Masked targets may be out of range (padding); point them at class 0.
    y_flat = np.where(m, y.reshape(N * T), 0)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_z                       # (N*T, K)
    rows = np.arange(N * T)
    nll = -log_probs[rows, y_flat] * m                # (N*T,)

    divisor = {"mean": m.sum(), "sum": 1, "batch": N}[reduction]
    loss = float(nll.sum() / divisor)

    dflat = np.exp(log_probs)                         # softmax, (N*T, K)
    dflat[rows, y_flat] -= 1
    dflat *= m[:, None] / divisor
    return loss, dflat.reshape(N, T, K).astype(scores.dtype, copy=False)


# ----------------------------------------------------- gradient clipping

def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float,
                   eps: float = 1e-6) -> tuple[Params, float]:
    """Rescale all gradients together when their global norm is too big.

    With ``||g|| = sqrt(sum_p sum(g_p ** 2))`` over all arrays, every
    gradient is multiplied by ``min(1, max_norm / (||g|| + eps))``: the
    direction is kept and only the length is capped (lesson 4). ``eps``
    keeps the division finite when all gradients are zero; the formula is
    the one of ``torch.nn.utils.clip_grad_norm_``.

    Parameters
    ----------
    grads : dict of ndarray
        Gradients keyed by parameter name; not modified.
    max_norm : float
        Largest allowed global norm, > 0.
    eps : float
        Added to the norm in the denominator.

    Returns
    -------
    clipped : dict of ndarray
        New arrays, same keys, shapes and dtypes as ``grads``.
    total_norm : float
        The global norm before clipping.
    """
    check_keys(grads, [], "grads")
    if not (isinstance(max_norm, (int, float)) and max_norm > 0):
        raise ValueError(f"max_norm must be a positive number, got "
                         f"{max_norm!r}")
    for key, g in grads.items():
        check_array(f"grads['{key}']", g)
    total_norm = float(np.sqrt(sum(
        float(np.sum(np.asarray(g, dtype=np.float64) ** 2))
        for g in grads.values())))
    scale = min(1.0, max_norm / (total_norm + eps))
    clipped = {k: (g * g.dtype.type(scale)) for k, g in grads.items()}
    return clipped, total_norm


# ------------------------------------------------------------ optimisers

def _check_grads(params: Mapping[str, np.ndarray],
                 grads: Mapping[str, np.ndarray]) -> None:
    """Raise unless ``grads`` has one array per parameter, same shape."""
    check_keys(grads, list(params), "grads")
    for key, p in params.items():
        g = check_array(f"grads['{key}']", grads[key])
        check_shape(f"grads['{key}']", g, p.shape,
                    f"shape of params['{key}']")


def sgd_update(params: Params, grads: Mapping[str, np.ndarray],
               lr: float) -> None:
    """Plain gradient descent in place: ``p <- p - lr * dL/dp``."""
    _check_grads(params, grads)
    for key, p in params.items():
        p -= lr * grads[key]


class SGD:
    """Stochastic gradient descent with optional momentum.

    Updates ``params`` in place at each :meth:`step`, as
    ``torch.optim.SGD`` (no dampening)::

        b <- mu * b + g    (b = g at the first step)
        p <- p - lr * b

    Parameters
    ----------
    params : dict of ndarray
        The arrays to update; they are changed in place.
    lr : float
        Learning rate, > 0.
    momentum : float
        ``mu`` in [0, 1); 0 gives plain SGD.
    """

    def __init__(self, params: Params, lr: float,
                 momentum: float = 0.0) -> None:
        check_keys(params, [], "params")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.buffers: Params = {}

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Apply one update with the gradients ``grads`` (same keys)."""
        _check_grads(self.params, grads)
        for key, p in self.params.items():
            g = grads[key]
            if self.momentum:
                if key in self.buffers:
                    b = self.buffers[key]
                    b *= self.momentum
                    b += g
                else:
                    self.buffers[key] = b = np.array(g, copy=True)
                g = b
            p -= self.lr * g


class Adam:
    """Adam (Kingma and Ba, 2015), updating ``params`` in place.

    At step ``t`` with gradient ``g``::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g ** 2
        p <- p - lr / (1 - beta1**t) * m
                 / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    which is the arrangement of the bias corrections used by
    ``torch.optim.Adam``, so both give the same numbers.

    Parameters
    ----------
    params, lr
        As for :class:`SGD`: the arrays, updated in place, and the
        learning rate.
    betas : (float, float)
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float
        Added to the denominator, > 0.
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        check_keys(params, [], "params")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got "
                             f"{betas!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        self.params = params
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Apply one update with the gradients ``grads`` (same keys)."""
        _check_grads(self.params, grads)
        self.t += 1
        bias1 = 1 - self.beta1 ** self.t
        bias2 = 1 - self.beta2 ** self.t
        for key, p in self.params.items():
            g = grads[key]
            m, v = self.m[key], self.v[key]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            denom = np.sqrt(v) / math.sqrt(bias2) + self.eps
            p -= (self.lr / bias1) * m / denom
