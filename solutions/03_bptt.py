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
# # Lesson 3 — Backpropagation through time
#
# **What you will learn**
#
# 1. The chain rule on nested functions, and why a weight that is used at
#    several steps receives the **sum** of the gradients of its uses.
# 2. That an RNN unrolled over $T$ steps is a $T$-layer feedforward net
#    whose layers share (tie) their weights.
# 3. Backpropagation through time (BPTT): the total loss
#    $L = \sum_t L_t$, the gradient flowing backwards from $h_T$ to $h_1$,
#    and the gradients of $W_{xh}, W_{hh}, b_h$ summed over the steps. You
#    write the step backward and the sequence backward in numpy.
# 4. How to trust a backward pass: a numerical gradient check that you
#    write yourself, and agreement with PyTorch's automatic
#    differentiation.
# 5. Truncated BPTT for long sequences (chunks of $k$ steps, the state
#    carried, the graph cut), and how much of the gradient it keeps.
#
# **What you need:** lesson 2 (the cell
# $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$, `rnn_forward` and its
# caches); derivatives and the chain rule of one variable; numpy matrix
# products.
#
# Six exercises are graded (16 points). Each one has a test cell below
# it: run it to check your answer; the messages tell you what to fix.

# %%
import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.support import experiments
from helpers.figures import gradient_plots, gradient_widgets, plots
from helpers.reference import layers
from helpers.reference import rnn as ref
from helpers.checks.bptt import broken_rnn_backward
from helpers.reference.gradcheck import rel_error
from helpers.support.torch_weights import grads_from_torch, params_from_torch

np.set_printoptions(precision=4, suppress=True)
torch.set_num_threads(1)      # small nets: one thread is the fastest

# %% [markdown]
# ## 1. The chain rule on nested functions
#
# If $y = f(g(u(w)))$, the derivative is the product of the local
# derivatives along the chain:
#
# $$\frac{dy}{dw} = f'(g(u(w)))\; g'(u(w))\; u'(w).$$
#
# An RNN is such a nesting. Take a *scalar* RNN, one unit, input weight
# $u$ and recurrent weight $w$: $h_t = \tanh(w\, h_{t-1} + u\, x_t)$. Three
# steps give
#
# $$h_3 = \tanh\big(w \tanh\big(w \tanh(w h_0 + u x_1) + u x_2\big)
#        + u x_3\big).$$
#
# The weight $w$ appears **three times**, once per step. When a quantity
# depends on $w$ through several paths, the chain rule adds the paths:
#
# $$\frac{d h_3}{d w} = \sum_{k=1}^{3}
#   \underbrace{\frac{\partial h_3}{\partial h_k}}_{\text{from step } k
#   \text{ to the end}}\;
#   \underbrace{(1 - h_k^2)\, h_{k-1}}_{\text{the use of } w
#   \text{ at step } k},
# \qquad
# \frac{\partial h_3}{\partial h_k} = \prod_{j=k+1}^{3} (1 - h_j^2)\, w,$$
#
# where $1 - h_j^2 = \tanh'(\cdot)$ at step $j$. Let us compute the three
# terms and compare their sum with a finite difference.

# %% tags=["demo"]
def scalar_rnn(w, u, h0, xs):
    """All states h_0 .. h_T of h_t = tanh(w h_{t-1} + u x_t)."""
    hs = [h0]
    for x_t in xs:
        hs.append(np.tanh(w * hs[-1] + u * x_t))
    return hs


w, u, h0, xs = 0.8, 0.5, 0.1, [1.0, -0.5, 2.0]
hs = scalar_rnn(w, u, h0, xs)
T = len(xs)
terms = []
for k in range(1, T + 1):
    local = (1 - hs[k] ** 2) * hs[k - 1]          # d h_k / d w at step k
    to_end = np.prod([(1 - hs[j] ** 2) * w for j in range(k + 1, T + 1)])
    terms.append(to_end * local)
    print(f"use of w at step {k}: local {local:+.4f}, "
          f"dh_3/dh_{k} = {to_end:.4f}, term = {terms[-1]:+.5f}")

eps = 1e-6
finite = (scalar_rnn(w + eps, u, h0, xs)[-1]
          - scalar_rnn(w - eps, u, h0, xs)[-1]) / (2 * eps)
print(f"sum of the three terms = {sum(terms):+.8f}")
print(f"finite difference      = {finite:+.8f}")

# %% [markdown]
# The sum of the three terms is the derivative. The term of step 1 is
# the smallest, but look at why: its local factor $(1 - h_1^2)\, h_0$ is
# small because $h_0 = 0.1$ is small (0.07 against 0.51 at step 2). Its
# path to $h_3$, two factors $(1 - h_j^2)\,w$, costs it only a little
# more than the one factor of step 2 (0.21 against 0.27). Over three
# steps the path factors barely matter; over 50 steps they multiply up,
# and lesson 4 is about what that does.
#
# ## 2. Unrolled, an RNN is a deep net with tied weights
#
# Unroll the RNN over $T$ steps and you get a feedforward net with $T$
# layers: layer $t$ computes $h_t$ from $h_{t-1}$ and $x_t$. Unlike an
# ordinary deep net, all layers use **the same** $W_{xh}, W_{hh}, b_h$:
# the weights are *tied*. With a loss $L_t$ at every step (read from $h_t$
# through the head $y_t = W_{hy} h_t + b_y$), the total loss is
#
# $$L = \sum_{t=1}^{T} L_t .$$
#
# Training computes $\partial L / \partial W$ for each parameter. In the
# figure, black arrows are the forward pass and red ones the backward
# pass: the gradient on $h_t$, written $\delta_t = \partial L/\partial
# h_t$, comes from its own loss $L_t$ and from the next state $h_{t+1}$.

# %% tags=["demo"]
gradient_plots.plot_bptt_graph(T=4)

