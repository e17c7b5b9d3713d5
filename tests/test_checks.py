"""The vocabulary of the checks, :mod:`helpers.checks`."""

from __future__ import annotations

import numpy as np
import pytest

import helpers.checks as hc
from helpers.checks import rnn as check_rnn
from helpers.reference.gradcheck import finite_differences
from helpers.reference.rnn import rnn_step_forward as ref_rnn_step_forward


def test_close_follows_dtype_tolerances_and_nests():
    a = np.ones((2, 3))
    assert hc.close(a + 5e-5, a, np.float32)
    assert not hc.close(a + 5e-5, a, np.float64)
    assert not hc.close(a, np.ones((3, 2)))
    assert not hc.close(a * np.nan, a * np.nan)
    assert not hc.close({"W": a}, {"W": a, "b": a})
    assert hc.close(({"W": a}, a), ({"W": a + 1e-9}, a), np.float64)
    assert not hc.close("not a number", a)


def test_same_and_snapshot_see_any_change_in_place():
    x, params = np.arange(4.0), {"W": np.eye(2), "b": np.zeros(2)}
    unchanged = hc.snapshot(x, params, [np.nan])
    assert unchanged()
    params["b"][1] = 1.0
    assert not unchanged()
    assert hc.same({"a": [np.nan, 1]}, {"a": [np.nan, 1]})
    assert not hc.same({"a": 1, "b": 2}, {"b": 2, "a": 1})


def test_diagnose_names_every_match_once():
    got = np.zeros(3)
    pairs = [(np.zeros(3), "zero"), (None, "skipped"), (np.ones(3), "one"),
             (np.zeros(3) + 1e-12, "zero")]
    assert hc.diagnose(got, pairs) == "zero"
    pairs.append((np.zeros(3), "also zero"))
    assert hc.diagnose(got, pairs) == "zero Or: also zero"
    assert hc.likely("") == "" and hc.likely("x").startswith("Likely")


def test_first_wrong_walks_either_way():
    expected = np.zeros((2, 5, 3))
    got = expected.copy()
    got[:, 1] = got[:, 3] = 1.0
    assert hc.first_wrong(got, expected) == 1
    assert hc.first_wrong(got, expected, backwards=True) == 3
    assert hc.first_wrong(expected, expected) is None


def test_expect_close_names_the_worst_entry_and_computes_hints_lazily():
    calls = []
    hc.expect_close("y", np.ones(3), np.ones(3), hint=lambda: calls.append(1))
    assert calls == []
    got = np.array([[0.0, 1.0], [2.0, 9.0]])
    with pytest.raises(AssertionError, match=r"at index \(1, 1\) you have "
                       r"9, expected 3 \(1 of 4 .*look here"):
        hc.expect_close("y", got, [[0, 1], [2, 3]], hint=lambda: "look here")


def test_expect_cache_and_grads_name_the_wrong_entry():
    x, h = np.ones((2, 3)), np.zeros((2, 4))
    params = {"W_xh": np.ones((4, 3))}
    hc.expect_cache((x, h, params), "(x, h, params)", (x, h, params))
    with pytest.raises(AssertionError, match=r"cache\[1\] should be h"):
        hc.expect_cache((x, x, params), "(x, h, params)", (x, h, params))
    with pytest.raises(AssertionError, match=r"has shape \(3, 4\).*of "
                       r"its parameter: e.g."):
        hc.expect_grads("step", {"W_xh": np.ones((3, 4))}, params,
                        ": e.g. ...")
    with pytest.raises(AssertionError, match=r"missing \['W_xh'\]"):
        hc.expect_grads("step", {}, params)


def test_a_notebook_patching_numpy_cannot_change_a_verdict(monkeypatch):
    """Comparisons use numpy functions bound at import."""
    def wrong_step(x, h_prev, params):
        h_next = ref_rnn_step_forward(x, h_prev, params)[0] + 1.0
        return h_next, (x, h_prev, h_next, params)

    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda x, *a, **k: np.ones(
        np.shape(x), bool))
    monkeypatch.setattr(np, "abs", lambda x, *a, **k: np.zeros_like(
        np.asarray(x, float)))
    with pytest.raises(AssertionError, match="h_next is wrong"):
        check_rnn.rnn_step_forward(wrong_step)
    with pytest.raises(AssertionError, match="contains NaN"):
        hc.expect_close("y", np.full(2, np.nan), np.zeros(2))


def test_one_sided_stencil_is_the_forward_difference():
    x = np.array([0.5, 1.5])
    g = finite_differences(lambda: float(np.sum(x ** 3)), x, 1e-3,
                           "one-sided")
    by_hand = ((x + 1e-3) ** 3 - x ** 3) / 1e-3
    assert np.abs(g - by_hand).max() < 1e-9
    assert np.array_equal(x, [0.5, 1.5])
