"""Checks for lesson 8, "RNNs at work", against
:mod:`helpers.reference.outputs` and :mod:`helpers.support.data`."""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (close, describe, diagnose, expect_close,
                            expect_dtype, expect_shape, expect_true, likely,
                            make_rng, passed, run_student, snapshot)
from helpers.reference import outputs as ref
from helpers.support import data as ref_data

__all__ = ["sample_with_temperature", "many_to_one_head",
           "make_forecast_windows"]


# ---------------------------------------------- sample_with_temperature
def _uniforms(rng, p):
    """One uniform number per row, kept 1e-4 away from every cumulative
    probability, so that any correct way of summing (float32 or float64,
    ``<`` or ``<=``) picks the same k."""
    cdf = np.cumsum(np.asarray(p, dtype=np.float64), axis=1)
    u = rng.random(p.shape[0])
    for n in range(p.shape[0]):
        while np.min(np.abs(cdf[n] - u[n])) < 1e-4:
            u[n] = rng.random()
    return u


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _check_sample(fn, logits, tau, u, what):
    ids_ref, p_ref = ref.sample_with_temperature(logits, tau, u)
    N, V = logits.shape
    dtype = logits.dtype
    unchanged = snapshot(logits, u)
    with np.errstate(all="ignore"):
        out = run_student(fn, "sample_with_temperature", logits, tau,
                          u, returns="a pair (ids, p)",
                          hint="tau = 0 cannot be divided by: treat it "
                          "as the greedy limit." if tau == 0 else "")
    ids, p = out
    p = expect_shape(f"p ({what})", p, (N, V), "N, V")
    if tau == 0:
        expect_true(bool(np.isfinite(p).all()) and close(p, p_ref),
                    f"p is wrong for tau = 0 ({what}): the limit tau -> 0 "
                    f"puts probability 1 on the largest score of each row "
                    f"and 0 elsewhere (greedy decoding), so return a "
                    f"one-hot row at logits.argmax(axis=1) instead of "
                    f"dividing by 0.")
    expect_true(bool(np.isfinite(p).all()),
                f"p contains NaN or inf ({what}). With large scores at a "
                f"low temperature exp(logits / tau) overflows: subtract "
                f"each row's maximum of logits / tau before np.exp (the "
                f"softmax does not change).")
    with np.errstate(all="ignore"):
        wrong = [
            (_softmax(logits * tau) if tau not in (0, 1) else None,
             "you multiplied the scores by tau; the temperature divides "
             "them: softmax(logits / tau)."),
            (_softmax(logits) if tau not in (0, 1) else None,
             "the temperature is ignored: divide the scores by tau "
             "before the softmax."),
            ((lambda e: e / e.sum(0, keepdims=True))(
                np.exp((logits / tau) - (logits / tau).max()))
             if tau != 0 and N > 1 else None,
             "the softmax normalises over axis 0 (the samples); each row "
             "(axis=1, the vocabulary) must sum to 1."),
        ]
    expect_close(f"p ({what})", p, p_ref, dtype=dtype,
                 hint=lambda: likely(diagnose(p, wrong, dtype)))
    expect_dtype("p", p, dtype, source="the logits are",
                 fix="keep their dtype.")
    ids = np.asarray(ids)
    expect_true(ids.shape == (N,) and ids.dtype.kind in "iu",
                f"ids should be an integer array of shape (N,) = ({N},); "
                f"got {ids.dtype} of shape {ids.shape}.")
    if not (ids == ids_ref).all():
        n = int(np.argmax(ids != ids_ref))
        cdf = np.cumsum(p_ref[n].astype(np.float64))
        cause = diagnose(ids, [
            (ids_ref + 1, "the ids count from 1; token k is id k, "
             "counting from 0."),
            (ids_ref - 1, "you picked the last k whose cumulative "
             "probability is still <= u; pick the first k where it "
             "exceeds u."),
            (p_ref.argmax(1) if tau != 0 else None,
             "you always take the most likely token (greedy); draw "
             "from p with u instead."),
        ], atol=0, rtol=0)
        raise AssertionError(
            f"ids[{n}] is {ids[n]}, expected {ids_ref[n]} ({what}): with "
            f"u[{n}] = {u[n]:.6f} and cumulative probabilities "
            f"{np.round(cdf[:6], 4).tolist()}"
            f"{' ...' if V > 6 else ''}, the first k where the sum "
            f"exceeds u is {ids_ref[n]}. Use the given u (not a random "
            f"generator of your own). {likely(cause)}")
    expect_true(unchanged(), "sample_with_temperature changed logits or u "
                             "in place; compute new arrays instead.")


