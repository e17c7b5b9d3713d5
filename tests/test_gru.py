"""Tests for helpers/reference/gru.py and its fast twin helpers/fast/gru.py,
both the Cho et al. and the PyTorch form: gradient checks, torch parity,
the exact difference between the forms, fast path and input
validation."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.fast import Workspace
from helpers.reference.gradcheck import (eval_numerical_gradient_array,
                                         rel_error)
from helpers.reference.gru import (gru_backward, gru_forward,
                                   gru_step_backward, gru_step_forward,
                                   gru_torch_backward, gru_torch_forward,
                                   gru_torch_step_backward,
                                   gru_torch_step_forward, init_gru_params,
                                   init_gru_torch_params)
from helpers.reference.layers import sigmoid

TOL = 1e-7
FORMS = {
    "cho": (gru_step_forward, gru_step_backward, gru_forward,
            gru_backward, init_gru_params, ("W", "U", "b")),
    "torch": (gru_torch_step_forward, gru_torch_step_backward,
              gru_torch_forward, gru_torch_backward, init_gru_torch_params,
              ("W", "U", "b_x", "b_h")),
}


def num_grad(f, x, dout):
    return eval_numerical_gradient_array(f, x, dout, h=1e-3, order=4)


def make(form, N=3, T=5, D=4, H=5, seed=0, dtype=np.float64, scale=2.0):
    rng = np.random.default_rng(seed)
    p = FORMS[form][4](D, H, rng, dtype)
    for k in p:
        p[k] *= scale
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    return x, h0, p, dh, rng


def test_cho_step_matches_syllabus_equations():
    x, h0, p, _, _ = make("cho")
    H = h0.shape[1]
    xt = x[:, 0].copy()
    W_r, W_z, W_h = p["W"][:H], p["W"][H:2 * H], p["W"][2 * H:]
    U_r, U_z, U_h = p["U"][:H], p["U"][H:2 * H], p["U"][2 * H:]
    b_r, b_z, b_h = p["b"][:H], p["b"][H:2 * H], p["b"][2 * H:]
    r = sigmoid(xt @ W_r.T + h0 @ U_r.T + b_r)
    z = sigmoid(xt @ W_z.T + h0 @ U_z.T + b_z)
    h_tilde = np.tanh(xt @ W_h.T + (r * h0) @ U_h.T + b_h)
    h_next, cache = gru_step_forward(xt, h0, p)
    assert np.abs(h_next - ((1 - z) * h0 + z * h_tilde)).max() < 1e-14
    assert len(cache) == 6


def test_torch_step_matches_pytorch_equations():
    x, h0, p, _, _ = make("torch")
    H = h0.shape[1]
    xt = x[:, 0].copy()
    gx = xt @ p["W"].T + p["b_x"]
    gh = h0 @ p["U"].T + p["b_h"]
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    h_next, cache = gru_torch_step_forward(xt, h0, p)
    assert np.abs(h_next - ((1 - z) * n + z * h0)).max() < 1e-14
    assert len(cache) == 7


def cho_as_torch(p, H):
    """Torch-form parameters computing the same function as Cho-form
    ``p``, valid only when U_h = 0 (then the reset gate placement does not
    matter): z is swapped for 1 - z by negating the z block."""
    sign = np.ones((3 * H, 1))
    sign[H:2 * H] = -1.0
    return {"W": p["W"] * sign, "U": p["U"] * sign,
            "b_x": p["b"] * sign[:, 0], "b_h": np.zeros(3 * H)}


def test_the_two_forms_differ_exactly_as_documented():
    x, h0, p, _, _ = make("cho", seed=3)
    H = h0.shape[1]
    p["U"][2 * H:] = 0.0        # no U_h: only the z convention differs
    h_cho, _, _ = gru_forward(x, h0, p)
    h_pt, _, _ = gru_torch_forward(x, h0, cho_as_torch(p, H))
    assert np.abs(h_cho - h_pt).max() < 1e-14
    # with U_h != 0 the reset gate acts before vs after U_h: different
    x, h0, p, _, _ = make("cho", seed=3)
    h_cho, _, _ = gru_forward(x, h0, p)
    h_pt, _, _ = gru_torch_forward(x, h0, cho_as_torch(p, H))
    assert np.abs(h_cho - h_pt).max() > 1e-3


@pytest.mark.parametrize("form", FORMS)
def test_step_backward_gradcheck(form):
    step_f, step_b, _, _, _, keys = FORMS[form]
    x, h0, p, dh, _ = make(form)
    xt, dnext = x[:, 0].copy(), dh[:, 0].copy()
    _, cache = step_f(xt, h0, p)
    dx, dh_prev, grads = step_b(dnext, cache)

    def f():
        return step_f(xt, h0, p)[0]

    assert rel_error(dx, num_grad(f, xt, dnext)) < TOL
    assert rel_error(dh_prev, num_grad(f, h0, dnext)) < TOL
    for k in keys:
        assert rel_error(grads[k], num_grad(f, p[k], dnext)) < TOL, k


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("form", FORMS)
def test_sequence_backward_gradcheck(form, fast):
    _, _, fwd, bwd, _, keys = FORMS[form]
    x, h0, p, dh, rng = make(form, seed=1)
    dl = rng.standard_normal(h0.shape)
    _, _, cache = fwd(x, h0, p, fast=fast)
    dx, dh0, grads = bwd(dh, cache, dl, fast=fast)

    def f():
        h, h_last, _ = fwd(x, h0, p, fast=fast)
        return np.concatenate([h.ravel(), h_last.ravel()])

    dout = np.concatenate([dh.ravel(), dl.ravel()])
    assert rel_error(dx, num_grad(f, x, dout)) < TOL
    assert rel_error(dh0, num_grad(f, h0, dout)) < TOL
    for k in keys:
        assert rel_error(grads[k], num_grad(f, p[k], dout)) < TOL, k


def test_parity_with_torch_gru_float64():
    N, T, D, H = 3, 6, 4, 5
    x, h0, p, dh, rng = make("torch", N, T, D, H, seed=2, scale=1.0)
    dl = rng.standard_normal((N, H))
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(p["W"]))
        gru.weight_hh_l0.copy_(torch.from_numpy(p["U"]))
        gru.bias_ih_l0.copy_(torch.from_numpy(p["b_x"]))
        gru.bias_hh_l0.copy_(torch.from_numpy(p["b_h"]))
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0)[None].clone().requires_grad_()
    out, hn = gru(xt, h0t)
    ((out * torch.from_numpy(dh)).sum()
     + (hn[0] * torch.from_numpy(dl)).sum()).backward()
    for fast in (False, True):
        h, h_last, cache = gru_torch_forward(x, h0, p, fast=fast)
        dx, dh0, g = gru_torch_backward(dh, cache, dl, fast=fast)
        checks = [(h, out), (h_last, hn[0]), (dx, xt.grad),
                  (dh0, h0t.grad[0]), (g["W"], gru.weight_ih_l0.grad),
                  (g["U"], gru.weight_hh_l0.grad),
                  (g["b_x"], gru.bias_ih_l0.grad),
                  (g["b_h"], gru.bias_hh_l0.grad)]
        for j, (mine, ref) in enumerate(checks):
            err = np.abs(mine - ref.detach().numpy()).max()
            assert err < 1e-10, (fast, j, err)


@pytest.mark.parametrize("form", FORMS)
def test_sequence_cache_layout_and_backward_paths(form):
    _, _, fwd, bwd, _, keys = FORMS[form]
    x, h0, p, dh, _ = make(form)
    h, _, readable = fwd(x, h0, p)
    assert len(readable) == 5
    assert readable[0] is x and readable[1] is h0 and readable[2] is h
    assert readable[3] is p
    assert isinstance(readable[4], list) and len(readable[4]) == 5
    h, _, fast = fwd(x, h0, p, fast=True)
    assert len(fast) == 5 and fast[0] is x and fast[1] is h0
    assert fast[2] is h and fast[3] is p and fast[4]["hs"].shape == (6, 5, 3)
    # fast=True also takes a readable cache; fast=False refuses a fast one
    ref = bwd(dh, fast, fast=True)
    out = bwd(dh, readable, fast=True)
    for a, b in zip(out[:2], ref[:2]):
        assert np.array_equal(a, b)
    for k in keys:
        assert np.array_equal(out[2][k], ref[2][k])
    with pytest.raises(ValueError, match="pass fast=True"):
        bwd(dh, fast)


dims = st.integers(min_value=1, max_value=5)


@settings(max_examples=20, deadline=None)
@given(form=st.sampled_from(sorted(FORMS)), N=dims, T=dims, D=dims,
       H=dims, seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fast_path_equals_readable_path(form, N, T, D, H, seed, dtype):
    _, _, fwd, bwd, _, keys = FORMS[form]
    x, h0, p, dh, _ = make(form, N, T, D, H, seed=seed, dtype=dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    h1, l1, c1 = fwd(x, h0, p, fast=False)
    h2, l2, c2 = fwd(x, h0, p, fast=True, workspace=Workspace())
    assert h1.shape == h2.shape == (N, T, H)
    assert l1.shape == l2.shape == (N, H)
    assert h2.dtype == l2.dtype == dtype
    assert np.abs(h1 - h2).max() <= tol
    assert np.array_equal(l2, h2[:, -1])
    b1, b2 = bwd(dh, c1), bwd(dh, c2, fast=True)
    assert b2[0].shape == (N, T, D) and b2[1].shape == (N, H)
    for a, b in zip(b1[:2], b2[:2]):
        assert b.dtype == dtype
        assert np.abs(a - b).max() <= tol * 10 * T
    for k in keys:
        assert b2[2][k].shape == p[k].shape and b2[2][k].dtype == dtype
        assert np.abs(b1[2][k] - b2[2][k]).max() <= tol * 10 * T * N


@settings(max_examples=10, deadline=None)
@given(form=st.sampled_from(sorted(FORMS)), N=dims, T=dims, D=dims,
       H=dims, seed=st.integers(0, 2**16), fast=st.booleans())
def test_float32_agrees_with_float64(form, N, T, D, H, seed, fast):
    _, _, fwd, bwd, _, keys = FORMS[form]
    x, h0, p, dh, _ = make(form, N, T, D, H, seed=seed, dtype=np.float32,
                           scale=1.0)
    up = {k: v.astype(np.float64) for k, v in p.items()}
    h32, _, c32 = fwd(x, h0, p, fast=fast)
    h64, _, c64 = fwd(x.astype(np.float64), h0.astype(np.float64), up,
                      fast=fast)
    assert np.abs(h32 - h64).max() < 1e-5
    g32 = bwd(dh, c32, fast=fast)
    g64 = bwd(dh.astype(np.float64), c64, fast=fast)
    assert np.abs(g32[0] - g64[0]).max() < 1e-4
    for k in keys:
        assert np.abs(g32[2][k] - g64[2][k]).max() < 1e-4


def test_stale_cache_raises():
    x, h0, p, dh, _ = make("torch")
    ws = Workspace()
    _, _, old = gru_torch_forward(x, h0, p, fast=True, workspace=ws)
    gru_torch_forward(x, h0, p, fast=True, workspace=ws)
    with pytest.raises(RuntimeError, match="overwritten"):
        gru_torch_backward(dh, old, fast=True)


def test_bad_inputs_raise_clear_errors():
    x, h0, p, dh, _ = make("torch", N=3, D=4, H=5)
    with pytest.raises(KeyError, match=r"missing \['b_x', 'b_h'\]"):
        gru_torch_forward(x, h0, {"W": p["W"], "U": p["U"], "b": p["b_x"]})
    with pytest.raises(ValueError, match=r"params\['b_h'\] has shape "
                                         r"\(5,\); expected \(3H\) = "
                                         r"\(15,\)"):
        gru_torch_forward(x, h0, dict(p, b_h=p["b_h"][:5]))
    cho = {"W": p["W"], "U": p["U"], "b": p["b_x"]}
    with pytest.raises(ValueError, match=r"params\['W'\] has shape "
                                         r"\(12, 4\); expected \(3H, D\) "
                                         r"= \(15, 4\)"):
        gru_forward(x, h0, dict(cho, W=p["W"][:12]))
    with pytest.raises(ValueError, match=r"h_prev has shape \(3, 4\); "
                                         r"expected \(N, H\) = \(3, 5\)"):
        gru_torch_step_forward(x[:, 0], h0[:, :4], p)
    with pytest.raises(ValueError, match=r"x has 2 dimensions"):
        gru_forward(x[:, 0], h0, cho)
    _, _, cache = gru_torch_forward(x, h0, p)
    with pytest.raises(TypeError, match=r"dh has dtype float32"):
        gru_torch_backward(dh.astype(np.float32), cache)
    with pytest.raises(ValueError, match=r"dh_last has shape"):
        gru_torch_backward(dh, cache, dh_last=h0[:1])
