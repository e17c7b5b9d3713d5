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
# # Lesson 8 — RNNs at work
#
# **What you will learn**
#
# 1. Next-character prediction on real text: a character-level language
#    model of *Hamlet*, measured in **bits per character** and
#    **perplexity** on held-out text, against counting baselines
#    (unigram, bigram and a smoothed n-gram) computed here.
# 2. Text generation: sampling the next character with a **temperature**
#    $\tau$ (you write it), greedy decoding as $\tau \to 0$, and what the
#    temperature does to the text.
# 3. **Many-to-one** classification: handwritten digits read row by row,
#    against logistic regression on the same split; the head that reads
#    each sequence's last *real* state in a padded batch (you write it).
# 4. **Forecasting** a real series (yearly sunspots): input/target windows
#    with a horizon (you write them), and honest baselines: the last
#    value, the value one solar cycle back, and a linear autoregression.
# 5. **One-to-many** generation: a sequence continued from a seed, each
#    output fed back as the next input (text, and sunspots years ahead).
#
# **What you need:** lesson 1 (the task shapes, padding and the mask),
# lesson 2 (the heads $y_t = W_{hy} h_t + b_y$, many-to-one and
# many-to-many), lesson 3 (the character model of *Hamlet*, truncated
# BPTT), lessons 6 and 7 (the LSTM and the GRU). The models here are
# PyTorch's `torch.nn.LSTM` and `torch.nn.GRU`, the cells you built by
# hand in lessons 6 and 7, trained with autograd.
#
# Three exercises are graded (10 points). Everything trains on the CPU,
# one thread; the whole notebook runs in about a minute and a half (see
# the closing note).

# %%
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from helpers.figures import application_plots, application_widgets
from helpers.support import data, training
from helpers.support.models import CharLM, Forecaster, SequenceClassifier
from helpers.support.ngram import NGramLM

np.set_printoptions(precision=3, suppress=True)
torch.set_num_threads(1)      # small nets: one thread is the fastest
notebook_start = time.process_time()

# %% [markdown]
# ## 1. Next-character prediction
#
# A language model gives a probability to the next token given the ones
# before it, $p(x_{t+1} \mid x_1, \dots, x_t)$. At the level of
# characters this is the many-to-many task of lesson 3: at every step the
# RNN reads $x_t$, updates $h_t$ and scores the next character with
# $y_t = W_{hy} h_t + b_y$ (one score per character of the vocabulary,
# $K = V$).
#
# **The data.** The course ships *Hamlet*. We train on the first 90% of
# the text and keep the last 10% (the end of the play, never seen in
# training) for validation.

# %% tags=["demo"]
text = data.load_char_corpus()
chars = data.build_char_vocab(text)
ids = chars.encode(text)
V = len(chars)
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
print(f"{len(ids)} characters, V = {V} distinct; {len(train_ids)} for "
      f"training, {len(val_ids)} for validation")
print(repr(text[split:split + 120]))

# %% [markdown]
# **How to score a language model.** Read the validation text
# character by character and take the probability $p_t$ the model gave
# to the character that actually came next. The cross-entropy in **bits
# per character** is
#
# $$\text{bpc} = -\frac{1}{M} \sum_{t=1}^{M} \log_2 p_t ,$$
#
# the average number of bits an ideal code built on the model would need
# per character (the training loss in nats, divided by $\ln 2$). The
# **perplexity** $2^{\text{bpc}}$ is the same number on another scale:
# the model is as unsure as a uniform choice among that many characters.
# A model that knew nothing would pay $\log_2 V = 6.02$ bits.
#
# ### Counting baselines: n-grams
#
# Before training anything, count. An **n-gram** model predicts the next
# character from the $n - 1$ characters before it, by frequency in the
# training text: order 1 (the **unigram**) ignores the context, order 2
# (the **bigram**) looks at one character, order 5 at four. Longer
# contexts are sharper but rarer (the cell below counts how rare), and
# raw counts would give probability 0 to whatever a rare context was
# not seen with. `helpers.support.ngram.NGramLM` **smooths** them with
# interpolated Kneser–Ney, the standard strong baseline: it subtracts a
# discount $d$ from every count and gives the freed mass to the next
# shorter context,
#
# $$P_k(w \mid u) = \frac{\max(c(u\,w) - d_k,\, 0)}{c(u\,\cdot)}
#   + \frac{d_k\, n(u\,\cdot)}{c(u\,\cdot)}\; P_{k-1}(w \mid u'),$$
#
# where $u'$ is the context $u$ without its first character, $c(u\,
# \cdot)$ counts the context and $n(u\,\cdot)$ the distinct characters
# seen after it (the module's docstring has the details). We score every
# order on the validation characters that the LSTM will be scored on.

# %% tags=["demo"]
x_val, y_val = training.stream_batches(val_ids, 8)     # (8, L_v) each
targets = y_val.reshape(-1).numpy()                     # the scored chars
contexts = x_val.reshape(-1).numpy()

ngram_bits = {}
for n in tqdm(range(1, 6), desc="n-gram models"):
    lm = NGramLM(train_ids, V, n)
    ngram_bits[n] = lm.bits_per_char(targets, history=contexts[:1])
