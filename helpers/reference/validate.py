"""Input validation with errors that say what was expected.

Every public function in ``helpers`` checks its arguments with these
helpers, so a wrong shape fails at the call with a message such as
``h_prev has shape (3, 4); expected (N, H) = (3, 5)``. (The fast paths in
:mod:`helpers.fast` are the exception: the reference functions that call
them have checked the inputs already.)

The recurrent cells check the way their contract says (see
:mod:`helpers.reference`): a sequence function checks everything once,
including a scan for NaN and inf (:func:`check_params`, then
:func:`check_forward` or :func:`check_backward`, which all cells share);
the step functions its loop calls check shapes and dtypes only
(:func:`check_step`, ``finite=False``), so the weights are not re-read at
every time step.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def check_array(name: str, a, ndim: int | None = None,
                letters: str | None = None, finite: bool = True
                ) -> np.ndarray:
    """Return ``a`` as a float array; reject non-arrays, ints and NaN.

    Parameters
    ----------
    name : str
        Name of the argument, used in the error message.
    a : object
        The value to check.
    ndim : int, optional
        Required number of dimensions.
    letters : str, optional
        Axis letters shown with a wrong ``ndim``, e.g. ``"N, T, D"``.
    finite : bool
        Also reject NaN and infinite entries. This reads every entry, so
        the cells do it once at a sequence function's entry and pass
        ``finite=False`` in the step functions their loops call.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{name} has dtype {a.dtype}; expected float32 or float64")
    if ndim is not None and a.ndim != ndim:
        axes = f" ({letters})" if letters else ""
        raise ValueError(
            f"{name} has {a.ndim} dimensions (shape {a.shape}); "
            f"expected {ndim}{axes}")
    if finite and not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise ValueError(
            f"{name} contains NaN or infinite values "
            f"({len(bad)} entries, the first at index {where})")
    return a


def check_shape(name: str, a: np.ndarray, expected: Sequence[int],
                letters: str) -> None:
    """Raise if ``a.shape != expected``; ``letters`` names the axes."""
    if tuple(a.shape) != tuple(expected):
        raise ValueError(
            f"{name} has shape {tuple(a.shape)}; expected ({letters}) = "
            f"{tuple(expected)}")


def check_same_dtype(**arrays: np.ndarray) -> np.dtype:
    """Raise unless all arrays share one dtype; return it."""
    dtypes = {k: v.dtype for k, v in arrays.items() if v is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{k}: {v}" for k, v in dtypes.items())
        raise TypeError(f"arrays must share one dtype, got {listed}")
    return next(iter(dtypes.values()))


def check_keys(params, keys: Sequence[str], name: str = "params") -> None:
    """Raise unless ``params`` is a dict holding every key in ``keys``."""
    if not isinstance(params, Mapping):
        raise TypeError(
            f"{name} must be a dict of arrays, got {type(params).__name__}")
    missing = [k for k in keys if k not in params]
    if missing:
        raise KeyError(
            f"{name} is missing {missing}; expected keys "
            f"{list(keys)}, got {list(params)}")


def check_params(params, expected: Mapping[str, tuple[Sequence[int], str]],
                 name: str = "params", finite: bool = True) -> np.dtype:
    """Check a parameter dict against expected shapes; return its dtype.

    Parameters
    ----------
    params : dict
        Parameter dict keyed by the symbols of the text.
    expected : mapping
        ``{key: (shape, letters)}``, e.g.
        ``{"W_xh": ((H, D), "H, D"), "b_h": ((H,), "H")}``.
    name : str
        Name of the dict in error messages.
    finite : bool
        Also reject NaN and infinite entries (see :func:`check_array`).

    Returns
    -------
    numpy.dtype
        The dtype shared by all entries.

    Raises
    ------
    TypeError
        ``params`` is not a dict, an entry is not a float array, or the
        entries have different dtypes.
    KeyError
        A key is missing; the message lists the keys that are expected.
    ValueError
        An entry has the wrong shape or contains NaN or inf.
    """
    check_keys(params, list(expected), name)
    for key, (shape, letters) in expected.items():
        arr = check_array(f"{name}['{key}']", params[key], len(shape),
                          letters, finite)
        check_shape(f"{name}['{key}']", arr, shape, letters)
    return check_same_dtype(
        **{f"{name}['{k}']": params[k] for k in expected})


def check_dtype(name: str, a: np.ndarray, dtype: np.dtype,
                source: str = "params") -> None:
    """Raise ``TypeError`` unless ``a.dtype == dtype`` (taken from
    ``source``), so float32 and float64 arrays are never mixed silently."""
    if a.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {a.dtype}; expected {np.dtype(dtype)} "
            f"to match {source}")


