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
# # Lesson 1 — Sequences and the limits of feedforward nets
#
# **What you will learn**
#
# 1. What makes data *sequential*, and how text, time series, DNA, user
#    actions, audio and video all become $T$ steps of $D$ numbers.
# 2. The four shapes of sequence tasks: one-to-one, one-to-many,
#    many-to-one and many-to-many (aligned or delayed).
# 3. How a batch of sequences is stored: an array of shape $(N, T, D)$,
#    with padding and a mask when the lengths differ.
# 4. Three ways a plain feedforward net (an MLP) fails on sequences, each
#    measured here with a number: a fixed input length, no notion of
#    order, and no link between an early and a late element.
# 5. The four design criteria that follow, and that the recurrent net of
#    lesson 2 is built to meet.
#
# **What you need:** Python and numpy (indexing, `shape`, `reshape`);
# the idea of a multilayer perceptron (layers $W x + b$ followed by a
# nonlinearity) trained to minimise a loss. No earlier lesson.
#
# Three short exercises are graded (7 points). Each one has a test cell
# below it: run it to check your answer; the messages tell you what to fix.

# %%
import numpy as np
from tqdm.auto import tqdm

from helpers.figures import plots, widgets
from helpers.support import sequences

np.set_printoptions(precision=2, suppress=True)

# %% [markdown]
# ## 1. What is sequential data?
#
# A sequence is an ordered list of elements $x_1, x_2, \dots, x_T$ in which
# **the position matters**: what comes at step $t$ depends on what came
# before. Each element is a vector of $D$ numbers, $x_t \in \mathbb{R}^D$,
# and $T$ is the length of the sequence. Here is one small sequence of each
# common kind; in every case the network sees an array of shape $(T, D)$.

# %% tags=["demo"]
examples = sequences.example_sequences()
for kind, ex in examples.items():
    T, D = ex["x"].shape
    print(f"{kind:13s} T = {T:3d} steps, D = {D:2d}   one step = "
          f"{ex['what']}")

# %% [markdown]
# Words, DNA bases and clicks are *symbols*; a simple way to turn a symbol
# into numbers is a **one-hot** vector: a vector of zeros with a single 1
# at the symbol's index in a vocabulary. Measurements (temperature, sound
# pressure, pixels) are numbers already. In the figure, time runs from
# left to right in every panel.

# %% tags=["demo"]
plots.plot_sequence_examples(examples)

# %% tags=["demo"]
print("'the cat sat on the mat', vocabulary:", examples["text"]["vocab"])
print("x_1 (the one-hot vector of 'the'):", examples["text"]["x"][0])
print("DNA 'GATTACA...', x_1 (the base 'G' over A, C, G, T):",
      examples["DNA"]["x"][0])

# %% [markdown]
# Order is information. One way to see it: in a sound wave, each sample
# is close to the previous one, so neighbouring samples are strongly
# correlated. Shuffle the samples and that structure is gone, although
# the *set* of numbers is exactly the same.

# %% tags=["demo"]
def lag1_correlation(s):
    """Correlation between s[t] and s[t + 1] over all t."""
    return np.corrcoef(s[:-1], s[1:])[0, 1]


wave = examples["audio"]["x"][:, 0]
shuffled = np.random.default_rng(0).permutation(wave)
print(f"audio, in order:  corr(x_t, x_t+1) = {lag1_correlation(wave):+.2f}")
print(f"audio, shuffled:  corr(x_t, x_t+1) = "
      f"{lag1_correlation(shuffled):+.2f}")
print("same values?", np.array_equal(np.sort(wave), np.sort(shuffled)))

# %% [markdown]
# ## 2. The four shapes of sequence tasks
#
# A task is described by *where the sequences are*: in the input, in the
# output, or in both.
#
# * **one-to-one**: one item in, one item out; no sequence at all
#   (classify an image). The baseline the others are compared with.
# * **one-to-many**: one item in, a sequence out (caption an image;
#   generate a melody from its first note).
# * **many-to-one**: a sequence in, one item out (the sentiment of a
#   review; tomorrow's temperature from the last 8 days).
# * **many-to-many, aligned**: one output for every input step (a label
#   for every video frame; the part of speech of every word).
# * **many-to-many, delayed**: a sequence out that starts once the input
#   has been read (translation).
#
# In the diagrams, red boxes are inputs, blue boxes are outputs and the
# green boxes are what a model carries from one step to the next (lesson 2
# makes this the *hidden state*).

