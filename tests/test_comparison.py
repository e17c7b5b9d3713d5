"""The side-by-side training of lesson 7
(:mod:`helpers.support.comparison`) and its figures
(:mod:`helpers.figures.gru_plots`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.figures import gru_plots
from helpers.support import comparison


@pytest.mark.parametrize("cell, blocks", [("rnn", 1), ("gru", 3),
                                          ("lstm", 4)])
def test_model_size_is_the_formula_plus_the_head(cell, blocks):
    D, H = 2, 7
    assert comparison.model_size(cell, D, H) == \
        blocks * H * (D + H + 2) + H + 1


def test_matched_sizes_stay_within_ten_percent():
    sizes = comparison.matched_sizes(2, 3000)
    counts = [comparison.model_size(c, 2, H) for c, H in sizes.items()]
    assert sizes["rnn"] > sizes["gru"] > sizes["lstm"]
    assert max(counts) <= 1.1 * min(counts)
    with pytest.raises(ValueError, match="cell"):
        comparison.matched_sizes(2, 3000, cells=("rnn", "transformer"))


def test_train_cell_is_seeded_and_learns_a_short_lag():
    a = comparison.train_cell("gru", 2, 8, steps=40, seed=3, n_test=100)
    b = comparison.train_cell("gru", 2, 8, steps=40, seed=3, n_test=100)
    assert np.array_equal(a.losses, b.losses) and a.r2 == b.r2
    assert a.n_params == comparison.model_size("gru", 2, 8)
    assert a.losses.shape == (40,) and a.seconds_per_update > 0
    assert np.mean(a.losses[-10:]) < 0.5 * np.mean(a.losses[:10])
    assert a.config["keep_bias"] == 0.0
    assert torch.get_num_threads() >= 1


@pytest.mark.parametrize("cell, blocks", [("gru", 3), ("lstm", 4)])
def test_keep_bias_shifts_the_gate_that_keeps_the_memory(cell, blocks):
    """+keep_bias lands on block 1: the LSTM's forget gate f (order i, f,
    g, o) and the GRU's update gate z (order r, z, n); the rest of the
    initialisation is the same seeded one."""
    H = 4
    plain, _ = comparison.build_model(cell, H, 0.0, seed=5)
    kept, _ = comparison.build_model(cell, H, 1.0, seed=5)
    diff = (kept.bias_ih_l0 - plain.bias_ih_l0).detach()
    assert torch.allclose(diff[H:2 * H], torch.ones(H))
    assert torch.allclose(diff[:H], torch.zeros(H))
    assert torch.allclose(diff[2 * H:], torch.zeros((blocks - 2) * H))
    assert torch.equal(kept.weight_hh_l0, plain.weight_hh_l0)


def test_compare_summarise_and_plot():
    sizes = {"rnn": 6, "gru": 4}
    runs = comparison.compare(sizes, 2, seeds=(0, 1), progress=False,
                              steps=10, n_test=50)
    assert [r.config["seed"] for r in runs["gru"]] == [0, 1]
    s = comparison.summarise(runs)
    assert s["rnn"]["H"] == 6 and len(s["gru"]["r2"]) == 2
    assert s["gru"]["min"] <= s["gru"]["median"] <= s["gru"]["max"]
    fig = gru_plots.plot_comparison(runs, comparison.BASELINE_MSE,
                                    smooth=5)
    assert len(fig.axes) == 3
    assert len(fig.axes[1].patches) == 2          # one median bar per cell


def test_other_figures_draw():
    fig = gru_plots.plot_update_gate({"z small": np.linspace(0, 1, 6)},
                                     np.zeros(5))
    assert len(fig.axes[0].get_lines()) == 2
    fig = gru_plots.plot_param_counts([4, 8], {"rnn": [40, 96],
                                               "gru": [120, 288]}, 2)
    assert len(fig.axes[0].get_lines()) == 2
