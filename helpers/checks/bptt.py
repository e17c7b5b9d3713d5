"""Checks for lesson 3, "Backpropagation through time", against
:mod:`helpers.reference.rnn`; a wrong answer is matched against the usual
wrong ones (:data:`MISTAKES`, made by :func:`broken_rnn_backward`)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (F32, F64, close, describe, diagnose,
                            expect_close, expect_dtype, expect_each,
                            expect_grad_check, expect_grads, expect_shape,
                            expect_steps, expect_true, fresh_sizes, likely,
                            make_rng, passed, rel_errors, run_student,
                            snapshot)
from helpers.checks.rnn import random_rnn_params
from helpers.reference import rnn as ref
from helpers.reference.gradcheck import finite_differences
from helpers.reference.layers import embedding_backward as ref_emb_backward

__all__ = ["rnn_step_backward", "rnn_backward", "numerical_gradient",
           "grad_check_rnn", "truncated_bptt", "embedding_backward",
           "broken_rnn_backward", "MISTAKES"]

KEYS = ("W_xh", "W_hh", "b_h")
SHAPE_EXAMPLE = ": e.g. dW_xh = da.T @ x, not x.T @ da."


def _inputs(rng, N, T, D, H, dtype=F64):
    p = random_rnn_params(rng, D, H, dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.normal(0, 0.5, (N, H)).astype(dtype)
    return x, h0, p, rng.normal(size=(N, T, H)).astype(dtype)


# ----------------------------------------------- the usual wrong answers
MISTAKES = {
    "no_tanh": "the tanh' factor is missing: da = dh * (1 - h_t**2), with "
               "h_t the state this step produced.",
    "no_carry": "the gradient does not flow back in time: the gradient "
                "reaching h_t is dh[:, t] PLUS the dh_prev of step t+1.",
    "overwrite": "your weight gradients hold only the first step's part, as "
                 "if each step overwrote the last: sum them over all steps "
                 "(grads[k] += step_grads[k]).",
    "last_only": "your weight gradients hold only the last step's part: "
                 "sum the shared weights' gradients over all steps.",
    "mean_time": "sum the shared weights' gradients over the time steps, "
                 "do not average: L is a sum of per-step losses.",
    "off_by_one": "off by one in time: the state entering step t is "
                  "h[:, t-1] (h0 for t = 0), not h[:, t].",
    "wrap": "at t = 0, h[:, t-1] = h[:, -1] wraps around to the LAST state; "
            "the state entering step 0 is h0: h_prev = h0 if t == 0 else "
            "h[:, t-1].",
    "no_dh_last": "dh_last is ignored: add it to the gradient reaching the "
                  "last state, h[:, -1].",
    "forward_order": "walk the steps backwards, t = T-1 down to 0: step t "
                     "needs the gradient from step t+1.",
    "dx_scale": "(a deliberately broken dx)",
    "dh0_zero": "(a deliberately broken dh0)",
}


def broken_rnn_backward(mistake: str | None = None) -> Callable:
    """``backward(dh, cache, dh_last=None) -> (dx, dh0, grads)`` with the
    mistake named by a key of :data:`MISTAKES`; correct for None."""
    if mistake is not None and mistake not in MISTAKES:
        raise ValueError(f"unknown mistake {mistake!r}; one of "
                         f"{sorted(MISTAKES)}")

    def backward(dh, cache, dh_last=None):
        x, h0, h, params = cache[:4]
        T = h.shape[1]
        dx = np.zeros_like(x)
        grads = {k: np.zeros_like(params[k]) for k in KEYS}
        extra = np.zeros(h0.shape, dtype=h.dtype) + (
            0 if dh_last is None or mistake == "no_dh_last" else dh_last)
        for t in range(T) if mistake == "forward_order" \
                else reversed(range(T)):
            h_prev = h[:, t] if mistake == "off_by_one" else \
                h0 if t == 0 and mistake != "wrap" else h[:, t - 1]
            g = dh[:, t] + extra
            da = g if mistake == "no_tanh" else g * (1 - h[:, t] ** 2)
            dx[:, t] = da @ params["W_xh"]
            step = {"W_xh": da.T @ x[:, t], "W_hh": da.T @ h_prev,
                    "b_h": da.sum(axis=0)}
            if mistake != "last_only" or t == T - 1:     # else keep zeros
                grads = {k: step[k] if mistake in ("overwrite", "last_only")
                         else grads[k] + step[k] for k in KEYS}
            extra = np.zeros_like(g) if mistake == "no_carry" \
                else da @ params["W_hh"]
        dh0 = da @ params["W_hh"] if mistake == "no_carry" else extra
        if mistake == "mean_time":
            grads = {k: v / T for k, v in grads.items()}
        return (2 * dx if mistake == "dx_scale" else dx,
                np.zeros_like(dh0) if mistake == "dh0_zero" else dh0, grads)

    return backward


# ----------------------------------------------------- rnn_step_backward
def _step_mistakes(d, x, h_prev, h_next, p) -> dict:
    da = d * (1 - h_next ** 2)                       # d = dh_next
    no_tanh = MISTAKES["no_tanh"]
    return {
        "dx": [(d @ p["W_xh"], no_tanh),
               (d * (1 - h_next) @ p["W_xh"], "tanh' is 1 - h_next**2, "
                "squared."),
               (d * (1 - h_prev ** 2) @ p["W_xh"], "tanh' is evaluated at "
                "this step's output: 1 - h_next**2, not 1 - h_prev**2.")],
        "dh_prev": [(da @ p["W_hh"].T, "W_hh is used transposed: the "
                     "forward computes h_prev @ W_hh.T, so dh_prev = da @ "
                     "W_hh."), (d @ p["W_hh"], no_tanh)],
        "grads['W_hh']": [(h_prev.T @ da, "dW_hh is transposed: it has the "
                           "layout of W_hh, dW_hh = da.T @ h_prev."),
                          (da.T @ h_next, "dW_hh pairs da with h_prev, the "
                           "state that entered the step, not h_next."),
                          (d.T @ h_prev, no_tanh)],
        "grads['W_xh']": [(d.T @ x, no_tanh)],
        "grads['b_h']": [(da.mean(axis=0), "sum over the batch, do not "
                          "average: db_h = da.sum(axis=0)."),
                         (d.sum(axis=0), no_tanh)],
    }


def _check_step(fn, x, h_prev, params, dh_next):
    dtype, (N, D), H = x.dtype, x.shape, h_prev.shape[1]
    h_next, cache = ref.rnn_step_forward(x, h_prev, params)
    exp_dx, exp_dh, exp_g = ref.rnn_step_backward(dh_next, cache)
    unchanged = snapshot(dh_next, cache)
    dx, dh_prev, grads = run_student(
        fn, "rnn_step_backward", dh_next, cache, returns="(dx, dh_prev, "
        "grads)", hint="the cache is (x, h_prev, h_next, params); x is "
        "(N, D), h_prev and h_next (N, H), W_xh (H, D), W_hh (H, H).")
    expect_shape("dx", dx, (N, D), "N, D")
    expect_shape("dh_prev", dh_prev, (N, H), "N, H")
    expect_grads("rnn_step_backward", grads, params, SHAPE_EXAMPLE)
    mistakes = _step_mistakes(dh_next, x, h_prev, h_next, params)
    expect_each([("dx", dx, exp_dx), ("dh_prev", dh_prev, exp_dh)] + [
        (f"grads['{k}']", grads[k], exp_g[k]) for k in KEYS],
        describe(dtype, N=N, D=D, H=H), dtype, fix="keep their dtype.",
        hint=lambda n, got: likely(diagnose(got, mistakes[n], dtype)))
    expect_true(unchanged(), "rnn_step_backward changed its inputs (dh_next "
                "or the cache) in place; compute new arrays instead.")


def rnn_step_backward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_step_backward(dh_next, cache) -> (dx, dh_prev, grads)``."""
    rng = make_rng(hidden, seed=30)
    cases = fresh_sizes(rng, 3, 9) if hidden else [
        (3, 4, 5, F64), (1, 2, 3, F64), (2, 3, 4, F32)]
    for N, D, H, dt in cases:
        p = random_rnn_params(rng, D, H, dt)
        x = rng.normal(size=(N, D)).astype(dt)
        h_prev = np.tanh(rng.normal(size=(N, H))).astype(dt)
        _check_step(fn, x, h_prev, p, rng.normal(size=(N, H)).astype(dt))
    passed("rnn_step_backward: dx, dh_prev, dW_xh, dW_hh and db_h all "
           "right, in float64 and float32", hidden)


