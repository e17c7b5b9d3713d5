"""Checks for lesson 2, "The simple RNN", against
:mod:`helpers.reference.rnn`: the step check switches the terms of ``h_t =
tanh(W_xh x_t + W_hh h_{t-1} + b_h)`` on one at a time, the sequence
check names the first wrong time step."""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (F32, F64, close, describe, diagnose,
                            diagnose_probe, expect_array, expect_cache,
                            expect_close, expect_dtype, expect_shape,
                            expect_steps, expect_true, fresh_sizes,
                            make_rng, passed, random_arrays, run_student,
                            snapshot)
from helpers.reference import rnn as ref
from helpers.reference.layers import temporal_affine_forward

__all__ = ["rnn_step_forward", "rnn_forward", "to_torch_rnn", "rnn_head"]


def random_rnn_params(rng, D, H, dtype=F64, scale=0.5) -> dict:
    """``{"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)}`` in ``dtype``."""
    return random_arrays(rng, {"W_xh": (H, D), "W_hh": (H, H),
                               "b_h": (H,)}, dtype, scale)


def _terms(p, x, h):
    """``(lead, label, x, h, params)`` with only the bias, only the input
    term, only the recurrent term, then all terms on: ``lead`` says what a
    wrong step means, ``label`` what torch runs with."""
    zx, zh = np.zeros_like(x), np.zeros_like(h)
    zero = {k: np.zeros_like(v) for k, v in p.items()}
    return [("Only the bias is on (x = 0, h_prev = 0): h_next should be "
             "tanh(b_h); the bias term is wrong.", "only the bias b_h", zx,
             zh, dict(zero, b_h=p["b_h"])),
            ("Only W_xh x_t is on (h_prev = 0, b_h = 0): h_next should be "
             "tanh(W_xh x_t); the W_xh x_t term is wrong.", "only the input "
             "term W_xh x_t", x, zh, dict(zero, W_xh=p["W_xh"])),
            ("Only W_hh h_{t-1} is on (x = 0, b_h = 0): h_next should be "
             "tanh(W_hh h_{t-1}); the W_hh h_{t-1} term is wrong.", "only the "
             "recurrent term W_hh h_{t-1}", zx, h, dict(zero, W_hh=p["W_hh"])),
            ("With every term on, h_next is wrong.", "all terms", x, h, p)]


# ------------------------------------------------------- rnn_step_forward
def _step_mistakes(x, h_prev, p) -> list:
    xw, hw, b = x @ p["W_xh"].T, h_prev @ p["W_hh"].T, p["b_h"]
    a = xw + hw + b
    return [
        (a, "you returned the pre-activation: apply np.tanh to "
            "W_xh x_t + W_hh h_{t-1} + b_h."),
        (np.tanh(xw + h_prev @ p["W_hh"] + b), "W_hh is used transposed: the "
         "text's W_hh h_{t-1} is h_prev @ W_hh.T for a batch of rows."),
        (np.tanh(xw + hw), "the bias b_h is missing."),
        (np.tanh(xw + hw) + b, "add b_h inside the tanh, not after it."),
        (1 / (1 + np.exp(-a)), "use tanh, not the sigmoid."),
        (np.maximum(a, 0), "use tanh, not ReLU."),
        (np.tanh(xw + b), "the recurrent term W_hh h_{t-1} is missing."),
        (np.tanh(hw + b), "the input term W_xh x_t is missing."),
    ]


def _check_step(fn, x, h_prev, params, lead, probe=None):
    unchanged, args = snapshot(x, h_prev, params), (x, h_prev, params)
    h_next, cache = run_student(
        fn, "rnn_step_forward", *args, returns="a pair (h_next, cache)",
        hint="shapes: x (N, D), h_prev (N, H), W_xh (H, D), W_hh (H, H), "
        "b_h (H,); for a batch of rows W_xh x_t is x @ W_xh.T.")
    expect_array("h_next", h_next, ref.rnn_step_forward(*args)[0], "N, H",
                 x.dtype, hint=lambda: diagnose_probe(
                     fn, "rnn_step_forward", h_next, _step_mistakes, args,
                     probe, x.dtype, lead=lead))
    expect_cache(cache, "(x, h_prev, h_next, params)",
                 (x, h_prev, h_next, params))
    expect_true(unchanged(), "rnn_step_forward changed one of its inputs "
                "in place (x, h_prev or params); compute new arrays instead.")


