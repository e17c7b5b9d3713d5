"""The graded checks of lessons 3 and 4 accept right answers and name the
usual wrong ones.

Every check runs on the reference (visible and hidden) and must pass;
then on typical wrong answers, each of which must fail with the message
that points at its bug; and on a "hard-coded" answer that replays the
outputs recorded on the visible inputs, which must pass the visible
check and fail the hidden one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers.support import experiments
from helpers.reference import layers
from helpers.reference import rnn as ref
from helpers.checks import bptt, gradients
from helpers.checks.bptt import MISTAKES, broken_rnn_backward
from helpers.reference.gradcheck import rel_error


def fails(check, fn, *needles, hidden=False):
    """Run ``check(fn)``; it must fail, with every needle in the message."""
    with pytest.raises(AssertionError) as info:
        check(fn, hidden=hidden)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, f"{needle!r} not in: {msg}"
    return msg


def _key(value):
    if isinstance(value, np.ndarray):
        return ("a", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return ("d", tuple(sorted((k, _key(v)) for k, v in value.items())))
    if isinstance(value, (tuple, list)):
        return ("t", tuple(_key(v) for v in value))
    if isinstance(value, float) and np.isnan(value):
        return ("nan",)
    return value


def replay_of(reference, check):
    """An answer that only knows the outputs of the visible inputs."""
    table = {}

    def recording(*args):
        out = reference(*args)
        table[_key(args)] = out
        return out

    check(recording)

    def replay(*args):
        try:
            return table[_key(args)]
        except KeyError:
            raise ValueError("input not seen before") from None

    return replay


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ------------------------------------------------------------ lesson 3

def ref_step_backward(dh_next, cache):
    return ref.rnn_step_backward(dh_next, cache)


def ref_backward(dh, cache, dh_last=None):
    return ref.rnn_backward(dh, cache, dh_last)


def ref_numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + eps
        fp = f(x)
        x[ix] = old - eps
        fm = f(x)
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * eps)
    return grad


def make_grad_check(numgrad=ref_numerical_gradient, loss_kind="h*dh",
                    swap=False):
    def grad_check_rnn(backward, x, h0, params, dh, eps=1e-5):
        def loss(x_, h0_, p_):
            h, _, _ = ref.rnn_forward(x_, h0_, p_)
            return np.sum(h * dh) if loss_kind == "h*dh" else np.sum(h)

        _, _, cache = ref.rnn_forward(x, h0, params)
        dx, dh0, grads = backward(dh, cache)
        errors = {
            "x": rel_error(dx, numgrad(lambda v: loss(v, h0, params), x,
                                       eps)),
            "h0": rel_error(dh0, numgrad(lambda v: loss(x, v, params), h0,
                                         eps)),
        }
        for k in ("W_xh", "W_hh", "b_h"):
            num = numgrad(lambda v: loss(x, h0, {**params, k: v}),
                          params[k], eps)
            errors[k] = rel_error(grads[k], num)
        if swap:
            errors["W_xh"], errors["W_hh"] = errors["W_hh"], errors["W_xh"]
        return errors
    return grad_check_rnn


def ref_truncated(x, h0, params, dh, k, forward, backward):
    assert (forward, backward) == (ref.rnn_forward, ref.rnn_backward)
    return ref.rnn_truncated_bptt(x, h0, params, dh, k)


@pytest.mark.parametrize("check, fn", [
    (bptt.rnn_step_backward, ref_step_backward),
    (bptt.rnn_backward, ref_backward),
    (bptt.numerical_gradient, ref_numerical_gradient),
    (bptt.grad_check_rnn, make_grad_check()),
    (bptt.truncated_bptt, ref_truncated),
])
def test_lesson3_reference_passes(check, fn, capsys):
    check(fn)
    check(fn, hidden=True)
    check(fn, hidden=True)
    assert capsys.readouterr().out.count("\u2713") == 3


@pytest.mark.parametrize("check, name", [
    (bptt.rnn_step_backward, "rnn_step_backward"),
    (bptt.rnn_backward, "rnn_backward"),
    (bptt.numerical_gradient, "numerical_gradient"),
    (bptt.grad_check_rnn, "grad_check_rnn"),
    (bptt.truncated_bptt, "truncated_bptt"),
    (gradients.state_jacobian, "state_jacobian"),
    (gradients.jacobian_norms, "jacobian_norms"),
    (gradients.clip_grad_norm, "clip_grad_norm"),
    (gradients.first_failure, "first_failure"),
])
def test_blank_answer_says_not_implemented(check, name):
    fails(check, not_implemented, f"{name} is not implemented yet")


# rnn_step_backward: each variant has one classic bug.

def _step(mistake):
    def fn(dh_next, cache):
        x, h_prev, h_next, p = cache
        da = dh_next * (1 - h_next ** 2)
        if mistake == "no_tanh":
            da = dh_next
        dx = da @ p["W_xh"]
        dh_prev = da @ (p["W_hh"].T if mistake == "W_hh.T" else p["W_hh"])
        grads = {"W_xh": da.T @ x, "W_hh": da.T @ h_prev,
                 "b_h": da.sum(axis=0)}
        if mistake == "dW_hh.T":
            grads["W_hh"] = h_prev.T @ da
        if mistake == "h_next":
            grads["W_hh"] = da.T @ h_next
        if mistake == "mean":
            grads["b_h"] = da.mean(axis=0)
        if mistake == "x.T @ da":
            grads["W_xh"] = x.T @ da
        if mistake == "float64":
            return (dx.astype(np.float64), dh_prev.astype(np.float64),
                    {k: v.astype(np.float64) for k, v in grads.items()})
        if mistake == "in_place":
            dh_next *= 1.0 - h_next ** 2
        return dx, dh_prev, grads
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("no_tanh", ["dx", "tanh' factor is missing"]),
    ("W_hh.T", ["dh_prev", "W_hh is used transposed"]),
    ("dW_hh.T", ["grads['W_hh']", "dW_hh is transposed"]),
    ("h_next", ["grads['W_hh']", "not h_next"]),
    ("mean", ["grads['b_h']", "sum over the batch"]),
    ("x.T @ da", ["grads['W_xh'] has shape (4, 5)", "da.T @ x"]),
    ("float64", ["dtype", "float32"]),
    ("in_place", ["changed its inputs"]),
])
def test_rnn_step_backward_names_the_mistake(mistake, needles):
    fails(bptt.rnn_step_backward, _step(mistake), *needles)


@pytest.mark.parametrize("mistake", [
    "no_tanh", "no_carry", "overwrite", "last_only", "mean_time",
    "off_by_one", "wrap", "no_dh_last", "forward_order"])
def test_rnn_backward_names_the_mistake(mistake):
    msg = fails(bptt.rnn_backward, broken_rnn_backward(mistake),
                MISTAKES[mistake])
    assert "Likely cause" in msg


def test_rnn_backward_wrap_is_not_blamed_on_the_sum_over_steps():
    """h[:, t-1] at t = 0 wraps to the last state; the message says so
    and does not point at the sum of the shared weights' gradients."""
    msg = fails(bptt.rnn_backward, broken_rnn_backward("wrap"),
                "wraps around", "h0 if t == 0")
    assert "sum of the step gradients" not in msg


