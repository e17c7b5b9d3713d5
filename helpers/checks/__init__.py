"""Checks that the graded test cells of the lessons call.

Every visible and hidden test in ``solutions/`` goes through this
package, so the wording of failure messages and the way results are
compared live in one place. One submodule per lesson holds its checks
(``helpers.checks.sequences``, ``helpers.checks.rnn`` ...); this module
holds the vocabulary they are written in. A check raises
``AssertionError`` with a message that names what is wrong (which output,
which shape, which time step, which term) and what to look at next; on
success it prints one line starting with a tick.

Adding a check module for a new cell (an LSTM, say)
---------------------------------------------------
``helpers/checks/lstm.py`` imports what it needs from here and its
reference (``from helpers.reference.lstm import lstm_step_forward as
ref_step``). Each exercise gets one public ``lstm_step_forward(fn,
hidden=False)``; the lesson's test cell calls
``check.lstm_step_forward(lstm_step_forward)``, and again with
``hidden=True`` between the hidden-test markers. A check is four moves,
usually in a ``_check_...(fn, inputs..., what)`` run on several cases:

1. Inputs: ``rng = make_rng(hidden, seed=...)``, a seed per check.
   Visible cases have fixed small sizes and test one requirement each
   (only the bias on, then only the input term ...), so the first
   failure names it; hidden cases draw ``fresh_sizes(rng, 3)``, a batch
   of one and float32 included. ``random_arrays(rng, {"W": (4 * H, D),
   ...}, dtype)`` makes parameters; ``describe(dtype, N=N, H=H)`` names
   the case.
2. Call safely: ``unchanged = snapshot(x, h_prev, c_prev, params)``;
   ``h, c, cache = run_student(fn, "lstm_step_forward", x, ...,
   hint=..., returns="(h, c, cache)")`` turns a missing implementation,
   a crash or a wrong number of results into a readable failure.
3. Compare with the reference, never with another of the student's
   functions: ``expect_array(what, got, expected, "N, H", dtype)``
   (shape with its letters, dtype, then values, naming the worst index
   and both values); ``expect_shape``, ``expect_dtype``,
   ``expect_close`` one by one; ``expect_each`` (several outputs),
   ``expect_steps`` (at the first wrong time step), ``expect_cache``
   (gates and candidates within tolerance with ``computed``),
   ``expect_grads``, ``expect_number``, and ``expect_true(unchanged(),
   "... changed its inputs in place ...")``. A gradient check written
   by the student is judged by ``expect_grad_check`` against the
   ``rel_errors`` of the backward it was given.
4. Name typical mistakes: build the usual wrong answers (a gate left
   out, f and i swapped, a weight transposed ...) as ``(value,
   message)`` pairs; ``diagnose(got, pairs, dtype)`` names those that
   match. Pass ``hint=lambda: likely(diagnose(...))``: a callable hint
   is only computed when the comparison fails. ``diagnose_probe`` asks
   the student's function once more on the case with every term on
   when a case with terms switched off cannot tell mistakes apart.

End with ``passed("lstm_step_forward: what was checked", hidden)``
(hidden, it says "works on fresh random ..."). Where visible and hidden
cases share a ``_check_...``, run both through one loop: a table of the
visible cases, a generator drawing each hidden one just before its
check. List the public checks in ``__all__``, each with its own
``seed``; in ``tests/test_checks_lessonN.py`` the reference must pass
the visible check and many hidden draws, and each typical wrong answer
must fail with the message that names it.

The comparisons here use numpy functions bound when this module was
imported, so a notebook reassigning ``np.allclose``, ``np.abs`` or
``np.array_equal`` cannot change what a check decides; check modules
decide through ``close``, ``same`` and ``expect_*``. (The grader also
re-runs graded checks in its own process; see ``autograder/verify.py``.)
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from helpers.reference.gradcheck import rel_error

# Bound once: see the module docstring.
_asarray, _float64, _float32 = np.asarray, np.float64, np.float32
_isfinite, _unravel_index, _ndarray = np.isfinite, np.unravel_index, \
    np.ndarray
_array_equal, _dtype = np.array_equal, np.dtype

__all__ = [
    "F32", "F64", "call_student", "close", "describe", "diagnose",
    "diagnose_probe", "expect_array", "expect_cache", "expect_close",
    "expect_dtype", "expect_each", "expect_grad_check", "expect_grads",
    "expect_number", "expect_shape", "expect_steps", "expect_true",
    "first_wrong", "fresh_sizes", "likely", "make_rng", "passed",
    "random_arrays", "rel_errors", "run_student", "same", "snapshot",
]
F64, F32 = np.float64, np.float32


# ------------------------------------------------------------ inputs
def make_rng(hidden: bool = False, seed: int = 0) -> np.random.Generator:
    """Visible checks use ``seed``; hidden ones a fresh seed from the
    operating system, so answers tuned to the visible inputs fail."""
    if hidden:
        seed = int.from_bytes(os.urandom(8), "little")
    return np.random.default_rng(seed)


def random_arrays(rng: np.random.Generator, shapes: dict, dtype=_float64,
                  scale: float = 1.0) -> dict:
    """``{name: normal(0, scale) array of shapes[name]}`` in ``dtype``."""
    return {k: rng.normal(0, scale, s).astype(dtype)
            for k, s in shapes.items()}


def fresh_sizes(rng: np.random.Generator, n: int, high: int = 8,
                dtypes: tuple = (F64, F32), one: bool = True) -> list:
    """Sizes of hidden cases: ``n`` ints in [1, high) and a dtype, one
    case per dtype of ``dtypes``, then (with ``one``) a batch of one in
    float64: ``[(N, D, H, float64), (N, D, H, float32), (1, D, H,
    float64)]`` for ``n = 3``."""
    def draw(k):
        return [int(v) for v in rng.integers(1, high, k)]
    return [(*draw(n), dt) for dt in dtypes] + (
        [(1, *draw(n - 1), F64)] if one else [])


def describe(dtype=None, **sizes: int) -> str:
    """``describe(np.float32, N=2, T=5)`` is ``'N=2, T=5, float32'``."""
    parts = [f"{k}={v}" for k, v in sizes.items()]
    return ", ".join(parts + ([_dtype(dtype).name] if dtype else []))


# ------------------------------------------------ calling the student
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


def run_student(fn: Callable, name: str, *args: Any, hint: str = "",
                returns: str = "") -> Any:
    """:func:`call_student`, with a crash turned into a failure naming
    ``hint`` (the exception stays chained for its traceback). With
    ``returns="a pair (h, cache)"`` the result must be a tuple of as
    many items as the parentheses list."""
    try:
        out = call_student(fn, name, *args)
    except AssertionError:
        raise
    except Exception as exc:                      # noqa: BLE001
        msg = f"{name} raised {type(exc).__name__}: {exc}"
        raise AssertionError(f"{msg} -- {hint}" if hint else msg) from exc
    n = returns.rsplit("(", 1)[-1].count(",") + 1
    if returns and not (isinstance(out, tuple) and len(out) == n):
        got = (f"a tuple of length {len(out)}" if isinstance(out, tuple)
               else type(out).__name__)
        raise AssertionError(f"{name} should return {returns}. Got {got}.")
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v) for v in value)
    return value.copy() if isinstance(value, _ndarray) else value


def snapshot(*values: Any) -> Callable[[], bool]:
    """Copy ``values``; the function returned tells whether they are
    still the same (for "does not modify its inputs")."""
    saved = _copy(values)
    return lambda: same(values, saved)


# -------------------------------------------------------- comparing
def _bounds(dtype, atol, rtol) -> tuple[float, float]:
    """``(atol, rtol)`` unless given: 1e-5, 1e-4 for float32 results,
    1e-8, 1e-6 for float64, 1e-6, 1e-5 without a dtype."""
    t = (1e-6, 1e-5) if dtype is None else (1e-5, 1e-4) if _dtype(
        dtype) == _float32 else (1e-8, 1e-6)
    return (t[0] if atol is None else atol, t[1] if rtol is None else rtol)


def close(got: Any, expected: Any, dtype=None, atol: float | None = None,
          rtol: float | None = None) -> bool:
    """Whether ``got`` matches ``expected`` entry by entry within
    :func:`_bounds` (never raises); a dict over ``expected``'s keys, a
    tuple item by item."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            k in got and close(got[k], v, dtype, atol, rtol)
            for k, v in expected.items())
    if isinstance(expected, tuple):
        return isinstance(got, (tuple, list)) and len(got) == len(
            expected) and all(close(g, e, dtype, atol, rtol)
                              for g, e in zip(got, expected))
    try:
        got = _asarray(got, dtype=_float64)
        expected = _asarray(expected, dtype=_float64)
    except (TypeError, ValueError):
        return False
    atol, rtol = _bounds(dtype, atol, rtol)
    return got.shape == expected.shape and bool(
        (abs(got - expected) <= atol + rtol * abs(expected)).all())


