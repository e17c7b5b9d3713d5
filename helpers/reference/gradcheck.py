"""Numerical gradient checks with centred differences.

Follows the idea of CS231n's ``eval_numerical_gradient_array``: perturb one
entry of an input at a time, evaluate the forward function at ``x + h`` and
``x - h``, and project the change of the output on the upstream gradient.
Run checks in float64; in float32 the rounding error of the difference
quotient swamps the comparison.

``order=2`` (the default) is the centred difference
``(f(x + h) - f(x - h)) / 2h`` with error ``O(h^2)``. ``order=4`` is the
five-point stencil
``(-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / 12h`` with error
``O(h^4)``; it allows a larger step (``h = 1e-3``), so rounding matters
less, and the check still resolves gradient entries of size ``1e-4`` to a
relative error far below ``1e-7``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def rel_error(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> float:
    """Max over all entries of ``|a - b| / max(|a| + |b|, eps)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    denom = np.maximum(np.abs(a) + np.abs(b), eps)
    return float(np.max(np.abs(a - b) / denom))


STENCILS = {
    # name: (offsets in units of h, weights, denominator in units of h)
    "one-sided": ((1, 0), (1.0, -1.0), 1.0),      # error O(h)
    "centred": ((1, -1), (1.0, -1.0), 2.0),       # error O(h^2)
    "five-point": ((2, 1, -1, -2), (-1.0, 8.0, -8.0, 1.0), 12.0),  # O(h^4)
}
_ORDERS = {2: "centred", 4: "five-point"}


def _stencil(order: int) -> str:
    if order not in _ORDERS:
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    return _ORDERS[order]


def finite_differences(
    f: Callable[[], float | np.ndarray], x: np.ndarray, h: float,
    stencil: str = "centred", dout: np.ndarray | None = None,
) -> np.ndarray:
    """The one finite-difference loop of the course.

    Perturbs one entry of ``x`` at a time in place (and restores it),
    evaluates ``f()`` at the offsets of ``STENCILS[stencil]`` and
    returns an array shaped like ``x``. Without ``dout``, ``f`` returns a
    scalar; with ``dout``, ``f`` returns an array shaped like ``dout`` and
    the change of ``f`` is projected on it, ``sum(df * dout)``. The
    ``"one-sided"`` stencil is there to show (and recognise) what not to
    use.
    """
    offsets, weights, denom = STENCILS[stencil]
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        diff = 0.0
        for s, w in zip(offsets, weights):
            x[ix] = old + s * h
            diff = diff + w * np.array(f(), dtype=np.float64, copy=True)
        x[ix] = old
        if dout is not None:
            diff = np.sum(diff * dout)
        grad[ix] = diff / (denom * h)
    return grad


def eval_numerical_gradient(
    f: Callable[[], float], x: np.ndarray, h: float = 1e-6, *,
    order: int = 2,
) -> np.ndarray:
    """Gradient of a scalar function ``f()`` with respect to ``x``.

    ``f`` takes no arguments and reads ``x``, which is changed in place
    and restored. Returns an array shaped like ``x``. ``order`` is 2
    (centred difference) or 4 (five-point stencil, use with ``h=1e-3``).
    """
    return finite_differences(f, x, h, _stencil(order))


def eval_numerical_gradient_array(
    f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
    h: float = 1e-6, *, order: int = 2,
) -> np.ndarray:
    """Gradient of ``sum(f() * dout)`` with respect to ``x``.

    ``f`` returns an array (the forward output); ``dout`` is the upstream
    gradient of the same shape. ``x`` is changed in place and restored.
    ``order`` is 2 (centred difference) or 4 (five-point stencil, use with
    ``h=1e-3``).
    """
    return finite_differences(f, x, h, _stencil(order), dout)
