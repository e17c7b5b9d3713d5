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
# # Lesson 4 — Vanishing and exploding gradients
#
# **What you will learn**
#
# 1. That every long-range term of BPTT passes through a product of
#    Jacobians,
#    $\partial h_t / \partial h_k = \prod_{j=k+1}^{t}
#    \operatorname{diag}(\tanh'(a_j))\, W_{hh}$, and why its norm shrinks
#    or grows exponentially with the lag $t - k$.
# 2. The roles of the spectral radius of $W_{hh}$ and of the bounds
#    $\tanh' \le 1$ and $\sigma' \le 1/4$, measured for tanh and ReLU.
# 3. Why a simple RNN therefore learns short-range dependencies ("the
#    clouds are in the *sky*") and not long ones ("I grew up in France
#    ... I speak fluent *French*"), and where it breaks in a real training
#    run: you run the experiment and report the lag.
# 4. Exploding gradients in a real run (the loss becomes infinite) and
#    the fix: clipping the gradient by its global norm, which you write.
# 5. The remedies and their limits: clipping, ReLU, identity
#    initialisation, and gated cells.
#
# **What you need:** lesson 3 (BPTT: $\delta_t = \partial L_t / \partial
# h_t + (\partial h_{t+1} / \partial h_t)^\top \delta_{t+1}$, the sum of
# the weight gradients over time); lesson 2, section 4 (the spectral
# radius of $W_{hh}$); matrix norms (the spectral norm
# $\|A\|_2$ is the largest factor by which $A$ stretches a vector).
#
# Five exercises are graded (11 points).

# %%
import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.support import experiments
from helpers.figures import gradient_plots, gradient_widgets, plots
from helpers.reference import rnn as ref

np.set_printoptions(precision=3, suppress=True)
torch.set_num_threads(1)      # small nets: one thread is the fastest

# %% [markdown]
# ## 1. The product of Jacobians
#
# In lesson 3 the gradient on a state obeyed
# $\delta_k = \partial L_k / \partial h_k + (\partial h_{k+1} / \partial
# h_k)^\top \delta_{k+1}$. Unrolling that recursion, the loss $L_t$ at a
# later step $t$ reaches $h_k$ only through
#
# $$\frac{\partial L_t}{\partial h_k}
#   = \Big(\frac{\partial h_t}{\partial h_k}\Big)^{\!\top}
#     \frac{\partial L_t}{\partial h_t},
# \qquad
# \frac{\partial h_t}{\partial h_k}
#   = \frac{\partial h_t}{\partial h_{t-1}}
#     \frac{\partial h_{t-1}}{\partial h_{t-2}} \cdots
#     \frac{\partial h_{k+1}}{\partial h_k}.$$
#
# One step, $h_j = \tanh(a_j)$ with
# $a_j = W_{xh} x_j + W_{hh} h_{j-1} + b_h$, has the Jacobian
#
# $$\frac{\partial h_j}{\partial h_{j-1}}
#   = \operatorname{diag}(\tanh'(a_j))\, W_{hh}
#   = \operatorname{diag}(1 - h_j^2)\, W_{hh},$$
#
# an $(H, H)$ matrix whose row $i$ is row $i$ of $W_{hh}$ scaled by
# $1 - h_j[i]^2$. So
#
# $$\frac{\partial h_t}{\partial h_k}
#   = \prod_{j=k+1}^{t} \operatorname{diag}(1 - h_j^2)\, W_{hh}
#   \quad\text{(the latest step on the left)},$$
#
# a product of $t - k$ matrices, and, since the norm of a product is at
# most the product of the norms and $\tanh' \le 1$,
#
# $$\Big\|\frac{\partial h_t}{\partial h_k}\Big\|_2
#   \le \prod_{j=k+1}^{t} \|\operatorname{diag}(1 - h_j^2)\|_2\,
#       \|W_{hh}\|_2
#   \le \|W_{hh}\|_2^{\,t-k}.$$
#
# If $\|W_{hh}\|_2 < 1$ the gradient from $t$ back to $k$ **vanishes**
# exponentially in the lag $t - k$; saturated units ($\tanh' \ll 1$) make
# it vanish faster. If $W_{hh}$ is large, the product can **explode**
# instead (Bengio et al., 1994; Pascanu et al., 2013).
#
# **Norm or spectral radius?** The bound uses the spectral norm
# $\|W_{hh}\|_2$ (the largest singular value); the plots below use the
# spectral radius $\rho(W_{hh})$ (the largest eigenvalue modulus). The
# two are linked: $\rho(W) \le \|W\|_2$ for every square $W$, with
# equality for symmetric or orthogonal matrices, and Gelfand's formula
# $\|W^l\|_2^{1/l} \to \rho(W)$ as $l \to \infty$. So the norm bounds
# every single step, while $\rho$ decides the long-run rate at which
# $l$ factors of $W_{hh}$ grow or shrink. For the random matrix used
# below, rescaled to $\rho = 1$:

