"""Checks for lesson 2, "The simple RNN".

The reference is :mod:`helpers.reference.rnn` (and :func:`helpers.reference.layers.
temporal_affine_forward` for the output head); the checks never compare
a student's function with another of the student's functions, except in
the final parity check with ``torch.nn.RNN``, which first checks the
torch copy against the reference.

To make failures point at the bug, the step check switches the terms of
``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)`` on one at a time (only the
bias, only the input term, only the recurrent term), the sequence check
reports the first wrong time step, and common mistakes (no tanh, W_hh
transposed, missing bias, state not carried, h0 stored as the first
state) are recognised and named.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (random_arrays, expect_close, expect_shape,
                            expect_true, make_rng, passed, run_student)
from helpers.reference.layers import temporal_affine_forward
from helpers.reference.rnn import rnn_forward as ref_rnn_forward
from helpers.reference.rnn import rnn_step_forward as ref_rnn_step_forward

__all__ = ["rnn_step_forward", "rnn_forward", "to_torch_rnn", "rnn_head"]


_run = run_student


def _tol(dtype) -> dict:
    return ({"atol": 1e-5, "rtol": 1e-4} if dtype == np.float32
            else {"atol": 1e-8, "rtol": 1e-6})


def _close(a, b, dtype) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(
        np.abs(a - b) <= _tol(dtype)["atol"]
        + _tol(dtype)["rtol"] * np.abs(b)))


def random_rnn_params(rng, D, H, dtype=np.float64, scale=0.5):
    """``{"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,)}`` in ``dtype``."""
    return random_arrays(rng, {"W_xh": (H, D), "W_hh": (H, H),
                               "b_h": (H,)}, dtype, scale)


def _params(rng, D, H, dtype=np.float64, scale=0.5):
    return {"W_xh": rng.normal(0, scale, (H, D)).astype(dtype),
            "W_hh": rng.normal(0, scale, (H, H)).astype(dtype),
            "b_h": rng.normal(0, scale, H).astype(dtype)}


def _with(params, **changes):
    out = dict(params)
    out.update(changes)
    return out


def _copy_params(params):
    return {k: v.copy() for k, v in params.items()}


def _same_params(params, saved) -> bool:
    return all(np.array_equal(params[k], saved[k]) for k in saved)


def _shape_hint(msg: str) -> str:
    return (msg + " Shapes: x is (N, D), h_prev is (N, H), W_xh is "
            "(H, D), W_hh is (H, H), b_h is (H,); with a batch of rows "
            "the input term is x @ W_xh.T.")


# ------------------------------------------------------- rnn_step_forward

def _step_mistake(got, x, h_prev, p) -> str:
    """Name a recognised mistake in one RNN step, or return ''."""
    xw, hw, b = x @ p["W_xh"].T, h_prev @ p["W_hh"].T, p["b_h"]
    a = xw + hw + b
    dt = x.dtype
    candidates = [
        (a, "you returned the pre-activation: apply np.tanh to "
            "W_xh x_t + W_hh h_{t-1} + b_h."),
        (np.tanh(xw + h_prev @ p["W_hh"] + b),
         "W_hh is used transposed: the text's W_hh h_{t-1} is "
         "h_prev @ W_hh.T for a batch of rows."),
        (np.tanh(xw + hw), "the bias b_h is missing."),
        (np.tanh(xw + hw) + b, "add b_h inside the tanh, not after it."),
        (1 / (1 + np.exp(-a)), "use tanh, not the sigmoid."),
        (np.maximum(a, 0), "use tanh, not ReLU."),
        (np.tanh(xw + b), "the recurrent term W_hh h_{t-1} is missing."),
        (np.tanh(hw + b), "the input term W_xh x_t is missing."),
    ]
    # several mistakes can give the same numbers (with x = h_prev = 0, a
    # missing tanh and a bias outside it agree): name all that match
    return " Or: ".join(message for value, message in candidates
                        if _close(got, value, dt))


def _check_step(fn, x, h_prev, params, term):
    saved = (x.copy(), h_prev.copy(), _copy_params(params))
    N, H = h_prev.shape
    expected, _ = ref_rnn_step_forward(x, h_prev, params)
    out = _run(fn, "rnn_step_forward", x, h_prev, params,
               hint=_shape_hint("check the shapes of your products."))
    expect_true(isinstance(out, tuple) and len(out) == 2,
                f"rnn_step_forward should return a pair (h_next, cache); "
                f"got {type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, tuple)
                   else "") + ".")
    h_next, cache = out
    expect_shape("h_next", h_next, (N, H), "N, H")
    expect_true(h_next.dtype == x.dtype,
                f"h_next has dtype {h_next.dtype} but the inputs are "
                f"{x.dtype}; keep the dtype of the inputs.")
    if not _close(h_next, expected, x.dtype):
        mistake = _step_mistake(h_next, x, h_prev, params)
        what = {
            "bias": "With x = 0 and h_prev = 0 only the bias is left, so "
                    "h_next should be tanh(b_h): the bias term is wrong.",
            "input": "With h_prev = 0 and b_h = 0 only the input term is "
                     "left, so h_next should be tanh(W_xh x_t): the "
                     "W_xh x_t term is wrong.",
            "recurrent": "With x = 0 and b_h = 0 only the recurrent term "
                         "is left, so h_next should be tanh(W_hh h_{t-1}): "
                         "the W_hh h_{t-1} term is wrong.",
            "all": "With all three terms on, h_next is wrong.",
        }[term]
        expect_close("h_next", h_next, expected,
                     hint=what + (" Likely cause: " + mistake
                                  if mistake else ""),
                     **_tol(x.dtype))
    expect_true(isinstance(cache, tuple) and len(cache) == 4,
                "cache should be the tuple (x, h_prev, h_next, params).")
    for i, (name, value) in enumerate(
            [("x", x), ("h_prev", h_prev), ("h_next", h_next)]):
        expect_true(isinstance(cache[i], np.ndarray)
                    and cache[i].shape == value.shape
                    and np.array_equal(cache[i], value),
                    f"cache[{i}] should be {name}: the cache is "
                    f"(x, h_prev, h_next, params).")
    expect_true(cache[3] is params or (
        isinstance(cache[3], dict) and set(cache[3]) >= set(params)
        and _same_params(cache[3], params)),
        "cache[3] should be params: the cache is "
        "(x, h_prev, h_next, params).")
    x0, h0, p0 = saved
    expect_true(np.array_equal(x, x0) and np.array_equal(h_prev, h0)
                and _same_params(params, p0),
                "rnn_step_forward changed one of its inputs in place (x, "
                "h_prev or params); compute new arrays instead.")