def rnn_step_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_step_forward(x, h_prev, params) -> (h_next, cache)``."""
    rng = make_rng(hidden, seed=10)
    sizes = fresh_sizes(rng, 3) if hidden else [(3, 4, 5, F64), (2, 3, 4, F32)]
    for N, D, H, dtype in sizes:
        p = random_rnn_params(rng, D, H, dtype)
        x = rng.normal(size=(N, D)).astype(dtype)
        h = rng.normal(0, 0.8, (N, H)).astype(dtype)
        for lead, _, x_, h_, p_ in _terms(p, x, h):
            _check_step(fn, x_, h_, p_, lead, probe=(x, h, p))
    passed("rnn_step_forward: bias, W_xh x_t and W_hh h_{t-1} terms, tanh, "
           "cache and float32 all right", hidden)


# ----------------------------------------------------------- rnn_forward
def _sequence_mistake(h, x, h0, params, expected, t) -> str:
    T, dt = x.shape[1], x.dtype
    if t == 0 and close(h[:, 0], h0, dt):
        return ("h[:, 0] holds h0: off by one time step. Store the state "
                "after reading x[:, t], so h[:, 0] = h_1.")
    cause = T > 1 and diagnose(h, [
        (np.concatenate([h0[:, None], expected[:, :-1]], axis=1),
         "every state is one step late: h[:, t] is the state after x[:, t]."),
        (np.stack([ref.rnn_step_forward(x[:, s], h0, params)[0]
                   for s in range(T)], axis=1),
         "every step starts again from h0: feed h[:, t-1] into step t."),
        (np.repeat(expected[:, -1:], T, axis=1), "every time step holds the "
         "last state: store h[:, t] inside the loop."),
        (ref.rnn_forward(x[:, ::-1], h0, params)[0][:, ::-1],
         "you read the sequence backwards: start at t = 0.")], dt)
    return cause or (
        "the first step is already wrong: h_1 = tanh(W_xh x_1 + W_hh h0 + "
        "b_h); does rnn_step_forward pass its own test, and do you start "
        "from the given h0?" if t == 0 else
        f"steps 0 .. {t - 1} are right, so each step is fine but the "
        f"state is not carried correctly from step {t - 1} to step {t}.")


def _check_sequence(fn, x, h0, params, what):
    unchanged, (N, T, _), H, dt = snapshot(x, h0, params), x.shape, \
        h0.shape[1], x.dtype
    expected, expected_last, _ = ref.rnn_forward(x, h0, params)
    h, h_last, cache = run_student(
        fn, "rnn_forward", x, h0, params, returns="three things: (h, "
        "h_last, cache)", hint="x is (N, T, D) and x[:, t] is (N, D).")
    shape = getattr(h, "shape", None)
    hint = {(T, N, H): " You stored time first; keep the batch first: "
            "h[:, t] is the state at step t.",
            (N, T + 1, H): " You stored T + 1 states: h is h_1 .. h_T, no h0.",
            (N, H): " You returned only one state; h holds all of h_1 .. h_T."}
    expect_true(isinstance(h, np.ndarray) and shape == (N, T, H),
                f"h has shape {shape}; expected (N, T, H) = {(N, T, H)} "
                f"({what})." + hint.get(shape, ""))
    expect_dtype("h", h, dt, source="x is", fix="create h with dtype=x.dtype.")
    expect_steps("h", what, h, expected, dt, lambda t: f"First wrong at "
                 f"time step t={t}: " + _sequence_mistake(
                     h, x, h0, params, expected, t))
    expect_array("h_last", h_last, expected_last, "N, H", dt, hint=(
        "h_last holds the first state; it should be h[:, -1]."
        if T > 1 and close(h_last, expected[:, 0], dt) else
        "h_last should be the state after the last step, h[:, -1]."))
    expect_cache(cache, "(x, h0, h, params)", (x, h0, h, params))
    expect_true(unchanged(), "rnn_forward changed one of its inputs in "
                "place (x, h0 or params); compute new arrays instead.")


def rnn_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_forward(x, h0, params) -> (h, h_last, cache)``."""
    rng = make_rng(hidden, seed=11)
    cases = [(2, 5, 3, 4, F64), (3, 4, 2, 5, F64), (2, 6, 3, 4, F32)]
    if hidden:
        cases = [(*rng.integers(1, 9, 4), dt) for dt in (F64, F32)] + [
            (int(rng.integers(2, 5)), 1, 3, 4, F64),
            (1, int(rng.integers(8, 15)), 2, 3, F64)]
    for i, (N, T, D, H, dtype) in enumerate(cases):
        p = random_rnn_params(rng, D, H, dtype)
        x = rng.normal(size=(N, T, D)).astype(dtype)
        h0 = (np.zeros((N, H)) if i == 1 and not hidden      # h0 = 0
              else rng.normal(0, 0.8, (N, H))).astype(dtype)
        _check_sequence(fn, x, h0, p, describe(dtype, N=N, T=T, D=D, H=H))
    passed("rnn_forward: every state h_1 .. h_T, h_last, cache and float32 "
           "all right", hidden)


