"""Checks for lesson 7, "GRU".

The expected values come from the equations of the syllabus, written
out below in a few lines each (``_cho_step``, ``_torch_step``; tested
equal to :mod:`helpers.reference.gru` in the test suite), and PyTorch's
``torch.nn.GRU`` is the oracle of the PyTorch form: the check of
``gru_torch_step_forward`` first confirms that ``_torch_step`` matches
``torch.nn.GRU`` in float64 with the weights copied across, then
compares the student's step with it.

Parameters are packed as in :mod:`helpers.reference.gru`: Cho's form
``{"W": (3H, D), "U": (3H, H), "b": (3H,)}`` with row blocks r, z, h;
PyTorch's ``{"W", "U", "b_x", "b_h"}`` with blocks r, z, n, exactly
``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``.
The usual mistakes (``z`` weighting the wrong state, the reset gate on
the wrong side of ``U_h``, ``b_hn`` outside the reset product, the
blocks in the wrong order, one bias per gate in a parameter count) are
named.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.checks import (F32, F64, diagnose, diagnose_probe,
                            expect_array, expect_cache, expect_close,
                            expect_true, fresh_sizes, likely, make_rng,
                            passed, random_arrays, run_student, snapshot)

__all__ = ["gru_step_forward", "gru_torch_step_forward", "param_counts"]


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _blocks(a, H, order=(0, 1, 2)):
    """The three row (or column) blocks of ``a`` in ``order``."""
    return [a[..., k * H:(k + 1) * H] for k in order]


# ----------------------------------------------------------- Cho's form
def _cho_step(x, h_prev, p, order=(0, 1, 2), reset="before",
              z_new=True):
    """One Cho-form step; the keywords build the usual mistakes:
    ``order`` reads the blocks in another order, ``reset="after"`` puts
    r after U_h (PyTorch's place), ``"none"`` leaves it out, and
    ``z_new=False`` lets z weight the old state."""
    H = h_prev.shape[1]
    ax = _blocks(x @ p["W"].T + p["b"], H, order)
    U = [p["U"][k * H:(k + 1) * H] for k in order]
    r = _sigmoid(ax[0] + h_prev @ U[0].T)
    z = _sigmoid(ax[1] + h_prev @ U[1].T)
    rec = {"before": (r * h_prev) @ U[2].T, "after": r * (h_prev @ U[2].T),
           "none": h_prev @ U[2].T}[reset]
    h_tilde = np.tanh(ax[2] + rec)
    h = (1 - z) * h_prev + z * h_tilde if z_new else \
        z * h_prev + (1 - z) * h_tilde
    return h, r, z, h_tilde


CHO_CASES = {
    "h_prev = 0": "With h_prev = 0 the reset gate has nothing to act on "
                  "and h_next = z * tanh(W_h x + b_h): check the update "
                  "gate z, the candidate and the interpolation.",
    "x = 0": "With x = 0 the gates and the candidate read only the state "
             "(and the biases): check U_r, U_z and U_h (r * h_prev).",
    "all": "With every term on, h_next is wrong.",
}


CHO_VARIANTS = [
    ({"z_new": False},
     "z weights the wrong state: in Cho's form z takes the new candidate, "
     "h_t = (1 - z) * h_prev + z * h_tilde. (z weighting the old state is "
     "PyTorch's convention.)"),
    ({"reset": "after"},
     "the reset gate multiplies U_h h_prev, after the matrix: that is "
     "PyTorch's form. In Cho's form r multiplies the state before U_h: "
     "(r * h_prev) @ U_h.T."),
    ({"reset": "none"},
     "the reset gate is missing from the candidate: h_tilde = tanh(W_h x + "
     "U_h (r * h_prev) + b_h)."),
    ({"order": (1, 0, 2)},
     "the blocks of r and z are swapped: rows 0:H of W, U and b belong to "
     "the reset gate r, rows H:2H to the update gate z, rows 2H:3H to the "
     "candidate."),
    ({"order": (2, 0, 1)},
     "the blocks are in the wrong order: rows 0:H are r, H:2H are z, "
     "2H:3H the candidate h."),
]


def _cho_mistakes(x, h_prev, p) -> list:
    H, sq = h_prev.shape[1], x.shape[1] == h_prev.shape[1]
    a = x @ p["W"].T + p["b"]
    U = p["U"]
    r = _sigmoid(a[:, :H] + h_prev @ U[:H].T)
    z = _sigmoid(a[:, H:2 * H] + h_prev @ U[H:2 * H].T)
    h_tilde = np.tanh(a[:, 2 * H:] + (r * h_prev) @ U[2 * H:].T)
    return [(_cho_step(x, h_prev, p, **kw)[0], m)
            for kw, m in CHO_VARIANTS] + [
        (h_tilde, "h_next is the candidate alone: interpolate, h_next = "
                  "(1 - z) * h_prev + z * h_tilde."),
        (h_prev + z * h_tilde, "the factor (1 - z) on h_prev is missing."),
        ((1 - z) * h_prev + z * _sigmoid(
            a[:, 2 * H:] + (r * h_prev) @ U[2 * H:].T),
         "the candidate uses tanh, not the sigmoid."),
        ((1 - z) * h_prev + z * np.tanh(
            a[:, 2 * H:] + (r * h_prev) @ U[2 * H:]) if sq else None,
         "U_h is used transposed: U_h (r * h_prev) is (r * h_prev) @ "
         "U_h.T for a batch of rows."),
    ]


def _check_cho(fn, x, h_prev, p, case, probe):
    unchanged, args, dt = snapshot(x, h_prev, p), (x, h_prev, p), x.dtype
    expected, r, z, h_tilde = _cho_step(*args)
    h_next, cache = run_student(
        fn, "gru_step_forward", *args, returns="a pair (h_next, cache)",
        hint="check the shapes: x is (N, D), h_prev (N, H), W (3H, D), U "
        "(3H, H), b (3H,); the gate r uses W[:H], U[:H], b[:H], and W x "
        "for a batch of rows is x @ W.T.")
    expect_array(f"h_next ({case})", h_next, expected, "N, H", dt,
                 hint=lambda: diagnose_probe(
                     fn, "gru_step_forward", h_next, _cho_mistakes, args,
                     probe, dt, lead=CHO_CASES[case]))
    expect_cache(cache, "(x, h_prev, r, z, h_tilde, params)",
                 (x, h_prev, r, z, h_tilde, p), dt, ("r", "z", "h_tilde"))
    expect_true(unchanged(), "gru_step_forward changed one of its inputs "
                             "in place (x, h_prev or params); compute new "
                             "arrays instead.")


def random_cho_params(rng, D, H, dtype=F64, scale=0.6) -> dict:
    """``{"W": (3H, D), "U": (3H, H), "b": (3H,)}``, blocks r, z, h."""
    return random_arrays(rng, {"W": (3 * H, D), "U": (3 * H, H),
                               "b": (3 * H,)}, dtype, scale)


def _cases(rng, hidden):
    return fresh_sizes(rng, 3) if hidden else [(3, 4, 5, F64),
                                               (2, 3, 3, F32)]


def gru_step_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``gru_step_forward(x, h_prev, params) -> (h_next, cache)``,
    Cho et al.'s form."""
    rng = make_rng(hidden, seed=70)
    for N, D, H, dt in _cases(rng, hidden):
        p = random_cho_params(rng, D, H, dt)
        x = rng.normal(size=(N, D)).astype(dt)
        h = np.tanh(rng.normal(0, 1, (N, H))).astype(dt)
        for case, x_, h_ in (("h_prev = 0", x, np.zeros_like(h)),
                             ("x = 0", np.zeros_like(x), h),
                             ("all", x, h)):
            _check_cho(fn, x_, h_, p, case, probe=(x, h, p))
    passed("gru_step_forward: r before U_h, z on the candidate, blocks r, "
           "z, h, cache and float32 all right", hidden)


# -------------------------------------------------------- PyTorch's form
def _torch_step(x, h_prev, p, order=(0, 1, 2), reset="after",
                z_old=True, b_hn="inside"):
    """One PyTorch-form step; the keywords build the usual mistakes
    (``reset="before"`` is Cho's place, ``z_old=False`` Cho's
    interpolation, ``b_hn="outside"`` adds b_hn after the reset
    product)."""
    H = h_prev.shape[1]
    ax = _blocks(x @ p["W"].T + p["b_x"], H, order)
    U = [p["U"][k * H:(k + 1) * H] for k in order]
    bh = _blocks(p["b_h"], H, order)
    r = _sigmoid(ax[0] + h_prev @ U[0].T + bh[0])
    z = _sigmoid(ax[1] + h_prev @ U[1].T + bh[1])
    hn = h_prev @ U[2].T + bh[2]
    if reset == "before":
        pre = (r * h_prev) @ U[2].T + bh[2]
    elif b_hn == "outside":
        pre = r * (h_prev @ U[2].T) + bh[2]
    else:
        pre = r * hn
    n = np.tanh(ax[2] + pre)
    h = (1 - z) * n + z * h_prev if z_old else (1 - z) * h_prev + z * n
    return h, r, z, n, hn


def _torch_gru(p, steps_x, h0):
    """Run ``torch.nn.GRU`` with ``p`` copied in (float64): ``h_T``."""
    import torch
    D, H = p["W"].shape[1], p["U"].shape[1]
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "W"), ("weight_hh_l0", "U"),
                          ("bias_ih_l0", "b_x"), ("bias_hh_l0", "b_h")):
            getattr(gru, name).copy_(torch.from_numpy(
                p[key].astype(np.float64)))
        _, h_n = gru(torch.from_numpy(steps_x.astype(np.float64)),
                     torch.from_numpy(h0.astype(np.float64))[None])
    return h_n[0].numpy()


