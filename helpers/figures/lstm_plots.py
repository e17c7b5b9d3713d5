"""Figures for lesson 6, "LSTM".

Every function builds and returns a :class:`matplotlib.figure.Figure`
without touching pyplot's global state, with the colour code of
:mod:`helpers.figures.plots` (inputs red, hidden states green, outputs
blue); the cell state, the conveyor belt, is drawn in gold.

* :func:`plot_lstm_cell`: one LSTM step, the belt on top, the four gates
  below it;
* :func:`plot_memory_norms`: ``||dc_t/dc_0||_2`` of LSTMs against
  ``||dh_t/dh_0||_2`` of the simple RNN, log scale
  (:mod:`helpers.support.lstm_memory`);
* :func:`plot_adding_sweep`: the long-range experiment
  (:mod:`helpers.support.long_range`), test MSE against the length,
  every seed, the median and the spread.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from helpers.figures.axes import label_axes
from helpers.figures.plots import ACCENT, HIDDEN, INPUT, OUTPUT

__all__ = ["plot_lstm_cell", "plot_memory_norms", "plot_adding_sweep"]

BELT = "#f5d76e"
COLORS = {"rnn": "#7f8c8d", "lstm": "#2471a3"}


def _box(ax, x, y, text, color, w=0.7, h=0.5, fontsize=10):
    """A rounded box centred at (x, y) with ``text`` inside."""
    ax.add_patch(FancyBboxPatch(
        (x - w / 2, y - h / 2), w, h, facecolor=color,
        boxstyle="round,pad=0.02,rounding_size=0.08", edgecolor="#333333"))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, text="", color="#333333", offset=(0.0, 0.0),
           fontsize=8):
    """An arrow from ``start`` to ``end`` with an optional label."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>",
                                 mutation_scale=10, color=color))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0],
                (start[1] + end[1]) / 2 + offset[1], text,
                fontsize=fontsize, color=color, ha="center", va="center")


