"""The wire protocol between the grader and a student's kernel.

Values go through a real :class:`autograder.rpc.Endpoint` pair on a
socket pair, the served side in a thread: the grader sends a value to
a function in the "kernel" and gets back what it returned, so each
value is encoded and decoded twice.
"""

from __future__ import annotations

import math
import socket
import struct
import threading
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import rpc
from autograder.rpc import (MAX_DEPTH, ChannelClosed, Codec, Endpoint,
                            Remote, RemoteError, RemoteTimeout)


class Secret:
    """An object the protocol does not carry as data."""

    __hidden__ = "dunder names are not forwarded"

    def __init__(self) -> None:
        self.label = "kept in the kernel"

    def __eq__(self, other) -> bool:        # claims to equal everything
        return True

    __hash__ = object.__hash__


def _double_in_place(a: np.ndarray) -> None:
    a *= 2


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _fail(kind: str):
    raise {"value": ValueError("bad value"),
           "exit": SystemExit(3),
           "custom": type("Weird", (Exception,), {})("odd")}[kind]


KERNEL = {"echo": lambda x: x, "secret": Secret(), "np": np,
          "double_in_place": _double_in_place, "sleep": _sleep,
          "fail": _fail}
KERNEL["is_secret"] = lambda x: x is KERNEL["secret"]


class Pair:
    """A grader endpoint talking to a served namespace in a thread."""

    def __init__(self, timeout: float = 10.0) -> None:
        mine, theirs = socket.socketpair()
        self.kernel = Endpoint(theirs, dict(KERNEL), timeout=None)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.grader = Endpoint(mine, timeout=timeout)

    def _serve(self) -> None:
        try:
            self.kernel.serve_forever()
        except (ChannelClosed, OSError):
            pass

    def close(self) -> None:
        self.grader.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def pair():
    p = Pair()
    yield p
    p.close()


def round_trip(pair: Pair, value):
    return pair.grader.lookup("echo")(value)


