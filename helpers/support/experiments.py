"""Small experiments of lessons 3 and 4 on the simple RNN.

Dimension letters: N samples, T time steps, D input features, H hidden
units, L the lag of the lag task, l a lag between two time steps.

Lesson 3, "Backpropagation through time":

* :func:`truncation_similarity` compares truncated BPTT with full BPTT
  on one long sequence, for a range of chunk lengths ``k``.

Lesson 4, "Vanishing and exploding gradients":

* :func:`random_rnn_params` builds an RNN whose ``W_hh`` has a chosen
  spectral radius (random, orthogonal or identity initialisation);
* :func:`forward_states` runs it with ``tanh`` or ReLU;
* :func:`state_jacobian` and :func:`jacobian_norms` give the product of
  Jacobians ``dh_t/dh_k = prod_j diag(phi'(a_j)) W_hh`` and its norm per
  lag; :func:`gradient_norms_by_lag` measures it on random sequences;
* :func:`gradient_contributions` splits ``dL_T/dW_hh`` by lag;
* :func:`lag_task` and :func:`train_lag_task` train ``torch.nn.RNN`` to
  recall a number seen ``L`` steps earlier (the loop of the lesson's
  graded experiment, the exploding run and the remedies).

The analysis follows Bengio, Simard and Frasconi (1994), "Learning
long-term dependencies with gradient descent is difficult", and Pascanu,
Mikolov and Bengio (2013), "On the difficulty of training recurrent
neural networks" (the Jacobian product and clipping by norm); identity
initialisation of a ReLU RNN is Le, Jaitly and Hinton (2015).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from helpers.reference.rnn import rnn_backward_truncated, rnn_forward
from helpers.reference.validate import check_array, check_shape
from helpers.support.torch_runs import one_thread, seeded

__all__ = [
    "truncation_similarity",
    "random_rnn_params", "forward_states", "activation_derivative",
    "state_jacobian", "jacobian_norms", "gradient_norms_by_lag",
    "gradient_contributions",
    "BASELINE_MSE", "LEARNED_R2", "LagRun", "lag_task", "train_lag_task",
]

Params = dict[str, np.ndarray]
ACTIVATIONS = ("tanh", "relu")
INITS = ("random", "orthogonal", "identity")


# ------------------------------------------------- lesson 3: truncation

def _flat(grads: Params) -> np.ndarray:
    return np.concatenate([grads[k].ravel()
                           for k in ("W_xh", "W_hh", "b_h")])


def truncation_similarity(rho: float, ks, T: int = 200, N: int = 8,
                          D: int = 4, H: int = 16, seed: int = 0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """How close truncated BPTT comes to full BPTT, per chunk length.

    A tanh RNN whose ``W_hh`` (random, spectral radius ``rho``) reads
    ``N`` random sequences of ``T`` steps; a random upstream gradient on
    every state stands for per-step losses. For each ``k`` the parameter
    gradient of truncated BPTT
    (:func:`helpers.reference.rnn.rnn_backward_truncated`) is compared
    with the full one, both flattened into one vector ``g``.

    Returns
    -------
    cosine : ndarray, shape (len(ks),)
        ``g_k . g / (|g_k| |g|)``, 1 when the directions agree.
    rel_error : ndarray, shape (len(ks),)
        ``|g_k - g| / |g|``, 0 when truncation loses nothing.
    """
    rng = np.random.default_rng(seed)
    params = random_rnn_params(D, H, rho, "random", rng)
    x = rng.normal(size=(N, T, D))                            # (N, T, D)
    dh = rng.normal(size=(N, T, H))                           # (N, T, H)
    _, _, cache = rnn_forward(x, None, params, fast=True)
    full = _flat(rnn_backward_truncated(dh, cache, None, fast=True)[2])
    cosine, rel = [], []
    for k in ks:
        g = _flat(rnn_backward_truncated(dh, cache, int(k), fast=True)[2])
        cosine.append(g @ full / (np.linalg.norm(g) * np.linalg.norm(full)))
        rel.append(np.linalg.norm(g - full) / np.linalg.norm(full))
    return np.array(cosine), np.array(rel)


# --------------------------------------------- lesson 4: random networks

def random_rnn_params(D: int, H: int, rho: float, init: str = "random",
                      rng: np.random.Generator | int = 0,
                      input_scale: float = 1.0) -> Params:
    """A simple RNN whose ``W_hh`` has spectral radius ``rho``.

    Parameters
    ----------
    D, H : int
        Input and hidden sizes.
    rho : float
        Largest modulus of an eigenvalue of ``W_hh``.
    init : {"random", "orthogonal", "identity"}
        ``"random"``: a Gaussian matrix rescaled to spectral radius
        ``rho``; ``"orthogonal"``: ``rho * Q`` with ``Q`` a random
        rotation (every singular value equals ``rho``); ``"identity"``:
        ``rho * I``.
    rng : numpy Generator or int seed
    input_scale : float
        ``W_xh`` has entries ``N(0, input_scale**2 / D)``.

    Returns
    -------
    dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)`` (zero bias).
    """
    if init not in INITS:
        raise ValueError(f"init is {init!r}; expected one of {INITS}")
    if not rho >= 0:
        raise ValueError(f"rho must be >= 0, got {rho!r}")
    rng = np.random.default_rng(rng)
    if init == "random":
        W = rng.normal(size=(H, H))
        W *= rho / np.max(np.abs(np.linalg.eigvals(W)))
    elif init == "orthogonal":
        Q, R = np.linalg.qr(rng.normal(size=(H, H)))
        W = rho * Q * np.sign(np.diag(R))         # a uniform random rotation
    else:
        W = rho * np.eye(H)
    return {"W_xh": rng.normal(0, input_scale / np.sqrt(D), (H, D)),
            "W_hh": W, "b_h": np.zeros(H)}


def forward_states(x: np.ndarray, params: Params, activation: str = "tanh"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Run ``h_t = phi(W_xh x_t + W_hh h_{t-1} + b_h)`` from ``h_0 = 0``.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    params : dict
        ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``.
    activation : {"tanh", "relu"}

    Returns
    -------
    hs : ndarray, shape (N, T + 1, H)
        ``hs[:, 0] = h_0 = 0`` and ``hs[:, t] = h_t``.
    a : ndarray, shape (N, T, H)
        Pre-activations, ``a[:, t - 1] = a_t``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation is {activation!r}; expected one of "
                         f"{ACTIVATIONS}")
    check_array("x", x, 3, "N, T, D")
    N, T, _ = x.shape
    H = params["W_hh"].shape[0]
    xw = x @ params["W_xh"].T + params["b_h"]   # all steps at once (N,T,H)
    hs = np.zeros((N, T + 1, H))                              # (N, T+1, H)
    a = np.empty((N, T, H))                                   # (N, T, H)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            a[:, t] = xw[:, t] + hs[:, t] @ params["W_hh"].T
            hs[:, t + 1] = (np.tanh(a[:, t]) if activation == "tanh"
                            else np.maximum(a[:, t], 0.0))
    return hs, a


def activation_derivative(a: np.ndarray, activation: str = "tanh"
                          ) -> np.ndarray:
    """``phi'(a)``: ``1 - tanh(a)**2`` (at most 1) or ``1[a > 0]``."""
    if activation == "tanh":
        return 1.0 - np.tanh(a) ** 2
    if activation == "relu":
        return (a > 0).astype(float)
    raise ValueError(f"activation is {activation!r}; expected one of "
                     f"{ACTIVATIONS}")