def test_rnn_backward_reports_first_wrong_step():
    msg = fails(bptt.rnn_backward, broken_rnn_backward("no_carry"),
                "first wrong at time step t=3")
    assert "a loss at the last step only" in msg


def test_rnn_backward_rejects_in_place_update_of_dh():
    def fn(dh, cache, dh_last=None):
        x, h0, h, p = cache
        carry = np.zeros_like(h0) if dh_last is None else dh_last
        for t in reversed(range(h.shape[1])):
            dh[:, t] += carry                    # modifies the input
            h_prev = h0 if t == 0 else h[:, t - 1]
            _, carry, _ = ref.rnn_step_backward(
                dh[:, t], (x[:, t], h_prev, h[:, t], p))
        return ref.rnn_backward(dh * 0 + dh, cache)
    fails(bptt.rnn_backward, fn)


def test_rnn_backward_float64_only_answer_fails():
    def fn(dh, cache, dh_last=None):
        out = ref.rnn_backward(dh.astype(np.float64), tuple(
            c.astype(np.float64) if isinstance(c, np.ndarray) else
            {k: v.astype(np.float64) for k, v in c.items()}
            for c in cache), None if dh_last is None
            else dh_last.astype(np.float64))
        return out
    fails(bptt.rnn_backward, fn, "dtype")


