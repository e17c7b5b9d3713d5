"""What a recurrent net does with its states: read the last one, or turn
the scores of the next token into a choice (lesson 8).

Dimension letters: N samples, T time steps, H hidden units, K classes,
V vocabulary size.

* :func:`many_to_one_head`: the many-to-one head ``y = W_hy h_last +
  b_y`` on padded batches, where ``h_last`` is the state at each
  sequence's last *real* step (lesson 2's head, with lesson 1's mask).
* :func:`sample_with_temperature`: ``p = softmax(y / tau)`` and one token
  per row drawn from ``p`` by inverting the cumulative distribution at a
  uniform number ``u`` (``tau = 0`` is greedy decoding). Karpathy's
  "The Unreasonable Effectiveness of Recurrent Neural Networks" (2015)
  shows what the temperature does to generated text.
"""

from __future__ import annotations

import numpy as np

__all__ = ["many_to_one_head", "sample_with_temperature"]


def many_to_one_head(h: np.ndarray, mask: np.ndarray, W_hy: np.ndarray,
                     b_y: np.ndarray) -> np.ndarray:
    """Class scores from the state at each sequence's last real step.

    Parameters
    ----------
    h : ndarray, shape (N, T, H)
        Hidden states of an RNN run over a padded batch.
    mask : ndarray of bool, shape (N, T)
        True at real steps, which come first; False at the padding.
        Every row has at least one real step.
    W_hy : ndarray, shape (K, H)
    b_y : ndarray, shape (K,)

    Returns
    -------
    logits : ndarray, shape (N, K)
        ``W_hy h_last + b_y`` with ``h_last[n] = h[n, lengths[n] - 1]``.
    """
    lengths = mask.sum(axis=1)                        # (N,)
    h_last = h[np.arange(h.shape[0]), lengths - 1]    # (N, H)
    return h_last @ W_hy.T + b_y                      # (N, K)


def sample_with_temperature(logits: np.ndarray, tau: float, u: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Draw one token per row from ``softmax(logits / tau)``.

    Parameters
    ----------
    logits : ndarray, shape (N, V)
        Scores ``y_t`` of the next token.
    tau : float
        Temperature, >= 0. Below 1 it sharpens the distribution, above 1
        it flattens it; 0 is the limit tau -> 0: all probability on the
        largest score (the first one if several tie).
    u : ndarray, shape (N,)
        Uniform numbers in [0, 1), e.g. ``rng.random(N)``.

    Returns
    -------
    ids : ndarray of int64, shape (N,)
        ``ids[n]`` is the first ``k`` whose cumulative probability
        ``p[n, 0] + ... + p[n, k]`` exceeds ``u[n]`` (the inverse of the
        cumulative distribution; it picks ``k`` with probability
        ``p[n, k]``).
    p : ndarray, shape (N, V)
        The probabilities, in the dtype of ``logits``.
    """
    if tau == 0:                                      # greedy
        p = np.zeros_like(logits)
        p[np.arange(logits.shape[0]), logits.argmax(axis=1)] = 1
    else:
        z = logits / tau
        z = z - z.max(axis=1, keepdims=True)          # exp cannot overflow
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)          # (N, V)
    cdf = np.cumsum(p, axis=1)                        # (N, V)
    ids = (cdf <= u[:, None]).sum(axis=1)             # entries <= u
    return np.minimum(ids, logits.shape[1] - 1).astype(np.int64), p
