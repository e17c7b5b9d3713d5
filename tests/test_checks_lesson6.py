"""The graded checks of lesson 6 (LSTM) accept right answers and name the
usual wrong ones: every check passes the reference (visible and hidden),
each typical mistake fails with the message that points at its bug, and
an answer that replays the visible outputs fails the hidden check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.checks import lstm as check
from helpers.checks.lstm import (BACKWARD_MISTAKES, FORWARD_MISTAKES,
                                 broken_lstm_step_backward,
                                 broken_lstm_step_forward)
from helpers.reference import lstm as ref
from helpers.reference.gradcheck import eval_numerical_gradient, rel_error
from test_checks_lessons34 import fails, not_implemented, replay_of


def ref_forward(x, h0, c0, params):
    return ref.lstm_forward(x, h0, c0, params)


def grad_check(forward, backward, x, h_prev, c_prev, params, dh_next,
               dc_next, eps=1e-5, swap=False):
    def loss():
        h, c, _ = forward(x, h_prev, c_prev, params)
        return np.sum(h * dh_next) + np.sum(c * dc_next)

    _, _, cache = forward(x, h_prev, c_prev, params)
    dx, dh, dc, grads = backward(dh_next, dc_next, cache)
    got = {"x": dx, "h_prev": dh, "c_prev": dc, **grads}
    arrays = {"x": x, "h_prev": h_prev, "c_prev": c_prev, **params}
    errors = {k: rel_error(got[k], eval_numerical_gradient(
        loss, arrays[k], eps)) for k in got}
    if swap:
        errors["W"], errors["U"] = errors["U"], errors["W"]
    return errors


def to_torch(gates, order="ifgo", twice=False):
    H, D = gates["i"]["W"].shape
    m = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "W"), ("weight_hh_l0", "U"),
                          ("bias_ih_l0", "b")):
            getattr(m, name).copy_(torch.from_numpy(np.concatenate(
                [gates[g][key] for g in order])))
        m.bias_hh_l0.copy_(m.bias_ih_l0 if twice else 0 * m.bias_hh_l0)
    return m


# ------------------------------------------------------------- reference
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("name, fn", [
    ("lstm_step_forward", ref.lstm_step_forward),
    ("lstm_forward", ref_forward),
    ("lstm_step_backward", ref.lstm_step_backward),
    ("grad_check_lstm_step", grad_check),
    ("to_torch_lstm", to_torch)])
def test_the_reference_passes(name, fn, hidden):
    getattr(check, name)(fn, hidden=hidden)


@pytest.mark.parametrize("name", ["lstm_step_forward", "lstm_forward",
                                  "lstm_step_backward",
                                  "grad_check_lstm_step", "to_torch_lstm"])
def test_a_stub_is_not_implemented(name):
    fails(getattr(check, name), not_implemented, "not implemented yet")


def test_the_broken_cells_are_right_without_a_mistake():
    rng = np.random.default_rng(0)
    p = ref.init_lstm_params(3, 4, rng)
    x, h, c, dh, dc = rng.normal(size=(5, 2, 4))[:, :, :4]
    x = x[:, :3]
    want = ref.lstm_step_forward(x, h, c, p)
    got = broken_lstm_step_forward()(x, h, c, p)
    assert all(np.allclose(a, b) for a, b in zip(got[:2], want[:2]))
    dwant = ref.lstm_step_backward(dh, dc, want[2])
    dgot = broken_lstm_step_backward()(dh, dc, want[2])
    assert all(np.allclose(a, b) for a, b in zip(dgot[:3], dwant[:3]))
    assert all(np.allclose(dgot[3][k], dwant[3][k]) for k in "WUb")


# ---------------------------------------------------- typical mistakes
@pytest.mark.parametrize("mistake, needle", [
    ("order_figo", "the gate order is wrong: you read the four blocks as "
                   "f, i, g, o; torch's gate order is i, f, g, o"),
    ("order_ifog", "as i, f, o, g"),
    ("no_carry", "c is not carried"),
    ("h_from_c", "the output uses c instead of tanh(c)"),
    ("forget_sign", "the forget gate has the wrong sign"),
    ("no_input_gate", "the input gate is missing"),
    ("g_sigmoid", "the candidate g_t uses tanh")])
def test_step_forward_names_the_mistake(mistake, needle):
    msg = fails(check.lstm_step_forward, broken_lstm_step_forward(mistake),
                needle)
    if mistake.startswith("order"):      # its own message, nothing else
        assert "Or:" not in msg, msg
    print(msg)


@pytest.mark.parametrize("mistake, needle", [
    ("dc_next_only", "dc is not accumulated from both paths: the "
                     "gradient on c_t is dc_next PLUS"),
    ("dc_h_only", "dc is not accumulated from both paths: you dropped "
                  "dc_next"),
    ("tanh_c", "do = dh_next * tanh(c), not dh_next * c"),
    ("no_tanh_prime", "needs tanh'(c_t)"),
    ("dc_prev_no_f", "dc_prev = dc * f"),
    ("df_c_next", "df = dc * c_prev"),
    ("g_sigmoid_prime", "not g * (1 - g)"),
    ("order_figo", "you stacked the gate gradients into da as f, i, g, "
                   "o; torch's gate order is i, f, g, o")])
def test_step_backward_names_the_mistake(mistake, needle):
    print(fails(check.lstm_step_backward,
                broken_lstm_step_backward(mistake), needle))


def _forward_with(step, reset_c=False, c_last_is_h=False):
    def forward(x, h0, c0, params):
        N, T, _ = x.shape
        H = params["U"].shape[1]
        h0 = np.zeros((N, H), x.dtype) if h0 is None else h0
        c0 = np.zeros((N, H), x.dtype) if c0 is None else c0
        h = np.zeros((N, T, H), x.dtype)
        c = np.zeros((N, T, H), x.dtype)
        hp, cp, steps = h0, c0, []
        for t in range(T):
            hp, cn, cache = step(x[:, t], hp, c0 if reset_c else cp,
                                 params)
            cp = cn
            h[:, t], c[:, t] = hp, cp
            steps.append(cache)
        last = (hp, hp if c_last_is_h else cp)
        return h, last, (x, h0, h, params, c0, c, steps)
    return forward


def test_lstm_forward_accepts_a_loop_and_names_mistakes():
    check.lstm_forward(_forward_with(ref.lstm_step_forward))
    check.lstm_forward(_forward_with(ref.lstm_step_forward), hidden=True)
    fails(check.lstm_forward, _forward_with(ref.lstm_step_forward,
                                            reset_c=True),
          "first wrong at time step t=1", "c is not carried")
    fails(check.lstm_forward, _forward_with(ref.lstm_step_forward,
                                            c_last_is_h=True),
          "c_last holds h_last")
    fails(check.lstm_forward, _forward_with(
        broken_lstm_step_forward("order_figo")), "t=0",
          "does lstm_step_forward pass its test")


def test_grad_check_must_report_the_real_errors():
    fails(check.grad_check_lstm_step,
          lambda *a, **k: grad_check(*a, **k, swap=True), "gradient of W")
    fails(check.grad_check_lstm_step,
          lambda *a, **k: {k_: 0.0 for k_ in check.ERROR_KEYS},
          "your check reports 0.00e+00")


def test_to_torch_lstm_gets_its_own_gate_order_message():
    fails(check.to_torch_lstm, lambda g: to_torch(g, order="figo"),
          "weight_ih_l0 hold the gates f, i, g, o", "i, f, g, o")
    fails(check.to_torch_lstm, lambda g: to_torch(g, twice=True),
          "the bias is counted twice")
    fails(check.to_torch_lstm, lambda g: to_torch(g).float(), "float64")


@pytest.mark.parametrize("name, fn", [
    ("lstm_step_forward", ref.lstm_step_forward),
    ("lstm_step_backward", ref.lstm_step_backward)])
def test_replayed_answers_fail_the_hidden_check(name, fn):
    replay = replay_of(fn, getattr(check, name))
    getattr(check, name)(replay)
    with pytest.raises(AssertionError):
        getattr(check, name)(replay, hidden=True)


def test_every_mistake_has_a_message():
    assert len([m for m in FORWARD_MISTAKES if m.startswith("order")]) == 23
    assert set(BACKWARD_MISTAKES) >= {"dc_next_only", "dc_h_only",
                                      "tanh_c"}
