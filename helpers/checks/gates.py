"""Checks for lesson 5, "Gates".

A gate is ``g = sigma(W x + b)`` followed by the product ``g * v``; the
three uses on a memory vector ``c`` are

* forget:   ``c * f``             (scale the memory),
* remember: ``c + i * g``         (add gated new values ``g``),
* select:   ``o * tanh(c)``       (read part of the memory).

The expected values are computed here, one line each, from these
equations. Visible cases start with gate values 0, 0.5 and 1 (the valve
of the lesson) and switch the terms of the gate on one at a time, so the
first failure names the term; hidden cases draw fresh shapes and values,
float32 included.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (F32, F64, describe, diagnose, expect_array,
                            expect_true, fresh_sizes, likely, make_rng,
                            passed, random_arrays, run_student, snapshot)

__all__ = ["gate", "forget", "remember", "select"]


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ------------------------------------------------------------------ gate
GATE_TERMS = {
    "zero": "With W = 0 and b = 0 every gate value is sigma(0) = 0.5, so "
            "g should be 0.5 everywhere and out = v / 2.",
    "bias": "With W = 0 only the bias is left, so g should be "
            "sigma(b): the bias term is wrong.",
    "input": "With b = 0 only the input term is left, so g should be "
             "sigma(W x): the W x term is wrong.",
    "all": "With W x and b both on, the gate is wrong.",
}


def _gate_mistakes(x, v, W, b) -> list:
    """The usual wrong gate values ``g``, with their messages."""
    a = x @ W.T + b
    square = W.shape[0] == W.shape[1]
    return [
        (a, "g is the pre-activation W x + b: pass it through the sigmoid, "
            "g = 1 / (1 + exp(-a))."),
        (np.tanh(a), "use the sigmoid, not tanh: a gate must lie between "
                     "0 (closed) and 1 (open)."),
        (_sigmoid(-a), "your gate is 1 - sigma(a), closed where it should "
                       "be open: sigma(a) = 1 / (1 + exp(-a)), with a "
                       "minus sign in the exponent."),
        (_sigmoid(x @ W + b) if square else None,
         "W is used transposed: the text's W x is x @ W.T for a batch of "
         "rows."),
        (_sigmoid(x @ W.T), "the bias b is missing."),
        (_sigmoid(x @ W.T) + b, "add b inside the sigmoid, not after it."),
        (_sigmoid(b + 0 * a), "the input term W x is missing."),
    ]


def _out_mistakes(g, v) -> list:
    return [
        (g, "out is the gate itself: multiply it with the signal, "
            "out = g * v."),
        (v, "out is the signal unchanged: multiply it by the gate, "
            "out = g * v."),
        (g + v, "the gate adds to the signal; a gate multiplies, "
                "out = g * v (element by element)."),
        ((1 - g) * v, "out = (1 - g) * v lets through what the gate "
                      "should hold back: out = g * v."),
    ]


def _check_gate(fn, x, v, W, b, term):
    unchanged, dt = snapshot(x, v, W, b), x.dtype
    g_ref = _sigmoid(x @ W.T + b)         # before the call: v may change
    out_ref, mistakes = g_ref * v, _out_mistakes(g_ref, v.copy())
    out, g = run_student(
        fn, "gate", x, v, W, b, returns="a pair (out, g)",
        hint="check the shapes: x is (N, D), v is (N, H), W is (H, D), "
             "b is (H,); with a batch of rows W x is x @ W.T, and the "
             "product with v is element by element (*), not @.")
    expect_array("g (the gate values)", g, g_ref, "N, H", dt, hint=lambda: (
        GATE_TERMS[term] + " " + likely(diagnose(
            g, _gate_mistakes(x, v, W, b), dt))).strip())
    expect_array("out", out, out_ref, "N, H", dt, hint=lambda: likely(
        diagnose(out, mistakes, dt)) or (
        "g is right, so the product is wrong: out = g * v."))
    expect_true(unchanged(), "gate changed one of its inputs in place (x, "
                             "v, W or b); compute new arrays instead.")


def gate(fn: Callable, hidden: bool = False) -> None:
    """Check ``gate(x, v, W, b) -> (out, g)`` with ``g = sigma(x @ W.T +
    b)`` and ``out = g * v``."""
    rng = make_rng(hidden, seed=50)
    sizes = fresh_sizes(rng, 3) if hidden else [(3, 4, 5, F64),
                                                (2, 3, 3, F32)]
    for N, D, H, dt in sizes:
        p = random_arrays(rng, {"W": (H, D), "b": (H,)}, dt, scale=1.5)
        x = rng.normal(size=(N, D)).astype(dt)
        v = rng.normal(0, 50, (N, H)).astype(dt)
        zW, zb = np.zeros_like(p["W"]), np.zeros_like(p["b"])
        for term, W, b in (("zero", zW, zb), ("bias", zW, p["b"]),
                           ("input", p["W"], zb), ("all", p["W"], p["b"])):
            _check_gate(fn, x, v, W, b, term)
    passed("gate: sigma(W x + b), the element-wise product, float32 all "
           "right", hidden)


# --------------------------------------------- forget, remember, select
def _gate_values(rng, N, H, dt, valve):
    """Gate values: the valve's 0, 0.5, 1 in turn, or sigma(3 * normal)."""
    if valve:
        return np.resize(np.array([0.0, 0.5, 1.0]), (N, H)).astype(dt)
    return _sigmoid(rng.normal(0, 3, (N, H))).astype(dt)


