"""Tests for the experiments of lesson 9: the reversal task
(helpers/support/reversal.py) and the layer timing
(helpers/support/recurrence_cost.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.support import recurrence_cost, reversal
from helpers.support.models import Seq2Seq


def test_a_batch_is_its_own_reversal():
    src, tgt_in, tgt = reversal.reversal_batch(5, 7, 4,
                                               np.random.default_rng(0))
    assert src.shape == tgt_in.shape == tgt.shape == (5, 7)
    assert int(src.min()) >= 0 and int(src.max()) < 4
    assert torch.equal(tgt, src.flip(1))
    assert (tgt_in[:, 0] == 4).all()                 # BOS = V
    assert torch.equal(tgt_in[:, 1:], tgt[:, :-1])   # shifted right


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        reversal.reversal_batch(2, 0, 5, np.random.default_rng(0))


class _Oracle:
    """Decodes by a rule instead of a network."""

    def __init__(self, rule):
        self.rule = rule

    def greedy_decode(self, src, bos_id, max_len):
        assert max_len == src.shape[1]
        return self.rule(src), None


def test_exact_match_counts_whole_sequences():
    perfect = _Oracle(lambda s: s.flip(1))
    copy = _Oracle(lambda s: s)
    last_wrong = _Oracle(lambda s: torch.cat(
        [s.flip(1)[:, :-1], (s[:, :1] + 1) % 10], 1))
    lengths = [2, 5, 9]
    assert (reversal.exact_match_by_length(perfect, 10, lengths) == 1).all()
    assert (reversal.exact_match_by_length(last_wrong, 10, lengths)
            == 0).all()
    acc = reversal.exact_match_by_length(copy, 10, lengths, n=2000)
    assert abs(acc[0] - 0.1) < 0.03 and acc[2] < 0.01   # palindromes only
    per = reversal.token_accuracy_by_position(last_wrong, 10, 6)
    assert per.shape == (6,) and (per[:-1] == 1).all() and per[-1] == 0


def test_training_lowers_the_loss_and_is_seeded():
    def run():
        model = Seq2Seq(5, 6, embed_dim=8, hidden_size=16,
                        attention="dot", seed=0)
        return reversal.train_reversal(model, 5, (1, 3), steps=30, N=16,
                                       seed=0, progress=False)
    losses = run()
    assert losses[-5:].mean() < 0.8 * losses[:5].mean()
    assert np.array_equal(losses, run())


def test_layer_times_have_one_entry_per_length_and_pass():
    times = recurrence_cost.time_layers([4, 8], E=8, N=1, heads=2,
                                        repeats=1)
    assert set(times) == {"GRU", "self-attention"}
    for t in times.values():
        assert set(t) == {"forward", "backward"}
        assert all(v.shape == (2,) and (v > 0).all() for v in t.values())
    assert recurrence_cost.sequential_steps(100) == {
        "GRU": 100, "self-attention": 5}
