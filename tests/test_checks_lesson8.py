"""The graded checks of lesson 8 accept right answers and name the usual
wrong ones.

Every check runs on the reference (visible and hidden) and on other
correct ways of writing it, and must pass; then on typical wrong
answers, each of which must fail with the message that points at its
bug; and on a "hard-coded" answer that replays the outputs recorded on
the visible inputs, which must pass the visible check and fail the
hidden one.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.checks import applications as check
from helpers.reference import outputs as ref
from helpers.support import data
from checkutil import (fails_visible_and_hidden, passes_visible_and_hidden,
                       replay_passes_visible_only)
from test_checks_lessons34 import fails, not_implemented


# ----------------------------------------------------- correct answers
def loop_sampler(logits, tau, u):
    """Row by row, with a running sum and float64 inside."""
    N, V = logits.shape
    p = np.zeros_like(logits)
    ids = np.zeros(N, dtype=np.int32)
    for n in range(N):
        if tau == 0:
            p[n, int(np.argmax(logits[n]))] = 1
        else:
            z = logits[n].astype(np.float64) / tau
            e = np.exp(z - z.max())
            p[n] = e / e.sum()
        total = 0.0
        for k in range(V):
            total += float(p[n, k])
            if total > u[n]:
                ids[n] = k
                break
        else:
            ids[n] = V - 1
    return ids, p


def searchsorted_sampler(logits, tau, u):
    ids, p = ref.sample_with_temperature(logits, tau, u)
    cdf = np.cumsum(p, axis=1)
    ids = np.array([np.searchsorted(c, x, side="right")
                    for c, x in zip(cdf, u)])
    return np.minimum(ids, logits.shape[1] - 1), p


def loop_head(h, mask, W_hy, b_y):
    out = []
    for n in range(h.shape[0]):
        t = int(np.nonzero(mask[n])[0][-1])
        out.append(W_hy @ h[n, t] + b_y)
    return np.stack(out)


def loop_windows(series, T, horizon=1):
    s = np.asarray(series)
    s = s.reshape(len(s), -1)
    X = [s[n:n + T] for n in range(len(s) - T - horizon + 1)]
    y = [s[n + T + horizon - 1] for n in range(len(X))]
    return np.stack(X), np.stack(y)


CORRECT = [
    (check.sample_with_temperature, ref.sample_with_temperature),
    (check.sample_with_temperature, loop_sampler),
    (check.sample_with_temperature, searchsorted_sampler),
    (check.many_to_one_head, ref.many_to_one_head),
    (check.many_to_one_head, loop_head),
    (check.make_forecast_windows, data.make_forecast_windows),
    (check.make_forecast_windows, loop_windows),
]


@pytest.mark.parametrize("chk, fn", CORRECT)
def test_correct_answers_pass(chk, fn, capsys):
    passes_visible_and_hidden(chk, fn, capsys, hidden_draws=5)


@pytest.mark.parametrize("chk", [check.sample_with_temperature,
                                 check.many_to_one_head,
                                 check.make_forecast_windows])
def test_blank_answer_says_not_implemented(chk):
    fails(chk, not_implemented, "not implemented yet")


@pytest.mark.parametrize("chk, reference", [
    (check.sample_with_temperature, ref.sample_with_temperature),
    (check.many_to_one_head, ref.many_to_one_head),
    (check.make_forecast_windows, data.make_forecast_windows)])
def test_hard_coded_answers_fail_hidden(chk, reference):
    replay_passes_visible_only(chk, reference)


# ------------------------------------------------------------- mistakes
def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _draw(p, u):
    return (np.cumsum(p, 1) <= u[:, None]).sum(1).clip(max=p.shape[1] - 1)


def sampler(probs, draw=_draw):
    def fn(logits, tau, u):
        p = probs(logits, tau)
        return draw(p, u), p
    return fn


def greedy_or(probs):
    def inner(logits, tau):
        if tau == 0:
            return ref.sample_with_temperature(logits, 0, np.zeros(len(
                logits)))[1]
        return probs(logits, tau)
    return inner


SAMPLER_MISTAKES = {
    "times tau": (sampler(greedy_or(lambda y, tau: _softmax(y * tau))),
                  ["multiplied the scores by tau"]),
    "no tau": (sampler(greedy_or(lambda y, tau: _softmax(y))),
               ["temperature is ignored"]),
    "no max": (sampler(greedy_or(lambda y, tau: np.exp(y / tau) / np.exp(
        y / tau).sum(1, keepdims=True))), ["subtract each row's maximum"]),
    "axis 0": (sampler(greedy_or(lambda y, tau: _softmax(y / tau, 0))),
               ["over axis 0"]),
    "tau 0 crash": (sampler(lambda y, tau: _softmax(y / tau)),
                    ["tau = 0", "greedy"]),
    "always greedy": (sampler(greedy_or(lambda y, tau: _softmax(y / tau)),
                              lambda p, u: p.argmax(1)),
                      ["ids[", "always take the most likely"]),
    "from one": (sampler(greedy_or(lambda y, tau: _softmax(y / tau)),
                         lambda p, u: _draw(p, u) + 1),
                 ["count from 1"]),
    "own rng": (sampler(greedy_or(lambda y, tau: _softmax(y / tau)),
                        lambda p, u: np.array([
                            np.random.default_rng(5).choice(len(r), p=r)
                            for r in p])),
                ["Use the given u"]),
}


@pytest.mark.parametrize("mistake", sorted(SAMPLER_MISTAKES))
def test_sample_with_temperature_names_the_mistake(mistake):
    fn, needles = SAMPLER_MISTAKES[mistake]
    fails_visible_and_hidden(check.sample_with_temperature, fn, needles)


def _last(h, mask):
    return h[np.arange(len(h)), mask.sum(1) - 1]


HEAD_MISTAKES = {
    "last column": (lambda h, m, W, b: h[:, -1] @ W.T + b,
                    ["h[:, -1]", "last real step"]),
    "off by one": (lambda h, m, W, b: h[np.arange(len(h)), np.minimum(
        m.sum(1), h.shape[1] - 1)] @ W.T + b, ["off by one"]),
    "mean": (lambda h, m, W, b: (h * m[..., None]).sum(1) / m.sum(1)[
        :, None] @ W.T + b, ["average"]),
    "no bias": (lambda h, m, W, b: _last(h, m) @ W.T, ["bias"]),
    "not transposed": (lambda h, m, W, b: _last(h, m) @ W + b,
                       ["W_hy.T"]),
    "float64 out": (lambda h, m, W, b: (_last(h, m) @ W.T + b).astype(
        np.float64), ["dtype"]),
    "in place": (lambda h, m, W, b: (h.__setitem__(Ellipsis, 0),
                                     ref.many_to_one_head(h, m, W, b))[1],
                 ["logits"]),
}


@pytest.mark.parametrize("mistake", sorted(HEAD_MISTAKES))
def test_many_to_one_head_names_the_mistake(mistake):
    fn, needles = HEAD_MISTAKES[mistake]
    fails(check.many_to_one_head, fn, *needles)


def test_many_to_one_head_input_change_is_caught():
    def writes_mask(h, mask, W_hy, b_y):
        out = ref.many_to_one_head(h, mask, W_hy, b_y)
        mask[:] = True
        return out
    fails(check.many_to_one_head, writes_mask, "in place")


def windows_with(target_shift=0, ignore_horizon=False, flat=False,
                 flat_y=False, stride=1, dtype=None):
    def fn(series, T, horizon=1):
        s = np.asarray(series)
        s2 = s[:, None] if s.ndim == 1 else s
        h = 1 if ignore_horizon else horizon
        N = len(s2) - T - horizon + 1
        X = np.stack([s2[n:n + T] for n in range(0, N, stride)])
        y = np.stack([s2[min(n + T + h - 1 + target_shift, len(s2) - 1)]
                      for n in range(0, N, stride)])
        if flat and s.ndim == 1:
            X = X[..., 0]
        if flat_y and s.ndim == 1:
            y = y[:, 0]
        if dtype is not None:
            X, y = X.astype(dtype), y.astype(dtype)
        return X, y
    return fn


WINDOW_MISTAKES = {
    "target late": (windows_with(target_shift=1), ["one step too far"]),
    "target early": (windows_with(target_shift=-1), ["one step too early"]),
    "horizon ignored": (windows_with(ignore_horizon=True),
                        ["horizon is ignored"]),
    "flat X": (windows_with(flat=True), ["(N, T, D)", "D = 1"]),
    "flat y": (windows_with(flat_y=True), ["(N, D)"]),
    "stride T": (lambda s, T, horizon=1: windows_with(stride=T)(s, T,
                                                                 horizon),
                 ["windows", "N = L - T - horizon + 1"]),
    "float64": (windows_with(dtype=np.float64), ["dtype"]),
}


@pytest.mark.parametrize("mistake", sorted(WINDOW_MISTAKES))
def test_make_forecast_windows_names_the_mistake(mistake):
    fn, needles = WINDOW_MISTAKES[mistake]
    fails(check.make_forecast_windows, fn, *needles)


def test_too_many_windows_is_named():
    def too_many(series, T, horizon=1):
        s = np.asarray(series, dtype=float).reshape(len(series), -1)
        N = len(s) - T + 1
        X = np.stack([s[n:n + T] for n in range(N)])
        return X, s[np.minimum(np.arange(N) + T + horizon - 1, len(s) - 1)]
    fails(check.make_forecast_windows, too_many, "N = L - T - horizon + 1")


def test_sampler_frequencies_follow_p():
    """The inverse CDF at uniform numbers draws each k with p[k]."""
    rng = np.random.default_rng(0)
    logits = np.repeat(np.array([[1.0, 0.0, -1.0, 2.0]]), 40000, 0)
    ids, p = ref.sample_with_temperature(logits, 0.7, rng.random(40000))
    freq = np.bincount(ids, minlength=4) / len(ids)
    assert np.abs(freq - p[0]).max() < 0.01


def float32_left_sampler(logits, tau, u):
    """float32 sums and searchsorted's default side: also correct."""
    ids, p = ref.sample_with_temperature(logits, tau, u)
    cdf = np.cumsum(p.astype(np.float32), axis=1)
    ids = np.array([np.searchsorted(c, np.float32(x)) for c, x in
                    zip(cdf, u)])
    return np.minimum(ids, logits.shape[1] - 1), p


def test_float32_sums_and_the_left_side_pass():
    check.sample_with_temperature(float32_left_sampler)
    for _ in range(10):
        check.sample_with_temperature(float32_left_sampler, hidden=True)
