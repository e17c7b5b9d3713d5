"""The graded checks of lesson 7 (GRU) accept right answers and name the
usual wrong ones: z weighting the wrong state, the reset gate on the
wrong side of U_h, the gate order of torch's packed weights (r, z, n),
b_hn outside the reset product, and one bias per block in a parameter
count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.checks import gru as check
from helpers.reference import gru as ref
from test_checks_lessons34 import fails, not_implemented, replay_of


def sig(a):
    return 1 / (1 + np.exp(-a))


def cho_step(x, h_prev, p, mistake=None):
    H = h_prev.shape[1]
    W, U, b = p["W"], p["U"], p["b"]
    blocks = (1, 0, 2) if mistake == "r_z_swapped" else (0, 1, 2)
    Wr, Wz, Wh = (W[k * H:(k + 1) * H] for k in blocks)
    Ur, Uz, Uh = (U[k * H:(k + 1) * H] for k in blocks)
    br, bz, bh = (b[k * H:(k + 1) * H] for k in blocks)
    r = sig(x @ Wr.T + h_prev @ Ur.T + br)
    z = sig(x @ Wz.T + h_prev @ Uz.T + bz)
    if mistake == "r_after_U_h":
        h_tilde = np.tanh(x @ Wh.T + r * (h_prev @ Uh.T) + bh)
    elif mistake == "no_reset":
        h_tilde = np.tanh(x @ Wh.T + h_prev @ Uh.T + bh)
    else:
        h_tilde = np.tanh(x @ Wh.T + (r * h_prev) @ Uh.T + bh)
    h = (1 - z) * h_prev + z * h_tilde
    if mistake == "z_wrong_state":
        h = z * h_prev + (1 - z) * h_tilde
    if mistake == "no_interpolation":
        h = h_tilde
    if mistake == "bad_cache":
        return h, (x, h_prev, z, r, h_tilde, p)
    return h, (x, h_prev, r, z, h_tilde, p)


def torch_step(x, h_prev, p, mistake=None):
    H = h_prev.shape[1]
    order = {"z_r_n": (1, 0, 2), "n_r_z": (2, 0, 1)}.get(mistake,
                                                         (0, 1, 2))

    def blk(a, k):
        return a[order[k] * H:(order[k] + 1) * H]

    W, U, bx, bh = p["W"], p["U"], p["b_x"], p["b_h"]
    if mistake == "no_b_h":
        bh = 0 * bh
    r = sig(x @ blk(W, 0).T + blk(bx, 0) + h_prev @ blk(U, 0).T
            + blk(bh, 0))
    z = sig(x @ blk(W, 1).T + blk(bx, 1) + h_prev @ blk(U, 1).T
            + blk(bh, 1))
    hn = h_prev @ blk(U, 2).T + blk(bh, 2)
    if mistake == "r_before_U_n":
        pre = (r * h_prev) @ blk(U, 2).T + blk(bh, 2)
    elif mistake == "b_hn_outside":
        pre = r * (h_prev @ blk(U, 2).T) + blk(bh, 2)
    else:
        pre = r * hn
    n = np.tanh(x @ blk(W, 2).T + blk(bx, 2) + pre)
    h = (1 - z) * n + z * h_prev
    if mistake == "z_wrong_state":
        h = (1 - z) * h_prev + z * n
    return h, (x, h_prev, r, z, n, hn, p)


def counts(D, H, mistake=None):
    per = H * (D + H + 2)
    if mistake == "one_bias":
        per = H * (D + H + 1)
    if mistake == "no_recurrent":
        per = H * (D + 2)
    out = {"rnn": per, "gru": 3 * per, "lstm": 4 * per}
    if mistake == "gru_lstm_swapped":
        out["gru"], out["lstm"] = out["lstm"], out["gru"]
    if mistake == "float":
        out["gru"] = float(out["gru"])
    return out


RIGHT = [(check.gru_step_forward, cho_step),
         (check.gru_torch_step_forward, torch_step),
         (check.param_counts, counts)]


@pytest.mark.parametrize("chk, fn", RIGHT)
def test_right_answers_pass(chk, fn, capsys):
    chk(fn)
    chk(fn, hidden=True)
    chk(fn, hidden=True)
    assert capsys.readouterr().out.count("\u2713") == 3


def test_the_reference_cells_pass_too():
    check.gru_step_forward(ref.gru_step_forward)
    check.gru_step_forward(ref.gru_step_forward, hidden=True)
    check.gru_torch_step_forward(ref.gru_torch_step_forward)
    check.gru_torch_step_forward(ref.gru_torch_step_forward, hidden=True)


@pytest.mark.parametrize("seed", range(3))
def test_the_checks_equations_equal_the_reference_and_torch(seed):
    rng = np.random.default_rng(seed)
    N, D, H = 3, 4, 5
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    p = check.random_cho_params(rng, D, H)
    h_ref, cache = ref.gru_step_forward(x, h, p)
    assert np.allclose(check._cho_step(x, h, p)[0], h_ref, atol=1e-14)
    q = check.random_torch_params(rng, D, H)
    h_ref, _ = ref.gru_torch_step_forward(x, h, q)
    assert np.allclose(check._torch_step(x, h, q)[0], h_ref, atol=1e-14)
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(q["W"]))
        gru.weight_hh_l0.copy_(torch.from_numpy(q["U"]))
        gru.bias_ih_l0.copy_(torch.from_numpy(q["b_x"]))
        gru.bias_hh_l0.copy_(torch.from_numpy(q["b_h"]))
        _, h_n = gru(torch.from_numpy(x[:, None]),
                     torch.from_numpy(h)[None])
    assert np.allclose(check._torch_gru(q, x[:, None], h), h_n[0].numpy(),
                       atol=1e-14)
    assert np.allclose(h_ref, h_n[0].numpy(), atol=1e-12)


@pytest.mark.parametrize("chk, name", [
    (check.gru_step_forward, "gru_step_forward"),
    (check.gru_torch_step_forward, "gru_torch_step_forward"),
    (check.param_counts, "param_counts")])
def test_blank_answer_says_not_implemented(chk, name):
    fails(chk, not_implemented, f"{name} is not implemented yet")


@pytest.mark.parametrize("chk, fn", RIGHT)
def test_replayed_answers_fail_the_hidden_check(chk, fn):
    replay = replay_of(fn, chk)
    chk(replay)
    with pytest.raises(AssertionError):
        chk(replay, hidden=True)


# ------------------------------------------------------ Cho's form
@pytest.mark.parametrize("mistake, needles", [
    ("z_wrong_state", ["h_next (h_prev = 0) is wrong",
                       "z weights the wrong state",
                       "z takes the new candidate"]),
    ("r_after_U_h", ["h_next (x = 0) is wrong",
                     "after the matrix: that is PyTorch's form",
                     "(r * h_prev) @ U_h.T"]),
    ("no_reset", ["the reset gate is missing from the candidate"]),
    ("r_z_swapped", ["blocks of r and z are swapped"]),
    ("no_interpolation", ["h_next is the candidate alone"]),
    ("bad_cache", ["cache[2] should be r"]),
])
def test_gru_step_forward_names_the_mistake(mistake, needles):
    fails(check.gru_step_forward,
          lambda x, h, p: cho_step(x, h, p, mistake), *needles)


def test_gru_step_forward_in_place_change_is_rejected():
    def fn(x, h_prev, p):
        out = cho_step(x, h_prev, p)
        p["b"] += 0
        h_prev *= 1.0000001
        return out
    fails(check.gru_step_forward, fn, "changed one of its inputs in place")


# ------------------------------------------------------ PyTorch's form
@pytest.mark.parametrize("mistake, needles", [
    ("z_wrong_state", ["vs torch.nn.GRU, float64",
                       "z keeps the OLD state"]),
    ("r_before_U_n", ["before U_n (Cho's form)",
                      "r * (U_n h_prev + b_hn)"]),
    ("b_hn_outside", ["x = 0, h_prev = 0", "b_hn is added outside"]),
    ("z_r_n", ["torch packs its weights and biases in the order r, z, n"]),
    ("n_r_z", ["torch packs the blocks r, z, n"]),
    ("no_b_h", ["recurrent bias b_h (bias_hh_l0) is missing"]),
])
def test_gru_torch_step_forward_names_the_mistake(mistake, needles):
    fails(check.gru_torch_step_forward,
          lambda x, h, p: torch_step(x, h, p, mistake), *needles)


def test_cho_step_given_as_the_torch_step_fails_with_both_differences():
    """Cho's form is not PyTorch's: handing in the Cho step (on the
    PyTorch keys) fails and names z and the reset gate."""
    def fn(x, h_prev, p):
        q = {"W": p["W"], "U": p["U"], "b": p["b_x"] + p["b_h"]}
        h, (x_, h_, r, z, ht, _) = cho_step(x, h_prev, q)
        return h, (x, h_prev, r, z, ht, ht, p)
    msg = fails(check.gru_torch_step_forward, fn, "h_next")
    assert "z keeps the OLD state" in msg or "before U_n" in msg or \
        "b_hn" in msg, msg


# ------------------------------------------------------ param_counts
@pytest.mark.parametrize("mistake, needles", [
    ("one_bias", ["torch.nn.RNN(3, 5) has 50", "two bias vectors"]),
    ("no_recurrent", ["recurrent weights"]),
    ("gru_lstm_swapped", ["['gru']", "has 3 blocks of weights (r, z, n), "
                          "not 4"]),
    ("float", ["should be an int"]),
])
def test_param_counts_names_the_mistake(mistake, needles):
    fails(check.param_counts, lambda D, H: counts(D, H, mistake), *needles)


def test_param_counts_missing_key():
    fails(check.param_counts, lambda D, H: {"rnn": 1},
          "keys 'rnn', 'gru' and 'lstm'")
