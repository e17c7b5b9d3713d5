"""Checks for lesson 6, "LSTM", against :mod:`helpers.reference.lstm`.

A wrong answer is matched against the usual wrong ones, built by
:func:`broken_lstm_step_forward` and :func:`broken_lstm_step_backward`
(written out here, independent of the reference, so a notebook can show
them to a gradient check): the gate blocks read in another order than
torch's i, f, g, o, the cell state not carried, ``c`` instead of
``tanh(c)`` in the output, the forget gate's sign flipped, ``dc`` taken
from one path only, and more (:data:`FORWARD_MISTAKES`,
:data:`BACKWARD_MISTAKES`).
"""

from __future__ import annotations

from itertools import permutations
from typing import Callable

import numpy as np

from helpers.checks import (close, describe, diagnose, expect_close,
                            expect_dtype, expect_each, expect_grad_check,
                            expect_grads, expect_shape, expect_steps,
                            expect_true, likely, make_rng, passed,
                            random_arrays, rel_errors, run_student,
                            snapshot)
from helpers.reference.lstm import lstm_forward as ref_forward
from helpers.reference.lstm import lstm_step_backward as ref_step_backward
from helpers.reference.lstm import lstm_step_forward as ref_step_forward

__all__ = ["lstm_step_forward", "lstm_forward", "lstm_step_backward",
           "grad_check_lstm_step", "to_torch_lstm",
           "broken_lstm_step_forward", "broken_lstm_step_backward",
           "FORWARD_MISTAKES", "BACKWARD_MISTAKES"]

F64, F32 = np.float64, np.float32
KEYS, GATES = ("W", "U", "b"), "ifgo"
ORDER = ("torch's gate order is i, f, g, o: rows 0:H of W, U and b belong "
         "to the input gate i, H:2H to the forget gate f, 2H:3H to the "
         "candidate g and 3H:4H to the output gate o.")


def random_lstm_params(rng, D, H, dtype=F64, scale=0.5) -> dict:
    """``{"W": (4H, D), "U": (4H, H), "b": (4H,)}`` in ``dtype``."""
    return random_arrays(rng, {"W": (4 * H, D), "U": (4 * H, H),
                               "b": (4 * H,)}, dtype, scale)


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _order_message(order: str, what: str = "read the four blocks") -> str:
    return (f"the gate order is wrong: you {what} as "
            f"{', '.join(order)}; " + ORDER)


# ------------------------------------------------ the usual wrong answers
FORWARD_MISTAKES = {
    "no_carry": "c is not carried: c_t = f_t * c_{t-1} + i_t * g_t; the "
                "term f_t * c_{t-1} is missing.",
    "no_input_gate": "the input gate is missing: the new content is "
                     "i_t * g_t, not g_t alone.",
    "h_from_c": "the output uses c instead of tanh(c): h_t = o_t * "
                "tanh(c_t).",
    "forget_sign": "the forget gate has the wrong sign: you used "
                   "1 - f_t = sigma(-a_f). f_t = sigma(W_f x_t + U_f "
                   "h_{t-1} + b_f) multiplies c_{t-1}, and f_t near 1 "
                   "keeps the memory.",
    "g_sigmoid": "the candidate g_t uses tanh, not the sigmoid (it must "
                 "be able to write negative values).",
    "h_tanh_outside": "h_t = o_t * tanh(c_t): take tanh of c_t, then "
                      "multiply by o_t (not tanh(o_t * c_t)).",
}
FORWARD_MISTAKES.update({"order_" + "".join(p): _order_message("".join(p))
                         for p in permutations(GATES)
                         if "".join(p) != GATES})


def broken_lstm_step_forward(mistake: str | None = None) -> Callable:
    """``step(x, h_prev, c_prev, params) -> (h, c, cache)`` with the
    mistake named by a key of :data:`FORWARD_MISTAKES` (``"order_fiog"``
    reads the blocks as f, i, o, g); correct for None."""
    if mistake is not None and mistake not in FORWARD_MISTAKES:
        raise ValueError(f"unknown mistake {mistake!r}")
    order = mistake[6:] if mistake and mistake.startswith("order_") \
        else GATES

    def step(x, h_prev, c_prev, params):
        H = h_prev.shape[1]
        a = x @ params["W"].T + h_prev @ params["U"].T + params["b"]
        blk = {gate: a[:, k * H:(k + 1) * H] for k, gate in enumerate(order)}
        i, f, o = _sig(blk["i"]), _sig(blk["f"]), _sig(blk["o"])
        g = (_sig if mistake == "g_sigmoid" else np.tanh)(blk["g"])
        if mistake == "forget_sign":
            f = 1 - f
        new = g if mistake == "no_input_gate" else i * g
        c = new if mistake == "no_carry" else f * c_prev + new
        h = o * c if mistake == "h_from_c" else np.tanh(o * c) \
            if mistake == "h_tanh_outside" else o * np.tanh(c)
        return h, c, (x, h_prev, c_prev, i, f, g, o, c, params)

    return step


