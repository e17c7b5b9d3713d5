"""Figures and the one widget of lesson 9, "Beyond recurrence:
encoder-decoder and attention" (matplotlib, no pyplot).

Each function returns a :class:`matplotlib.figure.Figure`, as in
:mod:`helpers.figures.plots`. Dimension letters: S source steps, T
target steps (or time steps), L lengths, d_k key size.

* :func:`plot_soft_search`: one query's weights over a few keys;
* :func:`plot_training_losses`: loss curves of several models over
  seeds, with a baseline;
* :func:`plot_accuracy_by_length`: exact-match accuracy against the
  input length, seeds as dots and the median as a line;
* :func:`plot_attention_map`: the weights of a decoder over the source;
* :func:`plot_positional_encoding`: the encoding as an image and a few
  of its columns;
* :func:`plot_layer_times`: seconds against length on log-log axes;
* :func:`draw_scaling` and :func:`scaling_explorer`: what the
  ``1 / sqrt(d_k)`` does to the weights as ``d_k`` grows.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from helpers.figures import plots  # noqa: F401  (inline display of figures)
from helpers.figures.axes import plot_losses_over_seeds
from helpers.figures.widgets import interactive_figure

__all__ = ["plot_soft_search", "plot_training_losses",
           "plot_accuracy_by_length", "plot_attention_map",
           "plot_positional_encoding", "plot_layer_times",
           "draw_scaling", "scaling_explorer"]

COLORS = ("#7f8c8d", "#c0392b", "#2c5aa0", "#16a085")


def plot_soft_search(keys: Sequence[str], weights: np.ndarray,
                     query: str = "") -> Figure:
    """Bars of one query's weights ``(T_k,)`` over the named keys."""
    fig = Figure(figsize=(7, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.barh(range(len(keys)), weights, color=COLORS[2])
    for k, w in enumerate(weights):
        ax.text(w, k, f" {w:.2f}", va="center", fontsize=8)
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("attention weight (the weights sum to 1)")
    ax.set_title(f"query: {query}" if query else "weights", fontsize=10)
    return fig


def plot_training_losses(losses: Mapping[str, Sequence[np.ndarray]],
                         baseline: float, baseline_label: str,
                         smooth: int = 20) -> Figure:
    """``losses[label]`` holds one loss curve per seed; each model is its
    median over seeds (moving average over ``smooth`` updates) with the
    lowest to highest seed as a band."""
    fig = Figure(figsize=(6.5, 3.2), layout="constrained")
    plot_losses_over_seeds(
        fig.subplots(), losses, COLORS[1:], smooth, baseline,
        f"{baseline_label} ({baseline:.2f})",
        "cross-entropy per token (nats)",
        "training loss: median over seeds, band lowest to highest")
    return fig


def plot_accuracy_by_length(lengths: Sequence[int],
                            accuracy: Mapping[str, np.ndarray],
                            chance: np.ndarray | None = None) -> Figure:
    """``accuracy[label]`` has shape ``(seeds, L)``: dots per seed, the
    median as a line; ``chance (L,)`` is drawn dashed."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    lengths = np.asarray(lengths)
    for (label, acc), color in zip(accuracy.items(), COLORS[1:]):
        acc = np.asarray(acc)
        ax.plot(lengths, np.median(acc, 0), "-", color=color,
                label=f"{label} (median of {len(acc)} seeds)")
        for row in acc:
            ax.plot(lengths, row, "o", color=color, alpha=0.5,
                    markersize=4)
    if chance is not None:
        ax.plot(lengths, chance, "--", color="#333333", linewidth=1,
                label="chance (guessing every token)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("source length S")
    ax.set_ylabel("exact-match accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("sequences reversed without a single wrong token",
                 fontsize=10)
    return fig


def plot_attention_map(alpha: np.ndarray, source: Sequence,
                       output: Sequence) -> Figure:
    """Weights ``alpha (T, S)``: row t is output step t, column s source
    step s."""
    T, S = alpha.shape
    fig = Figure(figsize=(0.45 * S + 2.2, 0.4 * T + 1.4),
                 layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(alpha, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(S), [str(s) for s in source])
    ax.set_yticks(range(T), [str(o) for o in output])
    ax.set_xlabel("source token (read left to right)")
    ax.set_ylabel("output token (written top down)")
    fig.colorbar(im, ax=ax, shrink=0.8, label="weight")
    ax.set_title("where the decoder looks", fontsize=10)
    return fig


def plot_positional_encoding(pe: np.ndarray, columns: Sequence[int] = (
        0, 1, 6, 12), first: int = 50) -> Figure:
    """``pe (T, d_model)`` as an image, and a few columns against the
    position for the ``first`` positions."""
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    im = ax1.imshow(pe.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    ax1.set_xlabel("position")
    ax1.set_ylabel("feature (column of PE)")
    fig.colorbar(im, ax=ax1, shrink=0.8)
    ax1.set_title("PE: each row a feature, each column a position",
                  fontsize=10)
    for c in columns:
        if c < pe.shape[1]:
            ax2.plot(pe[:first, c], ".-", label=f"column {c} "
                     f"({'sin' if c % 2 == 0 else 'cos'})")
    ax2.set_xlabel("position")
    ax2.set_ylim(-1.1, 1.1)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="lower left")
    ax2.set_title("each pair of columns turns at its own speed",
                  fontsize=10)
    return fig


def plot_layer_times(lengths: Sequence[int],
                     times: Mapping[str, Mapping[str, np.ndarray]]
                     ) -> Figure:
    """``times[layer][pass]`` seconds at each length, log-log, with the
    slopes of ``T`` and ``T^2`` for reference."""
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    T = np.asarray(lengths, dtype=float)
    for ax, which in zip(axes, ("forward", "backward")):
        for (name, t), color in zip(times.items(), COLORS[1:]):
            ax.plot(T, t[which], "o-", color=color, label=name)
        ref = times[next(iter(times))][which][-1]
        for power, style in ((1, ":"), (2, "--")):
            ax.plot(T, ref * (T / T[-1]) ** power, style, color="#999999",
                    label=f"slope of T^{power}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.grid(alpha=0.3, which="both")
        ax.set_title(f"{which} pass", fontsize=10)
    axes[0].set_ylabel("seconds (fastest repeat)")
    axes[0].legend(fontsize=8)
    return fig


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def draw_scaling(d_k: int = 64, T_k: int = 8, samples: int = 2000,
                 seed: int = 0) -> Figure:
    """Weights of random queries over ``T_k`` random keys (all entries
    standard normal), with and without the ``1 / sqrt(d_k)``.

    Left: one query's weights. Right: the largest weight of each of
    ``samples`` queries, as a histogram.
    """
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(samples, 1, d_k))
    k = rng.normal(size=(samples, T_k, d_k))
    s = (q @ k.transpose(0, 2, 1))[:, 0]               # (samples, T_k)
    raw, scaled = _softmax(s), _softmax(s / np.sqrt(d_k))
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(T_k)
    ax1.bar(x - 0.2, raw[0], 0.4, color=COLORS[1], label="softmax(q.k)")
    ax1.bar(x + 0.2, scaled[0], 0.4, color=COLORS[2],
            label="softmax(q.k / sqrt(d_k))")
    ax1.set_xlabel("key j")
    ax1.set_ylabel("weight")
    ax1.set_ylim(0, 1.05)
    ax1.legend(fontsize=8)
    ax1.set_title(f"one query, d_k = {d_k}: score std {s.std():.1f} "
                  f"unscaled, {(s / np.sqrt(d_k)).std():.2f} scaled",
                  fontsize=10)
    bins = np.linspace(1 / T_k, 1, 30)
    ax2.hist(raw.max(1), bins, color=COLORS[1], alpha=0.6,
             label=f"unscaled: mean {raw.max(1).mean():.2f}")
    ax2.hist(scaled.max(1), bins, color=COLORS[2], alpha=0.6,
             label=f"scaled: mean {scaled.max(1).mean():.2f}")
    ax2.set_xlabel("largest weight of a query (1 = a hard choice)")
    ax2.set_ylabel("queries")
    ax2.legend(fontsize=8)
    ax2.set_title(f"{samples} random queries over {T_k} keys",
                  fontsize=10)
    return fig


def scaling_explorer(d_k: int = 64, T_k: int = 8):
    """Slide ``d_k`` (and the number of keys) and watch the unscaled
    softmax saturate while the scaled one does not (see
    :func:`helpers.figures.widgets.interactive_figure`)."""
    import ipywidgets as widgets

    return interactive_figure(
        draw_scaling,
        d_k=widgets.IntSlider(value=d_k, min=1, max=512, step=1,
                              description="d_k"),
        T_k=widgets.IntSlider(value=T_k, min=2, max=32,
                              description="keys T_k"))
