"""Attention in numpy: dot-product, scaled, additive and multi-head.

Dimension letters: N samples, T_q query steps, T_k key (and value)
steps, d_k query/key features, d_v value features, E model width of
multi-head attention, h heads. Lesson 9 explains attention as a soft
search: each query is compared with every key, the scores become
weights by a softmax over the keys, and the output is the weighted sum
of the values::

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

with ``Q (N, T_q, d_k)``, ``K (N, T_k, d_k)``, ``V (N, T_k, d_v)``.

Mask convention
---------------
A mask is a boolean array broadcastable to ``(N, T_q, T_k)`` in which
**True means keep**: query ``i`` may attend to key ``j``. This is the
convention of ``torch.nn.functional.scaled_dot_product_attention``.
``torch.nn.MultiheadAttention`` uses the opposite one (True in its
``attn_mask`` or ``key_padding_mask`` means *ignore*); pass ``~mask``
there. A query whose keys are all masked out gets all-zero weights and
an all-zero output, as ``scaled_dot_product_attention`` returns.

Forward/backward pairs and caches
---------------------------------
Like the recurrent cells (see :mod:`helpers.reference`), every forward
returns ``(out, cache)`` and its backward takes ``(dout, cache)``. The
cache is a tuple whose first four entries are the same in every
function here::

    cache = (Q, K, V, alpha, ...)

the three inputs (for multi-head attention, ``query, key, value``) and
the attention weights ``alpha (N, T_q, T_k)`` (``(N, h, T_q, T_k)``, one
set per head, for multi-head attention), so ``cache[3]`` is always the
weights a lesson plots. The functions with parameters put ``params``
fifth, as the cells put it fourth; the entries after those are what the
backward pass needs.

References: Bahdanau, Cho and Bengio (2015), additive attention; Luong,
Pham and Manning (2015), dot-product attention; Vaswani et al. (2017),
"Attention is all you need": scaled dot-product attention, multiple
heads and the sinusoidal positional encoding.
"""

from __future__ import annotations

import math

import numpy as np

from helpers.reference.validate import (check_array, check_keys, check_params,
                              check_same_dtype, check_shape)

__all__ = [
    "masked_softmax",
    "dot_product_attention_forward", "dot_product_attention_backward",
    "scaled_dot_product_attention_forward",
    "scaled_dot_product_attention_backward",
    "init_additive_attention_params",
    "additive_attention_forward", "additive_attention_backward",
    "multi_head_attention_forward", "multi_head_self_attention_forward",
    "mha_params_from_torch", "init_mha_params",
    "sinusoidal_positional_encoding",
]

Params = dict[str, np.ndarray]


# ------------------------------------------------------------- helpers

def _check_qkv(Q, K, V, names=("Q", "K", "V"), letters=("d_k", "d_v")
               ) -> tuple[int, int, int, int, int]:
    """Validate queries, keys and values (named ``names`` in messages);
    return ``(N, T_q, T_k, d_k, d_v)``."""
    (q, k, v), (dk, dv) = names, letters
    check_array(q, Q, 3, f"N, T_q, {dk}")
    check_array(k, K, 3, f"N, T_k, {dk}")
    check_array(v, V, 3, f"N, T_k, {dv}")
    N, T_q, d_k = Q.shape
    T_k = K.shape[1]
    check_shape(k, K, (N, T_k, d_k), f"N, T_k, {dk}")
    check_shape(v, V, (N, T_k, V.shape[2]), f"N, T_k, {dv}")
    return N, T_q, T_k, d_k, V.shape[2]


def _check_mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    """Return ``mask`` broadcast to ``shape``; None stays None."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(
            "mask must be a boolean numpy array (True = keep), got "
            f"{getattr(mask, 'dtype', type(mask).__name__)}")
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        raise ValueError(
            f"mask has shape {mask.shape}; expected a shape that "
            f"broadcasts to (N, T_q, T_k) = {shape}") from None


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None = None
                   ) -> np.ndarray:
    """Softmax over the last axis that gives zero weight where ``mask``
    is False.

    Rows whose entries are all masked get all-zero weights (not NaN),
    as in ``torch.nn.functional.scaled_dot_product_attention``.

    Parameters
    ----------
    scores : ndarray, shape (..., T_k)
    mask : ndarray of bool, broadcastable to ``scores.shape``, optional
        True = keep.

    Returns
    -------
    ndarray, same shape as ``scores``; kept entries of a row sum to 1.
    """
    if mask is None:
        shifted = scores - scores.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)
    mask = np.broadcast_to(mask, scores.shape)
    # -inf at masked entries; the max of a fully masked row is -inf, so
    # replace it by 0 to avoid inf - inf.
    s = np.where(mask, scores, -np.inf)
    row_max = s.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0)
    e = np.where(mask, np.exp(s - row_max), 0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1)


def _softmax_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Gradient through ``A = softmax(S)`` along the last axis.

    ``dS = A * (dA - sum_j dA_j A_j)``; masked entries have ``A = 0``
    and therefore get zero gradient.
    """
    return A * (dA - np.sum(dA * A, axis=-1, keepdims=True))