def state_jacobian(hs: np.ndarray, W_hh: np.ndarray, t: int, k: int
                   ) -> np.ndarray:
    """``dh_t/dh_k`` of a tanh RNN along one sequence (reference).

    ``dh_t/dh_k = D_t W_hh D_{t-1} W_hh ... D_{k+1} W_hh`` with
    ``D_j = diag(1 - h_j**2)``, the latest step on the left; the identity
    when ``t == k``.

    Parameters
    ----------
    hs : ndarray, shape (T + 1, H)
        States of one sequence, ``hs[0] = h_0``, ``hs[j] = h_j``.
    W_hh : ndarray, shape (H, H)
    t, k : int
        ``0 <= k <= t <= T``.

    Returns
    -------
    J : ndarray, shape (H, H)
        ``J[i, m] = d h_t[i] / d h_k[m]``.
    """
    check_array("hs", hs, 2, "T+1, H")
    H = hs.shape[1]
    check_shape("W_hh", W_hh, (H, H), "H, H")
    if not 0 <= k <= t < hs.shape[0]:
        raise ValueError(f"need 0 <= k <= t <= T = {hs.shape[0] - 1}; "
                         f"got t={t}, k={k}")
    J = np.eye(H)
    for j in range(k + 1, t + 1):     # each new step multiplies on the left
        J = (1.0 - hs[j] ** 2)[:, None] * W_hh @ J
    return J


