"""Checks for lesson 4, "Vanishing and exploding gradients", against
:mod:`helpers.support.experiments` (whose ``train_lag_task`` the hidden
lag check runs again) and :mod:`helpers.reference.layers`."""

from __future__ import annotations

import inspect
from functools import reduce
from typing import Callable

import numpy as np

from helpers.checks import (F32, F64, close, diagnose, expect_array,
                            expect_each, expect_number, expect_shape,
                            expect_true, likely, make_rng, passed,
                            random_arrays, run_student, snapshot)
from helpers.reference.layers import clip_grad_norm as ref_clip_grad_norm
from helpers.reference.rnn import rnn_forward
from helpers.support import experiments

__all__ = ["state_jacobian", "jacobian_norms", "clip_grad_norm",
           "first_failure", "lag_sweep"]

TOL = {"atol": 1e-9, "rtol": 1e-7}     # everything here is float64


def _sequence(rng, T, H, D=3, scale=1.0):
    """States ``hs (T+1, H)`` of a random tanh RNN and its ``W_hh``, with
    h_0 != 0 and W_hh not symmetric so that order and offset mistakes show."""
    p = experiments.random_rnn_params(D, H, scale, "random", rng)
    p.update(W_hh=p["W_hh"] + 0.3 * rng.normal(size=(H, H)),
             b_h=0.3 * rng.normal(size=H))
    x, h0 = rng.normal(size=(1, T, D)), np.tanh(rng.normal(size=(1, H)))
    return np.vstack([h0, rnn_forward(x, h0, p)[0][0]]), p["W_hh"]


def _product(factors, H):
    """``F_n @ ... @ F_1`` for ``factors = [F_1, ..., F_n]``; I if none."""
    return reduce(lambda J, F: F @ J, factors, np.eye(H))


# -------------------------------------------------------- state_jacobian
def _jacobian_mistakes(hs, W, t, k) -> list:
    H, steps = W.shape[0], range(k + 1, t + 1)

    def D(j):
        return np.diag(1 - hs[j] ** 2)

    def prod(factor=lambda j: D(j) @ W, js=steps):
        return _product([factor(j) for j in js], H)

    return [
        (prod(lambda j: W), "the tanh' factors are missing: each step "
         "contributes diag(1 - h_j**2) @ W_hh, not W_hh alone."),
        (prod(lambda j: D(j - 1) @ W), "off by one: the factor of step j "
         "uses h_j, the state step j produced (1 - h_j**2), not h_{j-1}."),
        (prod(lambda j: W @ D(j)), "diag(1 - h_j**2) multiplies from the "
         "left: it scales row i of W_hh by 1 - h_j[i]**2."),
        (prod(lambda j: D(j) @ W.T), "W_hh is transposed: dh_j/dh_{j-1}"
         "[i, m] = (1 - h_j[i]**2) W_hh[i, m]."),
        (prod(lambda j: np.diag(1 - hs[j]) @ W),
         "tanh'(a_j) = 1 - h_j**2 (squared)."),
        (prod(js=reversed(steps)), "the factors are in the wrong order: the "
         "latest step goes on the left, D_t W_hh ... D_{k+1} W_hh."),
        (prod(js=range(1, t + 1)), "the product must run over the steps "
         "j = k+1 .. t only; yours starts at step 1."),
        (prod(js=range(k, t + 1)) if k > 0 else None, "one factor too many: "
         "the product runs over j = k+1 .. t (t - k factors)."),
        (prod(js=range(k + 1, t)) if t > k else None, "one factor too few: "
         "the product runs over j = k+1 .. t (t - k factors)."),
    ]


def _check_jacobian(fn, hs, W, t, k, what):
    unchanged = snapshot(hs, W)
    J = run_student(fn, "state_jacobian", hs, W, t, k,
                    hint="hs is (T+1, H) with hs[j] = h_j; W_hh is (H, H).")
    expect_array(f"dh_t/dh_k ({what})", J, experiments.state_jacobian(
        hs, W, t, k), "H, H", hint=lambda: likely(diagnose(
            J, _jacobian_mistakes(hs, W, t, k), **TOL) or (
            "with t = k nothing happens between the two states: the "
            "Jacobian is the identity, np.eye(H)." if t == k else "")),
        **TOL)
    expect_true(unchanged(), "state_jacobian changed hs or W_hh in place.")


