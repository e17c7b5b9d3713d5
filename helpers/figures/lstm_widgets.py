"""The memory explorer of lesson 6 (ipywidgets).

It follows :func:`helpers.figures.widgets.interactive_figure`: the figure
for the default values is drawn first as an ordinary output, then the
controls; a notebook executed without a widget frontend still shows a
complete figure.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from helpers.figures import lstm_plots
from helpers.figures.widgets import interactive_figure
from helpers.support.lstm_memory import memory_norms

__all__ = ["draw_memory", "memory_explorer"]


def draw_memory(forget_bias: float = 1.0, T: int = 100, H: int = 32,
                seed: int = 0) -> Figure:
    """``||dc_T/dc_0||_2`` of an LSTM whose forget-gate bias is
    ``forget_bias`` against ``||dh_T/dh_0||_2`` of the simple RNN on the
    same inputs (:func:`helpers.support.lstm_memory.memory_norms`)."""
    res = memory_norms(T=T, H=H, forget_bias=forget_bias, seed=seed)
    label = f"b_f = {forget_bias:g}"
    return lstm_plots.plot_memory_norms(
        {label: res["lstm"]}, res["rnn"], {label: res["direct"]},
        title=f"forget bias {forget_bias:g}: mean f_t = "
              f"{res['f_mean']:.3f}; at T = {T} the LSTM keeps "
              f"{res['lstm'][-1]:.1e}, the RNN {res['rnn'][-1]:.1e}")


def memory_explorer(forget_bias: float = 1.0, T: int = 100, H: int = 32,
                    seed: int = 0):
    """Slide the LSTM's forget-gate bias and the distance ``T``.

    Returns the box of controls (see
    :func:`helpers.figures.widgets.interactive_figure`).
    """
    import ipywidgets as widgets

    return interactive_figure(
        lambda forget_bias, T: draw_memory(forget_bias, T, H, seed),
        forget_bias=widgets.FloatSlider(value=forget_bias, min=-3.0,
                                        max=6.0, step=0.5,
                                        description="forget bias"),
        T=widgets.IntSlider(value=T, min=10, max=300, step=10,
                            description="T"))