def sample_with_temperature(fn: Callable, hidden: bool = False) -> None:
    """Check ``sample_with_temperature(logits, tau, u) -> (ids (N,),
    p (N, V))``."""
    rng = make_rng(hidden, seed=81)
    if not hidden:
        logits = np.array([[2.0, 1.0, 0.0, -1.0], [0.0, 0.5, 3.0, 0.5],
                           [1.0, 1.0, 1.0, 1.0]])
        cases = [(1.0, "tau = 1, the model's own distribution"),
                 (0.5, "tau = 0.5, sharper"),
                 (2.0, "tau = 2, flatter")]
        for tau, what in cases:
            p = ref.sample_with_temperature(logits, tau, np.zeros(3))[1]
            _check_sample(fn, logits, tau, _uniforms(rng, p), what)
        big = rng.normal(0, 30, (4, 7))
        _check_sample(fn, big, 0.05, _uniforms(rng, _softmax(big / 0.05)),
                      "large scores at tau = 0.05")
        _check_sample(fn, logits, 0, rng.random(3),
                      "tau = 0, greedy")
        return passed("sample_with_temperature: softmax(logits / tau), "
                      "the inverse CDF at u, and tau = 0 as greedy")
    for dtype in (np.float64, np.float32):
        N, V = int(rng.integers(1, 6)), int(rng.integers(2, 30))
        logits = rng.normal(0, 3, (N, V)).astype(dtype)
        for tau in (float(rng.uniform(0.2, 0.9)),
                    float(rng.uniform(1.1, 3.0)), 0):
            p = ref.sample_with_temperature(logits, tau, np.zeros(N))[1]
            _check_sample(fn, logits, tau, _uniforms(rng, p),
                          describe(dtype, N=N, V=V) + f", tau={tau:.3g}")
    big = rng.normal(0, 5, (int(rng.integers(1, 5)), 9)) + rng.uniform(
        40, 80)                          # logits / tau > 709: exp overflows
    tau = float(rng.uniform(0.02, 0.05))
    _check_sample(fn, big, tau, _uniforms(rng, _softmax(big / tau)),
                  f"large scores at tau={tau:.3g}")
    # Many draws from one row: the ids must follow p.
    V = int(rng.integers(3, 8))
    row = rng.normal(0, 1.5, (1, V))
    tau = float(rng.uniform(0.5, 2.0))
    p = ref.sample_with_temperature(row, tau, np.zeros(1))[1]
    M = 2000
    logits = np.repeat(row, M, axis=0)
    _check_sample(fn, logits, tau, _uniforms(rng, np.repeat(p, M, 0)),
                  f"{M} draws from one row, tau={tau:.3g}")
    passed("sample_with_temperature works on fresh random scores")