def same(a, b) -> bool:
    """Equal value, equal type, all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and same(np.asarray(a), np.asarray(b))
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (
            math.isnan(a) and math.isnan(b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    return a == b


# ------------------------------------------------------------ plain data

hashable = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False) | st.binary(max_size=8),
    lambda inner: st.tuples(inner, inner), max_leaves=4)
scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text() | st.binary() | st.complex_numbers())
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(hashable, inner, max_size=4)
    | st.frozensets(hashable, max_size=4)
    | st.sets(hashable, max_size=4),
    max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(data)
def test_plain_data_round_trips(pair, value):
    assert same(round_trip(pair, value), value)


DTYPES = st.sampled_from([
    "?", "i1", "<i2", ">i4", "i8", "u1", "u2", "<u4", "u8", "f2", "<f4",
    ">f8", "c8", "c16", "S5", "U3"])


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3,
                                          min_side=0, max_side=4)))
def test_numpy_arrays_round_trip(pair, arr):
    assert same(round_trip(pair, arr), arr)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(DTYPES, ()).map(lambda a: a[()]))
def test_numpy_scalars_round_trip(pair, value):
    # np.float64 and np.str_ are a float and a str: they come back as one.
    for base in (float, str):
        if isinstance(value, base):
            value = base(value)
    assert same(round_trip(pair, value), value)


def test_views_and_float_subclasses(pair):
    arr = np.arange(24.0).reshape(4, 6)[::2, 1::3]      # not contiguous
    assert same(round_trip(pair, arr), np.ascontiguousarray(arr))
    assert same(round_trip(pair, np.float64(1.5)), 1.5)
    assert same(round_trip(pair, np.str_("h")), "h")


def test_shared_and_cyclic_containers_keep_their_shape(pair):
    inner = [1, 2]
    got = round_trip(pair, [inner, inner])
    assert got == [[1, 2], [1, 2]] and got[0] is got[1]
    loop: list = []
    loop.append(loop)
    got = round_trip(pair, loop)
    assert got[0] is got


# ------------------------------------------------------------ torch

def test_torch_tensors_dtypes_and_devices_round_trip(pair):
    t = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    got = round_trip(pair, t)
    assert isinstance(got, torch.Tensor) and got.requires_grad
    assert got.dtype == torch.float64 and torch.equal(got, t.detach())
    p = torch.nn.Parameter(torch.ones(2))
    assert isinstance(round_trip(pair, p), torch.nn.Parameter)
    assert round_trip(pair, torch.int16) is torch.int16
    assert round_trip(pair, torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("make", [
    lambda: torch.nn.Linear(3, 2),
    lambda: torch.nn.LSTM(3, 4, batch_first=True),
    lambda: torch.nn.GRU(3, 4)])
def test_standard_torch_modules_round_trip(pair, make):
    torch.manual_seed(0)
    mod = make().double()
    got = round_trip(pair, mod)
    assert type(got) is type(mod)
    assert all(torch.equal(a, b) for a, b in
               zip(mod.state_dict().values(), got.state_dict().values()))
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    want, out = mod(x), got(x)
    want, out = (want[0], out[0]) if isinstance(want, tuple) \
        else (want, out)
    assert torch.equal(want, out)


# ------------------------------------------------------- everything else

def test_other_objects_stay_remote_and_equal_nothing(pair):
    secret = pair.grader.lookup("secret")
    assert isinstance(secret, Remote)
    assert secret != 1 and not (secret == secret.label)
    assert secret.label == "kept in the kernel"
    with pytest.raises(AttributeError):
        secret.__hidden__
    # Sent back to its side, a handle is the object again.
    assert pair.grader.lookup("is_secret")(secret) is True
    assert isinstance(round_trip(pair, secret), Remote)


def test_in_place_changes_to_array_arguments_come_back(pair):
    a = np.arange(4.0)
    assert pair.grader.lookup("double_in_place")(a) is None
    assert a.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_errors_come_back_as_builtin_types_or_remote_errors(pair):
    fail = pair.grader.lookup("fail")
    with pytest.raises(ValueError, match="bad value"):
        fail("value")
    with pytest.raises(RemoteError, match="SystemExit: 3"):
        fail("exit")
    with pytest.raises(RemoteError, match="Weird: odd"):
        fail("custom")
    with pytest.raises(NameError, match="'missing' is not defined"):
        pair.grader.lookup("missing")


def test_no_answer_in_time_is_a_timeout():
    p = Pair(timeout=0.3)
    try:
        with pytest.raises(RemoteTimeout, match="no answer within 0.3 s"):
            p.grader.lookup("sleep")(2.0)
        assert p.grader.closed
        with pytest.raises(ChannelClosed):
            p.grader.lookup("echo")
    finally:
        p.close()


# ------------------------------------------------------------ refused

def _decode(obj, bufs=()):
    return Codec(None).decode(obj, list(bufs), {})


@pytest.mark.parametrize("obj, bufs, message", [
    ({"$nope": 1}, (), "unknown value tag '\\$nope'"),
    ([1, 2], (), "malformed value"),
    ({}, (), "malformed value"),
    ({"$a": {"dtype": "|O", "shape": [1], "buf": 0}}, (b"x" * 8,),
     "array of dtype object not accepted"),
    ({"$a": {"dtype": "<f8", "shape": [3], "buf": 0}}, (b"x" * 8,),
     "array size does not match its data"),
    ({"$mod": {"cls": "os:system", "state": {}}, "m": 0}, (),
     "module class 'os:system' not accepted"),
    ({"$mod": {"cls": "torch.nn.functional:relu", "state": {}}, "m": 0},
     (), "is not a torch module"),
    ({"$tdtype": "Tensor"}, (), "unknown torch dtype"),
])
def test_decoder_refuses_what_it_does_not_carry(obj, bufs, message):
    with pytest.raises(ValueError, match=message):
        _decode(obj, bufs)


def test_nesting_is_limited_both_ways():
    deep: list = []
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    codec = Codec(None)
    with pytest.raises(ValueError, match="nested too deeply"):
        codec.encode(deep, [], {})
    wire = {"$l": [], "m": 0}
    for i in range(MAX_DEPTH + 2):
        wire = {"$l": [wire], "m": i + 1}
    with pytest.raises(ValueError, match="nested too deeply"):
        codec.decode(wire, [], {})


def test_oversized_message_is_refused(monkeypatch, pair):
    monkeypatch.setattr(rpc, "MAX_MESSAGE", 1000)
    with pytest.raises(RemoteError, match="too large"):
        round_trip(pair, b"x" * 2000)
