"""The graded checks of lesson 9 accept right answers and name the usual
wrong ones.

Every check runs on the reference (visible and hidden) and on another
correct way of writing it, and must pass; then on typical wrong answers,
each of which must fail with the message that points at its bug; and on
a "hard-coded" answer that replays the outputs recorded on the visible
inputs, which must pass the visible check and fail the hidden one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.checks import attention as check
from helpers.reference import attention as ref
from checkutil import (fails_visible_and_hidden, passes_visible_and_hidden,
                       replay_passes_visible_only)
from test_checks_lessons34 import fails, not_implemented


# ----------------------------------------------------- correct answers
def ref_scores(Q, K):
    return Q @ K.transpose(0, 2, 1)


def einsum_scores(Q, K):
    return np.einsum("nqd,nkd->nqk", Q, K)


def loop_softmax(scores, mask=None):
    """Row by row in float64, -inf fill and an explicit empty-row test."""
    m = np.ones(scores.shape, bool) if mask is None else \
        np.broadcast_to(mask, scores.shape)
    out = np.zeros(scores.shape, dtype=scores.dtype)
    for idx in np.ndindex(scores.shape[:-1]):
        keep = m[idx]
        if not keep.any():
            continue
        s = scores[idx].astype(np.float64)[keep]
        e = np.exp(s - s.max())
        out[idx][keep] = e / e.sum()
    return out


def ref_sdpa(Q, K, V, mask=None):
    out, cache = ref.scaled_dot_product_attention_forward(Q, K, V, mask)
    return out, cache[3]


def np_sqrt_sdpa(Q, K, V, mask=None):
    """np.sqrt promotes float32 to float64: still right."""
    alpha = ref.masked_softmax(Q @ K.transpose(0, 2, 1)
                               / np.sqrt(Q.shape[-1]), mask)
    return alpha @ V, alpha


def ref_mha(x, params, num_heads, mask=None):
    out, cache = ref.multi_head_self_attention_forward(x, params,
                                                       num_heads, mask)
    return out, cache[3]


def loop_mha(x, params, num_heads, mask=None):
    """Head by head, slicing columns."""
    N, T, E = x.shape
    d = E // num_heads
    W_Q, W_K, W_V = np.split(params["W_in"], 3)
    b_Q, b_K, b_V = np.split(params["b_in"], 3)
    Q, K, V = x @ W_Q.T + b_Q, x @ W_K.T + b_K, x @ W_V.T + b_V
    heads, alphas = [], []
    for i in range(num_heads):
        c = slice(i * d, (i + 1) * d)
        o, a = ref_sdpa(Q[..., c], K[..., c], V[..., c], mask)
        heads.append(o)
        alphas.append(a)
    out = np.concatenate(heads, -1) @ params["W_out"].T + params["b_out"]
    return out, np.stack(alphas, 1)


def loop_pe(T, d_model):
    pe = np.zeros((T, d_model))
    for pos in range(T):
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            pe[pos, 2 * i] = math.sin(angle)
            pe[pos, 2 * i + 1] = math.cos(angle)
    return pe


CORRECT = [
    (check.dot_product_scores, ref_scores),
    (check.dot_product_scores, einsum_scores),
    (check.masked_softmax, ref.masked_softmax),
    (check.masked_softmax, loop_softmax),
    (check.scaled_dot_product_attention, ref_sdpa),
    (check.scaled_dot_product_attention, np_sqrt_sdpa),
    (check.multi_head_self_attention, ref_mha),
    (check.multi_head_self_attention, loop_mha),
    (check.sinusoidal_positional_encoding,
     ref.sinusoidal_positional_encoding),
    (check.sinusoidal_positional_encoding, loop_pe),
]
CHECKS = [check.dot_product_scores, check.masked_softmax,
          check.scaled_dot_product_attention,
          check.multi_head_self_attention,
          check.sinusoidal_positional_encoding]


@pytest.mark.parametrize("chk, fn", CORRECT)
def test_correct_answers_pass(chk, fn, capsys):
    passes_visible_and_hidden(chk, fn, capsys, hidden_draws=5)


@pytest.mark.parametrize("chk", CHECKS)
def test_blank_answer_says_not_implemented(chk):
    fails(chk, not_implemented, "not implemented yet")


@pytest.mark.parametrize("chk, reference", [
    (check.dot_product_scores, ref_scores),
    (check.masked_softmax, ref.masked_softmax),
    (check.scaled_dot_product_attention, ref_sdpa),
    (check.multi_head_self_attention, ref_mha),
    (check.sinusoidal_positional_encoding,
     ref.sinusoidal_positional_encoding)])
def test_hard_coded_answers_fail_hidden(chk, reference):
    replay_passes_visible_only(chk, reference)


# ------------------------------------------------------------- mistakes
SCORE_MISTAKES = {
    "swapped": (lambda Q, K: K @ Q.transpose(0, 2, 1), ["swapped"]),
    "scaled": (lambda Q, K: ref_scores(Q, K) / math.sqrt(Q.shape[-1]),
               ["no scaling"]),
    "K.T": (lambda Q, K: Q @ K.T, ["dot_product_scores raised",
                                   "transpose"]),
}


@pytest.mark.parametrize("mistake", sorted(SCORE_MISTAKES))
def test_dot_product_scores_names_the_mistake(mistake):
    fn, needles = SCORE_MISTAKES[mistake]
    fails(check.dot_product_scores, fn, *needles)


def _softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _mask_of(s, mask):
    return np.ones(s.shape, bool) if mask is None else \
        np.broadcast_to(mask, s.shape)


def _fill(value):
    def fn(s, mask=None):
        return _softmax(np.where(_mask_of(s, mask), s, value))
    return fn


def _no_max(s, mask=None):
    e = np.where(_mask_of(s, mask), np.exp(s), 0)
    return e / e.sum(-1, keepdims=True)


def _nan_rows(s, mask=None):
    m = _mask_of(s, mask)
    t = np.where(m, s, -np.inf)
    e = np.where(m, np.exp(t - np.where(np.isfinite(t.max(-1, keepdims=True)),
                                        t.max(-1, keepdims=True), 0)), 0)
    return e / e.sum(-1, keepdims=True)


SOFTMAX_MISTAKES = {
    "axis 0": (lambda s, mask=None: ref.masked_softmax(
        s.swapaxes(0, -1), None if mask is None else np.broadcast_to(
            mask, s.shape).swapaxes(0, -1)).swapaxes(0, -1),
        ["wrong axis"]),
    "after": (lambda s, mask=None: _softmax(s) * _mask_of(s, mask),
              ["after the softmax"]),
    "inverted": (lambda s, mask=None: ref.masked_softmax(
        s, None if mask is None else ~mask), ["inverted"]),
    "no max": (_no_max, ["overflow"]),
    "nan rows": (_nan_rows, ["all masked", "zeros"]),
    "-1e9": (_fill(-1e9), ["uniform row"]),
    "float64": (lambda s, mask=None: ref.masked_softmax(
        s, mask).astype(np.float64), ["dtype"]),
}


@pytest.mark.parametrize("mistake", sorted(SOFTMAX_MISTAKES))
def test_masked_softmax_names_the_mistake(mistake):
    fn, needles = SOFTMAX_MISTAKES[mistake]
    fails_visible_and_hidden(check.masked_softmax, fn, needles,
                             hidden_draws=10)   # one of them must fail


def _sdpa_with(scale_of, use_mask=True):
    def fn(Q, K, V, mask=None):
        s = Q @ K.transpose(0, 2, 1) * scale_of(Q.shape[-1], V.shape[-1])
        alpha = ref.masked_softmax(s, mask if use_mask else None)
        return alpha @ V, alpha
    return fn


SDPA_MISTAKES = {
    "no scale": (_sdpa_with(lambda d, dv: 1.0), ["not scaled"]),
    "by d_k": (_sdpa_with(lambda d, dv: 1 / d), ["divided by d_k"]),
    "times": (_sdpa_with(lambda d, dv: math.sqrt(d)), ["multiplied"]),
    "d_v": (_sdpa_with(lambda d, dv: 1 / math.sqrt(dv)), ["sqrt(d_v)"]),
    "mask ignored": (_sdpa_with(lambda d, dv: 1 / math.sqrt(d), False),
                     ["mask is ignored"]),
    "V @ alpha": (lambda Q, K, V, mask=None: (
        ref_sdpa(Q, K, V, mask)[1].sum(-1, keepdims=True) * V[:, :1],
        ref_sdpa(Q, K, V, mask)[1]), ["alpha @ V"]),
}


@pytest.mark.parametrize("mistake", sorted(SDPA_MISTAKES))
def test_scaled_dot_product_attention_names_the_mistake(mistake):
    fn, needles = SDPA_MISTAKES[mistake]
    fails(check.scaled_dot_product_attention, fn, *needles)


def _mha_wrong(split="right", scale="d_k", out_proj=True):
    def fn(x, params, num_heads, mask=None):
        N, T, E = x.shape
        h, d = num_heads, E // num_heads
        W_Q, W_K, W_V = np.split(params["W_in"], 3)
        b_Q, b_K, b_V = np.split(params["b_in"], 3)

        def heads(a):
            if split == "plain":
                return a.reshape(N, h, T, d)
            return a.reshape(N, T, h, d).transpose(0, 2, 1, 3)

        Q, K, V = heads(x @ W_Q.T + b_Q), heads(x @ W_K.T + b_K), \
            heads(x @ W_V.T + b_V)
        sc = math.sqrt(d if scale == "d_k" else E)
        alpha = ref.masked_softmax(Q @ K.transpose(0, 1, 3, 2) / sc, mask)
        concat = (alpha @ V).transpose(0, 2, 1, 3).reshape(N, T, E)
        out = concat @ params["W_out"].T + params["b_out"] if out_proj \
            else concat
        return out, alpha
    return fn


MHA_MISTAKES = {
    "plain reshape": (_mha_wrong(split="plain"), ["split wrongly",
                                                  "transpose(0, 2, 1"]),
    "sqrt(E)": (_mha_wrong(scale="E"), ["not 1 / sqrt(E)"]),
    "no out proj": (_mha_wrong(out_proj=False), ["output projection"]),
    "one head": (lambda x, p, h, mask=None: (
        ref_mha(x, p, 1, mask)[0],
        ref_mha(x, p, 1, mask)[1].repeat(h, axis=1)), ["all E features"]),
}


@pytest.mark.parametrize("mistake", sorted(MHA_MISTAKES))
def test_multi_head_self_attention_names_the_mistake(mistake):
    fn, needles = MHA_MISTAKES[mistake]
    fails(check.multi_head_self_attention, fn, *needles)


def _pe_with(swap=False, column_exponent=False, halves=False, start=0):
    def fn(T, d):
        pos = np.arange(start, T + start)[:, None]
        j = np.arange(d)
        expo = j if column_exponent else j - j % 2
        angle = pos / 10000.0 ** (expo / d)
        if halves:
            a = angle[:, 0::2]
            return np.concatenate([np.sin(a), np.cos(a)], 1)
        even = (j % 2 == 0) != swap
        return np.where(even, np.sin(angle), np.cos(angle))
    return fn


PE_MISTAKES = {
    "swapped": (_pe_with(swap=True), ["swapped"]),
    "column exponent": (_pe_with(column_exponent=True),
                        ["column index j"]),
    "halves": (_pe_with(halves=True), ["all sines come first"]),
    "from 1": (_pe_with(start=1), ["count from 0"]),
}


@pytest.mark.parametrize("mistake", sorted(PE_MISTAKES))
def test_positional_encoding_names_the_mistake(mistake):
    fn, needles = PE_MISTAKES[mistake]
    fails_visible_and_hidden(check.sinusoidal_positional_encoding, fn,
                             needles)


def test_inputs_changed_in_place_are_caught():
    def scales_in_place(Q, K, V, mask=None):
        Q /= math.sqrt(Q.shape[-1])
        alpha = ref.masked_softmax(Q @ K.transpose(0, 2, 1), mask)
        return alpha @ V, alpha
    fails(check.scaled_dot_product_attention, scales_in_place, "in place")

    def fills_in_place(s, mask=None):
        if mask is not None:
            s[~np.broadcast_to(mask, s.shape)] = -np.inf
        return ref.masked_softmax(s, mask)
    fails(check.masked_softmax, fills_in_place, "in place")
