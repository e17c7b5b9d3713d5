"""Tests for helpers/reference/attention.py: gradient checks, torch
parity, errors, properties of the weights and of the positional
encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.reference.attention import (additive_attention_backward,
                               additive_attention_forward,
                               dot_product_attention_backward,
                               dot_product_attention_forward,
                               init_additive_attention_params,
                               init_mha_params, masked_softmax,
                               mha_params_from_torch,
                               multi_head_attention_forward,
                               multi_head_self_attention_forward,
                               scaled_dot_product_attention_backward,
                               scaled_dot_product_attention_forward,
                               sinusoidal_positional_encoding)
from helpers.reference.gradcheck import (eval_numerical_gradient_array,
                                         rel_error)

GRAD_TOL = 1e-7
PARITY_TOL = 1e-10
# Step of the centred differences: the truncation error grows like h**2
# and the rounding error like eps / h; 1e-5 balances them for these
# outputs (their gradients go down to about 1e-4).
H_STEP = 1e-5
# Every attention cache is the tuple (Q, K, V, alpha, ...): the weights
# are its fourth entry.
ALPHA = 3


def t64(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _qkv(seed, N=2, T_q=3, T_k=4, d_k=5, d_v=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N, T_q, d_k)), rng.normal(size=(N, T_k, d_k)),
            rng.normal(size=(N, T_k, d_v)), rng)


def _mask(rng, N=2, T_q=3, T_k=4, full_row=False):
    mask = rng.random((N, T_q, T_k)) < 0.6
    mask[:, :, 0] = True                  # every query keeps one key
    if full_row:
        mask[1, 2, :] = False             # one query sees nothing
    return mask


# ---------------------------------------------------- gradient checks

@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_dot_product_attention_gradcheck(scaled, use_mask):
    Q, K, V, rng = _qkv(0)
    mask = _mask(rng, full_row=True) if use_mask else None
    dout = rng.normal(size=(2, 3, 3))
    if scaled:
        fwd, bwd = (scaled_dot_product_attention_forward,
                    scaled_dot_product_attention_backward)
    else:
        fwd, bwd = (dot_product_attention_forward,
                    dot_product_attention_backward)
    out, cache = fwd(Q, K, V, mask)
    dQ, dK, dV = bwd(dout, cache)

    def f():
        return fwd(Q, K, V, mask)[0]

    for name, x, dx in (("Q", Q, dQ), ("K", K, dK), ("V", V, dV)):
        num = eval_numerical_gradient_array(f, x, dout, h=H_STEP)
        assert rel_error(dx, num) < GRAD_TOL, name


@pytest.mark.parametrize("use_mask", [False, True])
def test_additive_attention_gradcheck(use_mask):
    rng = np.random.default_rng(1)
    N, T_q, T_k, d_q, d_k, d_v, A = 2, 3, 4, 5, 3, 2, 6
    Q = rng.normal(size=(N, T_q, d_q))
    K = rng.normal(size=(N, T_k, d_k))
    V = rng.normal(size=(N, T_k, d_v))
    params = init_additive_attention_params(d_q, d_k, A, rng)
    mask = _mask(rng, N, T_q, T_k, full_row=True) if use_mask else None
    dout = rng.normal(size=(N, T_q, d_v))
    out, cache = additive_attention_forward(Q, K, V, params, mask)
    assert out.shape == (N, T_q, d_v)
    dQ, dK, dV, grads = additive_attention_backward(dout, cache)

    def f():
        return additive_attention_forward(Q, K, V, params, mask)[0]

    checks = [("Q", Q, dQ), ("K", K, dK), ("V", V, dV)]
    checks += [(k, params[k], grads[k]) for k in ("W_q", "W_k", "v")]
    for name, x, dx in checks:
        num = eval_numerical_gradient_array(f, x, dout, h=H_STEP)
        assert rel_error(dx, num) < GRAD_TOL, name


# ------------------------------------------------------- torch parity

@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("scaled", [False, True])
def test_attention_matches_torch_sdpa(use_mask, scaled):
    Q, K, V, rng = _qkv(2)
    # Includes a query with no key to attend to: torch returns zeros.
    mask = _mask(rng, full_row=True) if use_mask else None
    dout = rng.normal(size=(2, 3, 3))
    Qt, Kt, Vt = t64(Q, True), t64(K, True), t64(V, True)
    scale = None if scaled else 1.0
    out_t = F.scaled_dot_product_attention(
        Qt, Kt, Vt, attn_mask=None if mask is None
        else torch.as_tensor(mask), scale=scale)
    out_t.backward(t64(dout))
    if scaled:
        out, cache = scaled_dot_product_attention_forward(Q, K, V, mask)
        grads = scaled_dot_product_attention_backward(dout, cache)
    else:
        out, cache = dot_product_attention_forward(Q, K, V, mask)
        grads = dot_product_attention_backward(dout, cache)
    assert rel_error(out, out_t.detach().numpy()) < PARITY_TOL
    for g, t in zip(grads, (Qt, Kt, Vt)):
        assert rel_error(g, t.grad.numpy()) < PARITY_TOL
    if use_mask:
        np.testing.assert_array_equal(out[1, 2], 0)


def test_mask_broadcasts_like_torch():
    Q, K, V, rng = _qkv(3)
    causal = np.tril(np.ones((3, 4), dtype=bool))     # (T_q, T_k)
    out, cache = scaled_dot_product_attention_forward(Q, K, V, causal)
    out_t = F.scaled_dot_product_attention(
        t64(Q), t64(K), t64(V), attn_mask=torch.as_tensor(causal))
    assert rel_error(out, out_t.numpy()) < PARITY_TOL
    assert np.all(cache[ALPHA][:, ~causal] == 0)


def _additive_torch(Q, K, V, params, mask):
    """Additive attention written directly with torch operations."""
    pre = (Q @ params["W_q"].T)[:, :, None, :] \
        + (K @ params["W_k"].T)[:, None, :, :]
    scores = torch.tanh(pre) @ params["v"]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, -1) @ V


def test_additive_attention_matches_torch_autograd():
    rng = np.random.default_rng(4)
    N, T_q, T_k, d_q, d_k, d_v, A = 3, 2, 5, 4, 6, 3, 7
    Q = rng.normal(size=(N, T_q, d_q))
    K = rng.normal(size=(N, T_k, d_k))
    V = rng.normal(size=(N, T_k, d_v))
    params = init_additive_attention_params(d_q, d_k, A, rng)
    mask = _mask(rng, N, T_q, T_k)
    dout = rng.normal(size=(N, T_q, d_v))
    tens = {k: t64(v, True) for k, v in
            dict(Q=Q, K=K, V=V, **params).items()}
    out_t = _additive_torch(tens["Q"], tens["K"], tens["V"], tens,
                            torch.as_tensor(mask))
    out_t.backward(t64(dout))
    out, cache = additive_attention_forward(Q, K, V, params, mask)
    dQ, dK, dV, grads = additive_attention_backward(dout, cache)
    assert rel_error(out, out_t.detach().numpy()) < PARITY_TOL
    ours = dict(Q=dQ, K=dK, V=dV, **grads)
    for key, g in ours.items():
        assert rel_error(g, tens[key].grad.numpy()) < PARITY_TOL, key


def _torch_mha(E, h, seed):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, h, batch_first=True,
                                      dtype=torch.float64)
    with torch.no_grad():                 # torch starts with zero biases
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    return mha


@pytest.mark.parametrize("use_mask", [False, True])
def test_mha_self_attention_matches_torch(use_mask):
    N, T, E, h = 2, 5, 8, 2
    mha = _torch_mha(E, h, 0)
    params = mha_params_from_torch(mha)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N, T, E))
    mask = np.tril(np.ones((T, T), dtype=bool)) if use_mask else None
    kw = {} if mask is None else {"attn_mask": torch.as_tensor(~mask)}
    xt = t64(x)
    out_t, w_avg = mha(xt, xt, xt, **kw)
    _, w_heads = mha(xt, xt, xt, average_attn_weights=False, **kw)
    out, cache = multi_head_self_attention_forward(x, params, h, mask)
    assert rel_error(out, out_t.detach().numpy()) < PARITY_TOL
    assert rel_error(cache[ALPHA], w_heads.detach().numpy()) < PARITY_TOL
    assert rel_error(cache[ALPHA].mean(1), w_avg.detach().numpy()) \
        < PARITY_TOL


def test_mha_cross_attention_matches_torch():
    N, T_q, T_k, E, h = 3, 2, 4, 6, 3
    mha = _torch_mha(E, h, 1)
    rng = np.random.default_rng(6)
    q = rng.normal(size=(N, T_q, E))
    kv = rng.normal(size=(N, T_k, E))
    keep = np.ones((N, T_k), dtype=bool)
    keep[0, 2:] = False                   # padding in sample 0
    out_t, w_t = mha(t64(q), t64(kv), t64(kv),
                     key_padding_mask=torch.as_tensor(~keep))
    out, cache = multi_head_attention_forward(
        q, kv, kv, mha_params_from_torch(mha), h, keep[:, None, :])
    assert rel_error(out, out_t.detach().numpy()) < PARITY_TOL
    assert rel_error(cache[ALPHA].mean(1), w_t.detach().numpy()) \
        < PARITY_TOL


def test_mha_params_from_torch_layout_and_errors():
    mha = _torch_mha(4, 2, 2)
    params = mha_params_from_torch(mha)
    assert params["W_in"].shape == (12, 4)
    assert params["b_in"].shape == (12,)
    assert params["W_out"].shape == (4, 4)
    assert params["W_in"].dtype == np.float64
    params["W_in"][0, 0] += 1             # a copy, not a view
    assert mha.in_proj_weight[0, 0].item() != params["W_in"][0, 0]
    sep = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=3)
    with pytest.raises(ValueError, match="separate q/k/v projections"):
        mha_params_from_torch(sep)
    nob = torch.nn.MultiheadAttention(4, 2, bias=False)
    with pytest.raises(ValueError, match="bias=False"):
        mha_params_from_torch(nob)


def test_additive_attention_float32():
    rng = np.random.default_rng(9)
    params = init_additive_attention_params(3, 4, 5, rng, np.float32)
    assert all(p.dtype == np.float32 for p in params.values())
    Q = rng.normal(size=(2, 1, 3)).astype(np.float32)
    K = rng.normal(size=(2, 6, 4)).astype(np.float32)
    out, cache = additive_attention_forward(Q, K, K, params)
    assert out.dtype == np.float32 and out.shape == (2, 1, 4)
    grads = additive_attention_backward(np.ones_like(out), cache)
    assert all(g.dtype == np.float32 for g in grads[:3])
    assert all(g.dtype == np.float32 for g in grads[3].values())


def test_mha_float32_and_init():
    rng = np.random.default_rng(7)
    params = init_mha_params(6, rng, dtype=np.float32)
    x = rng.normal(size=(2, 3, 6)).astype(np.float32)
    out, cache = multi_head_self_attention_forward(x, params, 3)
    assert out.dtype == np.float32 and out.shape == (2, 3, 6)
    assert cache[ALPHA].shape == (2, 3, 3, 3)


# ---------------------------------------------------------------- errors

def test_attention_errors():
    Q, K, V, _ = _qkv(8)
    with pytest.raises(ValueError,
                       match=r"K has shape \(2, 4, 4\); expected "
                             r"\(N, T_k, d_k\) = \(2, 4, 5\)"):
        scaled_dot_product_attention_forward(Q, K[:, :, :4], V)
    with pytest.raises(ValueError, match=r"V has shape \(2, 3, 3\)"):
        scaled_dot_product_attention_forward(Q, K, V[:, :3])
    with pytest.raises(TypeError, match="mask must be a boolean"):
        scaled_dot_product_attention_forward(Q, K, V, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"mask has shape \(3, 3\); "
                                         r"expected a shape that "
                                         r"broadcasts"):
        scaled_dot_product_attention_forward(
            Q, K, V, np.ones((3, 3), dtype=bool))
    with pytest.raises(TypeError, match="share one dtype"):
        scaled_dot_product_attention_forward(Q.astype(np.float32), K, V)
    params = init_mha_params(6, np.random.default_rng(0))
    x = np.zeros((1, 2, 6))
    with pytest.raises(ValueError, match="num_heads is 4; it must be a "
                                         "positive integer that divides "
                                         "E = 6"):
        multi_head_self_attention_forward(x, params, 4)
    with pytest.raises(ValueError, match=r"params\['W_in'\] has shape"):
        multi_head_self_attention_forward(np.zeros((1, 2, 4)), params, 2)
    with pytest.raises(KeyError, match=r"missing \['v'\]"):
        additive_attention_forward(Q, K, V, {"W_q": 0, "W_k": 0})


# ------------------------------------------------------------ properties

@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 3), T_q=st.integers(1, 4), T_k=st.integers(1, 5),
       d_k=st.integers(1, 4), d_v=st.integers(1, 3),
       seed=st.integers(0, 10**6))
def test_property_weights_are_a_distribution_over_kept_keys(
        N, T_q, T_k, d_k, d_v, seed):
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(N, T_q, d_k)) * 3
    K = rng.normal(size=(N, T_k, d_k)) * 3
    V = rng.normal(size=(N, T_k, d_v))
    mask = rng.random((N, T_q, T_k)) < 0.5
    out, cache = scaled_dot_product_attention_forward(Q, K, V, mask)
    alpha = cache[ALPHA]
    assert out.shape == (N, T_q, d_v)
    assert np.all(alpha >= 0)
    assert np.all(alpha[~mask] == 0)                  # mask respected
    any_kept = mask.any(-1)
    np.testing.assert_allclose(alpha.sum(-1)[any_kept], 1.0, rtol=1e-12)
    assert np.all(alpha.sum(-1)[~any_kept] == 0)
    np.testing.assert_allclose(out, alpha @ V, rtol=1e-12, atol=1e-12)
    # Values at masked keys do not matter.
    V2 = V + 100 * (~mask.any(1))[:, :, None]
    out2, _ = scaled_dot_product_attention_forward(Q, K, V2, mask)
    np.testing.assert_allclose(out2, out, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       scale=st.sampled_from([1.0, 1e3, 1e6]), seed=st.integers(0, 10**6))
def test_property_masked_softmax_is_stable(shape, scale, seed):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=shape) * scale
    p = masked_softmax(s)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)


# ------------------------------------------------- positional encoding

def test_positional_encoding_values():
    T, d = 6, 8
    pe = sinusoidal_positional_encoding(T, d)
    assert pe.shape == (T, d) and pe.dtype == np.float64
    np.testing.assert_array_equal(pe[0, 0::2], 0.0)   # sin(0)
    np.testing.assert_array_equal(pe[0, 1::2], 1.0)   # cos(0)
    for pos in range(T):
        for i in range(d // 2):
            w = 1.0 / 10000 ** (2 * i / d)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(pos * w))
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos * w))
    assert np.all(np.abs(pe) <= 1)


def test_positional_encoding_shift_is_a_rotation():
    T, d, k = 20, 10, 3
    pe = sinusoidal_positional_encoding(T, d)
    w = 1.0 / 10000 ** (np.arange(0, d, 2) / d)
    for i, wi in enumerate(w):
        c, s = math.cos(k * wi), math.sin(k * wi)
        R = np.array([[c, -s], [s, c]])   # acts on row vectors (sin, cos)
        pair = pe[:, 2 * i: 2 * i + 2]
        np.testing.assert_allclose(pair[:-k] @ R, pair[k:], atol=1e-12)


def test_positional_encoding_odd_width_and_errors():
    pe = sinusoidal_positional_encoding(4, 5, dtype=np.float32)
    assert pe.shape == (4, 5) and pe.dtype == np.float32
    np.testing.assert_allclose(pe[:, 4], np.sin(np.arange(4) / 10000 **
                                                (4 / 5)), rtol=1e-6)
    with pytest.raises(ValueError, match="d_model must be a positive"):
        sinusoidal_positional_encoding(4, 0)
    with pytest.raises(ValueError, match="T must be a positive"):
        sinusoidal_positional_encoding(2.5, 4)


def test_caches_are_tuples_that_start_with_the_inputs_and_weights():
    Q, K, V, rng = _qkv(7)
    params = init_additive_attention_params(5, 5, 6, rng)
    x, kv = rng.normal(size=(2, 3, 6)), rng.normal(size=(2, 2, 6))
    mha = init_mha_params(6, rng)
    runs = [dot_product_attention_forward(Q, K, V),
            scaled_dot_product_attention_forward(Q, K, V),
            additive_attention_forward(Q, K, V, params),
            multi_head_attention_forward(x, kv, kv, mha, 2)]
    inputs = [(Q, K, V)] * 3 + [(x, kv, kv)]
    for (out, cache), qkv in zip(runs, inputs):
        assert isinstance(cache, tuple)
        assert all(c is i for c, i in zip(cache[:3], qkv))
        alpha = cache[ALPHA]
        assert alpha.shape[-2:] == (qkv[0].shape[1], qkv[1].shape[1])
        assert np.allclose(alpha.sum(-1), 1.0)
    assert runs[2][1][4] is params and runs[3][1][4] is mha
