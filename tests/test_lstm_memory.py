"""helpers/support/lstm_memory.py and lesson 6's figures: the propagated
Jacobians dc_t/dc_0 and dh_t/dh_0 equal torch's autograd, the direct path
is the product of the forget gates, and the figures draw."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.figures import lstm_plots, lstm_widgets
from helpers.reference.lstm import init_lstm_params
from helpers.reference.rnn import init_rnn_params
from helpers.support import long_range, lstm_memory


def _lstm_c(x, p, c0):
    """c_T of an LSTM as a torch function of c_0 (h_0 = 0)."""
    W, U, b = (torch.from_numpy(p[k]) for k in ("W", "U", "b"))
    H = U.shape[1]
    h, c = torch.zeros(H, dtype=torch.float64), c0
    for x_t in torch.from_numpy(x):
        a = W @ x_t + U @ h + b
        i, f = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H])
        g, o = torch.tanh(a[2 * H:3 * H]), torch.sigmoid(a[3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
    return c


def test_lstm_norms_equal_autograd_and_the_direct_path():
    rng = np.random.default_rng(0)
    T, D, H = 7, 3, 5
    p = init_lstm_params(D, H, rng)
    p["b"][H:2 * H] = 2.0
    x = rng.normal(size=(2, T, D))
    res = lstm_memory.lstm_memory_norms(x, p)
    for n in range(2):
        for t in (1, 4, T):
            J = torch.autograd.functional.jacobian(
                lambda c0: _lstm_c(x[n, :t], p, c0),
                torch.zeros(H, dtype=torch.float64)).numpy()
            assert np.isclose(res["full"][n, t - 1], np.linalg.norm(J, 2),
                              rtol=1e-10)
        direct = np.prod(res["f"][n], axis=0).max()
        assert np.isclose(res["direct"][n, -1], direct)
        assert np.all(res["direct"][n] <= 1)


def test_rnn_norms_equal_autograd():
    rng = np.random.default_rng(1)
    T, D, H = 6, 2, 4
    p = init_rnn_params(D, H, rng)
    x = rng.normal(size=(1, T, D))
    W_xh, W_hh, b = (torch.from_numpy(p[k]) for k in ("W_xh", "W_hh",
                                                      "b_h"))

    def h_T(h):
        for x_t in torch.from_numpy(x[0]):
            h = torch.tanh(W_xh @ x_t + W_hh @ h + b)
        return h

    J = torch.autograd.functional.jacobian(
        h_T, torch.zeros(H, dtype=torch.float64)).numpy()
    norms = lstm_memory.rnn_memory_norms(x, p)
    assert np.isclose(norms[0, -1], np.linalg.norm(J, 2), rtol=1e-10)


def test_memory_norms_obey_the_bounds_and_the_forget_bias():
    low = lstm_memory.memory_norms(T=40, H=8, forget_bias=0.0, n_seq=3)
    high = lstm_memory.memory_norms(T=40, H=8, forget_bias=4.0, n_seq=3)
    assert np.all(low["rnn"] <= low["W_hh_norm"] ** np.arange(1, 41)
                  * (1 + 1e-9))
    assert high["f_mean"] > 0.9 > 0.6 > low["f_mean"]
    assert high["lstm"][-1] > 1e6 * low["lstm"][-1]
    assert np.array_equal(low["rnn"], high["rnn"])   # same RNN, inputs


def test_the_figures_draw():
    assert isinstance(lstm_plots.plot_lstm_cell(), Figure)
    assert isinstance(lstm_widgets.draw_memory(2.0, T=20, H=4), Figure)
    sweep = long_range.adding_sweep((4, 6), (0, 1), H=3, steps=25, N=4,
                                    n_test=10, progress=False)
    fig = lstm_plots.plot_adding_sweep(sweep, long_range.BASELINE_MSE,
                                       long_range.SOLVED_MSE)
    assert len(fig.axes) == 2


def test_the_memory_explorer_redraws():
    box = lstm_widgets.memory_explorer(forget_bias=0.0, T=20, H=4)
    box.children[0].value = 3.0                   # the forget-bias slider
    assert isinstance(box.redraw(), Figure)