# %% [markdown]
# **Tied weights get the sum.** Imagine untying the weights: step $t$
# gets its own private copy $W_{hh}^{(t)}$, all copies equal to $W_{hh}$.
# The loss is the same number, and the chain rule of section 1 says
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T}
#   \frac{\partial L}{\partial W_{hh}^{(t)}} .$$
#
# PyTorch can check this for us: below, the tied net is `torch.nn.RNN`;
# the untied net is the same loop written by hand with one copy of
# $W_{hh}$ per step. Each $L_t$ here is half the squared distance of
# $h_t$ to a random target.

# %% tags=["demo"]
torch.manual_seed(0)
N, T, D, H = 3, 6, 2, 4
rnn_t = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
x_t = torch.randn(N, T, D, dtype=torch.float64)
h0_t = torch.randn(1, N, H, dtype=torch.float64)
target = torch.randn(N, T, H, dtype=torch.float64)

h_seq, _ = rnn_t(x_t, h0_t)                       # tied weights
loss_tied = 0.5 * ((h_seq - target) ** 2).sum()   # L = sum_t L_t
loss_tied.backward()

W_xh_t, W_hh_t = rnn_t.weight_ih_l0.detach(), rnn_t.weight_hh_l0.detach()
b_h_t = (rnn_t.bias_ih_l0 + rnn_t.bias_hh_l0).detach()
copies = [W_hh_t.clone().requires_grad_() for _ in range(T)]   # untied
h = h0_t[0]
loss_untied = 0.0
for t in range(T):
    h = torch.tanh(x_t[:, t] @ W_xh_t.T + h @ copies[t].T + b_h_t)
    loss_untied = loss_untied + 0.5 * ((h - target[:, t]) ** 2).sum()
loss_untied.backward()

per_copy = torch.stack([W.grad for W in copies])          # (T, H, H)
print(f"same loss: {loss_tied.item():.6f} vs {loss_untied.item():.6f}")
print(f"max |sum of the copies' gradients - gradient of the tied W_hh| = "
      f"{(per_copy.sum(0) - rnn_t.weight_hh_l0.grad).abs().max():.1e}")
gradient_plots.plot_tied_gradients(
    per_copy.flatten(1).norm(dim=1).numpy(),
    rnn_t.weight_hh_l0.grad.norm().item())

# %% [markdown]
# Every step contributes a different piece, and the tied weight gets
# their sum (the difference is at the level of rounding, $10^{-16}$). The
# same holds for $W_{xh}$ and $b_h$, and for the samples of a batch: every
# sample uses the same weights, so the batch gradients are summed too.
#
# ## 3. Backpropagation through time
#
# Write the pre-activation $a_t = W_{xh} x_t + W_{hh} h_{t-1} + b_h$, so
# $h_t = \tanh(a_t)$. The state $h_t$ affects $L$ in two ways: through its
# own loss $L_t$, and through the next state $h_{t+1}$. So the gradient on
# $h_t$ obeys a recursion that runs **backwards** in time:
#
# $$\delta_t = \frac{\partial L}{\partial h_t}
#   = \frac{\partial L_t}{\partial h_t}
#   + \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top}
#     \delta_{t+1},
#   \qquad \delta_{T+1} = 0 .$$
#
# Inside one step, with $\tanh'(a_t) = 1 - \tanh^2(a_t) = 1 - h_t^2$:
#
# $$\frac{\partial L}{\partial a_t} = \delta_t \odot (1 - h_t^2), \qquad
# \frac{\partial L}{\partial x_t} = W_{xh}^\top
#   \frac{\partial L}{\partial a_t}, \qquad
# \Big(\frac{\partial h_t}{\partial h_{t-1}}\Big)^{\!\top} \delta_t
#   = W_{hh}^\top \frac{\partial L}{\partial a_t},$$
#
# and the tied weights collect one term per step:
#
# $$\frac{\partial L}{\partial W_{xh}} = \sum_{t=1}^{T}
#   \frac{\partial L}{\partial a_t} x_t^\top, \qquad
# \frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T}
#   \frac{\partial L}{\partial a_t} h_{t-1}^\top, \qquad
# \frac{\partial L}{\partial b_h} = \sum_{t=1}^{T}
#   \frac{\partial L}{\partial a_t}.$$
#
# **In code**, samples are rows, so every product is transposed with
# respect to the text. For one step, with `dh_next` the gradient on
# $h_t$ (shape $(N, H)$) and $g_t = \partial L / \partial a_t$ (`da`):
#
# | text | code | shape |
# |---|---|---|
# | $g_t = \delta_t \odot (1-h_t^2)$ | `da = dh_next * (1-h_next**2)` | N, H |
# | $W_{xh}^\top g_t$ | `dx = da @ W_xh` | N, D |
# | $W_{hh}^\top g_t$ | `dh_prev = da @ W_hh` | N, H |
# | $g_t\, x_t^\top$ | `dW_xh = da.T @ x` | H, D |
# | $g_t\, h_{t-1}^\top$ | `dW_hh = da.T @ h_prev` | H, H |
# | $g_t$ | `db_h = da.sum(axis=0)` | H |
#
# The products `da.T @ x` and the sum over axis 0 add up the samples of
# the batch: the same kind of sum as the sum over time.
#
# ### Exercise 1 (3 points): one step backward
#
# Write `rnn_step_backward(dh_next, cache)`. The cache is the one of
# lesson 2's `rnn_step_forward`: `(x, h_prev, h_next, params)`. Return
# `(dx, dh_prev, grads)` with `grads` a dict of `"W_xh"`, `"W_hh"`,
# `"b_h"` shaped like the parameters. Do not change the inputs.

# %% solution="rnn_step_backward"
def rnn_step_backward(dh_next, cache):
    """Backward pass of one step h_next = tanh(W_xh x + W_hh h_prev + b_h).

    Parameters
    ----------
    dh_next : ndarray, shape (N, H)
        Gradient of the loss on h_next.
    cache : tuple
        (x (N, D), h_prev (N, H), h_next (N, H), params) from the forward.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,).
    """
    x, h_prev, h_next, params = cache
    ### BEGIN SOLUTION
    da = dh_next * (1 - h_next ** 2)          # dL/da, tanh' = 1 - h_t^2
    dx = da @ params["W_xh"]                  # (N, D)
    dh_prev = da @ params["W_hh"]             # (N, H)
    grads = {"W_xh": da.T @ x,                # (H, D)
             "W_hh": da.T @ h_prev,           # (H, H)
             "b_h": da.sum(axis=0)}           # (H,)
    return dx, dh_prev, grads
    ### END SOLUTION