def _memory_cases(hidden, seed, gate):
    """``(rng, c, gate values, dtype, what)`` of each case: the valve's
    0, 0.5, 1 first, then random values; hidden ones with fresh sizes."""
    rng = make_rng(hidden, seed)
    sizes = fresh_sizes(rng, 2, dtypes=(F64, F32, F64), one=False) \
        if hidden else [(2, 6, F64), (3, 5, F64), (2, 4, F32)]
    for i, (N, H, dt) in enumerate(sizes):
        valve = i == 0 and not hidden
        c = rng.normal(0, 2, (N, H)).astype(dt)
        what = (f"{gate} gate values 0, 0.5 and 1, " if valve else "") + \
            describe(dt, N=N, H=H)
        yield rng, c, _gate_values(rng, N, H, dt, valve), dt, what


def _check_op(fn, name, args, arg_names, expected, mistakes, what, dt,
              fallback):
    unchanged = snapshot(*args)
    got = run_student(fn, name, *args, hint=(
        f"{', '.join(arg_names)} all have shape (N, H); the operations "
        f"are element by element (* and +, not @)."))
    expect_array(f"the result of {name} ({what})", got, expected, "N, H", dt,
                 hint=lambda: likely(diagnose(got, mistakes, dt)) or
                 fallback)
    expect_true(unchanged(), f"{name} changed its inputs in place ("
                f"{', '.join(arg_names)}); return a new array instead "
                f"(c * f, not c *= f).")


def forget(fn: Callable, hidden: bool = False) -> None:
    """Check ``forget(c, f) -> c * f``."""
    for _, c, f, dt, what in _memory_cases(hidden, 51, "forget"):
        _check_op(fn, "forget", (c, f), ("c", "f"), c * f, [
            (c * (1 - f), "f = 1 keeps a memory unit and f = 0 erases it; "
                          "you used 1 - f."),
            (f, "you returned the gate: multiply the memory by it, c * f."),
            (c - f, "forgetting scales the memory, c * f; it does not "
                    "subtract the gate."),
            (c, "the memory is unchanged: multiply it by f.")],
            what, dt, "forget should return c * f, element by element.")
    passed("forget: f = 0 erases, f = 1 keeps, f = 0.5 halves; new array, "
           "float32 all right", hidden, "memories and gates")


def remember(fn: Callable, hidden: bool = False) -> None:
    """Check ``remember(c, i, g) -> c + i * g``."""
    for rng, c, i, dt, what in _memory_cases(hidden, 52, "input"):
        g = np.tanh(rng.normal(0, 1.5, c.shape)).astype(dt)
        _check_op(fn, "remember", (c, i, g), ("c", "i", "g"), c + i * g, [
            (i * g, "the old memory is lost: remembering adds to it, "
                    "c + i * g."),
            ((1 - i) * c + i * g, "you blended the memory with the new "
                                  "values; remembering only adds, "
                                  "c + i * g (forgetting is a separate "
                                  "step)."),
            (c + g, "the input gate is ignored: add i * g, not g."),
            (c + i, "you added the gate, not the gated new values: "
                    "c + i * g."),
            (c * i + g, "the input gate multiplies the new values g, not "
                        "the memory: c + i * g."),
            (c + (1 - i) * g, "i = 1 should let the new values in and "
                              "i = 0 keep them out; you used 1 - i.")],
            what, dt, "remember should return c + i * g.")
    passed("remember: adds i * g to the memory (i = 0 adds nothing, i = 1 "
           "everything); new array, float32 all right", hidden,
           "memories and gates")


def select(fn: Callable, hidden: bool = False) -> None:
    """Check ``select(c, o) -> o * tanh(c)``."""
    for _, c, o, dt, what in _memory_cases(hidden, 53, "output"):
        _check_op(fn, "select", (c, o), ("c", "o"), o * np.tanh(c), [
            (o * c, "the tanh is missing: read o * tanh(c), which keeps "
                    "the read value in (-1, 1) however large c grows."),
            (np.tanh(o * c), "apply tanh to the memory, then the gate: "
                             "o * tanh(c), not tanh(o * c)."),
            (np.tanh(c), "the output gate is ignored: o * tanh(c)."),
            ((1 - o) * np.tanh(c), "o = 1 should read a unit and o = 0 "
                                   "hide it; you used 1 - o."),
            (c, "you returned the memory: read o * tanh(c).")],
            what, dt, "select should return o * tanh(c).")
    passed("select: o * tanh(c) reads the units with o = 1 and hides those "
           "with o = 0; new array, float32 all right", hidden,
           "memories and gates")