TORCH_CASES = {
    "x = 0, h_prev = 0": "With x = 0 and h_prev = 0 only the biases are "
                         "left: h_next should be (1 - z) * tanh(b_xn + r "
                         "* b_hn), with b_hn inside the reset product.",
    "h_prev = 0": "With h_prev = 0, h_next = (1 - z) * n: check the "
                  "update gate z and the candidate n.",
    "all": "With every term on, h_next is wrong.",
}


TORCH_VARIANTS = [
    ({"z_old": False},
     "z weights the wrong state: in PyTorch's form z keeps the OLD state, "
     "h_t = (1 - z) * n + z * h_prev (Cho's form is the other way "
     "round)."),
    ({"reset": "before"},
     "the reset gate multiplies h_prev before U_n (Cho's form). PyTorch "
     "multiplies after the matrix: n = tanh(W_n x + b_xn + r * (U_n h_prev "
     "+ b_hn))."),
    ({"b_hn": "outside"},
     "b_hn is added outside the reset product: PyTorch computes r * (U_n "
     "h_prev + b_hn), with b_hn inside."),
    ({"order": (1, 0, 2)},
     "the gate order is wrong: torch packs its weights and biases in the "
     "order r, z, n (rows 0:H reset, H:2H update, 2H:3H new), not z, r, "
     "n."),
    ({"order": (2, 0, 1)},
     "the gate order is wrong: torch packs the blocks r, z, n; you read "
     "the candidate n from the first block."),
]


