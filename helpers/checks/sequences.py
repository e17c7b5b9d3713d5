"""Checks for lesson 1, "Sequences and the limits of feedforward nets".

Each check takes the student's function, runs it on inputs from
:func:`helpers.checks.make_rng` and compares with the reference in
:mod:`helpers.support.sequences`. The visible checks (``hidden=False``) use fixed
inputs and test one requirement at a time, so the first failure names the
requirement; the hidden checks (``hidden=True``) repeat them on fresh
random sizes and values.
"""

from __future__ import annotations

import copy
import string
from itertools import permutations
from typing import Callable

import numpy as np

from helpers.support import sequences as ref
from helpers.checks import (call_student, expect_close, expect_shape,
                            expect_true, make_rng, passed, run_student)

__all__ = ["records_to_array", "bag_of_words", "pad_batch"]


_run = run_student


# ----------------------------------------------------- records_to_array

def _axes_hint(shape: tuple, N: int, T: int, D: int) -> str:
    """Name the axis order of a wrongly shaped result, if it is one."""
    sizes = {"N": N, "T": T, "D": D}
    if len(set(sizes.values())) < 3 or len(shape) != 3:
        return ""
    for order in permutations("NTD"):
        if tuple(sizes[a] for a in order) == tuple(shape):
            return (f"Your axes are ({', '.join(order)}); the course "
                    f"layout is (N, T, D): samples first, then time steps, "
                    f"then features.")
    return ""


def _records_case(rng, N, T, features, shuffle):
    x = np.round(rng.normal(10.0, 5.0, (N, T, len(features))), 2)
    records = []
    for n in range(N):
        for t in range(T):
            r = {"station": n, "day": t}
            r.update({f: float(x[n, t, d]) for d, f in enumerate(features)})
            records.append(r)
    if shuffle:
        records = [records[i] for i in rng.permutation(len(records))]
    return records


def _check_records(fn, records, features, situation):
    expected = ref.records_to_array(records, features)
    N, T, D = expected.shape
    got = _run(fn, "records_to_array", copy.deepcopy(records),
               tuple(features))
    expect_true(isinstance(got, np.ndarray),
                f"records_to_array should return a numpy array, got "
                f"{type(got).__name__}.")
    if got.shape != expected.shape:
        hint = _axes_hint(got.shape, N, T, D)
        raise AssertionError(
            f"records_to_array returned shape {got.shape} for {N} stations "
            f"x {T} days x {D} features; expected (N, T, D) = "
            f"{(N, T, D)}. " + (hint or "N is 1 + the largest station, "
                                "T is 1 + the largest day, D is "
                                "len(features)."))
    expect_true(np.issubdtype(got.dtype, np.floating),
                f"records_to_array returned dtype {got.dtype}; the "
                f"measurements are real numbers, so use a float array "
                f"(e.g. np.zeros((N, T, D))).")
    diff = np.abs(got - expected) > 1e-9
    if not diff.any():
        return
    if D > 1:
        for perm in permutations(range(D)):
            if perm != tuple(range(D)) and np.allclose(
                    got, expected[..., list(perm)]):
                raise AssertionError(
                    f"records_to_array has the right numbers in the wrong "
                    f"feature order ({situation}): x[n, t, d] must hold "
                    f"record[features[d]], in the order of `features` = "
                    f"{tuple(features)}, not the order of the keys in "
                    f"the records.")
    n, t = np.argwhere(diff.any(axis=2))[0]
    raise AssertionError(
        f"records_to_array is wrong {situation}: x[{n}, {t}] is "
        f"{np.round(got[n, t], 3).tolist()} but the record with station "
        f"{n} and day {t} holds {expected[n, t].tolist()}. Put each "
        f"record at x[record['station'], record['day']], whatever its "
        f"position in the list.")