BACKWARD_MISTAKES = {
    "dc_next_only": "dc is not accumulated from both paths: the gradient "
                    "on c_t is dc_next PLUS the part that comes through "
                    "h_t, dh_next * o * (1 - tanh(c_t)**2).",
    "dc_h_only": "dc is not accumulated from both paths: you dropped "
                 "dc_next, the gradient that reaches c_t along the cell "
                 "state from step t+1.",
    "tanh_c": "the output is h = o * tanh(c): its derivative on c is "
              "o * (1 - tanh(c)**2), and do = dh_next * tanh(c), not "
              "dh_next * c.",
    "no_tanh_prime": "the path from h_t to c_t needs tanh'(c_t): add "
                     "dh_next * o * (1 - tanh(c_next)**2), not "
                     "dh_next * o.",
    "dc_prev_no_f": "dc_prev = dc * f: the belt multiplies c_{t-1} by "
                    "f_t, so its gradient is scaled by f_t too.",
    "df_c_next": "df = dc * c_prev (c_{t-1} is what f_t multiplies), "
                 "not dc * c_next.",
    "g_sigmoid_prime": "g = tanh(a_g), so its derivative is 1 - g**2, "
                       "not g * (1 - g).",
    "dW_scale": "(a deliberately broken dW, for testing a gradient check)",
}
BACKWARD_MISTAKES.update({"order_" + "".join(p): _order_message(
    "".join(p), "stacked the gate gradients into da") for p in
    permutations(GATES) if "".join(p) != GATES})


def broken_lstm_step_backward(mistake: str | None = None) -> Callable:
    """``backward(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev,
    grads)`` with the mistake named by a key of
    :data:`BACKWARD_MISTAKES`; correct for None."""
    if mistake is not None and mistake not in BACKWARD_MISTAKES:
        raise ValueError(f"unknown mistake {mistake!r}")
    order = mistake[6:] if mistake and mistake.startswith("order_") \
        else GATES

    def backward(dh_next, dc_next, cache):
        x, h_prev, c_prev, i, f, g, o, c, params = cache
        tc = np.tanh(c)
        do = dh_next * (c if mistake == "tanh_c" else tc)
        through_h = dh_next * o * (1 if mistake == "no_tanh_prime"
                                   else 1 - tc ** 2)
        dc = dc_next if mistake == "dc_next_only" else through_h \
            if mistake == "dc_h_only" else dc_next + through_h
        dgp = g * (1 - g) if mistake == "g_sigmoid_prime" else 1 - g ** 2
        d = {"i": dc * g * i * (1 - i),
             "f": dc * (c if mistake == "df_c_next" else c_prev) * f * (
                 1 - f),
             "g": dc * i * dgp, "o": do * o * (1 - o)}
        da = np.concatenate([d[gate] for gate in order], axis=1)
        dc_prev = dc if mistake == "dc_prev_no_f" else dc * f
        return (da @ params["W"], da @ params["U"], dc_prev,
                {"W": da.T @ x * (2 if mistake == "dW_scale" else 1),
                 "U": da.T @ h_prev, "b": da.sum(axis=0)})

    return backward


def _step_inputs(rng, N, D, H, dtype):
    p = random_lstm_params(rng, D, H, dtype)
    x = rng.normal(size=(N, D)).astype(dtype)
    h = np.tanh(rng.normal(size=(N, H))).astype(dtype)
    return x, h, rng.normal(size=(N, H)).astype(dtype), p


def _sizes(rng, hidden, visible):
    return ([(*(int(v) for v in rng.integers(1, 8, 3)), dt)
             for dt in (F64, F32)] + [(1, *(int(v) for v in rng.integers(
                 2, 6, 2)), F64)]) if hidden else visible


