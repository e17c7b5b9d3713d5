"""Training loops of lesson 8 for the torch models of
:mod:`helpers.support.models`.

Dimension letters: N samples, T time steps, D features, K classes or
outputs, L characters of text, V vocabulary size.

* :func:`stream_batches` lays a text out as ``N`` parallel streams for
  truncated BPTT (lesson 3), :func:`char_lm_bits` scores a model on
  them, in bits per character, and :func:`train_char_lm` trains a
  character model on them, recording validation bits against CPU time;
* :func:`train_classifier` and :func:`train_regressor` fit a many-to-one
  model with Adam, showing a progress bar, and return the loss per step;
  :func:`last_real_scores` reads a padded batch at each sequence's last
  real step (packed sequences), for the classifier trained on cut
  sequences.

Every loop takes a seed for its own random numbers and leaves torch's
global generator alone; the model's initial weights come from its own
``seed`` argument.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from helpers.support.torch_runs import clipped_update

__all__ = ["stream_batches", "char_lm_bits", "train_char_lm",
           "last_real_scores", "train_classifier", "train_regressor",
           "accuracy"]


def stream_batches(ids: np.ndarray, N: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a text into ``N`` streams read in parallel.

    Stream ``n`` is the ``n``-th of ``N`` consecutive pieces of ``ids``;
    its target is the same piece moved on by one character.

    Returns
    -------
    x, y : LongTensor, shape (N, L // N - 1) each
    """
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    Ls = (len(ids) - 1) // N
    x = ids[:N * Ls].reshape(N, Ls)                   # (N, Ls)
    y = ids[1:N * Ls + 1].reshape(N, Ls)              # (N, Ls)
    return x, y


@torch.no_grad()
def char_lm_bits(model: nn.Module, x: torch.Tensor, y: torch.Tensor
                 ) -> float:
    """Mean cross-entropy of ``model(x)`` against ``y`` in bits per
    character (each stream read from a zero state)."""
    was_training = model.training
    model.eval()
    logits, _ = model(x)                              # (N, T, V)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       y.reshape(-1))
    model.train(was_training)
    return loss.item() / math.log(2)


