"""Figures of lesson 7, "GRU".

* :func:`plot_update_gate`: one unit of a GRU state under update gates
  that keep the state or replace it by the candidate.
* :func:`plot_param_counts`: parameters of the RNN, the GRU and the
  LSTM against the hidden size.
* :func:`plot_comparison`: the side-by-side training of the three cells
  (loss curves with their spread over seeds, final scores per seed, wall
  time per update).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from helpers.figures import plots                     # noqa: F401 (PNG)
from helpers.figures.axes import plot_losses_over_seeds

__all__ = ["COLORS", "plot_update_gate", "plot_param_counts",
           "plot_comparison"]

#: One colour per cell, in every figure of the lesson.
COLORS = {"rnn": "#7f8c8d", "gru": "#c0392b", "lstm": "#2c5aa0"}
NAMES = {"rnn": "simple RNN", "gru": "GRU", "lstm": "LSTM"}


def plot_update_gate(traces: Mapping[str, np.ndarray],
                     candidate: np.ndarray | None = None) -> Figure:
    """``{label: h (T + 1,)}``: one unit's state over time, from h_0;
    ``candidate (T,)``, drawn as dots, is what the unit would jump to."""
    fig = Figure(figsize=(7.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for label, h in traces.items():
        ax.plot(np.arange(len(h)), h, marker=".", label=label)
    if candidate is not None:
        ax.plot(np.arange(1, len(candidate) + 1), candidate, "x",
                color="#999999", label="candidate h~_t")
    ax.set_xlabel("time step t")
    ax.set_ylabel("state h_t (one unit)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("the update gate z decides how much of the state the "
                 "candidate replaces", fontsize=10)
    return fig


def plot_param_counts(Hs: Sequence[int], counts: Mapping[str, Sequence[int]],
                      D: int) -> Figure:
    """``counts[cell][k]`` parameters at hidden size ``Hs[k]``."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for cell, n in counts.items():
        ax.plot(Hs, n, marker="o", color=COLORS.get(cell),
                label=NAMES.get(cell, cell))
    ax.set_xlabel("hidden size H")
    ax.set_ylabel("parameters")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(f"D = {D}: the GRU has 3x, the LSTM 4x the RNN's "
                 f"parameters", fontsize=10)
    return fig


def plot_comparison(runs: Mapping[str, Sequence], baseline: float,
                    smooth: int = 10) -> Figure:
    """Three panels for ``runs = {cell: [CellRun per seed]}``.

    Left: training loss (moving average over ``smooth`` updates), the
    median over seeds as a line and the lowest to highest seed as a
    band, with the ``baseline`` loss. Middle: the test R^2 of every seed
    (dots) and the median (bar). Right: the median wall time per update.
    """
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={
        "width_ratios": [2.2, 1, 1]})
    losses = {f"{NAMES.get(cell, cell)} (H = {rs[0].H}, "
              f"{rs[0].n_params} parameters)": [r.losses for r in rs]
              for cell, rs in runs.items()}
    plot_losses_over_seeds(
        ax1, losses, [COLORS.get(cell) for cell in runs], smooth, baseline,
        f"answering 0 ({baseline:.3f})", "training MSE (moving average)",
        "median over seeds; band: lowest to highest seed")
    for k, (cell, rs) in enumerate(runs.items()):
        color = COLORS.get(cell)
        r2 = np.array([r.r2 for r in rs])
        ax2.bar(k, np.median(r2), color=color, alpha=0.5)
        ax2.plot(np.full(len(r2), k), r2, "o", color=color)
        ms = 1e3 * np.median([r.seconds_per_update for r in rs])
        ax3.bar(k, ms, color=color)
        ax3.text(k, ms, f"{ms:.1f}", ha="center", va="bottom", fontsize=9)
    names = [NAMES.get(c, c) for c in runs]
    ax2.set_xticks(range(len(runs)), names)
    ax2.axhline(0, color="#333333", linewidth=0.8)
    ax2.set_ylabel("test $R^2$ (1 = perfect recall)")
    ax2.set_title("final score: seeds (dots), median (bar)", fontsize=10)
    ax2.grid(alpha=0.3, axis="y")
    ax3.set_xticks(range(len(runs)), names)
    ax3.set_ylabel("ms per update")
    ax3.set_title("wall time per update (median)", fontsize=10)
    ax3.grid(alpha=0.3, axis="y")
    return fig