# ------------------------------------------------------ lstm_step_forward
def _check_step(fn, x, h_prev, c_prev, params, what):
    dt, (N, H) = x.dtype, h_prev.shape
    exp_h, exp_c, _ = ref_step_forward(x, h_prev, c_prev, params)
    unchanged = snapshot(x, h_prev, c_prev, params)
    h, c, cache = run_student(
        fn, "lstm_step_forward", x, h_prev, c_prev, params,
        returns="(h_next, c_next, cache)", hint="shapes: x (N, D), h_prev "
        "and c_prev (N, H), W (4H, D), U (4H, H), b (4H,); a = x @ W.T + "
        "h_prev @ U.T + b has shape (N, 4H).")
    expect_shape(f"h_next ({what})", h, (N, H), "N, H")
    expect_shape(f"c_next ({what})", c, (N, H), "N, H")
    wrong = {m: broken_lstm_step_forward(m)(x, h_prev, c_prev, params)[:2]
             for m in FORWARD_MISTAKES}

    def hint(name, got):          # h and c together tell more mistakes
        return likely(diagnose((h, c), [(w, FORWARD_MISTAKES[m])
                                        for m, w in wrong.items()], dt))
    expect_each([("c_next", c, exp_c), ("h_next", h, exp_h)], what, dt,
                hint, fix="keep the dtype of the inputs.")
    gates = ref_step_forward(x, h_prev, c_prev, params)[2][3:8]
    expect_true(isinstance(cache, tuple) and len(cache) == 9 and all(
        close(got, want, dt) for got, want in zip(
            cache[:8], (x, h_prev, c_prev) + gates)) and same_params(
        cache[8], params), "cache should be the tuple (x, h_prev, c_prev, "
        "i, f, g, o, c_next, params), with the gate activations i, f, g, o "
        "(after the sigmoid or tanh): the backward pass reads it. " + (
            likely(FORWARD_MISTAKES["forget_sign"]) if isinstance(
                cache, tuple) and len(cache) == 9 and close(
                    cache[4], 1 - gates[1], dt) else ""))
    expect_true(unchanged(), "lstm_step_forward changed one of its inputs "
                "in place; compute new arrays instead.")


def same_params(got, params) -> bool:
    """Whether ``got`` is a dict holding ``params``' arrays."""
    return isinstance(got, dict) and all(
        k in got and close(got[k], v) for k, v in params.items())