def _torch_mistakes(x, h_prev, p) -> list:
    return [(_torch_step(x, h_prev, p, **kw)[0], m)
            for kw, m in TORCH_VARIANTS] + [
        (_torch_step(x, h_prev, {**p, "b_h": 0 * p["b_h"]})[0],
         "the recurrent bias b_h (bias_hh_l0) is missing."),
        (_torch_step(x, h_prev, {**p, "b_x": 0 * p["b_x"]})[0],
         "the input bias b_x (bias_ih_l0) is missing."),
    ]


def _check_torch(fn, x, h_prev, p, case, probe):
    unchanged, (N, H), dt = snapshot(x, h_prev, p), h_prev.shape, x.dtype
    expected, r, z, n, hn = _torch_step(x, h_prev, p)
    if dt == F64:             # the oracle: torch.nn.GRU itself
        torch_h = _torch_gru(p, x[:, None], h_prev)
        expect_close("the check's own PyTorch-form step vs torch.nn.GRU",
                     expected, torch_h, atol=1e-12, rtol=1e-10)
        expected = torch_h
    h_next, cache = run_student(
        fn, "gru_torch_step_forward", x, h_prev, p, returns="a pair "
        "(h_next, cache)", hint="check the shapes: x is (N, D), h_prev "
        "(N, H), W (3H, D), U (3H, H), b_x and b_h (3H,); blocks r, z, n.")
    what = "vs torch.nn.GRU, float64" if dt == F64 else "float32"
    expect_array(f"h_next ({case}; {what})", h_next, expected, "N, H", dt,
                 hint=lambda: diagnose_probe(
                     fn, "gru_torch_step_forward", h_next, _torch_mistakes,
                     (x, h_prev, p), probe, dt, lead=TORCH_CASES[case]))
    expect_cache(cache, "(x, h_prev, r, z, n, hn, params)",
                 (x, h_prev, r, z, n, hn, p), dt, ("r", "z", "n", "hn"))
    expect_true(unchanged(), "gru_torch_step_forward changed one of its "
                             "inputs in place; compute new arrays "
                             "instead.")


def random_torch_params(rng, D, H, dtype=F64, scale=0.6) -> dict:
    """``{"W": (3H, D), "U": (3H, H), "b_x": (3H,), "b_h": (3H,)}``,
    blocks r, z, n (torch's ``weight_ih_l0`` ... ``bias_hh_l0``)."""
    return random_arrays(rng, {"W": (3 * H, D), "U": (3 * H, H),
                               "b_x": (3 * H,), "b_h": (3 * H,)}, dtype,
                         scale)


