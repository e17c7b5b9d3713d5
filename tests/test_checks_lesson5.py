"""The graded checks of lesson 5 (gates) accept right answers and name
the usual wrong ones.

Each check must pass the right answer (visible and hidden), fail a
blank answer with "not implemented", fail each typical mistake with the
message that names it, and fail a "hard-coded" answer (replaying the
visible outputs) on the hidden inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.checks import gates
from test_checks_lessons34 import fails, not_implemented, replay_of


def sig(a):
    return 1 / (1 + np.exp(-a))


def right_gate(x, v, W, b):
    g = sig(x @ W.T + b)
    return g * v, g


def right_forget(c, f):
    return f * c


def right_remember(c, i, g):
    return c + i * g


def right_select(c, o):
    return o * np.tanh(c)


RIGHT = [(gates.gate, right_gate), (gates.forget, right_forget),
         (gates.remember, right_remember), (gates.select, right_select)]


@pytest.mark.parametrize("check, fn", RIGHT)
def test_right_answers_pass(check, fn, capsys):
    check(fn)
    check(fn, hidden=True)
    check(fn, hidden=True)
    assert capsys.readouterr().out.count("\u2713") == 3


def test_right_answers_written_differently_pass():
    """einsum, an explicit loop, float64 inside with the dtype restored,
    and a sigmoid written with tanh all pass."""
    def gate_einsum(x, v, W, b):
        g = 0.5 * (1 + np.tanh(0.5 * (np.einsum("nd,hd->nh", x, W) + b)))
        return np.multiply(g, v), g

    def gate_loop(x, v, W, b):
        g = np.empty((x.shape[0], W.shape[0]), x.dtype)
        for n in range(x.shape[0]):
            g[n] = sig(W.astype(np.float64) @ x[n] + b)
        return g * v, g

    for fn in (gate_einsum, gate_loop):
        gates.gate(fn)
        gates.gate(fn, hidden=True)


@pytest.mark.parametrize("check, name", [
    (gates.gate, "gate"), (gates.forget, "forget"),
    (gates.remember, "remember"), (gates.select, "select")])
def test_blank_answer_says_not_implemented(check, name):
    fails(check, not_implemented, f"{name} is not implemented yet")


@pytest.mark.parametrize("check, fn", RIGHT)
def test_replayed_answers_fail_the_hidden_check(check, fn):
    replay = replay_of(fn, check)
    check(replay)                              # the visible check passes
    with pytest.raises(AssertionError):
        check(replay, hidden=True)


# ------------------------------------------------------------ gate
def _gate(mistake):
    def fn(x, v, W, b):
        a = x @ W.T + b
        g = sig(a)
        if mistake == "no_sigmoid":
            g = a
        if mistake == "tanh":
            g = np.tanh(a)
        if mistake == "sign":
            g = 1 / (1 + np.exp(a))
        if mistake == "no_bias":
            g = sig(x @ W.T)
        if mistake == "bias_outside":
            g = sig(x @ W.T) + b
        if mistake == "no_input":
            g = sig(b) + 0 * a
        if mistake == "W_transposed":
            g = sig(x @ W + b)
        if mistake == "add":
            return g + v, g
        if mistake == "no_product":
            return g, g
        if mistake == "swapped":
            return g, g * v
        if mistake == "float64":
            g = g.astype(np.float64)
        if mistake == "matmul":
            return g @ v.T, g
        return g * v, g
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("no_sigmoid", ["g (the gate values) is wrong", "W = 0 and b = 0",
                    "pass it through the sigmoid"]),
    ("tanh", ["use the sigmoid, not tanh"]),
    ("sign", ["1 - sigma(a)", "minus sign"]),
    ("no_bias", ["only the bias is left", "the bias b is missing"]),
    ("bias_outside", ["add b inside the sigmoid"]),
    ("no_input", ["only the input term is left",
                  "the input term W x is missing"]),
    ("add", ["out is wrong", "a gate multiplies"]),
    ("no_product", ["out is the gate itself"]),
    ("swapped", ["g (the gate values) is wrong"]),
    ("float64", ["dtype float64", "float32"]),
    ("matmul", ["out has shape"]),
])
def test_gate_names_the_mistake(mistake, needles):
    fails(gates.gate, _gate(mistake), *needles)


def test_gate_transposed_W_is_named():
    """On the first, non-square case the product crashes and the hint
    says how W x is written; on a square W the mistake is named."""
    fails(gates.gate, _gate("W_transposed"), "gate raised ValueError",
          "x @ W.T")
    rng = np.random.default_rng(0)
    x, v = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    with pytest.raises(AssertionError, match="W is used transposed"):
        gates._check_gate(_gate("W_transposed"), x, v, W, b, "all")


def test_gate_rejects_in_place_change():
    def fn(x, v, W, b):
        g = sig(x @ W.T + b)
        v *= g
        return v, g
    fails(gates.gate, fn, "changed one of its inputs in place")


def test_gate_that_returns_one_array_is_told_to_return_a_pair():
    fails(gates.gate, lambda x, v, W, b: sig(x @ W.T + b) * v,
          "should return a pair (out, g)")


# ------------------------------------------- forget, remember, select
@pytest.mark.parametrize("fn, needles", [
    (lambda c, f: c * (1 - f), ["gate values 0, 0.5 and 1",
                                "you used 1 - f"]),
    (lambda c, f: f, ["you returned the gate"]),
    (lambda c, f: c - f, ["does not subtract"]),
    (lambda c, f: c, ["the memory is unchanged"]),
])
def test_forget_names_the_mistake(fn, needles):
    fails(gates.forget, fn, *needles)


def test_forget_in_place_is_rejected():
    def fn(c, f):
        c *= f
        return c
    fails(gates.forget, fn, "in place", "c *= f")


@pytest.mark.parametrize("fn, needles", [
    (lambda c, i, g: i * g, ["the old memory is lost"]),
    (lambda c, i, g: (1 - i) * c + i * g, ["you blended the memory"]),
    (lambda c, i, g: c + g, ["the input gate is ignored"]),
    (lambda c, i, g: c + i, ["you added the gate"]),
    (lambda c, i, g: c * i + g, ["multiplies the new values g"]),
    (lambda c, i, g: c + (1 - i) * g, ["you used 1 - i"]),
    (lambda c, i, g: c @ (i * g).T, ["has shape"]),
])
def test_remember_names_the_mistake(fn, needles):
    fails(gates.remember, fn, *needles)


@pytest.mark.parametrize("fn, needles", [
    (lambda c, o: o * c, ["the tanh is missing"]),
    (lambda c, o: np.tanh(o * c), ["not tanh(o * c)"]),
    (lambda c, o: np.tanh(c), ["the output gate is ignored"]),
    (lambda c, o: (1 - o) * np.tanh(c), ["you used 1 - o"]),
    (lambda c, o: c, ["you returned the memory"]),
    (lambda c, o: (o * np.tanh(c)).astype(np.float64), ["dtype"]),
])
def test_select_names_the_mistake(fn, needles):
    fails(gates.select, fn, *needles)