def lstm_step_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``lstm_step_forward(x, h_prev, c_prev, params) -> (h_next,
    c_next, cache)``, first with c_prev = 0, then with everything on."""
    rng = make_rng(hidden, seed=60)
    for N, D, H, dt in _sizes(rng, hidden, [(3, 4, 5, F64), (2, 3, 4, F32)]):
        x, h, c, p = _step_inputs(rng, N, D, H, dt)
        if not hidden:
            _check_step(fn, x, h, np.zeros_like(c), p, "c_prev = 0, " +
                        describe(dt, N=N, D=D, H=H))
        _check_step(fn, x, h, c, p, describe(dt, N=N, D=D, H=H))
    passed("lstm_step_forward: gates in torch's order i, f, g, o, c_next, "
           "h_next, cache and float32 all right", hidden)


# ----------------------------------------------------------- lstm_forward
def _sequence_hint(h, x, h0, c0, params, exp_h, t) -> str:
    """Name the usual mistake of a sequence first wrong at step ``t``."""
    dt, T = x.dtype, x.shape[1]
    zeros, no_carry, h_t = np.zeros_like(c0), [], h0
    for s in range(T):                     # c reset to c0 at every step
        h_t = ref_step_forward(x[:, s], h_t, c0, params)[0]
        no_carry.append(h_t)
    cause = diagnose(h, [
        (np.stack(no_carry, axis=1) if T > 1 else None,
         "c is not carried: step t must start from the c_next of step "
         "t-1, not from c0 again."),
        (ref_forward(x, h0, zeros, params)[0] if c0.any() else None,
         "the first step must start from the given c0, not from zeros."),
        (ref_forward(x, zeros, c0, params)[0] if h0.any() else None,
         "the first step must start from the given h0, not from zeros."),
        (np.concatenate([h0[:, None], exp_h[:, :-1]], axis=1),
         "every state is one step late: h[:, t] is the state after "
         "reading x[:, t].")], dt)
    return likely(cause) or (
        "the first step is already wrong: does lstm_step_forward pass its "
        "test, and do you start from h0 and c0?" if t == 0 else
        f"steps 0 .. {t - 1} are right: carry both h and c from step "
        f"{t - 1} to step {t}.")


def _check_sequence(fn, x, h0, c0, params, what):
    dt, (N, T, _), H = x.dtype, x.shape, params["U"].shape[1]
    zeros = np.zeros((N, H), dt)
    exp_h, (exp_hl, exp_cl), exp_cache = ref_forward(
        x, zeros if h0 is None else h0, zeros if c0 is None else c0,
        params)
    unchanged = snapshot(x, h0, c0, params)
    h, last, cache = run_student(
        fn, "lstm_forward", x, h0, c0, params, returns="(h, (h_last, "
        "c_last), cache)", hint="x is (N, T, D) and x[:, t] is (N, D); "
        "h0 or c0 None means zeros of shape (N, H).")
    expect_shape(f"h ({what})", h, (N, T, H), "N, T, H")
    expect_dtype("h", h, dt, source="x is", fix="create h with "
                 "dtype=x.dtype.")
    expect_steps("h", what, h, exp_h, dt, lambda t: f"first wrong at time "
                 f"step t={t}. " + _sequence_hint(
                     h, x, exp_cache[1], exp_cache[4], params, exp_h,
                     t))
    expect_true(isinstance(last, tuple) and len(last) == 2,
                "the second result should be the pair (h_last, c_last), "
                "like torch's (h_n, c_n).")
    expect_shape("h_last", last[0], (N, H), "N, H")
    expect_shape("c_last", last[1], (N, H), "N, H")
    expect_close(f"h_last ({what})", last[0], exp_hl, dtype=dt,
                 hint="h_last is the state after the last step, h[:, -1].")
    expect_close(f"c_last ({what})", last[1], exp_cl, dtype=dt, hint=(
        "c_last holds h_last: return the cell state c_T, not h_T."
        if close(last[1], exp_hl, dt) else "c_last is the cell state "
        "after the last step, the c_next of step T-1."))
    expect_true(isinstance(cache, tuple) and len(cache) == 7 and all(
        close(got, want, dt) for got, want in zip(
            cache[:3] + cache[4:6], exp_cache[:3] + exp_cache[4:6])),
        "cache should be (x, h0, h, params, c0, c, steps): h0 and c0 the "
        "initial states used (zeros for None), c (N, T, H) every cell "
        "state, steps the list of the T step caches.")
    expect_true(isinstance(cache[6], (list, tuple)) and len(cache[6]) == T,
                f"cache[6] should be the list of the {T} step caches.")
    expect_true(unchanged(), "lstm_forward changed one of its inputs in "
                "place; compute new arrays instead.")


def lstm_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``lstm_forward(x, h0, c0, params) -> (h, (h_last, c_last),
    cache)``, with given and with None initial states."""
    rng = make_rng(hidden, seed=61)
    cases = [(2, 5, 3, 4, F64, True), (3, 4, 2, 5, F64, False),
             (2, 6, 3, 4, F32, True)]
    if hidden:
        cases = [(*(int(v) for v in rng.integers(1, 9, 4)), dt, True)
                 for dt in (F64, F32)] + [
            (int(rng.integers(1, 4)), 1, 3, 4, F64, False),
            (2, int(rng.integers(9, 16)), 2, 3, F64, True)]
    for N, T, D, H, dt, given in cases:
        p = random_lstm_params(rng, D, H, dt)
        x = rng.normal(size=(N, T, D)).astype(dt)
        h0, c0 = (rng.normal(0, 0.8, (2, N, H)).astype(dt) if given
                  else (None, None))
        _check_sequence(fn, x, h0, c0, p, describe(dt, N=N, T=T, D=D, H=H)
                        + ("" if given else ", h0 = c0 = None"))
    passed("lstm_forward: every h_t, (h_last, c_last), c carried, None "
           "initial states, cache and float32 all right", hidden)