def records_to_array(fn: Callable, hidden: bool = False) -> None:
    """Check ``records_to_array(records, features) -> x (N, T, D)``."""
    rng = make_rng(hidden, seed=1)
    if not hidden:
        feats = ref.WEATHER_FEATURES
        _check_records(fn, ref.weather_records(shuffle=False), feats,
                       "for records sorted by station and day")
        _check_records(fn, ref.weather_records(seed=3, shuffle=True),
                       feats, "for records in random order")
        _check_records(fn, ref.weather_records(seed=4, shuffle=True),
                       ("wind_kmh", "temp_c", "humidity"),
                       "when `features` lists the names in another order")
        passed("records_to_array builds the (7, 8, 3) weather array, "
               "from sorted and shuffled records")
        return
    letters = list(string.ascii_lowercase)
    for N, T, D in [(int(rng.integers(2, 7)), int(rng.integers(2, 10)),
                     int(rng.integers(2, 6))), (1, int(rng.integers(3, 6)),
                                                2)]:
        names = ["".join(rng.choice(letters, 6)) for _ in range(D)]
        records = _records_case(rng, N, T, names, shuffle=True)
        asked = [names[i] for i in rng.permutation(D)]
        _check_records(fn, records, asked,
                       f"for {N} stations x {T} days x {D} features")
    passed("records_to_array works on fresh random records")


# ---------------------------------------------------------- bag_of_words

def _check_bag(fn, sentence, vocab, what):
    expected = ref.bag_of_words(sentence, vocab)
    got = _run(fn, "bag_of_words", sentence, list(vocab),
               hint="words that are not in vocab must be skipped")
    if isinstance(got, list):
        got = np.asarray(got)
    got = expect_shape(f"bag_of_words({sentence!r})", got, (len(vocab),),
                       "V")
    if np.allclose(got, expected):
        return
    tokens = sentence.split()
    lower = [w.lower() for w in tokens]
    if np.allclose(got, expected > 0):
        raise AssertionError(
            f"bag_of_words({sentence!r}) marks which words occur but "
            f"does not count them: a word that occurs twice must give 2.")
    if lower != tokens and np.allclose(
            got, [tokens.count(w) for w in vocab]):
        raise AssertionError(
            f"bag_of_words({sentence!r}) misses words written with capital "
            f"letters: lower-case the sentence before counting.")
    order = sorted(range(len(vocab)), key=lambda v: vocab[v])
    if list(order) != list(range(len(vocab))) and np.allclose(
            got, expected[order]):
        raise AssertionError(
            f"bag_of_words({sentence!r}) counts in alphabetical order; "
            f"out[v] must count vocab[v], in the order of the list vocab.")
    v = int(np.argmax(np.abs(got - expected)))
    raise AssertionError(
        f"bag_of_words is wrong for {what} {sentence!r}: the count of "
        f"{vocab[v]!r} (out[{v}]) is {got[v]:g}, expected "
        f"{expected[v]:g}.")


def bag_of_words(fn: Callable, hidden: bool = False) -> None:
    """Check ``bag_of_words(sentence, vocab) -> counts (V,)``."""
    rng = make_rng(hidden, seed=2)
    if not hidden:
        vocab = ["the", "dog", "bites", "man", "good", "bad", "not"]
        _check_bag(fn, "dog bites man", vocab, "the sentence")
        _check_bag(fn, "the dog bites the man", vocab,
                   "a repeated word in")
        _check_bag(fn, "The Dog bites", vocab, "capital letters in")
        _check_bag(fn, "the cat bites the dog", vocab,
                   "an unknown word ('cat') in")
        a = np.asarray(call_student(fn, "bag_of_words", "dog bites man",
                                    vocab))
        b = np.asarray(call_student(fn, "bag_of_words", "man bites dog",
                                    vocab))
        expect_true(np.array_equal(a, b),
                    "'dog bites man' and 'man bites dog' should give the "
                    "same bag of words.")
        passed("bag_of_words counts words and forgets their order: "
               "'dog bites man' == 'man bites dog'")
        return
    letters = list(string.ascii_lowercase)
    words = sorted({"".join(rng.choice(letters, int(rng.integers(2, 6))))
                    for _ in range(40)})
    vocab = [str(w) for w in rng.permutation(words)[:int(rng.integers(
        4, 12))]]
    others = [w for w in words if w not in vocab]
    for _ in range(3):
        pool = vocab + others[:3]
        tokens = [str(w) for w in rng.choice(pool, int(rng.integers(3, 15)))]
        tokens = [w.upper() if rng.random() < 0.2 else w for w in tokens]
        _check_bag(fn, " ".join(tokens), vocab, "the random sentence")
    passed("bag_of_words works on fresh random sentences")


