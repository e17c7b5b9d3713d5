"""Weights between the numpy cells and ``torch.nn.RNN/LSTM/GRU``, and
numpy stacks (several layers, one or two directions) that match torch.

Dimension letters: N samples, T time steps, D input features, H hidden
units, L layers, nd directions (1, or 2 when bidirectional).

Layout of a stack's parameters
------------------------------
A list over layers of lists over directions::

    layers[l][d]      l = 0 .. L-1, d = 0 (forward in time),
                      d = 1 (backward in time, bidirectional only)

Each entry is a parameter dict of one cell, in the format of
:mod:`helpers.reference.rnn`, :mod:`helpers.reference.lstm` or
:mod:`helpers.reference.gru` (PyTorch form). Layer 0 reads ``D``
features; layer ``l > 0`` reads the concatenated outputs of the layer
below, ``nd * H`` features (forward direction first). ``layers[l][d]``
corresponds to torch's parameters with suffix ``_l{l}`` (``d = 0``) or
``_l{l}_reverse`` (``d = 1``), and torch's state tensors ``h_0``,
``h_n`` of shape ``(L * nd, N, H)`` are indexed by ``l * nd + d``.

Mapping of each cell (torch name -> numpy key)
----------------------------------------------
===========  ==============  ===================  ===================
torch        RNN             LSTM (i, f, g, o)    GRU (r, z, n)
===========  ==============  ===================  ===================
weight_ih    W_xh (H, D)     W (4H, D)            W (3H, D)
weight_hh    W_hh (H, H)     U (4H, H)            U (3H, H)
bias_ih      b_h (H,) =      b (4H,) =            b_x (3H,)
bias_hh      ih + hh         ih + hh              b_h (3H,)
===========  ==============  ===================  ===================

For the simple RNN and the LSTM the two torch biases only ever appear as
a sum, so the numpy cell has one bias ``b = bias_ih + bias_hh``; copying
back writes ``bias_ih = b`` and ``bias_hh = 0`` (same function), and the
gradient of either torch bias equals the gradient of ``b``. For the GRU
the recurrent bias of block n sits inside the reset product
``r * (U_n h + b_hn)``, so both vectors are kept as they are.

Torch applies dropout between layers only in training mode with
``dropout > 0``; the numpy stacks have no dropout, so compare them with
``dropout=0`` (or in ``eval()`` mode). Non-tanh RNNs and LSTMs with
``proj_size > 0`` are rejected.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from helpers.reference.gru import gru_backward, gru_forward, gru_torch_backward
from helpers.reference.gru import gru_torch_forward
from helpers.reference.lstm import lstm_backward, lstm_forward
from helpers.reference.rnn import rnn_backward, rnn_forward
from helpers.reference.validate import check_array, check_dtype, check_shape

__all__ = [
    "CELLS", "cell_of", "params_from_torch", "params_to_torch",
    "grads_from_torch", "stack_forward", "stack_backward",
]

Params = dict[str, np.ndarray]
Layers = list[list[Params]]

#: Cell names accepted by the stack functions. "gru" is PyTorch's form;
#: "gru_cho" stacks the Cho et al. cell (no torch counterpart).
CELLS = ("rnn", "lstm", "gru", "gru_cho")


def cell_of(module: torch.nn.Module) -> str:
    """``"rnn"``, ``"lstm"`` or ``"gru"`` for a torch recurrent module."""
    if isinstance(module, torch.nn.LSTM):
        if module.proj_size:
            raise ValueError("LSTM with proj_size > 0 has no numpy "
                             "counterpart here")
        return "lstm"
    if isinstance(module, torch.nn.GRU):
        return "gru"
    if isinstance(module, torch.nn.RNN):
        if module.nonlinearity != "tanh":
            raise ValueError(f"only tanh RNNs are supported, got "
                             f"nonlinearity={module.nonlinearity!r}")
        return "rnn"
    raise TypeError(f"expected torch.nn.RNN, LSTM or GRU, got "
                    f"{type(module).__name__}")


def _suffix(l: int, d: int) -> str:
    return f"_l{l}" + ("_reverse" if d else "")


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _torch_to_dict(cell: str, w_ih, w_hh, b_ih, b_hh) -> Params:
    if cell == "rnn":
        return {"W_xh": w_ih, "W_hh": w_hh, "b_h": b_ih + b_hh}
    if cell == "lstm":
        return {"W": w_ih, "U": w_hh, "b": b_ih + b_hh}
    return {"W": w_ih, "U": w_hh, "b_x": b_ih, "b_h": b_hh}


def _read(module: torch.nn.Module, use_grad: bool) -> Layers:
    cell = cell_of(module)
    nd = 2 if module.bidirectional else 1
    layers = []
    for l in range(module.num_layers):
        row = []
        for d in range(nd):
            s = _suffix(l, d)
            tensors = [getattr(module, f"weight_ih{s}"),
                       getattr(module, f"weight_hh{s}")]
            if module.bias:
                tensors += [getattr(module, f"bias_ih{s}"),
                            getattr(module, f"bias_hh{s}")]
            if use_grad:
                missing = [t for t in tensors if t.grad is None]
                if missing:
                    raise ValueError("the module has no gradients yet; "
                                     "call backward() first")
                arrays = [_numpy(t.grad) for t in tensors]
            else:
                arrays = [_numpy(t) for t in tensors]
            if not module.bias:
                zeros = np.zeros(arrays[1].shape[0], arrays[1].dtype)
                arrays += [zeros, zeros.copy()]
            if use_grad and cell in ("rnn", "lstm"):
                # d loss / d b = grad of bias_ih (= grad of bias_hh)
                arrays[3] = np.zeros_like(arrays[3])
            row.append(_torch_to_dict(cell, *arrays))
        layers.append(row)
    return layers


def params_from_torch(module: torch.nn.Module) -> Layers:
    """Copy a torch module's weights into numpy parameter dicts.

    Parameters
    ----------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        Any ``num_layers``, uni- or bidirectional, with or without bias.

    Returns
    -------
    layers : list of lists of dict
        ``layers[l][d]``, see the module docstring; arrays have the
        module's dtype and share no memory with it.
    """
    return _read(module, use_grad=False)


def grads_from_torch(module: torch.nn.Module) -> Layers:
    """The ``.grad`` of a module's weights, mapped like
    :func:`params_from_torch` (for RNN/LSTM, ``b`` is the gradient of
    ``bias_ih``, which equals that of ``bias_hh`` and of their sum)."""
    return _read(module, use_grad=True)


def params_to_torch(layers: Layers, module: torch.nn.Module) -> None:
    """Copy numpy parameter dicts into a torch module, in place.

    Parameters
    ----------
    layers : list of lists of dict
        ``layers[l][d]`` as returned by :func:`params_from_torch`.
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        Receives the weights (converted to its dtype). For RNN and LSTM
        ``bias_ih = b`` and ``bias_hh = 0``.

    Raises
    ------
    ValueError
        The numbers of layers or directions, or a shape, do not match, or
        the module has ``bias=False`` while a bias is not zero.
    """
    cell = cell_of(module)
    nd = 2 if module.bidirectional else 1
    if not isinstance(layers, (list, tuple)) or len(layers) != \
            module.num_layers:
        got = len(layers) if isinstance(layers, (list, tuple)) else layers
        raise ValueError(f"layers has {got!r} entries; expected "
                         f"num_layers = {module.num_layers}")
    keys = {"rnn": ("W_xh", "W_hh", "b_h"), "lstm": ("W", "U", "b"),
            "gru": ("W", "U", "b_x", "b_h")}[cell]
    with torch.no_grad():
        for l, row in enumerate(layers):
            if len(row) != nd:
                raise ValueError(f"layers[{l}] has {len(row)} directions; "
                                 f"expected {nd}")
            for d, p in enumerate(row):
                s = _suffix(l, d)
                missing = [k for k in keys if k not in p]
                if missing:
                    raise KeyError(f"layers[{l}][{d}] is missing {missing}")
                w_ih = getattr(module, f"weight_ih{s}")
                w_hh = getattr(module, f"weight_hh{s}")
                for name, arr, target in ((keys[0], p[keys[0]], w_ih),
                                          (keys[1], p[keys[1]], w_hh)):
                    _copy(f"layers[{l}][{d}]['{name}']", arr, target)
                if cell == "gru":
                    biases = (p["b_x"], p["b_h"])
                else:
                    b = p[keys[2]]
                    biases = (b, np.zeros_like(b))
                if module.bias:
                    _copy(f"layers[{l}][{d}]['{keys[2]}']", biases[0],
                          getattr(module, f"bias_ih{s}"))
                    _copy(f"layers[{l}][{d}]['{keys[-1]}']", biases[1],
                          getattr(module, f"bias_hh{s}"))
                elif any(np.any(b != 0) for b in biases):
                    raise ValueError(f"module has bias=False but "
                                     f"layers[{l}][{d}] has a non-zero "
                                     f"bias")


def _copy(name: str, arr: np.ndarray, target: torch.Tensor) -> None:
    check_array(name, arr)
    check_shape(name, arr, tuple(target.shape),
                ", ".join(str(n) for n in target.shape))
    target.copy_(torch.from_numpy(np.ascontiguousarray(arr)))


# ------------------------------------------------------------- the stacks

def _cell_fns(cell: str) -> tuple[Callable, Callable]:
    """Uniform ``fwd(x, state0, p, fast) -> (h, state_last, cache)`` and
    ``bwd(dh, cache, dstate_last, fast) -> (dx, dstate0, grads)``; a
    state is ``h`` or ``(h, c)``."""
    if cell == "rnn":
        return (lambda x, s, p, fast: rnn_forward(x, s, p, fast),
                lambda dh, cache, ds, fast: rnn_backward(dh, cache, ds,
                                                         fast))
    if cell == "lstm":
        def fwd(x, s, p, fast):
            return lstm_forward(x, s[0], s[1], p, fast)

        def bwd(dh, cache, ds, fast):
            dx, dh0, dc0, g = lstm_backward(dh, cache, ds[0], ds[1], fast)
            return dx, (dh0, dc0), g
        return fwd, bwd
    if cell == "gru":
        return (lambda x, s, p, fast: gru_torch_forward(x, s, p, fast),
                lambda dh, cache, ds, fast: gru_torch_backward(
                    dh, cache, ds, fast))
    if cell == "gru_cho":
        return (lambda x, s, p, fast: gru_forward(x, s, p, fast),
                lambda dh, cache, ds, fast: gru_backward(dh, cache, ds,
                                                         fast))
    raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")


def _check_stack(layers, x):
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError("layers must be a non-empty list over layers of "
                         "lists over directions (layers[l][d])")
    nd = len(layers[0])
    if nd not in (1, 2) or any(len(row) != nd for row in layers):
        raise ValueError(f"every layers[l] must hold the same number of "
                         f"directions, 1 or 2; got "
                         f"{[len(row) for row in layers]}")
    check_array("x", x, 3, "N, T, D")
    return len(layers), nd


def _state(name, s, shape, dtype):
    """Validate a torch-layout state ``(L * nd, N, H)``."""
    if s is None:
        return np.zeros(shape, dtype)
    check_array(name, s, 3, "L*nd, N, H")
    check_shape(name, s, shape, "L*nd, N, H")
    check_dtype(name, s, dtype, "x")
    return s


def stack_forward(cell: str, x: np.ndarray, layers: Layers,
                  h0: np.ndarray | None = None,
                  c0: np.ndarray | None = None, fast: bool = False):
    """A multi-layer, optionally bidirectional RNN/LSTM/GRU in numpy.

    Computes what ``torch.nn.RNN/LSTM/GRU(..., batch_first=True)``
    computes (without dropout). The backward direction reads the sequence
    reversed in time and its outputs are flipped back, so ``out[:, t]``
    holds both directions' states at time ``t``.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru", "gru_cho"}
    x : ndarray, shape (N, T, D)
    layers : list of lists of dict
        ``layers[l][d]``, see the module docstring.
    h0, c0 : ndarray, shape (L * nd, N, H), optional
        Initial states in torch's layout; ``None`` means zeros. ``c0``
        only for the LSTM.
    fast : bool
        Use each cell's fast path (:func:`stack_backward` then uses it
        too).

    Returns
    -------
    out : ndarray, shape (N, T, nd * H)
        Outputs of the last layer.
    state_n : ndarray, shape (L * nd, N, H), or a pair for the LSTM
        Final states ``h_n`` (``(h_n, c_n)`` for the LSTM), torch layout.
    cache : tuple
        For :func:`stack_backward`.
    """
    fwd, _ = _cell_fns(cell)
    L, nd = _check_stack(layers, x)
    N, T, _ = x.shape
    key = "W_xh" if cell == "rnn" else "U"
    H = layers[0][0][key].shape[0] if cell == "rnn" else \
        layers[0][0][key].shape[1]
    shape = (L * nd, N, H)
    h0 = _state("h0", h0, shape, x.dtype)
    if cell == "lstm":
        c0 = _state("c0", c0, shape, x.dtype)
    elif c0 is not None:
        raise ValueError(f"c0 is only used by the LSTM, not by {cell!r}")
    h_n = np.empty(shape, x.dtype)
    c_n = np.empty(shape, x.dtype) if cell == "lstm" else None
    inp = x
    caches = []
    for l in range(L):
        outs, row = [], []
        for d in range(nd):
            k = l * nd + d
            xin = inp if d == 0 else inp[:, ::-1]      # reversed in time
            s0 = (h0[k], c0[k]) if cell == "lstm" else h0[k]
            h, s_last, cache = fwd(xin, s0, layers[l][d], fast)
            if cell == "lstm":
                h_n[k], c_n[k] = s_last
            else:
                h_n[k] = s_last
            outs.append(h if d == 0 else h[:, ::-1])
            row.append(cache)
        inp = np.concatenate(outs, axis=2)             # (N, T, nd * H)
        caches.append(row)
    state_n = (h_n, c_n) if cell == "lstm" else h_n
    return inp, state_n, (cell, nd, H, caches, fast)


def stack_backward(dout: np.ndarray, cache: tuple,
                   dh_n: np.ndarray | None = None,
                   dc_n: np.ndarray | None = None):
    """Backward pass of :func:`stack_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, T, nd * H)
        Upstream gradient on the last layer's outputs.
    cache : tuple
        From :func:`stack_forward`.
    dh_n, dc_n : ndarray, shape (L * nd, N, H), optional
        Upstream gradient on the final states (``dc_n`` LSTM only).

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dstate0 : ndarray, shape (L * nd, N, H), or a pair for the LSTM
        Gradient on ``h0`` (``(dh0, dc0)`` for the LSTM).
    grads : list of lists of dict
        ``grads[l][d]`` with the keys of ``layers[l][d]``.
    """
    cell, nd, H, caches, fast = cache
    _, bwd = _cell_fns(cell)
    L = len(caches)
    N, T = caches[-1][0][0].shape[:2]
    dtype = caches[-1][0][0].dtype
    check_array("dout", dout, 3, "N, T, nd*H")
    check_shape("dout", dout, (N, T, nd * H), "N, T, nd*H")
    check_dtype("dout", dout, dtype, "the forward pass")
    shape = (L * nd, N, H)
    dh_n = _state("dh_n", dh_n, shape, dtype)
    if cell == "lstm":
        dc_n = _state("dc_n", dc_n, shape, dtype)
    elif dc_n is not None:
        raise ValueError(f"dc_n is only used by the LSTM, not by {cell!r}")
    dh0 = np.empty(shape, dtype)
    dc0 = np.empty(shape, dtype) if cell == "lstm" else None
    grads: Layers = [[None] * nd for _ in range(L)]
    for l in reversed(range(L)):
        d_inp = None
        for d in range(nd):
            k = l * nd + d
            dh = dout[..., d * H:(d + 1) * H]
            if d == 1:
                dh = dh[:, ::-1]                       # reversed in time
            ds = (dh_n[k], dc_n[k]) if cell == "lstm" else dh_n[k]
            dxin, ds0, grads[l][d] = bwd(np.ascontiguousarray(dh),
                                         caches[l][d], ds, fast)
            if cell == "lstm":
                dh0[k], dc0[k] = ds0
            else:
                dh0[k] = ds0
            if d == 1:
                dxin = dxin[:, ::-1]
            d_inp = dxin if d_inp is None else d_inp + dxin
        dout = np.ascontiguousarray(d_inp)
    dstate0 = (dh0, dc0) if cell == "lstm" else dh0
    return dout, dstate0, grads