def state_jacobian(fn: Callable, hidden: bool = False) -> None:
    """Check ``state_jacobian(hs, W_hh, t, k) -> dh_t/dh_k (H, H)``."""
    rng = make_rng(hidden, seed=40)
    if not hidden:
        hs, W = _sequence(rng, 6, 4)
        for t, k, what in [(3, 3, "t = k"), (1, 0, "one step, t=1, k=0"),
                           (4, 3, "one step, t=4, k=3"),
                           (3, 0, "three steps, t=3, k=0"),
                           (6, 2, "four steps, t=6, k=2")]:
            _check_jacobian(fn, hs, W, t, k, what)
    for _ in range(3 if hidden else 0):
        T, H = int(rng.integers(4, 10)), int(rng.integers(2, 7))
        hs, W = _sequence(rng, T, H)
        k = int(rng.integers(0, T - 1))
        t = int(rng.integers(k + 1, T + 1))
        _check_jacobian(fn, hs, W, t, k, f"T={T}, H={H}, t={t}, k={k}")
        _check_jacobian(fn, hs, W, k, k, f"T={T}, H={H}, t=k={k}")
    passed("state_jacobian: identity for t = k, the tanh' factor of each "
           "step, the order of the product and its range all right", hidden,
           "states and weights")


# -------------------------------------------------------- jacobian_norms
def _norms_mistakes(hs, W) -> list:
    T, H = hs.shape[0] - 1, W.shape[0]
    lags = range(1, T + 1)
    Js = [experiments.state_jacobian(hs, W, T, T - l) for l in lags]

    def norms(matrices):
        return np.array([np.linalg.norm(M, 2) for M in matrices])

    return [
        (np.array([np.linalg.norm(J) for J in Js]), "this is the Frobenius "
         "norm; use the spectral norm np.linalg.norm(J, 2), J's max stretch."),
        (norms(experiments.state_jacobian(hs, W, l, 0) for l in lags),
         "these are the norms of dh_l/dh_0; the lesson fixes the end: "
         "norms[l - 1] = ||dh_T/dh_{T-l}||."),
        (np.concatenate([[1.0], norms(Js[:-1])]), "off by one lag: "
         "norms[0] is the lag l = 1, dh_T/dh_{T-1}, not the identity."),
        (norms(np.linalg.matrix_power(W, l) for l in lags),
         "the tanh' factors diag(1 - h_j**2) are missing."),
        (norms(_product([np.diag(1 - hs[j] ** 2) @ W for j in reversed(
            range(T - l + 1, T + 1))], H) for l in lags),
         "the factors are multiplied in the wrong order: going back one "
         "more lag adds a factor on the RIGHT, J_l = J_{l-1} D_j W_hh."),
    ]


def _check_norms(fn, hs, W, what):
    unchanged, T = snapshot(hs, W), hs.shape[0] - 1
    got = run_student(fn, "jacobian_norms", hs, W,
                      hint="hs is (T+1, H) with hs[0] = h_0; return T norms.")
    if isinstance(got, (list, tuple)):
        got = np.asarray(got, dtype=np.float64)
    expect_true(not isinstance(got, np.ndarray) or got.shape != (T + 1,),
                f"jacobian_norms returned {T + 1} values for T = {T} "
                f"({what}); return one per lag l = 1 .. T, not lag 0 "
                f"(the identity).")
    expect_array(f"norms ({what})", got, experiments.jacobian_norms(hs, W),
                 "T", atol=1e-9, rtol=1e-6, hint=lambda: likely(diagnose(
                     got, _norms_mistakes(hs, W), atol=1e-9, rtol=1e-7))
                 or "norms[l - 1] = np.linalg.norm(dh_T/dh_{T-l}, 2).")
    expect_true(unchanged(), "jacobian_norms changed hs or W_hh in place.")


def jacobian_norms(fn: Callable, hidden: bool = False) -> None:
    """Check ``jacobian_norms(hs, W_hh) -> (T,)`` spectral norms."""
    rng = make_rng(hidden, seed=41)
    cases = ((int(rng.integers(2, 15)), int(rng.integers(2, 8)),
              float(rng.uniform(0.5, 2.0))) for _ in range(2)) if hidden \
        else [(1, 3, 1.0), (6, 4, 1.0), (9, 5, 1.0)]
    for T, H, scale in cases:                     # one case drawn at a time
        _check_norms(fn, *_sequence(rng, T, H, scale=scale), f"T={T}, H={H}")
    passed("jacobian_norms: spectral norms of dh_T/dh_{T-l} for every lag "
           "l = 1 .. T", hidden, "states and weights")


