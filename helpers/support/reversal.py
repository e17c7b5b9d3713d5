"""The reversal task of lesson 9: a small translation-like problem for
the encoder-decoder of :class:`helpers.support.models.Seq2Seq`.

Dimension letters: N samples, S source (and target) steps, V tokens.

A source is ``S`` tokens drawn uniformly from ``0 .. V-1``; its
"translation" is the same tokens in reverse order, so the first word
written depends on the last word read, and every output word on exactly
one input word: the alignment is the anti-diagonal. The decoder reads a
start token ``BOS = V`` and then the target shifted right (teacher
forcing).

* :func:`reversal_batch` draws a batch;
* :func:`train_reversal` fits a model with Adam on batches of random
  lengths, returning the loss of every update;
* :func:`exact_match_by_length` decodes greedily and counts the
  sequences written entirely right, length by length, and
  :func:`token_accuracy_by_position` the right tokens step by step.

Every function takes a seed (or a generator) for its own random numbers
and leaves torch's global generator alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.support.torch_runs import clipped_update

__all__ = ["reversal_batch", "train_reversal", "exact_match_by_length",
           "token_accuracy_by_position"]


def reversal_batch(N: int, S: int, V: int, rng: np.random.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``N`` random sources of ``S`` tokens and their reversals.

    Returns
    -------
    src : LongTensor, shape (N, S)
        Tokens in ``0 .. V-1``.
    tgt_in : LongTensor, shape (N, S)
        The decoder's inputs: ``BOS = V``, then the target without its
        last token.
    tgt : LongTensor, shape (N, S)
        The target, ``src`` reversed in time.
    """
    if S < 1 or N < 1 or V < 2:
        raise ValueError(f"need N >= 1, S >= 1, V >= 2; got N={N}, "
                         f"S={S}, V={V}")
    src = torch.from_numpy(rng.integers(0, V, (N, S)))
    tgt = src.flip(1)
    bos = torch.full((N, 1), V, dtype=torch.long)
    return src, torch.cat([bos, tgt[:, :-1]], 1), tgt


def train_reversal(model: nn.Module, V: int, lengths: tuple[int, int],
                   steps: int = 600, N: int = 64, lr: float = 1e-2,
                   clip: float = 1.0, seed: int = 0,
                   progress: bool = True, desc: str = "training"
                   ) -> np.ndarray:
    """Fit ``model(src, tgt_in) -> (logits (N, S, V + 1), alpha)`` to
    reverse sources; each update draws a length ``S`` uniformly from
    ``lengths = (S_min, S_max)`` (inclusive) and a fresh batch.

    Each update: the cross-entropy of every target token, backward, the
    gradient norm clipped at ``clip``, one Adam step. Returns the loss of
    every update (nats per token).
    """
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc=desc, leave=False)
    losses = []
    model.train()
    for _ in bar:
        S = int(rng.integers(lengths[0], lengths[1] + 1))
        src, tgt_in, tgt = reversal_batch(N, S, V, rng)
        logits, _ = model(src, tgt_in)                # (N, S, V + 1)
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
        clipped_update(opt, loss, model.parameters(), clip)
        losses.append(loss.item())
    model.eval()
    return np.array(losses)


@torch.no_grad()
def exact_match_by_length(model: nn.Module, V: int, lengths, n: int = 200,
                          seed: int = 1000) -> np.ndarray:
    """Share of ``n`` fresh sources of each length in ``lengths`` that
    greedy decoding reverses without a single wrong token."""
    rng = np.random.default_rng(seed)
    out = []
    for S in lengths:
        src, _, tgt = reversal_batch(n, int(S), V, rng)
        ids, _ = model.greedy_decode(src, bos_id=V, max_len=int(S))
        out.append((ids == tgt).all(1).float().mean().item())
    return np.array(out)


@torch.no_grad()
def token_accuracy_by_position(model: nn.Module, V: int, S: int,
                               n: int = 200, seed: int = 1001
                               ) -> np.ndarray:
    """Share of right tokens at each output step ``t`` of ``n`` fresh
    sources of length ``S`` (greedy decoding); output step ``t`` (from
    0) copies source step ``S - 1 - t``. Shape ``(S,)``."""
    rng = np.random.default_rng(seed)
    src, _, tgt = reversal_batch(n, S, V, rng)
    ids, _ = model.greedy_decode(src, bos_id=V, max_len=S)
    return (ids == tgt).float().mean(0).numpy()
