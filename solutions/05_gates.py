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
# # Lesson 5 — Gates
#
# **What you will learn**
#
# 1. What a **gate** is: a sigmoid layer followed by an element-wise
#    product, $g = \sigma(W x + b)$ and then $g \odot v$, a valve on a
#    pipe that lets through a fraction between 0 and 1 of a signal.
# 2. The three uses of a gate on a **memory vector** $c$: forgetting
#    (scale the memory, $f \odot c$), remembering (add gated new values,
#    $c + i \odot \tilde g$) and selecting (read part of the memory,
#    $o \odot \tanh(c)$).
# 3. Why a gate does not suffer from the bound $\sigma' \le 1/4$ of
#    lesson 4: along the signal, the factor is the gate's *value*, which
#    can stay close to 1 for many steps.
# 4. How three gates, set by hand, make a memory that stores a number,
#    keeps it through dozens of distractors and reads it out on request:
#    the plan of the LSTM of lesson 6.
#
# **What you need:** lesson 4 (the product of Jacobians, $\sigma' \le
# 1/4$, and why a simple RNN forgets); numpy element-wise products
# (`*`) and matrix products (`@`).
#
# Four exercises are graded (6 points).

# %%
import numpy as np

from helpers.figures import gates as gate_figures

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. A valve on a pipe
#
# The logistic sigmoid
#
# $$\sigma(a) = \frac{1}{1 + e^{-a}}$$
#
# squashes any number $a$ into $(0, 1)$: very negative $a$ gives almost
# 0, $a = 0$ gives exactly $0.5$, very positive $a$ almost 1. Multiply a
# signal by such a number and you have a **valve**: 0 closes the pipe,
# 1 opens it fully, anything in between lets a fraction through. Here is
# a value of 100 through gates of 0, 0.5 and 1:

# %% tags=["demo"]
gate_figures.plot_valve(100.0, (0.0, 0.5, 1.0))

# %% [markdown]
# A sigmoid never reaches 0 or 1 exactly, but it gets as close as we
# like. The pre-activations $-10$, $0$ and $10$ give:

# %% tags=["demo"]
for a in (-10.0, 0.0, 10.0):
    g = 1 / (1 + np.exp(-a))
    print(f"a = {a:5.1f}:  g = sigma(a) = {g:.6f},  g * 100 = {g * 100:.4f}")

# %% [markdown]
# A **gate** is this valve with a learned opening. A small layer looks
# at some context $x \in \mathbb{R}^D$ and decides, unit by unit, how far
# to open; the product then applies the decision to a signal
# $v \in \mathbb{R}^H$ of the same size as the gate:
#
# $$g = \sigma(W x + b) \in (0, 1)^H, \qquad
#   \text{out} = g \odot v ,$$
#
# with $W$ of shape $(H, D)$, $b$ of shape $(H,)$ and $\odot$ the
# element-wise product (numpy's `*`). Two things make it a gate and not
# just another layer: the sigmoid keeps every $g_j$ between 0 and 1, and
# the product with $v$ is element by element, so unit $j$ of the gate
# controls unit $j$ of the signal and nothing else.
#
# ### Exercise 1 (3 points): a gate
#
# Write `gate(x, v, W, b)` for a batch: `x` has shape $(N, D)$ (the
# context), `v` $(N, H)$ (the signal), `W` $(H, D)$ and `b` $(H,)$.
# Return the pair `(out, g)`: the gate values
# $g = \sigma(W x + b)$ of shape $(N, H)$ (with a batch of rows, $W x$ is
# `x @ W.T`) and `out` $= g \odot v$. Write the sigmoid yourself,
# `1 / (1 + np.exp(-a))`, and keep the dtype of the inputs.