# %% tags=["demo"]
plots.plot_task_shapes()

# %% [markdown]
# Why must translation be *delayed*? Because word order differs between
# languages. French puts most adjectives after the noun: "the black cat"
# is "le chat noir".

# %% tags=["demo"]
plots.plot_word_order()

# %% [markdown]
# An aligned model writes output word $t$ right after reading input word
# $t$. Count what each French word needs:

# %% tags=["demo"]
english = ["the", "black", "cat"]
french = ["le", "chat", "noir"]
needs = {0: 0, 1: 2, 2: 1}   # French position -> English position it needs

for t, word in enumerate(french):
    s = needs[t]
    status = "ok" if s <= t else f"too early: '{english[s]}' is word {s + 1}"
    print(f"write '{word}' at step {t + 1}: needs '{english[s]}' "
          f"-> {status}")

# %% [markdown]
# "chat" is the 2nd French word but translates the 3rd English word, which
# an aligned model has not read yet at step 2. A translator must read
# (at least part of) the sentence before it starts writing: the
# many-to-many *delayed* shape.
#
# ## 3. A batch of sequences: the $(N, T, D)$ array
#
# Networks are trained on many sequences at once. When they all have the
# same length, a batch is one array of shape $(N, T, D)$:
#
# * $N$ samples (sequences),
# * $T$ time steps per sample,
# * $D$ features per time step.
#
# So `x[n, t, d]` is feature $d$ of sample $n$ at step $t$; `x[n]` is one
# whole sequence, shape $(T, D)$; `x[:, t]` is every sample at one step,
# shape $(N, D)$, which is what a recurrent net reads at step $t$.
#
# **Worked example.** Seven weather stations record three features every
# day for eight days: temperature (°C), relative humidity and wind speed
# (km/h). So $N = 7$, $T = 8$, $D = 3$. The data arrives the way a database
# or a CSV file delivers it: one record per (station, day), in no
# particular order.

# %% tags=["demo"]
records = sequences.weather_records()     # 7 stations x 8 days, shuffled
features = sequences.WEATHER_FEATURES
print(len(records), "records; the first three:")
for r in records[:3]:
    print(" ", r)

# %% [markdown]
# ### Exercise 1 (3 points): records → $(N, T, D)$
#
# Write `records_to_array(records, features)` that returns the float
# array `x` of shape $(N, T, D)$ with
# `x[n, t, d] = r[features[d]]` for the record `r` whose `"station"` is
# `n` and whose `"day"` is `t`.
#
# * $N$ is one more than the largest station number, $T$ one more than the
#   largest day, $D$ = `len(features)`.
# * The records can come in **any order**: place each one by its own
#   station and day, not by its position in the list.
# * The last axis follows the order of `features`, which need not be the
#   order of the keys in the records.

# %% solution="records_to_array"
def records_to_array(records, features):
    """Arrange records into an (N, T, D) array.

    Parameters
    ----------
    records : list of dict
        Keys "station" (int in [0, N)), "day" (int in [0, T)) and one
        key per name in ``features``.
    features : sequence of str
        The D feature names, in the order of the last axis.

    Returns
    -------
    x : ndarray of float, shape (N, T, D)
    """
    ### BEGIN SOLUTION
    N = 1 + max(r["station"] for r in records)
    T = 1 + max(r["day"] for r in records)
    x = np.zeros((N, T, len(features)))
    for r in records:
        x[r["station"], r["day"]] = [r[f] for f in features]
    return x
    ### END SOLUTION


# %% tests="records_to_array_tests" points=3
from helpers.checks import sequences as check

