"""The explorers of lessons 3 and 4 build, draw a static figure first,
and redraw when a control moves.

Tests :mod:`helpers.figures.gradient_widgets` and the figures of
:mod:`helpers.figures.gradient_plots` it draws; the measurements of
:mod:`helpers.support.experiments` behind them are tested in
test_experiments.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers.support import experiments
from helpers.figures import gradient_plots, gradient_widgets, widgets


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