def same(a: Any, b: Any) -> bool:
    """Exact equality of arrays, dicts (keys in order), tuples, lists and
    numbers, with nan equal to nan."""
    if isinstance(b, dict):
        return isinstance(a, dict) and list(a) == list(b) and all(
            same(a[k], v) for k, v in b.items())
    if isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and len(a) == len(b) and all(
            same(x, y) for x, y in zip(a, b))
    if isinstance(b, _ndarray):
        return isinstance(a, _ndarray) and bool(_array_equal(
            a, b, equal_nan=b.dtype.kind in "fc"))
    try:
        return bool(a == b or (a != a and b != b))
    except (TypeError, ValueError):
        return False


def diagnose(got: Any, candidates: list, dtype=None,
             atol: float | None = None, rtol: float | None = None) -> str:
    """The messages of the ``(value, message)`` candidates that ``got``
    matches (values of None skipped), joined by ' Or: ': several mistakes
    can give the same numbers on some inputs."""
    found = []
    for value, message in candidates:
        if value is not None and message not in found and close(
                got, value, dtype, atol, rtol):
            found.append(message)
    return " Or: ".join(found)


def likely(cause: str) -> str:
    """``'Likely cause: ...'`` for a diagnosed mistake, '' for none."""
    return f"Likely cause: {cause}" if cause else ""


