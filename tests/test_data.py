"""Tests for helpers/support/data.py: offline loaders and synthetic tasks."""

from __future__ import annotations

import hashlib
import socket
from importlib import resources

import numpy as np
import pytest

from helpers.support import data
from helpers.support.data import (CharVocab, adding_problem, build_char_vocab,
                          char_lm_windows, copy_task, load_char_corpus,
                          load_digits_sequences, load_sunspots,
                          make_forecast_windows, parity_task,
                          train_test_split)

SHA256 = {
    "hamlet.txt":
        "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a",
    "sunspots_yearly.csv":
        "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b",
}


@pytest.fixture
def no_network(monkeypatch):
    """Make every attempt to open a connection fail loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError("a data loader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# ------------------------------------------------------- shipped files

@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_files_are_unchanged_and_documented(name):
    path = resources.files("helpers.support") / "datasets" / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[name]
    readme = (resources.files("helpers.support") / "datasets" /
              "README.md").read_text(encoding="utf-8")
    assert name in readme and SHA256[name] in readme
    assert "public domain" in readme.lower()


def test_loaders_do_not_touch_the_network(no_network):
    assert len(load_char_corpus()) > 100_000
    assert load_sunspots()[1].shape == (309,)
    assert load_digits_sequences()[0].shape == (1797, 8, 8)
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("localhost", 9))   # the guard works


# ---------------------------------------------------- character corpus

def test_char_corpus_is_real_text():
    text = load_char_corpus()
    assert isinstance(text, str)
    assert len(text) == 173_942
    assert text.startswith("HAMLET, PRINCE OF DENMARK")
    assert "To be, or not to be" in text
    assert "\r" not in text and text.isascii()
    assert len(set(text)) == 65


def test_char_vocab_round_trip():
    text = load_char_corpus()
    vocab = build_char_vocab(text)
    assert len(vocab) == 65
    assert list(vocab.chars) == sorted(vocab.chars)
    ids = vocab.encode(text[:5000])
    assert ids.dtype == np.int64 and ids.shape == (5000,)
    assert ids.min() >= 0 and ids.max() < len(vocab)
    assert vocab.decode(ids) == text[:5000]
    assert vocab.decode(ids.reshape(50, 100)) == text[:5000]
    assert vocab.stoi["\n"] == 0 and vocab.chars[vocab.stoi["z"]] == "z"


def test_char_vocab_errors():
    vocab = build_char_vocab("abc")
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        vocab.encode("abz")
    with pytest.raises(IndexError, match=r"ids must lie in \[0, 3\)"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match="must not repeat"):
        CharVocab(("a", "a"))
    with pytest.raises(ValueError, match="non-empty string"):
        build_char_vocab("")


def test_char_lm_windows_targets_are_the_next_character():
    ids = np.arange(23)
    x, y = char_lm_windows(ids, T=5)
    assert x.shape == y.shape == (4, 5) and x.dtype == np.int64
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x[:, 0], [0, 5, 10, 15])
    x2, y2 = char_lm_windows(ids, T=5, stride=2)
    assert x2.shape == ((23 - 1 - 5) // 2 + 1, 5)
    np.testing.assert_array_equal(y2[-1], ids[x2[-1, 0] + 1:][:5])
    assert y2.max() <= 22
    with pytest.raises(ValueError, match="T = 23 is too long"):
        char_lm_windows(ids, T=23)
    with pytest.raises(ValueError, match="1-d integer array"):
        char_lm_windows(np.zeros(5), T=2)


# ------------------------------------------------------------ sunspots

def test_sunspots():
    years, values = load_sunspots()
    assert years.dtype == np.int64 and values.dtype == np.float64
    assert years.shape == values.shape == (309,)
    np.testing.assert_array_equal(years, np.arange(1700, 2009))
    assert values[0] == 5.0 and values[-1] == 2.9
    assert values.min() >= 0 and values.max() == pytest.approx(190.2)
    # The solar cycle: the strongest period of the spectrum lies near
    # 11 years.
    v = values - values.mean()
    power = np.abs(np.fft.rfft(v)) ** 2
    freqs = np.fft.rfftfreq(len(v))
    period = 1 / freqs[1:][np.argmax(power[1:])]
    assert 9 < period < 12
    assert load_sunspots(np.float32)[1].dtype == np.float32


def test_forecast_windows():
    series = np.arange(10.0)
    X, y = make_forecast_windows(series, T=3)
    assert X.shape == (7, 3, 1) and y.shape == (7, 1)
    np.testing.assert_array_equal(X[2, :, 0], [2, 3, 4])
    np.testing.assert_array_equal(y[:, 0], np.arange(3, 10))
    X, y = make_forecast_windows(series, T=3, horizon=2)
    assert X.shape == (6, 3, 1)
    np.testing.assert_array_equal(y[:, 0], np.arange(4, 10))
    multi = np.stack([series, -series], axis=1)       # (L, 2)
    X, y = make_forecast_windows(multi, T=4)
    assert X.shape == (6, 4, 2) and y.shape == (6, 2)
    np.testing.assert_array_equal(y[0], [4, -4])
    _, values = load_sunspots()
    X, y = make_forecast_windows(values, T=20)
    assert X.shape == (289, 20, 1) and X.dtype == np.float64
    with pytest.raises(ValueError, match="too short for T = 8 and "
                                         "horizon = 3"):
        make_forecast_windows(series, T=8, horizon=3)
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        make_forecast_windows(series, T=0)


# -------------------------------------------------------------- digits

def test_digits_sequences():
    from sklearn.datasets import load_digits
    X, y = load_digits_sequences()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    # Row t of image n is time step t.
    images = load_digits().images
    np.testing.assert_array_equal(X[5, 3], images[5, 3] / 16)
    assert load_digits_sequences(np.float32)[0].dtype == np.float32


def test_train_test_split_is_seeded_and_disjoint():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    Xtr, Xte, ytr, yte = train_test_split(X, y, 0.25, seed=3)
    assert len(Xte) == 5 and len(Xtr) == 15
    np.testing.assert_array_equal(Xtr[:, 0] // 2, ytr)   # rows stay paired
    assert sorted(np.concatenate([ytr, yte])) == list(range(20))
    again = train_test_split(X, y, 0.25, seed=3)
    np.testing.assert_array_equal(again[3], yte)
    other = train_test_split(X, y, 0.25, seed=4)
    assert not np.array_equal(other[3], yte)
    with pytest.raises(ValueError, match="X has 20 samples but y has 19"):
        train_test_split(X, y[:19])
    with pytest.raises(ValueError, match=r"test_fraction must be in"):
        train_test_split(X, y, 1.0)


# --------------------------------------------------- synthetic tasks

def test_adding_problem_targets():
    X, y = adding_problem(200, 30, seed=0)
    assert X.shape == (200, 30, 2) and y.shape == (200, 1)
    assert X.dtype == y.dtype == np.float64
    markers = X[..., 1]
    assert np.all(markers.sum(1) == 2)
    assert np.all(markers[:, :15].sum(1) == 1)        # one in each half
    assert np.all(markers[:, 15:].sum(1) == 1)
    np.testing.assert_allclose(y[:, 0], (X[..., 0] * markers).sum(1))
    assert X[..., 0].min() >= 0 and X[..., 0].max() < 1
    # Predicting the mean, 1, costs about 1/6 (variance of a sum of two
    # uniforms).
    assert np.mean((y - 1) ** 2) == pytest.approx(1 / 6, abs=0.04)


def test_synthetic_tasks_are_deterministic():
    for make in (adding_problem, copy_task, parity_task):
        a = make(8, 12, seed=5)
        b = make(8, 12, seed=5)
        c = make(8, 12, seed=6)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
        assert not np.array_equal(a[0], c[0]), make.__name__


def test_copy_task_structure():
    T, S, n_sym = 7, 4, 5
    X, y = copy_task(10, T, seed=1, n_copy=S, n_symbols=n_sym,
                     dtype=np.float32)
    L = T + 2 * S
    assert X.shape == (10, L, n_sym + 2) and X.dtype == np.float32
    assert y.shape == (10, L) and y.dtype == np.int64
    tokens = X.argmax(-1)
    np.testing.assert_array_equal(X.sum(-1), 1)       # one-hot
    symbols = tokens[:, :S]
    assert symbols.min() >= 1 and symbols.max() <= n_sym
    assert np.all(tokens[:, S:S + T - 1] == 0)        # blanks
    assert np.all(tokens[:, S + T - 1] == n_sym + 1)  # delimiter
    assert np.all(tokens[:, S + T:] == 0)
    assert np.all(y[:, :T + S] == 0)
    np.testing.assert_array_equal(y[:, T + S:], symbols)   # the copy


def test_parity_task_targets():
    X, y = parity_task(50, 9, seed=2)
    assert X.shape == (50, 9, 1) and y.shape == (50,)
    assert set(np.unique(X)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, X[..., 0].sum(1).astype(int) % 2)
    X2, y2 = parity_task(50, 9, seed=2, per_step=True)
    assert y2.shape == (50, 9)
    np.testing.assert_array_equal(y2[:, -1], y)
    np.testing.assert_array_equal(
        y2, np.cumsum(X2[..., 0], axis=1).astype(int) % 2)


def test_synthetic_task_errors():
    with pytest.raises(ValueError, match="T must be an integer >= 2"):
        adding_problem(4, 1, seed=0)
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        parity_task(0, 5, seed=0)
    with pytest.raises(ValueError, match="n_copy must be an integer"):
        copy_task(4, 5, seed=0, n_copy=0)


def test_module_lists_its_public_names():
    for name in data.__all__:
        assert callable(getattr(data, name))
