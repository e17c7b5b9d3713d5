"""Interactive explorers for lessons 3 and 4 (ipywidgets).

Both follow :func:`helpers.figures.widgets.interactive_figure`: the figure for
the default values is drawn first as an ordinary output, then the
controls are shown, and moving a control redraws the same output. A
notebook executed without a widget frontend therefore still shows a
complete figure.

Lesson 3: :func:`truncation_explorer` (chunk length and spectral radius
against the error of truncated BPTT).
Lesson 4: :func:`gradient_explorer` (spectral radius, activation,
sequence length and initialisation against the gradient norm per lag).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from helpers.support import experiments
from helpers.figures import gradient_plots
from helpers.figures.widgets import interactive_figure

__all__ = ["draw_truncation", "truncation_explorer", "draw_gradients",
           "gradient_explorer"]

KS = (1, 2, 3, 5, 10, 15, 20, 30, 50, 100, 150, 200)


def draw_truncation(rho: float = 0.9, k: int = 10, T: int = 200,
                    ks=KS) -> Figure:
    """Truncated vs full BPTT for one spectral radius, ``k`` marked."""
    ks = [int(v) for v in ks if v < T] + [T]      # k = T: full BPTT
    cos, rel = experiments.truncation_similarity(rho, ks, T=T)
    fig = gradient_plots.plot_truncation(
        ks, {f"{rho:.2f}": (cos, rel)}, k=k, T=T)
    i = int(np.argmin(np.abs(np.array(ks) - k)))
    fig.suptitle(f"T = {T}, spectral radius {rho:.2f}: with k = {ks[i]} "
                 f"the cosine is {cos[i]:.3f} and the relative error "
                 f"{rel[i]:.3f}", fontsize=10)
    return fig


def truncation_explorer(rho: float = 0.9, k: int = 10, T: int = 200):
    """Slide the chunk length ``k`` and the spectral radius of ``W_hh``.

    Draws :func:`draw_truncation` for the default values, then shows the
    controls. Returns the box of controls (see
    :func:`helpers.figures.widgets.interactive_figure`).
    """
    import ipywidgets as widgets

    ks = [v for v in KS if v < T] + [T]
    return interactive_figure(
        lambda rho, k: draw_truncation(rho, k, T, ks),
        rho=widgets.FloatSlider(value=rho, min=0.3, max=2.5, step=0.1,
                                description="rho"),
        k=widgets.SelectionSlider(options=ks,
                                  value=min(ks, key=lambda v: abs(v - k)),
                                  description="chunk k"))


def draw_gradients(rho: float = 1.0, activation: str = "tanh",
                   T: int = 50, init: str = "random", seed: int = 0
                   ) -> Figure:
    """Measure and plot ``||dh_T/dh_{T-l}||`` for one setting.

    See :func:`helpers.support.experiments.gradient_norms_by_lag` and
    :func:`helpers.figures.gradient_plots.plot_gradient_explorer`.
    """
    result = experiments.gradient_norms_by_lag(
        rho, activation=activation, T=T, init=init, seed=seed)
    return gradient_plots.plot_gradient_explorer(result, rho, activation,
                                                 init)


def gradient_explorer(rho: float = 1.0, activation: str = "tanh",
                      T: int = 50, init: str = "random", seed: int = 0):
    """The gradient explorer of lesson 4.

    Controls: the spectral radius ``rho`` of ``W_hh``, the activation
    (tanh or ReLU), the sequence length ``T`` and the initialisation of
    ``W_hh`` (random Gaussian, random orthogonal, or ``rho * I``). The
    plot shows the gradient norm per lag. The figure for the default
    values is drawn first, so the explorer also works as a static figure.

    Returns
    -------
    ipywidgets.VBox
        The box of controls; its ``redraw()`` redraws with the current
        values and returns the figure.
    """
    import ipywidgets as widgets

    return interactive_figure(
        lambda rho, activation, T, init: draw_gradients(
            rho, activation, T, init, seed),
        rho=widgets.FloatSlider(value=rho, min=0.1, max=3.0, step=0.05,
                                description="rho"),
        activation=widgets.Dropdown(options=["tanh", "relu"],
                                    value=activation,
                                    description="activation"),
        T=widgets.IntSlider(value=T, min=5, max=200, step=5,
                            description="T"),
        init=widgets.Dropdown(options=["random", "orthogonal", "identity"],
                              value=init, description="init W_hh"))
