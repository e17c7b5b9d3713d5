"""Tests for helpers/reference/gradcheck.py."""

import numpy as np
import pytest

from helpers.reference.gradcheck import (eval_numerical_gradient,
                               eval_numerical_gradient_array, rel_error)


def test_rel_error_values():
    a = np.array([1.0, 2.0, 0.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.array([1.0]), np.array([1.1])) == \
        pytest.approx(0.1 / 2.1)
    # both zero: the floor eps keeps it finite and zero
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    with pytest.raises(ValueError, match=r"shapes differ: \(2,\) vs \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("order,h,tol", [(2, 1e-5, 1e-8), (4, 1e-3, 1e-10)])
def test_scalar_gradient_of_known_function(order, h, tol):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x0 = x.copy()

    def f():
        return float(np.sum(np.sin(x) * x ** 2))

    g = eval_numerical_gradient(f, x, h=h, order=order)
    exact = np.cos(x0) * x0 ** 2 + 2 * x0 * np.sin(x0)
    assert rel_error(g, exact) < tol
    assert np.array_equal(x, x0), "x must be restored"


@pytest.mark.parametrize("order,h,tol", [(2, 1e-5, 1e-8), (4, 1e-3, 1e-10)])
def test_array_gradient_of_known_function(order, h, tol):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    W = rng.standard_normal((3, 5))
    dout = rng.standard_normal((2, 5))
    x0 = x.copy()

    def f():
        return np.tanh(x @ W)

    g = eval_numerical_gradient_array(f, x, dout, h=h, order=order)
    exact = (dout * (1 - np.tanh(x0 @ W) ** 2)) @ W.T
    assert rel_error(g, exact) < tol
    assert np.array_equal(x, x0)


def test_five_point_stencil_is_more_accurate_at_the_same_step():
    x = np.array([0.3, -1.2, 2.0])

    def f():
        return float(np.sum(np.exp(x)))

    exact = np.exp(x)
    e2 = rel_error(eval_numerical_gradient(f, x, h=1e-2), exact)
    e4 = rel_error(eval_numerical_gradient(f, x, h=1e-2, order=4), exact)
    assert e4 < e2 / 100


def test_order_two_keeps_the_original_formula():
    x = np.array([0.5, 1.5])

    def f():
        return float(np.sum(x ** 3))

    g = eval_numerical_gradient(f, x, h=1e-4)
    by_hand = np.array([((0.5 + 1e-4) ** 3 - (0.5 - 1e-4) ** 3) / 2e-4,
                        ((1.5 + 1e-4) ** 3 - (1.5 - 1e-4) ** 3) / 2e-4])
    assert np.abs(g - by_hand).max() < 1e-9


def test_bad_order_is_rejected():
    x = np.zeros(2)
    with pytest.raises(ValueError, match="order must be 2 or 4"):
        eval_numerical_gradient(lambda: 0.0, x, order=3)
    with pytest.raises(ValueError, match="order must be 2 or 4"):
        eval_numerical_gradient_array(lambda: x, x, x, order=1)