check.records_to_array(records_to_array)
### BEGIN HIDDEN TESTS
check.records_to_array(records_to_array, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Here is the array (built by the reference version in `helpers`, which
# gives the same result as a correct answer) and the three ways of slicing
# it:

# %% tags=["demo"]
x = sequences.records_to_array(records, features)
print("x.shape       =", x.shape, "  (N, T, D)")
print("x[2].shape    =", x[2].shape, "     station 2, all days: (T, D)")
print("x[:, 5].shape =", x[:, 5].shape, "     all stations on day 5: (N, D)")
print("x[..., 0].shape =", x[..., 0].shape, "   temperature only: (N, T)")
print("station 2, temperatures over the 8 days:", x[2, :, 0])

# %% [markdown]
# The figure draws the same array as three stacked sheets, one per feature;
# every cell is coloured by its value. The solid frame is `x[2]`, the
# dashed one `x[:, 5]`.

# %% tags=["demo"]
plots.plot_ntd_array(x, features, sample=2, step=5)

# %% [markdown]
# This course always puts the batch first, $(N, T, D)$. PyTorch's recurrent
# layers expect time first, $(T, N, D)$, unless you create them with
# `batch_first=True`, which lesson 2 does.
#
# ### Sequences of different lengths: padding and a mask
#
# Real sequences rarely have equal lengths: reviews have different numbers
# of words, users make different numbers of clicks. To store them in one
# $(N, T, D)$ array we **pad** them: $T$ becomes the longest length, each
# shorter sequence is followed by zeros, and a boolean **mask** of shape
# $(N, T)$ records which steps are real, so that a model or a loss can
# ignore the padding later.
#
# ### Exercise 2 (2 points): pad a batch
#
# Write `pad_batch(seqs)`: given a list of $N$ arrays, sequence $n$ of
# shape $(T_n, D)$, return `(x, mask)` with `x` of shape $(N, T, D)$ where
# $T = \max_n T_n$, `x[n, :T_n] = seqs[n]` and zeros after that, and `mask`
# a **boolean** array of shape $(N, T)$, True exactly where
# $t < T_n$. Keep the dtype of the sequences, and do not change them.

# %% solution="pad_batch"
def pad_batch(seqs):
    """Stack sequences of different lengths into one padded batch.

    Parameters
    ----------
    seqs : list of ndarray, sequence n of shape (T_n, D)

    Returns
    -------
    x : ndarray, shape (N, T, D), T = max T_n, the dtype of the sequences
    mask : ndarray of bool, shape (N, T), True for real steps
    """
    ### BEGIN SOLUTION
    N, T, D = len(seqs), max(len(s) for s in seqs), seqs[0].shape[1]
    x = np.zeros((N, T, D), dtype=seqs[0].dtype)
    mask = np.zeros((N, T), dtype=bool)
    for n, s in enumerate(seqs):
        x[n, :len(s)] = s
        mask[n, :len(s)] = True
    return x, mask
    ### END SOLUTION


# %% tests="pad_batch_tests" points=2
from helpers.checks import sequences as check

check.pad_batch(pad_batch)
### BEGIN HIDDEN TESTS
check.pad_batch(pad_batch, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Three users' click streams of lengths 4, 2 and 5, one-hot over 3 kinds
# of click, padded into one batch:

# %% tags=["demo"]
clicks = [np.eye(3)[[0, 1, 1, 2]], np.eye(3)[[0, 2]],
          np.eye(3)[[0, 1, 2, 1, 2]]]
xb, mask = sequences.pad_batch(clicks)
print("x.shape =", xb.shape, " mask.shape =", mask.shape)
print(mask.astype(int))
print(f"{mask.sum()} real steps, {(~mask).sum()} padded steps "
      f"({(~mask).mean():.0%} of the array)")

# %% [markdown]
# ## 4. Why a plain MLP fails on sequences
#
# A multilayer perceptron maps one input vector of a **fixed** size to an
# output: $y = W_2\,\mathrm{relu}(W_1 v + b_1) + b_2$. To feed it a
# sequence we must first turn the sequence into one vector $v$. Each of the
# three obvious ways fails in its own way.
#
# ### 4.1 Flatten the sequence: the input length is fixed
#
# Flatten station $n$'s $8 \times 3$ measurements into one vector of
# $T \cdot D = 24$ numbers. The size of $W_1$ is then tied to $T$:

# %% tags=["demo"]
mlp_days = sequences.MLP(n_in=8 * 3, n_out=2, n_hidden=32)
print("W_1 has shape", mlp_days.params["W_1"].shape, "(hidden, T * D)")
print("8 days  -> outputs of shape",
      mlp_days.outputs(x.reshape(7, 8 * 3)).shape)

ten_days = sequences.records_to_array(
    sequences.weather_records(n_days=10), features)
print("10 days -> x.shape", ten_days.shape)
try:
    mlp_days.predict(ten_days.reshape(7, 10 * 3))
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# A station with 10 days of data cannot be read; one with 5 days cannot
# either. We could cut or pad every sequence to 8 days, but cutting throws
# data away (here 2 of the 10 days) and padding feeds made-up zeros through
# weights that were trained on real measurements. And a network that reads
# day 1 with one block of $W_1$ and day 2 with another must learn "a cold
# day means something" eight separate times.
#
# ### 4.2 Add up the steps: the order is lost
#
# To accept any length, we can sum over time. For text, summing the
# one-hot vectors of the words gives the **bag of words**: how many times
# each vocabulary word occurs. Its size is $V$ whatever the length of the
# sentence.
#
# ### Exercise 3 (2 points): bag of words
#
# Write `bag_of_words(sentence, vocab)` that returns a float array of
# shape $(V,)$ whose entry $v$ counts how many words of the sentence equal
# `vocab[v]`. Lower-case the sentence and split it on spaces
# (`sentence.lower().split()`); skip words that are not in `vocab`.

# %% solution="bag_of_words"
def bag_of_words(sentence, vocab):
    """Count each vocabulary word in a sentence.

    Parameters
    ----------
    sentence : str
        Words separated by spaces.
    vocab : list of str
        The V words, lower case.

    Returns
    -------
    counts : ndarray of float, shape (V,)
    """
    ### BEGIN SOLUTION
    counts = np.zeros(len(vocab))
    for word in sentence.lower().split():
        if word in vocab:
            counts[vocab.index(word)] += 1
    return counts
    ### END SOLUTION


# %% tests="bag_of_words_tests" points=2
from helpers.checks import sequences as check

check.bag_of_words(bag_of_words)
### BEGIN HIDDEN TESTS
check.bag_of_words(bag_of_words, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Now two reviews with the same words and opposite meanings:

# %% tags=["demo"]
vocab = ["the", "food", "was", "good", "bad", "not", "very"]
review_a = "the food was good not bad"
review_b = "the food was bad not good"
bags = np.array([sequences.bag_of_words(s, vocab)
                 for s in (review_a, review_b)])
print(bags)
print("the two vectors are identical:", np.array_equal(bags[0], bags[1]))

bow_mlp = sequences.MLP(n_in=len(vocab), n_out=2, n_hidden=16)
# one review at a time, so both go through exactly the same arithmetic
scores = np.array([bow_mlp.outputs(bag[None])[0] for bag in bags])
print("MLP outputs (one row per review):", scores)
print("largest difference between the two outputs:",
      np.abs(scores[0] - scores[1]).max())

# %% [markdown]
# The two inputs are the same vector, so **every** function of them, this
# MLP or any other however well trained, gives the same answer to a
# positive and a negative review: the difference is exactly 0. Shuffle the
# words of a sentence with the slider below and watch the bag not move.

# %% tags=["demo"]
widgets.bag_of_words_explorer("the dog bites the man",
                              ["the", "dog", "bites", "man"])

# %% [markdown]
# ### 4.3 Read a fixed window: early and late are cut apart
#
# The third way keeps the order: feed the MLP the **last $k$ words**, each
# one-hot, side by side — a vector of $k \cdot V$ numbers. Sentences of any
# length can be read this way; the window just slides to their end.
#
# But what happens when the clue is far from the end? Here is a task built
# on a sentence like "I grew up in **France** ... so I speak fluent
# **French**": predict the language (the last word) from the words before
# it. The only clue is the country, the 5th word; between them is filler
# of random length.

# %% tags=["demo"]
train, y_train = sequences.language_corpus(1000, n_phrases=(1, 5), seed=0)
test, y_test = sequences.language_corpus(500, n_phrases=(1, 5), seed=1)
for s, c in zip(train[:3], y_train[:3]):
    print(" ".join(s), "->", sequences.COUNTRIES[c][1])

vocab = sequences.build_vocab(train + test)
V, K = len(vocab), len(sequences.COUNTRIES)
ids_train, len_train = sequences.encode(train, vocab)
ids_test, len_test = sequences.encode(test, vocab)
distance = len_test - 4          # words from the country to the end
print(f"V = {V} words, K = {K} languages; the country is "
      f"{distance.min()} to {distance.max()} words from the end")

# %% [markdown]
# We train one MLP per window length $k$ and measure its accuracy on the
# 500 test sentences. Without the country, the other words of a window
# say nothing about the language (the filler phrases are drawn
# independently of it). So the best a window model can expect is to be
# right on every sentence whose country lies inside the window, and on
# the others to answer the most frequent language among them (about 23%
# here, a little above $1/K$ = 20%, because 500 sentences do not split
# evenly). That expectation is the dashed line. It is an expectation, not
# a hard ceiling: on one particular test set a model can land a point
# above it by luck.

# %% tags=["demo"]
ks = np.arange(1, 26, 3)
accuracy, best, n_weights = [], [], []
for k in tqdm(ks, desc="window lengths"):
    mlp = sequences.MLP(n_in=k * V, n_out=K, n_hidden=32, seed=0)
    mlp.fit(sequences.last_window(ids_train, len_train, k, V), y_train)
    accuracy.append(mlp.score(
        sequences.last_window(ids_test, len_test, k, V), y_test))
    unseen = distance > k           # country outside the window
    majority = np.bincount(y_test[unseen], minlength=K).max()
    best.append(np.mean(~unseen) + majority / len(y_test))
    n_weights.append(mlp.n_params)
accuracy, best = np.array(accuracy), np.array(best)

for k, a, b, w in zip(ks, accuracy, best, n_weights):
    print(f"k = {k:2d}: test accuracy {a:.1%} (best expected {b:.1%}), "
          f"{w:6d} weights")

# %% [markdown]
# The slider moves the window: the top row shows which words the MLP reads
# (shaded) for one test sentence, with the country outlined; the bottom
# plot is the accuracy of each trained window length.

# %% tags=["demo"]
example = test[int(np.flatnonzero((distance >= 12) & (distance <= 16))[0])]
widgets.window_explorer(example, clue=4, ks=ks, accuracy=accuracy,
                        best=best, chance=1 / K, k=10)

# %% [markdown]
# The MLP follows the line: with a short window it guesses (about 21%),
# and it reaches its best only when the window is long enough to hold the
# whole sentence. For each sentence the window either contains the clue or
# it does not; nothing before the window reaches the net. And the number of
# weights grows with $k$, since every position of the window has its own
# block of $W_1$.
#
# That last point hurts even when the window is long enough. Train a
# window MLP on sentences with **short** filler (1–2 phrases) and test it
# on sentences with **long** filler (5–6 phrases), with a window that
# covers every sentence. The same word "france" now sits at positions of
# the window that never held a country during training:

# %% tags=["demo"]
short, y_short = sequences.language_corpus(1000, (1, 2), seed=2)
short_test, y_short_test = sequences.language_corpus(500, (1, 2), seed=3)
long_test, y_long_test = sequences.language_corpus(500, (5, 6), seed=4)
vocab2 = sequences.build_vocab(short + short_test + long_test)
k_all = max(len(s) for s in short + short_test + long_test)


def window(sentences, k=k_all):
    return sequences.last_window(*sequences.encode(sentences, vocab2), k,
                                 len(vocab2))


wide = sequences.MLP(n_in=k_all * len(vocab2), n_out=K, seed=0)
wide.fit(window(short), y_short)
acc_short = wide.score(window(short_test), y_short_test)
acc_long = wide.score(window(long_test), y_long_test)
print(f"window k = {k_all} covers every sentence")
print(f"test, short filler (as in training): {acc_short:.0%}")
print(f"test, long filler (clue further back): {acc_long:.0%}   "
      f"(guessing: {1 / K:.0%})")

# %% [markdown]
# The MLP learned "*france* at these few positions before the end means
# *french*", not "*france* means *french*": each position has its own
# weights, and the weights of positions that never held a country were
# never trained. What it learned at one position is not **shared** with
# the others.
#
# ## 5. What a sequence model needs
#
# The three failures give four design criteria. Each row cites the number
# measured above.

# %% tags=["demo"]
rows = [
    ("variable length", "flattened MLP: W_1 is (32, T*D)",
     f"built for {mlp_days.n_in} inputs, 10 days give 30: ValueError"),
    ("order", "bag of words: same vector for different orders",
     f"output difference between the two reviews = "
     f"{np.abs(scores[0] - scores[1]).max()}"),
    ("long-range dependencies", "window MLP: sees only the last k words",
     f"accuracy {accuracy[1]:.0%} with k = {ks[1]}, "
     f"{accuracy[-1]:.0%} with k = {ks[-1]}"),
    ("parameter sharing across time",
     "window MLP: separate weights per position",
     f"{acc_short:.0%} on short filler, {acc_long:.0%} on long filler"),
]
for need, failure, evidence in rows:
    print(f"{need:31s} | {failure:48s} | {evidence}")

# %% [markdown]
# A model that meets all four reads the sequence **one step at a time,
# with the same function at every step**, and carries what it has seen so
# far in a state: $h_t = f(h_{t-1}, x_t; \theta)$. The same $\theta$ at
# every step gives sharing and any length; the state is updated in order;
# and the state can carry the country to the end of the sentence. That is
# the recurrent neural network of lesson 2, which will solve the long-filler
# test above.
#
# ## Summary
#
# * A sequence is $x_1 \dots x_T$ with $x_t \in \mathbb{R}^D$, and the order
#   carries information (neighbouring audio samples: correlation 0.94 in
#   order, about 0 shuffled).
# * Tasks come in four shapes: one-to-one, one-to-many, many-to-one and
#   many-to-many, the last either aligned (a label per frame) or delayed
#   (translation, because word order differs: "le chat noir").
# * A batch is an $(N, T, D)$ array: samples, time steps, features; sequences
#   of different lengths are padded and a boolean mask marks the real steps.
# * An MLP on a flattened sequence has a fixed input length; one on a bag
#   of words ignores order; one on a window cannot link an early element to
#   a late one, and learns each position separately.
# * So a sequence model must handle variable length, order and long-range
#   dependencies, and share its parameters across time.
#
# ## Self-check questions
#
# 1. A model reads 30 seconds of heart-rate readings (one per second) and
#    outputs "normal" or "irregular". What are $T$ and $D$, and which of the
#    task shapes is this?
# 2. You store 64 reviews, padded to 120 words, each word as a 50-number
#    vector. What is the shape of the batch, and of its mask?
# 3. Why does training the bag-of-words MLP longer, or making it bigger,
#    not help it tell "good not bad" from "bad not good"?
# 4. In the last experiment the window ($k$ = 29 words) holds every
#    long-filler sentence entirely. Why does the MLP still only guess on
#    them?
# 5. Is speech recognition (audio in, words out) aligned or delayed
#    many-to-many?
#
# <details><summary>Answers</summary>
#
# 1. $T = 30$, $D = 1$; many-to-one.
# 2. $(64, 120, 50)$ and $(64, 120)$.
# 3. The two sentences give the same input vector, so any function of it
#    gives the same output: the information the model would need is not in
#    its input.
# 4. On long filler the country falls on window positions whose weights
#    never saw a country during training; a window MLP does not share what
#    it learned at one position with the others.
# 5. Delayed: the words are not one per audio sample, and a word can only be
#    written after enough of its sound has been heard.
#
# </details>
#
# ## What comes next
#
# Lesson 2 builds the simple recurrent neural network,
# $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$: you will write its step
# and its loop over time in numpy, check it against `torch.nn.RNN`, and see
# it solve the long-filler test that the window MLP could not.