# ---------------------------------------------------------- rnn_backward
def _check_backward(fn, x, h0, params, dh, dh_last, what):
    dtype, (N, T, D), H = x.dtype, x.shape, h0.shape[1]
    cache = ref.rnn_forward(x, h0, params)[2]
    exp = exp_dx, exp_dh0, exp_g = ref.rnn_backward(dh, cache, dh_last)
    unchanged = snapshot(dh, dh_last, cache)
    args = (dh, cache) if dh_last is None else (dh, cache, dh_last)
    out = dx, dh0, grads = run_student(
        fn, "rnn_backward", *args, returns="(dx, dh0, grads)",
        hint="the cache is (x, h0, h, params) with x (N, T, D), h0 (N, H) "
             "and h (N, T, H) holding h_1 .. h_T.")
    expect_shape(f"dx ({what})", dx, (N, T, D), "N, T, D")
    expect_shape(f"dh0 ({what})", dh0, (N, H), "N, H")
    expect_grads(f"rnn_backward ({what})", grads, params, SHAPE_EXAMPLE)
    skip = ("dx_scale", "dh0_zero", "no_dh_last" if dh_last is None else "")
    cause = "" if close(out, exp, dtype) else likely(diagnose((dx, grads), [
        (broken_rnn_backward(n)(dh, cache, dh_last)[::2], message)
        for n, message in MISTAKES.items() if n not in skip], dtype))
    last = f"dh[:, -1]{' + dh_last' if dh_last is not None else ''}."
    expect_steps("dx", what, dx, exp_dx, dtype, backwards=True, hint=lambda
                 t: (f"dx is right after t={t} but first wrong at time step"
                     f" t={t} (walking back from t={T - 1})." if t < T - 1 else
                     f"dx is wrong already at the last step t={T - 1}: check"
                     f" the step backward and {last}") + f" {cause}".rstrip())
    expect_close(f"dh0 ({what})", dh0, exp_dh0, dtype=dtype, hint=cause or
                 "dh0 is the dh_prev of the first step (t = 0).")
    expect_each([(f"grads['{k}']", grads[k], exp_g[k]) for k in KEYS], what,
                dtype, cause or "sum the step gradients of the shared weights"
                " over all time steps.", fix="keep their dtype.")
    expect_true(dx.dtype == dtype and dh0.dtype == dtype,
                f"dx and dh0 should keep the dtype {np.dtype(dtype).name}.")
    expect_true(unchanged(), "rnn_backward changed dh, dh_last or the cache "
                "in place: write dh[:, t] + dh_next, not dh[:, t] += dh_next.")