def train_char_lm(model: nn.Module, train_ids: np.ndarray,
                  x_val: torch.Tensor, y_val: torch.Tensor,
                  steps: int = 700, N: int = 32, T: int = 64,
                  lr_max: float = 0.02, clip: float = 1.0,
                  eval_every: int = 100, progress: bool = True
                  ) -> dict[str, np.ndarray]:
    """Train a character model with truncated BPTT (lesson 3).

    The training text is cut into ``N`` streams (:func:`stream_batches`)
    read side by side in chunks of ``T`` characters. The state is
    carried from one chunk to the next and the graph is cut
    (``detach``); a new pass through the text starts from a zero state.
    Each update: the softmax cross-entropy of every step of the chunk,
    backward, the gradient norm clipped at ``clip``, one Adam step. The
    learning rate follows ``OneCycleLR``: it rises to ``lr_max`` over the
    first 10% of the steps, then decays to near 0.

    Parameters
    ----------
    model : CharLM
        ``model(x (N, T), state) -> (logits (N, T, V), state)``.
    train_ids : ndarray of int, shape (L,)
    x_val, y_val : LongTensor, shape (S, L_v)
        Validation streams, scored every ``eval_every`` updates.

    Returns
    -------
    dict
        ``seconds``: CPU seconds of training (evaluation excluded) at
        each evaluation, starting with 0; ``val_bits``: the validation
        bits per character there; ``train_bits``: the loss of every
        update in bits per character.
    """
    x_train, y_train = stream_batches(train_ids, N)   # (N, L_s)
    n_chunks = x_train.shape[1] // T
    opt = torch.optim.Adam(model.parameters(), lr=lr_max)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr_max, total_steps=steps, pct_start=0.1)
    seconds, val_bits = [0.0], [char_lm_bits(model, x_val, y_val)]
    train_bits, clock, state = [], 0.0, None
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="training the character model")
    model.train()
    for step in bar:
        start = time.process_time()
        c = step % n_chunks
        if c == 0:
            state = None                              # a new pass
        x = x_train[:, c * T:(c + 1) * T]             # (N, T)
        y = y_train[:, c * T:(c + 1) * T]             # (N, T)
        logits, state = model(x, state)               # (N, T, V)
        state = tuple(s.detach() for s in state) if isinstance(
            state, tuple) else state.detach()         # carry, cut
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        clipped_update(opt, loss, model.parameters(), clip)
        schedule.step()
        clock += time.process_time() - start
        train_bits.append(loss.item() / math.log(2))
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            seconds.append(clock)
            val_bits.append(char_lm_bits(model, x_val, y_val))
    model.eval()
    return {"seconds": np.array(seconds), "val_bits": np.array(val_bits),
            "train_bits": np.array(train_bits)}


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Share of samples whose largest score is the label."""
    model.eval()
    return (model(X).argmax(-1) == y).float().mean().item()


def last_real_scores(model: nn.Module, x: torch.Tensor,
                     lengths: torch.Tensor) -> torch.Tensor:
    """Scores of a many-to-one model from each sequence's last real
    state.

    ``x (N, T, D)`` is a padded batch whose sequence ``n`` has
    ``lengths[n]`` real steps (then padding); ``model`` has an ``rnn``
    (one direction) and a ``head``, like
    :class:`helpers.support.models.SequenceClassifier`. PyTorch's
    ``pack_padded_sequence`` makes the RNN skip the padding, so its final
    state is the state at each sequence's last real step.
    """
    packed = nn.utils.rnn.pack_padded_sequence(
        x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    _, state = model.rnn(packed)
    h_n = state[0] if isinstance(state, tuple) else state
    return model.head(h_n[-1])                        # (N, K)


def _fit(model, n, loss_of, epochs, batch_size, lr, seed, desc,
         progress):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(n / batch_size)
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc=desc, leave=False)
    losses, order = [], None
    model.train()
    for step in bar:
        start = (step * batch_size) % n
        if start < batch_size:                        # a new epoch
            order = torch.randperm(n, generator=gen)
        loss = loss_of(order[start:start + batch_size], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return np.array(losses)


def train_classifier(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                     epochs: int = 20, batch_size: int = 64,
                     lr: float = 1e-2, seed: int = 0,
                     cut: bool = False, progress: bool = True,
                     desc: str = "training") -> np.ndarray:
    """Fit ``model (N, T, D) -> scores (N, K)`` to labels ``y (N,)`` with
    the cross-entropy and Adam; returns the loss of every step.

    With ``cut=True`` half of the sequences of every batch are cut after
    a random number of steps (1 to T - 1) and padded, and the scores are
    read from each sequence's last real state (:func:`last_real_scores`):
    the model learns to answer from the beginning of a sequence too.
    """
    T = X.shape[1]

    def loss_of(idx, gen):
        if not cut:
            return nn.functional.cross_entropy(model(X[idx]), y[idx])
        lengths = torch.randint(1, T, (len(idx),), generator=gen)
        full = torch.rand(len(idx), generator=gen) < 0.5
        lengths = torch.where(full, torch.full_like(lengths, T), lengths)
        return nn.functional.cross_entropy(
            last_real_scores(model, X[idx], lengths), y[idx])

    return _fit(model, X.shape[0], loss_of, epochs, batch_size, lr, seed,
                desc, progress)


def train_regressor(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                    epochs: int = 200, batch_size: int = 32,
                    lr: float = 1e-2, seed: int = 0,
                    progress: bool = True, desc: str = "training"
                    ) -> np.ndarray:
    """Fit ``model (N, T, D) -> (N, K)`` to targets ``y (N, K)`` with the
    mean squared error and Adam; returns the loss of every step."""
    return _fit(model, X.shape[0], lambda idx, gen: nn.functional.mse_loss(
        model(X[idx]), y[idx]), epochs, batch_size, lr, seed, desc, progress)
