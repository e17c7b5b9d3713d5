"""The explorers of lessons 3 and 4 build, draw a static figure first,
redraw when a control moves, and plot measurements that are right.

Tests :mod:`helpers.gradient_widgets`, the figures of
:mod:`helpers.gradient_plots` it draws, and the measurements of
:mod:`helpers.experiments` behind them.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import experiments, gradient_plots, gradient_widgets, widgets
from helpers import rnn as ref


@pytest.fixture
def shown(monkeypatch):
    """Everything the widgets pass to IPython's display, in order."""
    out = []

    def fake_display(obj, display_id=False):
        out.append(obj)
        return None

    monkeypatch.setattr(widgets, "display", fake_display)
    return out


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


def _controls(box) -> list:
    """The controls of an explorer box (not its note or output area)."""
    return [c for c in box.children if getattr(c, "description", "")]


def _curve(fig: Figure, label_start: str) -> np.ndarray:
    ax = fig.axes[0]
    for line in ax.get_lines():
        if line.get_label().startswith(label_start):
            return np.asarray(line.get_ydata(), dtype=float)
    raise AssertionError(f"no line labelled {label_start!r}")


# ---------------------------------------------------------- the explorer

def test_gradient_explorer_draws_static_figure_first(shown):
    import ipywidgets

    box = gradient_widgets.gradient_explorer()
    assert isinstance(shown[0], Figure), "the static figure comes first"
    assert shown[1] is box and isinstance(box, ipywidgets.VBox)
    names = [c.description for c in _controls(box)]
    assert names == ["rho", "activation", "T", "init W_hh"]
    assert _png(shown[0]).startswith(b"\x89PNG")
    # the static figure holds the default measurement
    expected = experiments.gradient_norms_by_lag(1.0, "tanh", T=50,
                                                 init="random")["norms"]
    assert np.allclose(_curve(shown[0], "measured"), expected)


def test_gradient_explorer_redraws_when_a_control_moves(shown):
    box = gradient_widgets.gradient_explorer()
    rho, activation, T, init = _controls(box)
    activation.value = "relu"
    init.value = "identity"
    T.value = 30
    last = shown[-1]
    assert isinstance(last, Figure) and last is not shown[0]
    assert "relu, identity" in last.axes[0].get_title()
    # ReLU with W_hh = I: active units pass the gradient unchanged
    assert np.allclose(_curve(last, "measured")[:10], 1.0)
    rho.value = 0.5
    fig = box.redraw()
    assert "T = 30" in fig.axes[0].get_title()
    assert _curve(fig, "measured")[-1] < 1e-3


def test_gradient_explorer_survives_overflow(shown):
    fig = gradient_widgets.draw_gradients(3.0, "relu", 200, "random")
    assert "norm at lag 200" in fig.axes[0].get_title()
    assert _png(fig).startswith(b"\x89PNG")


def test_truncation_explorer_static_then_controls(shown):
    box = gradient_widgets.truncation_explorer(rho=0.9, k=10, T=60)
    assert isinstance(shown[0], Figure)
    assert [c.description for c in _controls(box)] == ["rho", "chunk k"]
    assert "k = 10" in shown[0]._suptitle.get_text()
    _controls(box)[1].value = 60                   # k = T: full BPTT
    assert "cosine is 1.000" in shown[-1]._suptitle.get_text()


# -------------------------------------------------- the figures all draw

@pytest.mark.parametrize("draw", [
    lambda: gradient_plots.plot_bptt_graph(4),
    lambda: gradient_plots.plot_bptt_graph(8, k=3),
    lambda: gradient_plots.plot_tied_gradients(np.arange(1.0, 5.0), 6.0),
    lambda: gradient_plots.plot_grad_check(
        {"right": {"x": 1e-10, "W": 0.0}, "wrong": {"x": 1.0, "W": 0.5}}),
    lambda: gradient_plots.plot_activation_derivatives(),
    lambda: gradient_plots.plot_jacobian_norms(
        {"a": np.array([1.0, 0.1, np.inf])}, reference={"a": 2.0}),
    lambda: gradient_plots.plot_gradient_by_lag(
        np.array([1.0, 0.5, 0.0]), marks={"two": 2}),
    lambda: gradient_plots.plot_remedies({"m": {1: 0.5, 2: -3.0}},
                                         threshold=0.9),
])
def test_figures_draw(draw):
    fig = draw()
    assert isinstance(fig, Figure)
    assert _png(fig).startswith(b"\x89PNG")


def test_lag_figures_draw_a_diverged_run():
    ok = experiments.train_lag_task(2, steps=20, N=8, H=4, n_test=20)
    bad = experiments.train_lag_task(3, steps=60, N=8, H=4, n_test=20,
                                     init="orthogonal", rho=3.0, clip=None,
                                     lr=1.0)
    assert bad.diverged and not np.isfinite(bad.losses[-1])
    assert bad.r2 == -np.inf
    fig = gradient_plots.plot_explosion({"ok": ok, "bad": bad}, 1 / 3)
    assert any("loss = " in t.get_text() for t in fig.axes[0].texts)
    _png(fig)
    _png(gradient_plots.plot_lag_sweep({2: ok, 3: bad}, 0.9, 3, 1 / 3))


# ----------------------------------------- the measurements are correct

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