def _numgrad(mistake):
    def fn(f, x, eps=1e-5):
        if mistake == "one_sided":
            g = np.zeros_like(x)
            f0 = f(x)
            for ix in np.ndindex(x.shape):
                old = x[ix]
                x[ix] = old + eps
                g[ix] = (f(x) - f0) / eps
                x[ix] = old
            return g
        if mistake == "copy_unused":      # perturbs a copy, evaluates x
            g = np.zeros_like(x)
            for ix in np.ndindex(x.shape):
                xp, xm = x.copy(), x.copy()
                xp[ix] += eps
                xm[ix] -= eps
                g[ix] = (f(x) - f(x)) / (2 * eps)
            return g
        if mistake == "no_restore":
            g = np.zeros_like(x)
            for ix in np.ndindex(x.shape):
                old = x[ix]
                x[ix] = old + eps
                fp = f(x)
                x[ix] = old - eps
                g[ix] = (fp - f(x)) / (2 * eps)
            return g
        g = ref_numerical_gradient(f, x, eps)
        if mistake == "factor2":
            return 2 * g
        if mistake == "flat":
            return g.ravel()
        return g
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("one_sided", ["one-sided difference", "default eps"]),
    ("no_restore", ["changed x"]),
    ("factor2", ["twice the gradient", "2 * eps"]),
    ("copy_unused", ["every entry is 0", "f never saw the perturbed x"]),
    ("flat", ["shape (4,)"]),
])
def test_numerical_gradient_names_the_mistake(mistake, needles):
    if mistake == "flat":          # the first case is 1-d: flat is right
        needles = ["returned shape (12,)", "shaped like x"]
    fails(bptt.numerical_gradient, _numgrad(mistake), *needles)


def test_grad_check_rnn_with_one_sided_differences_fails():
    fn = make_grad_check(numgrad=_numgrad("one_sided"))
    fails(bptt.grad_check_rnn, fn, "with a correct backward",
          "your check reports an error")


def test_grad_check_rnn_with_the_wrong_loss_fails():
    fails(bptt.grad_check_rnn, make_grad_check(loss_kind="sum h"),
          "np.sum(h * dh)")


def test_grad_check_rnn_with_swapped_keys_fails():
    fails(bptt.grad_check_rnn, make_grad_check(swap=True),
          "the gradient of W_xh is right, but your check reports")


def test_grad_check_rnn_hard_coded_errors_fail():
    def fn(backward, x, h0, params, dh, eps=1e-5):
        return {"x": 0.0, "h0": 0.0, "W_xh": 0.0, "W_hh": 0.0, "b_h": 0.0}
    fails(bptt.grad_check_rnn, fn, "is wrong by a relative error")


def test_grad_check_rnn_missing_key_fails():
    def fn(*args, **kwargs):
        out = make_grad_check()(*args, **kwargs)
        del out["h0"]
        return out
    fails(bptt.grad_check_rnn, fn, "missing the keys ['h0']")