def _step_cases(fn, rng, N, D, H, dtype):
    p = _params(rng, D, H, dtype)
    x = rng.normal(size=(N, D)).astype(dtype)
    h = rng.normal(0, 0.8, (N, H)).astype(dtype)
    zx, zh, zb = np.zeros_like(x), np.zeros_like(h), np.zeros_like(
        p["b_h"])
    _check_step(fn, zx, zh, p, "bias")
    _check_step(fn, x, zh, _with(p, b_h=zb), "input")
    _check_step(fn, zx, h, _with(p, b_h=zb), "recurrent")
    _check_step(fn, x, h, p, "all")


def rnn_step_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_step_forward(x, h_prev, params) -> (h_next, cache)``."""
    rng = make_rng(hidden, seed=10)
    if not hidden:
        _step_cases(fn, rng, 3, 4, 5, np.float64)
        _step_cases(fn, rng, 2, 3, 4, np.float32)
        passed("rnn_step_forward: bias, W_xh x_t and W_hh h_{t-1} terms, "
               "tanh, cache and float32 all right")
        return
    for dtype in (np.float64, np.float32):
        N, D, H = (int(v) for v in rng.integers(1, 8, 3))
        _step_cases(fn, rng, N, D, H, dtype)
    _step_cases(fn, rng, 1, int(rng.integers(2, 6)), int(rng.integers(2, 6)),
                np.float64)
    passed("rnn_step_forward works on fresh random shapes and values")


# ----------------------------------------------------------- rnn_forward

def _seq_shape_hint(shape, N, T, H) -> str:
    if shape == (T, N, H) and T != N:
        return (" You stored time first (T, N, H); keep the batch first: "
                "h[:, t] is the state at step t.")
    if shape == (N, T + 1, H):
        return (" You stored T + 1 states: h holds h_1 .. h_T, the states "
                "after each input, not h0.")
    if shape == (N, H):
        return (" You returned only one state; h must hold every state "
                "h_1 .. h_T (the full sequence), h_last the last one.")
    return ""


def _check_sequence(fn, x, h0, params, what):
    saved = (x.copy(), h0.copy(), _copy_params(params))
    N, T, _ = x.shape
    H = h0.shape[1]
    dt = x.dtype
    expected, expected_last, _ = ref_rnn_forward(x, h0, params)
    out = _run(fn, "rnn_forward", x, h0, params,
               hint="check the shapes: x is (N, T, D), x[:, t] is (N, D).")
    expect_true(isinstance(out, tuple) and len(out) == 3,
                "rnn_forward should return three things: (h, h_last, "
                "cache).")
    h, h_last, cache = out
    if not isinstance(h, np.ndarray) or h.shape != (N, T, H):
        shape = getattr(h, "shape", None)
        raise AssertionError(
            f"h has shape {shape}; expected (N, T, H) = {(N, T, H)} "
            f"({what})." + _seq_shape_hint(shape, N, T, H))
    expect_true(h.dtype == dt,
                f"h has dtype {h.dtype} but x is {dt}; create h with "
                f"dtype=x.dtype.")
    bad = [t for t in range(T) if not _close(h[:, t], expected[:, t], dt)]
    if bad:
        t = bad[0]
        # Recognise the usual mistakes before reporting the first step.
        from_h0 = np.stack([ref_rnn_step_forward(x[:, s], h0, params)[0]
                            for s in range(T)], axis=1)
        shifted = np.concatenate([h0[:, None], expected[:, :-1]], axis=1)
        if t == 0 and _close(h[:, 0], h0, dt):
            hint = ("h[:, 0] holds h0: off by one time step. Store the "
                    "state after reading x[:, t], so h[:, 0] = h_1.")
        elif T > 1 and _close(h, shifted, dt):
            hint = ("every state is one step late: h[:, t] must be the "
                    "state after reading x[:, t].")
        elif T > 1 and _close(h, from_h0, dt):
            hint = ("every step starts again from h0: carry the state, "
                    "i.e. feed h[:, t-1] into step t.")
        elif T > 1 and _close(h, np.repeat(expected[:, -1:], T, axis=1),
                              dt):
            hint = ("every time step holds the last state: store h[:, t] "
                    "inside the loop.")
        elif T > 1 and _close(h[:, ::-1],
                              ref_rnn_forward(x[:, ::-1], h0, params)[0],
                              dt):
            hint = "you read the sequence backwards: start at t = 0."
        elif t == 0:
            hint = ("the first step is already wrong: h_1 = tanh(W_xh x_1 "
                    "+ W_hh h0 + b_h); does rnn_step_forward pass its own "
                    "test, and do you start from the given h0?")
        else:
            hint = (f"steps 0 .. {t - 1} are right, so each step is fine "
                    f"but the state is not carried correctly from step "
                    f"{t - 1} to step {t}.")
        expect_close(f"h[:, {t}] ({what})", h[:, t], expected[:, t],
                     hint=f"First wrong at time step t={t}: " + hint,
                     **_tol(dt))
    expect_shape("h_last", h_last, (N, H), "N, H")
    if not _close(h_last, expected_last, dt):
        hint = ("h_last should be the state after the last step, "
                "h[:, -1].")
        if T > 1 and _close(h_last, expected[:, 0], dt):
            hint = "h_last holds the first state; it should be h[:, -1]."
        expect_close("h_last", h_last, expected_last, hint=hint,
                     **_tol(dt))
    expect_true(isinstance(cache, tuple) and len(cache) == 4,
                "cache should be the tuple (x, h0, h, params), which the "
                "backward pass of lesson 3 reads.")
    for i, (name, value) in enumerate([("x", x), ("h0", h0), ("h", h)]):
        expect_true(isinstance(cache[i], np.ndarray)
                    and cache[i].shape == value.shape
                    and np.array_equal(cache[i], value),
                    f"cache[{i}] should be {name}: the cache is "
                    f"(x, h0, h, params).")
    expect_true(isinstance(cache[3], dict)
                and set(cache[3]) >= set(params)
                and _same_params(cache[3], params),
                "cache[3] should be params: the cache is "
                "(x, h0, h, params).")
    x0, h00, p0 = saved
    expect_true(np.array_equal(x, x0) and np.array_equal(h0, h00)
                and _same_params(params, p0),
                "rnn_forward changed one of its inputs in place (x, h0 or "
                "params); compute new arrays instead.")


def _sequence_case(fn, rng, N, T, D, H, dtype, zero_h0=False):
    p = _params(rng, D, H, dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = (np.zeros((N, H)) if zero_h0
          else rng.normal(0, 0.8, (N, H))).astype(dtype)
    what = f"N={N}, T={T}, D={D}, H={H}, {np.dtype(dtype).name}"
    _check_sequence(fn, x, h0, p, what)


def rnn_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_forward(x, h0, params) -> (h, h_last, cache)``."""
    rng = make_rng(hidden, seed=11)
    if not hidden:
        _sequence_case(fn, rng, 2, 5, 3, 4, np.float64)
        _sequence_case(fn, rng, 3, 4, 2, 5, np.float64, zero_h0=True)
        _sequence_case(fn, rng, 2, 6, 3, 4, np.float32)
        passed("rnn_forward: every state h_1 .. h_T, h_last, cache and "
               "float32 all right")
        return
    for dtype in (np.float64, np.float32):
        N, T, D, H = (int(v) for v in rng.integers(1, 9, 4))
        _sequence_case(fn, rng, N, T, D, H, dtype)
    _sequence_case(fn, rng, int(rng.integers(2, 5)), 1, 3, 4, np.float64)
    _sequence_case(fn, rng, 1, int(rng.integers(8, 15)), 2, 3, np.float64)
    passed("rnn_forward works on fresh random shapes and values")


