# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 9 — Beyond recurrence: encoder–decoder and attention
#
# **What you will learn**
#
# 1. The **encoder–decoder** (seq2seq) model for translation-like tasks:
#    one RNN reads the input, another writes the output. Trained here to
#    reverse sequences of tokens, it shows the **bottleneck** of a
#    single state vector: exact-match accuracy falls as the input grows.
# 2. **Attention as soft search**: a query is compared with keys, and the
#    values come back weighted by how well their keys match. You write
#    the dot-product scores, the softmax weights with a mask, and
#    **scaled dot-product attention**
#    $\operatorname{Attention}(Q, K, V) = \operatorname{softmax}(Q K^\top
#    / \sqrt{d_k})\, V$.
# 3. **Self-attention with several heads** (you write it, and it matches
#    `torch.nn.MultiheadAttention`), and the **sinusoidal positional
#    encoding** that gives attention back the order of the inputs.
# 4. Attention added to the encoder–decoder: the same task, the same
#    seeds, with and without it, and where the decoder looks.
# 5. **What recurrence costs**, measured on this CPU: a recurrent layer
#    and a self-attention layer over lengths from tens to thousands.
# 6. How the course ends: what Transformers changed, and where recurrent
#    models still fit.
#
# **What you need:** lesson 1 (the delayed many-to-many shape of
# translation, the mask), lesson 2 (embeddings), lessons 4, 6 and 7 (why
# long memory is hard, the LSTM and the GRU), lesson 8 (softmax, greedy
# decoding). The models are PyTorch's `torch.nn.GRU` and
# `torch.nn.GRUCell`, trained with autograd.
#
# Five exercises are graded (12 points). Everything runs on the CPU,
# one thread; the whole notebook takes well under a minute (see the
# closing note).

# %%
import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.figures import attention_plots
from helpers.support import recurrence_cost, reversal
from helpers.support.models import Seq2Seq

np.set_printoptions(precision=3, suppress=True)
torch.set_num_threads(1)      # small nets: one thread is the fastest
notebook_start, cpu_start = time.perf_counter(), time.process_time()

# %% [markdown]
# ## 1. The encoder–decoder and its bottleneck
#
# Translation is the delayed many-to-many shape of lesson 1: the output
# starts after the input has been read, and its length and word order
# may differ from the input's. The **encoder–decoder** (Sutskever et
# al., 2014; Cho et al., 2014) splits the work between two RNNs:
#
# * the **encoder** reads the source $x_1 \dots x_S$ (embedded tokens)
#   into states $h_1 \dots h_S$;
# * the **decoder** starts from the encoder's last state, $s_0 = h_S$,
#   and writes one token per step. At step $t$ it reads the token it
#   wrote before, $y_{t-1}$ (a start token `BOS` at $t = 1$), and a
#   **context vector** $c_t$:
#
# $$c_t = h_S, \qquad s_t = \operatorname{GRU}\big([E\,y_{t-1},\ c_t],\
#   s_{t-1}\big), \qquad o_t = W_{o} [s_t,\ c_t] + b_o,$$
#
# with $o_t$ the scores of the next token. Training feeds the true
# previous token $y_{t-1}$ (**teacher forcing**) and minimises the
# cross-entropy of every output token; at test time the decoder feeds
# back its own most likely token (greedy decoding, lesson 8).
#
# Without attention, $c_t = h_S$ at every step: whatever the decoder
# writes, it knows about the source only through one vector of $H$
# numbers, written by an RNN that had to carry the first token through
# every later step. That is the **bottleneck**.
#
# **The task.** A small stand-in for translation: the source is $S$
# tokens from a vocabulary of $V = 10$, the target is the same tokens
# in reverse order. The first word written depends on the last word
# read and the last word written on the first one read, so the whole
# source must be kept. Every update draws a fresh batch of 128 sources
# with a length $S$ between 1 and 10
# (`helpers.support.reversal`, a short module worth reading).

# %% tags=["demo"]
V, S_MAX = 10, 10
rng = np.random.default_rng(0)
src, tgt_in, tgt = reversal.reversal_batch(2, 6, V, rng)
print("source          ", src.tolist())
print("decoder input   ", tgt_in.tolist(), f"(BOS = {V})")
print("target          ", tgt.tolist())

# %% [markdown]
# The model is `helpers.support.models.Seq2Seq` with GRU cells: token
# embeddings of size 16, $H = 48$, and `attention=None` for the plain
# encoder–decoder. Each of three seeds trains for 300 updates with Adam
# (learning rate 0.01, gradient norm clipped at 1). Then, for every
# length from 2 to 10, greedy decoding reverses 200 fresh sources, and
# we count those written without a single wrong token (**exact
# match**). A guess has probability $(1/V)^S$ of being right.

# %% tags=["demo"]
SEEDS, STEPS = (0, 1, 2), 300
lengths = np.arange(2, S_MAX + 1)
chance = (1 / V) ** lengths