# %% tests="rnn_step_backward_tests" points=3
from helpers.checks import bptt as check

check.rnn_step_backward(rnn_step_backward)
### BEGIN HIDDEN TESTS
check.rnn_step_backward(rnn_step_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2 (4 points): backward through the whole sequence
#
# Write `rnn_backward(dh, cache, dh_last=None)` for lesson 2's
# `rnn_forward`, whose cache is `(x, h0, h, params)` with `h[:, t]` the
# state after reading `x[:, t]` ($h_{t+1}$ in the text's 1-based
# numbering; code counts from 0).
#
# * `dh` has shape $(N, T, H)$: `dh[:, t]` is the gradient that the
#   loss of step `t` puts on `h[:, t]` (zeros where no loss reads the
#   state). `dh_last`, if given, is an extra gradient on the last state
#   (from a many-to-one head); add it there.
# * Walk `t` from `T - 1` down to `0`. The gradient reaching `h[:, t]` is
#   `dh[:, t]` **plus** the `dh_prev` that the step `t + 1` sent back.
#   Call your `rnn_step_backward` with the step cache
#   `(x[:, t], h_prev, h[:, t], params)`, where `h_prev` is `h[:, t - 1]`,
#   or `h0` for `t = 0`.
# * Store `dx[:, t]`; **add** the step's weight gradients to the totals.
# * Return `(dx, dh0, grads)`: `dh0` is what the first step sends back,
#   the gradient on $h_0$.

# %% solution="rnn_backward"
def rnn_backward(dh, cache, dh_last=None):
    """Backpropagation through time for the simple RNN.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Gradient of the loss on every state (from the per-step losses).
    cache : tuple
        (x (N, T, D), h0 (N, H), h (N, T, H), params) from rnn_forward.
    dh_last : ndarray, shape (N, H), optional
        Extra gradient on the last state.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,), summed over time.
    """
    x, h0, h, params = cache[:4]
    N, T, H = h.shape
    ### BEGIN SOLUTION
    dx = np.zeros_like(x)
    grads = {k: np.zeros_like(params[k]) for k in ("W_xh", "W_hh", "b_h")}
    dh_next = np.zeros_like(h0)          # what step t+1 sends back to h_t
    if dh_last is not None:
        dh_next = dh_next + dh_last
    for t in reversed(range(T)):
        h_prev = h0 if t == 0 else h[:, t - 1]
        step_cache = (x[:, t], h_prev, h[:, t], params)
        dx[:, t], dh_next, step_grads = rnn_step_backward(
            dh[:, t] + dh_next, step_cache)
        for k in grads:                  # tied weights: sum over steps
            grads[k] += step_grads[k]
    return dx, dh_next, grads
    ### END SOLUTION


# %% tests="rnn_backward_tests" points=4
from helpers.checks import bptt as check

check.rnn_backward(rnn_backward)
### BEGIN HIDDEN TESTS
check.rnn_backward(rnn_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **PyTorch agrees.** `torch.nn.RNN` computes the same gradients with
# automatic differentiation, which records the forward graph and walks it
# backwards: BPTT is what autograd does on an unrolled RNN. We copy a
# torch RNN's weights into our format (`helpers.support.torch_weights`
# holds the mapping of lesson 2), use the loss $L = \sum_{n,t}$ `h * dh` whose
# gradient on `h` is exactly `dh`, and compare.

# %% tags=["demo"]
rng = np.random.default_rng(0)
N, T, D, H = 4, 12, 3, 5
rnn_t = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
params = params_from_torch(rnn_t)[0][0]           # {"W_xh", "W_hh", "b_h"}
x = rng.normal(size=(N, T, D))
h0 = rng.normal(size=(N, H))
dh = rng.normal(size=(N, T, H))

x_torch = torch.tensor(x, requires_grad=True)
h0_torch = torch.tensor(h0[None], requires_grad=True)
h_torch, _ = rnn_t(x_torch, h0_torch)
(h_torch * torch.from_numpy(dh)).sum().backward()
torch_grads = grads_from_torch(rnn_t)[0][0]

_, _, cache = ref.rnn_forward(x, h0, params)
dx, dh0, grads = rnn_backward(dh, cache)
print(f"dx:   max difference {np.abs(dx - x_torch.grad.numpy()).max():.1e}")
dh0_torch = h0_torch.grad[0].numpy()
print(f"dh0:  max difference {np.abs(dh0 - dh0_torch).max():.1e}")
for k in grads:
    print(f"{k + ':':5s} max difference "
          f"{np.abs(grads[k] - torch_grads[k]).max():.1e}")

# %% [markdown]
# ### Your BPTT trains an RNN
#
# The gradients are all a training loop needs. A small task: the input is
# a random sequence of $\pm 1$, and at every step the net must output the
# input of **two steps earlier**, $y_t = x_{t-2}$: it has to remember. The
# head is $y_t = W_{hy} h_t + b_y$ (the helpers' `temporal_affine`
# layer), and the optimiser Adam. The loss is our sum over steps,
# $L = \sum_{t \ge 3} L_t$, divided by the constant $N(T - 2)$ to give
# the mean squared error: a constant factor scales every gradient alike
# and changes nothing but the size of the numbers. The gradient on the
# states, `dh`, comes from the head's backward; your `rnn_backward` does
# the rest.

# %% tags=["demo"]
def echo_batch(rng, N=32, T=20, lag=2):
    x = rng.choice([-1.0, 1.0], size=(N, T, 1))           # (N, T, 1)
    y = np.zeros_like(x)
    y[:, lag:] = x[:, :-lag]                              # y_t = x_{t-lag}
    return x, y


def train_echo(backward, steps=300, H=16, lag=2, seed=0):
    rng = np.random.default_rng(seed)
    p = ref.init_rnn_params(1, H, rng)
    p["W_hy"] = rng.normal(0, 0.3, (1, H))
    p["b_y"] = np.zeros(1)
    opt = layers.Adam(p, lr=0.01)
    losses = []
    for _ in tqdm(range(steps), desc="training with your BPTT"):
        x, y = echo_batch(rng, lag=lag)
        h, _, cache = ref.rnn_forward(
            x, None, {k: p[k] for k in ("W_xh", "W_hh", "b_h")})
        out, head_cache = layers.temporal_affine_forward(h, p["W_hy"],
                                                         p["b_y"])
        err = (out - y)[:, lag:]                          # steps t >= 3
        losses.append(float(np.mean(err ** 2)))
        dout = np.zeros_like(out)
        dout[:, lag:] = 2 * err / err.size                # d mean / d out
        dh, head_grads = layers.temporal_affine_backward(dout, head_cache)
        _, _, g = backward(dh, cache)                     # BPTT
        opt.step({**g, "W_hy": head_grads["W"], "b_y": head_grads["b"]})
    return losses


echo_losses = train_echo(rnn_backward)
print(f"mean squared error: {echo_losses[0]:.3f} at the start, "
      f"{np.mean(echo_losses[-20:]):.4f} over the last 20 steps; "
      f"answering 0 gives 1.0")

# %% tags=["demo"]
plots.plot_loss_curve(echo_losses, baseline=1.0,
                      baseline_label="answering 0",
                      ylabel="mean squared error (log scale)",
                      title="an RNN trained with your rnn_backward: "
                            "y_t = x_{t-2}")

# %% [markdown]
# ## 4. Trust, but verify: the numerical gradient check
#
# A backward pass can be wrong in ways that still give gradients of the
# right shape, and a net trained with them often still learns a little.
# The standard test compares it with a **numerical gradient**: change one
# entry $\theta_i$ of a parameter by a small $\varepsilon$ in both
# directions and use the *centred difference*
#
# $$\frac{\partial L}{\partial \theta_i} \approx
#   \frac{L(\theta + \varepsilon e_i) - L(\theta - \varepsilon e_i)}
#        {2 \varepsilon},$$
#
# whose error shrinks like $\varepsilon^2$ (the one-sided
# $(L(\theta + \varepsilon e_i) - L(\theta))/\varepsilon$ only like
# $\varepsilon$). The comparison uses the relative error
# $|a - b| / (|a| + |b|)$, maximised over the entries
# (`rel_error` from `helpers.reference.gradcheck`). In float64 with
# $\varepsilon = 10^{-5}$ a correct backward gives about $10^{-8}$ or
# less; a bug gives $10^{-3}$ to $1$. Use float64: in float32 the rounding
# of $L$ swamps the difference quotient.
#
# ### Exercise 3 (2 points): the numerical gradient
#
# Write `numerical_gradient(f, x, eps=1e-5)` for a function `f` that
# takes an array shaped like `x` and returns a number. Return an array
# `grad` shaped like `x` with the centred difference for every entry.
# Visit every entry with `for ix in np.ndindex(x.shape)`. You may change
# `x[ix]` in place to evaluate `f(x)`, but put the old value back:
# `x` must be unchanged when the function returns.

# %% solution="numerical_gradient"
def numerical_gradient(f, x, eps=1e-5):
    """Centred-difference gradient of a scalar function f at x.

    Parameters
    ----------
    f : callable
        f(x) -> float, for x an array of the shape of x.
    x : ndarray, any shape, float64
        The point; unchanged on return.
    eps : float
        The step.

    Returns
    -------
    grad : ndarray, shape of x
        grad[ix] = (f(x + eps e_ix) - f(x - eps e_ix)) / (2 eps).
    """
    ### BEGIN SOLUTION
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + eps
        f_plus = f(x)
        x[ix] = old - eps
        f_minus = f(x)
        x[ix] = old                            # put the entry back
        grad[ix] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


# %% tests="numerical_gradient_tests" points=2
from helpers.checks import bptt as check

check.numerical_gradient(numerical_gradient)
### BEGIN HIDDEN TESTS
check.numerical_gradient(numerical_gradient, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 (2 points): a gradient check for BPTT
#
# Write `grad_check_rnn(backward, x, h0, params, dh, eps=1e-5)`, which
# tests any backward function with the interface of `rnn_backward`:
#
# 1. Define the loss $L = $ `np.sum(h * dh)` with `h` from
#    `ref.rnn_forward(x, h0, params)` (the reference forward of lesson 2).
#    Its gradient on `h` is `dh`, so `backward(dh, cache)` must return
#    exactly $\partial L / \partial x$, $\partial L / \partial h_0$ and the
#    parameter gradients.
# 2. Run the forward once and `backward(dh, cache)` to get the analytic
#    gradients.
# 3. For each of `x`, `h0`, `params["W_xh"]`, `params["W_hh"]`,
#    `params["b_h"]`, compute the numerical gradient of $L$ with your
#    `numerical_gradient` (a small `lambda` that recomputes $L$ does it),
#    and its `rel_error` with the analytic one.
#
# Return a dict `{"x": ..., "h0": ..., "W_xh": ..., "W_hh": ...,
# "b_h": ...}` of the five errors. The test gives your function correct
# and deliberately broken backward passes and checks that it flags
# exactly the broken gradients.

# %% solution="grad_check_rnn"
def grad_check_rnn(backward, x, h0, params, dh, eps=1e-5):
    """Max relative error of backward's gradients against numerical ones.

    Parameters
    ----------
    backward : callable
        backward(dh, cache) -> (dx, dh0, grads), like rnn_backward.
    x : ndarray, shape (N, T, D), float64
    h0 : ndarray, shape (N, H), float64
    params : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,), float64.
    dh : ndarray, shape (N, T, H)
        Defines the loss L = sum(h * dh).
    eps : float
        Step of the numerical gradient.

    Returns
    -------
    errors : dict
        {"x", "h0", "W_xh", "W_hh", "b_h"} -> max relative error.
    """
    ### BEGIN SOLUTION
    def loss(x_, h0_, p_):
        h, _, _ = ref.rnn_forward(x_, h0_, p_)
        return np.sum(h * dh)

    _, _, cache = ref.rnn_forward(x, h0, params)
    dx, dh0, grads = backward(dh, cache)
    errors = {
        "x": rel_error(dx, numerical_gradient(
            lambda v: loss(v, h0, params), x, eps)),
        "h0": rel_error(dh0, numerical_gradient(
            lambda v: loss(x, v, params), h0, eps)),
    }
    for k in ("W_xh", "W_hh", "b_h"):
        numeric = numerical_gradient(
            lambda v: loss(x, h0, {**params, k: v}), params[k], eps)
        errors[k] = rel_error(grads[k], numeric)
    return errors
    ### END SOLUTION


# %% tests="grad_check_rnn_tests" points=2
from helpers.checks import bptt as check

check.grad_check_rnn(grad_check_rnn)
### BEGIN HIDDEN TESTS
check.grad_check_rnn(grad_check_rnn, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Now run your check on your `rnn_backward`, and on two backward passes
# that are wrong on purpose (from `helpers.checks.bptt`): one that
# overwrites the weight gradients at each step instead of summing them,
# and one that does not pass the gradient back from $h_{t+1}$ to $h_t$.

# %% tags=["demo"]
rng = np.random.default_rng(1)
N, T, D, H = 2, 5, 3, 4
params = ref.init_rnn_params(D, H, rng)
x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
dh = rng.normal(size=(N, T, H))

checked = {
    "your rnn_backward": grad_check_rnn(rnn_backward, x, h0, params, dh),
    "overwrites instead of summing": grad_check_rnn(
        broken_rnn_backward("overwrite"), x, h0, params, dh),
    "no gradient through time": grad_check_rnn(
        broken_rnn_backward("no_carry"), x, h0, params, dh),
}
for label, errors in checked.items():
    print(f"{label:31s}", "  ".join(f"{k} {v:.1e}" for k, v in
                                    errors.items()))
gradient_plots.plot_grad_check(checked)

# %% [markdown]
# The correct backward sits far below $10^{-7}$ on every gradient. The
# first broken one is right on `x` and `h0` (its $\delta_t$ are right) and
# wrong on the three weights; the second is wrong on everything that
# depends on the flow through time. The pattern of errors tells you where
# to look.
#
# ## 5. Truncated BPTT
#
# Full BPTT on a sequence of length $T$ keeps all $T$ states in memory and
# makes one update per $T$ steps. For a long stream (a whole book read
# character by character, a year of sensor readings) that is too slow and
# too big. **Truncated BPTT** cuts the sequence into chunks of $k$ steps:
#
# * the **forward** pass runs chunk after chunk, and each chunk starts
#   from the last state of the previous one, so the state still carries
#   the whole past;
# * the **backward** pass stays inside each chunk: the graph is cut at the
#   chunk boundary, and no gradient flows into the previous chunk (in
#   PyTorch: `h = h.detach()` before the next chunk);
# * the weight gradients of the chunks are added up (or a training loop
#   takes an optimiser step after each chunk).
#
# The price: a dependency longer than the distance to the chunk start
# gets no gradient. The figure shows chunks of $k = 3$: the red arrows
# stop at every cut.

# %% tags=["demo"]
gradient_plots.plot_bptt_graph(T=8, k=3)

# %% [markdown]
# ### Exercise 5 (3 points): truncated BPTT
#
# Write `truncated_bptt(x, h0, params, dh, k, forward, backward)`. The
# last two arguments are the sequence forward and backward to use on each
# chunk, with the signatures of lesson 2's `rnn_forward` and of your
# `rnn_backward`: the test passes in the course's versions, so this
# exercise is graded on the chunking alone, whatever happened in
# exercise 2; below, the notebook passes in yours. For every chunk
# `c = slice(start, start + k)` with `start` in `range(0, T, k)` (the
# last chunk may be shorter):
#
# * run `forward(x[:, c], h_carry, params)` from the carried state
#   (`h0` for the first chunk), store the chunk's states in `h[:, c]` and
#   carry its last state on;
# * run `backward(dh[:, c], cache)` on that chunk only, store its `dx` in
#   `dx[:, c]`, add its parameter gradients to the totals, and throw its
#   `dh0` away: that is the cut.
#
# Return `(h, dx, grads)`.

# %% solution="truncated_bptt"
def truncated_bptt(x, h0, params, dh, k, forward, backward):
    """Truncated BPTT over chunks of k steps, state carried, graph cut.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    params : dict
        "W_xh" (H, D), "W_hh" (H, H), "b_h" (H,).
    dh : ndarray, shape (N, T, H)
        Gradient of the loss on every state.
    k : int
        Chunk length, k >= 1.
    forward : function
        forward(x, h0, params) -> (h, h_last, cache), as rnn_forward.
    backward : function
        backward(dh, cache) -> (dx, dh0, grads), as rnn_backward.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        All states (the same as one rnn_forward over the whole sequence).
    dx : ndarray, shape (N, T, D)
    grads : dict
        "W_xh", "W_hh", "b_h", summed over the chunks.
    """
    N, T, D = x.shape
    ### BEGIN SOLUTION
    H = params["W_hh"].shape[0]
    h = np.zeros((N, T, H), dtype=x.dtype)
    dx = np.zeros_like(x)
    grads = {n: np.zeros_like(params[n]) for n in ("W_xh", "W_hh", "b_h")}
    h_carry = h0
    for start in range(0, T, k):
        c = slice(start, start + k)
        h[:, c], h_carry, cache = forward(x[:, c], h_carry, params)
        dx[:, c], _, chunk_grads = backward(dh[:, c], cache)
        for n in grads:                  # dh0 of the chunk is dropped
            grads[n] += chunk_grads[n]
    return h, dx, grads
    ### END SOLUTION


# %% tests="truncated_bptt_tests" points=3
from helpers.checks import bptt as check

check.truncated_bptt(truncated_bptt)
### BEGIN HIDDEN TESTS
check.truncated_bptt(truncated_bptt, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **PyTorch does it with `detach`.** A training loop over chunks keeps the
# last state and calls `.detach()` on it before the next chunk: the value
# is carried, the graph is not. Torch adds the gradients of successive
# `backward()` calls in `.grad`, so after the loop they hold the sum over
# the chunks. That is what your `truncated_bptt` computes; here it runs
# with lesson 2's forward and **your** `rnn_backward`:

# %% tags=["demo"]
rng = np.random.default_rng(2)
N, T, D, H, k = 3, 20, 2, 4, 6
rnn_t = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
x, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, H))

h_state = torch.zeros(1, N, H, dtype=torch.float64)
for start in range(0, T, k):
    chunk = torch.from_numpy(x[:, start:start + k])
    out, h_state = rnn_t(chunk, h_state.detach())      # carry, but cut
    (out * torch.from_numpy(dh[:, start:start + k])).sum().backward()

_, _, g_np = truncated_bptt(x, np.zeros((N, H)),
                            params_from_torch(rnn_t)[0][0], dh, k,
                            ref.rnn_forward, rnn_backward)
g_torch = grads_from_torch(rnn_t)[0][0]
print("truncated BPTT, numpy vs torch with detach: max difference",
      max(np.abs(g_np[n] - g_torch[n]).max() for n in g_np))

# %% [markdown]
# **How much does truncation lose?** On one long sequence ($T = 200$,
# a random upstream gradient on every state standing for per-step
# losses) we compare the truncated gradient $g_k$ with the full one $g$:
# the cosine of the angle between them (1: same direction) and the
# relative error $\|g_k - g\| / \|g\|$, for several chunk lengths $k$ and
# several spectral radii $\rho$ of $W_{hh}$ (lesson 2, section 4).

# %% tags=["demo"]
ks = [1, 2, 3, 5, 10, 20, 30, 50, 100, 150, 200]
curves = {}
for rho in (0.5, 0.9, 1.2, 2.0):
    curves[f"{rho}"] = experiments.truncation_similarity(rho, ks, T=200)
    cos, rel = curves[f"{rho}"]
    print(f"rho = {rho}: relative error at k = "
          + ", ".join(f"{k}: {e:.2f}" for k, e in zip(ks, rel)))
gradient_plots.plot_truncation(ks, curves, T=200)

# %% [markdown]
# With a small spectral radius the contribution of a step to the gradient
# fades quickly with the distance, so cutting after a few steps loses
# little: at $\rho = 0.5$ the truncated gradient points almost like the
# full one already for small $k$. The relative error falls more slowly
# than the cosine rises: whatever $k$ is, the first steps of every chunk
# keep only a few terms. With $\rho = 2$ the long paths carry a large part
# of the gradient: the relative error stays between about 0.7 and 0.9 for
# most chunk lengths, even $k = 50$. It is not monotone in $k$: at
# $k = 100$ it drops to about 0.2 and at $k = 150$ it is back above 0.8.
# Which long paths a truncation cuts depends on where the cuts fall, and
# with $\rho = 2$ a few long paths dominate the sum, so moving a cut by a
# few steps can change the error a lot. Growing and shrinking gradients
# along the chain are the subject of lesson 4.
#
# Explore it: one slider sets the chunk length, the other the spectral
# radius (the first figure shows the defaults, $\rho = 0.9$ and
# $k = 10$).

# %% tags=["demo"]
gradient_widgets.truncation_explorer(rho=0.9, k=10)

# %% [markdown]
# ## 6. Learned embeddings: the gradient of a lookup
#
# Lesson 2 fed words to the RNN through an **embedding**: token $v$ of a
# vocabulary of $V$ tokens becomes row $v$ of a matrix $W_e$ of shape
# $(V, D)$. A one-hot vector $e_v$ times $W_e$ gives the same row, so an
# embedding is a linear layer on one-hot inputs, computed as a lookup
# (`W_e[x]`), and its rows are parameters that training changes.
#
# The gradient follows the "sum over uses" of section 1. Row $v$ is used
# at every position $(n, t)$ where $x_{n,t} = v$, so
#
# $$rac{\partial L}{\partial W_e[v]} = \sum_{(n, t):\, x_{n,t} = v}
#   rac{\partial L}{\partial 	ext{out}_{n,t}},$$
#
# a **scatter-add** of the upstream rows into the rows of their tokens;
# rows of tokens that do not occur get zero.
#
# ### Exercise 6 (2 points): the embedding backward
#
# Write `embedding_backward(dout, cache)` for the forward
# `out = W_e[x]` with `cache = (x, V)`: `x` is an int array $(N, T)$,
# `dout` has shape $(N, T, D)$, and you return `{"W_e": dW_e}` with
# `dW_e` of shape $(V, D)$ in the dtype of `dout`. Careful with tokens
# that occur more than once: `dW_e[x] += dout` does **not** add them up
# (a fancy-indexed `+=` writes each index once); `np.add.at` does.

# %% solution="embedding_backward"
def embedding_backward(dout, cache):
    """Gradient of out = W_e[x] with respect to W_e.

    Parameters
    ----------
    dout : ndarray, shape (N, T, D)
        Upstream gradient on the looked-up rows.
    cache : tuple
        (x, V): the int token ids, shape (N, T), and the vocabulary size.

    Returns
    -------
    grads : dict
        {"W_e": dW_e} with dW_e of shape (V, D).
    """
    ### BEGIN SOLUTION
    x, V = cache
    dW_e = np.zeros((V, dout.shape[-1]), dtype=dout.dtype)    # (V, D)
    np.add.at(dW_e, x.reshape(-1), dout.reshape(-1, dout.shape[-1]))
    return {"W_e": dW_e}
    ### END SOLUTION


# %% tests="embedding_backward_tests" points=2
from helpers.checks import bptt as check

check.embedding_backward(embedding_backward)
### BEGIN HIDDEN TESTS
check.embedding_backward(embedding_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Truncated BPTT on a long stream: a character model of *Hamlet*
#
# Truncated BPTT exists for streams too long to unroll. The course ships
# the text of *Hamlet* (174k characters, 65 distinct ones). We train a
# character-level RNN on it the way Karpathy's `min-char-rnn` does, with
# everything you wrote in this lesson: $N = 32$ reading positions spread
# over the first 90% of the text, each read in chunks of $k = 25$
# characters. For each chunk: embed the characters ($D = 16$, your
# `embedding_backward` gives the gradient of $W_e$), run the RNN
# ($H = 64$) from the state carried over from the previous chunk, score
# the next character with the head $y_t = W_{hy} h_t + b_y$, take the
# softmax cross-entropy, backpropagate through the head, through the RNN
# with **your** `rnn_backward` and into the embedding, clip the global
# gradient norm at 5 and take an Adam step. The state is carried to the
# next chunk, the graph is cut. The last 10% of the text is held out.
#
# The baseline is the unigram model: predict each character with its
# frequency in the training text, ignoring the context.

# %% tags=["demo"]
from helpers.support import data

text = data.load_char_corpus()
chars = data.build_char_vocab(text)
ids = chars.encode(text)
V, D, H, N, k = len(chars), 16, 64, 32, 25
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
streams = train_ids[:split // N * N].reshape(N, -1)       # (N, L)
freq = np.bincount(train_ids, minlength=V) / len(train_ids)
unigram_bits = -np.mean(np.log2(freq[val_ids]))
print(f"V = {V} characters; {len(train_ids)} for training, "
      f"{len(val_ids)} held out; {N} streams of {streams.shape[1]}")
print(f"unigram baseline on the held-out text: {unigram_bits:.2f} bits "
      f"per character")

rng = np.random.default_rng(0)
rnn_keys = ("W_xh", "W_hh", "b_h")
model = dict(ref.init_rnn_params(D, H, rng),
             W_e=rng.normal(size=(V, D)),
             W_hy=rng.uniform(-H ** -0.5, H ** -0.5, (V, H)),
             b_y=np.zeros(V))
W_e_start = model["W_e"].copy()            # to compare with after training
adam = layers.Adam(model, lr=3e-3)


def char_model_bits(ids_, h):
    """Mean cross-entropy in bits per character of the next character,
    reading ids_ from the state h (one stream), and the last state."""
    x_e, _ = layers.embedding_forward(ids_[None, :-1], model["W_e"])
    p = {name: model[name] for name in rnn_keys}
    states, h, _ = ref.rnn_forward(x_e, h, p, fast=True)     # (1, T, H)
    scores, _ = layers.temporal_affine_forward(states, model["W_hy"],
                                               model["b_y"])
    loss, _ = layers.temporal_softmax_loss(scores, ids_[None, 1:])
    return loss / np.log(2), h


# %% tags=["demo"]
n_chunks = (streams.shape[1] - 1) // k         # chunks in one pass
train_bits, val_curve = [], []
for i in tqdm(range(2 * n_chunks), desc="truncated BPTT on Hamlet"):
    start = (i % n_chunks) * k
    if start == 0:
        h_carry = np.zeros((N, H))                 # a pass starts afresh
    x = streams[:, start:start + k]                          # (N, k)
    y = streams[:, start + 1:start + k + 1]                  # (N, k)
    x_e, emb_cache = layers.embedding_forward(x, model["W_e"])
    p = {name: model[name] for name in rnn_keys}
    states, h_last, cache = ref.rnn_forward(x_e, h_carry, p)
    scores, head_cache = layers.temporal_affine_forward(
        states, model["W_hy"], model["b_y"])
    loss, dscores = layers.temporal_softmax_loss(scores, y)
    dstates, head_grads = layers.temporal_affine_backward(dscores,
                                                          head_cache)
    dx_e, _, grads = rnn_backward(dstates, cache)    # yours; dh0 dropped
    grads.update(embedding_backward(dx_e, emb_cache),    # yours too
                 W_hy=head_grads["W"], b_y=head_grads["b"])
    grads, _ = layers.clip_grad_norm(grads, 5.0)
    adam.step(grads)
    h_carry = h_last                                 # carried, not cut
    train_bits.append(loss / np.log(2))
    if (i + 1) % 65 == 0:
        val_curve.append((i + 1, char_model_bits(val_ids[:5000],
                                                 np.zeros((1, H)))[0]))
for step, bits in val_curve:
    print(f"after {step:3d} updates: held-out {bits:.2f} bits per "
          f"character (unigram {unigram_bits:.2f})")
plots.plot_loss_curve(train_bits, baseline=unigram_bits,
                      baseline_label="unigram, held out",
                      ylabel="bits per character (log scale)",
                      title="a character RNN trained with truncated BPTT")

# %% [markdown]
# The held-out loss falls well below the unigram baseline: the model
# uses the context the carried state holds. Every update saw only 25
# steps of gradient, yet the state that reaches each chunk summarises
# everything read before it. A sample, continuing a prompt one character
# at a time with characters drawn from the model's softmax:

# %% tags=["demo"]
def sample(prompt, n, seed=0):
    """Continue prompt by n characters drawn from the model."""
    gen = np.random.default_rng(seed)
    p = {name: model[name] for name in rnn_keys}
    h = np.zeros((1, H))
    out = list(prompt)
    ids_ = list(chars.encode(prompt))
    for t in range(len(prompt) + n - 1):
        x_e = model["W_e"][ids_[t]][None]                         # (1, D)
        h, _ = ref.rnn_step_forward(x_e, h, p)
        if t + 1 < len(ids_):
            continue                                 # still reading
        probs = layers.softmax(h @ model["W_hy"].T + model["b_y"])[0]
        ids_.append(int(gen.choice(V, p=probs)))
        out.append(chars.chars[ids_[-1]])
    return "".join(out)


print(sample("HAMLET.\n", 300))

# %% [markdown]
# After a few seconds of training the sample has the look of the play's
# text: line breaks, punctuation after words, common short words ("the",
# "you", "of", "with") among invented ones with English-like spelling,
# and no meaning. Lesson 8 trains a larger gated model on the
# same text and measures it against n-gram baselines.
#
# The embedding rows were learned too. One number says whether they
# carry structure: the mean cosine similarity between the rows of two
# vowels, against that between a vowel and a consonant, before and after
# training.

# %% tags=["demo"]
def vowel_similarity(W):
    """Mean cosine of vowel-vowel and of vowel-consonant row pairs."""
    W = W / np.linalg.norm(W, axis=1, keepdims=True)
    vowels = [chars.stoi[c] for c in "aeiouAEIOU"]
    consonants = [chars.stoi[c] for c in "bcdfghklmnprstwy"
                  "BCDFGHKLMNPRSTWY"]
    sims = W @ W.T
    same = sims[np.ix_(vowels, vowels)][~np.eye(len(vowels), dtype=bool)]
    return same.mean(), sims[np.ix_(vowels, consonants)].mean()


for when, W in (("at the start", W_e_start), ("trained", model["W_e"])):
    vv, vc = vowel_similarity(W)
    print(f"{when:13s}: vowel-vowel {vv:+.2f}, vowel-consonant {vc:+.2f}")

# %% [markdown]
# Random rows start with both means near 0. After training, the rows of
# the vowels point in more similar directions than a vowel and a
# consonant do: characters that can stand in the same places in a word
# get similar rows, because their rows receive similar gradients.

# %% [markdown]
# ## Summary
#
# * The chain rule multiplies local derivatives along a path and **adds**
#   the paths: a weight used at $T$ steps gets the sum of $T$ terms
#   (section 1, checked by a finite difference).
# * Unrolled, the RNN is a $T$-layer net with tied weights; the gradient
#   of a tied weight is the sum of the gradients of untied copies (torch
#   agrees to $10^{-16}$).
# * BPTT: $L = \sum_t L_t$;
#   $\delta_t = \partial L_t / \partial h_t + (\partial h_{t+1} /
#   \partial h_t)^\top \delta_{t+1}$, walked from $t = T$ down to 1;
#   $\partial L / \partial a_t = \delta_t \odot (1 - h_t^2)$; the weight
#   gradients are sums over the steps (and the batch). In code:
#   `da = dh_next * (1 - h_next**2)`, `dh_prev = da @ W_hh`,
#   `dW_hh += da.T @ h_prev`.
# * A centred-difference gradient check in float64 gives about $10^{-8}$
#   or less for a correct backward and $10^{-3}$ to $1$ for a bug, and the
#   pattern of errors shows which gradient is wrong.
# * Truncated BPTT carries the state across chunks of $k$ steps but cuts
#   the gradient at each boundary (`detach`); it is cheap and nearly exact
#   when gradients fade fast, and misses what lies beyond $k$ steps.
# * An embedding is a lookup whose rows are parameters; the gradient of a
#   row is the sum over its uses, a scatter-add (`np.add.at`).
# * With your `rnn_backward` and `embedding_backward`, truncated BPTT
#   trained a character model of *Hamlet* in seconds: held-out bits per
#   character fell well below the unigram baseline, and the learned rows
#   of the vowels moved closer together.
#
# ## Self-check questions
#
# 1. An RNN has the same $W_{hh}$ at all 50 steps. Why is its gradient a
#    sum of 50 terms and not, say, their mean or the last one?
# 2. In `rnn_backward`, the gradient reaching `h[:, t]` has two parts.
#    Which are they, and what is the second part for the last step?
# 3. You forgot the factor `1 - h_next**2`. Which of dx, dh_prev and the
#    weight gradients are wrong, and would a gradient check notice?
# 4. Why centred differences and float64 in a gradient check? Roughly what
#    relative error does a one-sided difference with $\varepsilon =
#    10^{-5}$ give?
# 5. In truncated BPTT with $k = 10$, does $h_{15}$ depend on $x_3$? Does
#    the gradient of $L_{15}$ reach $x_3$?
# 6. Why does truncation lose almost nothing for $\rho = 0.5$ and almost
#    everything for $\rho = 2$?
# 7. The character "e" occurs 1,000 times in a batch. What does
#    `dW_e[x] += dout` leave in its row, and what should be there?
#
# <details><summary>Answers</summary>
#
# 1. $L$ depends on $W_{hh}$ through each of its 50 uses; the chain rule
#    adds the contributions of all paths (untied copies make this
#    explicit: the tied gradient is the sum of the copies' gradients).
# 2. `dh[:, t]`, from the loss of step `t`, and the `dh_prev` sent back by
#    step `t + 1`. For the last step the second part is zero (or
#    `dh_last`, if a head reads the last state).
# 3. All of them: `da` is wrong, and every output is computed from `da`.
#    Yes: the relative errors would be large everywhere.
# 4. The centred difference has an error of order $\varepsilon^2$, the
#    one-sided of order $\varepsilon$, about $10^{-5}$ relative here,
#    enough to hide small bugs; in float32, the rounding of $L$ (about
#    $10^{-7}$ relative) divided by $\varepsilon$ swamps the quotient.
# 5. Yes: the forward state is carried across chunks. No: step 15 is in
#    the second chunk, and the graph is cut at step 11.
# 6. The term of a step $l$ steps back is multiplied by $l$ Jacobians
#    $\partial h_{j}/\partial h_{j-1}$. With $\rho = 0.5$ they shrink it
#    fast, so the cut-off terms are tiny; with $\rho = 2$ the long paths
#    are the largest terms, and they are exactly the ones truncation cuts.
# 7. Only one of the 1,000 upstream rows: a fancy-indexed `+=` reads the
#    old rows once and writes each index once. The gradient is the sum
#    of all 1,000, which `np.add.at(dW_e, x, dout)` computes.
#
# </details>
#
# ## What comes next
#
# Lesson 4 looks at the product of Jacobians
# $\partial h_t / \partial h_k = \prod_j \operatorname{diag}(\tanh'(a_j))
# W_{hh}$ that every long-range term passes through: why it vanishes or
# explodes with the lag $t - k$, what this does to training (a simple RNN
# learns short dependencies and fails on long ones: you will measure
# where), and what helps: clipping, ReLU, identity initialisation and
# gated cells.
