"""Figures for lesson 8, "RNNs at work" (matplotlib, no pyplot).

Each function returns a :class:`matplotlib.figure.Figure`, as in
:mod:`helpers.figures.plots`. Dimension letters: V characters, S seeds.

* :func:`plot_bits_curve`: validation bits per character against
  training time, with the n-gram baselines;
* :func:`plot_temperature_probs`: the next-character distribution at
  several temperatures;
* :func:`plot_digit_rows`: an 8x8 digit read as 8 steps of 8 pixels;
* :func:`plot_accuracy_by_rows`: accuracy against the rows read;
* :func:`plot_forecasts`: a series with forecasts of the held-out part;
* :func:`plot_errors_by_lead`: forecast error against the lead time.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from helpers.figures import plots  # noqa: F401  (inline display of figures)

__all__ = ["plot_bits_curve", "plot_temperature_probs", "plot_digit_rows",
           "plot_accuracy_by_rows", "plot_forecasts",
           "plot_errors_by_lead"]

COLORS = ("#c0392b", "#e67e22", "#8e44ad", "#16a085", "#7f8c8d")
MODEL = "#2c3e50"


def plot_bits_curve(seconds: Sequence[float], bits: Sequence[float],
                    baselines: Mapping[str, float],
                    title: str = "") -> Figure:
    """Validation bits per character against seconds of training, with
    one dashed line per baseline."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(seconds, bits, "o-", color=MODEL, markersize=3,
            label=f"LSTM, validation (last {bits[-1]:.3f})")
    for (name, value), color in zip(baselines.items(), COLORS):
        ax.axhline(value, color=color, linestyle="--", linewidth=1,
                   label=f"{name} ({value:.3f})")
    lowest = min(min(bits), min(baselines.values()))
    ax.set_ylim(lowest - 0.15, max(bits[0], 3.6) + 0.1)
    ax.set_xlabel("seconds of training (CPU)")
    ax.set_ylabel("bits per character")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_temperature_probs(chars: Sequence[str],
                           probs: Mapping[float, np.ndarray],
                           prompt: str = "", top: int = 12) -> Figure:
    """Bars of ``p(next character)`` for each temperature, over the
    ``top`` characters most likely at temperature 1 (or the first)."""
    taus = list(probs)
    ref = probs[1.0] if 1.0 in probs else probs[taus[0]]
    order = np.argsort(ref)[::-1][:top]
    top = len(order)
    names = [repr(chars[i])[1:-1] or " " for i in order]
    names = ["' '" if c == " " else c for c in names]
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(taus)
    for j, (tau, color) in enumerate(zip(taus, COLORS)):
        ax.bar(np.arange(top) + (j - (len(taus) - 1) / 2) * width,
               probs[tau][order], width, color=color,
               label=f"tau = {tau:g}")
    ax.set_xticks(np.arange(top), names)
    ax.set_ylabel("probability of the next character")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    if prompt:
        ax.set_title(f"after {prompt!r}", fontsize=10)
    return fig


def plot_digit_rows(image: np.ndarray, label: int) -> Figure:
    """An 8x8 digit as a sequence: row ``t`` is the input ``x_t``."""
    fig = Figure(figsize=(6.5, 2.6), layout="constrained")
    ax_img, ax_seq = fig.subplots(1, 2, width_ratios=[1, 2.4])
    ax_img.imshow(image, cmap="gray_r", vmin=0, vmax=1)
    ax_img.set_yticks(range(8), [f"x_{t + 1}" for t in range(8)],
                      fontsize=7)
    ax_img.set_xticks([])
    ax_img.set_title(f"digit {label}", fontsize=10)
    ax_seq.imshow(image.T, cmap="gray_r", vmin=0, vmax=1, aspect="auto")
    ax_seq.set_xticks(range(8), [f"t={t + 1}" for t in range(8)],
                      fontsize=7)
    ax_seq.set_yticks([0, 7], ["d=1", "d=8"], fontsize=7)
    ax_seq.set_title("the same digit as T = 8 steps of D = 8 pixels",
                     fontsize=10)
    return fig


def plot_accuracy_by_rows(rows: Sequence[int], accuracy: np.ndarray,
                          baseline: float | None = None,
                          baseline_label: str = "") -> Figure:
    """Test accuracy against the number of rows read, one line per seed
    (``accuracy`` of shape (S, len(rows)))."""
    accuracy = np.atleast_2d(accuracy)
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    for s, acc in enumerate(accuracy):
        ax.plot(rows, acc, "o-", color=MODEL, alpha=0.6, markersize=3,
                label="RNN, one line per seed" if s == 0 else None)
    if baseline is not None:
        ax.axhline(baseline, color=COLORS[0], linestyle="--",
                   label=f"{baseline_label} ({baseline:.3f})")
    ax.axhline(0.1, color="#999999", linestyle=":", label="chance (0.1)")
    ax.set_xlabel("rows read (real steps before the padding)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_forecasts(years: np.ndarray, values: np.ndarray, split_year: int,
                   forecasts: Mapping[str, tuple[np.ndarray, np.ndarray]],
                   ylabel: str = "yearly sunspot number") -> Figure:
    """The series, the held-out part shaded, and forecasts
    ``{name: (years, values)}`` drawn over it."""
    fig = Figure(figsize=(7.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(years, values, color="#999999", linewidth=1.2,
            label="observed")
    ax.axvspan(split_year - 0.5, years[-1] + 0.5, color="#f2f2f2",
               label="held out")
    for (name, (yrs, vals)), color in zip(forecasts.items(),
                                          (MODEL, *COLORS)):
        ax.plot(yrs, vals, color=color, linewidth=1, label=name)
    ax.set_xlim(split_year - 40, years[-1] + 1)
    ax.set_xlabel("year")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_errors_by_lead(leads: Sequence[int],
                        errors: Mapping[str, np.ndarray],
                        ylabel: str = "RMSE on the held-out years"
                        ) -> Figure:
    """Error against the lead time (years ahead); an entry of shape
    (S, len(leads)) is drawn as its mean with the range over seeds."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for (name, err), color in zip(errors.items(), (MODEL, *COLORS)):
        err = np.atleast_2d(err)
        ax.plot(leads, err.mean(0), "o-", color=color, markersize=3,
                label=name)
        if err.shape[0] > 1:
            ax.fill_between(leads, err.min(0), err.max(0), color=color,
                            alpha=0.2)
    ax.set_xlabel("years ahead (lead time)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
