"""Figures for lessons 3 and 4: gradients through time.

Every function builds and returns a :class:`matplotlib.figure.Figure`
without touching pyplot's global state, like
:mod:`helpers.figures.plots`, whose colour code it shares (inputs red,
hidden states green, outputs blue, losses grey); gradients are drawn in
red.

Dimension letters: T time steps, H hidden units, l a lag between two
steps, L the lag of the lag task.

Lesson 3: :func:`plot_bptt_graph`, :func:`plot_tied_gradients`,
:func:`plot_grad_check`, :func:`plot_truncation`.
Lesson 4: :func:`plot_activation_derivatives`,
:func:`plot_jacobian_norms`, :func:`plot_gradient_explorer`,
:func:`plot_gradient_by_lag`, :func:`plot_explosion`,
:func:`plot_lag_sweep`, :func:`plot_remedies`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.figures.axes import label_axes
from helpers.figures.plots import ACCENT, HIDDEN, INPUT, LOSS

__all__ = [
    "plot_bptt_graph", "plot_tied_gradients", "plot_grad_check",
    "plot_truncation", "plot_activation_derivatives",
    "plot_jacobian_norms", "plot_gradient_explorer",
    "plot_gradient_by_lag", "plot_explosion", "plot_lag_sweep",
    "plot_remedies",
]

GRAD = "#c0392b"          # backward pass
FWD = "#333333"           # forward pass
TINY = 1e-300             # floor for log axes


# ---------------------------------------------------------------- pieces

def _box(ax, x, y, text, color, w=0.7, h=0.5, fontsize=10, **kw):
    ax.add_patch(FancyBboxPatch(
        (x - w / 2, y - h / 2), w, h,
        boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=color,
        edgecolor=kw.pop("edgecolor", FWD),
        linewidth=kw.pop("linewidth", 1.0), **kw))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, color=FWD, style="-", text="",
           offset=(0.0, 0.0), fontsize=8, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>",
                                 mutation_scale=10, color=color,
                                 linewidth=1.1, linestyle=style, **kw))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0],
                (start[1] + end[1]) / 2 + offset[1], text,
                fontsize=fontsize, color=color, ha="center", va="center")


def _finite_floor(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.where(np.isfinite(v), np.maximum(v, TINY), np.nan)


# ---------------------------------------------------------------- lesson 3

def plot_bptt_graph(T: int = 4, k: int | None = None) -> Figure:
    """The RNN unrolled in time as a computational graph, with BPTT.

    Black arrows are the forward pass: ``x_t`` and ``h_{t-1}`` give
    ``h_t``, which gives the loss ``L_t`` (through ``y_t``); the losses
    add up to ``L``. Red arrows are the backward pass: the gradient
    reaching ``h_t`` comes from ``L_t`` and from ``h_{t+1}``. Every step
    uses the same parameters, so every step adds its share to one
    gradient (dotted lines to the box below).

    Parameters
    ----------
    T : int
        Number of steps drawn.
    k : int, optional
        Chunk length of truncated BPTT: the red arrow from ``h_{t+1}``
        to ``h_t`` is cut at every chunk boundary.
    """
    dx, y_x, y_h, y_l = 1.9, 0.0, 1.6, 3.2
    width, height = dx * T + 1.4, 7.0              # data units shown
    fig = Figure(figsize=(max(0.75 * width, 6.0), 0.75 * height),
                 layout="constrained")
    ax = fig.subplots()
    _box(ax, 0, y_h, r"$h_0$", HIDDEN, alpha=0.6)
    p_x = dx * (T + 1) / 2
    _box(ax, p_x, -1.55, r"one set of parameters $W_{xh},\ W_{hh},\ b_h$:"
         r"  every step adds its term to $\partial L/\partial W$", "white",
         w=dx * (T - 1) + 1.2, h=0.55, fontsize=9)
    _box(ax, p_x, y_l + 1.35, r"$L = \sum_t L_t$", LOSS, w=1.5)
    for t in range(1, T + 1):
        cx = dx * t
        _box(ax, cx, y_x, rf"$x_{{{t}}}$", INPUT)
        _box(ax, cx, y_h, rf"$h_{{{t}}}$", HIDDEN)
        _box(ax, cx, y_l, rf"$L_{{{t}}}$", LOSS, w=0.6)
        _arrow(ax, (cx, y_x + 0.27), (cx, y_h - 0.27))
        _arrow(ax, (cx - dx + 0.37, y_h + 0.08), (cx - 0.37, y_h + 0.08))
        _arrow(ax, (cx - 0.1, y_h + 0.27), (cx - 0.1, y_l - 0.27),
               text=r"$y_{%d}$" % t, offset=(-0.28, 0))
        ax.plot([cx, p_x], [y_l + 0.27, y_l + 1.08], color="#999999",
                linewidth=0.7)
        # backward: from the loss of this step, and from the next step
        _arrow(ax, (cx + 0.12, y_l - 0.27), (cx + 0.12, y_h + 0.27),
               color=GRAD, style="--")
        cut = k is not None and t < T and t % k == 0
        if t < T and not cut:
            _arrow(ax, (cx + dx - 0.37, y_h - 0.14), (cx + 0.37, y_h - 0.14),
                   color=GRAD, style="--",
                   text=r"$\delta_{%d}$" % (t + 1),
                   offset=(0, -0.25))
        if cut:
            ax.plot([cx + dx / 2] * 2, [y_x - 0.5, y_l + 0.5], color=GRAD,
                    linestyle=":", linewidth=1.2)
            ax.text(cx + dx / 2, y_h - 0.3, "cut", color=GRAD,
                    ha="center", va="top", fontsize=8,
                    bbox=dict(facecolor="white", edgecolor="none", pad=1))
        # every step adds to the gradient of the shared parameters
        ax.plot([cx + 0.33, cx + 0.55], [y_h - 0.26, -1.28],
                color=GRAD, linestyle=":", linewidth=0.9)
    ax.set_xlim(-0.6, dx * T + 0.8)
    ax.set_ylim(-2.0, y_l + 1.8)
    ax.set_aspect("equal")
    ax.axis("off")
    what = ("full BPTT" if k is None or k >= T
            else f"truncated BPTT, chunks of k = {k} steps")
    ax.set_title("unrolled in time: forward (black), backward (red "
                 "dashed, " + r"$\delta_t = \partial L/\partial h_t$"
                 f"); {what}", fontsize=10)
    return fig


def plot_tied_gradients(per_step: np.ndarray, total: float,
                        name: str = "W_hh") -> Figure:
    """Norm of the gradient of each step's private copy of a weight.

    Parameters
    ----------
    per_step : ndarray, shape (T,)
        ``||dL/dW^(t)||`` for the copy used at step ``t = 1..T``.
    total : float
        ``||dL/dW||`` for the shared weight, the norm of the sum.
    """
    T = len(per_step)
    fig = Figure(figsize=(6.5, 3.0), layout="constrained")
    ax = fig.subplots()
    ax.bar(np.arange(1, T + 1), per_step, color=HIDDEN, edgecolor=FWD,
           label=f"copy of {name} used at step t")
    ax.axhline(total, color=GRAD, linestyle="--",
               label=f"shared {name}: norm of the sum = {total:.3g}")
    ax.set_xlabel("time step t")
    ax.set_ylabel("gradient norm")
    ax.set_ylim(0, 1.35 * max(total, float(np.max(per_step))))
    ax.set_xticks(np.arange(1, T + 1))
    ax.legend(fontsize=8)
    ax.set_title("untied copies: one gradient per step; tied weight: "
                 "their sum", fontsize=10)
    return fig


def plot_grad_check(errors: Mapping[str, Mapping[str, float]],
                    threshold: float = 1e-7) -> Figure:
    """Relative errors of a gradient check, one group of bars per run.

    Parameters
    ----------
    errors : dict
        ``{run label: {parameter name: max relative error}}``.
    threshold : float
        Errors below this line count as a pass.
    """
    labels = list(errors)
    names = list(next(iter(errors.values())))
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(labels)
    colors = [HIDDEN, INPUT, "#a9c8f5", LOSS]
    for i, label in enumerate(labels):
        vals = [max(errors[label][n], 1e-18) for n in names]
        ax.bar(np.arange(len(names)) + (i - (len(labels) - 1) / 2) * width,
               vals, width, label=label, color=colors[i % len(colors)],
               edgecolor=FWD)
    ax.axhline(threshold, color=GRAD, linestyle="--",
               label=f"pass below {threshold:.0e}")
    ax.set_yscale("log")
    ax.set_ylim(top=30)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("max relative error")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("numerical vs analytic gradient", fontsize=10)
    return fig


def plot_truncation(ks: Sequence[int],
                    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
                    k: int | None = None, T: int | None = None) -> Figure:
    """Truncated vs full BPTT against the chunk length ``k``.

    Parameters
    ----------
    ks : sequence of int
        Chunk lengths.
    curves : dict
        ``{label: (cosine, rel_error)}`` from
        :func:`helpers.support.experiments.truncation_similarity`.
    k : int, optional
        A chunk length to mark.
    T : int, optional
        The sequence length (``k = T`` is full BPTT), for the title.
    """
    ks = np.asarray(ks)
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for label, (cos, rel) in curves.items():
        ax1.plot(ks, cos, "o-", markersize=3, label=label)
        ax2.plot(ks, rel, "o-", markersize=3, label=label)
    ax1.set_ylabel("cosine(truncated, full)")
    ax1.set_ylim(-0.2, 1.05)
    ax2.set_ylabel(r"$\|g_k - g\| / \|g\|$")
    ax2.set_ylim(bottom=0)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("chunk length k")
        ax.grid(alpha=0.3, which="both")
        if k is not None:
            ax.axvline(k, color=GRAD, linestyle=":", linewidth=1)
    ax1.legend(fontsize=8, title="spectral radius of $W_{hh}$",
               title_fontsize=8)
    fig.suptitle("how much of the full gradient truncated BPTT keeps"
                 + (f" (T = {T})" if T else ""), fontsize=10)
    return fig


# ---------------------------------------------------------------- lesson 4

def plot_activation_derivatives() -> Figure:
    """``tanh'``, ``sigma'`` and ReLU' with their maxima 1, 1/4 and 1.

    The maxima printed in the legend are measured on a fine grid.
    """
    a = np.linspace(-6, 6, 2401)
    dtanh = 1 - np.tanh(a) ** 2
    s = 1 / (1 + np.exp(-a))
    dsig = s * (1 - s)
    drelu = (a > 0).astype(float)
    fig = Figure(figsize=(10, 3.3), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(a, dtanh, color="#2c3e50",
             label=rf"$\tanh'(a) = 1 - \tanh^2 a$, max {dtanh.max():.3f}")
    ax1.plot(a, dsig, color=ACCENT,
             label=rf"$\sigma'(a) = \sigma(1-\sigma)$, max {dsig.max():.3f}")
    ax1.plot(a, drelu, color="#7f8c8d", linestyle="--", linewidth=1,
             label="ReLU'(a): 0 or 1")
    ax1.axhline(1, color="#2c3e50", linestyle=":", linewidth=0.8)
    ax1.axhline(0.25, color=ACCENT, linestyle=":", linewidth=0.8)
    ax1.set_xlabel("pre-activation a")
    ax1.set_ylabel("derivative")
    ax1.legend(fontsize=8, loc="upper left")
    ax1.set_title("the local factor of one step", fontsize=10)
    steps = np.arange(0, 31)
    ax2.semilogy(steps, np.maximum(dtanh.max() ** steps, TINY),
                 color="#2c3e50", label=r"$(\max\tanh')^l = 1$")
    ax2.semilogy(steps, 0.5 ** steps, color="#2c3e50", linestyle="--",
                 label=r"$0.5^l$ (a typical $\tanh'$ of 0.5)")
    ax2.semilogy(steps, dsig.max() ** steps, color=ACCENT,
                 label=r"$(\max\sigma')^l = 0.25^l$")
    label_axes(ax2, "number of steps l", "product of l derivatives",
               "multiplied over l steps (with $W_{hh} = I$)")
    return fig


def plot_jacobian_norms(curves: Mapping[str, np.ndarray],
                        lags: np.ndarray | None = None,
                        title: str = "", reference: Mapping[str, float]
                        | None = None) -> Figure:
    """``||dh_T/dh_{T-l}||`` against the lag ``l``, log scale.

    Parameters
    ----------
    curves : dict
        ``{label: norms}``, each of shape (T,), lag ``l = 1..T``.
    lags : ndarray, optional
        The lags; default ``1..T``.
    title : str
    reference : dict, optional
        ``{label: rho}``: draw ``rho**l`` dotted, the norm of
        ``W_hh^l`` for an orthogonal ``W_hh`` without the activation.
    """
    fig = Figure(figsize=(6.8, 3.8), layout="constrained")
    ax = fig.subplots()
    for label, norms in curves.items():
        ls = np.arange(1, len(norms) + 1) if lags is None else lags
        line, = ax.semilogy(ls, _finite_floor(norms), label=label)
        bad = ~np.isfinite(norms)
        if bad.any():
            ax.text(ls[np.argmax(bad)], 0.95, "overflow", fontsize=7,
                    color=line.get_color(), va="top",
                    transform=ax.get_xaxis_transform())
    for label, rho in (reference or {}).items():
        ls = np.arange(1, len(next(iter(curves.values()))) + 1)
        ax.semilogy(ls, np.maximum(float(rho) ** ls, TINY), ":",
                    color="#999999", linewidth=1)
    ax.axhline(1, color="#999999", linewidth=0.6)
    ax.set_xlabel("lag l = t - k")
    ax.set_ylabel(r"$\|\partial h_T / \partial h_{T-l}\|_2$")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_gradient_explorer(result: dict, rho: float, activation: str,
                           init: str) -> Figure:
    """The figure of the gradient explorer widget.

    Left: ``||dh_T/dh_{T-l}||`` against the lag (median over the
    sequences, thin grey lines for each sequence) and ``rho**l`` for
    comparison, on an axis fitted to the measured curves. Right: the
    histogram of ``phi'(a_t)`` over all steps and
    units, the local factors that multiply ``W_hh`` at each step.

    Parameters
    ----------
    result : dict
        From :func:`helpers.support.experiments.gradient_norms_by_lag`.
    rho, activation, init
        The settings, for the titles.
    """
    lags, norms = result["lags"], result["norms"]
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    for per in result["per_sequence"]:
        ax1.semilogy(lags, _finite_floor(per), color="#bbbbbb",
                     linewidth=0.6)
    ax1.semilogy(lags, _finite_floor(norms), color=GRAD, linewidth=2,
                 label="measured (median)")
    with np.errstate(over="ignore", divide="ignore"):
        ref = np.where(rho > 0, float(rho) ** lags.astype(float), 0.0)
    ax1.semilogy(lags, _finite_floor(ref), ":", color="#2c3e50",
                 label=rf"$\rho^l$ with $\rho = {rho:.2f}$")
    ax1.axhline(1, color="#999999", linewidth=0.6)
    # The axis follows the measured curves (not rho**l, which can run off
    # by hundreds of decades), and always shows the line at 1.
    seen = np.concatenate([np.ravel(result["per_sequence"]),
                           np.ravel(norms)])
    seen = seen[np.isfinite(seen) & (seen > 0)]
    lo = min(float(seen.min()) / 10, 0.1) if seen.size else 1e-3
    hi = max(float(seen.max()) * 10, 10.0) if seen.size else 1e3
    ax1.set_ylim(max(lo, 1e-300), min(hi, 1e300))
    ax1.set_xlabel("lag l")
    ax1.set_ylabel(r"$\|\partial h_T / \partial h_{T-l}\|_2$")
    ax1.grid(alpha=0.3, which="both")
    ax1.legend(fontsize=8, loc="lower left")
    T = len(lags)
    last = norms[-1]
    shown = "overflow" if not np.isfinite(last) else f"{last:.1e}"
    ax1.set_title(f"{activation}, {init} $W_{{hh}}$, T = {T}: "
                  f"norm at lag {T} = {shown}", fontsize=10)
    dphi = result["dphi"].ravel()
    ax2.hist(dphi, bins=np.linspace(0, 1, 41), color=HIDDEN,
             edgecolor=FWD, linewidth=0.4)
    ax2.axvline(dphi.mean(), color=GRAD, linestyle="--",
                label=f"mean {dphi.mean():.2f}")
    ax2.set_xlabel(r"$\varphi'(a_t)$ over all steps and units")
    ax2.set_ylabel("count")
    ax2.legend(fontsize=8)
    ax2.set_title("the local factors", fontsize=10)
    return fig


def plot_gradient_by_lag(norms: np.ndarray,
                         marks: Mapping[str, int] | None = None) -> Figure:
    """Share of ``dL_T/dW_hh`` from each lag, log scale, with examples.

    Parameters
    ----------
    norms : ndarray, shape (T,)
        ``norms[l]``: norm of the term of lag ``l = 0 .. T-1`` (from
        :func:`helpers.support.experiments.gradient_contributions`).
    marks : dict, optional
        ``{sentence: lag}`` drawn as labelled vertical lines.
    """
    lags = np.arange(len(norms))
    values = np.asarray(norms, dtype=float)
    shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.semilogy(lags, shown, "o-", markersize=3, color="#2c3e50")
    for i, (text, lag) in enumerate((marks or {}).items()):
        ax.axvline(lag, color=GRAD, linestyle=":", linewidth=1)
        ax.text(lag + 0.4, 0.95 - 0.1 * i, text, fontsize=8, color=GRAD,
                va="top", transform=ax.get_xaxis_transform(),
                bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.set_xlabel("lag l = T - k of the step k the term comes from")
    ax.set_ylabel(r"norm of the term in $\partial L_T/\partial W_{hh}$")
    ax.grid(alpha=0.3, which="both")
    ax.set_title("which steps the gradient of W_hh learns from",
                 fontsize=10)
    return fig


def plot_explosion(runs: Mapping[str, object],
                   baseline: float | None = None) -> Figure:
    """Loss and gradient norm of training runs, marking divergence.

    Parameters
    ----------
    runs : dict
        ``{label: run}`` with ``run.losses`` and ``run.grad_norms``
        (a :class:`helpers.support.experiments.LagRun`).
    baseline : float, optional
        Loss of the trivial answer, drawn dashed.
    """
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for label, run in runs.items():
        losses, norms = np.asarray(run.losses), np.asarray(run.grad_norms)
        steps = np.arange(1, len(losses) + 1)
        line, = ax1.semilogy(steps, _finite_floor(losses), label=label)
        ax2.semilogy(steps, _finite_floor(norms), color=line.get_color(),
                     label=label)
        if not np.isfinite(losses[-1]):
            ok = np.isfinite(losses)
            top = np.nanmax(_finite_floor(losses[ok])) if ok.any() else 1
            ax1.plot(steps[-1], top, "x", color=line.get_color(),
                     markersize=10, mew=2)
            ax1.annotate(f"loss = {losses[-1]} at step {steps[-1]}",
                         (steps[-1], top), xytext=(10, -4),
                         textcoords="offset points", fontsize=8,
                         color=line.get_color())
    if baseline is not None:
        ax1.axhline(baseline, color="#999999", linestyle="--",
                    label=f"answer 0 ({baseline:.3g})")
    label_axes(ax1, "training step", "training loss (MSE)")
    label_axes(ax2, "training step", "gradient norm before clipping")
    return fig


def plot_lag_sweep(sweep: Mapping[int, object], threshold: float,
                   failing: int | None = None,
                   baseline: float | None = None) -> Figure:
    """Loss curves of a lag sweep over seeds, and the scores against the
    lag.

    Parameters
    ----------
    sweep : dict
        ``{lag: [run, ...]}``, one run per seed (a single run is taken as
        a list of one), with ``run.losses`` and ``run.r2``.
    threshold : float
        The score that counts as learned.
    failing : int, optional
        The smallest failing lag (by the median), marked.
    baseline : float, optional
        MSE of answering 0, drawn dashed on the loss curves.

    Left: the training loss of the first seed of each lag. Right: every
    seed's score as a dot, the median as a line, and the band from the
    lowest to the highest seed; a lag is learned when its median reaches
    ``threshold``.
    """
    import matplotlib

    runs = {lag: list(r) if isinstance(r, (list, tuple)) else [r]
            for lag, r in sweep.items()}
    lags = sorted(runs)
    cmap = matplotlib.colormaps["viridis"]
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for i, lag in enumerate(lags):
        losses = np.asarray(runs[lag][0].losses)
        # a running mean over 10 steps makes the curves readable
        smooth = np.convolve(losses, np.ones(10) / 10, mode="valid") \
            if len(losses) >= 10 else losses
        ax1.semilogy(np.arange(len(smooth)) + 1, _finite_floor(smooth),
                     color=cmap(i / max(len(lags) - 1, 1)),
                     label=f"lag {lag}")
    if baseline is not None:
        ax1.axhline(baseline, color="#999999", linestyle="--",
                    label="answer 0")
    ax1.set_xlabel("training step (first seed)")
    ax1.set_ylabel("training MSE (running mean of 10)")
    ax1.legend(fontsize=7, ncol=2)
    ax1.grid(alpha=0.3, which="both")
    floor = -0.2
    scores = [np.array([r.r2 for r in runs[lag]], dtype=float)
              for lag in lags]
    shown = [np.where(np.isfinite(s), np.maximum(s, floor), floor)
             for s in scores]
    median = np.array([np.median(s) for s in shown])
    ax2.fill_between(lags, [s.min() for s in shown],
                     [s.max() for s in shown], color="#bbbbbb", alpha=0.5,
                     label="lowest to highest seed")
    for lag, s in zip(lags, shown):
        ax2.plot([lag] * len(s), s, ".", color="#555555", markersize=5)
    ax2.plot(lags, median, color="#2c3e50", linewidth=1)
    ok = median >= threshold
    ax2.plot(np.array(lags)[ok], median[ok], "o", color="#27ae60",
             label="median learned")
    ax2.plot(np.array(lags)[~ok], median[~ok], "s", color=GRAD,
             label="median failed")
    ax2.axhline(threshold, color="#999999", linestyle="--",
                label=f"threshold {threshold}")
    ax2.axhline(0, color="#999999", linewidth=0.6)
    if failing is not None:
        ax2.axvline(failing, color=GRAD, linestyle=":",
                    label=f"smallest failing lag = {failing}")
    ax2.set_xlabel("lag l")
    ax2.set_ylabel(r"test $R^2$ (1 = perfect, 0 = answer 0)")
    ax2.set_ylim(-0.25, 1.05)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    return fig


def plot_remedies(results: Mapping[str, Mapping[int, float]],
                  threshold: float | None = None) -> Figure:
    """Grouped bars: the test score of each method at each lag.

    Every score also gets a marker, so a score of 0 (a bar of height 0)
    stays visible; a score below the axis floor of -0.1 is drawn at the
    floor with a downward triangle, and its label gives the true value.

    Parameters
    ----------
    results : dict
        ``{method: {lag: r2}}``.
    threshold : float, optional
        The score that counts as learned.
    """
    floor = -0.1
    methods = list(results)
    lags = sorted({lag for r in results.values() for lag in r})
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(methods)
    colors = ["#7f8c8d", INPUT, HIDDEN, "#a9c8f5"]
    for i, m in enumerate(methods):
        color = colors[i % len(colors)]
        raw = np.array([results[m].get(lag, np.nan) for lag in lags],
                       dtype=float)
        vals = np.where(np.isfinite(raw), np.maximum(raw, floor), floor)
        pos = np.arange(len(lags)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(pos, vals, width, label=m, color=color, edgecolor=FWD)
        clipped = ~(raw >= floor)        # below the floor, or nan (diverged)
        ax.plot(pos[~clipped], vals[~clipped], "o", color=color,
                markeredgecolor=FWD, markersize=6, zorder=3)
        ax.plot(pos[clipped], vals[clipped], "v", color=color,
                markeredgecolor=FWD, markersize=7, zorder=3)
        for x, v, r in zip(pos, vals, raw):
            text = f"{r:.2f}" if np.isfinite(r) else "diverged"
            ax.text(x, max(v, 0) + 0.03, text, ha="center",
                    va="bottom", fontsize=7)
    if threshold is not None:
        ax.axhline(threshold, color=GRAD, linestyle="--",
                   label=f"threshold {threshold}")
    ax.axhline(0, color="#999999", linewidth=0.6)
    ax.set_xticks(np.arange(len(lags)))
    ax.set_xticklabels([f"lag {lag}" for lag in lags])
    ax.set_ylabel(r"test $R^2$")
    ax.set_ylim(floor - 0.08, 1.12)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