# ------------------------------------------------------------ to_torch_rnn

def _torch_run(rnn, x, h0):
    import torch
    with torch.no_grad():
        out, h_n = rnn(torch.from_numpy(x), torch.from_numpy(h0)[None])
    return out.numpy(), h_n[0].numpy()


def _check_module(rnn, D, H):
    import torch
    expect_true(isinstance(rnn, torch.nn.RNN),
                f"to_torch_rnn should return a torch.nn.RNN, got "
                f"{type(rnn).__name__}.")
    expect_true(rnn.batch_first,
                "create the RNN with batch_first=True, so that it reads "
                "x of shape (N, T, D) like our numpy code.")
    expect_true(rnn.input_size == D and rnn.hidden_size == H,
                f"the RNN has input_size={rnn.input_size}, "
                f"hidden_size={rnn.hidden_size}; expected D={D}, H={H} "
                f"(read them from the shape of W_xh, (H, D)).")
    expect_true(rnn.num_layers == 1 and not rnn.bidirectional,
                "use one layer in one direction (num_layers=1, "
                "bidirectional=False).")
    expect_true(rnn.nonlinearity == "tanh" and rnn.bias,
                "keep the defaults nonlinearity='tanh' and bias=True.")
    expect_true(rnn.weight_ih_l0.dtype == torch.float64,
                f"the RNN's weights are {rnn.weight_ih_l0.dtype}; make it "
                f"float64 (dtype=torch.float64 or .double()) so it can "
                f"match numpy exactly.")