# -------------------------------------------------------- clip_grad_norm
def _clip_mistakes(grads, max_norm, total) -> list:
    def scaled(factor):
        return {k: g * factor(g) for k, g in grads.items()}

    return [
        (scaled(lambda g: min(1.0, max_norm / max(float(np.linalg.norm(g)),
                                                  1e-12))),
         "each array is clipped on its own; scale all arrays by one factor "
         "from the GLOBAL norm, sqrt of the sum of g**2 over all arrays."),
        ({k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()},
         "np.clip caps each entry and changes the direction of the "
         "gradient; rescale all arrays by min(1, max_norm / norm)."),
        (scaled(lambda g: max_norm / total) if total > 0 else None,
         "the gradients are always rescaled to max_norm; below it leave "
         "them unchanged: factor min(1, max_norm / norm)."),
        (scaled(lambda g: max_norm / total ** 2) if total > 0 else None,
         "the scale factor is max_norm / norm, applied once."),
    ]


def _check_clip(fn, grads, max_norm, what):
    unchanged = snapshot(grads)
    expected, exp_norm = ref_clip_grad_norm(grads, max_norm)
    clipped, norm = run_student(
        fn, "clip_grad_norm", grads, max_norm, returns="(clipped, "
        "total_norm)", hint=f"case: {what}; grads is a dict of arrays.")
    expect_true(isinstance(clipped, dict) and set(clipped) == set(grads),
                f"clipped should be a dict keyed like grads: {sorted(grads)}.")
    expect_true(unchanged(), "clip_grad_norm changed grads in place; "
                "return new arrays (g * scale).")
    norm = expect_number("total_norm", norm)
    for k, g in grads.items():
        expect_shape(f"clipped['{k}'] ({what})", clipped[k], g.shape)
    expect_each([(f"clipped['{k}']", clipped[k], expected[k])
                 for k in grads], what, next(iter(grads.values())).dtype,
                lambda *_: likely(diagnose(clipped, _clip_mistakes(
                    grads, max_norm, exp_norm), atol=1e-9, rtol=1e-5)),
                "keep the dtype of the gradient.", atol=1e-12, rtol=1e-5)
    if not close(norm, exp_norm, atol=1e-12, rtol=1e-6):
        after = ref_clip_grad_norm(clipped, 1.0)[1]
        raise AssertionError(
            f"total_norm is {norm:.6g}; expected {exp_norm:.6g} ({what}). "
            + ("you returned the norm after clipping; return the norm "
               "BEFORE clipping (it tells you how large the gradient was)."
               if close(norm, after, atol=1e-9, rtol=1e-6) and not
               close(after, exp_norm, atol=1e-9, rtol=1e-6) else
               "total_norm = sqrt(sum over all arrays of sum(g**2))."))


def clip_grad_norm(fn: Callable, hidden: bool = False) -> None:
    """Check ``clip_grad_norm(grads, max_norm) -> (clipped, total_norm)``."""
    rng = make_rng(hidden, seed=42)
    for dtype, (H, D, K) in [(F64, (4, 3, 2)), (F32, (3, 5, 2))]:
        if hidden:
            H, D, K = (int(v) for v in rng.integers(1, 8, 3))
        what = np.dtype(dtype).name
        grads = random_arrays(rng, {"W_xh": (H, D), "W_hh": (H, H),
                                    "b_h": (H,), "W_hy": (K, H)}, dtype)
        total = ref_clip_grad_norm(grads, 1.0)[1]      # the global norm
        for g, max_norm, case in [
                (grads, total / 3, "norm above max_norm"),
                (grads, total * 2, "norm below max_norm"),
                # one huge array: per-array clipping differs
                ({k: v * (50 if k == "W_hh" else 0.01)
                  for k, v in grads.items()}, 1.0, "one exploding array"),
                ({k: np.zeros_like(v) for k, v in grads.items()}, 1.0,
                 "all gradients zero (guard the division: norm + 1e-6)")]:
            _check_clip(fn, g, max_norm, f"{case}, {what}")
    passed("clip_grad_norm: global norm, scale min(1, max_norm / norm), "
           "gradients below the limit untouched, zeros safe, dtype kept",
           hidden, "gradients")