def jacobian_norms(hs: np.ndarray, W_hh: np.ndarray,
                   dphi: np.ndarray | None = None) -> np.ndarray:
    """Spectral norms ``||dh_T/dh_{T-l}||_2`` for the lags ``l = 1..T``.

    Accumulates the product from the last step backwards,
    ``J_l = J_{l-1} D_{T-l+1} W_hh`` with ``J_0 = I``, so all lags cost
    ``T`` matrix products.

    Parameters
    ----------
    hs : ndarray, shape (T + 1, H)
        States of one sequence, ``hs[0] = h_0``.
    W_hh : ndarray, shape (H, H)
    dphi : ndarray, shape (T, H), optional
        ``phi'(a_j)`` for ``j = 1..T``; default ``1 - hs[1:]**2`` (tanh).

    Returns
    -------
    norms : ndarray, shape (T,)
        ``norms[l - 1] = ||dh_T/dh_{T-l}||_2``.
    """
    check_array("hs", hs, 2, "T+1, H")
    T, H = hs.shape[0] - 1, hs.shape[1]
    if dphi is None:
        dphi = 1.0 - hs[1:] ** 2                              # (T, H)
    J = np.eye(H)
    norms = np.empty(T)
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(1, T + 1):
            J = J @ (dphi[T - l][:, None] * W_hh)    # D_j W_hh, j = T-l+1
            norms[l - 1] = np.linalg.norm(J, 2) if np.all(np.isfinite(J)) \
                else np.inf
    return norms


def gradient_norms_by_lag(rho: float, activation: str = "tanh",
                          T: int = 50, init: str = "random", H: int = 32,
                          D: int = 4, N: int = 8, seed: int = 0,
                          input_scale: float = 1.0) -> dict:
    """Measure ``||dh_T/dh_{T-l}||`` against the lag on random inputs.

    Parameters
    ----------
    rho : float
        Spectral radius of ``W_hh`` (see :func:`random_rnn_params`).
    activation : {"tanh", "relu"}
    T : int
        Sequence length; lags ``1 .. T`` are measured.
    init : {"random", "orthogonal", "identity"}
    H, D, N : int
        Hidden size, input size, number of random sequences.
    seed : int
    input_scale : float
        Scale of ``W_xh``; larger inputs saturate ``tanh`` more.

    Returns
    -------
    dict
        ``lags`` (T,); ``norms`` (T,), the median over the ``N``
        sequences (inf where a product overflowed); ``per_sequence``
        (N, T); ``dphi`` (N, T, H), the derivatives ``phi'(a_t)``;
        ``state_norm`` (N, T), ``||h_t||``; ``params``.
    """
    rng = np.random.default_rng(seed)
    params = random_rnn_params(D, H, rho, init, rng, input_scale)
    x = rng.normal(size=(N, T, D))                            # (N, T, D)
    hs, a = forward_states(x, params, activation)
    dphi = activation_derivative(a, activation)               # (N, T, H)
    per = np.array([jacobian_norms(hs[n], params["W_hh"], dphi[n])
                    for n in range(N)])                       # (N, T)
    norms = np.median(per, axis=0)    # robust to exact zeros (ReLU)
    return {"lags": np.arange(1, T + 1), "norms": norms,
            "per_sequence": per, "dphi": dphi,
            "state_norm": np.linalg.norm(hs[:, 1:], axis=2),
            "params": params}


