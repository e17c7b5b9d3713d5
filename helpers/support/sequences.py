"""Sequence data and the feedforward baselines of lesson 1.

Dimension letters: N samples, T time steps, D features per step, V words
in a vocabulary, k words in a fixed window, K classes.

Lesson 1 ("Sequences and the limits of feedforward nets") uses this
module for

* small concrete sequences of each kind (text, a time series, DNA, user
  actions, audio, video), all of them ``T`` steps of ``D`` numbers;
* the worked ``(N, T, D)`` example: 7 weather stations x 8 days x 3
  measured features, delivered as unsorted records;
* the reference versions of the lesson's exercises (``records_to_array``,
  ``bag_of_words``, ``pad_batch``), which the graded checks compare with;
* the "grew up in France ... fluent in French" task, its fixed windows
  (:func:`last_window`) and a small :class:`MLP` that shows what a
  feedforward net can and cannot see.

Lesson 2 trains a recurrent net on the same task. Everything is generated
from a seed; nothing is downloaded.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "WEATHER_FEATURES", "weather_records", "records_to_array",
    "example_sequences", "tokenize", "bag_of_words", "one_hot",
    "pad_batch",
    "COUNTRIES", "language_corpus", "build_vocab", "encode",
    "last_window", "MLP",
]

# ------------------------------------------------------------ the records

WEATHER_FEATURES = ("temp_c", "humidity", "wind_kmh")


def weather_records(n_stations: int = 7, n_days: int = 8, seed: int = 0,
                    shuffle: bool = True) -> list[dict]:
    """Daily measurements of some weather stations, one record per row.

    Each record is a dict ``{"station": n, "day": t, "temp_c": ...,
    "humidity": ..., "wind_kmh": ...}`` with ``n`` in ``[0, N)`` and ``t``
    in ``[0, T)``, the way a database or a CSV export delivers them: one
    row per (station, day), in no particular order when ``shuffle``.

    Parameters
    ----------
    n_stations, n_days : int
        N and T.
    seed : int
        Seed of the random numbers.
    shuffle : bool
        Shuffle the rows (the default), or sort them by station and day.

    Returns
    -------
    list of dict
        ``N * T`` records.
    """
    rng = np.random.default_rng(seed)
    base = rng.uniform(4.0, 18.0, n_stations)          # (N,) climate
    trend = rng.normal(0.0, 0.6, n_stations)           # (N,) warming/day
    records = []
    for n in range(n_stations):
        for t in range(n_days):
            temp = base[n] + trend[n] * t + rng.normal(0.0, 1.5)
            humidity = np.clip(0.85 - 0.02 * temp + rng.normal(0, 0.08),
                               0.05, 1.0)
            wind = abs(rng.normal(14.0, 7.0))
            records.append({"station": n, "day": t,
                            "temp_c": round(float(temp), 1),
                            "humidity": round(float(humidity), 2),
                            "wind_kmh": round(float(wind), 1)})
    if shuffle:
        order = rng.permutation(len(records))
        records = [records[i] for i in order]
    return records


def records_to_array(records: Sequence[Mapping], features: Sequence[str]
                     ) -> np.ndarray:
    """Arrange records into an ``(N, T, D)`` array.

    ``x[n, t, d] = r[features[d]]`` for the record ``r`` with
    ``r["station"] == n`` and ``r["day"] == t``. Records may come in any
    order; every (station, day) pair appears exactly once.

    Parameters
    ----------
    records : sequence of dict
        Keys ``"station"`` (int in ``[0, N)``), ``"day"`` (int in
        ``[0, T)``) and one key per name in ``features``.
    features : sequence of str
        The D feature names, in the order of the last axis.

    Returns
    -------
    x : ndarray of float64, shape (N, T, D)
    """
    N = 1 + max(r["station"] for r in records)
    T = 1 + max(r["day"] for r in records)
    x = np.zeros((N, T, len(features)))                     # (N, T, D)
    for r in records:
        # place by the record's own indices: the list order means nothing
        x[r["station"], r["day"]] = [r[f] for f in features]
    return x


# ------------------------------------------------ sequences of every kind

def example_sequences(seed: int = 0) -> dict[str, dict]:
    """One small sequence of each kind, as arrays of ``T`` steps.

    Returns
    -------
    dict
        Keys ``"text"``, ``"time series"``, ``"DNA"``, ``"user actions"``,
        ``"audio"``, ``"video"``. Each value is a dict with ``"raw"`` (what
        the data looks like to a person), ``"x"`` (the numbers a network
        reads, shape ``(T, D)``) and ``"what"`` (one line describing one
        step).
    """
    rng = np.random.default_rng(seed)
    out = {}

    words = "the cat sat on the mat".split()
    vocab = sorted(set(words))
    out["text"] = {
        "raw": words, "vocab": vocab,
        "x": one_hot(np.array([vocab.index(w) for w in words]), len(vocab)),
        "what": "one word, one-hot over a vocabulary of "
                f"{len(vocab)} words"}

    days = np.arange(8)
    temp = 11 + 3 * np.sin(days / 2.0) + rng.normal(0, 0.5, 8)
    out["time series"] = {
        "raw": np.round(temp, 1), "x": temp[:, None],
        "what": "one daily temperature in degrees C"}

    dna = "GATTACAGATC"
    bases = "ACGT"
    out["DNA"] = {
        "raw": dna, "vocab": list(bases),
        "x": one_hot(np.array([bases.index(b) for b in dna]), 4),
        "what": "one base, one-hot over A, C, G, T"}

    actions = ["open app", "search", "view item", "view item",
               "add to cart", "pay"]
    kinds = sorted(set(actions))
    out["user actions"] = {
        "raw": actions, "vocab": kinds,
        "x": one_hot(np.array([kinds.index(a) for a in actions]),
                     len(kinds)),
        "what": f"one click, one-hot over {len(kinds)} kinds of action"}

    rate, f0 = 8000, 440.0                       # samples/s, pitch in Hz
    t = np.arange(160) / rate                    # 20 ms of sound
    wave = np.sin(2 * np.pi * f0 * t) * np.exp(-t / 0.01)
    wave += rng.normal(0, 0.02, t.size)
    out["audio"] = {
        "raw": wave, "x": wave[:, None], "rate": rate,
        "what": f"one microphone sample ({rate} per second)"}

    frames = np.zeros((6, 8, 8))
    for i in range(6):                           # a dot moving diagonally
        frames[i, 1 + i, 1 + i] = 1.0
        frames[i, 1 + i, min(2 + i, 7)] = 0.5
    out["video"] = {
        "raw": frames, "x": frames.reshape(6, 64),
        "what": "one 8 x 8 grey frame, flattened to 64 pixels"}
    return out


# ------------------------------------------------------------- words

def tokenize(sentence: str) -> list[str]:
    """Lower-case a sentence and split it on whitespace."""
    return sentence.lower().split()


def bag_of_words(sentence: str, vocab: Sequence[str]) -> np.ndarray:
    """Count how often each vocabulary word occurs in ``sentence``.

    ``out[v]`` is the number of tokens equal to ``vocab[v]`` after
    :func:`tokenize`; tokens outside the vocabulary are skipped. The
    order of the words is thrown away, which is the point of lesson 1.

    Parameters
    ----------
    sentence : str
        Words separated by spaces.
    vocab : sequence of str
        The V words (lower case).

    Returns
    -------
    counts : ndarray of float64, shape (V,)
    """
    index = {w: v for v, w in enumerate(vocab)}
    counts = np.zeros(len(vocab))                              # (V,)
    for token in tokenize(sentence):
        if token in index:
            counts[index[token]] += 1
    return counts


def one_hot(ids: np.ndarray, V: int, dtype=np.float64) -> np.ndarray:
    """One-hot vectors: ``out[..., v] = 1`` where ``ids == v``.

    ``ids`` of any shape ``S`` gives an array of shape ``S + (V,)``.
    Negative ids (padding) give all-zero vectors.
    """
    ids = np.asarray(ids)
    return (ids[..., None] == np.arange(V)).astype(dtype)


# ------------------------------------------------- variable length

def pad_batch(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of different lengths into one padded batch.

    Sequence ``n`` has ``T_n`` steps; the batch has ``T = max_n T_n``.
    ``x[n, :T_n] = seqs[n]`` and the rest of row ``n`` is zero;
    ``mask[n, t]`` is True exactly for the real steps ``t < T_n``.

    Parameters
    ----------
    seqs : sequence of ndarray, each of shape (T_n, D)
        At least one sequence; all share D and one dtype.

    Returns
    -------
    x : ndarray, shape (N, T, D), the dtype of the sequences
    mask : ndarray of bool, shape (N, T)
    """
    N = len(seqs)
    T = max(len(s) for s in seqs)
    D = seqs[0].shape[1]
    x = np.zeros((N, T, D), dtype=seqs[0].dtype)               # (N, T, D)
    mask = np.zeros((N, T), dtype=bool)                        # (N, T)
    for n, s in enumerate(seqs):
        x[n, :len(s)] = s
        mask[n, :len(s)] = True
    return x, mask


