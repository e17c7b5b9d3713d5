"""Figures and the memory explorer of lesson 5, "Gates".

A gate is ``g = sigma(a)``, ``a = W x + b``, followed by an element-wise
product. On a memory vector ``c`` (H units, drawn as bars) the three uses
are forget ``f * c``, remember ``c + i * g~`` and select
``o * tanh(c)``; the explorer follows :func:`helpers.figures.widgets.
interactive_figure` (static figure for the defaults first, controls
below).

* :func:`plot_valve`: a value of 100 through gates of 0, 0.5 and 1.
* :func:`example_memory`: the memory ``c`` and new values ``g~`` of the
  lesson's examples.
* :func:`gate_values`: gate values per unit from one pre-activation.
* :func:`plot_memory_ops`, :func:`draw_memory`, :func:`memory_explorer`:
  forget, remember and select on the memory, drawn as bars.
* :func:`plot_keep_over_time`: how much of a stored value, and of the
  gradient on the direct path, survives ``t`` steps of a forget gate,
  next to the ``sigma' <= 1/4`` factor of lesson 4.
* :func:`plot_memory_trace`: a hand-wired memory cell storing a value,
  keeping it through distractors and reading it later.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from helpers.figures import plots                     # noqa: F401 (PNG)
from helpers.figures.widgets import interactive_figure

__all__ = ["plot_valve", "example_memory", "gate_values", "UNITS",
           "plot_memory_ops", "draw_memory", "memory_explorer",
           "plot_keep_over_time", "plot_memory_trace"]

MEMORY, NEW, READ, GATE = "#b5dcae", "#f6b0a8", "#a9c8f5", "#7f8c8d"
ACCENT = "#c0392b"


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-np.asarray(a, dtype=float)))


def plot_valve(value: float = 100.0,
               gates: Sequence[float] = (0.0, 0.5, 1.0)) -> Figure:
    """A value through gates of the given openings: bars in and out."""
    gates = [float(g) for g in gates]
    fig = Figure(figsize=(7.5, 3.0), layout="constrained")
    axes = fig.subplots(1, len(gates), sharey=True)
    for ax, g in zip(np.atleast_1d(axes), gates):
        ax.bar([0, 1], [value, g * value], color=[MEMORY, READ],
               edgecolor="#333333")
        ax.text(1, g * value + value * 0.03, f"{g * value:g}",
                ha="center", fontsize=10)
        ax.set_xticks([0, 1], ["in", "out"])
        ax.set_title(f"gate g = {g:g}", fontsize=10)
        ax.set_ylim(0, value * 1.2)
        ax.grid(alpha=0.3, axis="y")
    np.atleast_1d(axes)[0].set_ylabel("value")
    fig.suptitle(f"out = g * {value:g}: a valve on a pipe", fontsize=11)
    return fig


def example_memory(H: int = 8, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The lesson's memory ``c (H,)`` (values of a few units, spread
    around 0) and new values ``g~ (H,)`` in (-1, 1), seeded."""
    rng = np.random.default_rng(seed)
    c = np.round(rng.normal(0, 1.5, H), 2)
    g = np.round(np.tanh(rng.normal(0, 1.2, H)), 2)
    return c, g


#: Which units a gate of the explorer acts on; the others are left
#: alone (kept, not written, not read).
UNITS = {"all units": slice(None), "units 0-3": slice(0, 4),
         "units 4-7": slice(4, 8)}


def gate_values(a: float, H: int, units: str = "all units",
                neutral: float = 1.0) -> np.ndarray:
    """``sigma(a)`` on the units chosen by ``units`` (a key of
    :data:`UNITS`), ``neutral`` on the others; shape (H,)."""
    if units not in UNITS:
        raise ValueError(f"units is {units!r}; expected one of "
                         f"{list(UNITS)}")
    g = np.full(H, float(neutral))
    g[UNITS[units]] = _sigmoid(a)
    return g


def plot_memory_ops(c: np.ndarray, f: np.ndarray, i: np.ndarray,
                    g: np.ndarray, o: np.ndarray, title: str = ""
                    ) -> Figure:
    """Forget, remember and select on one memory vector, as bars.

    Top row: the gates ``f``, ``i``, ``o`` per unit (0 closed, 1 open).
    Bottom row: ``c -> f * c``; ``f * c -> f * c + i * g~`` (the new
    values ``g~`` as outlines); the read ``o * tanh(c_new)``.

    Parameters
    ----------
    c, g : ndarray, shape (H,)
        The memory and the new values.
    f, i, o : ndarray, shape (H,)
        Forget, input and output gate values in [0, 1].
    """
    c, f, i, g, o = (np.asarray(v, dtype=float) for v in (c, f, i, g, o))
    kept = f * c
    new = kept + i * g
    read = o * np.tanh(new)
    units = np.arange(len(c))
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 3, sharex=True,
                               gridspec_kw={"height_ratios": [1, 2]})
    for ax, gate, name in zip(top, (f, i, o), ("forget gate f",
                                               "input gate i",
                                               "output gate o")):
        ax.bar(units, gate, color=GATE)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{name}: mean {gate.mean():.2f}", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    lim = max(3.0, float(np.abs(np.concatenate([c, new])).max()) * 1.15)
    ax1, ax2, ax3 = bottom
    ax1.bar(units, c, color="none", edgecolor="#333333", label="memory c")
    ax1.bar(units, kept, color=MEMORY, alpha=0.9, label="f * c")
    ax1.set_title("forget: f * c", fontsize=10)
    ax2.bar(units, kept, color=MEMORY, label="f * c")
    ax2.bar(units, i * g, bottom=kept, color=NEW,
            label="+ i * g~ (gated new values)")
    ax2.scatter(units, new, color="#333333", s=12, zorder=3,
                label="new memory")
    ax2.bar(units, g, color="none", edgecolor=ACCENT, linestyle=":",
            label="new values g~")
    ax2.set_title("remember: f * c + i * g~", fontsize=10)
    ax3.bar(units, np.tanh(new), color="none", edgecolor="#333333",
            label="tanh(new memory)")
    ax3.bar(units, read, color=READ, label="o * tanh(new memory)")
    ax3.set_title("select: o * tanh(memory)", fontsize=10)
    for ax in bottom:
        ax.axhline(0, color="#333333", linewidth=0.6)
        ax.set_ylim(-lim, lim)
        ax.set_xlabel("memory unit")
        ax.set_xticks(units)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def draw_memory(a_f: float = 3.0, a_i: float = 0.0, a_o: float = 3.0,
                units: str = "all units", H: int = 8, seed: int = 0
                ) -> Figure:
    """The explorer's figure: pre-activations ``a_f, a_i, a_o`` pass
    through sigma and act on the units chosen by ``units``; the other
    units are kept (f = 1), not written (i = 0) and not read (o = 0)."""
    c, g = example_memory(H, seed)
    f = gate_values(a_f, H, units, neutral=1.0)
    i = gate_values(a_i, H, units, neutral=0.0)
    o = gate_values(a_o, H, units, neutral=0.0)
    return plot_memory_ops(c, f, i, g, o, title=(
        f"sigma({a_f:g}) = {_sigmoid(a_f):.3f} forget,  "
        f"sigma({a_i:g}) = {_sigmoid(a_i):.3f} input,  "
        f"sigma({a_o:g}) = {_sigmoid(a_o):.3f} output  ({units})"))


