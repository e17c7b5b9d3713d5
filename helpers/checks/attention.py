"""Checks for lesson 9, "Beyond recurrence: encoder-decoder and
attention", against :mod:`helpers.reference.attention` and, for the
multi-head layer, ``torch.nn.MultiheadAttention`` in float64.

Masks are boolean with True = keep (query i may attend to key j).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from helpers.checks import (describe, diagnose, expect_close, expect_dtype,
                            expect_shape, expect_true, likely, make_rng,
                            passed, run_student, snapshot)
from helpers.reference import attention as ref

__all__ = ["dot_product_scores", "masked_softmax",
           "scaled_dot_product_attention", "multi_head_self_attention",
           "sinusoidal_positional_encoding"]
F64, F32 = np.float64, np.float32


def _qkv(rng, N, T_q, T_k, d_k, d_v, dtype=F64):
    return (rng.normal(size=(N, T_q, d_k)).astype(dtype),
            rng.normal(size=(N, T_k, d_k)).astype(dtype),
            rng.normal(size=(N, T_k, d_v)).astype(dtype))


def _mask(rng, N, T_q, T_k, empty_row=False):
    mask = rng.random((N, T_q, T_k)) < 0.6
    mask[:, :, int(rng.integers(T_k))] = True        # one key kept per row
    if empty_row:
        mask[-1, -1] = False                         # a query sees nothing
    return mask


def _plain_softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------- dot_product_scores
def _check_scores(fn, Q, K, what):
    expected = Q @ K.transpose(0, 2, 1)
    unchanged = snapshot(Q, K)
    got = run_student(fn, "dot_product_scores", Q, K,
                      hint="K has shape (N, T_k, d_k): transpose its last "
                      "two axes, K.transpose(0, 2, 1).")
    d_k = Q.shape[2]
    swapped = (Q.shape[0], K.shape[1], Q.shape[1])
    expect_true(not (isinstance(got, np.ndarray) and got.shape == swapped
                     != expected.shape),
                f"scores has shape {swapped} ({what}), (N, T_k, T_q): rows "
                f"and columns are swapped. One row per query: Q @ K^T.")
    got = expect_shape(f"scores ({what})", got, expected.shape,
                       "N, T_q, T_k")
    wrong = [(expected / math.sqrt(d_k), "no scaling in this exercise: "
              "the scores are the plain dot products q_i . k_j.")]
    if Q.shape[1] == K.shape[1]:
        wrong.append((expected.transpose(0, 2, 1), "rows and columns are "
                      "swapped: scores[n, i, j] is query i with key j, "
                      "Q @ K^T, not K @ Q^T."))
    expect_close(f"scores ({what})", got, expected, dtype=Q.dtype,
                 hint=lambda: likely(diagnose(got, wrong, Q.dtype)))
    expect_dtype("scores", got, Q.dtype)
    expect_true(unchanged(), "dot_product_scores changed Q or K in place.")


def dot_product_scores(fn: Callable, hidden: bool = False) -> None:
    """Check ``dot_product_scores(Q, K) -> Q K^T (N, T_q, T_k)``."""
    rng = make_rng(hidden, seed=91)
    if not hidden:
        Q = np.array([[[1.0, 0.0], [0.0, 2.0]]])     # two queries
        K = np.array([[[1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]])
        _check_scores(fn, Q, K, "N=1, T_q=2, T_k=3, d_k=2, by hand")
        Q, K, _ = _qkv(rng, 2, 3, 3, 4, 1)
        _check_scores(fn, Q, K, describe(F64, N=2, T_q=3, T_k=3, d_k=4))
        Q, K, _ = _qkv(rng, 3, 2, 5, 3, 1, F32)
        _check_scores(fn, Q, K, describe(F32, N=3, T_q=2, T_k=5, d_k=3))
        return passed("dot_product_scores: Q @ K^T for every sample")
    for dtype in (F64, F32):
        N, T_q, T_k, d_k = (int(v) for v in rng.integers(1, 7, 4))
        Q, K, _ = _qkv(rng, N, T_q, T_k, d_k, 1, dtype)
        _check_scores(fn, Q, K, describe(dtype, N=N, T_q=T_q, T_k=T_k,
                                         d_k=d_k))
    passed("dot_product_scores works on fresh random inputs")


# --------------------------------------------------------- masked_softmax
def _softmax_mistakes(s, mask):
    m = np.broadcast_to(mask, s.shape) if mask is not None else None
    out = [(_plain_softmax(s, axis=0) if s.ndim > 1 else None,
            "the softmax runs over the wrong axis: normalise over the last "
            "axis (axis=-1, the keys), so each row sums to 1.")]
    if s.ndim > 2:
        out.append((_plain_softmax(s, axis=-2), "the softmax runs over "
                    "the queries (axis -2); normalise over the keys, the "
                    "last axis."))
    if m is not None:
        out += [(_plain_softmax(s) * m, "the mask is applied after the "
                 "softmax, so the kept weights no longer sum to 1: set "
                 "masked scores to -inf first (np.where(mask, scores, "
                 "-np.inf)), then take the softmax."),
                (ref.masked_softmax(s, ~m), "the mask is inverted: True "
                 "means keep, False means this key gets weight 0.")]
        if (~m).all(-1).any():
            out.append((np.where((~m).all(-1, keepdims=True),
                                 1.0 / s.shape[-1], ref.masked_softmax(
                                     s, m)), "a row whose keys are all "
                        "masked must get weight 0 everywhere, not a "
                        "uniform row (a large negative number instead of "
                        "-inf does that): give such rows zeros."))
    return out


def _check_softmax(fn, scores, mask, what):
    expected = ref.masked_softmax(scores, mask)
    unchanged = snapshot(scores, mask)
    with np.errstate(all="ignore"):
        got = run_student(fn, "masked_softmax", scores, mask,
                          hint="mask may be None (keep everything) and is "
                          "broadcast to the shape of scores.")
    got = expect_shape(f"weights ({what})", got, scores.shape)
    finite = bool(np.isfinite(got).all())
    if not finite and np.isfinite(expected).all():
        empty = mask is not None and (~np.broadcast_to(
            mask, scores.shape)).all(-1).any()
        raise AssertionError(
            f"weights contain NaN or inf ({what}). " + (
                "A row whose keys are all masked must give zeros, not "
                "0 / 0: divide by the row sum only where it is > 0."
                if empty else "Large scores overflow np.exp: subtract "
                "each row's largest kept score first (the softmax does "
                "not change)."))
    with np.errstate(all="ignore"):
        wrong = _softmax_mistakes(scores, mask)
    expect_close(f"weights ({what})", got, expected, dtype=scores.dtype,
                 hint=lambda: likely(diagnose(got, wrong, scores.dtype)))
    expect_dtype("weights", got, scores.dtype)
    expect_true(unchanged(), "masked_softmax changed scores or mask in "
                             "place; compute a new array instead.")


def masked_softmax(fn: Callable, hidden: bool = False) -> None:
    """Check ``masked_softmax(scores, mask=None)``: softmax over the last
    axis, zero where mask is False, all-masked rows all zero."""
    rng = make_rng(hidden, seed=92)
    if not hidden:
        s = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
        _check_softmax(fn, s, None, "no mask, 2 rows of 3 scores")
        s = rng.normal(size=(2, 3, 4))
        _check_softmax(fn, s, _mask(rng, 2, 3, 4), "a mask (N, T_q, T_k)")
        _check_softmax(fn, s, np.array([True, True, False, False])[None,
                                                                   None],
                       "a padding mask of shape (1, 1, T_k): the last two "
                       "keys are padding")
        _check_softmax(fn, 1000 * s, _mask(rng, 2, 3, 4),
                       "large scores (x 1000)")
        _check_softmax(fn, s, _mask(rng, 2, 3, 4, empty_row=True),
                       "a query whose keys are all masked")
        _check_softmax(fn, s.astype(F32), _mask(rng, 2, 3, 4), "float32")
        return passed("masked_softmax: rows sum to 1 over the kept keys, "
                      "masked keys get 0")
    for dtype in (F64, F32):
        N, T_q, T_k = (int(v) for v in rng.integers(1, 7, 3))
        s = (rng.normal(size=(N, T_q, T_k)) * rng.choice([1, 50])
             ).astype(dtype)
        mask = _mask(rng, N, T_q, T_k, empty_row=bool(rng.random() < .5))
        _check_softmax(fn, s, mask, describe(dtype, N=N, T_q=T_q,
                                             T_k=T_k))
        _check_softmax(fn, s, None, describe(dtype, N=N, T_q=T_q,
                                             T_k=T_k) + ", no mask")
    passed("masked_softmax works on fresh random scores")


# ------------------------------------------ scaled_dot_product_attention
def _check_sdpa(fn, Q, K, V, mask, what):
    out_ref, cache = ref.scaled_dot_product_attention_forward(Q, K, V, mask)
    alpha_ref = cache[3]
    N, T_q, d_k = Q.shape
    T_k, d_v = V.shape[1], V.shape[2]
    unchanged = snapshot(Q, K, V, mask)
    got = run_student(fn, "scaled_dot_product_attention", Q, K, V, mask,
                      returns="a pair (out, alpha)",
                      hint="use your dot_product_scores and masked_softmax "
                      "(their tests must pass first).")
    out, alpha = got
    alpha = expect_shape(f"alpha ({what})", alpha, (N, T_q, T_k),
                         "N, T_q, T_k")
    m = np.ones((1, 1, T_k), bool) if mask is None else mask
    S = Q @ K.transpose(0, 2, 1)
    wrong = [(ref.masked_softmax(S, m), "the scores are not scaled: "
              "divide Q K^T by sqrt(d_k) before the softmax."),
             (ref.masked_softmax(S / d_k, m), "you divided by d_k; the "
              "scale is 1 / sqrt(d_k)."),
             (ref.masked_softmax(S * math.sqrt(d_k), m), "you multiplied "
              "by sqrt(d_k); divide by it."),
             (ref.masked_softmax(S / math.sqrt(d_v), m) if d_v != d_k
              else None, "you scaled by sqrt(d_v); d_k is the size of "
              "the queries and keys, Q.shape[-1]."),
             (_plain_softmax(S / math.sqrt(d_k)) if mask is not None
              else None, "the mask is ignored: pass it to masked_softmax.")]
    expect_close(f"alpha ({what})", alpha, alpha_ref, dtype=Q.dtype,
                 hint=lambda: likely(diagnose(alpha, wrong, Q.dtype)))
    out = expect_shape(f"out ({what})", out, (N, T_q, d_v), "N, T_q, d_v")
    expect_close(f"out ({what})", out, out_ref, dtype=Q.dtype,
                 hint="out is the weighted sum of the values, alpha @ V.")
    expect_true(unchanged(), "scaled_dot_product_attention changed its "
                             "inputs in place.")


def scaled_dot_product_attention(fn: Callable, hidden: bool = False
                                 ) -> None:
    """Check ``scaled_dot_product_attention(Q, K, V, mask=None) -> (out
    (N, T_q, d_v), alpha (N, T_q, T_k))``."""
    rng = make_rng(hidden, seed=93)
    if not hidden:
        Q, K, V = _qkv(rng, 2, 3, 4, 5, 2)
        _check_sdpa(fn, Q, K, V, None, "N=2, T_q=3, T_k=4, d_k=5, d_v=2")
        _check_sdpa(fn, Q, K, V, _mask(rng, 2, 3, 4), "with a mask")
        Q, K, V = _qkv(rng, 1, 4, 4, 16, 3, F32)
        causal = np.tril(np.ones((4, 4), bool))[None]
        _check_sdpa(fn, Q, K, V, causal, "float32, d_k=16, a causal mask")
        return passed("scaled_dot_product_attention: softmax(Q K^T / "
                      "sqrt(d_k)) V")
    for dtype in (F64, F32):
        N, T_q, T_k, d_k, d_v = (int(v) for v in rng.integers(1, 8, 5))
        Q, K, V = _qkv(rng, N, T_q, T_k, d_k, d_v, dtype)
        _check_sdpa(fn, Q, K, V, _mask(rng, N, T_q, T_k), describe(
            dtype, N=N, T_q=T_q, T_k=T_k, d_k=d_k, d_v=d_v))
    passed("scaled_dot_product_attention works on fresh random inputs")


# -------------------------------------------- multi_head_self_attention
def _torch_mha(rng, E, h):
    torch_seed = int(rng.integers(2 ** 31))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed)
        mha = torch.nn.MultiheadAttention(E, h, batch_first=True,
                                          dtype=torch.float64)
        with torch.no_grad():                        # nonzero biases
            mha.in_proj_bias.normal_(0, 0.5)
            mha.out_proj.bias.normal_(0, 0.5)
    return mha


def _check_mha(fn, rng, N, T, E, h, mask, what):
    mha = _torch_mha(rng, E, h)
    params = ref.mha_params_from_torch(mha)
    x = rng.normal(size=(N, T, E))
    xt = torch.from_numpy(x)
    with torch.no_grad():
        out_t, alpha_t = mha(xt, xt, xt, need_weights=True,
                             average_attn_weights=False, attn_mask=None
                             if mask is None else torch.from_numpy(~mask))
    out_ref, alpha_ref = out_t.numpy(), alpha_t.numpy()
    unchanged = snapshot(x, params, mask)
    got = run_student(fn, "multi_head_self_attention", x, params, h, mask,
                      returns="a pair (out, alpha)",
                      hint="W_in is (3E, E): np.split(params['W_in'], 3) "
                      "gives W_Q, W_K, W_V.")
    out, alpha = got
    d_k = E // h
    alpha = expect_shape(f"alpha ({what})", alpha, (N, h, T, T),
                         "N, heads, T, T")
    Q = x @ params["W_in"][:E].T + params["b_in"][:E]
    K = x @ params["W_in"][E:2 * E].T + params["b_in"][E:2 * E]
    m = np.ones((T, T), bool) if mask is None else mask
    wrong = [(ref.masked_softmax(Q.reshape(N, h, T, d_k) @ K.reshape(
        N, h, T, d_k).transpose(0, 1, 3, 2) / math.sqrt(d_k), m),
              "the heads are split wrongly: reshape to (N, T, h, d_k) "
              "and then move the head axis forward, .transpose(0, 2, 1, "
              "3); a plain reshape to (N, h, T, d_k) mixes time steps "
              "and features."),
             (ref.multi_head_attention_forward(
                 x, x, x, params, 1, mask)[1][3].repeat(h, axis=1)
              if h > 1 else None,
              "every head sees all E features: split Q, K and V into h "
              "heads of d_k = E / h features each."),
             (ref.masked_softmax((Q.reshape(N, T, h, d_k).transpose(
                 0, 2, 1, 3) @ K.reshape(N, T, h, d_k).transpose(
                 0, 2, 3, 1)) / math.sqrt(E), m) if h > 1 else None,
              "the scale is 1 / sqrt(d_k) with d_k = E / h, the size of "
              "one head, not 1 / sqrt(E).")]
    expect_close(f"alpha ({what})", alpha, alpha_ref, hint=lambda: likely(
        diagnose(alpha, wrong)))
    out = expect_shape(f"out ({what})", out, (N, T, E), "N, T, E")
    expect_close(f"out ({what})", out, out_ref, hint="the weights match "
                 "torch; check the concatenation of the heads (back to "
                 "(N, T, h, d_k), then (N, T, E)) and the output "
                 "projection concat @ W_out.T + b_out.")
    expect_true(unchanged(), "multi_head_self_attention changed its inputs "
                             "in place.")


def multi_head_self_attention(fn: Callable, hidden: bool = False) -> None:
    """Check ``multi_head_self_attention(x, params, num_heads, mask=None)
    -> (out (N, T, E), alpha (N, h, T, T))`` against
    ``torch.nn.MultiheadAttention`` in float64."""
    rng = make_rng(hidden, seed=94)
    if not hidden:
        _check_mha(fn, rng, 2, 3, 4, 1, None, "one head, E=4")
        _check_mha(fn, rng, 2, 5, 6, 2, None, "two heads, E=6")
        _check_mha(fn, rng, 1, 4, 8, 4, np.tril(np.ones((4, 4), bool)),
                   "four heads, E=8, a causal mask")
        return passed("multi_head_self_attention matches "
                      "torch.nn.MultiheadAttention")
    for _ in range(2):
        h, d_k = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        N, T = int(rng.integers(1, 4)), int(rng.integers(1, 9))
        mask = _mask(rng, 1, T, T)[0] if rng.random() < 0.5 else None
        _check_mha(fn, rng, N, T, h * d_k, h, mask,
                   f"N={N}, T={T}, E={h * d_k}, {h} heads")
    passed("multi_head_self_attention matches torch on fresh inputs")


# --------------------------------------- sinusoidal_positional_encoding
def _check_pe(fn, T, d, what):
    expected = ref.sinusoidal_positional_encoding(T, d)
    got = run_student(fn, "sinusoidal_positional_encoding", T, d)
    got = expect_shape(f"PE ({what})", got, (T, d), "T, d_model")
    pos = np.arange(T)[:, None]
    j = np.arange(d)
    angle = pos / 10000.0 ** ((j - j % 2) / d)
    angle1 = (pos + 1) / 10000.0 ** ((j - j % 2) / d)     # from 1
    wrong = [(np.where(j % 2 == 0, np.cos(angle), np.sin(angle)),
              "sin and cos are swapped: even columns 2i hold the sine, "
              "odd columns 2i+1 the cosine."),
             (np.where(j % 2 == 0, np.sin(pos / 10000.0 ** (j / d)),
                       np.cos(pos / 10000.0 ** (j / d))),
              "the exponent uses the column index j; both columns of a "
              "pair share the frequency 1 / 10000^(2i / d_model)."),
             (np.concatenate([np.sin(angle[:, 0::2]),
                              np.cos(angle[:, 0::2])], 1),
              "all sines come first, then all cosines; they alternate: "
              "column 2i is a sine, column 2i+1 the cosine of the same "
              "angle."),
             (np.where(j % 2 == 0, np.sin(angle1), np.cos(angle1)),
              "positions count from 0: the first row is sin(0) = 0, "
              "cos(0) = 1.")]
    expect_close(f"PE ({what})", got, expected, hint=lambda: likely(
        diagnose(got, wrong)))


def sinusoidal_positional_encoding(fn: Callable, hidden: bool = False
                                   ) -> None:
    """Check ``sinusoidal_positional_encoding(T, d_model) -> (T,
    d_model)`` for even ``d_model``."""
    rng = make_rng(hidden, seed=95)
    if not hidden:
        for T, d in ((3, 2), (5, 4), (50, 16)):
            _check_pe(fn, T, d, f"T={T}, d_model={d}")
        return passed("sinusoidal_positional_encoding: sin in the even "
                      "columns, cos in the odd ones")
    for _ in range(2):
        T, d = int(rng.integers(1, 80)), 2 * int(rng.integers(1, 20))
        _check_pe(fn, T, d, f"T={T}, d_model={d}")
    passed("sinusoidal_positional_encoding works on fresh sizes")