def gradient_contributions(hs: np.ndarray, W_hh: np.ndarray,
                           dh_T: np.ndarray) -> np.ndarray:
    """Split ``dL/dW_hh`` of a loss on ``h_T`` alone by lag (tanh RNN).

    ``dL/dW_hh = sum_k delta_k h_{k-1}^T`` with
    ``delta_k = D_k (dh_T/dh_k)^T dL/dh_T``: the term of step ``k`` goes
    through the Jacobian product over the lag ``l = T - k``.

    Parameters
    ----------
    hs : ndarray, shape (T + 1, H)
        States of one sequence, ``hs[0] = h_0``.
    W_hh : ndarray, shape (H, H)
    dh_T : ndarray, shape (H,)
        ``dL/dh_T``.

    Returns
    -------
    norms : ndarray, shape (T,)
        ``norms[l]`` is the Frobenius norm of the term of step
        ``k = T - l`` (``l = 0 .. T-1``); their sum is ``dL/dW_hh``.
    """
    T = hs.shape[0] - 1
    out = np.empty(T)
    delta_h = dh_T.astype(float)                 # dL/dh_k, from k = T down
    for k in range(T, 0, -1):
        delta_a = delta_h * (1.0 - hs[k] ** 2)               # (H,)
        out[T - k] = np.linalg.norm(np.outer(delta_a, hs[k - 1]))
        delta_h = delta_a @ W_hh                 # back through one step
    return out


# ------------------------------------------------- lesson 4: lag task

BASELINE_MSE = 1.0 / 3.0
"""MSE of always answering 0 in :func:`lag_task`: ``E[v^2]`` for
``v ~ U(-1, 1)``."""


LEARNED_R2 = 0.9
"""A lag-task run counts as learned when its test ``r2`` reaches this."""


