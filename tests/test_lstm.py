"""Tests for helpers/reference/lstm.py and its fast twin helpers/fast/lstm.py:
gradient checks, torch parity, fast path, workspace reuse and input
validation. (The sigmoid's own test is in test_layers.py.)"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.fast import Workspace
from helpers.reference.gradcheck import (eval_numerical_gradient_array,
                                         rel_error)
from helpers.reference.layers import sigmoid
from helpers.reference.lstm import (GATES, gate_blocks, init_lstm_params,
                                    lstm_backward, lstm_forward,
                                    lstm_step_backward, lstm_step_forward)

TOL = 1e-7
KEYS = ("W", "U", "b")


def num_grad(f, x, dout):
    return eval_numerical_gradient_array(f, x, dout, h=1e-3, order=4)


def make(N=3, T=5, D=4, H=5, seed=0, dtype=np.float64, scale=2.0):
    rng = np.random.default_rng(seed)
    p = init_lstm_params(D, H, rng, dtype)
    for k in p:
        p[k] *= scale
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    return x, h0, c0, p, dh, rng


def test_step_forward_matches_syllabus_equations():
    x, h0, c0, p, _, _ = make()
    xt = x[:, 0].copy()
    h, c, cache = lstm_step_forward(xt, h0, c0, p)
    g = gate_blocks(p)            # W_i, U_i, b_i ... in the lesson's names

    def pre(gate):
        return xt @ g[gate]["W"].T + h0 @ g[gate]["U"].T + g[gate]["b"]

    f_t, i_t = sigmoid(pre("f")), sigmoid(pre("i"))
    g_t, o_t = np.tanh(pre("g")), sigmoid(pre("o"))
    c_exp = f_t * c0 + i_t * g_t
    assert np.abs(c - c_exp).max() < 1e-14
    assert np.abs(h - o_t * np.tanh(c_exp)).max() < 1e-14
    assert GATES == ("i", "f", "g", "o")
    assert len(cache) == 9 and cache[0] is xt and cache[-1] is p


def test_step_backward_gradcheck():
    x, h0, c0, p, dh, rng = make()
    xt = x[:, 0].copy()
    dh_next = dh[:, 0].copy()
    dc_next = rng.standard_normal(c0.shape)
    _, _, cache = lstm_step_forward(xt, h0, c0, p)
    dx, dh_prev, dc_prev, grads = lstm_step_backward(dh_next, dc_next,
                                                     cache)

    def f():
        h, c, _ = lstm_step_forward(xt, h0, c0, p)
        return np.stack([h, c])

    dout = np.stack([dh_next, dc_next])
    assert rel_error(dx, num_grad(f, xt, dout)) < TOL
    assert rel_error(dh_prev, num_grad(f, h0, dout)) < TOL
    assert rel_error(dc_prev, num_grad(f, c0, dout)) < TOL
    for k in KEYS:
        assert rel_error(grads[k], num_grad(f, p[k], dout)) < TOL, k


@pytest.mark.parametrize("fast", [False, True])
def test_sequence_backward_gradcheck(fast):
    x, h0, c0, p, dh, rng = make(seed=1)
    dl, dcl = rng.standard_normal(h0.shape), rng.standard_normal(c0.shape)
    _, _, cache = lstm_forward(x, h0, c0, p, fast=fast)
    dx, dh0, dc0, grads = lstm_backward(dh, cache, dl, dcl, fast=fast)

    def f():
        h, (h_last, c_last), _ = lstm_forward(x, h0, c0, p, fast=fast)
        return np.concatenate([h.ravel(), h_last.ravel(), c_last.ravel()])

    dout = np.concatenate([dh.ravel(), dl.ravel(), dcl.ravel()])
    assert rel_error(dx, num_grad(f, x, dout)) < TOL
    assert rel_error(dh0, num_grad(f, h0, dout)) < TOL
    assert rel_error(dc0, num_grad(f, c0, dout)) < TOL
    for k in KEYS:
        assert rel_error(grads[k], num_grad(f, p[k], dout)) < TOL, k


def test_parity_with_torch_lstm_float64():
    N, T, D, H = 3, 6, 4, 5
    x, h0, c0, p, dh, rng = make(N, T, D, H, seed=2, scale=1.0)
    dl, dcl = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(p["W"]))
        lstm.weight_hh_l0.copy_(torch.from_numpy(p["U"]))
        lstm.bias_ih_l0.copy_(torch.from_numpy(0.25 * p["b"]))
        lstm.bias_hh_l0.copy_(torch.from_numpy(0.75 * p["b"]))
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0)[None].clone().requires_grad_()
    c0t = torch.from_numpy(c0)[None].clone().requires_grad_()
    out, (hn, cn) = lstm(xt, (h0t, c0t))
    loss = ((out * torch.from_numpy(dh)).sum()
            + (hn[0] * torch.from_numpy(dl)).sum()
            + (cn[0] * torch.from_numpy(dcl)).sum())
    loss.backward()
    for fast in (False, True):
        h, (h_last, c_last), cache = lstm_forward(x, h0, c0, p, fast=fast)
        dx, dh0, dc0, g = lstm_backward(dh, cache, dl, dcl, fast=fast)
        checks = [(h, out), (h_last, hn[0]), (c_last, cn[0]),
                  (dx, xt.grad), (dh0, h0t.grad[0]), (dc0, c0t.grad[0]),
                  (g["W"], lstm.weight_ih_l0.grad),
                  (g["U"], lstm.weight_hh_l0.grad),
                  (g["b"], lstm.bias_ih_l0.grad),
                  (g["b"], lstm.bias_hh_l0.grad)]
        for j, (mine, ref) in enumerate(checks):
            err = np.abs(mine - ref.detach().numpy()).max()
            assert err < 1e-10, (fast, j, err)


def test_cell_state_is_the_conveyor_belt():
    """With the forget gate saturated open and the input gate shut,
    c_t = c_{t-1} exactly, and dc_prev = dc_next."""
    x, h0, c0, p, dh, _ = make(T=1)
    H = h0.shape[1]
    p["b"][0:H] = -1e3          # i = 0
    p["b"][H:2 * H] = 1e3       # f = 1
    h, c, cache = lstm_step_forward(x[:, 0], h0, c0, p)
    assert np.array_equal(c, c0)
    dc_next = np.ones_like(c0)
    _, _, dc_prev, _ = lstm_step_backward(np.zeros_like(h0), dc_next, cache)
    assert np.array_equal(dc_prev, dc_next)


def test_h0_c0_none_mean_zeros():
    x, h0, c0, p, _, _ = make()
    a = lstm_forward(x, None, None, p)
    b = lstm_forward(x, np.zeros_like(h0), np.zeros_like(c0), p)
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1][1], b[1][1])
    assert np.array_equal(a[1][0], a[0][:, -1])


def test_sequence_cache_layout():
    x, h0, c0, p, _, _ = make()
    h, (h_last, c_last), cache = lstm_forward(x, h0, c0, p)
    assert len(cache) == 7
    assert cache[0] is x and cache[1] is h0 and cache[2] is h
    assert cache[3] is p and cache[4] is c0
    assert cache[5].shape == h.shape and np.array_equal(cache[5][:, -1],
                                                        c_last)
    assert isinstance(cache[6], list) and len(cache[6]) == x.shape[1]
    h, _, cache = lstm_forward(x, h0, c0, p, fast=True)
    assert len(cache) == 7 and cache[0] is x and cache[1] is h0
    assert cache[2] is h and cache[3] is p and cache[4] is c0
    assert cache[6]["hs"].shape == (6, 5, 3)


def test_backward_paths_and_caches():
    """fast=True also takes a readable cache; fast=False refuses a fast
    one (it holds buffers, not step caches)."""
    x, h0, c0, p, dh, _ = make()
    _, _, readable = lstm_forward(x, h0, c0, p)
    _, _, fast = lstm_forward(x, h0, c0, p, fast=True)
    ref = lstm_backward(dh, fast, fast=True)
    out = lstm_backward(dh, readable, fast=True)
    for a, b in zip(out[:3], ref[:3]):
        assert np.array_equal(a, b)
    for k in KEYS:
        assert np.array_equal(out[3][k], ref[3][k])
    with pytest.raises(ValueError, match="pass fast=True"):
        lstm_backward(dh, fast)


# ------------------------------------------------ fast path, properties

dims = st.integers(min_value=1, max_value=5)


@settings(max_examples=25, deadline=None)
@given(N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fast_path_equals_readable_path(N, T, D, H, seed, dtype):
    x, h0, c0, p, dh, _ = make(N, T, D, H, seed=seed, dtype=dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    h1, (l1, c1), k1 = lstm_forward(x, h0, c0, p, fast=False)
    h2, (l2, c2), k2 = lstm_forward(x, h0, c0, p, fast=True)
    for a, b, shape in ((h1, h2, (N, T, H)), (l1, l2, (N, H)),
                        (c1, c2, (N, H))):
        assert a.shape == b.shape == shape
        assert a.dtype == b.dtype == dtype
        assert np.abs(a - b).max() <= tol
    assert np.abs(k1[5] - k2[5]).max() <= tol      # all cell states
    b1, b2 = lstm_backward(dh, k1), lstm_backward(dh, k2, fast=True)
    for a, b in zip(b1[:3], b2[:3]):
        assert a.dtype == b.dtype == dtype
        assert np.abs(a - b).max() <= tol * 10 * T
    for k in KEYS:
        assert b2[3][k].shape == p[k].shape and b2[3][k].dtype == dtype
        assert np.abs(b1[3][k] - b2[3][k]).max() <= tol * 10 * T * N


@settings(max_examples=15, deadline=None)
@given(N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16),
       fast=st.booleans())
def test_float32_agrees_with_float64(N, T, D, H, seed, fast):
    x, h0, c0, p, dh, _ = make(N, T, D, H, seed=seed, dtype=np.float32,
                               scale=1.0)
    up = {k: v.astype(np.float64) for k, v in p.items()}
    h32, _, k32 = lstm_forward(x, h0, c0, p, fast=fast)
    h64, _, k64 = lstm_forward(x.astype(np.float64), h0.astype(np.float64),
                               c0.astype(np.float64), up, fast=fast)
    assert np.abs(h32 - h64).max() < 1e-5
    g32 = lstm_backward(dh, k32, fast=fast)
    g64 = lstm_backward(dh.astype(np.float64), k64, fast=fast)
    assert np.abs(g32[0] - g64[0]).max() < 1e-4
    for k in KEYS:
        assert np.abs(g32[3][k] - g64[3][k]).max() < 1e-4


def test_workspace_reuse_gives_the_same_numbers():
    x, h0, c0, p, dh, _ = make(N=4, T=6, D=3, H=5)
    ref_h, _, ref_cache = lstm_forward(x, h0, c0, p, fast=True)
    ref = lstm_backward(dh, ref_cache, fast=True)
    ws = Workspace()
    for _ in range(3):
        h, _, cache = lstm_forward(x, h0, c0, p, fast=True, workspace=ws)
        out = lstm_backward(dh, cache, fast=True)
        assert np.array_equal(h, ref_h)
        for a, b in zip(out[:3], ref[:3]):
            assert np.array_equal(a, b)
        for k in KEYS:
            assert np.array_equal(out[3][k], ref[3][k])


def test_stale_cache_and_workspace_misuse_raise():
    x, h0, c0, p, dh, _ = make()
    ws = Workspace()
    _, _, old = lstm_forward(x, h0, c0, p, fast=True, workspace=ws)
    lstm_forward(x, h0, c0, p, fast=True, workspace=ws)
    with pytest.raises(RuntimeError, match="cache was overwritten"):
        lstm_backward(dh, old, fast=True)
    with pytest.raises(ValueError, match="pass fast=True"):
        lstm_forward(x, h0, c0, p, workspace=ws)
    with pytest.raises(TypeError, match="must be a Workspace"):
        lstm_forward(x, h0, c0, p, fast=True, workspace={})


# ------------------------------------------------------------ bad input

def test_bad_inputs_raise_clear_errors():
    x, h0, c0, p, dh, _ = make(N=3, D=4, H=5)
    with pytest.raises(ValueError, match=r"c_prev has shape \(3, 4\); "
                                         r"expected \(N, H\) = \(3, 5\)"):
        lstm_step_forward(x[:, 0], h0, c0[:, :4], p)
    with pytest.raises(ValueError, match=r"params\['W'\] has shape "
                                         r"\(19, 4\); expected \(4H, D\) "
                                         r"= \(20, 4\)"):
        lstm_forward(x, h0, c0, dict(p, W=p["W"][:19]))
    with pytest.raises(ValueError, match=r"x has shape \(3, 5, 2\); "
                                         r"expected \(N, T, D\)"):
        lstm_forward(x[..., :2], h0, c0, p)
    with pytest.raises(ValueError, match=r"c0 has shape"):
        lstm_forward(x, h0, c0[:2], p)
    with pytest.raises(TypeError, match=r"h0 has dtype float32"):
        lstm_forward(x, h0.astype(np.float32), c0, p)
    with pytest.raises(KeyError, match=r"missing \['b'\]"):
        lstm_forward(x, h0, c0, {"W": p["W"], "U": p["U"]})
    bad = x.copy()
    bad[0, 1, 2] = np.inf
    with pytest.raises(ValueError, match=r"x contains NaN or infinite"):
        lstm_forward(bad, h0, c0, p)
    _, _, cache = lstm_forward(x, h0, c0, p)
    with pytest.raises(ValueError, match=r"dh has shape"):
        lstm_backward(dh[:, :2], cache)
    with pytest.raises(ValueError, match=r"dc_last has shape"):
        lstm_backward(dh, cache, dc_last=c0[:, :2])
    with pytest.raises(ValueError, match=r"dc_next has shape"):
        _, _, step = lstm_step_forward(x[:, 0], h0, c0, p)
        lstm_step_backward(h0, c0[:2], step)
