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
# # Lesson 2 — The simple RNN
#
# **What you will learn**
#
# 1. What a recurrent system is, $s_t = f(s_{t-1}; \theta)$, and how a
#    *hidden state* $h_t = f(h_{t-1}, x_t; \theta)$ summarises a sequence
#    read so far.
# 2. The simple (Elman) RNN cell,
#    $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$, and how to unroll it
#    over time with the **same weights at every step**.
# 3. How tokens enter the net: one-hot vectors or learned embeddings.
# 4. Returning the full sequence of states or only the last one; an output
#    and a loss at every step or only at the end; the many-to-one and
#    many-to-many heads $y_t = W_{hy} h_t + b_y$.
# 5. That your numpy RNN computes exactly what `torch.nn.RNN` computes.
#
# **What you need:** lesson 1 (the $(N, T, D)$ layout, padding and masks,
# the "grew up in France ... fluent in French" task); numpy matrix
# products. PyTorch is used at the end; no experience with it is assumed.
#
# Four exercises are graded (10 points).

# %%
import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.reference import layers, rnn
from helpers.figures import plots, widgets
from helpers.support import sequences
from helpers.support.torch_weights import params_from_torch

np.set_printoptions(precision=3, suppress=True)
torch.set_num_threads(1)      # small nets: one thread is the fastest

# %% [markdown]
# ## 1. Recurrence: a state that is updated step by step
#
# A **recurrent system** computes its next state from its current state
# with a fixed rule $f$ and fixed parameters $\theta$:
#
# $$s_t = f(s_{t-1}; \theta).$$
#
# Unfolding the definition three times gives
# $s_3 = f(f(f(s_0; \theta); \theta); \theta)$: the same function applied
# again and again. For example $f(s) = 0.5\,s + 1$:

# %% tags=["demo"]
def f(s, theta=0.5):
    return theta * s + 1


for s0 in (0.0, 10.0):
    s, trace = s0, [s0]
    for t in range(8):
        s = f(s)
        trace.append(s)
    print(f"s_0 = {s0:4}: " + "  ".join(f"{v:.2f}" for v in trace))

# %% [markdown]
# Both runs head for the same value, 2: this system forgets where it
# started. A system that reads an input at each step,
#
# $$h_t = f(h_{t-1}, x_t; \theta),$$
#
# keeps a **state** $h_t$ that depends on everything read so far,
# $x_1, \dots, x_t$, in order. It meets the design criteria of lesson 1:
# one $f$ with one $\theta$ at every step (sharing), any number of steps
# (variable length), inputs taken in order (order), and whatever the state
# keeps travels to later steps (long-range dependencies).
#
# A familiar example: the exponential moving average of the temperatures
# of lesson 1, $h_t = 0.7\,h_{t-1} + 0.3\,x_t$, a recurrent net with one
# unit, $W_{hh} = 0.7$, $W_{xh} = 0.3$, and no nonlinearity:

# %% tags=["demo"]
x_weather = sequences.records_to_array(sequences.weather_records(),
                                       sequences.WEATHER_FEATURES)
temps = x_weather[2, :, 0]                   # station 2, 8 days
h = temps[0]
for t, x_t in enumerate(temps):
    h = 0.7 * h + 0.3 * x_t
    print(f"day {t}: x_t = {x_t:5.1f}   h_t = {h:5.2f}")

# %% [markdown]
# ## 2. The simple RNN cell
#
# The simple RNN lets the net *learn* $f$. With input $x_t \in \mathbb{R}^D$
# and hidden state $h_t \in \mathbb{R}^H$:
#
# $$h_t = \tanh(W_{xh}\, x_t + W_{hh}\, h_{t-1} + b_h)$$
#
# | symbol | shape | role |
# |---|---|---|
# | $W_{xh}$ | $(H, D)$ | reads the input |
# | $W_{hh}$ | $(H, H)$ | reads the previous state |
# | $b_h$ | $(H,)$ | bias |
#
# $\tanh$ squashes every unit into $(-1, 1)$, so the state cannot grow
# without bound. The start state $h_0$ is usually zeros.
#
# **Batches.** The code works on $N$ samples at once, stored as rows:
# `x` has shape $(N, D)$ and `h_prev` $(N, H)$. Then $W_{xh} x_t$ for every
# row is `x @ W_xh.T`, of shape $(N, H)$, and the whole step is
# `np.tanh(x @ W_xh.T + h_prev @ W_hh.T + b_h)`.

