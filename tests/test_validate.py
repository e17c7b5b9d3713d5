"""Tests for helpers/reference/validate.py: every error names the
argument, what it got and what was expected."""

import numpy as np
import pytest

from helpers.reference.validate import (check_array, check_backward,
                                        check_cache, check_dtype, check_fast,
                                        check_forward, check_keys,
                                        check_params, check_same_dtype,
                                        check_shape, check_step,
                                        check_upstream)


def test_check_array_accepts_float_arrays():
    for dtype in (np.float32, np.float64):
        a = np.zeros((2, 3), dtype)
        assert check_array("a", a, 2) is a


def test_check_array_rejects_non_arrays_ints_and_wrong_ndim():
    with pytest.raises(TypeError, match="x must be a numpy array, got list"):
        check_array("x", [1.0, 2.0])
    with pytest.raises(TypeError, match="x has dtype int64; expected "
                                        "float32 or float64"):
        check_array("x", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"x has 2 dimensions \(shape "
                                         r"\(2, 3\)\); expected 3 "
                                         r"\(N, T, D\)"):
        check_array("x", np.zeros((2, 3)), 3, "N, T, D")
    with pytest.raises(ValueError, match=r"expected 3$"):
        check_array("x", np.zeros((2, 3)), 3)


def test_check_array_locates_nan_and_inf():
    a = np.zeros((2, 3, 4))
    a[1, 2, 0] = np.nan
    a[1, 2, 3] = np.inf
    with pytest.raises(ValueError, match=r"h0 contains NaN or infinite "
                                         r"values \(2 entries, the first "
                                         r"at index \(1, 2, 0\)\)"):
        check_array("h0", a)


def test_check_shape_message_has_letters_and_numbers():
    with pytest.raises(ValueError, match=r"^h_prev has shape \(3, 4\); "
                                         r"expected \(N, H\) = \(3, 5\)$"):
        check_shape("h_prev", np.zeros((3, 4)), (3, 5), "N, H")
    check_shape("h_prev", np.zeros((3, 5)), (3, 5), "N, H")


def test_check_same_dtype():
    a, b = np.zeros(2), np.zeros(2, np.float32)
    assert check_same_dtype(a=a, c=None, d=a) == np.float64
    with pytest.raises(TypeError, match="a: float64, b: float32"):
        check_same_dtype(a=a, b=b)


def test_check_keys_and_params():
    p = {"W": np.zeros((8, 3)), "U": np.zeros((8, 2)), "b": np.zeros(8)}
    spec = {"W": ((8, 3), "4H, D"), "U": ((8, 2), "4H, H"),
            "b": ((8,), "4H")}
    assert check_params(p, spec) == np.float64
    with pytest.raises(TypeError, match="params must be a dict of arrays, "
                                        "got list"):
        check_keys([1, 2], ("W",))
    with pytest.raises(KeyError, match=r"params is missing \['U'\]; "
                                       r"expected keys \['W', 'U', 'b'\], "
                                       r"got \['W', 'b'\]"):
        check_params({"W": p["W"], "b": p["b"]}, spec)
    with pytest.raises(ValueError, match=r"params\['U'\] has shape \(8, 3\)"
                                         r"; expected \(4H, H\) = \(8, 2\)"):
        check_params(dict(p, U=np.zeros((8, 3))), spec)
    with pytest.raises(ValueError, match=r"params\['b'\] has 2 dimensions"):
        check_params(dict(p, b=np.zeros((8, 1))), spec)
    with pytest.raises(TypeError, match="share one dtype"):
        check_params(dict(p, b=np.zeros(8, np.float32)), spec)
    with pytest.raises(ValueError, match=r"layer\['W'\] contains NaN"):
        bad = dict(p, W=np.full((8, 3), np.nan))
        check_params(bad, spec, name="layer")


def test_check_dtype():
    check_dtype("x", np.zeros(2), np.float64)
    with pytest.raises(TypeError, match="x has dtype float32; expected "
                                        "float64 to match params"):
        check_dtype("x", np.zeros(2, np.float32), np.float64)
    with pytest.raises(TypeError, match="to match the forward pass"):
        check_dtype("dh", np.zeros(2, np.float32), np.float64,
                    "the forward pass")


def test_finite_false_skips_only_the_nan_scan():
    a = np.full((2, 3), np.nan)
    assert check_array("a", a, 2, finite=False) is a
    with pytest.raises(ValueError, match="expected 3"):
        check_array("a", a, 3, finite=False)
    spec = {"W": ((2, 3), "H, D")}
    assert check_params({"W": a}, spec, finite=False) == np.float64
    with pytest.raises(ValueError, match="contains NaN"):
        check_params({"W": a}, spec)


