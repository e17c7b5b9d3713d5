"""Checks for lesson 1, "Sequences and the limits of feedforward nets",
against :mod:`helpers.support.sequences`."""

from __future__ import annotations

import copy
import string
from itertools import permutations
from typing import Callable

import numpy as np

from helpers.checks import (F32, F64, close, diagnose, expect_dtype,
                            expect_shape, expect_true, make_rng, passed,
                            run_student, same, snapshot)
from helpers.support import sequences as ref

__all__ = ["records_to_array", "bag_of_words", "pad_batch"]
LETTERS = list(string.ascii_lowercase)


# ----------------------------------------------------- records_to_array
def _check_records(fn, records, features, situation):
    expected = ref.records_to_array(records, features)
    N, T, D = expected.shape
    got = run_student(fn, "records_to_array", copy.deepcopy(records),
                      tuple(features))
    expect_true(isinstance(got, np.ndarray), "records_to_array should return "
                f"a numpy array, got {type(got).__name__}.")
    axes = [o for o in permutations("NTD") if len({N, T, D}) == 3 and
            tuple(expected.shape["NTD".index(a)] for a in o) == got.shape]
    hint = (f"Your axes are ({', '.join(axes[0])}); the course layout is "
            f"(N, T, D): samples first, then time steps, then features."
            if axes else "N is 1 + the largest station, T is 1 + the "
            "largest day, D is len(features).")
    expect_true(got.shape == expected.shape, "records_to_array returned "
                f"shape {got.shape} for {N} stations x {T} days x {D} "
                f"features; expected (N, T, D) = {(N, T, D)}. {hint}")
    expect_true(np.issubdtype(got.dtype, np.floating), "records_to_array "
                f"returned dtype {got.dtype}; the measurements are real "
                "numbers, so use a float array (e.g. np.zeros((N, T, D))).")
    if close(got, expected, atol=1e-9, rtol=0):
        return
    expect_true(not any(close(got, expected[..., list(perm)]) for perm in
                        permutations(range(D)) if perm != tuple(range(D))),
                f"records_to_array has the right numbers in the wrong feature "
                f"order ({situation}): x[n, t, d] is record[features[d]], in "
                f"the order of `features` = {tuple(features)}, not of the "
                f"records' keys.")
    n, t = next((n, t) for n in range(N) for t in range(T)
                if not close(got[n, t], expected[n, t], atol=1e-9, rtol=0))
    raise AssertionError(
        f"records_to_array is wrong {situation}: x[{n}, {t}] is "
        f"{np.round(got[n, t], 3).tolist()} but the record with station {n} "
        f"and day {t} holds {expected[n, t].tolist()}: put each record at "
        f"x[record['station'], record['day']], wherever it is in the list.")


def _random_records(rng, N, T, D):
    names = ["".join(rng.choice(LETTERS, 6)) for _ in range(D)]
    x = np.round(rng.normal(10.0, 5.0, (N, T, D)), 2)
    records = [{"station": n, "day": t, **{f: float(x[n, t, d])
                                           for d, f in enumerate(names)}}
               for n in range(N) for t in range(T)]
    return ([records[i] for i in rng.permutation(len(records))],
            [names[i] for i in rng.permutation(D)],
            f"for {N} stations x {T} days x {D} features")


def records_to_array(fn: Callable, hidden: bool = False) -> None:
    """Check ``records_to_array(records, features) -> x (N, T, D)``."""
    rng, feats = make_rng(hidden, seed=1), ref.WEATHER_FEATURES
    cases = (_random_records(rng, *s) for s in [
        rng.integers(2, [7, 10, 6]), (1, int(rng.integers(3, 6)), 2)]) \
        if hidden else [
        (ref.weather_records(shuffle=False), feats,
         "for records sorted by station and day"),
        (ref.weather_records(seed=3, shuffle=True), feats,
         "for records in random order"),
        (ref.weather_records(seed=4, shuffle=True), ("wind_kmh", "temp_c",
         "humidity"), "when `features` lists the names in another order")]
    for case in cases:
        _check_records(fn, *case)
    passed("records_to_array builds the (7, 8, 3) weather array, from "
           "sorted and shuffled records", hidden, "records")


# ---------------------------------------------------------- bag_of_words
def _check_bag(fn, sentence, vocab, what):
    expected = ref.bag_of_words(sentence, vocab)
    got = run_student(fn, "bag_of_words", sentence, list(vocab),
                      hint="words that are not in vocab must be skipped")
    said = f"bag_of_words({sentence!r})"
    got = expect_shape(said, np.asarray(got) if isinstance(got, list)
                       else got, (len(vocab),), "V")
    if close(got, expected):
        return
    order = sorted(range(len(vocab)), key=lambda v: vocab[v])
    v = int(np.argmax(np.abs(got - expected)))
    raise AssertionError(diagnose(got, [
        (expected > 0, f"{said} marks which words occur but does not "
         f"count them: a word that occurs twice must give 2."),
        (np.array([sentence.split().count(w) for w in vocab])
         if sentence.lower() != sentence else None, f"{said} misses words "
         f"in capitals: lower-case the sentence before counting."),
        (expected[order] if order != list(range(len(vocab))) else None,
         f"{said} counts in alphabetical order; out[v] counts vocab[v].")
    ]) or f"bag_of_words is wrong for {what} {sentence!r}: the count of "
          f"{vocab[v]!r} (out[{v}]) is {got[v]:g}, expected {expected[v]:g}.")