def check_sequence(x, D: int, dtype: np.dtype) -> tuple[int, int]:
    """Check a batch of sequences ``x`` of shape ``(N, T, D)`` with
    ``T >= 1`` and the parameters' dtype; return ``(N, T)``."""
    check_array("x", x, 3, "N, T, D")
    N, T = x.shape[:2]
    check_shape("x", x, (N, T, D), "N, T, D")
    if T == 0:
        raise ValueError("x has T = 0 time steps; expected T >= 1")
    check_dtype("x", x, dtype)
    return N, T


def check_state(name: str, a, N: int, H: int, dtype: np.dtype
                ) -> np.ndarray:
    """Check a state of shape ``(N, H)``; ``None`` gives zeros."""
    if a is None:
        return np.zeros((N, H), dtype)
    check_array(name, a, 2, "N, H")
    check_shape(name, a, (N, H), "N, H")
    check_dtype(name, a, dtype)
    return a


# ------------------------------------------------ the contract of the cells

def check_step(x, states: Mapping[str, np.ndarray], D: int, H: int,
               dtype: np.dtype) -> int:
    """Check the inputs of one step, ``x (N, D)`` and each state
    ``(N, H)``, in shape and dtype only (no scan for NaN: a sequence
    function checked its inputs once, before its loop); return ``N``.
    A state may not be ``None`` here."""
    check_array("x", x, 2, "N, D", finite=False)
    N = x.shape[0]
    check_shape("x", x, (N, D), "N, D")
    check_dtype("x", x, dtype)
    for name, state in states.items():
        check_array(name, state, 2, "N, H", finite=False)
        check_shape(name, state, (N, H), "N, H")
        check_dtype(name, state, dtype)
    return N


def check_upstream(name: str, d, shape: Sequence[int], letters: str,
                   dtype: np.dtype, finite: bool = True) -> None:
    """Check an upstream gradient such as ``dh (N, T, H)``: a float array
    of the forward pass's shape and dtype (and finite, unless
    ``finite=False``, as in the step functions)."""
    check_array(name, d, len(shape), letters, finite)
    check_shape(name, d, shape, letters)
    check_dtype(name, d, dtype, "the forward pass")


def check_fast(fast: bool, workspace) -> None:
    """A workspace belongs to the fast path: reject one with
    ``fast=False``."""
    if workspace is not None and not fast:
        raise ValueError("workspace is only used by the fast path; "
                         "pass fast=True")


def check_forward(x, states: Mapping[str, object], D: int, H: int,
                  dtype: np.dtype, fast: bool = False, workspace=None
                  ) -> tuple:
    """Check the inputs of a sequence forward once, with the scan for
    NaN: ``x (N, T, D)``, each initial state in ``states`` (e.g.
    ``{"h0": h0, "c0": c0}``), ``(N, H)`` or ``None`` for zeros, and that
    a ``workspace`` comes with ``fast=True``. Return ``(N, T, *states)``,
    the states as arrays in the order given."""
    N, T = check_sequence(x, D, dtype)
    arrays = [check_state(name, a, N, H, dtype)
              for name, a in states.items()]
    check_fast(fast, workspace)
    return (N, T, *arrays)


def check_backward(dh, cache, last: Mapping[str, object], length: int,
                   forward: str, fast: bool) -> tuple[int, int, int]:
    """Check the inputs of a sequence backward once: ``cache`` from
    ``forward`` (see :func:`check_cache`), the upstream ``dh (N, T, H)``
    and each extra gradient on a final state in ``last`` (e.g.
    ``{"dh_last": dh_last}``), ``(N, H)`` or ``None``; finite and of the
    forward pass's dtype. Return ``(N, T, H)``."""
    check_cache(cache, length, forward, fast)
    h = cache[2]
    N, T, H = h.shape
    check_upstream("dh", dh, (N, T, H), "N, T, H", h.dtype)
    for name, d in last.items():
        if d is not None:
            check_upstream(name, d, (N, H), "N, H", h.dtype)
    return N, T, H


def check_cache(cache, length: int, forward: str, fast: bool = False
                ) -> None:
    """Check that ``cache`` is a sequence cache of ``forward``: a tuple
    that starts ``(x, h0, h, params)``. For the readable path
    (``fast=False``) it must have ``length`` entries, the last being the
    list of step caches when ``length > 4``; a cache from
    ``forward(..., fast=True)`` holds the fast path's buffers instead and
    needs ``fast=True`` in the backward call too."""
    if not isinstance(cache, tuple) or len(cache) < 4:
        raise TypeError(f"cache must be the tuple that {forward} returns, "
                        f"got {type(cache).__name__}")
    if not fast and (len(cache) != length or (
            length > 4 and not isinstance(cache[-1], list))):
        raise ValueError(f"this cache comes from {forward}(..., "
                         f"fast=True); pass fast=True to the backward "
                         f"call as well")