# ------------------------------------------------------------ to_torch_rnn
def _check_module(rnn, D, H):
    import torch
    expect_true(isinstance(rnn, torch.nn.RNN), "to_torch_rnn should return a "
                f"torch.nn.RNN, got {type(rnn).__name__}.")
    for ok, message in [
            (rnn.batch_first, "create the RNN with batch_first=True, so "
             "that it reads x of shape (N, T, D) like our numpy code."),
            (rnn.input_size == D and rnn.hidden_size == H,
             f"the RNN has input_size={rnn.input_size}, hidden_size="
             f"{rnn.hidden_size}; expected D={D}, H={H}, from W_xh's (H, D)."),
            (rnn.num_layers == 1 and not rnn.bidirectional, "use one layer "
             "in one direction (num_layers=1, bidirectional=False)."),
            (rnn.nonlinearity == "tanh" and rnn.bias,
             "keep the defaults nonlinearity='tanh' and bias=True."),
            (rnn.weight_ih_l0.dtype == torch.float64, f"the RNN's weights "
             f"are {rnn.weight_ih_l0.dtype}; make it float64 (dtype="
             f"torch.float64 or .double()) so it can match numpy exactly.")]:
        expect_true(ok, message)


def _torch_mistake(rnn, p) -> str:
    w_ih, w_hh, b = (t.detach().numpy() for t in (
        rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0))
    if not close(w_ih, p["W_xh"]):
        return "weight_ih_l0 should be W_xh itself, shape (H, D)."
    if not close(w_hh, p["W_hh"]):
        return diagnose(w_hh, [(p["W_hh"].T, "weight_hh_l0 holds W_hh "
                                "transposed; torch stores it as (H, H) "
                                "acting like W_hh h, so copy W_hh as is.")]
                        ) or "weight_hh_l0 should be W_hh."
    if not close(b, p["b_h"]):
        return diagnose(b, [(2 * p["b_h"], "b_h is counted twice: torch "
                             "adds bias_ih_l0 + bias_hh_l0, so put b_h in "
                             "one and zeros in the other.")]) or (
            "bias_ih_l0 + bias_hh_l0 should equal b_h (e.g. b_h and zeros).")
    return "the torch RNN does not compute h_t = tanh(W_xh x_t + W_hh " \
        "h_{t-1} + b_h)."


