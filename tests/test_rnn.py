"""Tests for helpers/reference/rnn.py and its fast twin helpers/fast/rnn.py:
gradient checks, torch parity, fast path, truncated BPTT and input
validation."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.fast import Workspace
from helpers.reference.gradcheck import (eval_numerical_gradient_array,
                                         rel_error)
from helpers.reference.rnn import (init_rnn_params, rnn_backward,
                                   rnn_backward_truncated, rnn_forward,
                                   rnn_step_backward, rnn_step_forward,
                                   rnn_truncated_bptt)

TOL = 1e-7          # max relative error of a gradient check (float64)
KEYS = ("W_xh", "W_hh", "b_h")


def num_grad(f, x, dout):
    """Five-point numerical gradient of sum(f() * dout) w.r.t. x."""
    return eval_numerical_gradient_array(f, x, dout, h=1e-3, order=4)


def make(N=3, T=5, D=4, H=5, seed=0, dtype=np.float64, scale=2.0):
    rng = np.random.default_rng(seed)
    params = init_rnn_params(D, H, rng, dtype)
    for k in params:              # larger weights: a less linear regime
        params[k] *= scale
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    return x, h0, params, dh, rng


# ----------------------------------------------------------------- step

def test_step_forward_matches_equation():
    x, h0, p, _, _ = make()
    xt = x[:, 0].copy()
    h_next, cache = rnn_step_forward(xt, h0, p)
    expected = np.tanh(xt @ p["W_xh"].T + h0 @ p["W_hh"].T + p["b_h"])
    assert np.array_equal(h_next, expected)
    assert len(cache) == 4
    assert cache[0] is xt and cache[1] is h0
    assert cache[2] is h_next and cache[3] is p


def test_step_backward_gradcheck():
    x, h0, p, dh, _ = make()
    xt = x[:, 0].copy()
    dnext = dh[:, 0].copy()
    _, cache = rnn_step_forward(xt, h0, p)
    dx, dh_prev, grads = rnn_step_backward(dnext, cache)

    def f():
        return rnn_step_forward(xt, h0, p)[0]

    assert rel_error(dx, num_grad(f, xt, dnext)) < TOL
    assert rel_error(dh_prev, num_grad(f, h0, dnext)) < TOL
    for k in KEYS:
        assert rel_error(grads[k], num_grad(f, p[k], dnext)) < TOL, k


# ------------------------------------------------------------- sequence

@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("with_last", [False, True])
def test_sequence_backward_gradcheck(fast, with_last):
    x, h0, p, dh, rng = make(seed=1)
    dl = rng.standard_normal(h0.shape) if with_last else None
    h, h_last, cache = rnn_forward(x, h0, p, fast=fast)
    dx, dh0, grads = rnn_backward(dh, cache, dh_last=dl, fast=fast)

    def f():
        h, h_last, _ = rnn_forward(x, h0, p, fast=fast)
        # the loss reads all states and, optionally, h_last once more
        return np.concatenate([h.ravel(), h_last.ravel()])

    dout = np.concatenate(
        [dh.ravel(), (dl if with_last else np.zeros_like(h0)).ravel()])
    assert rel_error(dx, num_grad(f, x, dout)) < TOL
    assert rel_error(dh0, num_grad(f, h0, dout)) < TOL
    for k in KEYS:
        assert rel_error(grads[k], num_grad(f, p[k], dout)) < TOL, k


def test_h0_none_means_zeros_and_h_last_is_last_state():
    x, h0, p, _, _ = make()
    h_a, last_a, _ = rnn_forward(x, None, p)
    h_b, last_b, _ = rnn_forward(x, np.zeros_like(h0), p)
    assert np.array_equal(h_a, h_b)
    assert np.array_equal(last_a, h_a[:, -1])


def test_sequence_cache_layout():
    x, h0, p, _, _ = make()
    h, _, cache = rnn_forward(x, h0, p)
    assert len(cache) == 4
    assert cache[0] is x and cache[1] is h0 and cache[2] is h
    assert cache[3] is p
    h, _, cache = rnn_forward(x, h0, p, fast=True)
    assert cache[0] is x and cache[1] is h0 and cache[2] is h
    assert cache[3] is p and cache[4]["hs"].shape == (6, 5, 3)


def test_backward_accepts_hand_built_cache_on_both_paths():
    x, h0, p, dh, _ = make()
    h, _, cache = rnn_forward(x, h0, p, fast=True)
    ref = rnn_backward(dh, cache, fast=True)
    for fast in (False, True):
        out = rnn_backward(dh, (x, h0, h, p), fast=fast)
        assert rel_error(out[0], ref[0]) < 1e-12
        assert rel_error(out[1], ref[1]) < 1e-12
        for k in KEYS:
            assert rel_error(out[2][k], ref[2][k]) < 1e-12


# ---------------------------------------------------------- truncation

def truncated_objective(x, h0, p, k, starts):
    """States when each chunk starts from a constant state (graph cut)."""
    T = x.shape[1]
    parts = []
    for c, s in enumerate(range(0, T, k)):
        start = h0 if c == 0 else starts[c]
        h, _, _ = rnn_forward(x[:, s:s + k], start, p)
        parts.append(h)
    return np.concatenate(parts, axis=1)


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncated_bptt_gradcheck(k, fast):
    x, h0, p, dh, _ = make(T=7, seed=2)
    h, _, cache = rnn_forward(x, h0, p, fast=fast)
    # start state of each chunk, computed once and then held constant
    starts = [h0] + [h[:, s - 1].copy() for s in range(k, 7, k)]
    dx, dh0, grads = rnn_backward_truncated(dh, cache, k, fast=fast)

    def f():
        return truncated_objective(x, h0, p, k, starts)

    assert rel_error(dx, num_grad(f, x, dh)) < TOL
    assert rel_error(dh0, num_grad(f, h0, dh)) < TOL
    for name in KEYS:
        assert rel_error(grads[name], num_grad(f, p[name], dh)) < TOL

    full = rnn_backward(dh, cache, fast=fast)
    assert rel_error(grads["W_hh"], full[2]["W_hh"]) > 1e-3, \
        "truncation should change the gradient when k < T"


@pytest.mark.parametrize("fast", [False, True])
def test_truncated_equals_full_when_k_covers_sequence(fast):
    x, h0, p, dh, _ = make(T=6)
    _, _, cache = rnn_forward(x, h0, p, fast=fast)
    full = rnn_backward(dh, cache, fast=fast)
    for k in (6, 10):
        tr = rnn_backward_truncated(dh, cache, k, fast=fast)
        assert np.array_equal(tr[0], full[0])
        assert np.array_equal(tr[1], full[1])
        for name in KEYS:
            assert np.array_equal(tr[2][name], full[2][name])


@pytest.mark.parametrize("k", [1, 2, 4, 9])
def test_chunk_by_chunk_equals_truncated_cache(k):
    x, h0, p, dh, _ = make(T=9, seed=3)
    h, _, cache = rnn_forward(x, h0, p)
    h_c, dx_c, g_c = rnn_truncated_bptt(x, h0, p, dh, k)
    dx, _, grads = rnn_backward_truncated(dh, cache, k)
    assert rel_error(h_c, h) < 1e-12
    assert rel_error(dx_c, dx) < 1e-12
    for name in KEYS:
        assert rel_error(g_c[name], grads[name]) < 1e-12


@pytest.mark.parametrize("k", [0, -1, 2.0, True, None])
def test_truncation_rejects_bad_k(k):
    x, h0, p, dh, _ = make()
    with pytest.raises(ValueError, match="k must be a positive int"):
        rnn_truncated_bptt(x, h0, p, dh, k)


# --------------------------------------------------------- torch parity

def test_parity_with_torch_rnn_float64():
    N, T, D, H = 3, 6, 4, 5
    x, h0, p, dh, rng = make(N, T, D, H, seed=4, scale=1.0)
    dl = rng.standard_normal((N, H))
    torch.manual_seed(0)
    rnn = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(p["W_xh"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(p["W_hh"]))
        # torch has two biases; only their sum enters the cell
        rnn.bias_ih_l0.copy_(torch.from_numpy(0.3 * p["b_h"]))
        rnn.bias_hh_l0.copy_(torch.from_numpy(0.7 * p["b_h"]))
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0)[None].clone().requires_grad_()
    out, hn = rnn(xt, h0t)
    loss = (out * torch.from_numpy(dh)).sum() \
        + (hn[0] * torch.from_numpy(dl)).sum()
    loss.backward()
    for fast in (False, True):
        h, h_last, cache = rnn_forward(x, h0, p, fast=fast)
        dx, dh0, g = rnn_backward(dh, cache, dh_last=dl, fast=fast)
        assert np.abs(h - out.detach().numpy()).max() < 1e-10
        assert np.abs(h_last - hn[0].detach().numpy()).max() < 1e-10
        assert np.abs(dx - xt.grad.numpy()).max() < 1e-10
        assert np.abs(dh0 - h0t.grad[0].numpy()).max() < 1e-10
        pairs = [("W_xh", rnn.weight_ih_l0), ("W_hh", rnn.weight_hh_l0),
                 ("b_h", rnn.bias_ih_l0), ("b_h", rnn.bias_hh_l0)]
        for name, tp in pairs:
            assert np.abs(g[name] - tp.grad.numpy()).max() < 1e-10, name


# ------------------------------------------------ fast path, properties

dims = st.integers(min_value=1, max_value=5)


@settings(max_examples=25, deadline=None)
@given(N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fast_path_equals_readable_path(N, T, D, H, seed, dtype):
    x, h0, p, dh, _ = make(N, T, D, H, seed=seed, dtype=dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    h1, l1, c1 = rnn_forward(x, h0, p, fast=False)
    h2, l2, c2 = rnn_forward(x, h0, p, fast=True)
    assert h1.shape == h2.shape == (N, T, H)
    assert l1.shape == l2.shape == (N, H)
    assert h1.dtype == h2.dtype == l2.dtype == dtype
    assert np.abs(h1 - h2).max() <= tol
    assert np.array_equal(l2, h2[:, -1])
    for k in (None, 1, 2):
        b1 = rnn_backward_truncated(dh, c1, k)
        b2 = rnn_backward_truncated(dh, c2, k, fast=True)
        assert b1[0].shape == b2[0].shape == (N, T, D)
        assert b1[1].shape == b2[1].shape == (N, H)
        assert b2[0].dtype == b2[1].dtype == dtype
        assert np.abs(b1[0] - b2[0]).max() <= tol * (1 + T)
        assert np.abs(b1[1] - b2[1]).max() <= tol * (1 + T)
        for name in KEYS:
            assert b2[2][name].shape == p[name].shape
            assert b2[2][name].dtype == dtype
            assert np.abs(b1[2][name] - b2[2][name]).max() \
                <= tol * (1 + T) * N


@settings(max_examples=15, deadline=None)
@given(N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16),
       fast=st.booleans())
def test_float32_agrees_with_float64(N, T, D, H, seed, fast):
    x, h0, p, dh, _ = make(N, T, D, H, seed=seed, dtype=np.float32,
                           scale=1.0)
    up = {k: v.astype(np.float64) for k, v in p.items()}
    h32, _, c32 = rnn_forward(x, h0, p, fast=fast)
    h64, _, c64 = rnn_forward(x.astype(np.float64),
                              h0.astype(np.float64), up, fast=fast)
    assert np.abs(h32 - h64).max() < 1e-5
    g32 = rnn_backward(dh, c32, fast=fast)
    g64 = rnn_backward(dh.astype(np.float64), c64, fast=fast)
    assert np.abs(g32[0] - g64[0]).max() < 1e-4
    for name in KEYS:
        assert np.abs(g32[2][name] - g64[2][name]).max() < 1e-4


# ------------------------------------------------------------ bad input

def test_wrong_shapes_name_the_argument_and_expected_letters():
    x, h0, p, dh, _ = make(N=3, D=4, H=5)
    with pytest.raises(ValueError,
                       match=r"h_prev has shape \(3, 4\); expected "
                             r"\(N, H\) = \(3, 5\)"):
        rnn_step_forward(x[:, 0], h0[:, :4], p)
    with pytest.raises(ValueError,
                       match=r"x has shape \(3, 5, 3\); expected "
                             r"\(N, T, D\) = \(3, 5, 4\)"):
        rnn_forward(x[:, :, :3], h0, p)
    with pytest.raises(ValueError, match=r"x has 2 dimensions .*"
                                         r"expected 3 \(N, T, D\)"):
        rnn_forward(x[:, 0], h0, p)
    with pytest.raises(ValueError,
                       match=r"h0 has shape \(2, 5\); expected "
                             r"\(N, H\) = \(3, 5\)"):
        rnn_forward(x, h0[:2], p)
    bad = dict(p, W_hh=p["W_hh"][:, :4])
    with pytest.raises(ValueError,
                       match=r"params\['W_hh'\] has shape \(5, 4\); "
                             r"expected \(H, H\) = \(5, 5\)"):
        rnn_forward(x, h0, bad)
    bad = dict(p, b_h=p["b_h"][:4])
    with pytest.raises(ValueError, match=r"params\['b_h'\] has shape"):
        rnn_forward(x, h0, bad)
    _, _, cache = rnn_forward(x, h0, p)
    with pytest.raises(ValueError,
                       match=r"dh has shape \(3, 5, 4\); expected "
                             r"\(N, T, H\) = \(3, 5, 5\)"):
        rnn_backward(dh[..., :4], cache)
    with pytest.raises(ValueError, match=r"dh_last has shape"):
        rnn_backward(dh, cache, dh_last=h0[:, :4])


def test_missing_key_dtype_and_nan_errors():
    x, h0, p, dh, _ = make()
    with pytest.raises(KeyError, match=r"missing \['W_hh'\]"):
        rnn_forward(x, h0, {"W_xh": p["W_xh"], "b_h": p["b_h"]})
    with pytest.raises(TypeError, match=r"x has dtype float32; "
                                        r"expected float64"):
        rnn_forward(x.astype(np.float32), h0, p)
    with pytest.raises(TypeError, match=r"x has dtype int64"):
        rnn_forward(x.astype(np.int64), h0, p)
    with pytest.raises(TypeError, match="must be a numpy array"):
        rnn_forward(x.tolist(), h0, p)
    x_nan = x.copy()
    x_nan[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN.*\(1, 2, 3\)"):
        rnn_forward(x_nan, h0, p)
    p32 = dict(p, W_hh=p["W_hh"].astype(np.float32))
    with pytest.raises(TypeError, match="share one dtype"):
        rnn_forward(x, h0, p32)


# ------------------------------------------------------------ workspace

def test_workspace_reuse_gives_the_same_numbers():
    x, h0, p, dh, _ = make(N=4, T=6, D=3, H=5)
    ref_h, ref_last, ref_cache = rnn_forward(x, h0, p, fast=True)
    ref = rnn_backward(dh, ref_cache, fast=True)
    ws = Workspace()
    for _ in range(3):
        h, last, cache = rnn_forward(x, h0, p, fast=True, workspace=ws)
        out = rnn_backward(dh, cache, fast=True)
        assert np.array_equal(h, ref_h) and np.array_equal(last, ref_last)
        assert np.array_equal(out[0], ref[0])
        assert np.array_equal(out[1], ref[1])
        for k in KEYS:
            assert np.array_equal(out[2][k], ref[2][k])
    # returned arrays are fresh, not views of the workspace
    h2, _, _ = rnn_forward(2 * x, h0, p, fast=True, workspace=ws)
    assert np.array_equal(h, ref_h) and not np.array_equal(h2, h)


def test_workspace_follows_changing_shapes_and_dtypes():
    ws = Workspace()
    for N, T, dtype in ((2, 3, np.float64), (4, 7, np.float64),
                        (4, 7, np.float32), (1, 2, np.float64)):
        x, h0, p, dh, _ = make(N=N, T=T, dtype=dtype)
        h_ws, _, c_ws = rnn_forward(x, h0, p, fast=True, workspace=ws)
        h, _, c = rnn_forward(x, h0, p, fast=True)
        assert np.array_equal(h_ws, h)
        assert np.array_equal(rnn_backward(dh, c_ws, fast=True)[0],
                              rnn_backward(dh, c, fast=True)[0])


def test_stale_cache_and_workspace_misuse_raise():
    x, h0, p, dh, _ = make()
    ws = Workspace()
    _, _, old = rnn_forward(x, h0, p, fast=True, workspace=ws)
    _, _, new = rnn_forward(x, h0, p, fast=True, workspace=ws)
    rnn_backward(dh, new, fast=True)
    with pytest.raises(RuntimeError, match="cache was overwritten"):
        rnn_backward(dh, old, fast=True)
    with pytest.raises(ValueError, match="pass fast=True"):
        rnn_forward(x, h0, p, workspace=ws)


def test_readable_backward_refuses_a_fast_cache():
    x, h0, p, dh, _ = make()
    _, _, cache = rnn_forward(x, h0, p, fast=True)
    for call in (lambda: rnn_backward(dh, cache),
                 lambda: rnn_backward_truncated(dh, cache, 2)):
        with pytest.raises(ValueError, match="fast=True.*pass fast=True"):
            call()
    with pytest.raises(TypeError, match="cache must be the tuple"):
        rnn_backward(dh, [x, h0, cache[2], p])


# ------------------------------------------------------------ validation

def count_isfinite(monkeypatch):
    """Count the calls of np.isfinite (the NaN scan of the validation)."""
    calls = []
    isfinite = np.isfinite

    def counting(a, *args, **kwargs):
        calls.append(np.shape(a))
        return isfinite(a, *args, **kwargs)

    monkeypatch.setattr(np, "isfinite", counting)
    return calls


@pytest.mark.parametrize("fast", [False, True])
def test_inputs_are_scanned_once_not_at_every_step(monkeypatch, fast):
    counts = []
    for T in (2, 9):
        x, h0, p, dh, _ = make(T=T)
        calls = count_isfinite(monkeypatch)
        _, _, cache = rnn_forward(x, h0, p, fast=fast)
        rnn_backward(dh, cache, fast=fast)
        counts.append(len(calls))
        monkeypatch.undo()
    assert counts[0] == counts[1]
    assert counts[0] == 6          # x, h0, W_xh, W_hh, b_h; then dh


def test_step_functions_check_shapes_but_do_not_scan_for_nan():
    x, h0, p, dh, _ = make()
    bad = dict(p, W_hh=p["W_hh"].copy())
    bad["W_hh"][0, 0] = np.nan
    h_next, cache = rnn_step_forward(x[:, 0], h0, bad)    # no scan here
    assert np.isnan(h_next).any()
    with pytest.raises(ValueError, match=r"params\['W_hh'\] contains NaN"):
        rnn_forward(x, h0, bad)                           # scanned here
    with pytest.raises(ValueError, match=r"dh_next has shape"):
        rnn_step_backward(dh[:, 0, :4], cache)


@pytest.mark.parametrize("fast", [False, True])
def test_extra_keys_in_params_are_ignored(fast):
    """A model's dict may hold the head's weights too (lesson 3 does)."""
    x, h0, p, dh, rng = make()
    with_head = dict(p, W_hy=rng.standard_normal((2, 5)))
    h, _, cache = rnn_forward(x, h0, with_head, fast=fast)
    dx, dh0, grads = rnn_backward(dh, cache, fast=fast)
    ref = rnn_backward(dh, rnn_forward(x, h0, p)[2])
    assert set(grads) == set(KEYS)
    for k in KEYS:
        assert rel_error(grads[k], ref[2][k]) < 1e-12
    tr = rnn_backward_truncated(dh, cache, 2, fast=fast)
    assert set(tr[2]) == set(KEYS)
