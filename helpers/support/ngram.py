"""Character n-gram language models: the baselines of lesson 8.

An n-gram model predicts the next character from the ``n - 1``
characters before it, by counting. Order 1 is the unigram model (the
frequency of each character, no context), order 2 the bigram model (one
character of context), and so on. Counts alone give probability 0 to
anything not seen in training, and with a long context most contexts are
rare, so the counts must be *smoothed*.

:class:`NGramLM` uses interpolated Kneser-Ney smoothing (Kneser and Ney,
1995; in the interpolated form of Chen and Goodman, 1999, "An empirical
study of smoothing techniques for language modeling"), the standard
strong baseline. For a context ``u`` of ``k`` characters and the next
character ``w``::

    P_k(w | u) = max(c(u w) - d_k, 0) / c(u .)
                 + d_k * n(u .) / c(u .) * P_{k-1}(w | u')

where ``u'`` is ``u`` without its first character, ``c(u .)`` the count
of ``u`` followed by anything and ``n(u .)`` the number of distinct
characters seen after ``u``; ``d_k`` (between 0 and 1) is subtracted
from every seen count and given to the shorter context. At the highest
order ``c`` counts occurrences; at the lower orders it counts *distinct
left neighbours* (a lower order is only asked when the longer context
was rare, so what matters is in how many contexts a character appears,
not how often). Order 0 is the uniform distribution over the ``V``
characters, so no probability is ever 0. A context never seen in
training passes all its weight to the shorter one. The discounts are
Ney's estimate ``d = n_1 / (n_1 + 2 n_2)`` from the numbers of counts
equal to 1 and 2.

Dimension letters: L characters of text, V characters in the vocabulary.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

__all__ = ["NGramLM", "bits_per_char"]


def bits_per_char(probs: np.ndarray) -> float:
    """Cross-entropy in bits per character, ``-mean(log2 p)``, of the
    probabilities a model gave to the characters that came."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.size == 0 or (probs <= 0).any() or (probs > 1).any():
        raise ValueError("probs must be non-empty and lie in (0, 1]")
    return float(-np.mean(np.log2(probs)))


class NGramLM:
    """An interpolated Kneser-Ney character model of order ``n``.

    Parameters
    ----------
    ids : ndarray of int, shape (L,)
        The training text as token ids in ``[0, V)``.
    V : int
        Vocabulary size.
    n : int
        Order: 1 unigram, 2 bigram, ... (the context is ``n - 1``
        characters).

    Examples
    --------
    >>> lm = NGramLM(np.array([0, 1, 0, 1, 0, 1]), V=2, n=2)
    >>> lm.prob([0], 1) > 0.9
    True
    """

    def __init__(self, ids: np.ndarray, V: int, n: int) -> None:
        ids = np.asarray(ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError("ids must be a 1-d integer array")
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        if ids.size < n or ids.min() < 0 or ids.max() >= V:
            raise ValueError(f"ids must hold at least n = {n} tokens in "
                             f"[0, V) = [0, {V})")
        self.V, self.n = int(V), int(n)
        seq = tuple(int(i) for i in ids)
        # counts[k][u][w] for contexts u of k characters (a tuple)
        self.counts = [defaultdict(lambda: defaultdict(int))
                       for _ in range(n)]
        top = n - 1
        for j in range(top, len(seq)):                # highest order: c
            self.counts[top][seq[j - top:j]][seq[j]] += 1
        for k in range(top):                          # lower: distinct left
            left = set()                              # neighbours
            for j in range(k + 1, len(seq)):
                left.add(seq[j - k - 1:j + 1])
            for gram in left:
                self.counts[k][gram[1:-1]][gram[-1]] += 1
        self.totals = [{u: sum(c.values()) for u, c in level.items()}
                       for level in self.counts]
        self.discounts = [self._discount(level) for level in self.counts]

    @staticmethod
    def _discount(level) -> float:
        values = [c for row in level.values() for c in row.values()]
        n1 = sum(1 for c in values if c == 1)
        n2 = sum(1 for c in values if c == 2)
        return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5

    def distribution(self, context) -> np.ndarray:
        """``P(. | context)`` over the ``V`` characters, shape ``(V,)``.

        Only the last ``n - 1`` characters of ``context`` are used; a
        shorter context uses the orders it has.
        """
        context = tuple(int(c) for c in context)
        k_max = min(self.n - 1, len(context))
        p = np.full(self.V, 1.0 / self.V)             # order 0: uniform
        for k in range(k_max + 1):
            u = context[len(context) - k:]
            row = self.counts[k].get(u)
            if not row:
                continue                              # unseen: back off
            total, d = self.totals[k][u], self.discounts[k]
            seen = np.zeros(self.V)
            for w, c in row.items():
                seen[w] = max(c - d, 0.0)
            p = seen / total + d * len(row) / total * p
        return p

    def prob(self, context, w: int) -> float:
        """``P(w | context)``."""
        return float(self.distribution(context)[int(w)])

    def probs_of(self, ids: np.ndarray, history=()) -> np.ndarray:
        """The probability of each character of ``ids`` given the ones
        before it (and ``history`` before those), shape ``(len(ids),)``.
        """
        seq = tuple(int(i) for i in history) + tuple(int(i) for i in ids)
        start, k = len(seq) - len(ids), self.n - 1
        cache: dict = {}
        out = np.empty(len(ids))
        for j in range(start, len(seq)):
            u = seq[max(0, j - k):j]
            if u not in cache:
                cache[u] = self.distribution(u)
            out[j - start] = cache[u][seq[j]]
        return out

    def bits_per_char(self, ids: np.ndarray, history=()) -> float:
        """Cross-entropy of ``ids`` in bits per character."""
        return bits_per_char(self.probs_of(ids, history))
