"""The figures and the memory explorer of lesson 5
(:mod:`helpers.figures.gates`)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers.figures import gates, widgets


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(widgets, "display",
                        lambda obj, display_id=False: out.append(obj))
    return out


def test_valve_shows_the_gated_values():
    fig = gates.plot_valve(100.0, (0.0, 0.5, 1.0))
    heights = [[p.get_height() for p in ax.patches] for ax in fig.axes]
    assert heights == [[100, 0], [100, 50], [100, 100]]


def test_gate_values_act_on_the_chosen_units_only():
    g = gates.gate_values(0.0, 8, "units 0-3", neutral=1.0)
    assert np.allclose(g, [0.5] * 4 + [1.0] * 4)
    assert np.allclose(gates.gate_values(50.0, 8), 1.0)
    with pytest.raises(ValueError, match="units"):
        gates.gate_values(0.0, 8, "some units")


def test_memory_ops_draws_forget_remember_select():
    c, g = gates.example_memory()
    f, i, o = np.full(8, 0.5), np.ones(8), np.zeros(8)
    fig = gates.plot_memory_ops(c, f, i, g, o)
    forget_ax, remember_ax, select_ax = fig.axes[3:]
    kept = [p.get_height() for p in forget_ax.patches][8:]
    assert np.allclose(kept, 0.5 * c)
    new = remember_ax.collections[0].get_offsets()[:, 1]
    assert np.allclose(new, 0.5 * c + g)
    read = [p.get_height() for p in select_ax.patches][8:]
    assert np.allclose(read, 0.0)


def test_memory_explorer_draws_static_figure_first_and_redraws(shown):
    box = gates.memory_explorer()
    assert isinstance(shown[0], Figure), "the static figure comes first"
    assert shown[1] is box
    a_f = next(c for c in box.children
               if getattr(c, "description", "") == "forget a_f")
    a_f.value = -6.0
    fig = box.redraw()
    assert "sigma(-6)" in fig._suptitle.get_text()


def test_keep_over_time_and_memory_trace_draw():
    fig = gates.plot_keep_over_time({"f = 0.9": 0.9 ** np.arange(11)},
                                    0.25 ** np.arange(11))
    assert len(fig.axes[0].get_lines()) == 2
    T = 10
    x = np.zeros((T, 3))
    x[2, 1] = x[-1, 2] = 1.0
    z = np.zeros(T)
    fig = gates.plot_memory_trace(x, z, z + 1, z, z, z)
    assert len(fig.axes) == 2
