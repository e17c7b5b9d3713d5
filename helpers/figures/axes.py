"""Pieces the lessons' figures share, drawn on a given matplotlib axes.

* :func:`label_axes`: the one look of a panel (axis labels, a light grid
  on major and minor ticks, a small legend, a title);
* :func:`plot_losses_over_seeds`: training-loss curves of several
  models, each run over several seeds: the median over seeds as a line
  and the lowest to highest seed as a band, with a dashed baseline.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["label_axes", "plot_losses_over_seeds"]


def label_axes(ax, xlabel: str, ylabel: str, title: str | None = None,
               yscale: str | None = None, legend: bool = True) -> None:
    """Label ``ax``, set the y scale if given (e.g. ``"log"``), draw the
    grid (``alpha=0.3``, major and minor ticks) and, with ``legend``,
    a legend in 8 pt; a ``title`` is set in 10 pt."""
    if yscale is not None:
        ax.set_yscale(yscale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    if legend:
        ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title, fontsize=10)


def plot_losses_over_seeds(ax, losses: Mapping[str, Sequence[np.ndarray]],
                           colors: Iterable, smooth: int, baseline: float,
                           baseline_label: str, ylabel: str, title: str
                           ) -> None:
    """Draw ``losses[label]``, one loss curve per seed, for every label
    in the matching colour of ``colors``: the moving average over
    ``smooth`` updates, its median over seeds as a line and the lowest
    to highest seed as a band (at the update each average ends); then
    the ``baseline`` loss dashed, a log y axis and the labels."""
    kernel = np.ones(smooth) / smooth
    for (label, runs), color in zip(losses.items(), colors):
        curves = np.array([np.convolve(r, kernel, mode="valid")
                           for r in runs])
        steps = np.arange(smooth, smooth + curves.shape[1])
        ax.plot(steps, np.median(curves, axis=0), color=color, label=label)
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0),
                        color=color, alpha=0.2, linewidth=0)
    ax.axhline(baseline, color="#333333", linestyle="--", linewidth=1,
               label=baseline_label)
    label_axes(ax, "update", ylabel, title, yscale="log")