def test_check_step_checks_shapes_and_dtypes_of_x_and_states():
    x, h = np.zeros((3, 4)), np.zeros((3, 5))
    assert check_step(x, {"h_prev": h, "c_prev": h}, 4, 5, np.float64) == 3
    with pytest.raises(ValueError, match=r"c_prev has shape \(3, 4\); "
                                         r"expected \(N, H\) = \(3, 5\)"):
        check_step(x, {"h_prev": h, "c_prev": h[:, :4]}, 4, 5, np.float64)
    with pytest.raises(ValueError, match=r"x has shape \(3, 4\); "
                                         r"expected \(N, D\) = \(3, 2\)"):
        check_step(x, {"h_prev": h}, 2, 5, np.float64)
    with pytest.raises(TypeError, match="h_prev has dtype float32"):
        check_step(x, {"h_prev": h.astype(np.float32)}, 4, 5, np.float64)
    with pytest.raises(TypeError, match="h_prev must be a numpy array"):
        check_step(x, {"h_prev": None}, 4, 5, np.float64)
    check_step(np.full((3, 4), np.nan), {"h_prev": h}, 4, 5, np.float64)


def test_check_upstream():
    check_upstream("dh", np.zeros((2, 3)), (2, 3), "N, H", np.float64)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 4\)"):
        check_upstream("dh", np.zeros((2, 4)), (2, 3), "N, H", np.float64)
    with pytest.raises(TypeError, match="to match the forward pass"):
        check_upstream("dh", np.zeros((2, 3), np.float32), (2, 3), "N, H",
                       np.float64)
    nan = np.full((2, 3), np.nan)
    with pytest.raises(ValueError, match="dh contains NaN"):
        check_upstream("dh", nan, (2, 3), "N, H", np.float64)
    check_upstream("dh", nan, (2, 3), "N, H", np.float64, finite=False)


def test_check_fast_and_check_cache():
    check_fast(True, object())
    check_fast(False, None)
    with pytest.raises(ValueError, match="pass fast=True"):
        check_fast(False, object())
    a = np.zeros(1)
    check_cache((a, a, a, {}), 4, "rnn_forward")
    check_cache((a, a, a, {}, []), 5, "gru_forward")
    check_cache((a, a, a, {}, {"hs": a}), 5, "gru_forward", fast=True)
    with pytest.raises(ValueError, match=r"comes from gru_forward\(\.\.\., "
                                         r"fast=True\); pass fast=True"):
        check_cache((a, a, a, {}, {"hs": a}), 5, "gru_forward")
    with pytest.raises(ValueError, match="pass fast=True"):
        check_cache((a, a, a, {}, {"hs": a}), 4, "rnn_forward")
    with pytest.raises(TypeError, match="cache must be the tuple that "
                                        "rnn_forward returns, got list"):
        check_cache([a, a, a, {}], 4, "rnn_forward", fast=True)


def test_check_forward_gives_zeros_for_none_in_order():
    x, c0 = np.zeros((2, 3, 4)), np.ones((2, 5))
    N, T, h0, c = check_forward(x, {"h0": None, "c0": c0}, 4, 5,
                                np.float64)
    assert (N, T) == (2, 3) and c is c0
    assert h0.shape == (2, 5) and h0.dtype == np.float64 and not h0.any()
    with pytest.raises(ValueError, match=r"c0 has shape \(2, 4\); "
                                         r"expected \(N, H\) = \(2, 5\)"):
        check_forward(x, {"h0": None, "c0": np.ones((2, 4))}, 4, 5,
                      np.float64)
    with pytest.raises(ValueError, match="pass fast=True"):
        check_forward(x, {"h0": None}, 4, 5, np.float64, False, object())


def test_check_backward_checks_cache_dh_and_each_last_gradient():
    x, h = np.zeros((2, 3, 4)), np.zeros((2, 3, 5))
    cache = (x, np.zeros((2, 5)), h, {})
    last = {"dh_last": None, "dc_last": np.zeros((2, 5))}
    assert check_backward(np.zeros_like(h), cache, last, 4, "rnn_forward",
                          False) == (2, 3, 5)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 3, 4\)"):
        check_backward(np.zeros((2, 3, 4)), cache, last, 4, "rnn_forward",
                       False)
    with pytest.raises(ValueError, match=r"dc_last has shape \(2, 4\)"):
        check_backward(np.zeros_like(h), cache, {"dc_last": np.zeros((2, 4))},
                       4, "rnn_forward", False)
    with pytest.raises(ValueError, match="pass fast=True"):
        check_backward(np.zeros_like(h), cache + ({},), {}, 4,
                       "rnn_forward", False)
