"""Checks for lesson 3, "Backpropagation through time".

The reference is :mod:`helpers.reference.rnn` (``rnn_step_backward``,
``rnn_backward``, ``rnn_truncated_bptt``) and
:func:`helpers.reference.gradcheck.rel_error`; the checks never compare a
student's function with another of the student's functions.

To make failures point at the bug, every check first compares the
student's answer with the usual wrong answers, computed here by
:func:`broken_rnn_backward` and friends (tanh' factor missing, gradient
not carried back in time, shared-weight gradients overwritten instead of
summed, off by one in time, ``dh_last`` ignored, a one-sided difference,
the graph not cut between chunks ...), and names the mistake it
recognises; otherwise it reports the first wrong output and time step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (expect_close, expect_shape,
                            expect_true, make_rng, passed, run_student)
from helpers.reference.gradcheck import rel_error
from helpers.reference.rnn import rnn_backward as ref_rnn_backward
from helpers.reference.rnn import rnn_forward as ref_rnn_forward
from helpers.reference.rnn import rnn_step_backward as ref_rnn_step_backward
from helpers.reference.rnn import rnn_step_forward as ref_rnn_step_forward
from helpers.reference.rnn import rnn_truncated_bptt as ref_truncated_bptt

__all__ = ["rnn_step_backward", "rnn_backward", "numerical_gradient",
           "grad_check_rnn", "truncated_bptt", "broken_rnn_backward",
           "MISTAKES"]

KEYS = ("W_xh", "W_hh", "b_h")


# ---------------------------------------------------------------- helpers

_run = run_student


def _tol(dtype) -> dict:
    return ({"atol": 1e-5, "rtol": 1e-4} if dtype == np.float32
            else {"atol": 1e-8, "rtol": 1e-6})


def _close(a, b, dtype=np.float64) -> bool:
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    t = _tol(dtype)
    return a.shape == b.shape and bool(np.all(
        np.abs(a - b) <= t["atol"] + t["rtol"] * np.abs(b)))


def _params(rng, D, H, dtype=np.float64, scale=0.5):
    return {"W_xh": rng.normal(0, scale, (H, D)).astype(dtype),
            "W_hh": rng.normal(0, scale, (H, H)).astype(dtype),
            "b_h": rng.normal(0, scale, H).astype(dtype)}


def _copy(params):
    return {k: v.copy() for k, v in params.items()}


def _same(params, saved) -> bool:
    return all(np.array_equal(params[k], saved[k]) for k in saved)


def _expect_grads(grads, params, what):
    expect_true(isinstance(grads, dict),
                f"{what}: grads should be a dict with keys 'W_xh', 'W_hh', "
                f"'b_h'; got {type(grads).__name__}.")
    missing = [k for k in KEYS if k not in grads]
    expect_true(not missing,
                f"{what}: grads is missing {missing}; it needs one entry "
                f"per parameter, keyed 'W_xh', 'W_hh', 'b_h'.")
    for k in KEYS:
        got = grads[k]
        shape = params[k].shape
        if isinstance(got, np.ndarray) and len(shape) == 2 \
                and got.shape == shape[::-1] \
                and shape[0] != shape[1]:
            raise AssertionError(
                f"{what}: grads['{k}'] has shape {got.shape}; expected "
                f"{shape}, the shape of {k}. A gradient has the shape of "
                f"its parameter: e.g. dW_xh = da.T @ x, not x.T @ da.")
        expect_shape(f"{what}: grads['{k}']", got, shape)


# ----------------------------------------------- the usual wrong answers

MISTAKES = {
    "no_tanh": "the tanh' factor is missing: the gradient of the "
               "pre-activation is da = dh * (1 - h_t**2), with h_t the "
               "state this step produced.",
    "no_carry": "the gradient does not flow back in time: the gradient "
                "reaching h_t is dh[:, t] PLUS the dh_prev returned by "
                "the step backward of step t+1.",
    "overwrite": "the gradients of the shared weights must be summed over "
                 "all time steps (grads[k] += step_grads[k]); yours hold "
                 "the contribution of the first step only, as if each step "
                 "overwrote the previous one.",
    "last_only": "the gradients of the shared weights must be summed over "
                 "all time steps; yours hold the contribution of the last "
                 "step only.",
    "mean_time": "the gradients of the shared weights are summed over the "
                 "time steps, not averaged: L is a sum of per-step losses.",
    "off_by_one": "off by one in time: the state that entered step t is "
                  "h[:, t-1] (h0 for t = 0), not h[:, t].",
    "no_dh_last": "dh_last is ignored: add it to the gradient reaching the "
                  "last state, h[:, -1].",
    "forward_order": "walk the time steps backwards, from t = T-1 down to "
                     "0: the gradient of step t needs the one of step t+1.",
    "dx_scale": "(a deliberately broken dx)",
    "dh0_zero": "(a deliberately broken dh0)",
}


def broken_rnn_backward(mistake: str | None = None) -> Callable:
    """A BPTT with one of the usual mistakes, for checks and tests.

    ``broken_rnn_backward(None)`` is a correct backward pass; any key of
    :data:`MISTAKES` gives ``backward(dh, cache, dh_last=None) -> (dx,
    dh0, grads)`` with that mistake.
    """
    if mistake is not None and mistake not in MISTAKES:
        raise ValueError(f"unknown mistake {mistake!r}; one of "
                         f"{sorted(MISTAKES)}")

    def backward(dh, cache, dh_last=None):
        x, h0, h, params = cache[:4]
        N, T, H = h.shape
        dx = np.zeros_like(x)
        grads = {k: np.zeros_like(params[k]) for k in KEYS}
        extra = np.zeros((N, H), dtype=h.dtype)
        if dh_last is not None and mistake != "no_dh_last":
            extra = extra + dh_last
        steps = range(T) if mistake == "forward_order" \
            else reversed(range(T))
        for t in steps:
            h_prev = h0 if t == 0 else h[:, t - 1]
            if mistake == "off_by_one":
                h_prev = h[:, t]
            g = dh[:, t] + extra
            da = g if mistake == "no_tanh" else g * (1 - h[:, t] ** 2)
            dx[:, t] = da @ params["W_xh"]
            step = {"W_xh": da.T @ x[:, t], "W_hh": da.T @ h_prev,
                    "b_h": da.sum(axis=0)}
            for k in KEYS:
                if mistake == "overwrite":
                    grads[k] = step[k]
                elif mistake == "last_only":
                    if t == T - 1:
                        grads[k] = step[k]
                else:
                    grads[k] = grads[k] + step[k]
            extra = np.zeros_like(g) if mistake == "no_carry" \
                else da @ params["W_hh"]
        dh0 = extra
        if mistake == "no_carry":
            dh0 = da @ params["W_hh"]
        if mistake == "mean_time":
            grads = {k: v / T for k, v in grads.items()}
        if mistake == "dx_scale":
            dx = 2 * dx
        if mistake == "dh0_zero":
            dh0 = np.zeros_like(dh0)
        return dx, dh0, grads

    return backward


def _bptt_mistake(out, dh, cache, dh_last, dtype) -> str:
    """Name the mistake whose output equals ``out``, or return ''."""
    dx, dh0, grads = out
    found = []
    for name in ("no_tanh", "no_carry", "overwrite", "last_only",
                 "mean_time", "off_by_one", "no_dh_last", "forward_order"):
        if name == "no_dh_last" and dh_last is None:
            continue
        bx, b0, bg = broken_rnn_backward(name)(dh, cache, dh_last)
        same = _close(dx, bx, dtype) and all(
            _close(grads.get(k), bg[k], dtype) for k in KEYS)
        if same:
            found.append(MISTAKES[name])
    # with some inputs two mistakes give the same numbers: name both
    return " Or: ".join(found)


# ----------------------------------------------------- rnn_step_backward

def _step_mistake(name, got, da, x, h_prev, h_next, p, dtype) -> str:
    """Recognise a wrong output of one step backward."""
    da_plain = da / (1 - h_next ** 2)               # = dh_next
    if name == "dx":
        cands = [(da_plain @ p["W_xh"], MISTAKES["no_tanh"]),
                 (da_plain * (1 - h_next) @ p["W_xh"],
                  "tanh'(a) is 1 - tanh(a)**2 = 1 - h_next**2 (squared)."),
                 (da_plain * (1 - h_prev ** 2) @ p["W_xh"],
                  "tanh' is evaluated at this step's output: "
                  "1 - h_next**2, not 1 - h_prev**2.")]
    elif name == "dh_prev":
        cands = [(da @ p["W_hh"].T,
                  "W_hh is used transposed: the forward computes "
                  "h_prev @ W_hh.T, so dh_prev = da @ W_hh."),
                 (da_plain @ p["W_hh"], MISTAKES["no_tanh"])]
    elif name == "W_hh":
        cands = [(h_prev.T @ da, "dW_hh is transposed: it has the layout "
                                 "of W_hh, dW_hh = da.T @ h_prev."),
                 (da.T @ h_next, "dW_hh pairs da with h_prev, the state "
                                 "that entered the step, not h_next."),
                 (da_plain.T @ h_prev, MISTAKES["no_tanh"])]
    elif name == "W_xh":
        cands = [(da_plain.T @ x, MISTAKES["no_tanh"])]
    else:
        cands = [(da.mean(axis=0), "sum over the batch, do not average: "
                                   "db_h = da.sum(axis=0)."),
                 (da_plain.sum(axis=0), MISTAKES["no_tanh"])]
    for value, message in cands:
        if _close(got, value, dtype):
            return message
    return ""


def _check_step(fn, x, h_prev, params, dh_next):
    dtype = x.dtype
    N, D = x.shape
    H = h_prev.shape[1]
    h_next, cache = ref_rnn_step_forward(x, h_prev, params)
    exp_dx, exp_dh, exp_g = ref_rnn_step_backward(dh_next, cache)
    saved = (x.copy(), h_prev.copy(), h_next.copy(), _copy(params),
             dh_next.copy())
    out = _run(fn, "rnn_step_backward", dh_next, cache,
               hint="the cache is (x, h_prev, h_next, params); x is (N, D), "
                    "h_prev and h_next (N, H), W_xh (H, D), W_hh (H, H).")
    expect_true(isinstance(out, tuple) and len(out) == 3,
                "rnn_step_backward should return (dx, dh_prev, grads).")
    dx, dh_prev, grads = out
    expect_shape("dx", dx, (N, D), "N, D")
    expect_shape("dh_prev", dh_prev, (N, H), "N, H")
    _expect_grads(grads, params, "rnn_step_backward")
    da = dh_next * (1 - h_next ** 2)
    what = f"N={N}, D={D}, H={H}, {np.dtype(dtype).name}"
    for name, got, exp in [("dx", dx, exp_dx), ("dh_prev", dh_prev, exp_dh),
                           ("W_xh", grads["W_xh"], exp_g["W_xh"]),
                           ("W_hh", grads["W_hh"], exp_g["W_hh"]),
                           ("b_h", grads["b_h"], exp_g["b_h"])]:
        label = name if name in ("dx", "dh_prev") else f"grads['{name}']"
        if not _close(got, exp, dtype):
            hint = _step_mistake(name, got, da, x, h_prev, h_next, params,
                                 dtype)
            expect_close(f"{label} ({what})", got, exp,
                         hint=("Likely cause: " + hint) if hint else "",
                         **_tol(dtype))
        expect_true(got.dtype == dtype,
                    f"{label} has dtype {got.dtype} but the inputs are "
                    f"{np.dtype(dtype).name}; keep their dtype.")
    x0, hp0, hn0, p0, d0 = saved
    expect_true(np.array_equal(x, x0) and np.array_equal(h_prev, hp0)
                and np.array_equal(h_next, hn0) and _same(params, p0)
                and np.array_equal(dh_next, d0),
                "rnn_step_backward changed its inputs (dh_next or the "
                "cache) in place; compute new arrays instead.")


def _step_case(fn, rng, N, D, H, dtype):
    p = _params(rng, D, H, dtype)
    x = rng.normal(size=(N, D)).astype(dtype)
    h_prev = np.tanh(rng.normal(size=(N, H))).astype(dtype)
    dh = rng.normal(size=(N, H)).astype(dtype)
    _check_step(fn, x, h_prev, p, dh)


def rnn_step_backward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_step_backward(dh_next, cache) -> (dx, dh_prev, grads)``.
    """
    rng = make_rng(hidden, seed=30)
    if not hidden:
        _step_case(fn, rng, 3, 4, 5, np.float64)
        _step_case(fn, rng, 1, 2, 3, np.float64)
        _step_case(fn, rng, 2, 3, 4, np.float32)
        passed("rnn_step_backward: dx, dh_prev, dW_xh, dW_hh and db_h all "
               "right, in float64 and float32")
        return
    for dtype in (np.float64, np.float32, np.float64):
        N, D, H = (int(v) for v in rng.integers(1, 9, 3))
        _step_case(fn, rng, N, D, H, dtype)
    passed("rnn_step_backward works on fresh random shapes and values")