# ----------------------------------------------------- many_to_one_head
def _head_mistakes(h, mask, W_hy, b_y) -> list:
    """The usual wrong logits of the many-to-one head, with messages."""
    N, T, _ = h.shape
    lengths, rows = mask.sum(axis=1), np.arange(N)
    return [
        (h[:, -1] @ W_hy.T + b_y,
         "you read h[:, -1], the state after the padding. Read each "
         "sequence at its own last real step: h[n, lengths[n] - 1] with "
         "lengths = mask.sum(axis=1)."),
        (h[rows, np.minimum(lengths, T - 1)] @ W_hy.T + b_y,
         "off by one: the last real step of a sequence with lengths[n] "
         "real steps is lengths[n] - 1 (indices count from 0)."),
        ((h * mask[:, :, None]).sum(1) / lengths[:, None] @ W_hy.T + b_y,
         "you average the states over the real steps; the many-to-one "
         "head reads only the last real state."),
        (h[rows, lengths - 1] @ W_hy.T,
         "the bias b_y is missing."),
        (h[rows, np.minimum(mask.sum(0), T)[:N] - 1] @ W_hy.T + b_y
         if N <= T else None,
         "the lengths are summed over axis 0; each sequence's length is "
         "mask.sum(axis=1)."),
    ]


def _check_head(fn, h, mask, W_hy, b_y, what):
    expected = ref.many_to_one_head(h, mask, W_hy, b_y)
    N, K, dtype = h.shape[0], W_hy.shape[0], h.dtype
    unchanged = snapshot(h, mask, W_hy, b_y)
    got = run_student(fn, "many_to_one_head", h, mask, W_hy, b_y,
                      hint="W_hy has shape (K, H): the scores of a batch "
                      "are h_last @ W_hy.T + b_y.")
    got = expect_shape(f"logits ({what})", got, (N, K), "N, K")
    expect_close(f"logits ({what})", got, expected, dtype=dtype,
                 hint=lambda: likely(diagnose(got, _head_mistakes(
                     h, mask, W_hy, b_y), dtype)))
    expect_dtype("logits", got, dtype, source="h is",
                 fix="keep the dtype of the states.")
    expect_true(unchanged(), "many_to_one_head changed one of its inputs "
                             "in place; compute new arrays instead.")


def _batch(rng, N, T, H, K, lengths, dtype=np.float64):
    h = rng.normal(size=(N, T, H)).astype(dtype)
    mask = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    h[~mask] = rng.normal(size=(int((~mask).sum()), H)) * 5  # junk
    return (h, mask, rng.normal(size=(K, H)).astype(dtype),
            rng.normal(size=K).astype(dtype))


def many_to_one_head(fn: Callable, hidden: bool = False) -> None:
    """Check ``many_to_one_head(h, mask, W_hy, b_y) -> logits (N, K)``."""
    rng = make_rng(hidden, seed=82)
    if not hidden:
        for lengths, what in [((4, 4, 4), "no padding"),
                              ((4, 2, 1), "lengths 4, 2, 1"),
                              ((3, 1, 4, 2), "lengths 3, 1, 4, 2")]:
            N = len(lengths)
            _check_head(fn, *_batch(rng, N, 4, 5, 3, lengths), what)
        _check_head(fn, *_batch(rng, 2, 6, 3, 4, (6, 2), np.float32),
                    "float32, lengths 6, 2")
        return passed("many_to_one_head reads each sequence's last real "
                      "state and applies W_hy, b_y")
    for dtype in (np.float64, np.float32):
        N, T = int(rng.integers(1, 8)), int(rng.integers(1, 10))
        H, K = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        lengths = rng.integers(1, T + 1, N)
        _check_head(fn, *_batch(rng, N, T, H, K, lengths, dtype),
                    describe(dtype, N=N, T=T, H=H, K=K)
                    + f", lengths {lengths.tolist()}")
    passed("many_to_one_head works on fresh random batches")


