"""The measurements of :mod:`helpers.support.experiments` (lessons 3 and 4) are
right: Jacobian norms against autograd, gradient contributions against
BPTT, the lag task and its training run."""

from __future__ import annotations

import numpy as np

from helpers.support import experiments
from helpers.reference import rnn as ref


def _states(rng, T, H, D=3):
    p = experiments.random_rnn_params(D, H, 1.0, "random", rng)
    p["b_h"] = 0.2 * rng.normal(size=H)
    x = rng.normal(size=(2, T, D))
    hs, _ = experiments.forward_states(x, p)
    return x, hs, p


def test_forward_states_matches_the_reference_rnn():
    rng = np.random.default_rng(0)
    x, hs, p = _states(rng, 7, 4)
    h, _, _ = ref.rnn_forward(x, None, p)
    assert np.allclose(hs[:, 1:], h) and not hs[:, 0].any()


def test_jacobian_norms_match_state_jacobian_and_autograd():
    import torch
    rng = np.random.default_rng(1)
    x, hs, p = _states(rng, 6, 4)
    T = 6
    norms = experiments.jacobian_norms(hs[0], p["W_hh"])
    for l in range(1, T + 1):
        J = experiments.state_jacobian(hs[0], p["W_hh"], T, T - l)
        assert np.isclose(norms[l - 1], np.linalg.norm(J, 2))
    # autograd: h_T as a function of h_2
    W_xh, W_hh, b = (torch.from_numpy(p[k]) for k in ("W_xh", "W_hh",
                                                      "b_h"))

    def run(h):
        for j in range(3, T + 1):
            h = torch.tanh(W_xh @ torch.from_numpy(x[0, j - 1]) + W_hh @ h
                           + b)
        return h

    J = torch.autograd.functional.jacobian(run, torch.from_numpy(hs[0, 2]))
    assert np.allclose(experiments.state_jacobian(hs[0], p["W_hh"], T, 2),
                       J.numpy())


def test_relu_derivatives_give_the_relu_jacobian():
    rng = np.random.default_rng(2)
    p = experiments.random_rnn_params(3, 5, 1.0, "random", rng)
    x = rng.normal(size=(1, 4, 3))
    hs, a = experiments.forward_states(x, p, "relu")
    dphi = experiments.activation_derivative(a, "relu")[0]
    J = np.eye(5)
    for j in range(1, 5):
        J = dphi[j - 1][:, None] * p["W_hh"] @ J
    norms = experiments.jacobian_norms(hs[0], p["W_hh"], dphi)
    assert np.isclose(norms[-1], np.linalg.norm(J, 2))


def test_spectral_radius_of_random_params():
    for init in ("random", "orthogonal", "identity"):
        p = experiments.random_rnn_params(3, 8, 0.7, init, 0)
        rho = np.max(np.abs(np.linalg.eigvals(p["W_hh"])))
        assert np.isclose(rho, 0.7)
    Q = experiments.random_rnn_params(3, 8, 1.0, "orthogonal", 0)["W_hh"]
    assert np.allclose(Q @ Q.T, np.eye(8))


def test_gradient_contributions_add_up_to_bptt():
    rng = np.random.default_rng(3)
    x, hs, p = _states(rng, 8, 5)
    dh_T = rng.normal(size=5)
    dh = np.zeros((1, 8, 5))
    dh[0, -1] = dh_T
    _, _, cache = ref.rnn_forward(x[:1], None, p)
    full = ref.rnn_backward(dh, cache)[2]["W_hh"]
    # rebuild the terms and compare their sum, and their norms
    terms, delta = [], dh_T
    for k in range(8, 0, -1):
        da = delta * (1 - hs[0, k] ** 2)
        terms.append(np.outer(da, hs[0, k - 1]))
        delta = da @ p["W_hh"]
    assert np.allclose(sum(terms), full)
    got = experiments.gradient_contributions(hs[0], p["W_hh"], dh_T)
    assert np.allclose(got, [np.linalg.norm(t) for t in terms])


def test_truncation_similarity_is_exact_at_k_equal_T():
    cos, rel = experiments.truncation_similarity(0.9, [1, 5, 40], T=40)
    assert np.isclose(cos[-1], 1.0) and rel[-1] < 1e-12
    assert rel[0] > rel[1] > rel[2]


def test_lag_task_target_is_the_cue():
    X, y = experiments.lag_task(5, 7, seed=0)
    assert X.shape == (5, 8, 2) and y.shape == (5, 1)
    assert np.array_equal(y[:, 0], X[:, 0, 0])
    assert X[:, 0, 1].all() and not X[:, 1:, 1].any()
    assert np.all(np.abs(X[..., 0]) <= 1)


def test_train_lag_task_is_reproducible():
    import torch
    threads = torch.get_num_threads()
    a = experiments.train_lag_task(3, steps=30, N=16, H=8, n_test=50)
    b = experiments.train_lag_task(**a.config)
    assert a.r2 == b.r2 and np.array_equal(a.losses, b.losses)
    assert torch.get_num_threads() == threads      # the setting is restored
    assert 0 < a.cue_grad_ratio < 10 and len(a.grad_norms) == 30