# ------------------------------------------------- dot-product attention

def dot_product_attention_forward(
        Q: np.ndarray, K: np.ndarray, V: np.ndarray,
        mask: np.ndarray | None = None, scale: float = 1.0
) -> tuple[np.ndarray, tuple]:
    """Dot-product attention: ``softmax(scale * Q K^T) V``.

    ``scale = 1`` gives the plain dot-product score of Luong et al.;
    :func:`scaled_dot_product_attention_forward` uses
    ``scale = 1 / sqrt(d_k)``.

    Parameters
    ----------
    Q : ndarray, shape (N, T_q, d_k)
    K : ndarray, shape (N, T_k, d_k)
    V : ndarray, shape (N, T_k, d_v)
    mask : ndarray of bool, broadcastable to (N, T_q, T_k), optional
        True = query ``i`` may attend to key ``j``.
    scale : float
        Factor applied to the scores.

    Returns
    -------
    out : ndarray, shape (N, T_q, d_v)
    cache : tuple
        ``(Q, K, V, alpha, scale)`` with the attention weights
        ``alpha (N, T_q, T_k)``.
    """
    N, T_q, T_k, d_k, d_v = _check_qkv(Q, K, V)
    check_same_dtype(Q=Q, K=K, V=V)
    mask = _check_mask(mask, (N, T_q, T_k))
    S = scale * (Q @ K.transpose(0, 2, 1))           # (N, T_q, T_k)
    alpha = masked_softmax(S, mask)                   # (N, T_q, T_k)
    out = alpha @ V                                   # (N, T_q, d_v)
    return out, (Q, K, V, alpha, scale)


def dot_product_attention_backward(dout: np.ndarray, cache: tuple
                                   ) -> tuple[np.ndarray, np.ndarray,
                                              np.ndarray]:
    """Gradients of :func:`dot_product_attention_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, T_q, d_v)
    cache : tuple
        ``(Q, K, V, alpha, scale)`` from the forward pass.

    Returns
    -------
    dQ : ndarray, shape (N, T_q, d_k)
    dK : ndarray, shape (N, T_k, d_k)
    dV : ndarray, shape (N, T_k, d_v)
    """
    Q, K, V, alpha, scale = cache
    check_array("dout", dout, 3, "N, T_q, d_v")
    check_shape("dout", dout, (Q.shape[0], Q.shape[1], V.shape[2]),
                "N, T_q, d_v")
    dV = alpha.transpose(0, 2, 1) @ dout              # (N, T_k, d_v)
    dalpha = dout @ V.transpose(0, 2, 1)              # (N, T_q, T_k)
    dS = scale * _softmax_backward(dalpha, alpha)     # (N, T_q, T_k)
    dQ = dS @ K                                       # (N, T_q, d_k)
    dK = dS.transpose(0, 2, 1) @ Q                    # (N, T_k, d_k)
    return dQ, dK, dV


def scaled_dot_product_attention_forward(
        Q: np.ndarray, K: np.ndarray, V: np.ndarray,
        mask: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Scaled dot-product attention ``softmax(Q K^T / sqrt(d_k)) V``.

    Dividing by ``sqrt(d_k)`` keeps the scores of unit-variance queries
    and keys at unit variance, so the softmax does not saturate as
    ``d_k`` grows (Vaswani et al., 2017). Matches
    ``torch.nn.functional.scaled_dot_product_attention(Q, K, V,
    attn_mask=mask)``.

    Parameters and returns as in :func:`dot_product_attention_forward`.
    """
    check_array("Q", Q, 3, "N, T_q, d_k")
    d_k = Q.shape[2]
    return dot_product_attention_forward(Q, K, V, mask,
                                         scale=1.0 / math.sqrt(d_k))


def scaled_dot_product_attention_backward(
        dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dQ, dK, dV)`` of the scaled dot-product attention."""
    return dot_product_attention_backward(dout, cache)


# ------------------------------------------------ additive (Bahdanau)

def init_additive_attention_params(d_q: int, d_k: int, A: int,
                                   rng: np.random.Generator,
                                   dtype=np.float64) -> Params:
    """Random parameters for :func:`additive_attention_forward`.

    Uniform in ``±1/sqrt(fan_in)`` like ``torch.nn.Linear``. Returns
    ``{"W_q": (A, d_q), "W_k": (A, d_k), "v": (A,)}``.
    """
    def uniform(shape, fan_in):
        k = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-k, k, shape).astype(dtype)

    return {"W_q": uniform((A, d_q), d_q), "W_k": uniform((A, d_k), d_k),
            "v": uniform((A,), A)}


