"""Figures for the lessons, drawn with matplotlib.

Every function builds and returns a :class:`matplotlib.figure.Figure`
without touching pyplot's global state, so a notebook cell that ends with
the call shows the figure exactly once, and a widget can redraw it.

Dimension letters: N samples, T time steps, D features, H hidden units.

Lesson 1: :func:`plot_sequence_examples`, :func:`plot_task_shapes`,
:func:`plot_word_order`, :func:`plot_ntd_array`,
:func:`plot_bag_of_words`, :func:`plot_window_view`.
Lesson 2: :func:`plot_rnn_cell`, :func:`plot_rnn_unrolled`,
:func:`plot_hidden_trajectories`, :func:`plot_loss_curve`.
The box colours follow one code throughout: inputs red, hidden states
green, outputs blue, losses grey (as in Karpathy's "The Unreasonable
Effectiveness of Recurrent Neural Networks", 2015).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

__all__ = [
    "plot_sequence_examples", "plot_task_shapes", "plot_word_order",
    "plot_ntd_array", "plot_bag_of_words", "plot_window_view",
    "plot_rnn_cell", "plot_rnn_unrolled", "plot_hidden_trajectories",
    "plot_loss_curve",
]

INPUT, HIDDEN, OUTPUT, LOSS = "#f6b0a8", "#b5dcae", "#a9c8f5", "#d9d9d9"
ACCENT = "#c0392b"


def _show_figures_inline() -> None:
    """Let IPython show a bare ``Figure`` as a PNG.

    pyplot's inline backend registers this display formatter when pyplot
    is imported; these functions never import pyplot, so they register it
    themselves. Outside IPython this does nothing.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:                            # pragma: no cover
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        select_figure_formats(shell, {"png"})


_show_figures_inline()


# ---------------------------------------------------------------- pieces