def train_models(attention):
    """Train one Seq2Seq per seed; return the models and their losses."""
    models, losses = [], []
    for seed in tqdm(SEEDS, desc=f"attention={attention}"):
        model = Seq2Seq(V, V + 1, embed_dim=16, hidden_size=48,
                        cell="gru", attention=attention, seed=seed)
        losses.append(reversal.train_reversal(
            model, V, (1, S_MAX), steps=STEPS, N=128, lr=1e-2, seed=seed,
            desc=f"seed {seed}"))
        models.append(model)
    accuracy = np.array([reversal.exact_match_by_length(m, V, lengths)
                         for m in models])          # (seeds, lengths)
    return models, losses, accuracy


plain, plain_losses, plain_acc = train_models(None)
print("final training loss (mean of the last 50 updates), per seed:",
      np.round([l[-50:].mean() for l in plain_losses], 3),
      f"-- a uniform guess costs ln V = {math.log(V):.3f}")
print("length S:          ", lengths)
for seed, row in zip(SEEDS, plain_acc):
    print(f"seed {seed} exact match: ", np.round(row, 2))
print("chance:            ", chance)
learned = all(l[-50:].mean() < math.log(V) / 2 for l in plain_losses) \
    and bool((plain_acc[:, 0] > 0.9).all())
print(f"verdict: every seed learned (loss below half of ln V, exact match "
      f"above 0.9 at S = 2, against chance {chance[0]:.2f}): {learned}")
attention_plots.plot_training_losses(
    {"encoder-decoder, no attention": plain_losses}, math.log(V),
    "uniform guess, ln V")

# %% tags=["demo"]
attention_plots.plot_accuracy_by_length(
    lengths, {"no attention": plain_acc}, chance)
short, long = plain_acc[:, 0], plain_acc[:, -1]
print(f"S = 2: exact match {short.min():.2f} to {short.max():.2f} over "
      f"the seeds; S = {S_MAX}: {long.min():.2f} to {long.max():.2f}")
print("verdict: accuracy falls with the length for every seed:",
      bool((plain_acc[:, -1] < plain_acc[:, 0] - 0.5).all()))

# %% [markdown]
# The model has learned (the first verdict: its loss is far below the
# uniform guess, and short sources come out right, far above chance),
# but exact match falls as the source grows, for every seed (the spread over seeds is in the
# printed rows). Which tokens does it get wrong? For $S = 10$, the share
# of right tokens at each output step:

# %% tags=["demo"]
per_step = np.array([reversal.token_accuracy_by_position(m, V, S_MAX)
                     for m in plain])                      # (seeds, S)
print("output step t:        ", np.arange(1, S_MAX + 1))
print("source step it copies:", np.arange(S_MAX, 0, -1))
print("right tokens (median):", np.round(np.median(per_step, 0), 2))
first, last = np.median(per_step, 0)[:3].mean(), \
    np.median(per_step, 0)[-3:].mean()
print(f"first three outputs (the last source tokens read): {first:.2f}; "
      f"last three (the first ones read): {last:.2f}")
print("verdict: the tokens read first come out worse:", bool(last < first))

# %% [markdown]
# Compare the two numbers of the last lines: the tokens read last, still
# fresh in $h_S$, come out better than the ones read first, which the
# encoder had to carry through all the later steps into one vector of
# 48 numbers. A bigger $H$ or more training would push the limit
# further, but not remove it: the summary has a fixed size, whatever
# the length of the source.
#
# ## 2. Attention as soft search
#
# Think of searching a video site. You type a **query**; the site
# compares it with the **key** of every video (its title and tags) and
# gives you back the **values**, the videos, best matches first. A hard
# search returns the single best match. **Attention** is a soft search:
# it returns a *blend* of all values, each weighted by how well its key
# matches the query, with weights that are positive and sum to 1. Being
# smooth, it can be trained by gradient descent.
#
# With queries $q_i \in \mathbb{R}^{d_k}$, keys $k_j \in
# \mathbb{R}^{d_k}$ and values $v_j \in \mathbb{R}^{d_v}$:
#
# $$e_{ij} = q_i \cdot k_j, \qquad \alpha_{ij} =
#   \frac{\exp(e_{ij})}{\sum_{j'} \exp(e_{ij'})}, \qquad
#   \text{out}_i = \sum_j \alpha_{ij}\, v_j .$$
#
# Stack the queries as rows of $Q$ $(T_q, d_k)$, the keys of $K$
# $(T_k, d_k)$ and the values of $V$ $(T_k, d_v)$: the scores are
# $Q K^\top$ $(T_q, T_k)$, one row per query and one column per key,
# the softmax runs along each row, and the outputs are $\alpha V$
# $(T_q, d_v)$. For a batch, every array gets a leading axis $N$.
#
# ### Exercise 1 (2 points): dot-product scores
#
# Write `dot_product_scores(Q, K)` for `Q` of shape $(N, T_q, d_k)$ and
# `K` of shape $(N, T_k, d_k)$. Return the scores $(N, T_q, T_k)$ with
# `scores[n, i, j]` $= q_i \cdot k_j$ of sample `n`. (`K.T` reverses
# *all* axes of a 3-d array; transpose only the last two.)