def additive_attention_forward(
        Q: np.ndarray, K: np.ndarray, V: np.ndarray, params: Params,
        mask: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Additive (Bahdanau) attention.

    The score of query ``q_i`` and key ``k_j`` is a one-hidden-layer
    network, so queries and keys may have different sizes::

        e_ij = v^T tanh(W_q q_i + W_k k_j)
        alpha_i = softmax_j(e_ij),   out_i = sum_j alpha_ij v_j

    Parameters
    ----------
    Q : ndarray, shape (N, T_q, d_q)
        Queries (in a seq2seq decoder, the decoder state).
    K : ndarray, shape (N, T_k, d_k)
        Keys (the encoder states).
    V : ndarray, shape (N, T_k, d_v)
        Values (usually the encoder states again).
    params : dict
        ``{"W_q": (A, d_q), "W_k": (A, d_k), "v": (A,)}`` with ``A``
        the size of the scoring layer.
    mask : ndarray of bool, broadcastable to (N, T_q, T_k), optional
        True = keep.

    Returns
    -------
    out : ndarray, shape (N, T_q, d_v)
    cache : tuple
        ``(Q, K, V, alpha, params, E)`` with the weights
        ``alpha (N, T_q, T_k)`` and the scoring layer's activations
        ``E (N, T_q, T_k, A)``.
    """
    check_array("Q", Q, 3, "N, T_q, d_q")
    check_array("K", K, 3, "N, T_k, d_k")
    check_array("V", V, 3, "N, T_k, d_v")
    N, T_q, d_q = Q.shape
    T_k, d_k = K.shape[1], K.shape[2]
    check_shape("K", K, (N, T_k, d_k), "N, T_k, d_k")
    check_shape("V", V, (N, T_k, V.shape[2]), "N, T_k, d_v")
    check_keys(params, ("W_q", "W_k", "v"))
    check_array("params['v']", params["v"], 1, "A")
    A = params["v"].shape[0]
    dtype = check_params(params, {"W_q": ((A, d_q), "A, d_q"),
                                  "W_k": ((A, d_k), "A, d_k"),
                                  "v": ((A,), "A")})
    check_same_dtype(Q=Q, K=K, V=V, params=np.empty(0, dtype))
    mask = _check_mask(mask, (N, T_q, T_k))

    q_proj = Q @ params["W_q"].T                      # (N, T_q, A)
    k_proj = K @ params["W_k"].T                      # (N, T_k, A)
    E = np.tanh(q_proj[:, :, None, :] + k_proj[:, None, :, :])
    #                                                   (N, T_q, T_k, A)
    scores = E @ params["v"]                          # (N, T_q, T_k)
    alpha = masked_softmax(scores, mask)              # (N, T_q, T_k)
    out = alpha @ V                                   # (N, T_q, d_v)
    return out, (Q, K, V, alpha, params, E)


def additive_attention_backward(dout: np.ndarray, cache: tuple
                                ) -> tuple[np.ndarray, np.ndarray,
                                           np.ndarray, Params]:
    """Gradients of :func:`additive_attention_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, T_q, d_v)
    cache : tuple
        ``(Q, K, V, alpha, params, E)`` from the forward pass.

    Returns
    -------
    dQ : ndarray, shape (N, T_q, d_q)
    dK : ndarray, shape (N, T_k, d_k)
    dV : ndarray, shape (N, T_k, d_v)
    grads : dict
        ``{"W_q": (A, d_q), "W_k": (A, d_k), "v": (A,)}``.
    """
    Q, K, V, alpha, params, E = cache
    check_array("dout", dout, 3, "N, T_q, d_v")
    check_shape("dout", dout, (Q.shape[0], Q.shape[1], V.shape[2]),
                "N, T_q, d_v")
    dV = alpha.transpose(0, 2, 1) @ dout              # (N, T_k, d_v)
    dalpha = dout @ V.transpose(0, 2, 1)              # (N, T_q, T_k)
    dscores = _softmax_backward(dalpha, alpha)        # (N, T_q, T_k)
    dv = np.einsum("nqk,nqka->a", dscores, E)         # (A,)
    dpre = dscores[..., None] * params["v"] * (1 - E ** 2)
    #                                                   (N, T_q, T_k, A)
    dq_proj = dpre.sum(axis=2)                        # (N, T_q, A)
    dk_proj = dpre.sum(axis=1)                        # (N, T_k, A)
    dQ = dq_proj @ params["W_q"]                      # (N, T_q, d_q)
    dK = dk_proj @ params["W_k"]                      # (N, T_k, d_k)
    dW_q = np.einsum("nqa,nqd->ad", dq_proj, Q)       # (A, d_q)
    dW_k = np.einsum("nka,nkd->ad", dk_proj, K)       # (A, d_k)
    return dQ, dK, dV, {"W_q": dW_q, "W_k": dW_k, "v": dv}


# ------------------------------------------------- multi-head attention

def init_mha_params(E: int, rng: np.random.Generator,
                    dtype=np.float64) -> Params:
    """Random multi-head attention parameters (see
    :func:`multi_head_attention_forward` for the layout)."""
    k = 1.0 / np.sqrt(E)
    return {
        "W_in": rng.uniform(-k, k, (3 * E, E)).astype(dtype),
        "b_in": rng.uniform(-k, k, (3 * E,)).astype(dtype),
        "W_out": rng.uniform(-k, k, (E, E)).astype(dtype),
        "b_out": rng.uniform(-k, k, (E,)).astype(dtype),
    }


def mha_params_from_torch(module) -> Params:
    """Copy the weights of a ``torch.nn.MultiheadAttention`` into a dict.

    The module must use one packed input projection (the default, with
    ``kdim == vdim == embed_dim``) and biases. The arrays keep the
    module's dtype.

    Returns
    -------
    dict
        ``W_in = in_proj_weight (3E, E)``, ``b_in = in_proj_bias (3E,)``,
        ``W_out = out_proj.weight (E, E)``, ``b_out = out_proj.bias (E,)``.
    """
    if getattr(module, "in_proj_weight", None) is None:
        raise ValueError(
            "the module has separate q/k/v projections (kdim or vdim "
            "differ from embed_dim); only the packed in_proj_weight "
            "layout is supported")
    if module.in_proj_bias is None or module.out_proj.bias is None:
        raise ValueError("the module was built with bias=False; "
                         "biases are expected")

    def arr(t):
        return t.detach().cpu().numpy().copy()

    return {"W_in": arr(module.in_proj_weight),
            "b_in": arr(module.in_proj_bias),
            "W_out": arr(module.out_proj.weight),
            "b_out": arr(module.out_proj.bias)}


def multi_head_attention_forward(
        query: np.ndarray, key: np.ndarray, value: np.ndarray,
        params: Params, num_heads: int,
        mask: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Multi-head attention with the weight layout of
    ``torch.nn.MultiheadAttention``.

    The packed input projection ``W_in = [W_Q; W_K; W_V]`` (each
    ``(E, E)``) maps the inputs to queries, keys and values; these are
    split into ``h = num_heads`` heads of ``d_k = E / h`` features, each
    head runs scaled dot-product attention, and the heads are
    concatenated and mixed by ``W_out``::

        Q = query W_Q^T + b_Q,  K = key W_K^T + b_K,  V = value W_V^T + b_V
        head_i = Attention(Q_i, K_i, V_i)
        out = concat(head_1, ..., head_h) W_out^T + b_out

    Parameters
    ----------
    query : ndarray, shape (N, T_q, E)
    key : ndarray, shape (N, T_k, E)
    value : ndarray, shape (N, T_k, E)
    params : dict
        ``{"W_in": (3E, E), "b_in": (3E,), "W_out": (E, E),
        "b_out": (E,)}``; see :func:`mha_params_from_torch`.
    num_heads : int
        ``h``; must divide ``E``.
    mask : ndarray of bool, broadcastable to (N, T_q, T_k), optional
        True = keep (the opposite of ``MultiheadAttention.attn_mask``).
        The same mask applies to every head.

    Returns
    -------
    out : ndarray, shape (N, T_q, E)
    cache : tuple
        ``(query, key, value, alpha, params, Q, K, V, concat)`` with the
        weights of every head ``alpha (N, h, T_q, T_k)`` (their mean over
        heads is what ``MultiheadAttention`` returns by default,
        ``average_attn_weights=True``), the projected ``Q, K, V`` and the
        concatenated heads ``concat (N, T_q, E)``.

    Notes
    -----
    A query with every key masked out gets zero weights here;
    ``MultiheadAttention`` returns NaN for it.
    """
    N, T_q, T_k, E, _ = _check_qkv(query, key, value, ("query", "key",
                                                        "value"), ("E", "E"))
    check_shape("value", value, (N, T_k, E), "N, T_k, E")
    dtype = check_params(params, {"W_in": ((3 * E, E), "3E, E"),
                                  "b_in": ((3 * E,), "3E"),
                                  "W_out": ((E, E), "E, E"),
                                  "b_out": ((E,), "E")})
    check_same_dtype(query=query, key=key, value=value,
                     params=np.empty(0, dtype))
    if not isinstance(num_heads, int) or num_heads < 1 \
            or E % num_heads:
        raise ValueError(
            f"num_heads is {num_heads!r}; it must be a positive integer "
            f"that divides E = {E}")
    h = num_heads
    d_k = E // h
    mask = _check_mask(mask, (N, T_q, T_k))

    W_Q, W_K, W_V = np.split(params["W_in"], 3)       # each (E, E)
    b_Q, b_K, b_V = np.split(params["b_in"], 3)       # each (E,)
    Q = query @ W_Q.T + b_Q                           # (N, T_q, E)
    K = key @ W_K.T + b_K                             # (N, T_k, E)
    V = value @ W_V.T + b_V                           # (N, T_k, E)

    def split_heads(x):
        n, t, _ = x.shape                             # (N, T, E)
        return x.reshape(n, t, h, d_k).transpose(0, 2, 1, 3)
        #                                               (N, h, T, d_k)

    Qh, Kh, Vh = split_heads(Q), split_heads(K), split_heads(V)
    S = Qh @ Kh.transpose(0, 1, 3, 2) / math.sqrt(d_k)   # (N, h, T_q, T_k)
    m = None if mask is None else mask[:, None, :, :]    # (N, 1, T_q, T_k)
    alpha = masked_softmax(S, m)                      # (N, h, T_q, T_k)
    heads = alpha @ Vh                                # (N, h, T_q, d_k)
    concat = heads.transpose(0, 2, 1, 3).reshape(N, T_q, E)   # (N, T_q, E)
    out = concat @ params["W_out"].T + params["b_out"]        # (N, T_q, E)
    return out, (query, key, value, alpha, params, Q, K, V, concat)


def multi_head_self_attention_forward(
        x: np.ndarray, params: Params, num_heads: int,
        mask: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Multi-head self-attention: queries, keys and values all come from
    ``x (N, T, E)``. See :func:`multi_head_attention_forward`."""
    return multi_head_attention_forward(x, x, x, params, num_heads, mask)


# ------------------------------------------------- positional encoding

def sinusoidal_positional_encoding(T: int, d_model: int,
                                   base: float = 10000.0,
                                   dtype=np.float64) -> np.ndarray:
    """Sinusoidal positional encoding of Vaswani et al. (2017).

    ``PE[pos, 2i] = sin(pos / base^(2i / d_model))`` and
    ``PE[pos, 2i+1] = cos(pos / base^(2i / d_model))``: each pair of
    columns is a clock turning at its own speed, from one turn every
    ``2 pi`` positions down to one every ``2 pi * base`` positions. For
    any offset ``k``, ``PE[pos + k]`` is a fixed rotation of ``PE[pos]``,
    so relative positions are easy to read off. Attention itself ignores
    order; adding ``PE`` to the inputs brings it back (lesson 9).

    Parameters
    ----------
    T : int
        Number of positions (0 to T - 1), >= 1.
    d_model : int
        Number of features, >= 1 (an odd width drops the last cosine).
    base : float
        Wavelength base, > 1.
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (T, d_model)
    """
    for name, val in (("T", T), ("d_model", d_model)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, "
                             f"got {val!r}")
    if not base > 1:
        raise ValueError(f"base must be > 1, got {base!r}")
    pos = np.arange(T, dtype=np.float64)[:, None]              # (T, 1)
    two_i = np.arange(0, d_model, 2, dtype=np.float64)         # (ceil,)
    angle = pos / base ** (two_i / d_model)            # (T, ceil(d/2))
    pe = np.zeros((T, d_model), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe.astype(dtype)