def lag_task(N: int, L: int, seed: int | np.random.Generator,
             dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Recall a number seen ``L`` steps ago, through noise.

    Each sequence has ``T = L + 1`` steps with two features: a number
    drawn from U(-1, 1) at every step, and a marker that is 1 at the
    first step only (the cue). The target, read after the last step, is
    the number shown with the marker, ``L`` steps earlier; the numbers in
    between are distractors. Answering 0 gives an MSE of 1/3
    (:data:`BASELINE_MSE`).

    Returns
    -------
    X : ndarray, shape (N, L + 1, 2)
    y : ndarray, shape (N, 1)
    """
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) \
            or L < 1:
        raise ValueError(f"L must be an int >= 1, got {L!r}")
    rng = np.random.default_rng(seed)
    X = np.zeros((N, L + 1, 2), dtype=dtype)                  # (N, T, 2)
    X[:, :, 0] = rng.uniform(-1.0, 1.0, (N, L + 1))
    X[:, 0, 1] = 1.0
    return X, X[:, 0, :1].copy()


@dataclass
class LagRun:
    """The record of one :func:`train_lag_task` run.

    Attributes
    ----------
    L : int
        The lag.
    losses : ndarray, shape (steps,)
        Training MSE per step; shorter when the run diverged (the last
        entry is then inf or NaN).
    grad_norms : ndarray, shape (steps,)
        Global gradient norm before clipping, per step.
    test_mse : float
        MSE on held-out sequences (inf if the run diverged).
    r2 : float
        ``1 - test_mse / (MSE of answering 0)``: 1 is perfect recall,
        0 or less is no better than the baseline.
    diverged : bool
        True if the loss became inf or NaN.
    cue_grad_ratio : float
        At initialisation, ``||dL/dx_cue|| / ||dL/dx_T||``: how much
        gradient reaches the cue compared with the last input.
    config : dict
        Keyword arguments that reproduce the run:
        ``train_lag_task(**run.config)``.
    """

    L: int
    losses: np.ndarray
    grad_norms: np.ndarray
    test_mse: float
    r2: float
    diverged: bool
    cue_grad_ratio: float
    config: dict = field(default_factory=dict)


def _make_model(H, activation, init, rho, seed):
    import torch
    with seeded(seed):
        rnn = torch.nn.RNN(2, H, batch_first=True, nonlinearity=activation)
        head = torch.nn.Linear(H, 1)
        if init != "default":
            W = random_rnn_params(2, H, rho, init, seed)["W_hh"]
            with torch.no_grad():
                rnn.weight_hh_l0.copy_(torch.from_numpy(W))
                if init == "identity":           # Le et al. (2015): b = 0
                    rnn.bias_ih_l0.zero_()
                    rnn.bias_hh_l0.zero_()
    return rnn, head


def train_lag_task(L: int, *, steps: int = 300, N: int = 128, H: int = 32,
                   lr: float = 0.1, momentum: float = 0.9,
                   clip: float | None = 1.0, activation: str = "tanh",
                   init: str = "default", rho: float = 1.0, seed: int = 0,
                   n_test: int = 1000, progress: bool = False) -> LagRun:
    """Train ``torch.nn.RNN`` + a linear head on :func:`lag_task`.

    SGD with momentum on fresh batches, the MSE at the last step as the
    loss, and optional clipping of the global gradient norm
    (``torch.nn.utils.clip_grad_norm_``). The run stops early if the loss
    becomes inf or NaN. Everything is seeded and torch runs on one thread
    during the call, so the same arguments give the same run on the same
    machine.

    Parameters
    ----------
    L : int
        The lag between the cue and the answer.
    steps, N : int
        Training steps and batch size.
    H : int
        Hidden units.
    lr, momentum : float
        SGD settings.
    clip : float or None
        Largest global gradient norm; None trains without clipping.
    activation : {"tanh", "relu"}
    init : {"default", "orthogonal", "identity"}
        ``W_hh``: torch's uniform init, ``rho * Q``, or ``rho * I`` (the
        identity init also zeroes the biases).
    rho : float
        Spectral radius for the orthogonal and identity inits.
    seed : int
        Seeds the weights and the data.
    n_test : int
        Held-out sequences for ``test_mse`` and ``r2``.
    progress : bool
        Show a tqdm bar over the steps.

    Returns
    -------
    LagRun
    """
    with one_thread():
        return _train(L, steps, N, H, lr, momentum, clip, activation, init,
                      rho, seed, n_test, progress)


def _train(L, steps, N, H, lr, momentum, clip, activation, init, rho,
           seed, n_test, progress) -> LagRun:
    import torch
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation is {activation!r}; expected one of "
                         f"{ACTIVATIONS}")
    if init not in ("default",) + INITS[1:]:
        raise ValueError(f"init is {init!r}; expected 'default', "
                         f"'orthogonal' or 'identity'")
    config = dict(L=int(L), steps=steps, N=N, H=H, lr=lr,
                  momentum=momentum, clip=clip, activation=activation,
                  init=init, rho=rho, seed=seed, n_test=n_test)
    rnn, head = _make_model(H, activation, init, rho, seed)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    data_rng = np.random.default_rng([seed, L])
    losses, norms = [], []
    cue_ratio = float("nan")
    it = range(steps)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"L = {L}", leave=False)
    diverged = False
    for step in it:
        X, y = (torch.from_numpy(a) for a in lag_task(N, L, data_rng))
        X.requires_grad_(step == 0)
        _, h_n = rnn(X)                                       # (1, N, H)
        loss = torch.nn.functional.mse_loss(head(h_n[0]), y)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            g = X.grad.norm(dim=2).mean(dim=0)                # (T,)
            cue_ratio = float(g[0] / g[-1])
        norm = torch.nn.utils.clip_grad_norm_(
            params, clip if clip is not None else float("inf"))
        losses.append(loss.item())
        norms.append(float(norm))
        if not np.isfinite(losses[-1]):
            diverged = True
            break
        opt.step()
    X, y = (torch.from_numpy(a) for a in lag_task(
        n_test, L, np.random.default_rng([seed, L, 1])))
    with torch.no_grad():
        pred = head(rnn(X)[1][0])
        test_mse = float(torch.mean((pred - y) ** 2))
    if diverged or not np.isfinite(test_mse):
        test_mse, diverged = float("inf"), True
    r2 = 1.0 - test_mse / float(torch.mean(y ** 2))
    return LagRun(L=int(L), losses=np.array(losses),
                  grad_norms=np.array(norms), test_mse=test_mse, r2=r2,
                  diverged=diverged, cue_grad_ratio=cue_ratio,
                  config=config)
