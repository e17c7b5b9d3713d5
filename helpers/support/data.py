"""Data sets for the lessons, all offline.

Dimension letters: N samples, T time steps, D features per step.
Every loader returns numpy arrays laid out as ``(N, T, D)`` (or integer
token arrays ``(N, T)``) and nothing here touches the network:

* a real **character corpus** for language modelling
  (:func:`load_char_corpus`, Shakespeare's *Hamlet*, shipped in
  ``helpers/support/datasets/``) with a character vocabulary
  (:class:`CharVocab`) and next-character windows
  (:func:`char_lm_windows`);
* a real **time series**, the yearly sunspot numbers 1700-2008
  (:func:`load_sunspots`, shipped in ``helpers/support/datasets/``), with a
  windowing helper for forecasting (:func:`make_forecast_windows`);
* a real **many-to-one classification** set: scikit-learn's 8x8 digits
  read row by row as sequences of 8 steps of 8 pixels
  (:func:`load_digits_sequences`) and a seeded split
  (:func:`train_test_split`);
* synthetic **long-range tasks** with a length parameter and a seed:
  the adding problem (Hochreiter and Schmidhuber, 1997), the copy task
  (Arjovsky, Shah and Bengio, 2016) and parity.

Sources and licences of the shipped files:
``helpers/support/datasets/README.md``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

__all__ = [
    "load_char_corpus", "CharVocab", "build_char_vocab", "char_lm_windows",
    "load_sunspots", "make_forecast_windows",
    "load_digits_sequences", "train_test_split",
    "adding_problem", "copy_task", "parity_task",
]


def _read_text(name: str) -> str:
    """Text of a file in ``helpers/support/datasets`` (also installed)."""
    path = resources.files("helpers.support") / "datasets" / name
    return path.read_text(encoding="utf-8")


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ValueError(
            f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ------------------------------------------------------ character corpus

def load_char_corpus() -> str:
    """Shakespeare's *Hamlet* as one string (173,942 characters).

    Plain ASCII text from Project Gutenberg (public domain), with
    ``\\n`` line endings and 65 distinct characters: enough for a
    character-level language model to learn spelling, words and the
    layout of a play on a CPU in minutes (lesson 8).

    Returns
    -------
    str
    """
    return _read_text("hamlet.txt")


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: token id ``i`` is the character
    ``chars[i]``.

    Parameters
    ----------
    chars : tuple of str
        Distinct single characters, in id order.
    """

    chars: tuple[str, ...]
    stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chars = tuple(self.chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("chars must be single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("chars must not repeat")
        object.__setattr__(self, "chars", chars)
        object.__setattr__(self, "stoi",
                           {c: i for i, c in enumerate(chars)})

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, an int64 array of shape ``(len(text),)``.
        """
        try:
            return np.array([self.stoi[c] for c in text], dtype=np.int64)
        except KeyError as err:
            raise KeyError(
                f"character {err.args[0]!r} is not in the vocabulary "
                f"of {len(self)} characters") from None

    def decode(self, ids) -> str:
        """The text of a sequence of token ids."""
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(
                f"ids must lie in [0, {len(self)}); got values from "
                f"{int(ids.min())} to {int(ids.max())}")
        return "".join(self.chars[int(i)] for i in ids.reshape(-1))


def build_char_vocab(text: str) -> CharVocab:
    """The vocabulary of the distinct characters of ``text``, sorted."""
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty string")
    return CharVocab(tuple(sorted(set(text))))


def char_lm_windows(ids: np.ndarray, T: int, stride: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Cut a token sequence into next-token prediction examples.

    Window ``n`` starts at ``s = n * stride``; its input is
    ``ids[s : s + T]`` and its target the same window moved one step on,
    ``ids[s + 1 : s + T + 1]``: at every step the model predicts the
    next character (a many-to-many task).

    Parameters
    ----------
    ids : ndarray of int, shape (L,)
        Token ids, e.g. ``vocab.encode(text)``.
    T : int
        Window length, 1 <= T <= L - 1.
    stride : int, optional
        Step between window starts; default ``T`` (no overlap).

    Returns
    -------
    x : ndarray of int64, shape (N, T)
    y : ndarray of int64, shape (N, T)
        ``N = (L - 1 - T) // stride + 1``.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"ids must be a 1-d integer array, got shape {ids.shape} and "
            f"dtype {ids.dtype}")
    T = _check_positive_int("T", T)
    stride = T if stride is None else _check_positive_int("stride", stride)
    L = ids.shape[0]
    if T > L - 1:
        raise ValueError(
            f"T = {T} is too long for a sequence of {L} tokens; "
            f"need T <= L - 1 = {L - 1}")
    starts = np.arange(0, L - T, stride)              # (N,)
    offsets = np.arange(T)                            # (T,)
    x = ids[starts[:, None] + offsets].astype(np.int64)       # (N, T)
    y = ids[starts[:, None] + offsets + 1].astype(np.int64)   # (N, T)
    return x, y


# ------------------------------------------------------------ sunspots

def load_sunspots(dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot numbers, 1700-2008 (309 years).

    The classic series (NOAA's National Geophysical Data Center, public
    domain, as shipped with statsmodels). It shows the roughly 11-year
    solar cycle with peaks of very different heights.

    Parameters
    ----------
    dtype : numpy float dtype of the values

    Returns
    -------
    years : ndarray of int64, shape (309,)
        1700, 1701, ..., 2008.
    values : ndarray, shape (309,)
        Sunspot numbers, >= 0.
    """
    rows = list(csv.reader(io.StringIO(_read_text("sunspots_yearly.csv"))))
    header, body = rows[0], [r for r in rows[1:] if r]
    if header != ["YEAR", "SUNACTIVITY"]:
        raise ValueError(f"unexpected header {header} in "
                         "sunspots_yearly.csv")
    years = np.array([int(float(r[0])) for r in body], dtype=np.int64)
    values = np.array([float(r[1]) for r in body], dtype=dtype)
    return years, values


def make_forecast_windows(series: np.ndarray, T: int, horizon: int = 1
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows for forecasting ``horizon`` steps ahead.

    Example ``n`` sees ``series[n : n + T]`` and must predict
    ``series[n + T + horizon - 1]`` (many-to-one).

    Parameters
    ----------
    series : ndarray, shape (L,) or (L, D)
        A 1-d series is treated as ``D = 1``.
    T : int
        Window length, >= 1.
    horizon : int
        How many steps after the window the target lies, >= 1.

    Returns
    -------
    X : ndarray, shape (N, T, D)
    y : ndarray, shape (N, D)
        ``N = L - T - horizon + 1``; same dtype as ``series``.
    """
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]                      # (L, 1)
    if series.ndim != 2:
        raise ValueError(
            f"series must have shape (L,) or (L, D), got {series.shape}")
    T = _check_positive_int("T", T)
    horizon = _check_positive_int("horizon", horizon)
    L = series.shape[0]
    N = L - T - horizon + 1
    if N < 1:
        raise ValueError(
            f"a series of length L = {L} is too short for T = {T} and "
            f"horizon = {horizon}; need L >= T + horizon = "
            f"{T + horizon}")
    idx = np.arange(N)[:, None] + np.arange(T)       # (N, T)
    X = series[idx]                                   # (N, T, D)
    y = series[np.arange(N) + T + horizon - 1]        # (N, D)
    return X, y


# -------------------------------------------------------------- digits

def load_digits_sequences(dtype=np.float64
                          ) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits as sequences of pixel rows.

    Each image is read top to bottom, one row of 8 pixels per time step,
    so an RNN sees ``T = 8`` steps of ``D = 8`` features and must name
    the digit at the end (many-to-one). Pixel values 0..16 are divided by
    16. The file ships inside scikit-learn; nothing is downloaded.

    Returns
    -------
    X : ndarray, shape (1797, 8, 8)
        Values in [0, 1].
    y : ndarray of int64, shape (1797,)
        Digit labels 0..9.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(dtype)          # (N, 8, 8)
    y = digits.target.astype(np.int64)                # (N,)
    return X, y


def train_test_split(X: np.ndarray, y: np.ndarray,
                     test_fraction: float = 0.25, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                np.ndarray]:
    """Shuffle with a seed, then split off a test set.

    Parameters
    ----------
    X : ndarray, shape (N, ...)
    y : ndarray, shape (N, ...)
    test_fraction : float
        Share of the samples in the test set, in (0, 1); the test set has
        ``round(test_fraction * N)`` samples, at least 1 and at most
        ``N - 1``.
    seed : int
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    N = X.shape[0]
    if N < 2:
        raise ValueError(f"need at least 2 samples to split, got {N}")
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = min(max(int(round(test_fraction * N)), 1), N - 1)
    perm = np.random.default_rng(seed).permutation(N)
    test, train = perm[:n_test], perm[n_test:]
    return X[train], X[test], y[train], y[test]


# --------------------------------------------- synthetic long-range tasks

def adding_problem(N: int, T: int, seed: int, dtype=np.float64
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter and Schmidhuber, 1997).

    Each step carries two features: a random number in [0, 1) and a
    marker that is 1 at exactly two steps, one in the first half of the
    sequence and one in the second half, and 0 elsewhere. The target is
    the sum of the two marked numbers. Predicting 1 (the mean) gives a
    mean squared error of about 1/6; beating it needs a memory that
    spans up to ``T`` steps.

    Parameters
    ----------
    N : int
        Number of sequences, >= 1.
    T : int
        Sequence length, >= 2.
    seed : int
        Seed of ``numpy.random.default_rng``.
    dtype : numpy float dtype

    Returns
    -------
    X : ndarray, shape (N, T, 2)
        ``X[..., 0]`` the numbers, ``X[..., 1]`` the markers.
    y : ndarray, shape (N, 1)
        Sum of the two marked numbers.
    """
    N = _check_positive_int("N", N)
    T = _check_positive_int("T", T, minimum=2)
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(N, T))       # (N, T)
    half = T // 2
    first = rng.integers(0, half, size=N)             # (N,)
    second = rng.integers(half, T, size=N)            # (N,)
    markers = np.zeros((N, T))
    rows = np.arange(N)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1)          # (N, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]   # (N, 1)
    return X.astype(dtype), y.astype(dtype)


def copy_task(N: int, T: int, seed: int, n_copy: int = 10,
              n_symbols: int = 8, dtype=np.float64
              ) -> tuple[np.ndarray, np.ndarray]:
    """The copy (memory) task of Arjovsky, Shah and Bengio (2016).

    Tokens: 0 is the blank, ``1..n_symbols`` are symbols and
    ``n_symbols + 1`` is the delimiter. A sequence of length
    ``L = T + 2 * n_copy`` shows ``n_copy`` random symbols, then
    ``T - 1`` blanks, then the delimiter, then ``n_copy`` blanks. The
    target is blank for the first ``T + n_copy`` steps and then repeats
    the ``n_copy`` symbols: the network must hold them for ``T`` steps.
    Always answering blank, and then guessing symbols at random, gives a
    cross-entropy of ``n_copy * log(n_symbols) / L`` per step.

    Parameters
    ----------
    N : int
        Number of sequences, >= 1.
    T : int
        Delay between the end of the symbols and the start of the answer
        (the "length" of the task), >= 1.
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_copy : int
        Number of symbols to remember, >= 1.
    n_symbols : int
        Size of the symbol alphabet, >= 1.
    dtype : numpy float dtype of the one-hot inputs

    Returns
    -------
    X : ndarray, shape (N, L, n_symbols + 2)
        One-hot inputs; ``X.argmax(-1)`` gives the token ids.
    y : ndarray of int64, shape (N, L)
        Target token per step, in ``[0, n_symbols]``.
    """
    N = _check_positive_int("N", N)
    T = _check_positive_int("T", T)
    n_copy = _check_positive_int("n_copy", n_copy)
    n_symbols = _check_positive_int("n_symbols", n_symbols)
    rng = np.random.default_rng(seed)
    L = T + 2 * n_copy
    symbols = rng.integers(1, n_symbols + 1, size=(N, n_copy))  # (N, S)
    tokens = np.zeros((N, L), dtype=np.int64)         # (N, L)
    tokens[:, :n_copy] = symbols
    tokens[:, n_copy + T - 1] = n_symbols + 1         # the delimiter
    y = np.zeros((N, L), dtype=np.int64)              # (N, L)
    y[:, T + n_copy:] = symbols
    X = np.eye(n_symbols + 2, dtype=dtype)[tokens]    # (N, L, n_symbols+2)
    return X, y


def parity_task(N: int, T: int, seed: int, per_step: bool = False,
                dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Parity of a random bit string.

    Each step shows one bit; the target is 1 if the number of ones seen
    is odd. The answer depends on every bit, so no shortcut through a
    few steps exists; ``per_step=True`` asks for the running parity at
    every step (many-to-many, much easier to learn).

    Parameters
    ----------
    N : int
        Number of sequences, >= 1.
    T : int
        Sequence length, >= 1.
    seed : int
        Seed of ``numpy.random.default_rng``.
    per_step : bool
        Return the parity after every step instead of only at the end.
    dtype : numpy float dtype of the inputs

    Returns
    -------
    X : ndarray, shape (N, T, 1)
        Bits, 0.0 or 1.0.
    y : ndarray of int64, shape (N,) or, with ``per_step``, (N, T)
        Parity, 0 or 1.
    """
    N = _check_positive_int("N", N)
    T = _check_positive_int("T", T)
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(N, T))            # (N, T)
    running = np.cumsum(bits, axis=1) % 2             # (N, T)
    y = running if per_step else running[:, -1]
    return bits[..., None].astype(dtype), y.astype(np.int64)