def memory_explorer(a_f: float = 3.0, a_i: float = 0.0, a_o: float = 3.0,
                    units: str = "all units"):
    """Set the pre-activation of each gate and the units it acts on; see
    forget, remember and select change the memory.

    Draws :func:`draw_memory` for the default values first, then shows
    the controls. Returns the box of controls (see
    :func:`helpers.figures.widgets.interactive_figure`).
    """
    import ipywidgets as widgets

    def slider(value, name):
        return widgets.FloatSlider(value=value, min=-6.0, max=6.0,
                                   step=0.5, description=name)

    return interactive_figure(
        draw_memory, a_f=slider(a_f, "forget a_f"),
        a_i=slider(a_i, "input a_i"), a_o=slider(a_o, "output a_o"),
        units=widgets.Dropdown(options=list(UNITS), value=units,
                               description="gates on"))


def plot_keep_over_time(kept: Mapping[str, np.ndarray],
                        sigma_prime: np.ndarray | None = None) -> Figure:
    """What survives ``t`` steps, log scale.

    Parameters
    ----------
    kept : dict
        ``{label: values}``, each of shape (T + 1,), value at step t.
    sigma_prime : ndarray, shape (T + 1,), optional
        ``(1/4)**t``, drawn dashed: the bound of lesson 4 for a path
        through ``t`` sigmoid derivatives.
    """
    fig = Figure(figsize=(6.8, 3.6), layout="constrained")
    ax = fig.subplots()
    for label, values in kept.items():
        ax.semilogy(np.arange(len(values)), np.maximum(values, 1e-300),
                    label=label)
    if sigma_prime is not None:
        ax.semilogy(np.arange(len(sigma_prime)), sigma_prime, "--",
                    color=ACCENT, label=r"$(1/4)^t$: $t$ factors "
                    r"$\sigma' \leq 1/4$")
    ax.set_xlabel("steps t")
    ax.set_ylabel("fraction kept")
    ax.set_ylim(1e-12, 2)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("a memory unit under a forget gate, step after step",
                 fontsize=10)
    return fig


def plot_memory_trace(x: np.ndarray, c: np.ndarray, f: np.ndarray,
                      i: np.ndarray, o: np.ndarray, read: np.ndarray
                      ) -> Figure:
    """One sequence through a hand-wired memory cell with one unit.

    Parameters
    ----------
    x : ndarray, shape (T, 3)
        Inputs per step: the value, the "store" marker, the "read"
        marker.
    c : ndarray, shape (T,)
        Memory after each step.
    f, i, o : ndarray, shape (T,)
        Gate values per step.
    read : ndarray, shape (T,)
        ``o * tanh(c)`` per step.
    """
    T = len(c)
    t = np.arange(1, T + 1)
    fig = Figure(figsize=(10, 4.6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True,
                            gridspec_kw={"height_ratios": [2, 1]})
    ax1.plot(t, x[:, 0], ".", color="#999999", markersize=4,
             label="input value (distractors)")
    ax1.step(t, c, where="mid", color="#2c7a2c", label="memory c_t")
    ax1.plot(t, read, "o", color="#2c5aa0", markersize=3,
             label="read o_t * tanh(c_t)")
    for name, col, style in (("store", 1, ":"), ("read", 2, "--")):
        for s in np.flatnonzero(x[:, col] > 0.5):
            ax1.axvline(s + 1, color=ACCENT, linestyle=style, linewidth=1)
            ax1.text(s + 1, 1.05, f" {name}", color=ACCENT, fontsize=8,
                     transform=ax1.get_xaxis_transform())
    ax1.set_ylabel("value")
    ax1.grid(alpha=0.3)
    ax1.set_ylim(-1.35, 1.35)
    ax1.legend(fontsize=8, loc="upper center", ncol=3)
    for g, name, style in ((f, "forget f_t", "-"), (i, "input i_t", "--"),
                           (o, "output o_t", ":")):
        ax2.plot(t, g, style, drawstyle="steps-mid", label=name)
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_xlabel("time step t")
    ax2.set_ylabel("gate value")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="center left")
    return fig