def gru_torch_step_forward(fn: Callable, hidden: bool = False) -> None:
    """Check ``gru_torch_step_forward(x, h_prev, params) -> (h_next,
    cache)`` against ``torch.nn.GRU`` (float64) and the PyTorch-form
    equations (float32)."""
    rng = make_rng(hidden, seed=71)
    for N, D, H, dt in _cases(rng, hidden):
        p = random_torch_params(rng, D, H, dt)
        x = rng.normal(size=(N, D)).astype(dt)
        h = np.tanh(rng.normal(0, 1, (N, H))).astype(dt)
        for case, x_, h_ in (("x = 0, h_prev = 0", np.zeros_like(x),
                              np.zeros_like(h)),
                             ("h_prev = 0", x, np.zeros_like(h)),
                             ("all", x, h)):
            _check_torch(fn, x_, h_, p, case, probe=(x, h, p))
    passed("gru_torch_step_forward matches torch.nn.GRU in float64: r after "
           "U_n with b_hn inside, z on the old state, blocks r, z, n; cache "
           "and float32 right", hidden)


# ---------------------------------------------------------- param_counts
def _torch_counts(D, H) -> dict:
    import torch
    return {name: sum(p.numel() for p in module(D, H).parameters())
            for name, module in (("rnn", torch.nn.RNN),
                                 ("gru", torch.nn.GRU),
                                 ("lstm", torch.nn.LSTM))}


BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
NAMES = {"rnn": "one tanh layer", "gru": "r, z, n", "lstm": "i, f, g, o"}


def _count_mistakes(cell, D, H) -> list:
    k = BLOCKS[cell]
    return [
        (k * H * (D + H + 1), "torch keeps two bias vectors per block, "
         "bias_ih and bias_hh, so each block has 2H biases, not H."),
        (k * H * (D + H), "the biases are missing: torch adds bias_ih and "
         "bias_hh, 2H per block."),
        (k * H * (D + 2), "the recurrent weights (weight_hh, H x H per "
         "block) are missing."),
        (k * H * (H + 2), "the input weights (weight_ih, H x D per "
         "block) are missing."),
        (k * H * (2 * H + 2) if D != H else None,
         "the input weights are H x D per block, not H x H."),
        (k * (D * D + H * H + 2 * H) if D != H else None,
         "weight_ih is (H, D) per block: H * D entries, not D * D."),
        *[(kk * H * (D + H + 2), f"the {cell.upper()} has {k} "
           f"block{'s' if k > 1 else ''} of weights ({NAMES[cell]}), "
           f"not {kk}.") for kk in (1, 3, 4) if kk != k],
    ]


def param_counts(fn: Callable, hidden: bool = False) -> None:
    """Check ``param_counts(D, H) -> {"rnn": int, "gru": int, "lstm":
    int}`` against ``sum(p.numel())`` of the torch modules."""
    rng = make_rng(hidden, seed=72)
    cases = [(3, 5), (10, 20), (1, 1), (64, 128)]
    if hidden:
        cases = [tuple(int(v) for v in rng.integers(1, 300, 2))
                 for _ in range(4)] + [(int(rng.integers(2, 50)), 1)]
    for D, H in cases:
        got = run_student(fn, "param_counts", D, H)
        expect_true(isinstance(got, dict) and set(got) >= set(BLOCKS),
                    f"param_counts should return a dict with the keys "
                    f"'rnn', 'gru' and 'lstm'; got {got!r:.80}.")
        want = _torch_counts(D, H)
        for cell in BLOCKS:
            value = got[cell]
            expect_true(isinstance(value, (int, np.integer)) and not
                        isinstance(value, bool),
                        f"param_counts(D={D}, H={H})['{cell}'] should be "
                        f"an int, got {type(value).__name__} {value!r}.")
            cause = diagnose(value, _count_mistakes(cell, D, H),
                             atol=0, rtol=0)
            expect_true(int(value) == want[cell], (
                f"param_counts(D={D}, H={H})['{cell}'] is {int(value)}; "
                f"torch.nn.{cell.upper()}({D}, {H}) has {want[cell]} "
                f"parameters (sum of p.numel() over its parameters). "
                + likely(cause)).strip())
    passed("param_counts: H(D + H + 2) per block, 1 block for the RNN, 3 "
           "for the GRU, 4 for the LSTM, as torch counts", hidden, "sizes")