def _torch_mistake(rnn, params) -> str:
    """Say which torch tensor holds the wrong copy, or return ''."""
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
    w_ih = rnn.weight_ih_l0.detach().numpy()
    w_hh = rnn.weight_hh_l0.detach().numpy()
    bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    if not np.allclose(w_ih, W_xh):
        return "weight_ih_l0 should be W_xh itself, shape (H, D)."
    if not np.allclose(w_hh, W_hh):
        if np.allclose(w_hh, W_hh.T):
            return ("weight_hh_l0 holds W_hh transposed; torch stores it "
                    "as (H, H) acting like W_hh h, so copy W_hh as is.")
        return "weight_hh_l0 should be W_hh."
    if not np.allclose(bias, b_h):
        if np.allclose(bias, 2 * b_h):
            return ("b_h is counted twice: torch adds bias_ih_l0 + "
                    "bias_hh_l0, so put b_h in one and zeros in the other.")
        return ("bias_ih_l0 + bias_hh_l0 should equal b_h (e.g. b_h and "
                "zeros).")
    return ""


def _check_torch_copy(fn, params, x, h0, term):
    saved = _copy_params(params)
    N, T, D = x.shape
    H = h0.shape[1]
    rnn = _run(fn, "to_torch_rnn", params)
    _check_module(rnn, D, H)
    expected, expected_last, _ = ref_rnn_forward(x, h0, params)
    out, h_n = _torch_run(rnn, x, h0)
    if not _close(out, expected, np.float64):
        mistake = _torch_mistake(rnn, params)
        expect_close(f"torch output with {term}", out, expected,
                     hint=mistake or "the torch RNN does not compute h_t "
                     "= tanh(W_xh x_t + W_hh h_{t-1} + b_h).")
    expect_close("torch h_n", h_n, expected_last)
    expect_true(_same_params(params, saved),
                "to_torch_rnn changed the numpy params; copy them into "
                "torch instead.")
    return rnn