def _truncated(mistake):
    def fn(x, h0, params, dh, k, forward, backward):
        N, T, _ = x.shape
        if mistake == "no_cut":
            h, _, cache = forward(x, h0, params)
            dx, _, g = backward(dh, cache)
            return h, dx, g
        h = np.zeros_like(dh)
        dx = np.zeros_like(x)
        g = {n: np.zeros_like(params[n]) for n in ("W_xh", "W_hh", "b_h")}
        carry = h0
        stop = (T // k) * k if mistake == "drop_last" else T
        for s in range(0, stop, k):
            c = slice(s, min(s + k, T))
            start = h0 if mistake == "no_carry" else carry
            h[:, c], carry, cache = forward(x[:, c], start, params)
            dx[:, c], _, cg = backward(dh[:, c], cache)
            for n in g:
                g[n] = cg[n] if mistake == "last_only" else g[n] + cg[n]
        return h, dx, g
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("no_carry", ["state is not carried", "first wrong at time step t=2"]),
    ("no_cut", ["equal full BPTT"]),
    ("last_only", ["last chunk only"]),
    ("drop_last", ["last, shorter chunk is missing"]),
])
def test_truncated_bptt_names_the_mistake(mistake, needles):
    fails(bptt.truncated_bptt, _truncated(mistake), *needles)


@pytest.mark.parametrize("check, reference", [
    (bptt.rnn_step_backward, ref_step_backward),
    (bptt.rnn_backward, ref_backward),
    (bptt.truncated_bptt, ref_truncated),
])
def test_lesson3_hard_coded_answers_fail_hidden(check, reference):
    replay = replay_of(reference, check)
    check(replay)                                   # visible: passes
    fails(check, replay, "raised ValueError", hidden=True)


def test_broken_backward_none_is_correct():
    rng = np.random.default_rng(0)
    p = ref.init_rnn_params(3, 4, rng)
    x, dh = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 4))
    dh_last = rng.normal(size=(2, 4))
    _, _, cache = ref.rnn_forward(x, rng.normal(size=(2, 4)), p)
    got = broken_rnn_backward(None)(dh, cache, dh_last)
    want = ref.rnn_backward(dh, cache, dh_last)
    assert np.allclose(got[0], want[0]) and np.allclose(got[1], want[1])
    assert all(np.allclose(got[2][k], want[2][k]) for k in want[2])


# ------------------------------------------------------------ lesson 4

def ref_first_failure(scores, threshold):
    failed = [L for L, s in scores.items() if not s >= threshold]
    return min(failed) if failed else None


@pytest.mark.parametrize("check, fn", [
    (gradients.state_jacobian, experiments.state_jacobian),
    (gradients.jacobian_norms, experiments.jacobian_norms),
    (gradients.clip_grad_norm, layers.clip_grad_norm),
    (gradients.first_failure, ref_first_failure),
])
def test_lesson4_reference_passes(check, fn, capsys):
    check(fn)
    check(fn, hidden=True)
    check(fn, hidden=True)
    assert capsys.readouterr().out.count("\u2713") == 3


def _jacobian(mistake):
    def fn(hs, W, t, k):
        H = W.shape[0]
        if mistake == "zeros" and t == k:
            return np.zeros((H, H))
        J = np.eye(H)
        steps = list(range(1 if mistake == "from1" else k + 1, t + 1))
        if mistake == "reversed":
            steps = steps[::-1]
        for j in steps:
            d = 1 - hs[j - 1 if mistake == "off" else j] ** 2
            F = {"no_tanh": W, "right": W * d[None, :]}.get(
                mistake, d[:, None] * W)
            J = F @ J
        return J
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("zeros", ["t = k", "identity"]),
    ("no_tanh", ["one step", "tanh' factors are missing"]),
    ("off", ["off by one", "h_j"]),
    ("right", ["multiplies from the left"]),
    ("reversed", ["three steps", "wrong order"]),
    ("from1", ["t = k", "starts at step 1"]),
])
def test_state_jacobian_names_the_mistake(mistake, needles):
    fails(gradients.state_jacobian, _jacobian(mistake), *needles)