# ---------------------------------------------------------- rnn_backward

def _check_backward(fn, x, h0, params, dh, dh_last, what):
    dtype = x.dtype
    N, T, D = x.shape
    H = h0.shape[1]
    _, _, cache = ref_rnn_forward(x, h0, params)
    exp_dx, exp_dh0, exp_g = ref_rnn_backward(dh, cache, dh_last)
    saved = (dh.copy(), None if dh_last is None else dh_last.copy(),
             _copy(params), cache[2].copy())
    args = (dh, cache) if dh_last is None else (dh, cache, dh_last)
    out = _run(fn, "rnn_backward", *args,
               hint="the cache is (x, h0, h, params) with x (N, T, D), h0 "
                    "(N, H) and h (N, T, H) holding h_1 .. h_T.")
    expect_true(isinstance(out, tuple) and len(out) == 3,
                "rnn_backward should return (dx, dh0, grads).")
    dx, dh0, grads = out
    expect_shape(f"dx ({what})", dx, (N, T, D), "N, T, D")
    expect_shape(f"dh0 ({what})", dh0, (N, H), "N, H")
    _expect_grads(grads, params, f"rnn_backward ({what})")
    mistake = ""
    if not (_close(dx, exp_dx, dtype) and _close(dh0, exp_dh0, dtype)
            and all(_close(grads[k], exp_g[k], dtype) for k in KEYS)):
        mistake = _bptt_mistake(out, dh, cache, dh_last, dtype)
    hint = ("Likely cause: " + mistake) if mistake else ""
    # dx, walking back from the last step: the first wrong step
    for t in reversed(range(T)):
        if not _close(dx[:, t], exp_dx[:, t], dtype):
            where = (f"dx is right at the steps after t={t} but first "
                     f"wrong at time step t={t} (walking back from "
                     f"t={T - 1})." if t < T - 1 else
                     f"dx is already wrong at the last step t={T - 1}: "
                     f"check the step backward and dh[:, -1]"
                     + (" + dh_last." if dh_last is not None else "."))
            expect_close(f"dx[:, {t}] ({what})", dx[:, t], exp_dx[:, t],
                         hint=where + (" " + hint if hint else ""),
                         **_tol(dtype))
    expect_close(f"dh0 ({what})", dh0, exp_dh0,
                 hint=hint or "dh0 is the dh_prev of the first step "
                              "(t = 0), the gradient on the initial state.",
                 **_tol(dtype))
    for k in KEYS:
        expect_close(f"grads['{k}'] ({what})", grads[k], exp_g[k],
                     hint=hint or "the shared weights get the sum of the "
                                  "step gradients over all time steps.",
                     **_tol(dtype))
        expect_true(grads[k].dtype == dtype,
                    f"grads['{k}'] has dtype {grads[k].dtype}; keep "
                    f"{np.dtype(dtype).name}.")
    expect_true(dx.dtype == dtype and dh0.dtype == dtype,
                f"dx and dh0 should keep the dtype {np.dtype(dtype).name}.")
    d0, l0, p0, h_saved = saved
    expect_true(np.array_equal(dh, d0) and _same(params, p0)
                and np.array_equal(cache[2], h_saved)
                and (dh_last is None or np.array_equal(dh_last, l0)),
                "rnn_backward changed dh, dh_last or the cache in place; "
                "add into new arrays instead (e.g. dh[:, t] + dh_next, "
                "not dh[:, t] += ...).")