def rnn_backward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_backward(dh, cache, dh_last=None) -> (dx, dh0, grads)``."""
    rng = make_rng(hidden, seed=31)
    # N, T, D, H, dtype, a loss at the last step only, a dh_last
    cases = [(2, 5, 3, 4, F64, True, False), (2, 5, 3, 4, F64, False, False),
             (3, 4, 2, 5, F64, False, True), (2, 6, 3, 4, F32, False, False)]
    if hidden:
        cases = [(*rng.integers(1, 9, 4), dt, False, True)
                 for dt in (F64, F32)] + [
            (int(rng.integers(1, 4)), 1, 3, 4, F64, False, False),
            (2, int(rng.integers(9, 16)), 2, 3, F64, True, False)]
    for N, T, D, H, dtype, last_only, with_last in cases:
        x, h0, p, dh = _inputs(rng, N, T, D, H, dtype)
        if last_only:
            dh[:, :-1] = 0
        dh_last = rng.normal(size=(N, H)).astype(dtype) if with_last else None
        what = ("a loss at the last step only" if last_only else
                "a loss at every step") + " and dh_last" * with_last
        _check_backward(fn, x, h0, p, dh, dh_last, f"{what}, " + describe(
            dtype, N=N, T=T, D=D, H=H))
    passed("rnn_backward: the gradient flows back through all steps, the "
           "shared weights sum their step gradients, dh_last and float32 "
           "all right", hidden)


# ----------------------------------------------------- numerical_gradient
FUNCTIONS = [
    (lambda c, v: np.sum(c * np.sin(v)) + np.sum(v ** 2),
     "f(x) = sum(c * sin(x)) + sum(x**2)"),
    # large curvature: exposes the one-sided difference
    (lambda c, v: np.sum(c * np.exp(1.5 * v)), "f(x) = sum(c * exp(1.5 x))"),
    (lambda c, v: np.sum(c * np.tanh(v) ** 2), "f(x) = sum(c * tanh(x)**2)")]


def _check_numgrad(fn, rng, shape, function, eps, rtol):
    """Compare with the centred difference at the same ``eps``: a correct
    one agrees to rounding, while its O(eps**2) error against the exact
    gradient can exceed any fixed tolerance at eps = 1e-3."""
    c, x = rng.normal(size=shape), rng.normal(0, 0.7, shape)
    formula, name = function
    f = lambda v: float(formula(c, v))                # noqa: E731
    what = (f"{name}, x of shape {shape}, "
            + ("default eps" if eps is None else f"eps = {eps:g}"))
    unchanged, e = snapshot(x), 1e-5 if eps is None else eps

    def diff(stencil="centred"):              # on a copy of x
        v = x.copy()
        return finite_differences(lambda: f(v), v, e, stencil)

    expected = diff()
    got = run_student(fn, "numerical_gradient", f, x,
                      *(() if eps is None else (eps,)),
                      hint="f takes an array shaped like x and returns a "
                           "float.")
    expect_true(not isinstance(got, np.ndarray) or got.shape == x.shape
                or got.size != x.size, f"numerical_gradient returned shape "
                f"{getattr(got, 'shape', None)} for x of shape {x.shape} "
                f"({what}); return an array shaped like x (e.g. "
                f"np.zeros_like(x), filled entry by entry with np.ndindex).")
    expect_shape(f"the numerical gradient ({what})", got, x.shape)
    expect_true(unchanged(), f"numerical_gradient changed x ({what}); after "
                f"perturbing an entry put it back (or perturb a copy).")

    def mistakes():                          # asked only on failure
        return diagnose(got, [
            (2 * expected, "it is twice the gradient: divide by 2 * eps, "
             "not eps."),
            (expected / 2, "it is half the gradient: divide by 2 * eps, "
             "not 4 * eps."),
            (diff("one-sided"), "this is the one-sided difference (f(x + "
             "eps) - f(x)) / eps, error like eps; use the centred (f(x + "
             "eps) - f(x - eps)) / (2 eps), error like eps**2."),
            (np.full_like(expected, expected.flat[0]) if x.size > 1 else
             None, "every entry holds the same value: perturb one entry at "
             "a time."),
            (np.zeros_like(expected), "every entry is 0: f never saw the "
             "perturbed x (f(x) computed once before the loop, or a copy "
             "never passed to f). Perturb x itself (x[idx] = old + eps; fp "
             "= f(x) ...), then put x[idx] = old back.")], F64)
    expect_close(f"the numerical gradient ({what})", got, expected,
                 atol=1e-8, rtol=rtol, hint=mistakes)


def numerical_gradient(fn: Callable, hidden: bool = False) -> None:
    """Check ``numerical_gradient(f, x, eps=1e-5) -> grad`` (centred)."""
    rng = make_rng(hidden, seed=32)
    cases = ((tuple(map(int, rng.integers(1, 5, rng.integers(1, 4)))),
              (None, 1e-4, 1e-3)[int(rng.integers(3))], 1e-5)
             for _ in FUNCTIONS) if hidden else [
        ((4,), None, 1e-6), ((3, 4), 1e-3, 1e-5), ((2, 3, 2), None, 1e-6)]
    for (shape, eps, rtol), function in zip(cases, FUNCTIONS):  # one by one
        _check_numgrad(fn, rng, shape, function, eps, rtol)
    passed("numerical_gradient: centred differences, right on vectors, "
           "matrices and 3-d arrays, x left unchanged", hidden,
           "functions and shapes")


# -------------------------------------------------------- grad_check_rnn
ERROR_KEYS = ("x", "h0", "W_xh", "W_hh", "b_h")
BACKWARDS = [(None, "a correct backward"),       # (mistake, label)
             ("overwrite", "a backward that overwrites the weight gradients"),
             ("dx_scale", "a backward whose dx is wrong"),
             ("dh0_zero", "a backward whose dh0 is wrong"),
             ("off_by_one", "a backward whose dW_hh pairs da with the wrong "
                            "state"),
             ("no_tanh", "a backward without tanh'")]


def _check_grad_check(fn, x, h0, params, dh, label, mistake, what):
    unchanged = snapshot(x, h0, params, dh)
    backward = broken_rnn_backward(mistake)
    out = run_student(fn, "grad_check_rnn", backward, x, h0, params, dh,
                      hint="compare backward's gradients of L = sum(h * dh) "
                           "with numerical_gradient's.")
    expect_true(unchanged(), "grad_check_rnn changed x, h0, params or dh; "
                "the numerical gradient must put every perturbed entry back.")
    cache = ref.rnn_forward(x, h0, params)[2]
    truth = rel_errors(backward(dh, cache), ref.rnn_backward(dh, cache),
                       ERROR_KEYS)
    return expect_grad_check("grad_check_rnn", out, truth, label, what,
                             "Is the loss L = np.sum(h * dh) with h from "
                             "rnn_forward")


def grad_check_rnn(fn: Callable, hidden: bool = False) -> None:
    """Check ``grad_check_rnn(backward, x, h0, params, dh) -> errors``: tiny
    for a correct backward, else the real error of each broken gradient."""
    rng = make_rng(hidden, seed=33)
    N, T, D, H = (rng.integers([1, 2, 1, 1], [5, 6, 5, 5]) if hidden
                  else (2, 4, 3, 4))
    x, h0, p, dh = _inputs(rng, N, T, D, H)
    what = describe(N=N, T=T, D=D, H=H)
    errors = [_check_grad_check(fn, x, h0, p, dh, label, mistake, what)
              for mistake, label in BACKWARDS]
    passed(f"grad_check_rnn: errors below {max(errors[0].values()):.0e} "
           f"for a correct backward, and it finds the broken dx, dh0, "
           f"dW_hh, weight gradients and the missing tanh'", hidden)


# -------------------------------------------------------- truncated_bptt
def _truncated_variants(x, h0, params, dh, k):
    """``[(h or None, grads, message)]`` of the usual wrong truncations."""
    T = x.shape[1]
    h, grads = np.empty_like(dh), {n: 0 for n in KEYS}
    for s in range(0, T, k):       # every chunk starts again from h0
        c = slice(s, min(s + k, T))
        h[:, c], _, cache = ref.rnn_forward(x[:, c], h0, params)
        g = ref.rnn_backward(dh[:, c], cache)[2]
        grads = {n: grads[n] + g[n] for n in KEYS}
    hf, _, cache = ref.rnn_forward(x, h0, params)
    s = ((T - 1) // k) * k
    last = ref.rnn_forward(x[:, s:], hf[:, s - 1] if s else h0, params)[2]
    full = (T // k) * k
    return [
        (h, grads, "the state is not carried: each chunk must start from the "
         "last state of the previous chunk (h_carry = h_last), not from h0."),
        (hf, ref.rnn_backward(dh, cache)[2], "your gradients equal full "
         "BPTT: cut the graph at every chunk boundary (run each chunk's "
         "backward on its own, dropping its dh0)."),
        (hf, ref.rnn_backward(dh[:, s:], last)[2], "these are the gradients "
         "of the last chunk only: add up the gradients of all chunks."),
    ] + ([(None, ref.rnn_truncated_bptt(x[:, :full], h0, params,
                                        dh[:, :full], k)[2],
           f"the last, shorter chunk is missing: T = {T} is not a "
           f"multiple of k = {k}, and range(0, T, k) with a slice "
           f"[start:start + k] covers it.")] if T % k and T > k else [])


def _check_truncated(fn, x, h0, params, dh, k, what):
    dtype, (N, T, D), H = x.dtype, x.shape, h0.shape[1]
    exp = exp_h, exp_dx, exp_g = ref.rnn_truncated_bptt(x, h0, params, dh, k)
    unchanged = snapshot(x, h0, params, dh)
    out = h, dx, grads = run_student(
        fn, "truncated_bptt", x, h0, params, dh, k, ref.rnn_forward,
        ref.rnn_backward, returns="(h, dx, grads)", hint="call the forward "
        "and backward passed in on each chunk x[:, start:start + k].")
    expect_shape(f"h ({what})", h, (N, T, H), "N, T, H")
    expect_shape(f"dx ({what})", dx, (N, T, D), "N, T, D")
    expect_grads(f"truncated_bptt ({what})", grads, params, SHAPE_EXAMPLE)
    cause = "" if close(out, exp, dtype) else likely(next((
        m for vh, vg, m in _truncated_variants(x, h0, params, dh, k)
        if (vh is None or close(h, vh, dtype)) and close(grads, vg, dtype)),
        ""))
    expect_steps("h", what, h, exp_h, dtype, lambda t: f"first wrong at "
                 f"time step t={t}, chunk {t // k + 1} (chunks of k = {k})."
                 f" {cause}".strip())
    expect_each([(f"grads['{n}']", grads[n], exp_g[n]) for n in KEYS], what,
                dtype, cause or "sum the parameter gradients of the chunks, "
                "each from its own backward.")
    expect_steps("dx", what, dx, exp_dx, dtype, lambda t: "store each "
                 "chunk's dx, from its own backward, at its steps.")
    expect_true(unchanged(), "truncated_bptt changed its inputs in place.")


def truncated_bptt(fn: Callable, hidden: bool = False) -> None:
    """Check ``truncated_bptt(x, h0, params, dh, k, forward, backward)
    -> (h, dx, grads)``, passing the reference forward and backward."""
    rng = make_rng(hidden, seed=34)
    cases = [(2, 6, 3, 4, 2, F64), (2, 7, 3, 4, 3, F64), (3, 5, 2, 3, 1, F64),
             (2, 4, 3, 4, 10, F64), (2, 7, 3, 4, 3, F32)]
    if hidden:                        # T in [5, 15), k in [2, T)
        cases = [(N, T, D, H, int(rng.integers(2, T)), dt) for N, D, H, dt
                 in fresh_sizes(rng, 3, 6, one=False)
                 for T in [int(rng.integers(5, 15))]]
    for N, T, D, H, k, dtype in cases:
        _check_truncated(fn, *_inputs(rng, N, T, D, H, dtype), k,
                         describe(dtype, N=N, T=T, k=k))
    passed("truncated_bptt: state carried across chunks, graph cut at "
           "every boundary, chunk gradients summed, last short chunk "
           "included", hidden, "shapes, lengths and k")


# ---------------------------------------------------- embedding_backward
def _emb_mistakes(x, V, dout):
    D = dout.shape[2]
    once = np.zeros((V, D), dout.dtype)
    once[x.reshape(-1)] = dout.reshape(-1, D)      # one write per index
    counts = np.bincount(x.reshape(-1), minlength=V)[:, None]
    total = ref_emb_backward(dout, (x, V))["W_e"]
    v = int(np.argmax(counts))
    return [(once, f"token {v} occurs {int(counts[v, 0])} times in x but its "
             f"row holds one use: dW_e[x] = dout (or +=) writes each index "
             f"once; add every use with np.add.at(dW_e, x, dout)."),
            (total / np.maximum(counts, 1), "you averaged the uses of each "
             "token; a row used several times gets the sum of its uses."),
            (total.T if V == D else None, "dW_e is transposed: it has the "
             "shape (V, D) of W_e, one row per token.")]


def embedding_backward(fn: Callable, hidden: bool = False) -> None:
    """Check ``embedding_backward(dout, (x, V)) -> {"W_e": (V, D)}``."""
    rng = make_rng(hidden, seed=36)
    cases = [(2, 6, 5, 3, F64), (1, 4, 9, 2, F64), (3, 5, 4, 4, F32)]
    if hidden:
        cases = [(*map(int, rng.integers(1, 6, 2)),
                  int(rng.integers(2, 12)), int(rng.integers(1, 6)), dtype)
                 for dtype in (F64, F32)]
    for N, T, V, D, dtype in cases:
        x = rng.integers(0, V, (N, T))
        x.flat[:2] = 0                         # a token used twice, always
        dout = rng.normal(size=(N, T, D)).astype(dtype)
        what = describe(dtype, N=N, T=T, V=V, D=D)
        unchanged = snapshot(x, dout)
        grads = run_student(fn, "embedding_backward", dout, (x, V),
                            hint="start from zeros((V, D)) and add each "
                            "dout[n, t] to the row of its token x[n, t].")
        expect_grads(f"embedding_backward ({what})", grads,
                     {"W_e": np.zeros((V, D))}, ": one row per token.")
        expect_close(f"dW_e ({what})", grads["W_e"],
                     ref_emb_backward(dout, (x, V))["W_e"], dtype=dtype,
                     hint=lambda: likely(diagnose(
                         grads["W_e"], _emb_mistakes(x, V, dout), dtype)))
        expect_dtype("dW_e", grads["W_e"], dtype, "dout is")
        expect_true(unchanged(), "embedding_backward wrote into x or dout.")
    passed("embedding_backward: every use of a token adds to its row, "
           "unused rows stay zero, dtype kept", hidden,
           "sizes, repeated tokens included")