names = {1: "unigram", 2: "bigram"}
for n, bits in ngram_bits.items():
    print(f"order {n} {names.get(n, f'{n}-gram'):8s}: {bits:.3f} bits per "
          f"character, perplexity {2 ** bits:5.2f}")
best_n = min(ngram_bits, key=ngram_bits.get)
seen = [lm.totals[4].get(tuple(val_ids[j - 4:j]), 0)    # lm: order 5
        for j in range(4, len(val_ids))]
print(f"4-character contexts of the validation text seen fewer than 5 "
      f"times in training: {np.mean(np.array(seen) < 5):.0%}, never: "
      f"{np.mean(np.array(seen) == 0):.0%}")
print(f"best n-gram: order {best_n}, {ngram_bits[best_n]:.3f} bits per "
      f"character")

# %% [markdown]
# Context pays: from the unigram to the bigram the cost falls by more
# than a bit per character, and again to orders 3 and 4. The gain from
# order 4 to 5 is small: with 157k training characters, about a quarter
# of the 4-character contexts of the validation text were seen fewer
# than 5 times in training (see the last line), and there the smoothed
# model must fall back on shorter contexts.
#
# ### An LSTM language model
#
# The model is `helpers.support.models.CharLM`: an embedding of size
# $E = 32$ (lesson 3), one `torch.nn.LSTM` layer with $H = 256$, and the
# head $y_t = W_{hy} h_t + b_y$ over the $V$ characters. Training is
# lesson 3's truncated BPTT, now with autograd
# (`helpers.support.training.train_char_lm`, 40 lines worth reading): the
# training text is cut into $N = 32$ streams read side by side in chunks
# of $T = 64$ characters; the state is carried from one chunk to the
# next and the graph is cut (`detach`). Each update: the softmax
# cross-entropy of every step of the chunk, backward, the gradient norm
# clipped at 1, one Adam step. The learning rate rises to 0.02 and then
# decays to near 0 over the run (PyTorch's `OneCycleLR`), which helps a
# short run.
#
# Every 100 updates the loop scores the validation text (8 streams, each
# read from a zero state) and notes the CPU seconds spent training so
# far.

# %% tags=["demo"]
model = CharLM(V, embed_dim=32, hidden_size=256, cell="lstm",
               chars=chars.chars, seed=0)
run = training.train_char_lm(model, train_ids, x_val, y_val, steps=700,
                             N=32, T=64, lr_max=0.02, eval_every=100)
seconds, val_bits = run["seconds"], run["val_bits"]
lstm_bits = val_bits[-1]
print("validation curve:", ", ".join(
    f"{b:.2f} at {t:.0f} s" for t, b in zip(seconds, val_bits)))
print(f"700 updates (about {700 * 32 * 64 / len(train_ids):.0f} passes "
      f"through the training text) in {seconds[-1]:.0f} CPU seconds")
for what, bits in (("unigram", ngram_bits[1]), ("bigram", ngram_bits[2]),
                   (f"best n-gram (order {best_n})", ngram_bits[best_n]),
                   ("LSTM", lstm_bits)):
    print(f"{what:24s}: {bits:.3f} bits per character, perplexity "
          f"{2 ** bits:5.2f}")
application_plots.plot_bits_curve(
    seconds, val_bits,
    {"unigram": ngram_bits[1], "bigram": ngram_bits[2],
     f"{best_n}-gram, Kneser-Ney": ngram_bits[best_n]},
    title="validation bits per character against training time")

# %% [markdown]
# The curve starts at about 6 bits (a uniform guess over 65 characters)
# and is below the unigram and bigram lines at the first evaluation. It
# then passes the best n-gram (see the printed curve), and the LSTM ends
# below it on text it never saw, although the n-gram was built from
# exact counts of every context up to four characters. The LSTM is not
# limited to four characters: its state carries what it read further
# back (the speaker's name at the start of a line, the position in a
# line of verse, an open bracket), and its embedding and weights share
# what it learned across similar contexts, where the n-gram treats every
# context on its own.
#
# This is one run with one seed. `benchmarks/bench_char_lm.py` repeats
# exactly this run for seeds 0, 1 and 2 and prints the same comparison
# (run it with `python3 course.py bench`); on the machine the course is
# tested on, all three seeds ended below the 5-gram, between 2.20 and
# 2.24 bits per character against 2.29. The margin is modest after a
# minute of training. The n-gram, for its part, has little left to gain
# from the same text: order 5 saved only about a tenth of a bit over
# order 4, against about 0.4 from order 3 to order 4.
#
# ## 2. Sampling with temperature
#
# To **generate** text, run the model on a prompt, turn the scores
# $y_t$ of the last step into probabilities, draw the next character,
# feed it back as the next input, and repeat. The **temperature**
# $\tau > 0$ divides the scores before the softmax:
#
# $$p_k = \frac{\exp(y_k / \tau)}{\sum_{j=1}^{V} \exp(y_j / \tau)} .$$
#
# $\tau = 1$ is the model's own distribution. $\tau < 1$ sharpens it
# towards the most likely character; as $\tau \to 0$ all the probability
# goes to the largest score, and sampling becomes **greedy decoding**
# (always take the argmax). $\tau > 1$ flattens it towards the uniform
# distribution.
#
# **Drawing from $p$ with a uniform number.** Given $u$ drawn uniformly
# from $[0, 1)$, take the first $k$ whose cumulative probability
# $p_1 + \dots + p_k$ exceeds $u$ (counting from 0 in code). Each $k$
# owns an interval of length $p_k$ in $[0, 1)$, so it is picked with
# probability $p_k$: this is the inverse of the cumulative distribution,
# and what `rng.choice(V, p=p)` does inside. Passing $u$ in makes a
# sampler easy to test: the same $u$ must give the same characters.
#
# ### Exercise 1 (4 points): sampling with temperature
#
# Write `sample_with_temperature(logits, tau, u)` for a batch of scores
# `logits` of shape $(N, V)$, a temperature `tau` $\ge 0$ and uniform
# numbers `u` of shape $(N,)$, one per row. Return `(ids, p)`:
#
# * `p`, shape $(N, V)$, in the dtype of `logits`: the softmax of
#   `logits / tau` over each row. Subtract each row's maximum of
#   `logits / tau` before `np.exp` (the result is the same, and large
#   scores at a low temperature no longer overflow). For `tau == 0`
#   return the limit: a one-hot row at `logits.argmax(axis=1)`.
# * `ids`, an integer array of shape $(N,)$: for each row, the first `k`
#   whose cumulative sum `p[n, 0] + ... + p[n, k]` exceeds `u[n]`
#   (`np.cumsum` helps; if rounding leaves the total just below `u[n]`,
#   take the last index `V - 1`).
#
# Do not change the inputs.