def diagnose_probe(fn: Callable, name: str, got: Any, mistakes: Callable,
                   args: tuple, probe: tuple | None = None, dtype=None,
                   lead: str = "") -> str:
    """``lead`` (what the case tests), then :func:`likely` of
    ``diagnose(got, mistakes(*args))``. Where several mistakes fit, or
    none (a case with some terms switched off cannot tell them apart),
    the student's ``fn`` is asked once more on ``probe``, the arguments
    of the case with every term on, and its first result diagnosed."""
    cause = diagnose(got, mistakes(*args), dtype)
    if (" Or: " in cause or not cause) and probe is not None:
        try:
            out = call_student(fn, name, *probe)[0]
            cause = diagnose(out, mistakes(*probe), dtype) or cause
        except Exception:                         # noqa: BLE001
            pass
    return f"{lead} {likely(cause)}".strip()


def first_wrong(got: np.ndarray, expected: np.ndarray, dtype=None,
                backwards: bool = False) -> int | None:
    """First time step ``t`` (axis 1, walking either way) where ``got``
    and ``expected`` differ; None if none."""
    steps = range(expected.shape[1])
    return next((t for t in (reversed(steps) if backwards else steps)
                 if not close(got[:, t], expected[:, t], dtype)), None)


# --------------------------------------------------------- asserting
def expect_true(condition: bool, message: str) -> None:
    """Assert ``condition`` with a message that says what to fix."""
    if not condition:
        raise AssertionError(message)