# ----------------------------------------------------- lstm_step_backward
def _check_step_backward(fn, x, h_prev, c_prev, params, dh, dc, what):
    dt, (N, D), H = x.dtype, x.shape, h_prev.shape[1]
    _, _, cache = ref_step_forward(x, h_prev, c_prev, params)
    exp = ref_step_backward(dh, dc, cache)
    unchanged = snapshot(dh, dc, cache)
    dx, dh_prev, dc_prev, grads = run_student(
        fn, "lstm_step_backward", dh, dc, cache, returns="(dx, dh_prev, "
        "dc_prev, grads)", hint="the cache is (x, h_prev, c_prev, i, f, "
        "g, o, c_next, params); da = concatenation of the four gate "
        "gradients, shape (N, 4H).")
    expect_shape("dx", dx, (N, D), "N, D")
    expect_shape("dh_prev", dh_prev, (N, H), "N, H")
    expect_shape("dc_prev", dc_prev, (N, H), "N, H")
    expect_grads("lstm_step_backward", grads, params,
                 ": e.g. dW = da.T @ x, not x.T @ da.")
    wrong = {m: broken_lstm_step_backward(m)(dh, dc, cache)
             for m in BACKWARD_MISTAKES}
    rows = [("dc_prev", dc_prev, exp[2], 2), ("dx", dx, exp[0], 0),
            ("dh_prev", dh_prev, exp[1], 1)] + [
        (f"grads['{k}']", grads[k], exp[3][k], k) for k in KEYS]
    where = {name: pos for name, _, _, pos in rows}

    def hint(name, got):
        pos = where[name]
        return likely(diagnose(got, [
            (w[pos] if isinstance(pos, int) else w[3][pos],
             BACKWARD_MISTAKES[m]) for m, w in wrong.items()], dt))
    expect_each([r[:3] for r in rows], what, dt, hint,
                fix="keep the dtype of the inputs.")
    expect_true(unchanged(), "lstm_step_backward changed dh_next, dc_next "
                "or the cache in place; compute new arrays instead.")


def lstm_step_backward(fn: Callable, hidden: bool = False) -> None:
    """Check ``lstm_step_backward(dh_next, dc_next, cache) -> (dx,
    dh_prev, dc_prev, grads)``: first with dc_next = 0, then dh_next = 0,
    then both."""
    rng = make_rng(hidden, seed=62)
    for N, D, H, dt in _sizes(rng, hidden, [(3, 4, 5, F64), (2, 3, 4, F32)]):
        x, h, c, p = _step_inputs(rng, N, D, H, dt)
        dh, dc = rng.normal(size=(2, N, H)).astype(dt)
        cases = [(dh, dc, "")] if hidden else [
            (dh, 0 * dc, "dc_next = 0"), (0 * dh, dc, "dh_next = 0"),
            (dh, dc, "")]
        for dh_, dc_, label in cases:
            _check_step_backward(fn, x, h, c, p, dh_, dc_, ", ".join(
                filter(None, [label, describe(dt, N=N, D=D, H=H)])))
    passed("lstm_step_backward: dc from both paths, the four gate gradients "
           "in the order i, f, g, o, dx, dh_prev, dc_prev, dW, dU, db and "
           "float32 all right", hidden)


# --------------------------------------------------- grad_check_lstm_step
ERROR_KEYS = ("x", "h_prev", "c_prev", "W", "U", "b")


def _check_grad_check(fn, args, mistake, what):
    x, h_prev, c_prev, params, dh, dc = args
    unchanged = snapshot(*args)
    backward = broken_lstm_step_backward(mistake)
    label = f"a backward with the mistake '{mistake}'" if mistake \
        else "a correct backward"
    out = run_student(fn, "grad_check_lstm_step", ref_step_forward,
                      backward, *args, hint="grad_check_lstm_step(forward, "
                      "backward, x, h_prev, c_prev, params, dh_next, "
                      "dc_next) compares backward's gradients of L = "
                      "sum(h * dh_next) + sum(c * dc_next) with numerical "
                      "ones.")
    expect_true(unchanged(), "grad_check_lstm_step changed its inputs; the "
                "numerical gradient must put every perturbed entry back.")
    cache = ref_step_forward(x, h_prev, c_prev, params)[2]
    truth = rel_errors(backward(dh, dc, cache),
                       ref_step_backward(dh, dc, cache), ERROR_KEYS)
    expect_grad_check("grad_check_lstm_step", out, truth, label, what,
                      "Is L = np.sum(h * dh_next) + np.sum(c * dc_next), "
                      "with h, c from forward(x, h_prev, c_prev, params)")