# %% solution="dot_product_scores"
def dot_product_scores(Q, K):
    """Q (N, T_q, d_k), K (N, T_k, d_k) -> scores (N, T_q, T_k)."""
    ### BEGIN SOLUTION
    return Q @ K.transpose(0, 2, 1)
    ### END SOLUTION


# %% tests="dot_product_scores_tests" points=2
from helpers.checks import attention as check

check.dot_product_scores(dot_product_scores)
### BEGIN HIDDEN TESTS
check.dot_product_scores(dot_product_scores, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 (3 points): softmax weights with a mask
#
# Some keys must not be looked at: the padding after a short sequence
# (lesson 1), or, in a model that generates text, the future. A
# **mask** says which: a boolean array, `True` where query $i$ may
# attend to key $j$. A masked key gets weight exactly 0 and the kept
# weights of a row still sum to 1, so the mask must act *before* the
# softmax: set the masked scores to $-\infty$ ($e^{-\infty} = 0$), then
# normalise.
#
# Write `masked_softmax(scores, mask=None)`:
#
# * `scores` has shape $(\dots, T_k)$; the softmax runs over the last
#   axis (the keys). `mask` is `None` (keep everything) or a boolean
#   array that broadcasts to `scores.shape` (`np.where` broadcasts).
# * Subtract each row's largest *kept* score before `np.exp`, so large
#   scores do not overflow (lesson 8).
# * A row whose keys are all masked gets weight 0 everywhere (not NaN).
# * Keep the dtype of `scores`; do not change the inputs.

# %% solution="masked_softmax"
def masked_softmax(scores, mask=None):
    """Softmax over the last axis, 0 where mask is False.

    Parameters
    ----------
    scores : ndarray, shape (..., T_k)
    mask : ndarray of bool, broadcastable to scores.shape, or None

    Returns
    -------
    weights : ndarray, shape of scores; each row sums to 1 over its kept
        keys, or is all 0 if none is kept.
    """
    ### BEGIN SOLUTION
    if mask is None:
        mask = np.ones(scores.shape, dtype=bool)
    mask = np.broadcast_to(mask, scores.shape)
    s = np.where(mask, scores, -np.inf)
    row_max = s.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0)   # empty rows
    e = np.where(mask, np.exp(s - row_max), 0)
    total = e.sum(axis=-1, keepdims=True)
    return (e / np.where(total > 0, total, 1)).astype(scores.dtype)
    ### END SOLUTION


# %% tests="masked_softmax_tests" points=3
from helpers.checks import attention as check