def to_torch_rnn(fn: Callable, rnn_forward_fn: Callable,
                 hidden: bool = False) -> None:
    """Check the torch copy, then parity of the student's rnn_forward.

    ``fn(params) -> torch.nn.RNN`` must copy ``W_xh, W_hh, b_h`` into a
    float64 ``torch.nn.RNN(batch_first=True)``. Its output is compared
    with the reference numpy RNN term by term; then the student's
    ``rnn_forward_fn`` must agree with it.
    """
    rng = make_rng(hidden, seed=12)
    if hidden:
        N, T, D, H = (int(v) for v in rng.integers(1, 8, 4))
    else:
        N, T, D, H = 2, 5, 3, 4
    p = _params(rng, D, H)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(0, 0.8, (N, H))
    zx, zh = np.zeros_like(x), np.zeros_like(h0)
    zW, zU, zb = (np.zeros_like(p[k]) for k in ("W_xh", "W_hh", "b_h"))
    _check_torch_copy(fn, _with(p, W_xh=zW, W_hh=zU), zx, zh,
                      "only the bias b_h")
    _check_torch_copy(fn, _with(p, W_hh=zU, b_h=zb), x, zh,
                      "only the input term W_xh x_t")
    _check_torch_copy(fn, _with(p, W_xh=zW, b_h=zb), zx, h0,
                      "only the recurrent term W_hh h_{t-1}")
    rnn = _check_torch_copy(fn, p, x, h0, "all terms")

    out, h_n = _torch_run(rnn, x, h0)
    res = _run(rnn_forward_fn, "rnn_forward", x, h0, p)
    expect_true(isinstance(res, tuple) and len(res) == 3,
                "rnn_forward should return (h, h_last, cache).")
    h, h_last = res[0], res[1]
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
    dt = h.dtype
    if h.ndim == 3:
        expected, _ = temporal_affine_forward(h, params["W_hy"],
                                              params["b_y"])
    else:
        expected = temporal_affine_forward(
            h[:, None], params["W_hy"], params["b_y"])[0][:, 0]
    K = params["W_hy"].shape[0]
    saved = (h.copy(), _copy_params(params))
    y = _run(fn, "rnn_head", h, params,
             hint=f"W_hy has shape (K, H) = {params['W_hy'].shape} and h "
                  f"{h.shape}: the text's W_hy h_t is h @ W_hy.T.")
    if h.ndim == 3 and getattr(y, "shape", None) == (h.shape[0], K):
        raise AssertionError(
            "for a whole sequence h of shape (N, T, H), rnn_head must "
            "give a score at every step, shape (N, T, K); do not pick the "
            "last step inside the head (the many-to-one model passes "
            "h_last instead).")
    y = expect_shape(f"y ({what})", y, expected.shape,
                     "N, T, K" if h.ndim == 3 else "N, K")
    expect_true(y.dtype == dt,
                f"y has dtype {y.dtype} but h is {dt}; keep the dtype.")
    if not _close(y, expected, dt):
        W, b = params["W_hy"], params["b_y"]
        if W.shape[0] == W.shape[1] and _close(y, h @ W + b, dt):
            hint = "W_hy is used transposed: write h @ W_hy.T."
        elif _close(y, h @ W.T, dt):
            hint = "the bias b_y is missing."
        elif not np.any(h):
            hint = "with h = 0 the scores should be b_y: check the bias."
        else:
            hint = "y should be h @ W_hy.T + b_y."
        expect_close(f"y ({what})", y, expected, hint=hint, **_tol(dt))
    expect_true(np.array_equal(h, saved[0])
                and _same_params(params, saved[1]),
                "rnn_head changed its inputs in place.")


def rnn_head(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_head(h, params) -> y`` for ``(N, H)`` and
    ``(N, T, H)`` inputs (many-to-one and many-to-many)."""
    rng = make_rng(hidden, seed=13)
    cases = ([(2, 4, 5, 3, np.float64), (3, 2, 4, 4, np.float32)]
             if not hidden else
             [tuple(int(v) for v in rng.integers(1, 8, 4)) + (dt,)
              for dt in (np.float64, np.float32)])
    for N, T, H, K, dt in cases:
        p = {"W_hy": rng.normal(size=(K, H)).astype(dt),
             "b_y": rng.normal(size=K).astype(dt)}
        h = np.tanh(rng.normal(size=(N, T, H))).astype(dt)
        name = np.dtype(dt).name
        _check_head(fn, np.zeros((N, H), dtype=dt), p,
                    f"h = 0 of shape (N, H), {name}")
        _check_head(fn, h[:, -1], p, f"one state per sample (N, H), {name}")
        _check_head(fn, h, p, f"a whole sequence (N, T, H), {name}")
    passed("rnn_head works for one state per sample (many-to-one) and for "
           "every time step (many-to-many)" + (" on fresh random inputs"
                                                if hidden else ""))