def plot_lstm_cell() -> Figure:
    """One LSTM step: the cell state runs along the top (the belt), with
    one multiplication by ``f_t`` and one addition of ``i_t * g_t``; the
    gates read ``[h_{t-1}, x_t]``; ``h_t = o_t * tanh(c_t)``."""
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.add_patch(Rectangle(
        (0.4, 3.75), 8.2, 0.5, facecolor=BELT, alpha=0.35,
        edgecolor="none"))
    _box(ax, 0, 4, r"$c_{t-1}$", BELT, w=0.8)
    _box(ax, 2.2, 4, r"$\times$", "white", w=0.5, h=0.45, fontsize=13)
    _box(ax, 4.6, 4, r"$+$", "white", w=0.5, h=0.45, fontsize=13)
    _box(ax, 9.0, 4, r"$c_t$", BELT, w=0.7)
    _arrow(ax, (0.4, 4), (1.95, 4))
    _arrow(ax, (2.45, 4), (4.35, 4))
    _arrow(ax, (4.85, 4), (8.65, 4), "the belt: no matrix, no squashing",
           offset=(0, 0.38), fontsize=8)
    _box(ax, 0, 0, r"$h_{t-1}$", HIDDEN, w=0.8)
    _box(ax, 0, -1.1, r"$x_t$", INPUT, w=0.8)
    gates = [(2.2, r"$f_t$", r"$\sigma$", "forget"),
             (3.6, r"$i_t$", r"$\sigma$", "input"),
             (4.9, r"$g_t$", "tanh", "candidate"),
             (6.4, r"$o_t$", r"$\sigma$", "output")]
    for x, name, act, label in gates:
        _box(ax, x, 1.4, f"{act}\n{name}", "white", w=0.9, h=0.8)
        ax.text(x, 0.78, label, ha="center", fontsize=8)
        _arrow(ax, (0.4, -0.4), (x - 0.1, 1.0), color="#999999")
    _box(ax, 4.25, 2.7, r"$\times$", "white", w=0.5, h=0.45, fontsize=13)
    _arrow(ax, (2.2, 1.8), (2.2, 3.77), r"$f_t$", offset=(0.25, 0))
    _arrow(ax, (3.6, 1.8), (4.1, 2.5))
    _arrow(ax, (4.9, 1.8), (4.4, 2.5))
    _arrow(ax, (4.3, 2.93), (4.55, 3.77), r"$i_t \odot g_t$",
           offset=(-0.55, 0.05))
    _box(ax, 7.6, 2.7, "tanh", "white", w=0.8, h=0.45)
    _box(ax, 7.6, 1.4, r"$\times$", "white", w=0.5, h=0.45, fontsize=13)
    _arrow(ax, (7.6, 3.77), (7.6, 2.93))
    _arrow(ax, (7.6, 2.47), (7.6, 1.63))
    _arrow(ax, (6.85, 1.4), (7.35, 1.4))
    _box(ax, 9.0, 1.4, r"$h_t$", HIDDEN, w=0.7)
    _box(ax, 9.0, 0.1, r"$y_t$", OUTPUT, w=0.7)
    _arrow(ax, (7.85, 1.4), (8.65, 1.4))
    _arrow(ax, (9.0, 1.15), (9.0, 0.35))
    ax.text(1.1, -1.2, r"every gate reads $[h_{t-1}, x_t]$: "
            r"$\sigma(W x_t + U h_{t-1} + b)$", fontsize=9, color="#555555")
    ax.set_xlim(-0.6, 9.6)
    ax.set_ylim(-1.6, 4.7)
    ax.set_title(r"one LSTM step: $c_t = f_t \odot c_{t-1} + i_t \odot g_t$"
                 r", $h_t = o_t \odot \tanh(c_t)$", fontsize=11)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def plot_memory_norms(curves: Mapping[str, np.ndarray],
                      rnn: np.ndarray, direct: Mapping[str, np.ndarray]
                      | None = None, title: str = "") -> Figure:
    """Gradient norms against the distance ``T``, log scale.

    Parameters
    ----------
    curves : dict
        ``{label: ||dc_T/dc_0||_2 per T}`` of LSTMs, shape (T,) each.
    rnn : ndarray, shape (T,)
        ``||dh_T/dh_0||_2`` of the simple RNN on the same inputs.
    direct : dict, optional
        ``{label: ||prod diag(f_t)||_2 per T}``, drawn dotted in the
        colour of the curve with the same label.
    """
    import matplotlib

    fig = Figure(figsize=(7.2, 4), layout="constrained")
    ax = fig.subplots()
    Ts = np.arange(1, len(rnn) + 1)
    ax.semilogy(Ts, np.maximum(rnn, 1e-300), color=COLORS["rnn"],
                linewidth=2, label=r"RNN $\|\partial h_T/\partial h_0\|_2$")
    cmap = matplotlib.colormaps["viridis"]
    for k, (label, norms) in enumerate(curves.items()):
        color = cmap(k / max(len(curves) - 1, 1) * 0.85)
        ax.semilogy(Ts, np.maximum(norms, 1e-300), color=color,
                    label=r"LSTM $\|\partial c_T/\partial c_0\|_2$, " + label)
        if direct and label in direct:
            ax.semilogy(Ts, np.maximum(direct[label], 1e-300), ":",
                        color=color)
    if direct:
        ax.plot([], [], ":", color="#555555",
                label=r"dotted: direct path $\|\prod_t \mathrm{diag}(f_t)"
                      r"\|_2$")
    ax.axhline(1, color="#999999", linewidth=0.6)
    ax.set_xlabel("distance T (steps)")
    ax.set_ylabel("spectral norm (log scale)")
    ax.set_ylim(bottom=max(ax.get_ylim()[0], 1e-40))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower left")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_adding_sweep(sweep: Mapping[tuple, list], baseline: float,
                      solved: float | None = None) -> Figure:
    """Left: test MSE against the length, every seed a dot, the median a
    line, the band from the lowest to the highest seed. Right: the
    training loss of the first seed at the longest length.

    Parameters
    ----------
    sweep : dict
        ``{(cell, T): [run, ...]}`` with ``run.test_mse`` and
        ``run.losses`` (:func:`helpers.support.long_range.adding_sweep`).
    baseline : float
        MSE of always predicting 1, dashed.
    solved : float, optional
        The MSE that counts as solved, dotted.
    """
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    cells = sorted({c for c, _ in sweep}, key=lambda c: c != "rnn")
    longest = max(T for _, T in sweep)
    for cell in cells:
        Ts = sorted(T for c, T in sweep if c == cell)
        mse = [np.array([r.test_mse for r in sweep[(cell, T)]])
               for T in Ts]
        color = COLORS.get(cell, "#333333")
        ax1.fill_between(Ts, [m.min() for m in mse], [m.max() for m in mse],
                         color=color, alpha=0.2)
        for T, m in zip(Ts, mse):
            ax1.plot([T] * len(m), m, ".", color=color, markersize=6)
        ax1.plot(Ts, [np.median(m) for m in mse], "o-", color=color,
                 label=f"{cell.upper()} (median, band = all seeds)")
        run = sweep[(cell, longest)][0]
        smooth = np.convolve(run.losses, np.ones(20) / 20, mode="valid")
        ax2.semilogy(np.arange(len(smooth)) + 1, smooth, color=color,
                     label=f"{cell.upper()}, T = {longest}, seed "
                           f"{run.seed}")
    for ax in (ax1, ax2):
        ax.axhline(baseline, color=ACCENT, linestyle="--",
                   label=f"always 1 ({baseline:.3f})")
    if solved is not None:
        ax1.axhline(solved, color="#555555", linestyle=":",
                    label=f"solved ({solved:.3f})")
    label_axes(ax1, "sequence length T", "test MSE (log scale)",
               yscale="log")
    label_axes(ax2, "update", "training MSE (running mean of 20)")
    return fig