def grad_check_lstm_step(fn: Callable, hidden: bool = False) -> None:
    """Check ``grad_check_lstm_step(forward, backward, x, h_prev, c_prev,
    params, dh_next, dc_next) -> errors`` with the reference forward, a
    correct backward and broken ones."""
    rng = make_rng(hidden, seed=63)
    N, D, H = (int(v) for v in rng.integers(1, 5, 3)) if hidden \
        else (2, 3, 4)
    x, h, c, p = _step_inputs(rng, N, D, H, F64)
    args = (x, h, c, p, *rng.normal(size=(2, N, H)))
    what = describe(N=N, D=D, H=H)
    for mistake in (None, "dc_next_only", "tanh_c", "dc_prev_no_f",
                    "dW_scale", "order_figo"):
        _check_grad_check(fn, args, mistake, what)
    passed("grad_check_lstm_step: tiny errors for a correct backward; it "
           "finds the wrong gradients of broken ones", hidden)


# ---------------------------------------------------------- to_torch_lstm
def _torch_mistake(module, gates) -> str:
    """Say which block of which torch tensor holds the wrong copy."""
    names = (("weight_ih_l0", "W"), ("weight_hh_l0", "U"))
    H = gates["i"]["U"].shape[0]
    for tname, key in names:
        w = getattr(module, tname).detach().numpy()
        found = [next((g for g in GATES if close(w[k * H:(k + 1) * H],
                                                 gates[g][key])), "?")
                 for k in range(4)]
        if "".join(found) != GATES:
            return (f"the blocks of {tname} hold the gates "
                    f"{', '.join(found)} (? = none of them); " + ORDER
                    + f" Stack W_i, W_f, W_g, W_o along the rows.")
    b = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    want = np.concatenate([gates[g]["b"] for g in GATES])
    if close(b, 2 * want):
        return ("the bias is counted twice: torch adds bias_ih_l0 + "
                "bias_hh_l0, so put b in one and zeros in the other.")
    if not close(b, want):
        return ("bias_ih_l0 + bias_hh_l0 should be b_i, b_f, b_g, b_o "
                "stacked. " + ORDER)
    return "the torch LSTM does not compute the syllabus equations."


def to_torch_lstm(fn: Callable, hidden: bool = False) -> None:
    """Check ``to_torch_lstm(gates) -> torch.nn.LSTM`` (float64, batch
    first) against the reference forward on the stacked weights."""
    import torch
    rng = make_rng(hidden, seed=64)
    N, T, D, H = (int(v) for v in rng.integers(1, 7, 4)) if hidden \
        else (2, 5, 3, 4)
    p = random_lstm_params(rng, D, H)
    gates = {g: {k: p[k][j * H:(j + 1) * H].copy() for k in KEYS}
             for j, g in enumerate(GATES)}
    x, h0, c0 = rng.normal(size=(N, T, D)), *rng.normal(0, 0.8,
                                                        (2, N, H))
    unchanged = snapshot(gates)
    module = run_student(fn, "to_torch_lstm", gates)
    expect_true(isinstance(module, torch.nn.LSTM),
                f"to_torch_lstm should return a torch.nn.LSTM, got "
                f"{type(module).__name__}.")
    expect_true(module.batch_first and module.num_layers == 1 and not
                module.bidirectional and module.bias and
                not module.proj_size, "create torch.nn.LSTM(D, H, "
                "batch_first=True) with one layer, one direction, bias.")
    expect_true((module.input_size, module.hidden_size) == (D, H),
                f"the LSTM has input_size={module.input_size}, hidden_size"
                f"={module.hidden_size}; expected D={D}, H={H}.")
    expect_true(module.weight_ih_l0.dtype == torch.float64,
                "make the LSTM float64 (dtype=torch.float64).")
    with torch.no_grad():
        out, (h_n, c_n) = module(torch.from_numpy(x), (
            torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    exp_h, (exp_hl, exp_cl), _ = ref_forward(x, h0, c0, p)
    expect_close("torch's output h", out.numpy(), exp_h, dtype=F64,
                 hint=lambda: _torch_mistake(module, gates))
    expect_close("torch's c_n", c_n[0].numpy(), exp_cl, dtype=F64)
    expect_true(unchanged(), "to_torch_lstm changed the numpy gates; copy "
                "them into torch instead.")
    passed("to_torch_lstm: W_i, W_f, W_g, W_o stacked in torch's order i, f, "
           "g, o, the bias once, float64; torch agrees with the syllabus "
           "equations", hidden)