# %% tags=["demo"]
W_demo = experiments.random_rnn_params(4, 32, rho=1.0,
                                       rng=np.random.default_rng(0))["W_hh"]
print(f"rho(W_hh) = {np.abs(np.linalg.eigvals(W_demo)).max():.3f}, "
      f"||W_hh||_2 = {np.linalg.norm(W_demo, 2):.3f}")
for l in (1, 10, 100, 1000):
    Wl = np.linalg.matrix_power(W_demo, l)
    print(f"l = {l:4d}: ||W_hh^l||_2^(1/l) = "
          f"{np.linalg.norm(Wl, 2) ** (1 / l):.3f}")

# %% [markdown]
# The one-step bound $\|W_{hh}\|_2^{\,l}$ overstates the growth of
# $W_{hh}^l$; its $l$-th root falls towards $\rho = 1$ as $l$ grows.
#
# ### Exercise 1 (3 points): the Jacobian of $h_t$ with respect to $h_k$
#
# Write `state_jacobian(hs, W_hh, t, k)` for one sequence of a tanh RNN.
# `hs` has shape $(T+1, H)$ with `hs[0]` $= h_0$ and `hs[j]` $= h_j$.
# Return the $(H, H)$ matrix $\partial h_t / \partial h_k$ for
# $0 \le k \le t \le T$: start from `np.eye(H)` (the answer for $t = k$)
# and, for $j = k+1, \dots, t$, multiply **on the left** by
# $\operatorname{diag}(1 - h_j^2)\, W_{hh}$. (Scaling the rows,
# `(1 - hs[j]**2)[:, None] * W_hh`, is the same as the product with the
# diagonal matrix, and cheaper.)

# %% solution="state_jacobian"
def state_jacobian(hs, W_hh, t, k):
    """dh_t/dh_k = prod_{j=k+1..t} diag(1 - h_j^2) W_hh, latest on the left.

    Parameters
    ----------
    hs : ndarray, shape (T + 1, H)
        States of one sequence, hs[0] = h_0, hs[j] = h_j.
    W_hh : ndarray, shape (H, H)
    t, k : int
        0 <= k <= t <= T.

    Returns
    -------
    J : ndarray, shape (H, H)
        J[i, m] = d h_t[i] / d h_k[m].
    """
    ### BEGIN SOLUTION
    J = np.eye(W_hh.shape[0])
    for j in range(k + 1, t + 1):
        J = (1 - hs[j] ** 2)[:, None] * W_hh @ J     # D_j W_hh J
    return J
    ### END SOLUTION


# %% tests="state_jacobian_tests" points=3
from helpers.checks import gradients as check