# %% solution="gate"
def gate(x, v, W, b):
    """A gate: g = sigma(W x + b), then out = g * v element by element.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        The context the gate looks at.
    v : ndarray, shape (N, H)
        The signal that flows through the gate.
    W : ndarray, shape (H, D)
    b : ndarray, shape (H,)

    Returns
    -------
    out : ndarray, shape (N, H)
        g * v.
    g : ndarray, shape (N, H)
        The gate values, in (0, 1).
    """
    ### BEGIN SOLUTION
    g = 1 / (1 + np.exp(-(x @ W.T + b)))
    return g * v, g
    ### END SOLUTION


# %% tests="gate_tests" points=3
from helpers.checks import gates as check

check.gate(gate)
### BEGIN HIDDEN TESTS
check.gate(gate, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# A gate that reads its context: one input feature, $W = 10$, $b = -5$.
# The pre-activation is $10x - 5$, so $x = 0$ almost closes the gate and
# $x = 1$ almost opens it; the signal is the value 100 of the valve:

# %% tags=["demo"]
x_demo = np.array([[0.0], [0.5], [1.0]])               # (N, D) = (3, 1)
v_demo = np.full((3, 1), 100.0)                        # (N, H) = (3, 1)
out_demo, g_demo = gate(x_demo, v_demo, np.array([[10.0]]),
                        np.array([-5.0]))
for x_, g_, o_ in zip(x_demo[:, 0], g_demo[:, 0], out_demo[:, 0]):
    print(f"context x = {x_:.1f}:  gate {g_:.4f},  out = {o_:7.3f}")

# %% [markdown]
# ## 2. A memory vector and three uses of a gate
#
# Picture a **memory** $c \in \mathbb{R}^H$: $H$ numbers that a network
# carries from step to step. Gates give it three operations, each with
# its own gate of the same size as $c$:
#
# | use | operation | gate |
# |---|---|---|
# | **forget**: scale the memory | $c \leftarrow f \odot c$ | $f$ |
# | **remember**: add new values | $c \leftarrow c + i \odot \tilde g$ | $i$ |
# | **select**: read part of it | $\text{read} = o \odot \tanh(c)$ | $o$ |
#
# The forget gate $f$ keeps a unit at 1 and erases it at 0; the input
# gate $i$ says how much of each new value $\tilde g \in (-1, 1)$ to
# write; the output gate $o$ says which units to show.
#
# Forgetting and remembering change the memory; selecting only reads
# it, and the memory stays as it is. The $\tanh$ in the read keeps what
# is read between $-1$ and $1$ however large the memory has grown.
#
# ### Exercise 2 (1 point): forget
#
# Write `forget(c, f)`: return $f \odot c$ as a **new** array (do not
# change `c` in place: `c * f`, not `c *= f`). Both have shape
# $(N, H)$.

# %% solution="forget"
def forget(c, f):
    """Scale the memory: f * c. c, f: (N, H) -> (N, H)."""
    ### BEGIN SOLUTION
    return f * c
    ### END SOLUTION


# %% tests="forget_tests" points=1
from helpers.checks import gates as check

check.forget(forget)
### BEGIN HIDDEN TESTS
check.forget(forget, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### How long a memory lasts, and the $\sigma' \le 1/4$ of lesson 4
#
# Apply your `forget` at every step with the same gate $f = \sigma(a)$.
# After $t$ steps a unit keeps $f^t$ of its value. The gradient on this
# path is the same product: since $c_t = f \odot c_{t-1}$,
# $\partial c_t / \partial c_{t-1} = \operatorname{diag}(f)$, and over
# $t$ steps $\partial c_t / \partial c_0 = \operatorname{diag}(f^t)$.
#
# Lesson 4 found that the sigmoid's *derivative* is at most $1/4$, so a
# path through $t$ sigmoid derivatives shrinks at least like $(1/4)^t$.
# A gate is different: on the path of the signal the factor is the
# gate's *value* $f$, not $\sigma'$, and the value can sit as close to 1
# as the pre-activation makes it. ($\sigma'$ appears only on the path
# into the gate's own inputs $W$, $b$, $x$.)

# %% tags=["demo"]
T_keep = 200
kept = {}
for a in (2.0, 4.0, 7.0):
    f_keep = np.full((1, 1), 1 / (1 + np.exp(-a)))
    c_keep = np.ones((1, 1))
    trace = [1.0]
    for t in range(T_keep):
        c_keep = forget(c_keep, f_keep)
        trace.append(c_keep[0, 0])
    kept[f"f = sigma({a:g}) = {f_keep[0, 0]:.4f}"] = np.array(trace)
    print(f"f = sigma({a:g}) = {f_keep[0, 0]:.4f}: kept after 10 steps "
          f"{trace[10]:.3g}, after 100 {trace[100]:.3g}, after 200 "
          f"{trace[200]:.3g}")
print(f"(1/4)^10 = {0.25 ** 10:.3g}, (1/4)^100 = {0.25 ** 100:.3g}")
gate_figures.plot_keep_over_time(kept, 0.25 ** np.arange(T_keep + 1))

# %% [markdown]
# With $f = \sigma(7) \approx 0.999$ most of the memory, and of the
# gradient along it, is still there after 200 steps, where $(1/4)^t$ has
# long fallen below anything a computer can hold. This is the path that
# lesson 4's simple RNN lacked: no $W_{hh}$ and no $\tanh'$ between
# $c_{t-1}$ and $c_t$, only the forget gate. A network that learns to
# open its forget gate can carry a memory, and its gradient, across long
# lags.
#
# ### Exercise 3 (1 point): remember
#
# Write `remember(c, i, g)`: return $c + i \odot \tilde g$, the memory
# with the gated new values added (`g` is $\tilde g$, the new values).
# All three have shape $(N, H)$; return a new array.

# %% solution="remember"
def remember(c, i, g):
    """Add gated new values to the memory: c + i * g. All (N, H)."""
    ### BEGIN SOLUTION
    return c + i * g
    ### END SOLUTION


# %% tests="remember_tests" points=1
from helpers.checks import gates as check

check.remember(remember)
### BEGIN HIDDEN TESTS
check.remember(remember, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 (1 point): select
#
# Write `select(c, o)`: return the read $o \odot \tanh(c)$, shape
# $(N, H)$. It does not change the memory.

# %% solution="select"
def select(c, o):
    """Read part of the memory: o * tanh(c). c, o: (N, H) -> (N, H)."""
    ### BEGIN SOLUTION
    return o * np.tanh(c)
    ### END SOLUTION


# %% tests="select_tests" points=1
from helpers.checks import gates as check

check.select(select)
### BEGIN HIDDEN TESTS
check.select(select, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The three gates on one memory
#
# One memory of $H = 8$ units and eight new values $\tilde g$. The gates
# come from pre-activations: forget $\sigma(3) \approx 0.95$ on every
# unit (keep), input $\sigma(0) = 0.5$ (write half of each new value),
# and an output gate that reads units 0–3 ($\sigma(4)$) and hides units
# 4–7 ($\sigma(-4)$). Your three functions, one after the other:

# %% tags=["demo"]
c0, g_new = gate_figures.example_memory()              # (H,), (H,)
f_ex = gate_figures.gate_values(3.0, 8)
i_ex = gate_figures.gate_values(0.0, 8)
o_ex = np.where(np.arange(8) < 4, 1 / (1 + np.exp(-4.0)),
                1 / (1 + np.exp(4.0)))
c1 = forget(c0[None], f_ex[None])
c2 = remember(c1, i_ex[None], g_new[None])
read = select(c2, o_ex[None])
for name, row in (("memory c", c0), ("new values g~", g_new),
                  ("after forget", c1[0]), ("after remember", c2[0]),
                  ("read", read[0])):
    print(f"{name:15s}", row)

# %% [markdown]
# The same numbers as bars. The top row shows the gates; below, the
# memory before (outline) and after forgetting, the new values added on
# top, and the read, which shows units 0–3 and almost nothing of 4–7:

# %% tags=["demo"]
gate_figures.plot_memory_ops(c0, f_ex, i_ex, g_new, o_ex)

# %% [markdown]
# ### The memory explorer
#
# Set the pre-activation of each gate; it passes through $\sigma$ (the
# values are in the title) and acts on the units you choose, while the
# other units are kept ($f = 1$), not written ($i = 0$) and not read
# ($o = 0$). Things to try: forget $a_f = -6$ (erase), then $a_f = 6$
# (keep); input $a_i = 6$ with $a_f = -6$ (replace the memory by the new
# values); output $a_o = 6$ on "units 0-3" only (read half of the
# memory). The first figure shows the defaults.

# %% tags=["demo"]
gate_figures.memory_explorer(a_f=3.0, a_i=0.0, a_o=3.0)

# %% [markdown]
# ## 4. A memory cell wired by hand
#
# Now the gates read their context from an input sequence. Each step
# $x_t$ has three features: a value in $(-1, 1)$, a *store* marker and a
# *read* marker. We set the weights of three gates by hand (no training)
# so that the cell stores the value shown with the store marker, keeps
# it through the distractors, and reads it when the read marker comes:
#
# * forget $f_t = \sigma(10 - 20\,\text{store}_t)$: keep ($\approx 1$)
#   except at a store, where the old memory is erased;
# * input $i_t = \sigma(20\,\text{store}_t - 10)$: write only at a
#   store, and the new value is the input value itself;
# * output $o_t = \sigma(20\,\text{read}_t - 10)$: read only at a read.
#
# Each step uses your functions: `gate` for the three gate values,
# `forget`, `remember` and `select`. Five sequences of 60 steps store
# their value at step 5 and read it at step 60:

# %% tags=["demo"]
N_cell, T_cell, H_cell = 5, 60, 1
rng = np.random.default_rng(5)
x_cell = np.zeros((N_cell, T_cell, 3))                 # (N, T, 3)
x_cell[:, :, 0] = rng.uniform(-1, 1, (N_cell, T_cell))
x_cell[:, 4, 1] = 1.0                                   # store at t = 5
x_cell[:, -1, 2] = 1.0                                  # read at t = 60
W_f, b_f = np.array([[0.0, -20.0, 0.0]]), np.array([10.0])
W_i, b_i = np.array([[0.0, 20.0, 0.0]]), np.array([-10.0])
W_o, b_o = np.array([[0.0, 0.0, 20.0]]), np.array([-10.0])

c = np.zeros((N_cell, H_cell))
ones = np.ones((N_cell, H_cell))
trace = {k: np.zeros((N_cell, T_cell)) for k in ("c", "f", "i", "o",
                                                 "read")}
for t in range(T_cell):
    x_t = x_cell[:, t]                                  # (N, 3)
    _, f_t = gate(x_t, ones, W_f, b_f)
    _, i_t = gate(x_t, ones, W_i, b_i)
    _, o_t = gate(x_t, ones, W_o, b_o)
    c = remember(forget(c, f_t), i_t, x_t[:, :1])
    read_t = select(c, o_t)
    for k, v in (("c", c), ("f", f_t), ("i", i_t), ("o", o_t),
                 ("read", read_t)):
        trace[k][:, t] = v[:, 0]

stored = x_cell[:, 4, 0]
for n in range(N_cell):
    print(f"sequence {n}: stored {stored[n]:+.3f}, memory at t = 60 "
          f"{trace['c'][n, -1]:+.3f}, read {trace['read'][n, -1]:+.3f} "
          f"(tanh of the stored value: {np.tanh(stored[n]):+.3f}); "
          f"largest read before t = 60: "
          f"{np.abs(trace['read'][n, :-1]).max():.1e}")
print(f"largest |memory at t = 60 - stored value|: "
      f"{np.abs(trace['c'][:, -1] - stored).max():.1e}")
gate_figures.plot_memory_trace(x_cell[0], trace["c"][0], trace["f"][0],
                               trace["i"][0], trace["o"][0],
                               trace["read"][0])

# %% [markdown]
# The memory holds the stored value through 55 distractors, up to the
# small error printed last: at each step the forget gate
# $\sigma(10) \approx 0.99995$ lets a little of the memory go, and the
# input gate $\sigma(-10) \approx 4.5 \cdot 10^{-5}$ lets a little of
# each distractor in. The read is $\tanh$ of what the memory holds, and
# before the read marker almost nothing is read.
#
# Here we chose the weights. An LSTM (lesson 6) has exactly these three
# gates, plus a learned candidate $\tilde g$ instead of the raw input,
# and its gates read the previous hidden state as well as $x_t$; training
# finds the weights.
#
# ## Summary
#
# * A gate is $g = \sigma(W x + b)$ followed by an element-wise product
#   with a signal, $g \odot v$: a valve whose opening, between 0 and 1,
#   is computed from a context, unit by unit. A value of 100 through
#   gates of 0, 0.5 and 1 gives 0, 50 and 100.
# * On a memory $c$: forget $f \odot c$ (scale), remember
#   $c + i \odot \tilde g$ (add gated new values), select
#   $o \odot \tanh(c)$ (read part of the memory without changing it).
# * On the path of the signal the factor is the gate's value, not
#   $\sigma' \le 1/4$: a forget gate of $\sigma(7)$ keeps most of a
#   memory, and of its gradient, over 200 steps, where $(1/4)^t$ is
#   below $10^{-100}$.
# * Three hand-set gates store a value, keep it through 55 distractors
#   and read it on request.
#
# ## Self-check questions
#
# 1. A gate's pre-activation is $a = 0$. What fraction of the signal
#    passes? And for $a = -\infty$?
# 2. Why a sigmoid and not $\tanh$ for a gate? Why not ReLU?
# 3. `W` has shape $(H, D)$ and `x` holds a batch of $N$ rows. Why is the
#    pre-activation `x @ W.T + b`, and what is its shape?
# 4. The memory is $c = (2, -1)$, $f = (1, 0)$, $i = (0, 1)$,
#    $\tilde g = (0.5, 0.5)$. What is the memory after forgetting and
#    then remembering?
# 5. A forget gate stays at $f = 0.99$. What fraction of a memory is left
#    after 100 steps? After 1000?
# 6. Why does the $\sigma' \le 1/4$ bound of lesson 4 not make the
#    gradient along $c_t = f \odot c_{t-1}$ vanish?
#
# <details><summary>Answers</summary>
#
# 1. $\sigma(0) = 0.5$: half. As $a \to -\infty$, $\sigma(a) \to 0$:
#    nothing.
# 2. A gate's value must lie between "closed" (0) and "open" (1);
#    $\tanh$ lies in $(-1, 1)$ and would flip the sign of the signal,
#    ReLU is unbounded above and would amplify it.
# 3. Each row of `x` is one $x^\top$; $(W x)^\top = x^\top W^\top$, so
#    the batch is `x @ W.T`, of shape $(N, H)$, plus `b` broadcast over
#    the rows.
# 4. Forget: $(2, 0)$; remember: $(2 + 0 \cdot 0.5, 0 + 1 \cdot 0.5)
#    = (2, 0.5)$.
# 5. $0.99^{100} \approx 0.37$; $0.99^{1000} \approx 4 \cdot 10^{-5}$.
# 6. Along the memory, $\partial c_t / \partial c_{t-1} =
#    \operatorname{diag}(f_t)$: the gate's value, which can be close to
#    1. $\sigma'$ only multiplies the gradient that goes into the gate's
#    own pre-activation.
#
# </details>
#
# ## What comes next
#
# Lesson 6 builds the **LSTM**: a memory cell $c_t$ with exactly these
# three gates, a candidate $\tilde g_t = \tanh(W_g x_t + U_g h_{t-1} +
# b_g)$, and gates that read both the input $x_t$ and the previous
# hidden state $h_{t-1}$; its update
# $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ is your `forget` followed by
# your `remember`, and $h_t = o_t \odot \tanh(c_t)$ is your `select`.
# Trained, it learns the long lags where lesson 4's simple RNN failed.
# Lesson 7 builds the **GRU**, which does the same with two gates.