# ------------------------------------ "grew up in France ... French"

COUNTRIES = (("france", "french"), ("spain", "spanish"),
             ("italy", "italian"), ("germany", "german"),
             ("japan", "japanese"))

_PHRASES = ("and then", "we moved", "to a big city", "for work",
            "many years later", "with my family", "after school",
            "i studied music", "at night", "every summer",
            "near the sea", "in a small town", "as a nurse")

_START = "i grew up in".split()
_END = "so i speak fluent".split()


def language_corpus(n: int, n_phrases: tuple[int, int] = (1, 5),
                    seed: int = 0) -> tuple[list[list[str]], np.ndarray]:
    """Sentences whose last word depends on their fifth word.

    Each sentence reads ``i grew up in COUNTRY <filler> so i speak
    fluent`` and its label is the index of the matching language in
    :data:`COUNTRIES` (France -> French). The filler is a random chain of
    ``n_phrases[0] .. n_phrases[1]`` short phrases that carry no
    information, so the only clue sits ``len(sentence) - 4`` words before
    the end.

    Parameters
    ----------
    n : int
        Number of sentences.
    n_phrases : (int, int)
        Least and most filler phrases (inclusive); more phrases put the
        clue further from the end.
    seed : int

    Returns
    -------
    sentences : list of list of str
    labels : ndarray of int64, shape (n,)
        Class ``K`` in ``[0, len(COUNTRIES))``.
    """
    rng = np.random.default_rng(seed)
    sentences, labels = [], []
    for _ in range(n):
        c = int(rng.integers(len(COUNTRIES)))
        filler = []
        for _ in range(int(rng.integers(n_phrases[0], n_phrases[1] + 1))):
            filler += _PHRASES[int(rng.integers(len(_PHRASES)))].split()
        sentences.append(_START + [COUNTRIES[c][0]] + filler + _END)
        labels.append(c)
    return sentences, np.array(labels, dtype=np.int64)


