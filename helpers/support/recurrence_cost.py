"""What recurrence costs, measured (lesson 9).

Dimension letters: N samples, T time steps, E width (features in and
out of both layers), h heads.

:func:`time_layers` times a recurrent layer (``torch.nn.GRU``, E -> E)
and a self-attention layer (``torch.nn.MultiheadAttention``, E -> E,
queries, keys and values all from the same input) of the same width on
inputs ``(N, T, E)`` for several lengths ``T``: the forward pass, and
the backward pass of the sum of the outputs. :func:`sequential_steps`
counts the operations each must run one after the other.

The timings are wall-clock seconds with the threads torch is set to use;
each is the fastest of a few repeats (the least disturbed by other work
on the machine).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
from torch import nn

from helpers.support.torch_runs import seeded

__all__ = ["time_layers", "sequential_steps"]


def _layers(E: int, heads: int, seed: int) -> dict[str, nn.Module]:
    with seeded(seed):
        gru = nn.GRU(E, E, batch_first=True)
        mha = nn.MultiheadAttention(E, heads, batch_first=True)
    return {"GRU": lambda x: gru(x)[0],
            "self-attention": lambda x: mha(x, x, x, need_weights=False)[0]}


def time_layers(lengths: Sequence[int], E: int = 64, N: int = 4,
                heads: int = 4, repeats: int = 2, seed: int = 0
                ) -> dict[str, dict[str, np.ndarray]]:
    """Seconds per forward and per backward pass at each length.

    Returns
    -------
    dict
        ``{"GRU": {"forward": (L,), "backward": (L,)}, "self-attention":
        {...}}`` for the ``L`` lengths, in seconds.
    """
    layers = _layers(E, heads, seed)
    gen = torch.Generator().manual_seed(seed)
    out = {name: {"forward": [], "backward": []} for name in layers}
    for layer in layers.values():                     # warm up
        layer(torch.randn(N, 8, E, generator=gen)).sum().backward()
    for T in lengths:
        x = torch.randn(N, int(T), E, generator=gen, requires_grad=True)
        for name, layer in layers.items():
            best = [float("inf"), float("inf")]
            for _ in range(repeats):
                start = time.perf_counter()
                y = layer(x).sum()
                middle = time.perf_counter()
                y.backward()
                end = time.perf_counter()
                best = [min(best[0], middle - start),
                        min(best[1], end - middle)]
                x.grad = None
            out[name]["forward"].append(best[0])
            out[name]["backward"].append(best[1])
    return {name: {k: np.array(v) for k, v in d.items()}
            for name, d in out.items()}


def sequential_steps(T: int) -> dict[str, int]:
    """Operations that must wait for the one before, per layer, for a
    sequence of ``T`` steps (forward pass).

    A recurrent layer computes ``h_t`` from ``h_{t-1}``: ``T`` steps one
    after the other. Self-attention computes the projections, the scores
    ``Q K^T``, the softmax, the weighted sum and the output projection:
    five stages, each over all ``T`` positions at once, whatever ``T``.
    """
    return {"GRU": int(T), "self-attention": 5}