def _norms(mistake):
    def fn(hs, W):
        T = hs.shape[0] - 1
        Js = [experiments.state_jacobian(hs, W, T, T - l)
              for l in range(1, T + 1)]
        if mistake == "fro":
            return np.array([np.linalg.norm(J) for J in Js])
        if mistake == "from_start":
            return np.array([np.linalg.norm(
                experiments.state_jacobian(hs, W, l, 0), 2)
                for l in range(1, T + 1)])
        if mistake == "lag0":
            return np.array([1.0] + [np.linalg.norm(J, 2) for J in Js])
        if mistake == "shift":
            return np.array([1.0] + [np.linalg.norm(J, 2)
                                     for J in Js[:-1]])
        if mistake == "no_tanh":
            return np.array([np.linalg.norm(np.linalg.matrix_power(W, l), 2)
                             for l in range(1, T + 1)])
        if mistake == "left":                 # accumulates on the wrong side
            J, out = np.eye(W.shape[0]), []
            for l in range(1, T + 1):
                J = ((1 - hs[T - l + 1] ** 2)[:, None] * W) @ J
                out.append(np.linalg.norm(J, 2))
            return np.array(out)
        return None
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("fro", ["Frobenius"]),
    ("from_start", ["dh_l/dh_0"]),
    ("lag0", ["returned 2 values for T = 1"]),
    ("shift", ["off by one lag"]),
    ("no_tanh", ["tanh' factors"]),
    ("left", ["wrong order", "RIGHT"]),
])
def test_jacobian_norms_names_the_mistake(mistake, needles):
    fails(gradients.jacobian_norms, _norms(mistake), *needles)


def _clip(mistake):
    def fn(grads, max_norm):
        total = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2)
                                  for g in grads.values())))
        if mistake == "per_array":
            return ({k: g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
                     for k, g in grads.items()}, total)
        if mistake == "np.clip":
            return ({k: np.clip(g, -max_norm, max_norm)
                     for k, g in grads.items()}, total)
        if mistake == "always":
            return ({k: g * g.dtype.type(max_norm / (total + 1e-6))
                     for k, g in grads.items()}, total)
        scale = min(1.0, max_norm / (total + 1e-6))
        clipped = {k: g * g.dtype.type(scale) for k, g in grads.items()}
        if mistake == "after":
            return clipped, min(total, max_norm)
        if mistake == "in_place":
            for g in grads.values():
                g *= g.dtype.type(scale)
            return grads, total
        if mistake == "no_eps":
            s = min(1.0, max_norm / total)
            return {k: g * g.dtype.type(s) for k, g in grads.items()}, total
        if mistake == "float64":
            return {k: g.astype(np.float64) * scale
                    for k, g in grads.items()}, total
        return clipped, total
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("per_array", ["GLOBAL norm"]),
    ("np.clip", ["np.clip caps each entry"]),
    ("always", ["norm below max_norm", "always rescaled"]),
    ("after", ["norm after clipping"]),
    ("in_place", ["in place"]),
    ("no_eps", ["all gradients zero", "ZeroDivisionError"]),
    ("float64", ["dtype", "float32"]),
])
def test_clip_grad_norm_names_the_mistake(mistake, needles):
    fails(gradients.clip_grad_norm, _clip(mistake), *needles)


def _first(mistake):
    def fn(scores, threshold):
        if mistake == "dict_order":
            return next((L for L, s in scores.items() if s < threshold),
                        None)
        if mistake == "nan_ok":
            failed = [L for L, s in scores.items() if s < threshold]
            return min(failed) if failed else None
        if mistake == "le":
            failed = [L for L, s in scores.items() if s <= threshold]
            return min(failed) if failed else None
        if mistake == "largest_learned":
            ok = [L for L, s in scores.items() if s >= threshold]
            return max(ok) if ok else None
        return 16
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("dict_order", ["keys not sorted", "a smaller lag fails too"]),
    ("nan_ok", ["nan", "a diverged run"]),
    ("le", ["counts as learned"]),
    ("largest_learned", ["it learned"]),
    ("constant", ["returned 16", "a smaller lag fails too"]),
])
def test_first_failure_names_the_mistake(mistake, needles):
    fails(gradients.first_failure, _first(mistake), *needles)