check.state_jacobian(state_jacobian)
### BEGIN HIDDEN TESTS
check.state_jacobian(state_jacobian, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# PyTorch's `torch.autograd.functional.jacobian` differentiates the steps
# $k+1 \dots t$ as a function of $h_k$; your product should agree:

# %% tags=["demo"]
rng = np.random.default_rng(0)
D, H, T = 3, 5, 8
params = experiments.random_rnn_params(D, H, rho=1.0, rng=rng)
x = rng.normal(size=(1, T, D))
hs = experiments.forward_states(x, params)[0][0]          # (T + 1, H)
t, k = 7, 3
W_xh, W_hh, b_h = (torch.from_numpy(params[n])
                   for n in ("W_xh", "W_hh", "b_h"))


def h_t_from_h_k(h):
    for j in range(k + 1, t + 1):           # x[0, j - 1] is x_j
        h = torch.tanh(W_xh @ torch.from_numpy(x[0, j - 1]) + W_hh @ h
                       + b_h)
    return h


J_torch = torch.autograd.functional.jacobian(h_t_from_h_k,
                                             torch.from_numpy(hs[k]))
J_yours = state_jacobian(hs, params["W_hh"], t, k)
bound = np.linalg.norm(params["W_hh"], 2) ** (t - k)
print(f"max |yours - autograd| = "
      f"{np.abs(J_yours - J_torch.numpy()).max():.1e}")
print(f"||dh_{t}/dh_{k}||_2 = {np.linalg.norm(J_yours, 2):.4f} <= "
      f"||W_hh||_2^{t - k} = {bound:.4f}")

# %% [markdown]
# ### Exercise 2 (2 points): the norm against the lag
#
# Write `jacobian_norms(hs, W_hh)` returning the array `norms` of shape
# $(T,)$ with `norms[l - 1]` $= \|\partial h_T / \partial h_{T-l}\|_2$ for
# the lags $l = 1, \dots, T$: how strongly a loss at the last step reaches
# back $l$ steps. Use the spectral norm, `np.linalg.norm(J, 2)`.
#
# Calling `state_jacobian` for every lag works, but costs $T^2/2$
# products. Better: going back one more lag adds one factor **on the
# right**,
# $\partial h_T / \partial h_{T-l} = (\partial h_T / \partial h_{T-l+1})
# \operatorname{diag}(1 - h_{T-l+1}^2)\, W_{hh}$, so one loop of $T$
# products gives all the norms.

# %% solution="jacobian_norms"
def jacobian_norms(hs, W_hh):
    """Spectral norms of dh_T/dh_{T-l} for the lags l = 1 .. T.

    Parameters
    ----------
    hs : ndarray, shape (T + 1, H)
        States of one sequence, hs[0] = h_0.
    W_hh : ndarray, shape (H, H)

    Returns
    -------
    norms : ndarray, shape (T,)
        norms[l - 1] = ||dh_T / dh_{T-l}||_2.
    """
    ### BEGIN SOLUTION
    T = hs.shape[0] - 1
    J = np.eye(W_hh.shape[0])
    norms = np.zeros(T)
    for l in range(1, T + 1):
        j = T - l + 1                        # the step added at this lag
        J = J @ ((1 - hs[j] ** 2)[:, None] * W_hh)
        norms[l - 1] = np.linalg.norm(J, 2)
    return norms
    ### END SOLUTION


# %% tests="jacobian_norms_tests" points=2
from helpers.checks import gradients as check

check.jacobian_norms(jacobian_norms)
### BEGIN HIDDEN TESTS
check.jacobian_norms(jacobian_norms, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The bounds of $\tanh'$ and $\sigma'$
#
# Each step multiplies by the local derivatives of the activation. For
# $\tanh$ they are at most 1 (at $a = 0$) and close to 0 where the unit
# saturates; for the logistic sigmoid $\sigma$ they are at most $1/4$;
# ReLU's are exactly 0 or 1. Even with $W_{hh} = I$, $l$ steps multiply
# $l$ of these factors:

# %% tags=["demo"]
gradient_plots.plot_activation_derivatives()

# %% tags=["demo"]
a = np.linspace(-6, 6, 100001)
sig = 1 / (1 + np.exp(-a))
print(f"max tanh'(a)  = {np.max(1 - np.tanh(a) ** 2):.4f}")
print(f"max sigma'(a) = {np.max(sig * (1 - sig)):.4f}   "
      f"(so 10 sigmoid steps multiply by at most {0.25 ** 10:.1e})")

# %% [markdown]
# With an activation $\varphi$ whose derivative is at most $\gamma$, one
# step's Jacobian $\operatorname{diag}(\varphi'(a_j))\, W_{hh}$ has
# spectral norm at most $\gamma \|W_{hh}\|_2$. So the gradient is sure
# to vanish when the largest singular value of $W_{hh}$ is below
# $1/\gamma$ (Pascanu et al., 2013): below 1 for $\tanh$ ($\gamma = 1$)
# and below 4 for the sigmoid ($\gamma = 1/4$). This is a sufficient
# condition, not a law of nature: a sigmoid RNN whose $W_{hh}$ has
# singular values above 4 need not vanish. But with weights of the usual
# size, the sigmoid's factor $\le 1/4$ per step makes the product shrink
# at least four times faster than $\tanh$'s, which is why the recurrent
# nets of this course use $\tanh$. The sigmoid comes back in lesson 5 in a
# different role, as a gate.
#
# ## 3. Measuring the norm against the lag
#
# Now the real thing: a random tanh RNN ($H = 32$) reads 8 random
# sequences of $T = 60$ steps, and we measure
# $\|\partial h_T / \partial h_{T-l}\|_2$ for every lag $l$ (the median
# over the 8 sequences; `experiments.gradient_norms_by_lag` runs the
# reference version of your `jacobian_norms`). $W_{hh}$ is a random
# matrix rescaled to a chosen spectral radius $\rho$ (its largest
# eigenvalue modulus).

# %% tags=["demo"]
rhos = (0.5, 0.9, 1.0, 1.2, 2.0)
by_rho = {}
for rho in rhos:
    res = experiments.gradient_norms_by_lag(rho, "tanh", T=60)
    by_rho[f"rho = {rho}"] = res["norms"]
    print(f"rho = {rho}: norm at lag 10 {res['norms'][9]:.1e}, lag 30 "
          f"{res['norms'][29]:.1e}, lag 60 {res['norms'][59]:.1e};  "
          f"mean tanh' {res['dphi'].mean():.2f}")
gradient_plots.plot_jacobian_norms(
    by_rho, title="tanh RNN, random W_hh: the norm falls or stays "
                  "with the spectral radius")

# %% [markdown]
# On a log scale the curves are close to straight lines: the norm changes
# by a roughly constant factor per step, so it is exponential in the lag.
# Even at $\rho = 1$ it vanishes, because the $\tanh'$ factors average
# well below 1 (the printed means). Only a large $\rho$ keeps it from
# vanishing, and that is the regime where the state saturates (lesson 2)
# and gradients can explode.
#
# **tanh or ReLU, random or identity.** ReLU has no saturation: its
# derivative is 1 on active units. But on a random $W_{hh}$ about half of
# the units are inactive at each step (derivative 0), so the norm still
# vanishes. ReLU with $W_{hh} = I$ and no bias (the *identity
# initialisation* of Le, Jaitly and Hinton, 2015) starts exactly at the
# border: active units pass their gradient unchanged.

# %% tags=["demo"]
settings = {"tanh, random": ("tanh", "random"),
            "ReLU, random": ("relu", "random"),
            "tanh, identity": ("tanh", "identity"),
            "ReLU, identity": ("relu", "identity")}
by_act = {}
for label, (act, init) in settings.items():
    res = experiments.gradient_norms_by_lag(1.0, act, T=60, init=init)
    by_act[label] = res["norms"]
    print(f"{label:15s} rho = 1: norm at lag 30 {res['norms'][29]:.1e}, "
          f"mean derivative {res['dphi'].mean():.2f}")
gradient_plots.plot_jacobian_norms(
    by_act, title="spectral radius 1: activation and initialisation")

# %% [markdown]
# ### The gradient explorer
#
# Change the spectral radius, the activation, the length and the
# initialisation, and watch the gradient norm per lag (left; thin lines
# are the single sequences, the dotted line is $\rho^l$) and the local
# factors $\varphi'(a_t)$ (right). Things to try: tanh at $\rho = 1$, then
# $\rho = 3$ (why does the norm not explode as fast as $\rho^l$? look at
# the right panel); ReLU with identity at $\rho = 1$ and then $1.1$; ReLU
# random at $\rho = 2$ and $T = 200$. The first figure shows the defaults
# (tanh, random, $\rho = 1$, $T = 50$).

# %% tags=["demo"]
gradient_widgets.gradient_explorer(rho=1.0, activation="tanh", T=50,
                                   init="random")

# %% [markdown]
# ## 4. Why the net learns only short-range dependencies
#
# The gradient of a tied weight is a sum over the steps (lesson 3). For a
# loss at the last step $T$,
#
# $$\frac{\partial L_T}{\partial W_{hh}} = \sum_{k=1}^{T}
#   \underbrace{\operatorname{diag}(1 - h_k^2)
#   \Big(\frac{\partial h_T}{\partial h_k}\Big)^{\!\top}
#   \frac{\partial L_T}{\partial h_T}}_{\partial L_T / \partial a_k}
#   \; h_{k-1}^\top ,$$
#
# and the term of step $k$ carries the Jacobian product over the lag
# $T - k$. Below, an RNN with PyTorch's default initialisation (the one
# the training runs in this lesson start from) reads random sequences;
# we split $\partial L_T / \partial W_{hh}$ into its terms by lag.

# %% tags=["demo"]
rng = np.random.default_rng(0)
H, T = 32, 40
p0 = ref.init_rnn_params(2, H, rng)           # like torch.nn.RNN's init
x = rng.uniform(-1, 1, size=(16, T, 2))
hs_batch, _ = experiments.forward_states(x, p0)
terms = np.median([experiments.gradient_contributions(
    hs_batch[n], p0["W_hh"], rng.normal(size=H)) for n in range(16)],
    axis=0)                                   # (T,), index = lag
print(f"term of lag 3: {terms[3]:.1e};  term of lag 30: {terms[30]:.1e};"
      f"  ratio {terms[3] / terms[30]:.0e}")
gradient_plots.plot_gradient_by_lag(
    terms, marks={"the clouds are in the ... sky (lag 3)": 3,
                  "France ... fluent French (lag 30)": 30})

# %% [markdown]
# In "the clouds are in the *sky*" the clue is 3 words back; in "I grew up
# in France ... (30 words) ... I speak fluent *French*" it is 30 words
# back. A change of $W_{hh}$ that would help carry "France" for 30 steps
# gets a gradient millions of times smaller than the terms of the last
# few steps (the ratio printed above), and it is buried under them and
# under the noise of the mini-batches. Gradient descent follows the big
# terms: the net learns the short dependencies and never sees the long
# ones. Section 7 measures where this happens in training.
#
# ## 5. Exploding gradients in a real training run
#
# The opposite failure is just as real. The task of the next sections:
# **recall a number seen $l$ steps ago.** Each sequence has $l + 1$ steps
# with two features: a random number in $[-1, 1]$ at every step, and a
# marker that is 1 only at the first step (the cue). After the last step
# the net must output the number shown with the marker; the numbers in
# between are distractors. Answering 0 gives a mean squared error of
# $1/3$. We report the test score $R^2 = 1 - \text{MSE} / \text{MSE of
# answering } 0$: 1 is perfect recall, 0 is no better than answering 0.

# %% tags=["demo"]
X, y = experiments.lag_task(3, L=4, seed=0)
print("one batch of 3 sequences, lag l = 4: X has shape", X.shape,
      "(N, l + 1, 2)")
print("numbers:\n", X[..., 0], "\nmarkers:\n", X[..., 1])
print("targets:", y.ravel())

# %% [markdown]
# `experiments.train_lag_task` trains `torch.nn.RNN` ($H = 32$, tanh) and
# a linear head on fresh batches of 128 sequences with SGD (learning rate
# 0.1, momentum 0.9). Here we start $W_{hh}$ at spectral radius 2
# (orthogonal, so every singular value is 2) with $l = 10$ and **no
# clipping**, and record the loss and the gradient norm at every step.

# %% tags=["demo"]
run_noclip = experiments.train_lag_task(10, init="orthogonal", rho=2.0,
                                        clip=None, progress=True)
n = len(run_noclip.losses)
print(f"gradient norm at step 1: {run_noclip.grad_norms[0]:.3g}")
print(f"stopped after {n} steps: loss {run_noclip.losses[-1]}, gradient "
      f"norm {run_noclip.grad_norms[-1]}")
finite = run_noclip.grad_norms[np.isfinite(run_noclip.grad_norms)]
print(f"largest finite gradient norm before that: {finite.max():.3g}")
gradient_plots.plot_explosion({"no clipping": run_noclip},
                              baseline=experiments.BASELINE_MSE)

# %% [markdown]
# Look at the slopes: from the first steps the gradient is large, and
# loss and gradient norm then grow by a roughly constant factor per step
# (straight lines on the log plots) until the numbers overflow to
# infinity. Nothing the run learned survives.
#
# **What is recurrent about it, and what is just a step size?** Two
# controls, each over three seeds: the same start ($\rho = 2$, learning
# rate 0.1, no clipping) at shorter lags, and the same lag 10 with a ten
# times smaller learning rate, still without clipping.

# %% tags=["demo"]
controls = {"lag 1, lr 0.1": dict(L=1), "lag 2, lr 0.1": dict(L=2),
            "lag 3, lr 0.1": dict(L=3),
            "lag 10, lr 0.01": dict(L=10, lr=0.01)}
control_runs = {}
for name, kw in tqdm(controls.items(), desc="controls"):
    runs = [experiments.train_lag_task(init="orthogonal", rho=2.0,
                                       clip=None, seed=s, **kw)
            for s in (0, 1, 2)]
    control_runs[name] = runs[0]
    diverged = sum(not np.isfinite(r.losses[-1]) for r in runs)
    peak = max(r.grad_norms[np.isfinite(r.grad_norms)].max()
               for r in runs)
    print(f"{name:16s} diverged in {diverged} of 3 runs; test R^2 "
          + ", ".join(f"{r.r2:.3f}" for r in runs)
          + f"; largest finite gradient norm {peak:.3g}")
gradient_plots.plot_explosion(control_runs,
                              baseline=experiments.BASELINE_MSE)

# %% [markdown]
# At lags 1 and 2 the same weights and learning rate train well: with
# one or two factors of $W_{hh}$ the gradient stays small. From lag 3 on
# the product of $\rho = 2$ Jacobians makes the first gradients large
# enough that a step of size 0.1 overshoots, the next gradient is larger
# still, and the run diverges. That is the recurrent part. But the lag-10
# gradient is not infinite, only large: with a learning rate of 0.01 the
# same task learns without any clipping. A smaller step for *every*
# update works here, at the price of slower learning whenever the
# gradient is small; clipping shrinks only the steps that are too long.
#
# **Clipping by the global norm** (Pascanu et al., 2013) caps the length
# of the step and keeps its direction. With all gradients $g_p$ of all
# parameters $p$ stacked into one vector,
#
# $$\|g\| = \sqrt{\textstyle\sum_p \sum_i g_{p,i}^2}, \qquad
#   g_p \leftarrow g_p \cdot \min\!\Big(1, \frac{c}{\|g\| + \epsilon}\Big)$$
#
# for a threshold $c$ (`max_norm`); $\epsilon = 10^{-6}$ avoids a division
# by zero. Gradients already shorter than $c$ are not changed. This is
# `torch.nn.utils.clip_grad_norm_`.
#
# ### Exercise 3 (3 points): clipping by global norm
#
# Write `clip_grad_norm(grads, max_norm)` for a dict of numpy gradients.
# Return `(clipped, total_norm)`: a **new** dict with the same keys whose
# arrays are all scaled by the **same** factor
# $\min(1, c / (\|g\| + \epsilon))$, and the global norm $\|g\|$ *before*
# clipping. Keep each array's dtype (scale by a Python float or by
# `g.dtype.type(scale)`), and do not change `grads`.

# %% solution="clip_grad_norm"
def clip_grad_norm(grads, max_norm, eps=1e-6):
    """Scale all gradients together so that their global norm <= max_norm.

    Parameters
    ----------
    grads : dict of ndarray
        Gradients keyed by parameter name; not modified.
    max_norm : float
        The threshold c > 0.
    eps : float
        Added to the norm in the denominator.

    Returns
    -------
    clipped : dict of ndarray
        New arrays, g * min(1, max_norm / (||g|| + eps)).
    total_norm : float
        ||g|| over all arrays, before clipping.
    """
    ### BEGIN SOLUTION
    total_norm = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2)
                                   for g in grads.values())))
    scale = min(1.0, max_norm / (total_norm + eps))
    clipped = {k: g * g.dtype.type(scale) for k, g in grads.items()}
    return clipped, total_norm
    ### END SOLUTION