def to_torch_rnn(fn: Callable, rnn_forward_fn: Callable,
                 hidden: bool = False) -> None:
    """Check ``fn(params) -> torch.nn.RNN`` (a float64, batch-first copy
    of W_xh, W_hh, b_h) term by term against the reference, then that the
    student's ``rnn_forward_fn`` agrees with it."""
    import torch
    rng = make_rng(hidden, seed=12)
    N, T, D, H = rng.integers(1, 8, 4) if hidden else (2, 5, 3, 4)
    p = random_rnn_params(rng, D, H)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(0, 0.8, (N, H))
    for _, label, x_, h0_, params in _terms(p, x, h0):   # all terms last
        unchanged = snapshot(params)
        rnn = run_student(fn, "to_torch_rnn", params)
        _check_module(rnn, D, H)
        expected, expected_last, _ = ref.rnn_forward(x_, h0_, params)
        with torch.no_grad():
            out, h_n = rnn(torch.from_numpy(x_), torch.from_numpy(h0_)[None])
        out, h_n = out.numpy(), h_n[0].numpy()
        expect_close(f"torch output with {label}", out, expected, dtype=F64,
                     hint=lambda: _torch_mistake(rnn, params))
        expect_close("torch h_n", h_n, expected_last)
        expect_true(unchanged(), "to_torch_rnn changed the numpy params; "
                                 "copy them into torch instead.")
    h, h_last, _ = run_student(rnn_forward_fn, "rnn_forward", x, h0, p,
                               returns="(h, h_last, cache)")
    expect_shape("h from your rnn_forward", h, (N, T, H), "N, T, H")
    for t in range(T):
        expect_close(f"your rnn_forward vs torch.nn.RNN at time step t={t}",
                     h[:, t], out[:, t], atol=1e-10, rtol=1e-8,
                     hint="Your torch copy is right, so fix rnn_forward "
                          "(see its own test).")
    expect_close("h_last from your rnn_forward vs torch's h_n", h_last,
                 h_n, atol=1e-10, rtol=1e-8)
    passed(f"to_torch_rnn copies W_xh, W_hh, b_h into torch.nn.RNN, and "
           f"your rnn_forward matches it in float64 (max difference "
           f"{np.max(np.abs(h - out)):.1e})")


# ------------------------------------------------------------- rnn_head
def _check_head(fn, h, params, what):
    unchanged, W, b, dt = snapshot(h, params), params["W_hy"], \
        params["b_y"], h.dtype
    seq = h.ndim == 3
    expected = temporal_affine_forward(h if seq else h[:, None], W, b)[0]
    expected = expected if seq else expected[:, 0]
    y = run_student(fn, "rnn_head", h, params,
                    hint=f"W_hy has shape (K, H) = {W.shape} and h "
                         f"{h.shape}: the text's W_hy h_t is h @ W_hy.T.")
    expect_true(not seq or getattr(y, "shape", None) != (h.shape[0],
                                                         W.shape[0]),
                "for a sequence h (N, T, H), rnn_head scores every step, "
                "shape (N, T, K); do not pick the last step inside the head "
                "(the many-to-one model passes h_last).")
    expect_array(f"y ({what})", y, expected, "N, T, K" if seq else "N, K",
                 dt, hint=lambda: diagnose(y, [
                     (h @ W + b if W.shape[0] == W.shape[1] else None,
                      "W_hy is used transposed: write h @ W_hy.T."),
                     (h @ W.T, "the bias b_y is missing.")], dt) or (
                     "with h = 0 the scores should be b_y: check the bias."
                     if not np.any(h) else "y should be h @ W_hy.T + b_y."))
    expect_true(unchanged(), "rnn_head changed its inputs in place.")


def rnn_head(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_head(h, params) -> y`` for ``(N, H)`` and
    ``(N, T, H)`` inputs (many-to-one and many-to-many)."""
    rng = make_rng(hidden, seed=13)
    cases = fresh_sizes(rng, 4, one=False) if hidden else [
        (2, 4, 5, 3, F64), (3, 2, 4, 4, F32)]
    for N, T, H, K, dt in cases:
        p = random_arrays(rng, {"W_hy": (K, H), "b_y": (K,)}, dt)
        h = np.tanh(rng.normal(size=(N, T, H))).astype(dt)
        for h_, kind in [(np.zeros((N, H), dt), "h = 0 of shape (N, H)"),
                         (h[:, -1], "one state per sample (N, H)"),
                         (h, "a whole sequence (N, T, H)")]:
            _check_head(fn, h_, p, f"{kind}, {np.dtype(dt).name}")
    passed("rnn_head works for one state per sample (many-to-one) and for "
           "every time step (many-to-many)", hidden, "inputs, both kinds")
