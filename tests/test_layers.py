"""Tests for helpers/reference/layers.py: gradient checks, torch parity,
errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.reference.gradcheck import (eval_numerical_gradient,
                               eval_numerical_gradient_array, rel_error)
from helpers.reference.layers import (SGD, Adam, clip_grad_norm,
                                      embedding_backward, embedding_forward,
                                      sgd_update, sigmoid, softmax,
                                      temporal_affine_backward,
                                      temporal_affine_forward,
                                      temporal_softmax_loss)

GRAD_TOL = 1e-7
PARITY_TOL = 1e-10


def t64(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# -------------------------------------------------------------- sigmoid

def test_sigmoid_is_stable_at_extremes():
    a = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no overflow warning
        s = sigmoid(a)
    assert s[0] == 0.0 and s[2] == 0.5 and s[4] == 1.0
    assert np.all(np.isfinite(s))


def test_sigmoid_matches_torch_and_keeps_the_dtype():
    a = np.linspace(-30, 30, 61)
    assert rel_error(sigmoid(a), torch.sigmoid(t64(a)).numpy()) < 1e-14
    assert sigmoid(a.astype(np.float32)).dtype == np.float32


# ------------------------------------------------------------- embedding

def test_embedding_gradcheck():
    rng = np.random.default_rng(0)
    N, T, V, D = 3, 5, 7, 4
    x = rng.integers(0, V, size=(N, T))
    x[0, :3] = 2                          # repeated indices accumulate
    W_e = rng.normal(size=(V, D))
    dout = rng.normal(size=(N, T, D))
    out, cache = embedding_forward(x, W_e)
    grads = embedding_backward(dout, cache)
    num = eval_numerical_gradient_array(
        lambda: embedding_forward(x, W_e)[0], W_e, dout)
    assert set(grads) == {"W_e"}
    assert rel_error(grads["W_e"], num) < GRAD_TOL


def test_embedding_matches_torch():
    rng = np.random.default_rng(1)
    N, T, V, D = 4, 6, 5, 3
    x = rng.integers(0, V, size=(N, T))
    x[:, 0] = 1                           # every sequence repeats token 1
    W_e = rng.normal(size=(V, D))
    dout = rng.normal(size=(N, T, D))
    emb = torch.nn.Embedding(V, D, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(t64(W_e))
    out_t = emb(torch.as_tensor(x))
    out_t.backward(t64(dout))
    out, cache = embedding_forward(x, W_e)
    dW = embedding_backward(dout, cache)["W_e"]
    assert rel_error(out, out_t.detach().numpy()) < PARITY_TOL
    assert rel_error(dW, emb.weight.grad.numpy()) < PARITY_TOL


def test_embedding_float32_keeps_dtype():
    x = np.array([[0, 1, 1]])
    W_e = np.ones((2, 3), dtype=np.float32)
    out, cache = embedding_forward(x, W_e)
    assert out.dtype == np.float32
    dW = embedding_backward(np.ones((1, 3, 3), np.float32), cache)["W_e"]
    assert dW.dtype == np.float32
    np.testing.assert_array_equal(dW, [[1, 1, 1], [2, 2, 2]])


def test_embedding_errors():
    W_e = np.zeros((5, 2))
    with pytest.raises(IndexError, match=r"index 5.*\[0, 5\)"):
        embedding_forward(np.array([[0, 5]]), W_e)
    with pytest.raises(TypeError, match="integer dtype"):
        embedding_forward(np.array([[0.0, 1.0]]), W_e)
    with pytest.raises(ValueError, match=r"expected 2 \(N, T\)"):
        embedding_forward(np.array([0, 1]), W_e)


# ------------------------------------------------ time-distributed affine

def test_temporal_affine_gradcheck():
    rng = np.random.default_rng(2)
    N, T, H, K = 2, 4, 5, 3
    x = rng.normal(size=(N, T, H))
    W = rng.normal(size=(K, H))
    b = rng.normal(size=(K,))
    dout = rng.normal(size=(N, T, K))
    out, cache = temporal_affine_forward(x, W, b)
    assert out.shape == (N, T, K)
    dx, grads = temporal_affine_backward(dout, cache)

    def f():
        return temporal_affine_forward(x, W, b)[0]

    assert rel_error(dx, eval_numerical_gradient_array(f, x, dout)) \
        < GRAD_TOL
    assert rel_error(grads["W"],
                     eval_numerical_gradient_array(f, W, dout)) < GRAD_TOL
    assert rel_error(grads["b"],
                     eval_numerical_gradient_array(f, b, dout)) < GRAD_TOL


def test_temporal_affine_matches_torch_linear():
    rng = np.random.default_rng(3)
    N, T, H, K = 3, 5, 4, 6
    x = rng.normal(size=(N, T, H))
    dout = rng.normal(size=(N, T, K))
    lin = torch.nn.Linear(H, K, dtype=torch.float64)
    xt = t64(x, grad=True)
    lin(xt).backward(t64(dout))
    W = lin.weight.detach().numpy()
    b = lin.bias.detach().numpy()
    out, cache = temporal_affine_forward(x, W, b)
    dx, grads = temporal_affine_backward(dout, cache)
    assert rel_error(out, lin(xt).detach().numpy()) < PARITY_TOL
    assert rel_error(dx, xt.grad.numpy()) < PARITY_TOL
    assert rel_error(grads["W"], lin.weight.grad.numpy()) < PARITY_TOL
    assert rel_error(grads["b"], lin.bias.grad.numpy()) < PARITY_TOL


def test_temporal_affine_errors():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"W has shape \(5, 3\); "
                                         r"expected \(K, H\) = \(5, 4\)"):
        temporal_affine_forward(x, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match=r"b has shape"):
        temporal_affine_forward(x, np.zeros((5, 4)), np.zeros(4))
    with pytest.raises(TypeError, match="share one dtype"):
        temporal_affine_forward(x.astype(np.float32), np.zeros((5, 4)),
                                np.zeros(5))


# ------------------------------------------------------ softmax loss

def _loss_case(seed, N=3, T=4, K=5, scale=2.0):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(N, T, K)) * scale
    y = rng.integers(0, K, size=(N, T))
    mask = rng.random((N, T)) < 0.7
    mask[0, 0] = True
    return scores, y, mask


@pytest.mark.parametrize("reduction", ["mean", "sum", "batch"])
def test_temporal_softmax_loss_gradcheck(reduction):
    # Mild scores keep every gradient entry well above the rounding error
    # of the difference quotient (about eps * loss / h); peaked scores
    # are covered by the torch parity test below.
    scores, y, mask = _loss_case(4, K=4, scale=0.3)
    loss, dscores = temporal_softmax_loss(scores, y, mask, reduction)
    num = eval_numerical_gradient(
        lambda: temporal_softmax_loss(scores, y, mask, reduction)[0],
        scores)
    assert rel_error(dscores, num) < GRAD_TOL
    # Masked steps get exactly zero gradient.
    assert np.all(dscores[~mask] == 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "batch"])
def test_temporal_softmax_loss_matches_torch(reduction):
    scores, y, mask = _loss_case(5)
    N, T, K = scores.shape
    y_pad = np.where(mask, y, -100)       # torch's ignore_index
    st_ = t64(scores, grad=True)
    torch_red = "mean" if reduction == "mean" else "sum"
    loss_t = F.cross_entropy(st_.reshape(N * T, K),
                             torch.as_tensor(y_pad.reshape(N * T)),
                             ignore_index=-100, reduction=torch_red)
    if reduction == "batch":
        loss_t = loss_t / N
    loss_t.backward()
    # Masked targets may be any integer, e.g. a padding id out of range.
    loss, dscores = temporal_softmax_loss(scores, np.where(mask, y, 99),
                                          mask, reduction)
    assert abs(loss - loss_t.item()) <= PARITY_TOL * abs(loss_t.item())
    assert rel_error(dscores, st_.grad.numpy()) < PARITY_TOL


def test_temporal_softmax_loss_is_stable_for_huge_scores():
    scores = np.array([[[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]]])
    y = np.array([[0, 2]])
    loss, dscores = temporal_softmax_loss(scores, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    # Step 0 is right with certainty (loss 0); step 1 costs 1e4.
    assert loss == pytest.approx(1e4 / 2)


def test_temporal_softmax_loss_float32():
    scores, y, mask = _loss_case(6)
    loss, dscores = temporal_softmax_loss(scores.astype(np.float32), y,
                                          mask)
    ref, _ = temporal_softmax_loss(scores, y, mask)
    assert dscores.dtype == np.float32
    assert loss == pytest.approx(ref, rel=1e-5)


def test_temporal_softmax_loss_errors():
    scores = np.zeros((2, 3, 4))
    y = np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match=r"y has shape \(3, 2\); "
                                         r"expected \(N, T\)"):
        temporal_softmax_loss(scores, y.T.copy())
    with pytest.raises(TypeError, match="mask must be a boolean"):
        temporal_softmax_loss(scores, y, np.ones((2, 3)))
    with pytest.raises(ValueError, match="mask keeps no time step"):
        temporal_softmax_loss(scores, y, np.zeros((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="reduction is 'avg'"):
        temporal_softmax_loss(scores, y, reduction="avg")
    with pytest.raises(IndexError, match=r"class 4 .*\[0, 4\)"):
        temporal_softmax_loss(scores, y + 4)
    with pytest.raises(ValueError, match="NaN"):
        temporal_softmax_loss(np.full((2, 3, 4), np.nan), y)
    # An all-masked batch with reduction="sum" is fine: zero loss.
    loss, d = temporal_softmax_loss(scores, y, np.zeros((2, 3), bool),
                                    "sum")
    assert loss == 0 and not d.any()


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 4), T=st.integers(1, 5), K=st.integers(2, 6),
       scale=st.sampled_from([1e-3, 1.0, 1e3]), seed=st.integers(0, 10**6))
def test_property_loss_ignores_masked_steps(N, T, K, scale, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(N, T, K)) * scale
    y = rng.integers(0, K, size=(N, T))
    mask = rng.random((N, T)) < 0.5
    mask[0, 0] = True
    loss, dscores = temporal_softmax_loss(scores, y, mask)
    # Changing the scores of masked steps does not change anything.
    scores2 = np.where(mask[..., None], scores,
                       rng.normal(size=scores.shape) * 1e3)
    loss2, dscores2 = temporal_softmax_loss(scores2, y, mask)
    assert loss == loss2
    np.testing.assert_array_equal(dscores, dscores2)
    assert np.isfinite(loss) and loss >= 0
    # The gradient at each kept step is (softmax - onehot) / count,
    # so it sums to zero over the classes.
    np.testing.assert_allclose(dscores.sum(-1), 0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       scale=st.sampled_from([1.0, 1e2, 1e4]), seed=st.integers(0, 10**6))
def test_property_softmax_rows_sum_to_one(shape, scale, seed):
    x = np.random.default_rng(seed).normal(size=shape) * scale
    p = softmax(x)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)


# ------------------------------------------------------------- clipping

def _grads(rng, scale):
    return {"W": rng.normal(size=(3, 4)) * scale,
            "b": rng.normal(size=(3,)) * scale}


@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0),
                                             (1.0, 0.5)])
def test_clip_grad_norm_matches_torch(scale, max_norm):
    rng = np.random.default_rng(7)
    grads = _grads(rng, scale)
    before = {k: v.copy() for k, v in grads.items()}
    tensors = [torch.zeros(g.shape, dtype=torch.float64,
                           requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = t64(g)
    norm_t = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    clipped, norm = clip_grad_norm(grads, max_norm)
    assert abs(norm - norm_t.item()) <= PARITY_TOL * norm
    for t, key in zip(tensors, grads):
        assert rel_error(clipped[key], t.grad.numpy()) < PARITY_TOL
        np.testing.assert_array_equal(grads[key], before[key])  # untouched
    new_norm = np.sqrt(sum(np.sum(g ** 2) for g in clipped.values()))
    assert new_norm <= max_norm + 1e-9
    if norm <= max_norm:
        assert new_norm == pytest.approx(norm)


def test_clip_grad_norm_zero_grads_and_errors():
    zeros = {"W": np.zeros((2, 2)), "b": np.zeros(2, dtype=np.float32)}
    clipped, norm = clip_grad_norm(zeros, 1.0)
    assert norm == 0.0
    assert all(np.all(g == 0) for g in clipped.values())
    assert clipped["b"].dtype == np.float32
    with pytest.raises(ValueError, match="max_norm must be a positive"):
        clip_grad_norm(zeros, 0.0)
    with pytest.raises(TypeError, match="must be a dict"):
        clip_grad_norm([np.zeros(2)], 1.0)


# ----------------------------------------------------------- optimisers

def _torch_params(params):
    return [torch.tensor(p, dtype=torch.float64, requires_grad=True)
            for p in params.values()]


def test_adam_matches_torch_over_steps():
    rng = np.random.default_rng(8)
    params = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=(3,))}
    tparams = _torch_params(params)
    opt_t = torch.optim.Adam(tparams, lr=0.01, betas=(0.8, 0.99),
                             eps=1e-6)
    opt = Adam(params, lr=0.01, betas=(0.8, 0.99), eps=1e-6)
    for step in range(6):
        grads = _grads(rng, 1.0)
        for t, g in zip(tparams, grads.values()):
            t.grad = t64(g)
        opt_t.step()
        opt.step(grads)
        for t, key in zip(tparams, params):
            assert rel_error(params[key], t.detach().numpy()) \
                < PARITY_TOL, f"step {step}, {key}"


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_over_steps(momentum):
    rng = np.random.default_rng(9)
    params = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=(3,))}
    tparams = _torch_params(params)
    opt_t = torch.optim.SGD(tparams, lr=0.1, momentum=momentum)
    opt = SGD(params, lr=0.1, momentum=momentum)
    for step in range(5):
        grads = _grads(rng, 1.0)
        for t, g in zip(tparams, grads.values()):
            t.grad = t64(g)
        opt_t.step()
        opt.step(grads)
    for t, key in zip(tparams, params):
        assert rel_error(params[key], t.detach().numpy()) < PARITY_TOL


def test_sgd_update_in_place_and_float32():
    params = {"W": np.ones((2, 2), dtype=np.float32)}
    W = params["W"]
    sgd_update(params, {"W": np.full((2, 2), 2.0, np.float32)}, lr=0.25)
    assert params["W"] is W and W.dtype == np.float32
    np.testing.assert_array_equal(W, 0.5)


def test_optimisers_keep_float32():
    params = {"W": np.ones((2, 2), dtype=np.float32)}
    W = params["W"]
    grads = {"W": np.full((2, 2), 0.5, np.float32)}
    for opt in (Adam(params, lr=0.1), SGD(params, lr=0.1, momentum=0.5)):
        opt.step(grads)
        opt.step(grads)
    assert params["W"] is W and W.dtype == np.float32
    assert np.all(W < 1)


def test_optimiser_errors():
    params = {"W": np.zeros((2, 2))}
    opt = Adam(params)
    with pytest.raises(KeyError, match=r"grads is missing \['W'\]"):
        opt.step({"b": np.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['W'\] has shape \(3,\)"):
        opt.step({"W": np.zeros(3)})
    with pytest.raises(ValueError, match="lr must be positive"):
        Adam(params, lr=0)
    with pytest.raises(ValueError, match="betas must be"):
        Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        SGD(params, lr=0.1, momentum=1.5)