# %% tests="clip_grad_norm_tests" points=3
from helpers.checks import gradients as check

check.clip_grad_norm(clip_grad_norm)
### BEGIN HIDDEN TESTS
check.clip_grad_norm(clip_grad_norm, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The same run with clipping at $c = 1$ (the training loop calls
# `torch.nn.utils.clip_grad_norm_`, which computes what your function
# does):

# %% tags=["demo"]
run_clip = experiments.train_lag_task(10, init="orthogonal", rho=2.0,
                                      clip=1.0, progress=True)
print(f"with clipping: {len(run_clip.losses)} steps, final training loss "
      f"{np.mean(run_clip.losses[-20:]):.4f}, test R^2 = "
      f"{run_clip.r2:.3f}; the gradient norm reached "
      f"{run_clip.grad_norms.max():.3g} and was cut to 1")
print(f"fraction of steps that were clipped: "
      f"{np.mean(run_clip.grad_norms > 1.0):.0%}")
gradient_plots.plot_explosion({"no clipping": run_noclip,
                               "clipped at 1": run_clip},
                              baseline=experiments.BASELINE_MSE)

# %% [markdown]
# Clipping does not make the large gradients go away (right panel); it
# stops them from turning into huge steps, and the run learns the task.
# From here on every run clips at 1.
#
# ## 6. One run of the lag task
#
# With PyTorch's default initialisation and a short lag, the task is easy.
# The loss curve falls far below the loss of answering 0:

# %% tags=["demo"]
run_short = experiments.train_lag_task(5, progress=True)
print(f"lag 5: test MSE {run_short.test_mse:.4f} (answering 0: "
      f"{experiments.BASELINE_MSE:.3f}), R^2 = {run_short.r2:.3f}")
plots.plot_loss_curve(run_short.losses, baseline=experiments.BASELINE_MSE,
                      baseline_label="answering 0",
                      ylabel="training MSE (log scale)",
                      title="recall the cue after 5 steps")

# %% [markdown]
# ## 7. Where does training break?
#
# Now the experiment: train the same net with the same settings for a
# range of lags $l$, and find the smallest lag at which it **fails**. A
# run counts as learned when its test $R^2$ reaches
# `experiments.LEARNED_R2` $= 0.9$. One run per lag is not enough: near
# the border the outcome depends on the seed (the initial weights and
# the batches), and a verdict that flips when the weights move by a
# rounding error is noise. So every lag gets three runs, with seeds 0, 1
# and 2, and a lag counts as learned when the **median** of its three
# scores reaches the threshold, that is, when at least two of the three
# runs learned.
#
# ### Exercise 4 (1 point): the smallest failing lag
#
# Write `first_failure(scores, threshold)`: `scores` is a dict
# `{lag: score}` (in any order); return the smallest lag whose score is
# below `threshold`, or `None` if every lag learned. A score equal to the
# threshold counts as learned, and a run that diverged has the score
# `nan`, which counts as a failure: test `not score >= threshold`.

# %% solution="first_failure"
def first_failure(scores, threshold):
    """Smallest lag whose score is not >= threshold, or None.

    Parameters
    ----------
    scores : dict
        {lag (int): score (float, may be nan)}, in any order.
    threshold : float

    Returns
    -------
    int or None
    """
    ### BEGIN SOLUTION
    failed = [lag for lag, s in scores.items() if not s >= threshold]
    return min(failed) if failed else None
    ### END SOLUTION


# %% tests="first_failure_tests" points=1
from helpers.checks import gradients as check

check.first_failure(first_failure)
### BEGIN HIDDEN TESTS
check.first_failure(first_failure, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 (2 points): run the sweep and report the lag
#
# Choose the lags `lags` (at least four; include short ones that learn
# and long ones that fail). For each lag train one run per seed in
# `SEEDS` with `experiments.train_lag_task(lag, seed=seed)` and **the
# same other settings for every run** (the defaults are fine), and store
# the list of runs as `sweep[lag]`. Then set `smallest_failing_lag` with
# your `first_failure` on the **median** score of each lag
# (`median_r2(runs)` below; it counts a diverged run as the lowest
# score). Compute it from `sweep`; do not type the number in: the hidden
# test trains again around your answer and checks it against what
# training really gives. The sweep takes about half a minute.

# %%
THRESHOLD = experiments.LEARNED_R2
SEEDS = (0, 1, 2)


def median_r2(runs):
    """Median test R^2 of a lag's runs; a diverged run (nan) counts as
    the lowest score."""
    return float(np.median([r.r2 if r.r2 == r.r2 else -np.inf
                            for r in runs]))


# %% solution="lag_sweep"
sweep = {}                     # lag -> [LagRun, one per seed]
smallest_failing_lag = None
### BEGIN SOLUTION
lags = [2, 4, 8, 10, 12, 20]
for lag in tqdm(lags, desc="lag sweep"):
    sweep[lag] = [experiments.train_lag_task(lag, seed=seed)
                  for seed in SEEDS]
smallest_failing_lag = first_failure(
    {lag: median_r2(runs) for lag, runs in sweep.items()}, THRESHOLD)
### END SOLUTION
print("smallest failing lag (median over seeds):", smallest_failing_lag)

# %% tests="lag_sweep_tests" points=2
from helpers.checks import gradients as check

check.lag_sweep(sweep, smallest_failing_lag)
### BEGIN HIDDEN TESTS
check.lag_sweep(sweep, smallest_failing_lag, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your sweep: the score of every seed, the median, how many of the runs
# learned, and the gradient that reached the cue at the start of
# training (`cue_grad_ratio`: the norm of $\partial L / \partial x_1$
# divided by that of $\partial L / \partial x_T$, averaged over the
# batch and the seeds), where $L$ is the loss.

# %% tags=["demo"]
print(f"{'lag':>3s} {'test R^2 per seed':>22s} {'median':>7s} "
      f"{'learned':>8s} {'gradient at cue / at last input':>32s}")
for lag, runs in sorted(sweep.items()):
    r2 = " ".join(f"{r.r2:6.3f}" for r in runs)
    ok = sum(r.r2 >= THRESHOLD for r in runs)
    cue = np.mean([r.cue_grad_ratio for r in runs])
    print(f"{lag:3d} {r2:>22s} {median_r2(runs):7.3f} "
          f"{ok:>4d} of {len(runs)} {cue:28.1e}")
gradient_plots.plot_lag_sweep(sweep, THRESHOLD, smallest_failing_lag,
                              baseline=experiments.BASELINE_MSE)

# %% [markdown]
# At short lags every seed learns and the loss falls to a small fraction
# of the baseline; at long lags every seed stays near the baseline: the
# net answers roughly 0, the mean. The last column shows why: at the
# start of training the gradient that reaches the cue shrinks by orders
# of magnitude as $l$ grows, exactly the product of Jacobians of
# section 1. In between lies a band of lags where the seeds disagree
# (the shaded band in the right panel spans the lowest to the highest
# seed): there a single run would have given a verdict by luck, and the
# median over seeds gives one that another three seeds reproduce (the
# test suite checks that with seeds 3, 4 and 5).
#
# ## 8. Remedies and their limits
#
# **Clipping by norm** fixes exploding gradients (section 5) but does
# nothing for vanishing ones: every run of the sweep was clipped and the
# long lags still failed. It limits the size of a step, it cannot create
# a gradient that is not there.
#
# **ReLU** removes saturation ($\text{ReLU}' = 1$ on active units), and
# **identity initialisation** ($W_{hh} = I$, zero bias) makes the
# Jacobian product start at norm 1 (section 3). We train both on two long
# lags and compare with tanh. The ReLU runs use a smaller learning rate,
# 0.01; the last row repeats the identity runs with tanh's 0.1.

# %% tags=["demo"]
remedy_settings = {
    "tanh (default init)": dict(),
    "ReLU (default init)": dict(activation="relu", lr=0.01),
    "ReLU + identity W_hh": dict(activation="relu", init="identity",
                                 lr=0.01),
    "ReLU + identity, lr 0.1": dict(activation="relu", init="identity",
                                    lr=0.1),
}
remedies = {name: {} for name in remedy_settings}
for name, kwargs in tqdm(remedy_settings.items(), desc="remedies"):
    for L in (20, 40):
        remedies[name][L] = experiments.train_lag_task(L, **kwargs).r2
for name, scores in remedies.items():
    print(f"{name:24s}", "  ".join(f"lag {L}: R^2 = {s:.2f}"
                                   for L, s in scores.items()))
gradient_plots.plot_remedies(remedies, threshold=THRESHOLD)

# %% [markdown]
# ReLU alone does not help: at the default initialisation half of its
# units are off at each step, and the gradient still vanishes. ReLU with
# identity initialisation reaches much further than tanh. Its limits show
# too: it fails with the larger learning rate, it gets worse as $l$ grows
# (compare the two lags), and if training pushes the spectral radius
# above 1 the unbounded ReLU state explodes (try ReLU, identity,
# $\rho = 1.1$ in the explorer).
#
# **Gated cells** attack the cause. The LSTM (lesson 6) and the GRU
# (lesson 7) carry their memory along an *additive* path,
# $c_t = f_t \odot c_{t-1} + i_t \odot g_t$. On the direct path from
# $c_{t-1}$ to $c_t$ the factor is $\operatorname{diag}(f_t)$: no
# $W_{hh}$ and no activation derivative. (The full Jacobian
# $\partial c_t / \partial c_{t-1}$ has more terms, because the gates
# depend on $h_{t-1}$, which depends on $c_{t-1}$; the direct path is the
# one that can stay near 1 over many steps.) The forget gate's *value*
# $f_t = \sigma(\cdot)$ sits on this path; its derivative
# $\sigma' \le 1/4$ enters only the paths through the gate's inputs. When
# the net learns to keep $f_t \approx 1$, the gradient flows back along
# the cell over long lags without shrinking. Lesson 5 builds the gates,
# and lesson 6 trains an LSTM on lags where the simple RNN fails.
#
# ## Summary
#
# * BPTT's long-range terms go through
#   $\partial h_t / \partial h_k = \prod_{j=k+1}^{t}
#   \operatorname{diag}(1 - h_j^2)\, W_{hh}$, with
#   $\|\partial h_t / \partial h_k\| \le \|W_{hh}\|_2^{\,t-k}$: exponential
#   in the lag, a straight line on a log plot.
# * $\tanh' \le 1$ (and well below 1 on average), $\sigma' \le 1/4$: the
#   norm vanishes even at spectral radius 1; large $W_{hh}$ saturates the
#   units or lets the gradients explode.
# * The gradient of $W_{hh}$ is dominated by the terms of the last few
#   steps, millions of times larger than the term of a lag of 30, so a
#   simple RNN learns short dependencies: in your sweep it learned the
#   short lags, failed from the lag you reported on, and the gradient
#   reaching the cue fell by orders of magnitude with $l$.
# * Exploding gradients are real (a run went to an infinite loss in a
#   few dozen steps); clipping by global norm,
#   $g \leftarrow g \min(1, c / \|g\|)$, fixed that run.
# * Remedies and limits: clipping stops explosions, not vanishing; ReLU
#   alone does not help; ReLU with identity initialisation reaches
#   further but is fragile; gated cells (lessons 5–7) change the path the
#   gradient travels.
#
# ## Self-check questions
#
# 1. Write $\partial h_5 / \partial h_2$ of a tanh RNN as a product. How
#    many factors, and in which order?
# 2. $\|W_{hh}\|_2 = 0.9$. Give an upper bound on
#    $\|\partial h_{50} / \partial h_{0}\|_2$.
# 3. Why does the norm vanish at spectral radius 1 for tanh, but not for
#    ReLU with identity initialisation?
# 4. Why does a simple RNN still learn *something* on long sequences of
#    text, even though it cannot learn the long dependencies?
# 5. Your gradient norms are 3, 2000 and 5 on three successive steps and
#    you clip at 10. What happens to each step, and in which direction
#    does the second one point?
# 6. Why can clipping not fix vanishing gradients?
#
# <details><summary>Answers</summary>
#
# 1. $\operatorname{diag}(1 - h_5^2) W_{hh}\, \operatorname{diag}(1 -
#    h_4^2) W_{hh}\, \operatorname{diag}(1 - h_3^2) W_{hh}$: three
#    factors, the latest step on the left.
# 2. $0.9^{50} \approx 5 \cdot 10^{-3}$ (and smaller still with the
#    $\tanh'$ factors).
# 3. Each tanh step multiplies by $\tanh'(a_j) < 1$ (0.4 to 0.6 on
#    average in section 3); active ReLU units multiply by exactly 1, and
#    $W_{hh} = I$ does not mix or shrink.
# 4. Most of the loss depends on the last few inputs (the next character
#    is mostly predicted by the previous ones), and those terms of the
#    gradient are large.
# 5. Steps 1 and 3 are unchanged; step 2 is scaled by $10/2000$ to norm
#    10, pointing in the same direction as the original gradient.
# 6. Clipping only shrinks long gradients; a vanishing gradient is
#    already short, and its long-range part is buried under the
#    short-range terms, whatever the scale.
#
# </details>
#
# ## What comes next
#
# Lesson 5 introduces the **gate**: a sigmoid layer whose output, between
# 0 and 1, multiplies a signal element by element, a valve on a pipe.
# Gates let a cell decide what to forget, what to write and what to read,
# and they are the pieces of the LSTM (lesson 6) and the GRU (lesson 7),
# which solve the long lags where this lesson's RNN failed.