@pytest.mark.parametrize("check, reference", [
    (gradients.state_jacobian, experiments.state_jacobian),
    (gradients.jacobian_norms, experiments.jacobian_norms),
    (gradients.clip_grad_norm, layers.clip_grad_norm),
    (gradients.first_failure, ref_first_failure),
])
def test_lesson4_hard_coded_answers_fail_hidden(check, reference):
    replay = replay_of(reference, check)
    check(replay)
    fails(check, replay, "raised ValueError", hidden=True)


# The lag sweep: a cheap sweep (100 steps, small net), three seeds per
# lag, trained once.

CHEAP = dict(steps=100, N=32, H=16, n_test=200)
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def sweep():
    return {L: [experiments.train_lag_task(L, seed=s, **CHEAP)
                for s in SEEDS] for L in (1, 2, 15, 25)}


def medians(sweep):
    return {L: float(np.median([r.r2 for r in runs]))
            for L, runs in sweep.items()}


def test_cheap_sweep_learns_short_and_fails_long(sweep):
    assert medians(sweep)[1] >= experiments.LEARNED_R2
    assert medians(sweep)[25] < experiments.LEARNED_R2
    # every seed agrees far from the border
    assert all(r.r2 >= experiments.LEARNED_R2 for r in sweep[1])
    assert all(r.r2 < experiments.LEARNED_R2 for r in sweep[25])


def test_lag_sweep_accepts_the_measured_claim(sweep, capsys):
    claim = ref_first_failure(medians(sweep), experiments.LEARNED_R2)
    gradients.lag_sweep(sweep, claim)
    gradients.lag_sweep(sweep, claim, hidden=True)
    assert "fresh training run confirms" in capsys.readouterr().out


def test_lag_sweep_empty_is_not_implemented():
    with pytest.raises(AssertionError, match="not implemented yet"):
        gradients.lag_sweep({}, None)


def test_lag_sweep_rejects_a_wrong_claim(sweep):
    scores = medians(sweep)
    failed = sorted(L for L, s in scores.items()
                    if s < experiments.LEARNED_R2)
    learned = sorted(set(scores) - set(failed))
    if len(failed) > 1:
        with pytest.raises(AssertionError, match="failed too"):
            gradients.lag_sweep(sweep, failed[1])
    with pytest.raises(AssertionError, match="it did not fail"):
        gradients.lag_sweep(sweep, learned[0])
    with pytest.raises(AssertionError, match="not a lag of your sweep"):
        gradients.lag_sweep(sweep, 7)


def test_lag_sweep_judges_a_lag_by_its_median(sweep):
    """One lucky or unlucky seed does not decide a lag."""
    mixed = dict(sweep)
    good = dataclasses.replace(sweep[25][0], r2=0.99)
    mixed[25] = [good] + sweep[25][1:]              # one seed of three
    gradients.lag_sweep(mixed, ref_first_failure(medians(mixed), 0.9))
    assert ref_first_failure(medians(mixed), 0.9) == \
        ref_first_failure(medians(sweep), 0.9)


def test_lag_sweep_needs_several_seeds_per_lag(sweep):
    one = {L: runs[:1] for L, runs in sweep.items()}
    with pytest.raises(AssertionError, match="at least 3 runs, one per "
                                             "seed"):
        gradients.lag_sweep(one, 15)
    same = dict(sweep)
    same[2] = [sweep[2][0]] * 3
    with pytest.raises(AssertionError, match="share seeds"):
        gradients.lag_sweep(same, 15)


def test_lag_sweep_needs_the_same_settings(sweep):
    other = dict(sweep)
    other[2] = sweep[2][:2] + [experiments.train_lag_task(
        2, seed=2, **{**CHEAP, "lr": 0.05})]
    with pytest.raises(AssertionError, match="different settings"):
        gradients.lag_sweep(other, 15)