def bag_of_words(fn: Callable, hidden: bool = False) -> None:
    """Check ``bag_of_words(sentence, vocab) -> counts (V,)``."""
    rng = make_rng(hidden, seed=2)
    if not hidden:
        vocab = ["the", "dog", "bites", "man", "good", "bad", "not"]
        for sentence, what in [
                ("dog bites man", "the sentence"),
                ("the dog bites the man", "a repeated word in"),
                ("The Dog bites", "capital letters in"),
                ("the cat bites the dog", "an unknown word ('cat') in")]:
            _check_bag(fn, sentence, vocab, what)
        a, b = (np.asarray(run_student(fn, "bag_of_words", s, vocab))
                for s in ("dog bites man", "man bites dog"))
        expect_true(same(a, b), "'dog bites man' and 'man bites dog' "
                    "should give the same bag of words.")
        return passed("bag_of_words counts words and forgets their order: "
                      "'dog bites man' == 'man bites dog'")
    words = sorted({"".join(rng.choice(LETTERS, int(rng.integers(2, 6))))
                    for _ in range(40)})
    vocab = [str(w) for w in rng.permutation(words)[:int(rng.integers(4, 12))]]
    pool = vocab + [w for w in words if w not in vocab][:3]
    for _ in range(3):
        tokens = [str(w) for w in rng.choice(pool, int(rng.integers(3, 15)))]
        tokens = [w.upper() if rng.random() < 0.2 else w for w in tokens]
        _check_bag(fn, " ".join(tokens), vocab, "the random sentence")
    passed("bag_of_words works on fresh random sentences")


# ------------------------------------------------------------- pad_batch
def _check_pad(fn, seqs, what):
    unchanged = snapshot(seqs)
    x_ref, mask_ref = ref.pad_batch(seqs)
    N, T, D = x_ref.shape
    x, mask = run_student(fn, "pad_batch", list(seqs),
                          returns="a pair (x, mask)")
    x = expect_shape(f"x ({what})", x, (N, T, D), "N, T, D")
    mask = expect_shape(f"mask ({what})", mask, (N, T), "N, T")
    expect_true(mask.dtype == np.bool_, f"mask has dtype {mask.dtype}; use "
                f"booleans, True at real steps: np.zeros((N, T), dtype=bool).")
    expect_dtype("x", x, x_ref.dtype, source="the sequences are",
                 fix="keep their dtype (dtype=seqs[0].dtype).")
    for n, s in enumerate(seqs):
        Tn = len(s)
        expect_true(close(x[n, :Tn], s) or Tn == T or not close(
            x[n, T - Tn:], s), f"sequence {n} ({Tn} steps) is padded at "
                    f"the start; put the real steps first, x[{n}, :{Tn}] "
                    f"= seqs[{n}], and the zeros after them.")
        expect_true(close(x[n, :Tn], s),
                    f"x[{n}, :{Tn}] should equal seqs[{n}] ({what}).")
        expect_true(same(x[n, Tn:], np.zeros_like(x[n, Tn:])), f"the "
                    f"padding of sequence {n} (x[{n}, {Tn}:]) should be "
                    f"zeros ({what}).")
    expect_true(not same(mask, ~mask_ref), "mask is inverted: True must "
                "mark the real steps and False the padding.")
    for n in range(N):
        expect_true(same(mask[n], mask_ref[n]), f"mask[{n}] is "
                    f"{mask[n].tolist()}; sequence {n} has {len(seqs[n])} "
                    f"real steps, so expected {mask_ref[n].tolist()}.")
    expect_true(unchanged(), "pad_batch changed an array of seqs; build a "
                             "new array instead of writing into the inputs.")


def pad_batch(fn: Callable, hidden: bool = False) -> None:
    """Check ``pad_batch(seqs) -> (x (N, T, D), mask (N, T))``."""
    rng = make_rng(hidden, seed=3)

    def draw():                          # each case drawn just before use
        for dtype in (F64, F32):
            N, D = int(rng.integers(1, 7)), int(rng.integers(1, 5))
            lengths = rng.integers(1, 8, N).tolist()
            yield lengths, D, dtype, f"lengths {lengths}"
        yield [int(rng.integers(1, 5))] * 3, 2, F64, "equal lengths"
    for lengths, D, dtype, what in draw() if hidden else [
            ((3, 1, 2), 2, F64, "lengths 3, 1, 2"),
            ((2, 4), 3, F32, "float32 sequences of lengths 2, 4")]:
        _check_pad(fn, [rng.normal(size=(T, D)).astype(dtype)
                        for T in lengths], what)
    passed("pad_batch pads at the end and marks the real steps", hidden,
           "batches")