# %% tags=["demo"]
plots.plot_rnn_cell()

# %% tags=["demo"]
D, H = 3, 4
params = rnn.init_rnn_params(D, H, np.random.default_rng(0))
for name, value in params.items():
    print(f"{name}: shape {value.shape}")
n_params = sum(v.size for v in params.values())
print(f"H*D + H*H + H = {H * D} + {H * H} + {H} = {n_params} parameters, "
      f"whatever the length T of the sequence")

# %% [markdown]
# ### Exercise 1 (3 points): one time step
#
# Write `rnn_step_forward(x, h_prev, params)` that returns `(h_next, cache)`
# where `h_next` $= \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$ for every row,
# shape $(N, H)$, with the dtype of the inputs, and
# `cache = (x, h_prev, h_next, params)`: what the backward pass of lesson 3
# will need. Do not change the inputs.
#
# The test switches the three terms on one at a time (only $b_h$, only
# $W_{xh} x_t$, only $W_{hh} h_{t-1}$), so its message tells you which term
# is wrong.

# %% solution="rnn_step_forward"
def rnn_step_forward(x, h_prev, params):
    """One step of the simple RNN.

    h_next = tanh(W_xh x + W_hh h_prev + b_h), for a batch of rows.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    params : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,).

    Returns
    -------
    h_next : ndarray, shape (N, H)
    cache : tuple (x, h_prev, h_next, params)
    """
    ### BEGIN SOLUTION
    a = x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]
    h_next = np.tanh(a)
    return h_next, (x, h_prev, h_next, params)
    ### END SOLUTION


# %% tests="rnn_step_forward_tests" points=3
from helpers.checks import rnn as check

check.rnn_step_forward(rnn_step_forward)
### BEGIN HIDDEN TESTS
check.rnn_step_forward(rnn_step_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Unrolling in time
#
# Reading a sequence $x_1, \dots, x_T$ means applying the cell $T$ times,
# feeding each state into the next step:
#
# $$h_1 = \tanh(W_{xh} x_1 + W_{hh} h_0 + b_h),\quad
#   h_2 = \tanh(W_{xh} x_2 + W_{hh} h_1 + b_h),\quad \dots$$
#
# Drawn out, the loop becomes a chain of $T$ copies of the cell: the
# **unrolled** network. It looks like a deep feedforward net with $T$
# layers, except that every layer uses the **same** $W_{xh}, W_{hh}, b_h$.

# %% tags=["demo"]
plots.plot_rnn_unrolled(T=4, outputs="none")

# %% [markdown]
# ### Exercise 2 (3 points): the whole sequence
#
# Write `rnn_forward(x, h0, params)` for `x` of shape $(N, T, D)$ and `h0`
# of shape $(N, H)$. Loop over time, calling your `rnn_step_forward`, and
# return `(h, h_last, cache)`:
#
# * `h`, shape $(N, T, H)$, with `h[:, t]` the state **after** reading
#   `x[:, t]`, so `h[:, 0]` is $h_1$, not $h_0$;
# * `h_last = h[:, -1]`, shape $(N, H)$, the state after the last step;
# * `cache = (x, h0, h, params)`.
#
# Keep the dtype of `x` (create `h` with `dtype=x.dtype`).

# %% solution="rnn_forward"
def rnn_forward(x, h0, params):
    """Run the simple RNN over a batch of sequences.

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h) for t = 1 .. T.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    params : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,).

    Returns
    -------
    h : ndarray, shape (N, T, H), all states h_1 .. h_T
    h_last : ndarray, shape (N, H), the last state h_T
    cache : tuple (x, h0, h, params)
    """
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H), dtype=x.dtype)
    h_prev = h0
    for t in range(T):
        h_prev, _ = rnn_step_forward(x[:, t], h_prev, params)
        h[:, t] = h_prev
    return h, h[:, -1], (x, h0, h, params)
    ### END SOLUTION


# %% tests="rnn_forward_tests" points=3
from helpers.checks import rnn as check