def build_vocab(sentences: Sequence[Sequence[str]]) -> list[str]:
    """Sorted list of the words used, with ``"<pad>"`` at index 0."""
    return ["<pad>"] + sorted({w for s in sentences for w in s})


def encode(sentences: Sequence[Sequence[str]], vocab: Sequence[str]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Token ids, padded at the end with id 0 (``"<pad>"``).

    Returns
    -------
    ids : ndarray of int64, shape (N, T)
        ``T`` is the longest sentence.
    lengths : ndarray of int64, shape (N,)
        The real length of each sentence.
    """
    index = {w: v for v, w in enumerate(vocab)}
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    ids = np.zeros((len(sentences), lengths.max()), dtype=np.int64)
    for n, s in enumerate(sentences):
        ids[n, :len(s)] = [index[w] for w in s]
    return ids, lengths


def last_window(ids: np.ndarray, lengths: np.ndarray, k: int, V: int
                ) -> np.ndarray:
    """The last ``k`` words of each sentence, one-hot, as one flat vector.

    This is all a feedforward net with a window of ``k`` words gets to
    see. Sentences shorter than ``k`` are padded on the left with
    all-zero vectors. Position ``j`` of the window has its own block of
    ``V`` inputs, so the same word at two positions feeds two different
    sets of weights.

    Parameters
    ----------
    ids : ndarray of int, shape (N, T)
    lengths : ndarray of int, shape (N,)
    k : int
        Window length.
    V : int
        Vocabulary size (id 0, the padding, maps to a zero vector).

    Returns
    -------
    X : ndarray of float32, shape (N, k * V)
    """
    N = ids.shape[0]
    window = np.full((N, k), -1, dtype=np.int64)               # (N, k)
    for n in range(N):
        seen = ids[n, max(0, lengths[n] - k):lengths[n]]
        window[n, k - len(seen):] = seen
    window[window == 0] = -1                     # padding: no input
    return one_hot(window, V, np.float32).reshape(N, k * V)


class MLP:
    """A multilayer perceptron on a fixed-size input vector, in numpy.

    ``y = W_2 relu(W_1 v + b_1) + b_2`` with ``v`` of length ``n_in``: the
    input size is fixed when the net is built, by the shape of ``W_1``.
    Trained on the softmax cross-entropy with full-batch Adam
    (:class:`helpers.reference.layers.Adam`), L2 weight decay, seeded.

    Mostly-zero inputs such as one-hot windows are multiplied as sparse
    matrices (``scipy.sparse``, installed with scikit-learn): the same
    numbers, computed only where the input is not zero.

    Parameters
    ----------
    n_in : int
        Length of the input vector (e.g. ``k * V`` or ``T * D``).
    n_out : int
        Number of classes K.
    n_hidden : int
    seed : int
    """

    def __init__(self, n_in: int, n_out: int, n_hidden: int = 32,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        b1, b2 = 1 / np.sqrt(n_in), 1 / np.sqrt(n_hidden)
        self.n_in = n_in
        self.params = {                    # PyTorch's nn.Linear init
            "W_1": rng.uniform(-b1, b1, (n_hidden, n_in)),   # (H, n_in)
            "b_1": rng.uniform(-b1, b1, n_hidden),           # (H,)
            "W_2": rng.uniform(-b2, b2, (n_out, n_hidden)),  # (K, H)
            "b_2": rng.uniform(-b2, b2, n_out),              # (K,)
        }

    @property
    def n_params(self) -> int:
        """Number of trainable numbers."""
        return sum(p.size for p in self.params.values())

    def _inputs(self, X):
        from scipy import sparse
        if sparse.issparse(X):
            X = sparse.csr_matrix(X)
        else:
            X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(
                f"this MLP was built for inputs of length {self.n_in}; "
                f"got an array of shape {X.shape}")
        if isinstance(X, np.ndarray) and np.count_nonzero(X) < X.size / 4:
            X = sparse.csr_matrix(X)
        return X

    def _forward(self, X):
        p = self.params
        a = np.asarray(X @ p["W_1"].T) + p["b_1"]                # (N, H)
        z = np.maximum(a, 0)
        return z @ p["W_2"].T + p["b_2"], a, z                   # (N, K)

    def loss_and_grads(self, X, y: np.ndarray, weight_decay: float = 0.0
                       ) -> tuple[float, dict]:
        """Mean cross-entropy (+ L2 penalty) and its parameter gradients.

        The penalty is ``weight_decay / 2 * sum of squared parameters``,
        whose gradient ``weight_decay * p`` is what ``torch.optim.Adam``
        adds for its ``weight_decay`` argument.
        """
        from helpers.reference.layers import softmax
        X = self._inputs(X)
        y = np.asarray(y)
        N = X.shape[0]
        scores, a, z = self._forward(X)
        prob = softmax(scores)                                   # (N, K)
        loss = -np.mean(np.log(prob[np.arange(N), y] + 1e-300))
        ds = prob
        ds[np.arange(N), y] -= 1
        ds /= N
        p = self.params
        da = (ds @ p["W_2"]) * (a > 0)                           # (N, H)
        grads = {"W_1": np.asarray(X.T @ da).T,                  # (H, n_in)
                 "b_1": da.sum(axis=0),
                 "W_2": ds.T @ z,                                # (K, H)
                 "b_2": ds.sum(axis=0)}
        if weight_decay:
            loss += weight_decay / 2 * sum(np.sum(v * v)
                                           for v in p.values())
            for k in grads:
                grads[k] = grads[k] + weight_decay * p[k]
        return float(loss), grads

    def fit(self, X, y: np.ndarray, steps: int = 200, lr: float = 1e-2,
            weight_decay: float = 1e-4) -> list[float]:
        """Full-batch Adam on the cross-entropy; returns the loss curve."""
        from helpers.reference.layers import Adam
        X = self._inputs(X)
        opt = Adam(self.params, lr=lr)
        losses = []
        for _ in range(steps):
            loss, grads = self.loss_and_grads(X, y, weight_decay)
            opt.step(grads)
            losses.append(loss)
        return losses

    def outputs(self, X) -> np.ndarray:
        """The net's K scores for each row, shape (N, K)."""
        return self._forward(self._inputs(X))[0]

    def predict(self, X) -> np.ndarray:
        """Most likely class of each row, shape (N,)."""
        return self.outputs(X).argmax(axis=1)

    def score(self, X, y: np.ndarray) -> float:
        """Accuracy: the fraction of rows whose class is predicted."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