def _backward_case(fn, rng, N, T, D, H, dtype, pattern="all",
                   with_last=False):
    p = _params(rng, D, H, dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.normal(0, 0.5, (N, H)).astype(dtype)
    dh = rng.normal(size=(N, T, H)).astype(dtype)
    if pattern == "last":           # a single loss at the end
        dh[:, :-1] = 0
    dh_last = rng.normal(size=(N, H)).astype(dtype) if with_last else None
    what = {"all": "a loss at every step", "last": "a loss at the last "
            "step only"}[pattern]
    what += (" and dh_last" if with_last else "") + \
        f", N={N}, T={T}, D={D}, H={H}, {np.dtype(dtype).name}"
    _check_backward(fn, x, h0, p, dh, dh_last, what)


def rnn_backward(fn: Callable, hidden: bool = False) -> None:
    """Check ``rnn_backward(dh, cache, dh_last=None) -> (dx, dh0, grads)``.
    """
    rng = make_rng(hidden, seed=31)
    if not hidden:
        _backward_case(fn, rng, 2, 5, 3, 4, np.float64, "last")
        _backward_case(fn, rng, 2, 5, 3, 4, np.float64, "all")
        _backward_case(fn, rng, 3, 4, 2, 5, np.float64, "all",
                       with_last=True)
        _backward_case(fn, rng, 2, 6, 3, 4, np.float32, "all")
        passed("rnn_backward: the gradient flows back through all steps, "
               "the shared weights sum their step gradients, dh_last and "
               "float32 all right")
        return
    for dtype in (np.float64, np.float32):
        N, T, D, H = (int(v) for v in rng.integers(1, 9, 4))
        _backward_case(fn, rng, N, T, D, H, dtype, "all", with_last=True)
    _backward_case(fn, rng, int(rng.integers(1, 4)), 1, 3, 4, np.float64)
    _backward_case(fn, rng, 2, int(rng.integers(9, 16)), 2, 3, np.float64,
                   "last")
    passed("rnn_backward works on fresh random shapes and values")


# ----------------------------------------------------- numerical_gradient

def _one_sided(f, x, eps):
    g = np.zeros_like(x)
    fx = f(x.copy())
    for ix in np.ndindex(x.shape):
        xp = x.copy()
        xp[ix] += eps
        g[ix] = (f(xp) - fx) / eps
    return g


def _centred(f, x, eps):
    g = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[ix] += eps
        xm[ix] -= eps
        g[ix] = (f(xp) - f(xm)) / (2 * eps)
    return g


def _check_numgrad(fn, f, grad_f, x, eps, rtol, what):
    """Compare with the centred difference at the same ``eps``.

    The analytic gradient ``grad_f`` only serves the hints: a correct
    centred difference differs from it by O(eps**2), which at eps = 1e-3
    can exceed any fixed tolerance, while two centred differences at the
    same eps agree to rounding.
    """
    saved = x.copy()
    e = 1e-5 if eps is None else eps
    expected = _centred(f, x, e)
    args = (f, x) if eps is None else (f, x, eps)
    got = _run(fn, "numerical_gradient", *args,
               hint="f takes an array shaped like x and returns a float.")
    if isinstance(got, np.ndarray) and got.shape != x.shape \
            and got.size == x.size:
        raise AssertionError(
            f"numerical_gradient returned shape {got.shape} for x of shape "
            f"{x.shape} ({what}); return an array shaped like x (e.g. "
            f"np.zeros_like(x), filled entry by entry with np.ndindex).")
    expect_shape(f"the numerical gradient ({what})", got, x.shape)
    expect_true(np.array_equal(x, saved),
                f"numerical_gradient changed x ({what}); after perturbing "
                f"an entry put it back (or perturb a copy).")
    if np.all(np.abs(got - expected) <= 1e-8 + rtol * np.abs(expected)):
        return
    hint = ""
    if _close(got, 2 * expected):
        hint = ("it is twice the gradient: the centred difference divides "
                "by 2 * eps.")
    elif _close(got, expected / 2):
        hint = "it is half the gradient: divide by 2 * eps, not 4 * eps."
    elif np.allclose(got, _one_sided(f, x, e), rtol=1e-9, atol=1e-12):
        hint = ("this is the one-sided difference (f(x + eps) - f(x)) / "
                "eps, whose error shrinks only like eps; use the centred "
                "(f(x + eps) - f(x - eps)) / (2 eps), error like eps**2.")
    elif np.allclose(got.ravel(), expected.ravel()[0]) and x.size > 1:
        hint = "every entry holds the same value: perturb one entry at a time."
    expect_close(f"the numerical gradient ({what})", got, expected,
                 hint=hint, atol=1e-8, rtol=rtol)


def numerical_gradient(fn: Callable, hidden: bool = False) -> None:
    """Check ``numerical_gradient(f, x, eps=1e-5) -> grad`` (centred)."""
    rng = make_rng(hidden, seed=32)

    def case(shape, kind, eps, rtol):
        c = rng.normal(size=shape)
        x = rng.normal(0, 0.7, shape)
        if kind == "exp":             # large curvature: exposes one-sided
            f = lambda v: float(np.sum(c * np.exp(1.5 * v)))   # noqa: E731
            g = lambda v: 1.5 * c * np.exp(1.5 * v)           # noqa: E731
            name = "f(x) = sum(c * exp(1.5 x))"
        elif kind == "sin":
            f = lambda v: float(np.sum(c * np.sin(v)) + np.sum(v ** 2))  # noqa
            g = lambda v: c * np.cos(v) + 2 * v               # noqa: E731
            name = "f(x) = sum(c * sin(x)) + sum(x**2)"
        else:
            f = lambda v: float(np.sum(c * np.tanh(v) ** 2))  # noqa: E731
            g = lambda v: 2 * c * np.tanh(v) * (1 - np.tanh(v) ** 2)  # noqa
            name = "f(x) = sum(c * tanh(x)**2)"
        what = (f"{name}, x of shape {shape}, "
                + ("default eps" if eps is None else f"eps = {eps:g}"))
        _check_numgrad(fn, f, g, x, eps, rtol, what)

    if not hidden:
        case((4,), "sin", None, 1e-6)
        case((3, 4), "exp", 1e-3, 1e-5)
        case((2, 3, 2), "tanh", None, 1e-6)
        passed("numerical_gradient: centred differences, right on vectors, "
               "matrices and 3-d arrays, x left unchanged")
        return
    for kind in ("sin", "exp", "tanh"):
        shape = tuple(int(v) for v in rng.integers(1, 5,
                                                   rng.integers(1, 4)))
        eps = (None, 1e-4, 1e-3)[int(rng.integers(3))]
        case(shape, kind, eps, 1e-5)
    passed("numerical_gradient works on fresh functions and shapes")


# -------------------------------------------------------- grad_check_rnn

ERROR_KEYS = ("x", "h0", "W_xh", "W_hh", "b_h")


def _true_errors(backward, x, h0, params, dh):
    """rel_error of ``backward`` against the reference, per key."""
    _, _, cache = ref_rnn_forward(x, h0, params)
    bx, b0, bg = backward(dh, cache)
    rx, r0, rg = ref_rnn_backward(dh, cache)
    out = {"x": rel_error(bx, rx), "h0": rel_error(b0, r0)}
    out.update({k: rel_error(bg[k], rg[k]) for k in KEYS})
    return out


def _check_grad_check(fn, x, h0, params, dh, label, mistake, what):
    saved = (x.copy(), h0.copy(), _copy(params), dh.copy())
    backward = broken_rnn_backward(mistake)
    out = _run(fn, "grad_check_rnn", backward, x, h0, params, dh,
               hint="grad_check_rnn(backward, x, h0, params, dh) compares "
                    "backward's gradients of L = sum(h * dh) with "
                    "numerical_gradient.")
    expect_true(isinstance(out, dict),
                f"grad_check_rnn should return a dict of errors, got "
                f"{type(out).__name__}.")
    missing = [k for k in ERROR_KEYS if k not in out]
    expect_true(not missing,
                f"grad_check_rnn's result is missing the keys {missing}; "
                f"it needs one error per gradient: {list(ERROR_KEYS)}.")
    for k in ERROR_KEYS:
        try:
            out[k] = float(out[k])
        except (TypeError, ValueError):
            raise AssertionError(
                f"grad_check_rnn['{k}'] should be one number (the max "
                f"relative error), got {type(out[k]).__name__}.") from None
    x0, h00, p0, d0 = saved
    expect_true(np.array_equal(x, x0) and np.array_equal(h0, h00)
                and _same(params, p0) and np.array_equal(dh, d0),
                "grad_check_rnn changed x, h0, params or dh; the numerical "
                "gradient must put every perturbed entry back.")
    truth = _true_errors(backward, x, h0, params, dh)
    for k in ERROR_KEYS:
        bad = truth[k] > 1e-6
        if not bad:
            expect_true(
                out[k] < 1e-6,
                f"with {label} the gradient of {k} is right, but your check "
                f"reports an error of {out[k]:.2e} for '{k}' ({what}). "
                f"Is the loss L = np.sum(h * dh) with h from rnn_forward, "
                f"and does the numerical gradient of {k} perturb {k}?")
        else:
            expect_true(
                abs(out[k] - truth[k]) <= 1e-3 + 0.05 * truth[k],
                f"with {label} the gradient of {k} is wrong by a relative "
                f"error of {truth[k]:.2e} (rel_error against the true "
                f"gradient), but your check reports {out[k]:.2e} for "
                f"'{k}' ({what}). Compare backward's gradient with the "
                f"numerical one using rel_error from helpers.reference.gradcheck.")
    return out


def _grad_check_cases(fn, rng, N, T, D, H):
    p = _params(rng, D, H)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(0, 0.5, (N, H))
    dh = rng.normal(size=(N, T, H))
    what = f"N={N}, T={T}, D={D}, H={H}"
    good = _check_grad_check(fn, x, h0, p, dh, "a correct backward", None,
                             what)
    for mistake, label in [("overwrite", "a backward that overwrites the "
                                         "weight gradients"),
                           ("dx_scale", "a backward whose dx is wrong"),
                           ("dh0_zero", "a backward whose dh0 is wrong"),
                           ("off_by_one", "a backward whose dW_hh pairs da "
                                          "with the wrong state"),
                           ("no_tanh", "a backward without tanh'")]:
        _check_grad_check(fn, x, h0, p, dh, label, mistake, what)
    return good


def grad_check_rnn(fn: Callable, hidden: bool = False) -> None:
    """Check ``grad_check_rnn(backward, x, h0, params, dh) -> errors``.

    The student's gradient check must report tiny errors for a correct
    backward pass and, for broken ones, the real error of exactly the
    gradients that are broken.
    """
    rng = make_rng(hidden, seed=33)
    if not hidden:
        good = _grad_check_cases(fn, rng, 2, 4, 3, 4)
        worst = max(good.values())
        passed(f"grad_check_rnn: errors below {worst:.0e} for a correct "
               f"backward, and it finds the broken dx, dh0, dW_hh, weight "
               f"gradients and the missing tanh'")
        return
    N, T, D, H = (int(v) for v in rng.integers(1, 5, 4))
    _grad_check_cases(fn, rng, N, T + 1, D, H)
    passed("grad_check_rnn works on fresh random shapes and values")


# -------------------------------------------------------- truncated_bptt

def _truncated_variants(x, h0, params, dh, k):
    """Outputs of the usual wrong truncated BPTTs, by message."""
    N, T, _ = x.shape
    out = {}
    # state not carried: every chunk starts again from h0
    h = np.empty_like(dh)
    grads = {n: np.zeros_like(params[n]) for n in KEYS}
    for s in range(0, T, k):
        c = slice(s, min(s + k, T))
        h[:, c], _, cache = ref_rnn_forward(x[:, c], h0, params)
        g = ref_rnn_backward(dh[:, c], cache)[2]
        for n in KEYS:
            grads[n] += g[n]
    out["the state is not carried: each chunk must start from the last "
        "state of the previous chunk (h_carry = h_last), not from h0."] = \
        (h, grads)
    # graph not cut: full BPTT
    hf, _, cache = ref_rnn_forward(x, h0, params)
    out["your gradients equal full BPTT: cut the graph at every chunk "
        "boundary, i.e. run the backward of each chunk on its own and "
        "throw its dh0 away."] = (hf, ref_rnn_backward(dh, cache)[2])
    # only the last chunk's gradients
    s = ((T - 1) // k) * k
    _, _, cache = ref_rnn_forward(x[:, s:], hf[:, s - 1] if s else h0,
                                  params)
    out["these are the gradients of the last chunk only: add up the "
        "gradients of all chunks."] = (hf, ref_rnn_backward(
            dh[:, s:], cache)[2])
    # only full chunks (the last, shorter chunk dropped)
    if T % k and T > k:
        full = (T // k) * k
        _, _, g = ref_truncated_bptt(x[:, :full], h0, params, dh[:, :full],
                                     k)
        out[f"the last, shorter chunk is missing: T = {T} is not a "
            f"multiple of k = {k}, and range(0, T, k) with a slice "
            f"[start:start + k] covers it."] = (None, g)
    return out


def _check_truncated(fn, x, h0, params, dh, k, what):
    dtype = x.dtype
    N, T, D = x.shape
    H = h0.shape[1]
    exp_h, exp_dx, exp_g = ref_truncated_bptt(x, h0, params, dh, k)
    saved = (x.copy(), h0.copy(), _copy(params), dh.copy())
    out = _run(fn, "truncated_bptt", x, h0, params, dh, k,
               hint="use ref.rnn_forward and ref.rnn_backward on each "
                    "chunk x[:, start:start + k].")
    expect_true(isinstance(out, tuple) and len(out) == 3,
                "truncated_bptt should return (h, dx, grads).")
    h, dx, grads = out
    expect_shape(f"h ({what})", h, (N, T, H), "N, T, H")
    expect_shape(f"dx ({what})", dx, (N, T, D), "N, T, D")
    _expect_grads(grads, params, f"truncated_bptt ({what})")
    hint = ""
    ok = _close(h, exp_h, dtype) and _close(dx, exp_dx, dtype) and all(
        _close(grads[n], exp_g[n], dtype) for n in KEYS)
    if not ok:
        for message, (vh, vg) in _truncated_variants(
                x, h0, params, dh, k).items():
            if (vh is None or _close(h, vh, dtype)) and all(
                    _close(grads[n], vg[n], dtype) for n in KEYS):
                hint = "Likely cause: " + message
                break
    for t in range(T):
        if not _close(h[:, t], exp_h[:, t], dtype):
            where = (f"first wrong at time step t={t}, chunk "
                     f"{t // k + 1} (chunks of k = {k}).")
            expect_close(f"h[:, {t}] ({what})", h[:, t], exp_h[:, t],
                         hint=where + (" " + hint if hint else ""),
                         **_tol(dtype))
    for n in KEYS:
        expect_close(f"grads['{n}'] ({what})", grads[n], exp_g[n],
                     hint=hint or "sum the parameter gradients of the "
                                  "chunks, each from its own backward.",
                     **_tol(dtype))
    for t in range(T):
        expect_close(f"dx[:, {t}] ({what})", dx[:, t], exp_dx[:, t],
                     hint="dx of each chunk comes from that chunk's "
                          "backward; store it at the chunk's steps.",
                     **_tol(dtype))
    x0, h00, p0, d0 = saved
    expect_true(np.array_equal(x, x0) and np.array_equal(h0, h00)
                and _same(params, p0) and np.array_equal(dh, d0),
                "truncated_bptt changed one of its inputs in place.")


def _truncated_case(fn, rng, N, T, D, H, k, dtype=np.float64):
    p = _params(rng, D, H, dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.normal(0, 0.5, (N, H)).astype(dtype)
    dh = rng.normal(size=(N, T, H)).astype(dtype)
    what = f"N={N}, T={T}, k={k}, {np.dtype(dtype).name}"
    _check_truncated(fn, x, h0, p, dh, k, what)


def truncated_bptt(fn: Callable, hidden: bool = False) -> None:
    """Check ``truncated_bptt(x, h0, params, dh, k) -> (h, dx, grads)``."""
    rng = make_rng(hidden, seed=34)
    if not hidden:
        _truncated_case(fn, rng, 2, 6, 3, 4, 2)
        _truncated_case(fn, rng, 2, 7, 3, 4, 3)
        _truncated_case(fn, rng, 3, 5, 2, 3, 1)
        _truncated_case(fn, rng, 2, 4, 3, 4, 10)
        _truncated_case(fn, rng, 2, 7, 3, 4, 3, np.float32)
        passed("truncated_bptt: state carried across chunks, graph cut at "
               "every boundary, chunk gradients summed, last short chunk "
               "included")
        return
    for dtype in (np.float64, np.float32):
        N, D, H = (int(v) for v in rng.integers(1, 6, 3))
        T = int(rng.integers(5, 15))
        k = int(rng.integers(2, T))
        _truncated_case(fn, rng, N, T, D, H, k, dtype)
    passed("truncated_bptt works on fresh random shapes, lengths and k")