check.masked_softmax(masked_softmax)
### BEGIN HIDDEN TESTS
check.masked_softmax(masked_softmax, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **A search, by hand.** Five videos, each key a score on four topics
# (cats, cooking, music, travel), each value two numbers about the
# video (minutes, stars). The query asks for cats and, a bit less, for
# cooking. Then the same search with the first video masked out
# ("already watched"). Your two functions do the work:

# %% tags=["demo"]
titles = ["Funny cats, part 7", "Pasta at home", "Cats taste Italian food",
          "Piano for beginners", "Road trip through Italy"]
K_videos = np.array([[3.0, 0, 0, 0], [0, 3, 0, 0], [2, 2, 0, 0],
                     [0, 0, 3, 0], [0, 1, 0, 3]])[None]     # (1, 5, 4)
V_videos = np.array([[4.0, 4.1], [12, 4.6], [6, 4.8], [25, 4.2],
                     [18, 3.9]])[None]                      # (1, 5, 2)
query = np.array([[[1.0, 0.6, 0, 0]]])                      # (1, 1, 4)
alpha = masked_softmax(dot_product_scores(query, K_videos))
print("weights:", alpha[0, 0])
print("answer (minutes, stars):", (alpha @ V_videos)[0, 0])
watched = np.array([False, True, True, True, True])
alpha_w = masked_softmax(dot_product_scores(query, K_videos), watched)
print("weights without video 0:", alpha_w[0, 0])
attention_plots.plot_soft_search(titles, alpha[0, 0],
                                 "cats, and a bit of cooking")

# %% [markdown]
# The two cat videos take most of the weight, the best match the most;
# the answer is a blend of their values. With the first video masked,
# its weight is 0 and the rest still sum to 1.
#
# ### Scaling the scores
#
# If the entries of $q$ and $k$ are independent with mean 0 and
# variance 1, the score $q \cdot k$ is a sum of $d_k$ such products: its
# variance is $d_k$. With $d_k = 64$ the scores spread over tens of
# units, the softmax puts nearly all the weight on one key, and its
# gradient nearly vanishes (lesson 4's saturation again). Dividing by
# $\sqrt{d_k}$ brings the variance back to 1 (Vaswani et al., 2017):
#
# $$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\Big(
#   \frac{Q K^\top}{\sqrt{d_k}}\Big)\, V .$$
#
# Move `d_k` below: the unscaled weights (red) become a hard choice as
# $d_k$ grows, the scaled ones (blue) do not.

# %% tags=["demo"]
attention_plots.scaling_explorer(d_k=64, T_k=8)

# %% [markdown]
# ### Exercise 3 (2 points): scaled dot-product attention
#
# Write `scaled_dot_product_attention(Q, K, V, mask=None)` for `Q`
# $(N, T_q, d_k)$, `K` $(N, T_k, d_k)$, `V` $(N, T_k, d_v)$ and a mask
# as in exercise 2. Return `(out, alpha)`: the weights `alpha` $(N, T_q,
# T_k)$ $= \operatorname{softmax}(Q K^\top / \sqrt{d_k})$ with the mask,
# and `out` $(N, T_q, d_v)$ $= \alpha V$. Use your `dot_product_scores`
# and `masked_softmax` (so their tests must pass first).

# %% solution="scaled_dot_product_attention"
def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V.

    Returns
    -------
    out : ndarray, shape (N, T_q, d_v)
    alpha : ndarray, shape (N, T_q, T_k)
    """
    ### BEGIN SOLUTION
    d_k = Q.shape[-1]
    alpha = masked_softmax(dot_product_scores(Q, K) / math.sqrt(d_k),
                           mask)
    return alpha @ V, alpha
    ### END SOLUTION


# %% tests="scaled_dot_product_attention_tests" points=2
from helpers.checks import attention as check

check.scaled_dot_product_attention(scaled_dot_product_attention)
### BEGIN HIDDEN TESTS
check.scaled_dot_product_attention(scaled_dot_product_attention,
                                   hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Against PyTorch.** `torch.nn.functional.scaled_dot_product_attention`
# computes the same thing (its `attn_mask` also means True = keep):

# %% tags=["demo"]
rng = np.random.default_rng(1)
Q, K, V_ = (rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8)),
            rng.normal(size=(2, 5, 4)))
mask = np.tril(np.ones((3, 5), dtype=bool), k=2)[None]     # (1, 3, 5)
out, _ = scaled_dot_product_attention(Q, K, V_, mask)
out_torch = torch.nn.functional.scaled_dot_product_attention(
    *(torch.from_numpy(a) for a in (Q, K, V_)),
    attn_mask=torch.from_numpy(mask)).numpy()
print(f"largest difference from torch: {np.abs(out - out_torch).max():.1e}")

# %% [markdown]
# ## 3. Self-attention, several heads, and positions
#
# In **self-attention** a sequence attends to itself: the queries, keys
# and values are all computed from the same inputs $X$ $(T, E)$ by
# learned projections,
#
# $$Q = X W_Q^\top + b_Q, \quad K = X W_K^\top + b_K, \quad
#   V = X W_V^\top + b_V,$$
#
# so every position can read every other position in one step, however
# far apart they are. **Multi-head** attention runs $h$ such searches
# side by side, each on its own slice of $d_k = E / h$ features (one
# head may follow the previous word, another the subject of the
# sentence), and mixes their outputs:
#
# $$\text{head}_i = \operatorname{Attention}(Q_i, K_i, V_i), \qquad
#   \text{out} = [\text{head}_1, \dots, \text{head}_h]\, W_O^\top + b_O,$$
#
# with $Q_i$ the columns $i d_k$ to $(i + 1) d_k$ of $Q$ (likewise
# $K_i$, $V_i$).
#
# ### Exercise 4 (3 points): multi-head self-attention
#
# Write `multi_head_self_attention(x, params, num_heads, mask=None)`
# with the weight layout of `torch.nn.MultiheadAttention`: `x` $(N, T,
# E)$; `params["W_in"]` $(3E, E)$ stacks $W_Q, W_K, W_V$ (in that
# order, `np.split(W_in, 3)`), `params["b_in"]` $(3E,)$ stacks their
# biases, `params["W_out"]` $(E, E)$ and `params["b_out"]` $(E,)$ are
# $W_O$ and $b_O$. `mask` (True = keep) broadcasts to $(T, T)$ and is
# the same for every head.
#
# 1. Project: `Q = x @ W_Q.T + b_Q`, likewise `K`, `V`, each $(N, T,
#    E)$.
# 2. Split the heads: reshape to $(N, T, h, d_k)$, then move the head
#    axis forward, `.transpose(0, 2, 1, 3)`, to $(N, h, T, d_k)$.
# 3. Attend in every head at once: your `masked_softmax` of the scaled
#    scores (`@` works on the last two axes), then the weighted values,
#    $(N, h, T, d_k)$.
# 4. Concatenate: back to $(N, T, h, d_k)$, reshape to $(N, T, E)$, and
#    apply the output projection.
#
# Return `(out, alpha)` with `out` $(N, T, E)$ and the weights of every
# head `alpha` $(N, h, T, T)$.

# %% solution="multi_head_self_attention"
def multi_head_self_attention(x, params, num_heads, mask=None):
    """Multi-head self-attention, torch.nn.MultiheadAttention's layout.

    Returns
    -------
    out : ndarray, shape (N, T, E)
    alpha : ndarray, shape (N, num_heads, T, T)
    """
    ### BEGIN SOLUTION
    N, T, E = x.shape
    h, d_k = num_heads, E // num_heads
    W_Q, W_K, W_V = np.split(params["W_in"], 3)
    b_Q, b_K, b_V = np.split(params["b_in"], 3)

    def heads(a):                                   # (N, T, E) ->
        return a.reshape(N, T, h, d_k).transpose(0, 2, 1, 3)  # (N,h,T,d_k)

    Q, K, V = (heads(x @ W.T + b) for W, b in ((W_Q, b_Q), (W_K, b_K),
                                               (W_V, b_V)))
    alpha = masked_softmax(Q @ K.transpose(0, 1, 3, 2) / math.sqrt(d_k),
                           mask)                    # (N, h, T, T)
    concat = (alpha @ V).transpose(0, 2, 1, 3).reshape(N, T, E)
    return concat @ params["W_out"].T + params["b_out"], alpha
    ### END SOLUTION


# %% tests="multi_head_self_attention_tests" points=3
from helpers.checks import attention as check

check.multi_head_self_attention(multi_head_self_attention)
### BEGIN HIDDEN TESTS
check.multi_head_self_attention(multi_head_self_attention, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Parity with PyTorch, and what self-attention does not see.** A
# `torch.nn.MultiheadAttention` in float64 with random weights, copied
# into the dict by `helpers.reference.attention.mha_params_from_torch`.
# Then we shuffle the time steps of the input and run your layer again.

# %% tags=["demo"]
from helpers.reference.attention import mha_params_from_torch

torch.manual_seed(0)
mha = torch.nn.MultiheadAttention(8, 2, batch_first=True,
                                  dtype=torch.float64)
x = np.random.default_rng(2).normal(size=(1, 6, 8))         # (N, T, E)
with torch.no_grad():
    out_torch = mha(*(torch.from_numpy(x),) * 3)[0].numpy()
out, _ = multi_head_self_attention(x, mha_params_from_torch(mha), 2)
print(f"largest difference from torch: {np.abs(out - out_torch).max():.1e}")
perm = np.array([3, 0, 5, 1, 4, 2])
out_perm, _ = multi_head_self_attention(x[:, perm],
                                        mha_params_from_torch(mha), 2)
print("shuffling the input only shuffles the output the same way:",
      bool(np.allclose(out_perm, out[:, perm])))

# %% [markdown]
# The last line is the catch: self-attention treats its inputs as a
# *set*. Every position is compared with every other by content alone,
# so "dog bites man" and "man bites dog" give the same outputs, only
# reordered. An RNN knows the order because it reads the tokens one
# after the other; attention must be told.
#
# ### Positional encoding
#
# The Transformer (Vaswani et al., 2017) adds to the input at position
# $\text{pos}$ (counting from 0) a vector $PE_{\text{pos}}$ of the same
# width $d_{\text{model}}$, made of sines and cosines of different
# frequencies:
#
# $$PE_{\text{pos},\,2i} = \sin\!\Big(\frac{\text{pos}}
#   {10000^{2i/d_{\text{model}}}}\Big), \qquad
#   PE_{\text{pos},\,2i+1} = \cos\!\Big(\frac{\text{pos}}
#   {10000^{2i/d_{\text{model}}}}\Big).$$
#
# Each pair of columns $(2i, 2i+1)$ is a clock hand turning at its own
# speed, from one turn every $2\pi$ positions (the first pair) to very
# slow ones: together they give every position a distinct pattern, and
# the encoding of $\text{pos} + k$ is a fixed rotation of that of
# $\text{pos}$, so relative positions are easy to read off.
#
# ### Exercise 5 (2 points): sinusoidal positional encoding
#
# Write `sinusoidal_positional_encoding(T, d_model)` for an even
# `d_model`: return the float64 array $(T, d_{\text{model}})$ with the
# sines in the even columns and the cosines in the odd ones (column
# $2i$ and $2i + 1$ share the frequency $1 / 10000^{2i/d_{\text{model}}}$).

# %% solution="sinusoidal_positional_encoding"
def sinusoidal_positional_encoding(T, d_model):
    """PE (T, d_model): PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),
    PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))."""
    ### BEGIN SOLUTION
    pos = np.arange(T)[:, None]                               # (T, 1)
    two_i = np.arange(0, d_model, 2)                          # (d / 2,)
    angle = pos / 10000.0 ** (two_i / d_model)                # (T, d / 2)
    pe = np.zeros((T, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe
    ### END SOLUTION


# %% tests="sinusoidal_positional_encoding_tests" points=2
from helpers.checks import attention as check

check.sinusoidal_positional_encoding(sinusoidal_positional_encoding)
### BEGIN HIDDEN TESTS
check.sinusoidal_positional_encoding(sinusoidal_positional_encoding,
                                     hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The encoding of 100 positions in 32 features, and with it added to the
# input, the shuffle test of the last section again:

# %% tags=["demo"]
pe = sinusoidal_positional_encoding(100, 32)
attention_plots.plot_positional_encoding(pe)

# %% tags=["demo"]
x_pos = x + sinusoidal_positional_encoding(6, 8)[None]
params = mha_params_from_torch(mha)
out_pos, _ = multi_head_self_attention(x_pos, params, 2)
out_pos_perm, _ = multi_head_self_attention(
    x[:, perm] + sinusoidal_positional_encoding(6, 8)[None], params, 2)
print("with positions added, shuffling the input only shuffles the "
      "output:", bool(np.allclose(out_pos_perm, out_pos[:, perm])))

# %% [markdown]
# Now the shuffled sentence gives different outputs: the layer can tell
# the order. (Lesson 1's design criteria were variable length, order,
# long-range links and shared weights: self-attention has the first,
# third and fourth by construction, and the positional encoding gives
# it the second.)
#
# ## 4. Attention in the encoder–decoder
#
# Bahdanau et al. (2015) removed the bottleneck by letting the decoder
# search the encoder's states at every step. The decoder's previous
# state is the query; the encoder states $h_1 \dots h_S$ are both the
# keys and the values:
#
# $$\alpha_{tj} = \operatorname{softmax}_j\Big(\frac{s_{t-1} \cdot
#   h_j}{\sqrt{H}}\Big), \qquad c_t = \sum_{j=1}^{S} \alpha_{tj}\, h_j ,$$
#
# and $c_t$ replaces $h_S$ in the decoder's equations of section 1. This
# is your scaled dot-product attention with one query per step
# (`Seq2Seq(..., attention="dot")`; Bahdanau's original score is a
# small network, `attention="additive"`). Nothing else changes: the
# same sizes, data, updates and seeds as in section 1.

# %% tags=["demo"]
attn, attn_losses, attn_acc = train_models("dot")
print("final training loss (mean of the last 50 updates), per seed:")
print("  no attention  ", np.round([l[-50:].mean() for l in plain_losses],
                                   3))
print("  attention     ", np.round([l[-50:].mean() for l in attn_losses],
                                   3))
attention_plots.plot_training_losses(
    {"no attention": plain_losses, "with attention": attn_losses},
    math.log(V), "uniform guess, ln V")

# %% tags=["demo"]
print("length S:                ", lengths)
for name, acc in (("no attention", plain_acc), ("attention", attn_acc)):
    print(f"{name:13s} median     ", np.round(np.median(acc, 0), 2))
    print(f"{'':13s} lowest seed", np.round(acc.min(0), 2))
better = attn_acc.min(0) > plain_acc.max(0)
print(f"verdict: the worst attention seed beats the best plain seed at "
      f"lengths {lengths[better].tolist()}")
attention_plots.plot_accuracy_by_length(
    lengths, {"no attention": plain_acc, "with attention": attn_acc},
    chance)

# %% [markdown]
# Read the verdict line: from a length on, even the worst seed with
# attention is ahead of the best seed without it. The search has not
# made the task free (the table shows how much its accuracy still falls
# for the longest sources, after 300 updates), but no longer does one
# vector of 48 numbers carry the whole source.
#
# **Where the decoder looks.** The first model decodes 200 fresh
# sources of length 8. For each output step $t$ (from 1) we find the
# source step with the largest weight $\alpha_{tj}$; reversal copies
# source step $S + 1 - t$ (the anti-diagonal). Then the weights of the
# first source of the batch that comes out right: row $t$ is output step
# $t$, column $j$ source step $j$.

# %% tags=["demo"]
S_map = 8
rng = np.random.default_rng(7)
src, _, tgt = reversal.reversal_batch(200, S_map, V, rng)
ids, alpha = attn[0].greedy_decode(src, bos_id=V, max_len=S_map)
alpha = alpha.numpy()                                   # (200, T, S)
peak = alpha.argmax(2)                                  # (200, T)
anti = np.arange(S_map - 1, -1, -1)                     # S + 1 - t
shares = {"on the anti-diagonal, step S + 1 - t": (peak == anti).mean(),
          "one step later, S + 2 - t": (peak == anti + 1).mean()}
for where, share in shares.items():
    print(f"largest weight {where}: {share:.0%} of the output steps")
print(f"elsewhere: {1 - sum(shares.values()):.0%}")
print("verdict: the weights follow the anti-diagonal (on it or one step "
      "later) in most steps:", bool(sum(shares.values()) > 0.75))
k = int(np.argmax((ids == tgt).all(1).numpy()))
print(f"source {k}: {src[k].tolist()}  output: {ids[k].tolist()}  "
      f"right: {bool((ids[k] == tgt[k]).all())}")
attention_plots.plot_attention_map(alpha[k], src[k].tolist(),
                                   ids[k].tolist())

# %% [markdown]
# The weights run along the anti-diagonal (see the shares): to write its
# first token the decoder looks at the end of the source, and so on back
# to the beginning. Where the peak sits one step later than the token
# it copies, the reason is the encoder: it reads left to right, so its
# state $h_{j+1}$ still holds $x_j$, the input of one step before, and
# the decoder may read $x_j$ there. Nobody told the model the alignment;
# it found it because looking there lowered the loss. In translation
# such maps show which source words each output word came from
# (reordered where the languages order words differently, like the
# adjective after the noun in French).
#
# ## 5. What recurrence costs, measured
#
# An RNN computes $h_t$ from $h_{t-1}$: step $t$ cannot start before
# step $t - 1$ is done, so a sequence of $T$ steps takes $T$ operations
# one after the other, whatever the hardware. A self-attention layer
# computes all positions at once, with a few large matrix products; but
# it compares every position with every other, $T^2$ scores.
#
# Below, `helpers.support.recurrence_cost.time_layers` times a
# `torch.nn.GRU` and a `torch.nn.MultiheadAttention` (4 heads), both of
# width $E = 64$ on a batch of 4 sequences, for lengths from 16 to 2048:
# the forward pass, and the backward pass of the sum of the outputs.
# Each time is the fastest of two runs, on one thread, on whatever
# machine runs this notebook (other programs running at the same time
# make it slower).

# %% tags=["demo"]
T_lengths = [16, 64, 256, 1024, 2048]
times = recurrence_cost.time_layers(T_lengths, E=64, N=4, heads=4)
gru, att = times["GRU"], times["self-attention"]
print("     T | sequential steps  |  forward ms        |  backward ms")
print("       |   GRU   attention |   GRU   attention  |   GRU   attention")
for k, T in enumerate(T_lengths):
    steps = recurrence_cost.sequential_steps(T)
    print(f"{T:6d} | {steps['GRU']:5d} {steps['self-attention']:9d} | "
          f"{1e3 * gru['forward'][k]:7.2f} {1e3 * att['forward'][k]:9.2f}"
          f"  | {1e3 * gru['backward'][k]:7.2f} "
          f"{1e3 * att['backward'][k]:9.2f}")
attention_plots.plot_layer_times(T_lengths, times)

# %% tags=["demo"]
for p in ("forward", "backward"):
    slope = {n: np.polyfit(np.log(T_lengths[-3:]), np.log(t[p][-3:]),
                           1)[0] for n, t in times.items()}
    faster = [T for T, g, a in zip(T_lengths, times["GRU"][p],
                                   times["self-attention"][p]) if a < g]
    print(f"{p}: log-log slope over T = {T_lengths[-3]}..{T_lengths[-1]}: "
          f"GRU {slope['GRU']:.2f}, attention "
          f"{slope['self-attention']:.2f}; attention was the faster at "
          f"T = {faster}")
    print(f"  verdict: attention's time grows faster with T than the "
          f"GRU's: {bool(slope['self-attention'] > slope['GRU'])}")

# %% [markdown]
# How to read this (the numbers are from your run, and vary from machine
# to machine):
#
# * **Sequential steps.** The GRU needs $T$ of them, 2048 for the
#   longest input; the attention layer the same five stages at every
#   length. Each GRU step is a small matrix product on $4 \times 64$
#   numbers and some gate arithmetic, too little to keep the CPU busy,
#   and every step pays its own overhead; attention's few large products
#   use the CPU well. That is why attention was the faster layer at the
#   lengths in the printed list, although it does more arithmetic. With
#   more cores, or a GPU, attention's large products spread over all of
#   them, while the GRU's steps still wait for each other.
# * **Growth.** On a log–log plot a cost of $T^p$ is a line of slope
#   $p$: slope 1 is linear (twice the length, twice the time), slope 2
#   quadratic (four times). In theory the GRU's cost is linear in $T$,
#   and attention's becomes quadratic once its $T^2$ scores outweigh the
#   parts that grow like $T$ (the projections); the printed slopes over
#   the long lengths, and the verdicts, show how far this run got
#   there. At some length the quadratic layer becomes the slower one (if
#   the printed list of lengths where attention was faster stops before
#   2048, that length was reached here), and the $T^2$ scores also cost
#   memory.
#
# So neither is simply cheaper. Attention trades $T$ sequential steps
# for $T^2$ parallel work; on today's parallel hardware and for the
# lengths of sentences and documents, that trade wins, which is what
# made it possible to train on far more data.
#
# ## 6. Where this leaves recurrent networks
#
# **What Transformers changed.** Vaswani et al. (2017), "Attention is
# all you need", dropped the recurrence altogether: a stack of
# multi-head self-attention layers (with positional encodings, residual
# connections, layer normalisation and small feedforward nets), an
# encoder–decoder for translation. Every position reaches every other in
# one step instead of through $T$ multiplications by the same matrix
# (lesson 4's vanishing gradients), and training runs in parallel over
# the whole sequence. Trained on very large corpora, this became BERT,
# GPT and today's language models, and it replaced RNNs in translation,
# speech recognition and much of time-series work.
#
# **Where recurrent models still fit.**
#
# * **Streaming.** An RNN processes one input at a time with a state of
#   fixed size: constant memory and constant work per step, however long
#   the stream has run (keyword spotting on a phone, sensor data, online
#   control). A Transformer generating its $t$-th output attends over
#   all $t$ previous ones: its memory (the "KV cache") and work per step
#   grow with $t$.
# * **Small memory and small devices.** The state is a few hundred
#   numbers; the models in this course run on one CPU thread.
# * **Very long inputs.** Attention's $T^2$ is a wall for inputs of
#   hundreds of thousands of steps (audio, genomes, long logs). A new
#   family of models brings recurrence back with a twist: **linear
#   recurrences** $h_t = A_t h_{t-1} + B_t x_t$ (no non-linearity
#   between steps), which can be trained in parallel over time with a
#   *scan* and run as an RNN at inference: S4 and Mamba (state-space
#   models), RWKV, linear attention, and the minimal LSTM and GRU of
#   "Were RNNs all we needed?" (Feng et al., 2024). Their gates are the
#   ones of lessons 5 to 7.
# * **Small data.** With little data and short sequences, a small GRU
#   or LSTM (or, as lesson 8 showed, a linear model) is often the
#   better baseline.
#
# **Further study.**
#
# * D. Bahdanau, K. Cho, Y. Bengio, "Neural machine translation by
#   jointly learning to align and translate" (2015): attention in the
#   encoder–decoder.
# * A. Vaswani et al., "Attention is all you need" (2017), and the
#   annotated version of it by Harvard NLP, "The Annotated Transformer":
#   the paper as runnable code.
# * J. Alammar, "The Illustrated Transformer" (blog), for the pictures.
# * A. Gu, T. Dao, "Mamba: linear-time sequence modeling with selective
#   state spaces" (2023); L. Feng et al., "Were RNNs all we needed?"
#   (2024).
# * `helpers/reference/attention.py`: the forward and backward passes of
#   dot-product, additive and multi-head attention in numpy, with their
#   tests against PyTorch.
#
# ## Summary
#
# * An encoder–decoder reads the source into states $h_1 \dots h_S$ and
#   writes the target from them; without attention the decoder sees
#   only $h_S$, one vector of fixed size, and exact-match accuracy on
#   reversal fell with the length for every seed, the first tokens read
#   being the worst kept.
# * Attention is a soft search: scores $Q K^\top$, weights by a softmax
#   over the keys (masked keys get 0, set to $-\infty$ before the
#   softmax), output $\alpha V$; scaled by $1/\sqrt{d_k}$ so that the
#   softmax does not saturate as $d_k$ grows.
# * Self-attention projects one sequence into queries, keys and values;
#   $h$ heads search in $h$ slices of $d_k = E/h$ features. It ignores
#   order, so a positional encoding (sines and cosines) is added to the
#   inputs.
# * With attention over the encoder states, the same encoder–decoder
#   kept its accuracy far better as the sources grew, and its weights
#   showed the alignment (the anti-diagonal of reversal).
# * Recurrence needs $T$ sequential steps and linear time; self-attention
#   a constant number of parallel stages and quadratic time and memory.
#
# ## Self-check questions
#
# 1. Why can a longer source make the plain encoder–decoder fail even
#    when its training loss is low on short ones?
# 2. In a batch of sources padded to the same length, which mask does
#    the decoder's attention need, and what goes wrong without it?
# 3. Why is the mask applied *before* the softmax, and what would
#    multiplying the weights by the mask afterwards give?
# 4. For $d_k = 256$ and unit-variance queries and keys, what is the
#    standard deviation of the scores with and without the
#    $1/\sqrt{d_k}$?
# 5. `torch.nn.MultiheadAttention` with $E = 64$ and 8 heads: what are
#    $d_k$ and the shape of the weights of one sample?
# 6. Without a positional encoding, what does self-attention give for
#    "dog bites man" and "man bites dog"?
# 7. A speech model must answer after every 10 ms of audio, on a phone,
#    for hours. Recurrent or attention, and why?
#
# <details><summary>Answers</summary>
#
# 1. The decoder sees only $h_S$, a vector of fixed size. Short sources
#    fit into it; a longer one must be squeezed into the same $H$
#    numbers, and the first tokens must survive many encoder steps (long
#    memory is hard, lesson 4).
# 2. A padding mask of shape $(N, 1, S)$ (or $(N, S)$ per query), True
#    at the real tokens. Without it, the decoder gives weight to padding
#    positions, whose states hold no source token.
# 3. With $-\infty$ before the softmax the masked keys get exactly 0 and
#    the kept weights are renormalised to sum to 1. Multiplying after
#    the softmax zeroes the masked weights but leaves the others as they
#    were: the row sums to less than 1, and the masked keys still
#    changed the kept weights through the normalisation.
# 4. $\sqrt{256} = 16$ without scaling, 1 with it.
# 5. $d_k = 64 / 8 = 8$; the weights of one sample are $(8, T_q, T_k)$,
#    one $T_q \times T_k$ map per head (averaged over heads unless
#    `average_attn_weights=False`).
# 6. The same three output vectors, in the order of the words: each word
#    is compared with the others by content only, so reordering the
#    input only reorders the output.
# 7. Recurrent (or a linear-time recurrence): constant memory and work
#    per step for an unbounded stream, where attention's cost per step
#    grows with everything heard so far.
#
# </details>
#
# **Running time.** The line below gives the wall-clock and CPU seconds
# this notebook took here. On the 2-core machine the course is tested
# on it took 28 s of wall-clock time and 27 s of CPU with other jobs
# running beside it (load average 2.6), and up to 64 s when they kept
# the machine more than twice over busy (load average 5 to 8): well
# within the 120 s per notebook of the grading set-up. The six training
# runs take most of it.

# %% tags=["demo"]
print(f"this notebook took {time.perf_counter() - notebook_start:.0f} s "
      f"(wall clock), {time.process_time() - cpu_start:.0f} s of CPU")