def test_lag_sweep_needs_four_lags(sweep):
    few = {L: sweep[L] for L in (1, 2, 25)}
    with pytest.raises(AssertionError, match="at least 4"):
        gradients.lag_sweep(few, 25)


def test_lag_sweep_rejects_a_non_run():
    with pytest.raises(AssertionError, match="should be a run returned"):
        gradients.lag_sweep({2: [0.99] * 3, 4: [0.9] * 3, 8: [0.1] * 3,
                             16: [0.0] * 3}, 8)


def test_lag_sweep_hidden_catches_made_up_scores(sweep):
    """Scores edited after training pass the visible check only."""
    fake = dict(sweep)
    fake[15] = [dataclasses.replace(r, r2=0.95) for r in sweep[15]]
    fake[25] = [dataclasses.replace(r, r2=0.10) for r in sweep[25]]
    gradients.lag_sweep(fake, 25)
    with pytest.raises(AssertionError, match="as trained"):
        gradients.lag_sweep(fake, 25, hidden=True)


def test_lag_sweep_rejects_runaway_settings(sweep):
    big = dict(sweep)
    big[2] = [dataclasses.replace(
        sweep[2][0], config={**sweep[2][0].config, "steps": 10 ** 6})
    ] + sweep[2][1:]
    with pytest.raises(AssertionError, match="outside"):
        gradients.lag_sweep(big, 15)


# ---------------------------------------------------- embedding_backward
def ref_embedding_backward(dout, cache):
    return layers.embedding_backward(dout, cache)


def test_embedding_backward_reference_passes(capsys):
    bptt.embedding_backward(ref_embedding_backward)
    bptt.embedding_backward(ref_embedding_backward, hidden=True)
    bptt.embedding_backward(ref_embedding_backward, hidden=True)
    assert capsys.readouterr().out.count("\u2713") == 3


def _embedding(mistake):
    def fn(dout, cache):
        x, V = cache
        dW = np.zeros((V, dout.shape[2]), dout.dtype)
        if mistake == "fancy_add":
            dW[x] += dout                   # one write per repeated index
        elif mistake == "mean":
            np.add.at(dW, x, dout)
            dW /= np.maximum(np.bincount(x.ravel(), minlength=V), 1)[:, None]
        elif mistake == "float64":
            np.add.at(dW, x, dout)
            dW = dW.astype(np.float64)
        return {"W_e": dW}
    return fn


@pytest.mark.parametrize("mistake, needles", [
    ("fancy_add", ["dW_e", "occurs", "np.add.at"]),
    ("mean", ["averaged the uses"]),
    ("float64", ["dtype float64", "float32"]),
])
def test_embedding_backward_names_the_mistake(mistake, needles):
    fails(bptt.embedding_backward, _embedding(mistake), *needles)


def test_embedding_backward_blank_and_hard_coded_fail():
    fails(bptt.embedding_backward, not_implemented,
          "embedding_backward is not implemented yet")
    replay = replay_of(ref_embedding_backward, bptt.embedding_backward)
    bptt.embedding_backward(replay)
    fails(bptt.embedding_backward, replay, "raised ValueError", hidden=True)


@pytest.mark.slow
def test_lesson4_sweep_verdict_is_the_same_with_other_seeds():
    """The lesson's claim, the smallest lag whose median over three seeds
    fails, does not depend on which three seeds: seeds 0-2 and 3-5 agree
    at the lags around the border of the lesson's default settings (lag
    8 learns, lag 12 fails; lag 10 is the border)."""
    def claim(seeds):
        medians = {lag: float(np.median([experiments.train_lag_task(
            lag, seed=s).r2 for s in seeds])) for lag in (8, 10, 12)}
        return ref_first_failure(medians, experiments.LEARNED_R2)
    assert claim((0, 1, 2)) == claim((3, 4, 5)) == 10
