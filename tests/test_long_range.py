"""helpers/support/long_range.py (lesson 6's adding-problem experiment):
the weight counts are torch's, the budgets match, a run is seeded and
learns, the sweep has one run per cell, length and seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.support import long_range


@pytest.mark.parametrize("cell, module", [("rnn", torch.nn.RNN),
                                          ("lstm", torch.nn.LSTM)])
@pytest.mark.parametrize("H", [1, 7, 16, 34])
def test_n_params_counts_the_torch_modules(cell, module, H):
    m, head = module(2, H), torch.nn.Linear(H, 1)
    total = sum(p.numel() for p in [*m.parameters(), *head.parameters()])
    assert long_range.n_params(cell, H) == total


@pytest.mark.parametrize("H", [4, 8, 16, 32, 64])
def test_the_matched_rnn_is_within_ten_percent(H):
    H_rnn = long_range.matched_rnn_size(H)
    ratio = long_range.n_params("rnn", H_rnn) / long_range.n_params(
        "lstm", H)
    assert abs(ratio - 1) < 0.10 and H_rnn > H


def test_a_run_is_seeded_and_its_record_is_complete():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    a = long_range.train_adding("lstm", 6, H=4, steps=5, N=8, seed=3,
                                n_test=50)
    b = long_range.train_adding(**a.config)
    assert np.array_equal(a.losses, b.losses) and a.test_mse == b.test_mse
    assert a.losses.shape == (5,) and a.H == 4 and a.T == 6
    assert a.params == long_range.n_params("lstm", 4)
    c = long_range.train_adding("lstm", 6, H=4, steps=5, N=8, seed=4,
                                n_test=50)
    assert not np.array_equal(a.losses, c.losses)
    assert torch.get_num_threads() == 2          # the setting is restored
    torch.set_num_threads(threads)


def test_the_forget_bias_is_set_in_block_f():
    """The model starts with b_f = forget_bias (torch's block 1 of i, f,
    g, o), both biases summed; with None torch's init is kept."""
    run = long_range.train_adding("lstm", 5, H=3, steps=1, N=4, lr=0.0,
                                  n_test=10, forget_bias=2.5)
    assert run.test_mse > 0
    rnn, _ = long_range._model("lstm", 3, 2.5)
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    assert np.allclose(b[3:6], 2.5) and not np.allclose(b[:3], 2.5)


def test_an_lstm_learns_a_short_adding_problem():
    run = long_range.train_adding("lstm", 5, steps=200, seed=0)
    assert run.test_mse < long_range.SOLVED_MSE < long_range.BASELINE_MSE


def test_the_baseline_is_the_mse_of_answering_one():
    from helpers.support.data import adding_problem
    _, y = adding_problem(200_000, 10, seed=0)
    assert abs(np.mean((y - 1) ** 2) - long_range.BASELINE_MSE) < 2e-3


def test_the_sweep_has_one_run_per_cell_length_and_seed():
    sweep = long_range.adding_sweep((4, 6), (0, 1), H=3, steps=2, N=4,
                                    n_test=10, progress=False)
    assert sorted(sweep) == [("lstm", 4), ("lstm", 6), ("rnn", 4),
                             ("rnn", 6)]
    assert [r.seed for r in sweep[("rnn", 6)]] == [0, 1]
    assert sweep[("rnn", 4)][0].H == long_range.matched_rnn_size(3)


def test_a_bad_cell_is_refused():
    with pytest.raises(ValueError, match="expected 'rnn' or 'lstm'"):
        long_range.train_adding("gru", 5, steps=1)