# ------------------------------------------------- make_forecast_windows
def _check_windows(fn, series, T, horizon, what):
    X_ref, y_ref = ref_data.make_forecast_windows(series, T, horizon)
    N, _, D = X_ref.shape
    unchanged = snapshot(series)
    out = run_student(fn, "make_forecast_windows", series, T,
                      horizon, returns="a pair (X, y)",
                      hint="windows n = 0 .. L - T - horizon")
    X, y = (np.asarray(v) if isinstance(v, list) else v for v in out)
    L = series.shape[0]
    if isinstance(X, np.ndarray) and X.ndim == 3 and X.shape[0] != N:
        raise AssertionError(
            f"X has {X.shape[0]} windows ({what}); expected N = L - T - "
            f"horizon + 1 = {L} - {T} - {horizon} + 1 = {N}: window n "
            f"starts at n and its target series[n + T + horizon - 1] "
            f"must still lie in the series.")
    if series.ndim == 1 and isinstance(X, np.ndarray) and X.shape == (N, T):
        raise AssertionError(
            f"X has shape {X.shape}; a 1-d series counts as D = 1 "
            f"feature, so X must have shape (N, T, D) = {(N, T, 1)} "
            f"(series[:, None] gives the (L, 1) view).")
    X = expect_shape(f"X ({what})", X, (N, T, D), "N, T, D")
    if series.ndim == 1 and isinstance(y, np.ndarray) and y.shape == (N,):
        raise AssertionError(
            f"y has shape {y.shape}; it must have shape (N, D) = "
            f"{(N, 1)}, one row of D values per window.")
    y = expect_shape(f"y ({what})", y, (N, D), "N, D")
    s = series[:, None] if series.ndim == 1 else series
    expect_close(f"X ({what})", X, X_ref, dtype=series.dtype,
                 hint="window n is series[n : n + T] (consecutive "
                 "windows start one step apart).")
    target = np.arange(N) + T + horizon - 1           # the right index
    shifted = [(s[np.clip(target + d, 0, L - 1)], m) for d, m in (
        (1, "the target lies one step too far: window n ends at "
            "n + T - 1, so horizon h means series[n + T + h - 1]."),
        (-1, "the target lies one step too early: horizon h means "
             "series[n + T + h - 1], h steps after the window's last "
             "value."))]
    shifted.append((s[np.arange(N) + T], "the horizon is ignored: the "
                    "target of window n is series[n + T + horizon - 1], "
                    "not always the next value.") if horizon > 1 else
                   (None, ""))
    expect_close(f"y ({what})", y, y_ref, dtype=series.dtype,
                 hint=lambda: likely(diagnose(y, shifted, series.dtype)))
    for name, v in (("X", X), ("y", y)):
        expect_dtype(name, v, series.dtype, source="the series is",
                     fix="keep its dtype.")
    expect_true(unchanged(), "make_forecast_windows changed the series in "
                             "place; build new arrays instead.")


def _window_cases(rng, hidden):
    """``(series, T, horizon, what)`` of the visible cases, else of fresh
    random series in float64 and float32, drawn one at a time."""
    if not hidden:
        s = np.arange(10.0)
        yield from [(s, 3, 1, "0, 1, ..., 9 with T = 3"),
                    (s, 3, 2, "0, 1, ..., 9 with T = 3 and horizon 2"),
                    (s, 4, 5, "T = 4, horizon 5")]
        yield (rng.normal(size=(12, 2)).astype(np.float32), 5, 3,
               "a (12, 2) float32 series, T = 5, horizon 3")
        yield np.arange(4.0), 3, 1, "the shortest series: one window"
        return
    for dtype in (np.float64, np.float32):
        L, D = int(rng.integers(5, 40)), int(rng.integers(1, 4))
        T = int(rng.integers(1, L - 1))
        horizon = int(rng.integers(1, L - T + 1))
        series = rng.normal(size=(L,) if D == 1 else (L, D)).astype(dtype)
        yield (series, T, horizon, describe(dtype, L=L, D=D, T=T)
               + f", horizon={horizon}")


def make_forecast_windows(fn: Callable, hidden: bool = False) -> None:
    """Check ``make_forecast_windows(series, T, horizon) -> (X (N, T, D),
    y (N, D))``."""
    for case in _window_cases(make_rng(hidden, seed=83), hidden):
        _check_windows(fn, *case)
    passed("make_forecast_windows: windows series[n : n + T] and targets "
           "series[n + T + horizon - 1]", hidden, "series")