# --------------------------------------------------------- first_failure
def _check_first_failure(fn, scores, threshold, what):
    unchanged = snapshot(scores)
    failing = [L for L, s in scores.items() if not s >= threshold]
    expected = min(failing) if failing else None
    got = run_student(fn, "first_failure", scores, threshold,
                      hint="scores is a dict {L: score}.")
    expect_true(unchanged(), "first_failure changed the scores dict.")
    if isinstance(got, (np.integer, float)) and float(got) == int(got):
        got = int(got)
    if got == expected and (expected is None or isinstance(got, int)):
        return
    listing = ", ".join(f"{L}: {s:.2f}" for L, s in scores.items())
    hint = ("no lag fails here, so return None." if expected is None else
            f"L = {expected} fails (score below {threshold})." if got is None
            else f"L = {got} has score {scores[got]:.2f} >= {threshold}: it "
            f"learned." if got in scores and scores[got] >= threshold else
            f"L = {got} fails, but a smaller lag fails too; the dict is not "
            f"sorted, so look at every entry." if got in scores else "")
    if expected is not None and np.isnan(scores[expected]):
        hint += (" A score of nan (a diverged run) is a failure: test "
                 "'not score >= threshold'.")
    raise AssertionError(
        f"first_failure returned {got!r}; expected {expected!r} for "
        f"scores {{{listing}}} and threshold {threshold} ({what}). " + hint)


def first_failure(fn: Callable, hidden: bool = False) -> None:
    """Check ``first_failure(scores, threshold) -> smallest failing L``."""
    rng = make_rng(hidden, seed=43)
    if not hidden:
        for scores, what in [
                ({2: 1.0, 4: 0.98, 8: 0.95, 16: 0.1, 32: 0.0}, "sorted"),
                ({16: 0.2, 4: 0.97, 8: 0.3, 2: 0.99}, "keys not sorted"),
                ({2: 0.99, 4: 0.95}, "nothing fails"),
                ({3: 0.99, 5: 0.5, 7: 0.93, 9: 0.1}, "not monotone"),
                ({2: 0.9, 6: 0.89}, "a score equal to the threshold counts "
                                    "as learned"),
                ({2: 0.99, 6: float("nan"), 9: 0.1}, "a diverged run (nan) "
                                                     "fails")]:
            _check_first_failure(fn, scores, 0.9, what)
    for _ in range(6 if hidden else 0):
        lags = rng.choice(np.arange(1, 60), size=int(rng.integers(2, 9)),
                          replace=False)
        scores = {int(L): float(rng.uniform(-0.2, 1.0)) for L in lags}
        if rng.random() < 0.3:
            scores = {L: min(s + 1.0, 1.0) for L, s in scores.items()}
        _check_first_failure(fn, scores, float(rng.choice([0.5, 0.8, 0.9])),
                             "random scores")
    passed("first_failure: smallest failing lag, in any key order, None "
           "when all learned, nan counts as a failure", hidden, "sweeps")


# ------------------------------------------------------------ lag_sweep
_CONFIG_LIMITS = {"steps": 3000, "N": 1024, "H": 256, "n_test": 10000,
                  "L": 500}
MIN_SEEDS = 3


def _run_fields(L, run) -> tuple[float, dict]:
    """``(r2, config)`` of one run of the sweep, read by attribute only:
    the runs may be proxies of objects in the notebook's kernel."""
    what = (f"each run in sweep[{L!r}] should be a run returned by "
            f"experiments.train_lag_task(L, seed=...)")
    try:
        run_L, r2, config = run.L, float(run.r2), run.config
    except Exception:                          # noqa: BLE001
        raise AssertionError(what + ".") from None
    expect_true(isinstance(config, dict), what + " (its config is missing).")
    expect_true(isinstance(L, (int, np.integer)) and not isinstance(
        L, bool) and run_L == L and config.get("L") == L,
        f"sweep[{L!r}] holds a run with L = {run_L!r}; store each lag's "
        f"runs under that lag (an int).")
    allowed = set(inspect.signature(experiments.train_lag_task).parameters)
    extra = sorted(set(config) - (allowed - {"progress"}))
    expect_true(not extra, f"sweep[{L}] has a run with unknown settings "
                f"{extra}.")
    for key, top in _CONFIG_LIMITS.items():
        value = config.get(key)
        expect_true(isinstance(value, (int, np.integer)) and 0 < value <= top,
                    f"a run in sweep[{L}] has config[{key!r}] = {value!r}, "
                    f"outside [1, {top}].")
    return r2, config


def _median(scores: list) -> float:
    """Median with nan (a diverged run) counted as the lowest score."""
    return float(np.median([s if s == s else -np.inf for s in scores]))


