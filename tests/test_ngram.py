"""Tests for helpers/support/ngram.py: the n-gram baselines of lesson 8."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.support.ngram import NGramLM, bits_per_char


def random_text(L=3000, V=6, seed=0):
    """A Markov chain of order 2, so that longer contexts help."""
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(V, 0.3), size=(V, V))       # (V, V, V)
    ids = list(rng.integers(0, V, 2))
    for _ in range(L - 2):
        ids.append(int(rng.choice(V, p=table[ids[-2], ids[-1]])))
    return np.array(ids), V


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_distributions_sum_to_one_and_are_positive(n):
    ids, V = random_text()
    lm = NGramLM(ids, V, n)
    for context in ([], [0], [1, 2], [5, 5, 5], [0, 1, 2, 3, 4]):
        p = lm.distribution(context)
        assert p.shape == (V,)
        assert abs(p.sum() - 1) < 1e-12
        assert (p > 0).all()


def test_unseen_character_gets_probability_above_zero():
    lm = NGramLM(np.array([0, 1, 0, 1, 0, 1, 0]), V=3, n=2)
    assert 0 < lm.prob([0], 2) < 0.2
    assert lm.prob([0], 1) > 0.7


def test_unigram_is_close_to_the_frequencies():
    ids, V = random_text(L=20000)
    p = NGramLM(ids, V, 1).distribution([])
    freq = np.bincount(ids, minlength=V) / len(ids)
    assert np.abs(p - freq).max() < 1e-3


def test_kneser_ney_by_hand():
    """Order 2 on "abab" + "c": the formula of the module docstring."""
    ids = np.array([0, 1, 0, 1, 2])                # a b a b c
    lm = NGramLM(ids, V=3, n=2)
    d2 = lm.discounts[1]              # bigrams ab 2, ba 1, bc 1:
    assert d2 == pytest.approx(2 / (2 + 2 * 1))    # n1 = 2, n2 = 1
    # unigram level, continuation counts (distinct left neighbours):
    # a after b, b after a, c after b: 1 each, so n1 = 3, n2 = 0, d = 1
    d1 = lm.discounts[0]
    assert d1 == pytest.approx(1.0)
    p1 = np.full(3, max(1 - d1, 0)) / 3 + d1 * 3 / 3 * np.full(3, 1 / 3)
    # after "b": c(ba) = 1, c(bc) = 1, total 2, two types
    p2 = np.array([1 - d2, 0, 1 - d2]) / 2 + d2 * 2 / 2 * p1
    np.testing.assert_allclose(lm.distribution([1]), p2)


def test_longer_contexts_help_on_a_markov_chain():
    ids, V = random_text(L=6000)
    train, val = ids[:5000], ids[5000:]
    bits = [NGramLM(train, V, n).bits_per_char(val) for n in (1, 2, 3)]
    assert bits[0] > bits[1] > bits[2]


def test_history_gives_the_first_characters_their_context():
    ids, V = random_text()
    lm = NGramLM(ids[:2000], V, 3)
    alone = lm.probs_of(ids[2000:2010])
    with_history = lm.probs_of(ids[2000:2010], history=ids[1990:2000])
    assert alone[2:] == pytest.approx(with_history[2:])
    assert alone[0] != pytest.approx(with_history[0])


def test_bits_per_char():
    assert bits_per_char([0.5, 0.25]) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        bits_per_char([0.5, 0.0])


def test_bad_arguments():
    with pytest.raises(ValueError):
        NGramLM(np.array([0, 1, 2]), V=2, n=2)
    with pytest.raises(ValueError):
        NGramLM(np.array([0, 1]), V=2, n=0)
