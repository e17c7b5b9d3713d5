"""Checks that the graded test cells of the lessons call.

Every visible and hidden test in ``solutions/`` goes through this package,
so that the wording of failure messages and the way results are compared
live in one place. One submodule per lesson holds that lesson's checks
(``helpers.checks.sequences``, ``helpers.checks.rnn`` ...); this module
holds the shared pieces.

A check raises ``AssertionError`` with a message that names what is
wrong (which output, which shape, which time step, which term) and what to
look at next; on success it prints one line starting with a tick.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

# Bound once, so that a notebook reassigning np.abs or np.isfinite does
# not change what a check decides.
_asarray, _float64, _isfinite = np.asarray, np.float64, np.isfinite
_unravel_index, _ndarray = np.unravel_index, np.ndarray

__all__ = [
    "call_student", "expect_shape", "expect_close", "expect_true",
    "make_rng", "passed", "run_student",
]


def make_rng(hidden: bool = False, seed: int = 0) -> np.random.Generator:
    """Random generator for a check.

    Visible checks use a fixed ``seed`` so students see the same numbers
    each run; hidden checks draw a fresh seed from the operating system, so
    an answer tuned to the visible inputs cannot pass them.
    """
    if hidden:
        seed = int.from_bytes(os.urandom(8), "little")
    return np.random.default_rng(seed)


def call_student(fn: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``fn`` and turn common failures into advice."""
    if not callable(fn):
        raise AssertionError(
            f"{name} is not a function (got {type(fn).__name__}); "
            f"did you overwrite it? Re-run the cell that defines it.")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(
            f"{name} is not implemented yet: replace the "
            f"'raise NotImplementedError()' line with your code.") from None


def run_student(fn: Callable, name: str, *args: Any, hint: str = "") -> Any:
    """Like :func:`call_student`, and a crash becomes a readable failure.

    Any other exception from the student's code turns into an
    ``AssertionError`` naming the function, the error and ``hint``; the
    original exception stays chained, so its traceback still points at
    the line that failed.
    """
    try:
        return call_student(fn, name, *args)
    except AssertionError:
        raise
    except Exception as exc:                      # noqa: BLE001
        msg = f"{name} raised {type(exc).__name__}: {exc}"
        if hint:
            msg += f" -- {hint}"
        raise AssertionError(msg) from exc


def expect_shape(what: str, got: Any, expected: tuple, letters: str = ""
                 ) -> np.ndarray:
    """Assert ``got`` is an array of shape ``expected``; return it."""
    if not isinstance(got, _ndarray):
        raise AssertionError(
            f"{what} should be a numpy array, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(expected):
        axes = f" ({letters})" if letters else ""
        raise AssertionError(
            f"{what} has shape {tuple(got.shape)}; expected{axes} "
            f"{tuple(expected)}.")
    return got


def expect_close(what: str, got: np.ndarray, expected: np.ndarray,
                 hint: str = "", atol: float = 1e-6, rtol: float = 1e-5
                 ) -> None:
    """Assert two arrays agree entry by entry, reporting the worst entry.

    The comparison is written out with array operators and functions
    bound when this module was imported, so that its result does not
    depend on ``np.allclose``, ``np.testing`` or later changes to numpy's
    attributes. (The grader re-runs graded checks in its own process in
    any case; see ``autograder/verify.py``.)
    """
    got = _asarray(got, dtype=_float64)
    expected = _asarray(expected, dtype=_float64)
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what} has shape {got.shape}; expected {expected.shape}.")
    if not _isfinite(got).all():
        raise AssertionError(f"{what} contains NaN or inf values.")
    err = abs(got - expected)
    bound = atol + rtol * abs(expected)
    bad = err > bound
    if bad.any():
        idx = _unravel_index(int((err - bound).argmax()), err.shape)
        msg = (f"{what} is wrong: at index {tuple(int(i) for i in idx)} "
               f"you have {got[idx]:.6g}, expected {expected[idx]:.6g} "
               f"({int(bad.sum())} of {bad.size} entries differ).")
        if hint:
            msg += " " + hint
        raise AssertionError(msg)


def expect_true(condition: bool, message: str) -> None:
    """Assert ``condition`` with a message that says what to fix."""
    if not condition:
        raise AssertionError(message)


def passed(message: str) -> None:
    """Report a passed check."""
    print(f"\u2713 {message}")