def lag_sweep(sweep, smallest_failing_lag, hidden: bool = False) -> None:
    """Check ``sweep``, at least four lags each with at least
    :data:`MIN_SEEDS` runs of ``experiments.train_lag_task`` (own seeds,
    the same other settings), some learned (median score at least
    ``experiments.LEARNED_R2``) and some failed, and the claim
    ``smallest_failing_lag``, the smallest failed lag. Hidden, the median
    runs of that lag and of the largest learned lag below it train again."""
    threshold = experiments.LEARNED_R2
    expect_true(isinstance(sweep, dict), f"sweep should be a dict {{lag: "
                f"[runs]}}, got {type(sweep).__name__}.")
    expect_true(len(sweep) > 0, "the sweep is not implemented yet: sweep is "
                "empty. For each lag, train one run per seed and store the "
                "list as sweep[lag] = [run, run, run].")
    fields = {}
    for L, runs in sweep.items():
        expect_true(isinstance(runs, (list, tuple)) and len(runs) >=
                    MIN_SEEDS, f"sweep[{L!r}] should be a list of at least "
                    f"{MIN_SEEDS} runs, one per seed: one run per lag is "
                    f"noise near the border.")
        fields[L] = [_run_fields(L, run) for run in runs]
    median = {L: _median([r2 for r2, _ in f]) for L, f in fields.items()}
    expect_true(len(sweep) >= 4, f"the sweep has {len(sweep)} lags; try at "
                f"least 4 to see where training breaks.")
    first = next(iter(fields))
    base = {k: v for k, v in fields[first][0][1].items()
            if k not in ("L", "seed")}
    for L, f in fields.items():
        seeds = [config.get("seed") for _, config in f]
        expect_true(len(set(seeds)) == len(seeds),
                    f"the runs of sweep[{L}] share seeds {seeds}; each run "
                    f"of a lag needs its own seed.")
        for _, config in f:
            diff = sorted(k for k in set(base) | set(config) - {"L", "seed"}
                          if base.get(k) != config.get(k))
            expect_true(not diff, f"a run of sweep[{L}] was trained with "
                        f"different settings than sweep[{first}] ("
                        f"{', '.join(diff)}); for a fair comparison only "
                        "L and the seed may differ.")
    expect_true(base.get("steps", 0) >= 100, f"the runs train for "
                f"{base.get('steps')} steps; short lags need at least 100.")
    learned = sorted(L for L in sweep if median[L] >= threshold)
    failed = sorted(L for L in sweep if not median[L] >= threshold)
    claim = smallest_failing_lag
    for ok, message in [
            (learned, f"no lag in the sweep was learned (median test R^2 "
                      f">= {threshold}); include short lags such as 2 or 4."),
            (failed, "every lag in the sweep was learned; include longer "
                     "lags (e.g. 20 or 30) to find where training breaks."),
            (claim is not None, f"smallest_failing_lag is None, but some "
                                f"lags failed: {failed}."),
            (isinstance(claim, (int, np.integer)) and claim in sweep,
             f"smallest_failing_lag = {claim!r} is not a lag of your "
             f"sweep {sorted(sweep)}.")]:
        expect_true(bool(ok), message)
    expect_true(not median[claim] >= threshold, f"at L = {claim} the median "
                f"over your seeds learned (median R^2 = {median[claim]:.3f} "
                f">= {threshold}); it did not fail.")
    expect_true(claim == failed[0], f"L = {failed[0]} failed too (median R^2 "
                f"= {median[failed[0]]:.3f}) and is smaller than {claim}; "
                f"compute the claim with first_failure on the medians.")
    if not hidden:
        return passed(f"over {min(map(len, fields.values()))}+ seeds per "
                      f"lag the sweep learned at L = {learned} and failed at "
                      f"L = {failed}; the smallest failing lag is {claim}")
    for L in [claim] + [L for L in learned if L < claim][-1:]:
        order = np.argsort([s if s == s else -np.inf for s, _ in fields[L]])
        recorded, config = fields[L][int(order[len(order) // 2])]
        again = experiments.train_lag_task(**config).r2
        expect_true((again >= threshold) == (recorded >= threshold) and (
            (not np.isfinite(recorded) and not np.isfinite(again))
            or abs(again - recorded) <= 0.02),
            f"training again at L = {L}, seed {config.get('seed')}, with "
            f"the recorded settings gives R^2 = {again:.3f}, but the sweep "
            f"says {recorded:.3f}: the sweep must hold the runs as trained.")
    passed("a fresh training run confirms the recorded results around the "
           "smallest failing lag")