def _box(ax, x, y, text, color, w=0.7, h=0.5, fontsize=10, **kw):
    """A rounded box centred at (x, y) with ``text`` inside."""
    ax.add_patch(FancyBboxPatch(
        (x - w / 2, y - h / 2), w, h,
        boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=color,
        edgecolor=kw.pop("edgecolor", "#333333"),
        linewidth=kw.pop("linewidth", 1.0), **kw))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, text="", color="#333333", offset=(0.0, 0.0),
           fontsize=8, **kw):
    """An arrow from ``start`` to ``end`` with an optional label."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>",
                                 mutation_scale=10, color=color,
                                 linewidth=1.0, **kw))
    if text:
        mx = (start[0] + end[0]) / 2 + offset[0]
        my = (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, fontsize=fontsize, color=color,
                ha="center", va="center")


def _blank(ax):
    ax.set_aspect("equal")
    ax.axis("off")


# ---------------------------------------------------------------- lesson 1

def plot_sequence_examples(examples: dict) -> Figure:
    """One panel per kind of sequence; time runs left to right in each.

    Parameters
    ----------
    examples : dict
        From :func:`helpers.support.sequences.example_sequences`.
    """
    fig = Figure(figsize=(13, 6.4), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, (kind, ex) in zip(axes.flat, examples.items()):
        x = ex["x"]
        T, D = x.shape
        ax.set_title(f"{kind}: x has shape (T, D) = ({T}, {D})",
                     fontsize=10)
        if kind in ("text", "DNA", "user actions"):
            ax.imshow(x.T, cmap="Greys", vmin=0, vmax=1.6, aspect="auto")
            ax.set_xticks(range(T))
            ax.set_xticklabels(ex["raw"], rotation=35 if kind != "DNA"
                               else 0, ha="right" if kind != "DNA"
                               else "center", fontsize=8)
            ax.set_yticks(range(D))
            ax.set_yticklabels(ex["vocab"], fontsize=8)
            ax.set_xlabel("one column per time step (one-hot)", fontsize=8)
        elif kind == "time series":
            ax.plot(np.arange(1, T + 1), x[:, 0], "o-", color=ACCENT)
            ax.set_xlabel("day t", fontsize=8)
            ax.set_ylabel("temperature (C)", fontsize=8)
        elif kind == "audio":
            ms = np.arange(T) / ex["rate"] * 1000
            ax.plot(ms, x[:, 0], color="#2c3e50", linewidth=0.8)
            ax.set_xlabel(f"time (ms); one step = 1/{ex['rate']} s",
                          fontsize=8)
            ax.set_ylabel("pressure", fontsize=8)
        elif kind == "video":
            frames = ex["raw"]
            strip = np.concatenate(
                [np.pad(f, ((0, 0), (0, 1)), constant_values=0.25)
                 for f in frames], axis=1)
            ax.imshow(strip, cmap="magma", vmin=0, vmax=1)
            ax.set_xticks([4 + 9 * i for i in range(len(frames))])
            ax.set_xticklabels([f"t={i + 1}" for i in range(len(frames))],
                               fontsize=8)
            ax.set_yticks([])
            ax.set_xlabel("frames, each 8 x 8 = 64 numbers", fontsize=8)
        ax.tick_params(labelsize=8)
    return fig


def _shape_diagram(ax, n_steps, inputs, outputs, title, example):
    mid = (n_steps - 1) / 2
    for t in range(n_steps):
        _box(ax, t, 1, "", HIDDEN, w=0.55, h=0.45)
        if t in inputs:
            _box(ax, t, 0, "", INPUT, w=0.55, h=0.45)
            _arrow(ax, (t, 0.24), (t, 0.76))
        if t in outputs:
            _box(ax, t, 2, "", OUTPUT, w=0.55, h=0.45)
            _arrow(ax, (t, 1.24), (t, 1.76))
        if t > 0:
            _arrow(ax, (t - 0.72, 1), (t - 0.28, 1))
    ax.set_xlim(mid - 3.1, mid + 3.1)
    ax.set_ylim(-1.2, 2.4)
    ax.text(mid, -0.75, example, ha="center", va="center", fontsize=8.5,
            style="italic")
    ax.set_title(title, fontsize=10)
    _blank(ax)


def plot_task_shapes() -> Figure:
    """The four shapes of sequence tasks (many-to-many in two forms).

    Red boxes are inputs, green the state carried from step to step,
    blue the outputs; arrows show what feeds what.
    """
    fig = Figure(figsize=(14, 2.5), layout="constrained")
    axes = fig.subplots(1, 5)
    specs = [
        (1, {0}, {0}, "one-to-one", "image -> class\n(no sequence)"),
        (4, {0}, {0, 1, 2, 3}, "one-to-many",
         "image -> caption;\nfirst note -> melody"),
        (4, {0, 1, 2, 3}, {3}, "many-to-one",
         "review -> sentiment"),
        (4, {0, 1, 2, 3}, {0, 1, 2, 3}, "many-to-many, aligned",
         "video frames ->\na label per frame"),
        (6, {0, 1, 2}, {3, 4, 5}, "many-to-many, delayed",
         "translation: read the\nsentence, then write"),
    ]
    for ax, (n, ins, outs, title, example) in zip(axes, specs):
        _shape_diagram(ax, n, ins, outs, title, example)
    fig.suptitle("inputs (red) -> state carried over time (green) -> "
                 "outputs (blue)", fontsize=10)
    return fig


def plot_word_order(source: Sequence[str] = ("the", "black", "cat"),
                    target: Sequence[str] = ("le", "chat", "noir"),
                    links: Sequence[tuple[int, int]] = ((0, 0), (1, 2),
                                                       (2, 1))) -> Figure:
    """Word alignment between a sentence and its translation.

    ``links`` pairs a source position with a target position; crossing
    lines mean the order changes, so output ``t`` cannot be written from
    input ``t`` alone.
    """
    fig = Figure(figsize=(6, 2.4), layout="constrained")
    ax = fig.subplots()
    for i, w in enumerate(source):
        _box(ax, i * 1.4, 1.2, w, INPUT, w=1.1, h=0.45)
    for j, w in enumerate(target):
        _box(ax, j * 1.4, 0, w, OUTPUT, w=1.1, h=0.45)
    for i, j in links:
        crossing = i != j
        ax.plot([i * 1.4, j * 1.4], [0.97, 0.23],
                color=ACCENT if crossing else "#555555",
                linewidth=2 if crossing else 1)
    ax.text(-1.0, 1.2, "English", ha="right", va="center", fontsize=9)
    ax.text(-1.0, 0, "French", ha="right", va="center", fontsize=9)
    ax.set_xlim(-2.2, 1.4 * max(len(source), len(target)) - 0.6)
    ax.set_ylim(-0.4, 1.6)
    ax.set_title("French puts the adjective after the noun: "
                 "the output order differs", fontsize=10)
    _blank(ax)
    return fig


def plot_ntd_array(x: np.ndarray,
                   features: Sequence[str] = ("feature 1", "feature 2",
                                              "feature 3"),
                   sample: int | None = 2, step: int | None = None
                   ) -> Figure:
    """An ``(N, T, D)`` batch drawn as D stacked N x T sheets.

    Each cell is coloured by its value (each feature scaled on its own).
    ``sample`` outlines the row ``x[sample]``, one whole sequence of
    shape ``(T, D)``; ``step`` outlines the column ``x[:, step]``, all
    samples at one time step, shape ``(N, D)``.
    """
    import matplotlib as mpl
    N, T, D = x.shape
    fig = Figure(figsize=(8.5, 5.2), layout="constrained")
    ax = fig.subplots()
    shift = np.array([0.45, 0.45])
    cmaps = ["Reds", "Blues", "Greens", "Purples", "Oranges", "Greys"]
    for d in reversed(range(D)):
        cmap = mpl.colormaps[cmaps[d % len(cmaps)]]
        v = x[:, :, d]
        scaled = (v - v.min()) / (np.ptp(v) + 1e-12)
        ox, oy = shift * d
        for n in range(N):
            for t in range(T):
                ax.add_patch(Rectangle(
                    (t + ox, N - 1 - n + oy), 1, 1,
                    facecolor=cmap(0.15 + 0.7 * scaled[n, t]),
                    edgecolor="white", linewidth=0.8))
        corner = (T + ox, N + oy)
        label_x = T + shift[0] * (D - 1) + 0.7
        ax.plot([corner[0] - 0.1, label_x - 0.1],
                [corner[1] - 0.3, corner[1] - 0.3], color="#777777",
                linewidth=0.6)
        ax.text(label_x, corner[1] - 0.3, f"d={d}: {features[d]}",
                fontsize=9, va="center")
    if sample is not None:
        ax.add_patch(Rectangle((0, N - 1 - sample), T, 1, fill=False,
                               edgecolor="black", linewidth=2.2))
        ax.text(-0.6, N - 0.5 - sample, f"x[{sample}]  (T, D)",
                ha="right", va="center", fontsize=9)
    if step is not None:
        ax.add_patch(Rectangle((step, 0), 1, N, fill=False,
                               edgecolor="black", linewidth=2.2,
                               linestyle="--"))
        ax.text(step + 0.5, -0.35, f"x[:, {step}]  (N, D)", ha="center",
                va="top", fontsize=9)
    for t in range(T):
        ax.text(t + 0.5, N + shift[1] * (D - 1) + 0.25, str(t),
                ha="center", fontsize=8, color="#555555")
    for n in range(N):
        ax.text(-0.1, N - 0.5 - n, str(n), ha="right", va="center",
                fontsize=8, color="#555555")
    ax.text(T / 2, N + shift[1] * (D - 1) + 0.9,
            f"T = {T} time steps (t = 0 .. {T - 1}) ->", ha="center",
            fontsize=10)
    ax.text(-1.3 if sample is None else -4.2, N / 2 + 1.5,
            f"N = {N}\nsamples\n|\nv", ha="center", va="center",
            fontsize=10)
    ax.text(T + shift[0] * D + 0.2, -0.3 + shift[1] * D / 2,
            f"D = {D} features\n(stacked sheets)", fontsize=10)
    ax.set_xlim(-5.5, T + shift[0] * D + 4.0)
    ax.set_ylim(-1.2, N + shift[1] * D + 1.3)
    ax.set_title(f"x has shape (N, T, D) = {x.shape}", fontsize=11)
    _blank(ax)
    return fig


def plot_bag_of_words(sentences: Sequence[str], bags: np.ndarray,
                      vocab: Sequence[str]) -> Figure:
    """Bag-of-words count vectors of several sentences, side by side.

    Parameters
    ----------
    sentences : sequence of str
        S sentences.
    bags : ndarray, shape (S, V)
        Their count vectors.
    vocab : sequence of str
        The V words.
    """
    bags = np.asarray(bags)
    S, V = bags.shape
    fig = Figure(figsize=(8, 3), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / S
    for s in range(S):
        ax.bar(np.arange(V) + (s - (S - 1) / 2) * width, bags[s], width,
               label=repr(sentences[s]))
    ax.set_xticks(range(V))
    ax.set_xticklabels(vocab, fontsize=9)
    ax.set_ylabel("count")
    ax.set_yticks(range(int(bags.max()) + 1))
    ax.set_ylim(0, bags.max() + 0.25 + 0.3 * S)
    ax.legend(fontsize=8, loc="upper center", ncol=min(S, 2))
    ax.set_title("bag of words: the count vector forgets the order",
                 fontsize=10)
    return fig


def plot_window_view(sentence: Sequence[str], clue: int, k: int,
                     ks: np.ndarray, accuracy: np.ndarray,
                     best: np.ndarray, chance: float) -> Figure:
    """What a feedforward net with a window of ``k`` words sees.

    Top: one sentence with its last ``k`` words shaded and the clue word
    (the country) outlined. Bottom: test accuracy against the window
    length, next to the best a model limited to the window can expect.

    Parameters
    ----------
    sentence : sequence of str
        One example sentence (without its answer).
    clue : int
        Position of the clue word in ``sentence``.
    k : int
        Window length to highlight (the nearest value in ``ks``).
    ks : ndarray, shape (M,)
        Window lengths that were trained.
    accuracy : ndarray, shape (M,)
        Test accuracy of the MLP for each window length.
    best : ndarray, shape (M,)
        Best expected accuracy when only the window is seen.
    chance : float
        Accuracy of guessing.
    """
    ks = np.asarray(ks)
    i = int(np.argmin(np.abs(ks - k)))
    k = int(ks[i])                       # the nearest trained window
    fig = Figure(figsize=(11, 5), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 2.2])
    L = len(sentence)
    for j, w in enumerate(sentence):
        seen = j >= L - k
        top.add_patch(Rectangle((j, 0), 0.95, 1,
                                facecolor="#fde4b8" if seen else "white",
                                edgecolor=ACCENT if j == clue else "#999999",
                                linewidth=2.5 if j == clue else 0.8))
        top.text(j + 0.47, 0.5, w, ha="center", va="center", rotation=90,
                 fontsize=8.5, color="black" if seen else "#999999")
    top.text(L + 0.2, 0.5, "-> ?", va="center", fontsize=11)
    sees = "sees" if clue >= L - k else "does NOT see"
    top.set_title(f"window of k = {k} words (shaded): the MLP {sees} the "
                  f"country", fontsize=10)
    top.set_xlim(-0.2, L + 1.5)
    top.set_ylim(-0.1, 1.1)
    top.axis("off")

    bottom.plot(ks, accuracy, "o-", color=ACCENT, label="MLP, test set")
    bottom.plot(ks, best, "--", color="#555555",
                label="best expected from the window")
    bottom.axhline(chance, color="#999999", linestyle=":",
                   label=f"guessing ({chance:.0%})")
    bottom.plot([ks[i]], [accuracy[i]], "o", markersize=14,
                markerfacecolor="none", markeredgecolor="black")
    bottom.annotate(f"k = {ks[i]}: {accuracy[i]:.0%}",
                    (ks[i], accuracy[i]), xytext=(8, -18),
                    textcoords="offset points", fontsize=9)
    bottom.set_xlabel("window length k (words the MLP sees)")
    bottom.set_ylabel("accuracy")
    bottom.set_ylim(0, 1.05)
    bottom.legend(fontsize=8, loc="upper left")
    bottom.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- lesson 2

def plot_rnn_cell() -> Figure:
    """Inside one step of the simple RNN, as a computation graph.

    ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)``, then the output head
    ``y_t = W_hy h_t + b_y``.
    """
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    _box(ax, 0, 0, r"$x_t$", INPUT, w=0.9)
    _box(ax, 0, 2, r"$h_{t-1}$", HIDDEN, w=0.9)
    _box(ax, 2.2, 0, r"$W_{xh}\,x_t$", "white", w=1.3)
    _box(ax, 2.2, 2, r"$W_{hh}\,h_{t-1}$", "white", w=1.5)
    _box(ax, 4.3, 1, r"$+\;b_h$", "white", w=0.9)
    _box(ax, 5.8, 1, "tanh", "white", w=0.9)
    _box(ax, 7.4, 1, r"$h_t$", HIDDEN, w=0.8)
    _box(ax, 7.4, 2.6, r"$y_t = W_{hy} h_t + b_y$", OUTPUT, w=2.1)
    _arrow(ax, (0.45, 0), (1.55, 0))
    _arrow(ax, (0.45, 2), (1.45, 2))
    _arrow(ax, (2.85, 0.2), (3.85, 0.85))
    _arrow(ax, (2.95, 1.8), (3.85, 1.15))
    _arrow(ax, (4.75, 1), (5.35, 1))
    _arrow(ax, (6.25, 1), (7.0, 1))
    _arrow(ax, (7.4, 1.25), (7.4, 2.35))
    _arrow(ax, (7.8, 0.9), (8.8, 0.3), r"to step $t+1$",
           offset=(0.15, 0.25))
    ax.set_xlim(-0.7, 9.3)
    ax.set_ylim(-0.6, 3.1)
    ax.set_title(r"one step of the simple RNN: "
                 r"$h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$",
                 fontsize=11)
    _blank(ax)
    return fig


def plot_rnn_unrolled(T: int = 4, outputs: str = "all",
                      loss: str = "none") -> Figure:
    """The RNN folded (a loop) and unrolled over ``T`` steps.

    Parameters
    ----------
    T : int
        Number of steps to draw.
    outputs : {"all", "last", "none"}
        Draw an output at every step (many-to-many), only at the last
        step (many-to-one), or none (the encoder only).
    loss : {"none", "per step", "end"}
        Draw a loss at every output, or one loss at the end.
    """
    top = 2.2 if outputs == "none" else 4.5 if loss != "none" else 3.4
    x0 = 4.5
    right = x0 + 1.9 * (T - 1) + 0.8
    # The figure has the aspect ratio of the drawing (equal axes), so no
    # empty bands are left beside it.
    scale = 0.82                                  # inches per data unit
    fig = Figure(figsize=(scale * (right + 0.7),
                          scale * (top + 0.6) + 0.35), layout="constrained")
    ax = fig.subplots()
    # the folded net: one cell with a loop
    _box(ax, 0, 0, r"$x_t$", INPUT)
    _box(ax, 0, 1.4, r"$h_t$", HIDDEN)
    _arrow(ax, (0, 0.27), (0, 1.13), r"$W_{xh}$", offset=(-0.35, 0))
    ax.add_patch(FancyArrowPatch(
        (0.36, 1.52), (0.36, 1.28), arrowstyle="-|>", mutation_scale=10,
        color="#333333",
        connectionstyle="arc,angleA=0,angleB=0,armA=25,armB=25,rad=6"))
    ax.text(0.75, 1.85, r"$W_{hh}$", fontsize=8, va="center")
    if outputs != "none":
        _box(ax, 0, 2.8, r"$y_t$", OUTPUT)
        _arrow(ax, (0, 1.67), (0, 2.53), r"$W_{hy}$", offset=(-0.35, 0))
    ax.text(1.55, 1.4, "=", fontsize=22, ha="center", va="center")

    _box(ax, x0 - 1.9, 1.4, r"$h_0$", HIDDEN, alpha=0.6)
    for t in range(T):
        cx = x0 + 1.9 * t
        _box(ax, cx, 0, rf"$x_{{{t + 1}}}$", INPUT)
        _box(ax, cx, 1.4, rf"$h_{{{t + 1}}}$", HIDDEN)
        _arrow(ax, (cx, 0.27), (cx, 1.13), r"$W_{xh}$", offset=(-0.35, 0))
        _arrow(ax, (cx - 1.53, 1.4), (cx - 0.37, 1.4), r"$W_{hh}$",
               offset=(0, 0.2))
        show = outputs == "all" or (outputs == "last" and t == T - 1)
        if show:
            _box(ax, cx, 2.8, rf"$y_{{{t + 1}}}$", OUTPUT)
            _arrow(ax, (cx, 1.67), (cx, 2.53), r"$W_{hy}$",
                   offset=(-0.35, 0))
            if loss == "per step" or (loss == "end" and t == T - 1):
                _box(ax, cx, 4.0, rf"$L_{{{t + 1}}}$", LOSS, w=0.6)
                _arrow(ax, (cx, 3.07), (cx, 3.75))
    ax.set_xlim(-0.7, right)
    ax.set_ylim(-0.6, top)
    what = {"all": "many-to-many: an output at every step",
            "last": "many-to-one: one output after the last step",
            "none": "no output head"}[outputs]
    ax.set_title(f"unrolled in time, the same $W_{{xh}}, W_{{hh}}, b_h$ at "
                 f"every step ({what})", fontsize=10)
    _blank(ax)
    return fig


def plot_hidden_trajectories(h: np.ndarray, gap: np.ndarray | None = None,
                             title: str = "", units: int = 8) -> Figure:
    """Hidden-state units over time and, optionally, a memory curve.

    Parameters
    ----------
    h : ndarray, shape (T, H)
        One sequence of hidden states.
    gap : ndarray, shape (T,), optional
        ``||h_t - h'_t||`` for a second run whose first input differs:
        how much the state still remembers of ``x_1`` at step t.
    title : str
        Figure title.
    units : int
        How many of the H units to draw.
    """
    T = h.shape[0]
    t = np.arange(1, T + 1)
    ncols = 2 if gap is not None else 1
    fig = Figure(figsize=(5.5 * ncols, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, ncols))
    ax = axes[0]
    # A heat map (one row per unit) instead of overlapping lines: each
    # unit stays readable, and saturation shows as the darkest colours.
    shown = h[:, :units].T                                    # (units, T)
    im = ax.imshow(shown, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                   interpolation="nearest",
                   extent=(0.5, T + 0.5, shown.shape[0] + 0.5, 0.5))
    fig.colorbar(im, ax=ax, label=r"$h_t$ (units saturate at $\pm 1$)")
    ax.set_xlabel("time step t")
    ax.set_ylabel(f"unit (first {shown.shape[0]} of {h.shape[1]})")
    saturated = np.mean(np.abs(h) > 0.99)
    ax.set_title(f"hidden units; {saturated:.0%} of values have "
                 f"|h| > 0.99", fontsize=10)
    if gap is not None:
        ax = axes[1]
        ax.semilogy(t, np.maximum(gap, 1e-17), color=ACCENT)
        low = max(float(np.min(np.maximum(gap, 1e-17))) / 10, 1e-17)
        ax.set_ylim(low, max(10.0, float(np.max(gap)) * 2))
        ax.set_xlabel("time step t")
        ax.set_ylabel(r"$\|h_t - h'_t\|$")
        ax.set_title(r"memory of $x_1$: runs differ only in $x_1$"
                     f"\ngap at t={T}: {gap[-1]:.1e}", fontsize=10)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_loss_curve(losses: Sequence[float], baseline: float | None = None,
                    baseline_label: str = "baseline",
                    xlabel: str = "training step",
                    ylabel: str = "loss", title: str = "") -> Figure:
    """A training loss curve, with an optional horizontal baseline."""
    fig = Figure(figsize=(6.5, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), losses, color="#2c3e50",
            linewidth=1, label="training loss")
    if baseline is not None:
        ax.axhline(baseline, color=ACCENT, linestyle="--",
                   label=f"{baseline_label} ({baseline:.3g})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
