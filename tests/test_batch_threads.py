"""Tests for helpers/fast/threads.py and the LSTM's batch split: the split
gives the numbers of the readable path, runs in parallel threads with
numpy's BLAS limited to one thread, restores it, and fails cleanly."""

import threading

import numpy as np
import pytest
import torch

from helpers.fast import threads as batch_threads
from helpers.fast.threads import (MIN_ROWS, MIN_SLICE_MACS, batch_slices,
                                  blas_threads, run_slices)
from helpers.fast.workspace import Workspace
from helpers.reference.lstm import (init_lstm_params, lstm_backward,
                                    lstm_forward)
from helpers.support.torch_weights import params_to_torch

KEYS = ("W", "U", "b")


@pytest.mark.parametrize("N,threads", [(1, 2), (7, 2), (16, 2), (17, 2),
                                       (33, 4), (100, 3), (64, 1)])
def test_batch_slices_cover_the_batch_in_near_equal_parts(N, threads):
    slices = batch_slices(N, threads)
    rows = np.concatenate([np.arange(N)[s] for s in slices])
    assert np.array_equal(rows, np.arange(N))       # in order, no gaps
    sizes = [s.stop - s.start for s in slices]
    assert len(slices) == max(1, min(threads, N // MIN_ROWS))
    assert max(sizes) - min(sizes) <= 1
    if len(slices) > 1:
        assert min(sizes) >= MIN_ROWS


def test_run_slices_uses_threads_and_limits_blas_meanwhile():
    before = blas_threads()
    seen = []

    def fn(k, s):
        seen.append((k, threading.get_ident(), blas_threads()))
        return s.stop - s.start

    out = run_slices(fn, batch_slices(40, 2))
    assert out == [20, 20]
    assert sorted(k for k, _, _ in seen) == [0, 1]
    assert len({ident for _, ident, _ in seen}) == 2       # two threads
    assert all(n == 1 for _, _, n in seen)                  # BLAS limited
    assert blas_threads() == before                         # and restored


def test_run_slices_propagates_errors_and_restores_blas():
    before = blas_threads()

    def fn(k, s):
        if k == 1:
            raise ValueError("slice 1 is bad")
        return k

    with pytest.raises(ValueError, match="slice 1 is bad"):
        run_slices(fn, batch_slices(40, 2))
    assert blas_threads() == before
    assert run_slices(lambda k, s: k, batch_slices(40, 2)) == [0, 1]


def test_nested_split_runs_serially():
    def inner(k, s):
        return run_slices(lambda j, t: threading.get_ident(),
                          batch_slices(40, 2))

    for idents in run_slices(inner, batch_slices(40, 2)):
        assert len(set(idents)) == 1        # the inner split did not fork


def test_no_thread_available_falls_back_to_serial(monkeypatch):
    class NoThreads:
        def submit(self, *args):
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(batch_threads, "_executor", lambda n: NoThreads())
    me = threading.get_ident()
    out = run_slices(lambda k, s: (k, threading.get_ident()),
                     batch_slices(40, 2))
    assert out == [(0, me), (1, me)]


def make(N, T=6, D=5, H=7, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = init_lstm_params(D, H, rng, dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    return x, h0, c0, p, dh


@pytest.mark.parametrize("N,threads", [(16, 2), (33, 3), (41, 4)])
def test_lstm_split_matches_the_readable_path(N, threads):
    x, h0, c0, p, dh = make(N)
    rng = np.random.default_rng(1)
    dh_last, dc_last = rng.standard_normal((2,) + h0.shape)
    h, (hT, cT), cache = lstm_forward(x, h0, c0, p)
    ref = lstm_backward(dh, cache, dh_last, dc_last)
    ws = Workspace(threads=threads)
    for _ in range(2):                   # and again, reusing the buffers
        h2, (hT2, cT2), cache2 = lstm_forward(x, h0, c0, p, fast=True,
                                              workspace=ws)
        assert len(cache2[6]["slices"]) == threads
        out = lstm_backward(dh, cache2, dh_last, dc_last, fast=True)
        for a, b in [(h, h2), (hT, hT2), (cT, cT2), (cache[5], cache2[5])]:
            assert np.abs(a - b).max() < 1e-13
        for a, b in zip(ref[:3], out[:3]):
            assert a.shape == b.shape and np.abs(a - b).max() < 1e-13
        for k in KEYS:
            assert np.abs(ref[3][k] - out[3][k]).max() < 1e-12


def test_lstm_split_matches_torch_in_float32():
    N, T, D, H = 32, 20, 16, 24
    x, h0, c0, p, dh = make(N, T, D, H, dtype=np.float32)
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    params_to_torch([[p]], lstm)
    xt = torch.from_numpy(x).requires_grad_()
    out, _ = lstm(xt, (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    out.backward(torch.from_numpy(dh))
    h, _, cache = lstm_forward(x, h0, c0, p, fast=True,
                               workspace=Workspace(threads=2))
    dx, _, _, grads = lstm_backward(dh, cache, fast=True)
    assert np.abs(h - out.detach().numpy()).max() < 1e-5
    assert np.abs(dx - xt.grad.numpy()).max() < 1e-5
    assert np.abs(grads["U"] - lstm.weight_hh_l0.grad.numpy()).max() < 1e-4


def test_lstm_split_stale_cache_raises_and_threads_1_does_not_split():
    x, h0, c0, p, dh = make(32)
    ws = Workspace(threads=2)
    _, _, old = lstm_forward(x, h0, c0, p, fast=True, workspace=ws)
    lstm_forward(x, h0, c0, p, fast=True, workspace=ws)
    with pytest.raises(RuntimeError, match="cache was overwritten"):
        lstm_backward(dh, old, fast=True)
    _, _, cache = lstm_forward(x, h0, c0, p, fast=True,
                               workspace=Workspace(threads=1))
    assert "slices" not in cache[6]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_workspace_rejects_bad_thread_counts(bad):
    with pytest.raises(ValueError, match="threads must be None or an int"):
        Workspace(threads=bad)


def _split_in_child(queue):
    x, h0, c0, p, dh = make(32)
    _, _, cache = lstm_forward(x, h0, c0, p, fast=True,
                               workspace=Workspace(threads=2))
    queue.put(float(lstm_backward(dh, cache, fast=True)[0].sum()))


def test_split_works_in_a_forked_child():
    # the parent's pool threads do not exist in a forked child
    import multiprocessing
    run_slices(lambda k, s: k, batch_slices(40, 2))      # pool started
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_split_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0, "the split hung after fork"
    x, h0, c0, p, dh = make(32)
    _, _, cache = lstm_forward(x, h0, c0, p)
    assert np.isclose(queue.get(timeout=5),
                      lstm_backward(dh, cache)[0].sum())


def test_automatic_split_only_where_slices_have_enough_work():
    # LSTM recurrent matmul: 4H * H multiply-adds per row and step
    assert len(batch_slices(32, 2, 4 * 128 * 128)) == 2
    assert len(batch_slices(16, 2, 4 * 128 * 128)) == 1
    assert len(batch_slices(32, 2, 4 * 64 * 64)) == 1
    assert len(batch_slices(128, 2, 4 * 64 * 64)) == 2
    for N, H in [(16, 128), (32, 128), (32, 64), (128, 64), (1000, 8)]:
        for s in batch_slices(N, 2, 4 * H * H):
            rows = s.stop - s.start
            assert rows == N or rows * 4 * H * H >= MIN_SLICE_MACS


def test_workspace_default_splits_the_benchmark_size_but_not_tiny_ones():
    for N, H, parts in [(32, 128, min(2, blas_threads())), (32, 7, 1)]:
        x, h0, c0, p, dh = make(N, T=3, D=4, H=H, dtype=np.float32)
        _, _, cache = lstm_forward(x, h0, c0, p, fast=True,
                                   workspace=Workspace())
        assert len(cache[6].get("slices", [0])) == parts