# ------------------------------------------------------------- pad_batch

def _check_pad(fn, seqs, what):
    originals = [s.copy() for s in seqs]
    x_ref, mask_ref = ref.pad_batch(seqs)
    N, T, D = x_ref.shape
    out = _run(fn, "pad_batch", list(seqs))
    expect_true(isinstance(out, tuple) and len(out) == 2,
                "pad_batch should return a pair (x, mask).")
    x, mask = out
    lengths = [len(s) for s in seqs]
    x = expect_shape(f"x ({what})", x, (N, T, D), "N, T, D")
    mask = expect_shape(f"mask ({what})", mask, (N, T), "N, T")
    expect_true(mask.dtype == np.bool_,
                f"mask has dtype {mask.dtype}; use booleans (True for a "
                f"real step, False for padding), e.g. "
                f"np.zeros((N, T), dtype=bool).")
    expect_true(x.dtype == x_ref.dtype,
                f"x has dtype {x.dtype} but the sequences are "
                f"{x_ref.dtype}; keep their dtype (dtype=seqs[0].dtype).")
    for n, s in enumerate(seqs):
        Tn = lengths[n]
        if not np.allclose(x[n, :Tn], s):
            if Tn < T and np.allclose(x[n, T - Tn:], s):
                raise AssertionError(
                    f"sequence {n} ({Tn} steps) is padded at the start; put "
                    f"the real steps first, x[{n}, :{Tn}] = seqs[{n}], and "
                    f"the zeros after them.")
            raise AssertionError(
                f"x[{n}, :{Tn}] should equal seqs[{n}] ({what}).")
        expect_true(np.all(x[n, Tn:] == 0),
                    f"the padding of sequence {n} (x[{n}, {Tn}:]) should be "
                    f"zeros ({what}).")
    if not np.array_equal(mask, mask_ref):
        if np.array_equal(mask, ~mask_ref):
            raise AssertionError(
                "mask is inverted: True must mark the real steps and False "
                "the padding.")
        n = int(np.argwhere((mask != mask_ref).any(axis=1))[0, 0])
        raise AssertionError(
            f"mask[{n}] is {mask[n].tolist()}; sequence {n} has "
            f"{lengths[n]} real steps, so expected "
            f"{mask_ref[n].tolist()}.")
    for n, s in enumerate(seqs):
        expect_true(np.array_equal(s, originals[n]),
                    f"pad_batch changed seqs[{n}]; build a new array "
                    f"instead of writing into the inputs.")


def pad_batch(fn: Callable, hidden: bool = False) -> None:
    """Check ``pad_batch(seqs) -> (x (N, T, D), mask (N, T))``."""
    rng = make_rng(hidden, seed=3)
    if not hidden:
        seqs = [rng.normal(size=(T, 2)) for T in (3, 1, 2)]
        _check_pad(fn, seqs, "lengths 3, 1, 2")
        seqs32 = [rng.normal(size=(T, 3)).astype(np.float32)
                  for T in (2, 4)]
        _check_pad(fn, seqs32, "float32 sequences of lengths 2, 4")
        passed("pad_batch pads at the end and marks the real steps")
        return
    for dtype in (np.float64, np.float32):
        N, D = int(rng.integers(1, 7)), int(rng.integers(1, 5))
        lengths = rng.integers(1, 8, N)
        seqs = [rng.normal(size=(int(T), D)).astype(dtype)
                for T in lengths]
        _check_pad(fn, seqs, f"lengths {lengths.tolist()}")
    T = int(rng.integers(1, 5))
    _check_pad(fn, [rng.normal(size=(T, 2)) for _ in range(3)],
               "equal lengths")
    passed("pad_batch works on fresh random batches")