def expect_number(what: str, value: Any, about: str = "") -> float:
    """``float(value)``; else a failure: ``what`` should be one number
    (``about`` says which)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be one number{about}, got "
                             f"{type(value).__name__}.") from None


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


def expect_dtype(what: str, got: np.ndarray, dtype, source: str =
                 "the inputs are", fix: str = "keep the dtype of the "
                 "inputs.") -> None:
    """Assert ``got`` has ``dtype`` (float32 in, float32 out)."""
    expect_true(got.dtype == dtype,
                f"{what} has dtype {got.dtype} but {source} "
                f"{_dtype(dtype).name}; {fix}")


def expect_close(what: str, got: Any, expected: Any,
                 hint: str | Callable[[], str] = "",
                 atol: float | None = None, rtol: float | None = None,
                 dtype=None) -> None:
    """Assert two arrays agree (tolerances as in :func:`close`), naming
    the worst entry; a callable ``hint`` is only computed on failure."""
    if close(got, expected, dtype, atol, rtol):
        return
    got = _asarray(got, dtype=_float64)
    expected = _asarray(expected, dtype=_float64)
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what} has shape {got.shape}; expected {expected.shape}.")
    if not _isfinite(got).all():
        raise AssertionError(f"{what} contains NaN or inf values.")
    atol, rtol = _bounds(dtype, atol, rtol)
    err = abs(got - expected)
    bound = atol + rtol * abs(expected)
    bad = err > bound
    idx = _unravel_index(int((err - bound).argmax()), err.shape)
    msg = (f"{what} is wrong: at index {tuple(int(i) for i in idx)} "
           f"you have {got[idx]:.6g}, expected {expected[idx]:.6g} "
           f"({int(bad.sum())} of {bad.size} entries differ).")
    hint = hint() if callable(hint) else hint
    raise AssertionError(f"{msg} {hint}" if hint else msg)


def expect_array(what: str, got: Any, expected: np.ndarray,
                 letters: str = "", dtype=None,
                 hint: str | Callable[[], str] = "", **tols: Any) -> None:
    """One output checked whole: :func:`expect_shape` (with shape
    ``letters``), :func:`expect_dtype` when ``dtype`` is given (named
    without the parenthesis of ``what``), then :func:`expect_close`."""
    expect_shape(what, got, expected.shape, letters)
    if dtype is not None:
        expect_dtype(what.split(" (")[0], got, dtype)
    expect_close(what, got, expected, hint, dtype=dtype, **tols)


def expect_each(rows: list, what: str = "", dtype=None,
                hint: str | Callable[[str, Any], str] = "", fix: str = "",
                **tols: Any) -> None:
    """:func:`expect_close` on each ``(name, got, expected)`` row, as
    ``'name (what)'``; a callable ``hint(name, got)`` is only asked on
    failure. With ``fix``, each must keep ``dtype`` too."""
    for name, got, expected in rows:
        expect_close(f"{name} ({what})" if what else name, got, expected,
                     hint=(lambda: hint(name, got)) if callable(hint)
                     else hint, dtype=dtype, **tols)
        if fix:
            expect_dtype(name, got, dtype, fix=fix)


def expect_steps(name: str, what: str, got: np.ndarray, expected:
                 np.ndarray, dtype=None, hint: Callable[[int], str] =
                 lambda t: "", backwards: bool = False) -> None:
    """:func:`expect_close` at the first wrong time step ``t`` (see
    :func:`first_wrong`) as ``'name[:, t] (what)'`` with ``hint(t)``."""
    t = first_wrong(got, expected, dtype, backwards)
    if t is not None:
        expect_close(f"{name}[:, {t}] ({what})", got[:, t], expected[:, t],
                     dtype=dtype, hint=hint(t))


def expect_cache(cache: Any, layout: str, values: tuple, dtype=None,
                 computed: tuple = ()) -> None:
    """Assert ``cache`` is the tuple ``layout``, e.g. ``'(x, h0, h,
    params)'``, holding ``values``: the same arrays, but for the
    intermediate ones named in ``computed`` (gates, a candidate), which
    need only agree within the tolerance of ``dtype``: the student may
    compute them in another order."""
    expect_true(isinstance(cache, tuple) and len(cache) == len(values),
                f"cache should be the tuple {layout}, which the backward "
                f"pass reads.")
    for i, (name, value) in enumerate(zip(layout.strip("()").split(", "),
                                          values)):
        got = cache[i]
        if isinstance(value, dict):
            ok = got is value or isinstance(got, dict) and same(
                {k: got.get(k) for k in value}, value)
        else:
            ok = isinstance(got, _ndarray) and (
                close(got, value, dtype) if name in computed
                else same(got, value))
        expect_true(ok, f"cache[{i}] should be {name}: the cache is "
                        f"{layout}.")


def _expect_keys(got: Any, keys, not_dict: str, missing: tuple) -> None:
    """Assert ``got`` is a dict holding every key of ``keys``; else fail
    with ``not_dict`` and the type's name, or with the missing keys
    between the two parts of ``missing``."""
    expect_true(isinstance(got, dict), f"{not_dict} {type(got).__name__}.")
    lost = [k for k in keys if k not in got]
    expect_true(not lost, f"{missing[0]}{lost}{missing[1]}")


def expect_grads(what: str, grads: Any, params: dict, example: str = "."
                 ) -> None:
    """Assert ``grads`` holds one array per key of ``params``, shaped
    like it; ``example`` shows how a gradient gets its shape."""
    keys = ", ".join(repr(k) for k in params)
    _expect_keys(grads, params, f"{what}: grads should be a dict with keys "
                 f"{keys}; got", (f"{what}: grads is missing ", f"; it needs "
                                  f"one entry per parameter, keyed {keys}."))
    for k, p in params.items():
        shape, got = p.shape, grads[k]
        if isinstance(got, _ndarray) and len(shape) == 2 and \
                got.shape == shape[::-1] and shape[0] != shape[1]:
            raise AssertionError(
                f"{what}: grads['{k}'] has shape {got.shape}; expected "
                f"{shape}, the shape of {k}. A gradient has the shape of "
                f"its parameter{example}")
        expect_shape(f"{what}: grads['{k}']", got, shape)


def rel_errors(got: tuple, expected: tuple, keys: tuple) -> dict:
    """``{key: rel_error}`` between two results of a backward, ``(d_in,
    ..., grads)``: ``keys`` names the input gradients, then the
    parameters (the keys of ``grads``)."""
    n = len(got) - 1

    def flat(result):
        return [*result[:n], *(result[n][k] for k in keys[n:])]
    return {k: rel_error(a, b)
            for k, a, b in zip(keys, flat(got), flat(expected))}


def expect_grad_check(name: str, out: Any, truth: dict, label: str,
                      what: str, loss: str) -> dict:
    """Assert the errors ``out`` that the student's gradient check
    ``name`` reports for a backward (``label``: 'a correct backward',
    ...) agree with ``truth``, the real error of each of its gradients
    (:func:`rel_errors`): below 1e-6 where a gradient is right, within
    5 % (+ 1e-3) of the truth where it is wrong. ``loss`` asks whether
    the check differentiates the right loss. Returns the errors."""
    keys = list(truth)
    _expect_keys(out, keys, f"{name} should return a dict of errors, got",
                 (f"{name}'s result is missing the keys ", f"; it needs one "
                  f"error per gradient: {keys}."))
    errors = {k: expect_number(f"{name}['{k}']", out[k],
                               " (the max relative error)") for k in keys}
    for k, true in truth.items():
        got, right = errors[k], true <= 1e-6
        expect_true(
            got < 1e-6 if right else
            abs(got - true) <= 1e-3 + 0.05 * true,
            f"with {label} the gradient of {k} " + (
                f"is right, but your check reports an error of {got:.2e} "
                f"for '{k}' ({what}). {loss}, and does the numerical "
                f"gradient of {k} perturb {k}?" if right else
                f"is wrong by a relative error of {true:.2e} (rel_error "
                f"against the true gradient), but your check reports "
                f"{got:.2e} for '{k}' ({what}). Compare backward's "
                f"gradient of {k} with the numerical one using rel_error "
                f"from helpers.reference.gradcheck."))
    return errors


def passed(message: str, hidden: bool = False,
           fresh: str = "shapes and values") -> None:
    """Report a passed check: ``message`` for the visible one, which
    starts with the checked function's name; for the hidden one, that
    name 'works on fresh random' ``fresh``."""
    if hidden:
        message = f"{message.split()[0].rstrip(':')} works on fresh " \
                  f"random {fresh}"
    print(f"\u2713 {message}")