# %% solution="sample_with_temperature"
def sample_with_temperature(logits, tau, u):
    """Draw one token per row from softmax(logits / tau).

    Parameters
    ----------
    logits : ndarray, shape (N, V)
    tau : float
        Temperature >= 0; 0 means greedy (argmax).
    u : ndarray, shape (N,)
        Uniform numbers in [0, 1), one per row.

    Returns
    -------
    ids : ndarray of int, shape (N,)
    p : ndarray, shape (N, V)
    """
    ### BEGIN SOLUTION
    N, V = logits.shape
    if tau == 0:                                     # the limit: greedy
        p = np.zeros_like(logits)
        p[np.arange(N), logits.argmax(axis=1)] = 1
    else:
        z = logits / tau
        z = z - z.max(axis=1, keepdims=True)         # no overflow
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)         # (N, V)
    cdf = np.cumsum(p, axis=1)                       # (N, V)
    ids = (cdf <= u[:, None]).sum(axis=1)            # first k: cdf > u
    return np.minimum(ids, V - 1), p
    ### END SOLUTION


# %% tests="sample_with_temperature_tests" points=4
from helpers.checks import applications as check

check.sample_with_temperature(sample_with_temperature)
### BEGIN HIDDEN TESTS
check.sample_with_temperature(sample_with_temperature, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **What the temperature does to one prediction.** The model's
# distribution of the character after a prompt, at three temperatures
# (computed with your function):

# %% tags=["demo"]
prompt = "HAMLET.\nTo be, or not to be, that is the "
with torch.no_grad():
    logits, _ = model(torch.as_tensor(chars.encode(prompt))[None])
y_last = logits[0, -1:].double().numpy()                    # (1, V)
taus = (0.5, 1.0, 2.0)
probs = {tau: sample_with_temperature(y_last, tau, np.zeros(1))[1][0]
         for tau in taus}
for tau in taus:
    p = probs[tau]
    entropy = -(p * np.log2(p)).sum()
    print(f"tau = {tau}: largest probability {p.max():.2f} "
          f"({chars.chars[p.argmax()]!r}), entropy {entropy:.2f} bits")
application_plots.plot_temperature_probs(chars.chars, probs, prompt)

# %% [markdown]
# **Generating text.** `generate` runs the model over the prompt, then
# draws one character at a time with **your** sampler, a fresh uniform
# number from a seeded numpy `Generator` per step, and feeds each drawn
# character back. This is the **one-to-many** shape of lesson 1: from a
# seed (a prompt, or a single character) the model produces a whole
# sequence, each output becoming the next input.

# %% tags=["demo"]
def generate(prompt, tau, n=300, seed=0):
    """The prompt followed by n characters drawn from the model."""
    rng = np.random.default_rng(seed)
    out = list(prompt)
    with torch.no_grad():
        x = torch.as_tensor(chars.encode(prompt))[None]      # (1, len)
        logits, state = model(x)
        for _ in range(n):
            y_t = logits[0, -1:].double().numpy()            # (1, V)
            nxt, _ = sample_with_temperature(y_t, tau, rng.random(1))
            out.append(chars.chars[int(nxt[0])])
            logits, state = model(torch.tensor([[int(nxt[0])]]), state)
    return "".join(out)


for tau in (0.3, 0.8, 1.5):
    print(f"----- tau = {tau} -----")
    print(generate("HAMLET.\n", tau, n=250))

# %% [markdown]
# Two numbers make "better text" concrete. For temperatures from greedy
# to hot, three samples of 300 characters each (three seeds): the share
# of the generated words that occur somewhere in the training text, and
# the share of distinct 10-character pieces (1 when nothing repeats; a
# greedy decoder stuck in a loop repeats the same pieces).

# %% tags=["demo"]
known = set(text[:split].split())          # the words of the training text


def text_stats(sample):
    words = sample.split()[:-1]             # the last word may be cut
    real = np.mean([w in known for w in words]) if words else 0.0
    pieces = [sample[i:i + 10] for i in range(len(sample) - 9)]
    return real, len(set(pieces)) / len(pieces)


for tau in (0.0, 0.3, 0.8, 1.0, 1.5):
    stats = np.array([text_stats(generate("HAMLET.\n", tau, n=300,
                                          seed=s)[8:]) for s in range(3)])
    print(f"tau = {tau:3.1f}: known words {stats[:, 0].mean():.2f} "
          f"(seeds {np.round(stats[:, 0], 2)}), distinct 10-char pieces "
          f"{stats[:, 1].mean():.2f}")

# %% [markdown]
# Read the numbers from the run above. Greedy decoding ($\tau = 0$)
# writes only real words but goes round in a loop: few of its
# 10-character pieces are distinct, and the three seeds give the same
# text, since $u$ no longer matters. A small temperature such as 0.3
# keeps the words real and breaks the loop. As $\tau$ rises the share
# of real words falls: the model's own distribution ($\tau = 1$)
# already invents a good part of its words, and at $\tau = 1.5$ the
# flattened distribution picks unlikely characters often enough to break
# most words. Values between about 0.5 and 1 are the usual compromise.
#
# Try it yourself: type a prompt (characters of the play only) and move
# the temperature. The text above the controls is the default.

# %% tags=["demo"]
application_widgets.generation_explorer(
    lambda prompt, tau: generate(prompt, tau, n=200), prompt="HAMLET.\n",
    tau=0.8)

# %% [markdown]
# ## 3. Many-to-one: reading a digit row by row
#
# A many-to-one model reads a whole sequence and gives one answer at the
# end: the head $y = W_{hy} h_T + b_y$ reads only the last state (lesson
# 2). scikit-learn ships 1,797 handwritten digits of $8 \times 8$ pixels.
# Read each image top to bottom, one row per step, and a digit is a
# sequence of $T = 8$ steps with $D = 8$ features: the RNN must keep what
# the first rows showed until it has seen the last.

# %% tags=["demo"]
X_digits, y_digits = data.load_digits_sequences(np.float32)  # (1797, 8, 8)
X_tr, X_te, y_tr, y_te = data.train_test_split(X_digits, y_digits,
                                               test_fraction=0.25, seed=0)
print(f"{len(X_tr)} training and {len(X_te)} test digits, "
      f"shape (N, T, D) = {X_tr.shape}")
application_plots.plot_digit_rows(X_tr[0], int(y_tr[0]))

# %% [markdown]
# **The baseline** sees the whole image at once, as 64 numbers, and
# knows nothing of rows or order: logistic regression on the flattened
# pixels. **The RNN** is `helpers.support.models.SequenceClassifier`:
# one `torch.nn.GRU` layer ($H = 64$) over the rows and a linear head on
# the last state, trained with the cross-entropy and Adam for 30 passes
# over the training digits, for three seeds.
#
# Real sequences come in different lengths, so we train the way a batch
# of them is handled. In every batch half of the digits are cut after a
# random number of rows (1 to 7) and padded with zero rows to $T = 8$;
# the loss reads each digit at its last real row. PyTorch does this with
# *packed* sequences (`torch.nn.utils.rnn.pack_padded_sequence`, in
# `helpers.support.training.last_real_scores`): the RNN skips the
# padding, so its final state is the state at each sequence's last real
# step. The classifier thus also learns to name a digit from its first
# rows. Both models are scored on the same whole test digits.

# %% tags=["demo"]
flat_tr, flat_te = X_tr.reshape(len(X_tr), -1), X_te.reshape(len(X_te), -1)
logreg = LogisticRegression(max_iter=2000).fit(flat_tr, y_tr)
logreg_acc = logreg.score(flat_te, y_te)

X_tr_t, X_te_t = torch.from_numpy(X_tr), torch.from_numpy(X_te)
classifiers, rnn_acc = [], []
for seed in tqdm(range(3), desc="GRU classifiers (3 seeds)"):
    clf = SequenceClassifier(8, 64, 10, cell="gru", seed=seed)
    training.train_classifier(clf, X_tr_t, torch.from_numpy(y_tr),
                              epochs=30, lr=1e-2, seed=seed, cut=True,
                              desc=f"seed {seed}")
    classifiers.append(clf)
    rnn_acc.append(training.accuracy(clf, X_te_t, torch.from_numpy(y_te)))
print(f"logistic regression, 64 pixels at once: test accuracy "
      f"{logreg_acc:.3f}")
print(f"GRU, 8 rows one by one: test accuracy {np.mean(rnn_acc):.3f} "
      f"(seeds: {np.round(rnn_acc, 3)})")

# %% [markdown]
# Compare the two lines printed above: the RNN, which sees one row at a
# time and must remember the rest, does better than the model that sees
# all pixels at once, on every seed. The recurrent model shares one set
# of weights across the rows, so a stroke is recognised wherever it
# falls, and its state combines the rows non-linearly; logistic
# regression can only weigh each pixel on its own.
#
# ### Padded batches: read the last *real* state
#
# Real sequences differ in length (reviews, sentences, recordings). In
# a batch they are padded to a common length $T$ with a mask that marks
# the real steps (lesson 1's `pad_batch`: real steps first, then
# padding). The RNN runs over the padding too, and the state after the
# padding is *not* the summary of the sequence. The many-to-one head
# must read each sequence at its own last real step:
#
# $$\text{length}_n = \sum_t \text{mask}_{n,t}, \qquad
#   h^{\text{last}}_n = h_{n,\, \text{length}_n}, \qquad
#   y_n = W_{hy}\, h^{\text{last}}_n + b_y$$
#
# (counting steps from 1 as in the text; in code `h[n, lengths[n] - 1]`).
#
# ### Exercise 2 (3 points): the many-to-one head with a mask
#
# Write `many_to_one_head(h, mask, W_hy, b_y)`: `h` holds the states of
# an RNN over a padded batch, shape $(N, T, H)$; `mask` is a boolean
# array $(N, T)$, True at the real steps (which come first; every
# sequence has at least one); `W_hy` has shape $(K, H)$ and `b_y` shape
# $(K,)$. Return the scores $(N, K)$ computed from each sequence's last
# real state, in the dtype of `h`. Fancy indexing picks one row per
# sample: `h[np.arange(N), idx]` has shape $(N, H)$.

# %% solution="many_to_one_head"
def many_to_one_head(h, mask, W_hy, b_y):
    """Scores from the state at each sequence's last real step.

    Parameters
    ----------
    h : ndarray, shape (N, T, H)
    mask : ndarray of bool, shape (N, T)
        True at real steps (first), False at padding.
    W_hy : ndarray, shape (K, H)
    b_y : ndarray, shape (K,)

    Returns
    -------
    logits : ndarray, shape (N, K)
    """
    ### BEGIN SOLUTION
    lengths = mask.sum(axis=1)                       # (N,)
    h_last = h[np.arange(h.shape[0]), lengths - 1]   # (N, H)
    return h_last @ W_hy.T + b_y                     # (N, K)
    ### END SOLUTION


# %% tests="many_to_one_head_tests" points=3
from helpers.checks import applications as check

check.many_to_one_head(many_to_one_head)
### BEGIN HIDDEN TESTS
check.many_to_one_head(many_to_one_head, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Your head on the trained classifiers.** Each test digit is cut after
# a random number of rows (1 to 8) and padded with zero rows, a batch of
# sequences of different lengths. The GRU runs over all 8 steps, padding
# included, as a plain `clf.rnn(x)` does; your head must read each digit
# where it really ends, and then it gives exactly the scores of PyTorch's
# packed sequences. For comparison, the scores read from the state after
# the padding (`h[:, -1]`).

# %% tags=["demo"]
rng = np.random.default_rng(0)
lengths = rng.integers(1, 9, len(X_te))                     # (N,)
mask = np.arange(8)[None, :] < lengths[:, None]             # (N, 8)
X_cut = torch.from_numpy(np.where(mask[:, :, None], X_te, 0))
rows = np.arange(1, 9)
acc_by_rows, acc_padding_read, gaps = [], [], []
for clf in classifiers:
    W_hy = clf.head.weight.detach().numpy()                 # (K, H)
    b_y = clf.head.bias.detach().numpy()                    # (K,)
    with torch.no_grad():
        h_cut = clf.rnn(X_cut)[0].numpy()                   # (N, 8, H)
        packed = training.last_real_scores(
            clf, X_cut, torch.from_numpy(lengths)).numpy()  # (N, K)
    yours = many_to_one_head(h_cut, mask, W_hy, b_y)
    gaps.append(np.abs(yours - packed).max())
    right = yours.argmax(1) == y_te
    acc_by_rows.append([right[lengths == r].mean() for r in rows])
    after_pad = (h_cut[:, -1] @ W_hy.T + b_y).argmax(1) == y_te
    acc_padding_read.append([after_pad[lengths == r].mean()
                             for r in rows])
acc_by_rows = np.array(acc_by_rows)                         # (3, 8)
print(f"your head against packed sequences: max difference "
      f"{max(gaps):.1e}")
print("rows read:                   ", rows)
print("accuracy, your head:         ", acc_by_rows.mean(0))
print("accuracy, state after padding", np.mean(acc_padding_read, 0))
application_plots.plot_accuracy_by_rows(
    rows, acc_by_rows, logreg_acc, "logistic regression, all 64 pixels")

# %% [markdown]
# Your head agrees with the packed sequences to rounding, and the
# accuracy climbs with each row read: after a few rows the top of the
# digit already narrows it down, and by the last rows the digit is
# known. Reading the state after the padding instead loses accuracy for
# the digits cut early (compare the two printed rows): the RNN kept
# updating its state on the zero rows, and the head was never trained on
# such states. For a digit with all 8 rows there is no padding, and both
# reads agree.

# %% [markdown]
# ## 4. Forecasting the sunspot cycle
#
# The yearly mean number of sunspots from 1700 to 2008 follows the
# roughly 11-year solar cycle, with peaks of very different heights. We
# forecast the next year from the previous $T = 20$ years and keep the
# last 60 years (1949–2008, five and a half cycles) for testing: every
# model is fitted on targets up to 1948 only.

# %% tags=["demo"]
years, spots = data.load_sunspots()
split_year, T_win = 1949, 20
print(f"{len(spots)} years, {years[0]}-{years[-1]}; mean "
      f"{spots.mean():.1f}, largest {spots.max():.0f} in "
      f"{years[spots.argmax()]}")

# %% [markdown]
# A forecaster is trained on **windows**: example $n$ shows the values
# $s_{n+1}, \dots, s_{n+T}$ and its target is the value $h$ steps after
# the window, $s_{n+T+h}$ ($h$ is the **horizon**; $h = 1$ is the next
# year). It is a many-to-one task.
#
# ### Exercise 3 (3 points): input/target windows with a horizon
#
# Write `make_forecast_windows(series, T, horizon=1)`. `series` has shape
# $(L,)$ or $(L, D)$; treat a 1-d series as $D = 1$ (`series[:, None]`).
# Return `(X, y)` with `X` of shape $(N, T, D)$, `X[n] = series[n : n +
# T]`, and `y` of shape $(N, D)$, `y[n] = series[n + T + horizon - 1]`
# (code counts from 0: the window ends at `n + T - 1`), for every window
# whose target lies in the series: $N = L - T - \text{horizon} + 1$. Keep
# the dtype; do not change the input.

# %% solution="make_forecast_windows"
def make_forecast_windows(series, T, horizon=1):
    """Sliding windows and the value `horizon` steps after each.

    Parameters
    ----------
    series : ndarray, shape (L,) or (L, D)
    T : int
        Window length.
    horizon : int
        Steps from the window's last value to the target, >= 1.

    Returns
    -------
    X : ndarray, shape (N, T, D)
    y : ndarray, shape (N, D)
        N = L - T - horizon + 1.
    """
    ### BEGIN SOLUTION
    s = series[:, None] if series.ndim == 1 else series     # (L, D)
    N = s.shape[0] - T - horizon + 1
    idx = np.arange(N)[:, None] + np.arange(T)              # (N, T)
    return s[idx], s[np.arange(N) + T + horizon - 1]
    ### END SOLUTION


# %% tests="make_forecast_windows_tests" points=3
from helpers.checks import applications as check

check.make_forecast_windows(make_forecast_windows)
### BEGIN HIDDEN TESTS
check.make_forecast_windows(make_forecast_windows, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Baselines.** With your windows ($T = 20$, horizon 1), each held-out
# year gets a forecast from:
#
# * the **naive** forecast: next year equals this year, $\hat s_{t+1} =
#   s_t$;
# * the **seasonal naive** forecast: the value one cycle back,
#   $\hat s_{t+1} = s_{t+1-11}$;
# * a linear **autoregression** AR($p$): $\hat s_{t+1} = a_0 + a_1 s_t +
#   \dots + a_p s_{t-p+1}$, its coefficients fitted by least squares on
#   the training windows. The order $p$ is chosen on the last 40
#   training years (fitted on the years before them), then refitted on
#   all training years.

# %% tags=["demo"]
X_sun, y_sun = make_forecast_windows(spots, T_win, horizon=1)  # yours
target_year = years[T_win:]                                 # (N,)
train, test = target_year < split_year, target_year >= split_year
y_test = y_sun[test, 0]


def fit_ar(X, y, p):
    """Least squares for y = a_0 + a_1 s_t + ... + a_p s_{t-p+1}."""
    A = np.column_stack([np.ones(len(X)), X[:, -p:, 0]])     # (N, 1 + p)
    return np.linalg.lstsq(A, y[:, 0], rcond=None)[0]


def predict_ar(a, X):
    p = len(a) - 1
    return np.column_stack([np.ones(len(X)), X[:, -p:, 0]]) @ a


fit_part, check_part = np.where(train)[0][:-40], np.where(train)[0][-40:]
check_mse = {p: np.mean((predict_ar(fit_ar(X_sun[fit_part],
                                           y_sun[fit_part], p),
                                    X_sun[check_part])
                         - y_sun[check_part, 0]) ** 2)
             for p in range(1, T_win + 1)}
p_ar = min(check_mse, key=check_mse.get)
a_ar = fit_ar(X_sun[train], y_sun[train], p_ar)
forecasts = {"naive (last year)": X_sun[test, -1, 0],
             "seasonal naive (11 years back)": X_sun[test, -11, 0],
             f"AR({p_ar}), least squares": predict_ar(a_ar, X_sun[test])}


def errors(pred):
    return np.abs(pred - y_test).mean(), np.sqrt(np.mean((pred - y_test)
                                                         ** 2))


print(f"{train.sum()} training windows (targets {target_year[train][0]}-"
      f"{target_year[train][-1]}), {test.sum()} held-out years")
print(f"order chosen on the last 40 training years: p = {p_ar}")
for name, pred in forecasts.items():
    print(f"{name:32s} MAE {errors(pred)[0]:5.1f}, RMSE "
          f"{errors(pred)[1]:5.1f}")

# %% [markdown]
# **The RNN.** `helpers.support.models.Forecaster` is one
# `torch.nn.LSTM` layer ($H = 32$) over the 20-year window and a linear
# head on the last state: the many-to-one model of section 3 with one
# output. The values are divided by 100 so that they are of order 1;
# Adam fits the mean squared error on the training windows for 150
# passes, for three seeds.

# %% tags=["demo"]
scale = 100.0
X_sun_t = torch.from_numpy(X_sun / scale).float()
y_sun_t = torch.from_numpy(y_sun / scale).float()
forecasters, lstm_preds = [], []
for seed in tqdm(range(3), desc="LSTM forecasters (3 seeds)"):
    fc = Forecaster(1, 32, 1, cell="lstm", seed=seed)
    training.train_regressor(fc, X_sun_t[train], y_sun_t[train],
                             epochs=150, lr=1e-2, seed=seed,
                             desc=f"seed {seed}")
    forecasters.append(fc)
    with torch.no_grad():
        lstm_preds.append(fc(X_sun_t[test]).numpy()[:, 0] * scale)
lstm_err = np.array([errors(pred) for pred in lstm_preds])    # (3, 2)
print(f"{'LSTM, 3 seeds':32s} MAE {lstm_err[:, 0].mean():5.1f} "
      f"({np.round(lstm_err[:, 0], 1)}), RMSE {lstm_err[:, 1].mean():5.1f} "
      f"({np.round(lstm_err[:, 1], 1)})")
application_plots.plot_forecasts(
    years, spots, split_year,
    {"LSTM (seed 0)": (target_year[test], lstm_preds[0]),
     f"AR({p_ar})": (target_year[test], forecasts[f"AR({p_ar}), least "
                                                  f"squares"]),
     "naive": (target_year[test], forecasts["naive (last year)"])})

# %% [markdown]
# ### One-to-many: rolling the forecast out
#
# To forecast further than one year, a one-step model can feed its own
# forecast back as the newest value of the window and go on: from a
# seed (the last 20 observed years) it generates a whole sequence, the
# one-to-many shape again, like the text of section 2. Errors now
# compound. From every held-out year whose next 11 years are known, we
# roll each model out 11 years and measure the error at each lead time;
# the naive forecast keeps the last observed value, the seasonal naive
# repeats the last observed cycle.

# %% tags=["demo"]
def roll_out(predict, window, n):
    """Feed forecasts back: windows (M, T) -> the next n values (M, n)."""
    out = []
    for _ in range(n):
        nxt = predict(window)                                   # (M,)
        out.append(nxt)
        window = np.column_stack([window[:, 1:], nxt])          # (M, T)
    return np.stack(out, axis=1)


leads = np.arange(1, 12)
origins = np.where(test)[0][:test.sum() - 10]
seeds_window = X_sun[origins, :, 0]                     # (M, 20)
truth = np.stack([y_sun[origins + lead - 1, 0] for lead in leads], 1)


def lstm_step(fc):
    def predict(window):
        x = torch.from_numpy(window[:, :, None] / scale).float()
        with torch.no_grad():
            return fc(x).numpy()[:, 0].astype(np.float64) * scale
    return predict


paths = {
    "LSTM (3 seeds)": [roll_out(lstm_step(fc), seeds_window, 11)
                       for fc in forecasters],
    f"AR({p_ar})": [roll_out(lambda w: predict_ar(a_ar, w[:, :, None]),
                             seeds_window, 11)],
    "naive": [np.repeat(seeds_window[:, -1:], 11, axis=1)],
    "seasonal naive": [seeds_window[:, 9:20]],          # 11 years back
}
rmse = {name: np.array([np.sqrt(np.mean((p - truth) ** 2, axis=0))
                        for p in runs]) for name, runs in paths.items()}
print(f"{len(origins)} forecast origins, {origins.size * 11} forecasts "
      f"per model")
print("years ahead:      ", leads)
for name, err in rmse.items():
    print(f"{name:18s}", np.round(err.mean(0), 1))
application_plots.plot_errors_by_lead(leads, rmse)

# %% [markdown]
# Read the table and the figure from the run above. One year ahead,
# the linear AR($p$) is the model to beat, and the LSTM does not beat it
# here: with only 229 training windows (one number per year), a model
# with thousands of weights has too little data to learn more than the
# nearly linear one-step dynamics, and its error varies with the seed.
# Both are far better than the naive forecasts, which ignore the shape
# of the cycle.
#
# Rolled out, the learned models' errors grow with the lead time as
# their forecasts are fed back: by more than half within three years.
# The naive forecast is worst by far half a cycle ahead, when the sun is
# in the opposite phase, and recovers a full cycle (10–11 years) ahead.
# The seasonal naive forecast does not compound errors: its error is
# about the same at every lead, and it is never small, because cycles
# differ in length and height. From about seven years ahead, the
# rolled-out LSTM is no better than it (compare the last columns).
#
# A recurrent model earns its weights when there is much more data,
# several related series, or inputs that a linear model cannot combine;
# on one short yearly series, fit the AR baseline first and keep it if
# it wins.

# %% [markdown]
# ## Summary
#
# * A character language model predicts $p(x_{t+1} \mid x_1 \dots x_t)$
#   with the many-to-many head $y_t = W_{hy} h_t + b_y$; it is measured
#   on held-out text in bits per character, $-\frac{1}{M}\sum_t \log_2
#   p_t$, or as the perplexity $2^{\text{bpc}}$.
# * Counting gives strong baselines: each step of context from the
#   unigram up to a smoothed 4- or 5-gram (interpolated Kneser–Ney) saves
#   bits. An LSTM trained for about a minute on one CPU thread went
#   below the best n-gram here, because its state carries more than four
#   characters of context and its weights share what similar contexts
#   have in common.
# * Sampling: $p = \operatorname{softmax}(y / \tau)$, then the first $k$
#   whose cumulative probability exceeds a uniform $u$. Low $\tau$ gives
#   real words that repeat ($\tau \to 0$ is greedy decoding); high
#   $\tau$ invents more. Generating, each drawn character is fed back:
#   one-to-many from a seed.
# * Many-to-one: the head reads the last state; in a padded batch, each
#   sequence's last *real* state, `h[n, lengths[n] - 1]` with
#   `lengths = mask.sum(axis=1)`. Reading after the padding loses
#   accuracy. A GRU reading digits row by row beat logistic regression on
#   all pixels at once.
# * Forecasting: windows `X[n] = s[n:n+T]`, `y[n] = s[n+T+h-1]`; compare
#   against the naive, seasonal naive and AR($p$) forecasts on the same
#   held-out years. On the yearly sunspots the least-squares AR($p$)
#   beat the LSTM; rolled out (one-to-many), errors compound with the
#   lead time.
#
# ## Self-check questions
#
# 1. A model has 2.0 bits per character on held-out text. What is its
#    perplexity, and what does that number mean?
# 2. Why can the validation bits per character of an n-gram get *worse*
#    when the order grows, while its training bits keep falling?
# 3. What does `sample_with_temperature` return for `tau = 1e-9`? Why
#    must the row maximum be subtracted before `np.exp` for it to work?
# 4. With $u$ uniform in $[0, 1)$, why does "the first $k$ whose
#    cumulative probability exceeds $u$" pick $k$ with probability
#    $p_k$?
# 5. A batch holds sentences of 3, 7 and 12 words padded to 12. Which
#    states does the many-to-one head read, and what goes wrong with
#    `h[:, -1]`?
# 6. With a window of $T = 20$ years and horizon 3, what is the target
#    of the window that starts in 1900? How many windows does a series
#    of $L$ values give?
# 7. Why judge a forecaster against the naive and seasonal naive
#    forecasts, and why on held-out years only?
#
# <details><summary>Answers</summary>
#
# 1. $2^2 = 4$: the model is, on average, as unsure as a uniform choice
#    among 4 characters (against 65 for a model that knows nothing).
# 2. Long contexts are rare: the counts of a 6-character context seen
#    once or twice describe the training text, not the language. The
#    model fits the training text better and generalises worse
#    (overfitting); smoothing only limits the damage.
# 3. (Almost) the greedy one-hot row. Without the subtraction,
#    `logits / 1e-9` is of order $10^9$ and `np.exp` overflows to inf,
#    giving inf/inf = NaN. After it, the largest entry is exp(0) = 1 and
#    all others underflow to 0, which is the right limit.
# 4. The cumulative sums cut $[0, 1)$ into consecutive intervals of
#    lengths $p_0, p_1, \dots$; the first sum exceeding $u$ is the end of
#    the interval that contains $u$, and $u$ falls into interval $k$
#    with probability equal to its length $p_k$.
# 5. The states after word 3, word 7 and word 12: `h[n, lengths[n] - 1]`.
#    `h[:, -1]` reads the first two sequences after 9 and 5 padding
#    steps; the RNN kept updating its state on the padding, so it no
#    longer summarises the sentence.
# 6. The window covers 1900–1919; horizon 3 means the target is 1922
#    (`s[n + T + h - 1]`). $N = L - T - h + 1$.
# 7. A forecast is only useful if it beats what costs nothing; on
#    yearly sunspots "like last year" and "like 11 years ago" are the
#    obvious free forecasts. Training years were used to fit the
#    models, so errors there say how well a model memorises, not how it
#    forecasts.
#
# </details>
#
# ## What comes next
#
# Every model here read its input left to right into a state of fixed
# size: the last state of a many-to-one model, or the state a generator
# carries forward, is all the model knows about the past. Lesson 9 puts
# two RNNs together, an encoder that reads a sequence and a decoder that
# writes another (translation-like tasks), measures how that single
# state becomes a bottleneck as the input grows, and removes it with
# **attention**: the decoder looks back at every encoder state. It also
# measures what recurrence costs: the steps of an RNN must run one after
# the other, while attention processes all positions at once.
#
# **Running time.** The line below gives the CPU seconds this notebook
# used (one thread for torch and numpy). On the 2-core machine the
# course is tested on it was 88 s, measured while other jobs shared the
# machine, within the 120 s per notebook of the grading set-up; the
# language model's training takes about half of it.

# %% tags=["demo"]
print(f"this notebook used {time.process_time() - notebook_start:.0f} CPU "
      f"seconds")