check.rnn_forward(rnn_forward)
### BEGIN HIDDEN TESTS
check.rnn_forward(rnn_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The same parameters read the 8-day weather batch of lesson 1 and a
# 10-day batch, with no change at all: the number of parameters does not
# depend on $T$. (The cells below run your `rnn_forward`; while the
# course grades your notebook the reference `rnn_forward` is not there.)

# %% tags=["demo"]
params_w = rnn.init_rnn_params(D=3, H=5, rng=np.random.default_rng(1))
ten_days = sequences.records_to_array(
    sequences.weather_records(n_days=10), sequences.WEATHER_FEATURES)
for batch in (x_weather, ten_days):
    z = (batch - batch.mean(axis=(0, 1))) / batch.std(axis=(0, 1))
    h0 = np.zeros((z.shape[0], 5))
    h_all, h_last, _ = rnn_forward(z, h0, params_w)
    print(f"x {batch.shape} -> h {h_all.shape}, h_last {h_last.shape}")

# %% [markdown]
# And, unlike the bag of words of lesson 1, the state depends on the
# order. Read "good not bad" and "bad not good" as one-hot words:

# %% tags=["demo"]
vocab = ["the", "food", "was", "good", "bad", "not"]
review_a = "the food was good not bad".split()
review_b = "the food was bad not good".split()
onehot = np.stack([sequences.one_hot(np.array([vocab.index(w) for w in r]),
                                     len(vocab)) for r in (review_a,
                                                           review_b)])
params_r = rnn.init_rnn_params(D=len(vocab), H=8,
                               rng=np.random.default_rng(2))
_, h_end, _ = rnn_forward(onehot, np.zeros((2, 8)), params_r)
print("x:", onehot.shape, "(2 reviews, 6 words, one-hot over 6)")
print("same bag of words:", np.array_equal(onehot[0].sum(0),
                                           onehot[1].sum(0)))
print(f"distance between the final states: "
      f"{np.linalg.norm(h_end[0] - h_end[1]):.3f}")

# %% [markdown]
# ## 4. What the state remembers
#
# The state at step $t$ mixes the new input with $W_{hh} h_{t-1}$. How
# much of an early input survives depends on the size of $W_{hh}$. Below,
# $W_{hh} = \rho\, Q$ with $Q$ a random rotation (an orthogonal matrix), so
# that $\rho$ is the *spectral radius* of $W_{hh}$: every eigenvalue has
# size $\rho$. We run the RNN twice on the same 40 random inputs, except
# that the first input $x_1$ differs, and measure the gap
# $\|h_t - h'_t\|$: what the state still carries of $x_1$ at step $t$.

# %% tags=["demo"]
for rho in (0.5, 1.0, 2.5):
    h_run, gap = widgets.hidden_state_runs(rho, T=40,
                                           forward=rnn_forward)
    bound = gap[0] * rho ** 9              # ||W_hh|| = rho, |tanh'| <= 1
    print(f"rho = {rho}: gap at t=10 {gap[9]:.1e} (bound {bound:.1e}), "
          f"at t=40 {gap[-1]:.1e}; "
          f"{np.mean(np.abs(h_run) > 0.99):.0%} of values saturated")

# %% [markdown]
# Each step multiplies the gap by $W_{hh}$, which stretches no vector by
# more than $\rho$, and by the slope of $\tanh$, which is at most 1; so
# the gap at step $t$ is at most $\rho^{t-1}$ times the first one (the
# "bound" column). With $\rho = 0.5$ the trace of $x_1$ is gone after a
# few steps; with $\rho = 1$ it lasts longer but still fades. With
# $\rho = 2.5$ the units are driven into the flat ends of $\tanh$ and the
# state reacts erratically: a change in $x_1$ still changes everything 40
# steps later, but not in a usable way. Move the slider to see both
# regimes and the border between them (the first figure shows
# $\rho = 0.9$; the slider draws a new one below it).

# %% tags=["demo"]
widgets.hidden_state_explorer(rho=0.9, T=40, forward=rnn_forward)

# %% [markdown]
# Lesson 4 turns this observation into the problem of vanishing and
# exploding gradients. For now: a trained RNN has to find weights between
# forgetting everything and saturating.
#
# ## 5. Tokens as inputs: one-hot vectors or embeddings
#
# Words (or characters) are symbols. With a vocabulary of $V$ tokens, the
# **one-hot** vector of token $v$ is $e_v \in \mathbb{R}^V$. Multiplying a
# matrix by a one-hot vector just picks a column:
# $W_{xh} e_v = W_{xh}[:, v]$.

# %% tags=["demo"]
V = len(vocab)
W_xh = params_r["W_xh"]                                       # (H, V)
v = vocab.index("good")
e_v = sequences.one_hot(np.array(v), V)                       # (V,)
print("W_xh @ e_v      :", W_xh @ e_v)
print("W_xh[:, v]      :", W_xh[:, v])
print("largest difference:", np.abs(W_xh @ e_v - W_xh[:, v]).max())

# %% [markdown]
# So one-hot inputs are a table lookup in disguise, and they have two
# weaknesses: the input size is $V$ (tens of thousands of words), and all
# tokens are equally far apart, so nothing tells the net that "good" is
# closer to "great" than to "table". A **learned embedding** stores one
# row of $D \ll V$ numbers per token in a matrix $W_e$ of shape $(V, D)$
# and feeds $x_t = W_e[\text{token}_t]$ to the RNN; $W_e$ is trained with
# the rest of the net (this is `torch.nn.Embedding`). Counting parameters
# for a realistic vocabulary:

# %% tags=["demo"]
V_big, H_big, D_emb = 10_000, 256, 64
one_hot_in = H_big * V_big
embedded_in = V_big * D_emb + H_big * D_emb
print(f"one-hot input:  W_xh is {H_big} x {V_big} = {one_hot_in:,} numbers")
print(f"embedding:      W_e {V_big} x {D_emb} + W_xh {H_big} x {D_emb} = "
      f"{embedded_in:,} numbers ({one_hot_in / embedded_in:.1f}x fewer)")

ids = np.array([[vocab.index(w) for w in review_a]])          # (1, T)
W_e = np.random.default_rng(3).normal(size=(V, 4))            # (V, D)
x_emb, _ = layers.embedding_forward(ids, W_e)
print("token ids", ids.shape, "-> embedded x", x_emb.shape, "(N, T, D)")

# %% [markdown]
# ## 6. Outputs: the full sequence or the last state
#
# `rnn_forward` returns both the **full sequence** of states
# $h_1, \dots, h_T$ and the **last state** $h_T$. Which one a task uses
# depends on its shape (lesson 1):
#
# * **many-to-one** (the sentiment of a review): one output from the last
#   state, $y = W_{hy} h_T + b_y$, and one loss at the end;
# * **many-to-many, aligned** (a label per frame or per word): an output at
#   every step from the same head, $y_t = W_{hy} h_t + b_y$, a loss per
#   step, $L_t = \ell(y_t, \text{target}_t)$, and the total loss
#   $L = \sum_{t=1}^{T} L_t$, the **sum** over steps (the convention of
#   the whole course; lesson 3 differentiates it).
#
# The head has $W_{hy}$ of shape $(K, H)$ for $K$ outputs, and, like the
# cell, it is the same at every step.

# %% tags=["demo"]
plots.plot_rnn_unrolled(T=4, outputs="last", loss="end")

# %% tags=["demo"]
plots.plot_rnn_unrolled(T=4, outputs="all", loss="per step")

# %% [markdown]
# ### Exercise 3 (2 points): the output head
#
# Write `rnn_head(h, params)` that returns $y = W_{hy} h + b_y$ for
# `params = {"W_hy": (K, H), "b_y": (K,)}`. It must work for one state per
# sample, `h` of shape $(N, H)$ → `y` of shape $(N, K)$ (many-to-one,
# called with `h_last`), **and** for a whole sequence, `h` of shape
# $(N, T, H)$ → `y` of shape $(N, T, K)$ (many-to-many). One line of numpy
# does both; keep the dtype of `h`.

# %% solution="rnn_head"
def rnn_head(h, params):
    """Output head y = W_hy h + b_y, for one state or every step.

    Parameters
    ----------
    h : ndarray, shape (N, H) or (N, T, H)
    params : dict
        "W_hy" (K, H), "b_y" (K,).

    Returns
    -------
    y : ndarray, shape (N, K) or (N, T, K)
    """
    ### BEGIN SOLUTION
    return h @ params["W_hy"].T + params["b_y"]
    ### END SOLUTION


# %% tests="rnn_head_tests" points=2
from helpers.checks import rnn as check

check.rnn_head(rnn_head)
### BEGIN HIDDEN TESTS
check.rnn_head(rnn_head, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Padding and the last state.** With a padded batch (lesson 1), `h_last`
# is the state after the last *column*, which for a short sequence means
# after reading padding. The right "last state" of sequence $n$ is
# `h[n, T_n - 1]`, which only the full sequence lets you pick. Likewise, a
# loss per step must skip the padded steps, using the mask. Three
# sequences of lengths 5, 3 and 2:

# %% tags=["demo"]
rng = np.random.default_rng(4)
seqs = [rng.normal(size=(T_n, 3)) for T_n in (5, 3, 2)]
x_pad, mask = sequences.pad_batch(seqs)
lengths = mask.sum(axis=1)
h_all, h_last, _ = rnn_forward(x_pad, np.zeros((3, 5)), params_w)
h_true_last = h_all[np.arange(3), lengths - 1]                # (N, H)
for n in range(3):
    alone = rnn_forward(seqs[n][None], np.zeros((1, 5)), params_w)[1][0]
    print(f"sequence {n} (T_n = {lengths[n]}): |h_last - h_alone| = "
          f"{np.abs(h_last[n] - alone).max():.3f},  "
          f"|h[n, T_n-1] - h_alone| = "
          f"{np.abs(h_true_last[n] - alone).max():.1e}")

# %% [markdown]
# Padding after the end does not change the states *before* it, so
# `h[n, T_n - 1]` is exactly the state of the unpadded sequence, while
# `h_last` has drifted. The two kinds of loss, on random scores from a
# head with $K = 4$ classes. To compare them with guessing we print each
# loss divided by the number of predictions it sums (the mean per real
# step, and the mean per sequence):

# %% tags=["demo"]
params_y = {"W_hy": rng.normal(size=(4, 5)), "b_y": np.zeros(4)}
targets = rng.integers(0, 4, size=(3, 5))                     # (N, T)
y_all = h_all @ params_y["W_hy"].T + params_y["b_y"]          # (N, T, K)
loss_steps, _ = layers.temporal_softmax_loss(y_all, targets, mask)
y_end = h_true_last @ params_y["W_hy"].T + params_y["b_y"]     # (N, K)
loss_end, _ = layers.temporal_softmax_loss(
    y_end[:, None], targets[np.arange(3), lengths - 1][:, None])
print(f"loss per step (mean over the {mask.sum()} real steps): "
      f"{loss_steps:.3f}")
print(f"loss at the end (one prediction per sequence): {loss_end:.3f}")
print(f"guessing uniformly would give ln(4) = {np.log(4):.3f}")

# %% [markdown]
# ## 7. The same RNN in PyTorch
#
# `torch.nn.RNN` computes
# $h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$.
# Its `weight_ih_l0` is our $W_{xh}$ (shape $(H, D)$), its `weight_hh_l0`
# our $W_{hh}$ (shape $(H, H)$), and it has **two** bias vectors that are
# only ever added together, so any split with
# `bias_ih_l0 + bias_hh_l0` $= b_h$ works, e.g. $b_h$ and zeros. By
# default torch wants time first, $(T, N, D)$; `batch_first=True` makes it
# read our $(N, T, D)$.
#
# ### Exercise 4 (2 points): copy the weights into torch
#
# Write `to_torch_rnn(params)` that creates a
# `torch.nn.RNN(D, H, batch_first=True)` in **float64**
# (`dtype=torch.float64`), copies $W_{xh}, W_{hh}, b_h$ into it, and returns
# it. To write into a parameter, use `with torch.no_grad():` and
# `module.weight_ih_l0.copy_(torch.from_numpy(W_xh))`. The test checks
# your copy term by term, then checks that **your** `rnn_forward` agrees
# with torch.

# %% solution="to_torch_rnn"
def to_torch_rnn(params):
    """A float64 torch.nn.RNN(batch_first=True) holding our weights.

    Parameters
    ----------
    params : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,).

    Returns
    -------
    torch.nn.RNN
        weight_ih_l0 = W_xh, weight_hh_l0 = W_hh,
        bias_ih_l0 + bias_hh_l0 = b_h.
    """
    ### BEGIN SOLUTION
    H, D = params["W_xh"].shape
    module = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(params["W_xh"]))
        module.weight_hh_l0.copy_(torch.from_numpy(params["W_hh"]))
        module.bias_ih_l0.copy_(torch.from_numpy(params["b_h"]))
        module.bias_hh_l0.zero_()
    return module
    ### END SOLUTION


# %% tests="to_torch_rnn_tests" points=2
from helpers.checks import rnn as check

check.to_torch_rnn(to_torch_rnn, rnn_forward)
### BEGIN HIDDEN TESTS
check.to_torch_rnn(to_torch_rnn, rnn_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. An RNN that learns: France → French, at any distance
#
# Lesson 1 trained a window MLP on sentences with short filler and tested
# it on sentences whose filler is longer than any it had seen: it could
# only guess. Now a recurrent net gets the same data:
#
# * each word goes through a learned embedding ($D = 16$),
# * an `nn.RNN` with $H = 64$ reads the sentence,
# * the many-to-one head reads the state after the **last real word**,
#   `h[n, T_n - 1]`, picked from the full sequence of states (the batch is
#   padded at the end), and gives $K = 5$ scores, one per language,
# * the loss is the cross-entropy at the end.

# %% tags=["demo"]
short, y_short = sequences.language_corpus(1000, (1, 2), seed=2)
short_test, y_short_test = sequences.language_corpus(500, (1, 2), seed=3)
long_test, y_long_test = sequences.language_corpus(500, (5, 6), seed=4)
vocab = sequences.build_vocab(short + short_test + long_test)
V, K = len(vocab), len(sequences.COUNTRIES)
ids_train, len_train = sequences.encode(short, vocab)
print(f"training sentences: {len_train.min()} to {len_train.max()} words")
print(f"long test sentences: "
      f"{min(map(len, long_test))} to {max(map(len, long_test))} words")


class CountryRNN(torch.nn.Module):
    """Embedding -> RNN -> many-to-one head on the last real step."""

    def __init__(self, V, K, D=16, H=64):
        super().__init__()
        self.embed = torch.nn.Embedding(V, D)          # W_e, (V, D)
        self.rnn = torch.nn.RNN(D, H, batch_first=True)
        self.head = torch.nn.Linear(H, K)              # W_hy, b_y

    def forward(self, ids, lengths):
        h, _ = self.rnn(self.embed(ids))               # (N, T, H)
        h_end = h[torch.arange(len(ids)), lengths - 1]  # (N, H)
        return self.head(h_end)                        # (N, K)


def accuracy(model, sentences, labels):
    ids, lengths = sequences.encode(sentences, vocab)
    with torch.no_grad():
        scores = model(torch.from_numpy(ids), torch.from_numpy(lengths))
    return float(np.mean(scores.argmax(dim=1).numpy() == labels))

# %% tags=["demo"]
torch.manual_seed(0)
model = CountryRNN(V, K)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
X, L, Y = (torch.from_numpy(a) for a in (ids_train, len_train, y_short))
batches = torch.Generator().manual_seed(0)
losses = []
for step in tqdm(range(1200), desc="training"):
    b = torch.randint(0, len(X), (64,), generator=batches)
    loss = torch.nn.functional.cross_entropy(model(X[b], L[b]), Y[b])
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    losses.append(loss.item())

plots.plot_loss_curve(losses, baseline=np.log(K),
                      baseline_label="guessing, ln 5",
                      ylabel="cross-entropy (log scale)",
                      title="training the RNN on short-filler sentences")

# %% [markdown]
# The loss falls far below $\ln 5 \approx 1.61$, the loss of a uniform
# guess. The real test is the long sentences, compared with a window MLP
# trained on the same data (as in lesson 1, with a window that covers every
# sentence):

# %% tags=["demo"]
k_all = max(map(len, short + short_test + long_test))


def window(sentences):
    return sequences.last_window(*sequences.encode(sentences, vocab),
                                 k_all, V)


mlp = sequences.MLP(k_all * V, K, seed=0)
mlp.fit(window(short), y_short)
print(f"{'':24s} {'short filler':>12s} {'long filler':>12s}")
print(f"{'window MLP (lesson 1)':24s} "
      f"{mlp.score(window(short_test), y_short_test):12.0%} "
      f"{mlp.score(window(long_test), y_long_test):12.0%}")
print(f"{'RNN':24s} {accuracy(model, short_test, y_short_test):12.0%} "
      f"{accuracy(model, long_test, y_long_test):12.0%}")
print(f"{'guessing':24s} {1 / K:12.0%} {1 / K:12.0%}")

# %% [markdown]
# Because the RNN applies the same weights at every step, what it learned
# about "france" at the positions seen in training also works at new
# positions. It is not perfect: holding the country through many more
# steps than in training is hard for a simple RNN. Lessons 4 and 6
# explain why and fix it.
#
# Finally, the trained torch weights can be copied back into the numpy
# format (`helpers.support.torch_weights` does the mapping of exercise 4 in the
# other direction). Your numpy `rnn_forward` then gives the same states as
# the trained torch model:

# %% tags=["demo"]
p_np = params_from_torch(model.rnn)[0][0]        # {"W_xh", "W_hh", "b_h"}
ids_l, len_l = sequences.encode(long_test[:5], vocab)
with torch.no_grad():
    emb = model.embed(torch.from_numpy(ids_l))            # (5, T, 16)
    h_torch, _ = model.rnn(emb)
h0_np = np.zeros((5, p_np["W_hh"].shape[0]), dtype=np.float32)
h_numpy, _, _ = rnn_forward(emb.numpy(), h0_np, p_np)
print("numpy params:", {k: v.shape for k, v in p_np.items()})
print(f"largest difference numpy vs torch (float32): "
      f"{np.abs(h_numpy - h_torch.numpy()).max():.1e}")

# %% [markdown]
# ## Summary
#
# * A recurrent system applies one rule again and again; an RNN's hidden
#   state $h_t = f(h_{t-1}, x_t; \theta)$ summarises $x_1 \dots x_t$ in order.
# * The simple RNN: $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$ with
#   $W_{xh}$ $(H, D)$, $W_{hh}$ $(H, H)$, $b_h$ $(H,)$; in batch form
#   `np.tanh(x @ W_xh.T + h_prev @ W_hh.T + b_h)`.
# * Unrolled over $T$ steps it is a chain of $T$ cells with the **same**
#   weights, so it reads any length with $HD + H^2 + H$ parameters, and
#   "good not bad" and "bad not good" end in different states.
# * The spectral radius of $W_{hh}$ decides whether an early input fades
#   ($\rho < 1$) or the state saturates ($\rho$ large).
# * Tokens enter as one-hot vectors (a column lookup in $W_{xh}$) or as
#   learned embeddings, far smaller for large vocabularies.
# * Many-to-one reads $h_T$ (with padding: `h[n, T_n - 1]`) with one loss at
#   the end; many-to-many applies $y_t = W_{hy} h_t + b_y$ at every step,
#   with a loss per step that the mask restricts to real steps.
# * `torch.nn.RNN` is the same cell: `weight_ih_l0` $= W_{xh}$,
#   `weight_hh_l0` $= W_{hh}$, `bias_ih_l0 + bias_hh_l0` $= b_h$.
#
# ## Self-check questions
#
# 1. An RNN has $D = 10$ inputs and $H = 20$ hidden units. How many
#    parameters does the cell have for sequences of length 5? Of length 500?
# 2. Your `h` has shape $(N, T+1, H)$. What did you store, and what should
#    `h[:, 0]` be?
# 3. Why can't `W_hh` be used without the transpose in
#    `h_prev @ W_hh.T`, even though both are $(H, H)$ and the code runs?
# 4. For a batch padded at the end, why is `h_last` the wrong input for a
#    many-to-one head, and what is the right one?
# 5. Torch has two biases and our cell has one. What happens to the output
#    if you copy $b_h$ into both?
#
# <details><summary>Answers</summary>
#
# 1. $HD + H^2 + H = 200 + 400 + 20 = 620$ in both cases: the weights are
#    shared across time.
# 2. You stored $h_0$ as well; `h[:, 0]` must be $h_1$, the state after
#    reading `x[:, 0]`.
# 3. The text's $W_{hh} h_{t-1}$ uses row $i$ of $W_{hh}$ for unit $i$; with
#    states as rows that is `h_prev @ W_hh.T`. Without the transpose you
#    compute $W_{hh}^\top h_{t-1}$, a different net (the test shows it).
# 4. `h_last` is the state after the last column, i.e. after the padding of
#    short sequences; the right state is `h[n, T_n - 1]`.
# 5. Torch adds the two, so the net uses $2 b_h$ (the test names this).
#
# </details>
#
# ## What comes next
#
# The RNN above was trained by PyTorch's automatic differentiation.
# Lesson 3 computes those gradients by hand: **backpropagation through
# time** walks the unrolled chain backwards, summing the gradients of the
# shared weights over the steps, using the caches you built here.
