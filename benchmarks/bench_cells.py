"""Speed of the numpy cells against torch.nn on the CPU.

Run ``python benchmarks/bench_cells.py`` (``--quick`` for a smoke run).
For the simple RNN, the LSTM and the GRU (PyTorch form) at N=32, T=50,
D=64, H=128 in float32 and float64, it times forward + backward of the
numpy fast path (``fast=True`` on forward and backward, with a reused
``Workspace``; the LSTM splits the batch over as many threads as numpy's
BLAS has, see ``helpers/fast/threads.py``) and of the
matching ``torch.nn`` module (``batch_first=True``, gradients for the
weights and the input, like the numpy side), in one process, in
alternating blocks of repeats, and prints the median times, their ratio
numpy / torch, and the achieved GFLOP/s of the numpy side against the
GFLOP/s of one large matmul measured in the same run (the ceiling).

Torch gets as many threads as numpy's BLAS. Both libraries keep their
worker threads spinning for a while after a call, so each block runs
one library only, after a pause that lets the other library's threads
go idle and a few warm-up calls.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.fast.threads import batch_slices  # noqa: E402
from helpers.fast.workspace import Workspace  # noqa: E402
from helpers.reference.gru import gru_torch_backward  # noqa: E402
from helpers.reference.gru import gru_torch_forward  # noqa: E402
from helpers.reference.gru import init_gru_torch_params  # noqa: E402
from helpers.reference.lstm import init_lstm_params  # noqa: E402
from helpers.reference.lstm import lstm_backward, lstm_forward  # noqa: E402
from helpers.reference.rnn import init_rnn_params  # noqa: E402
from helpers.reference.rnn import rnn_backward, rnn_forward  # noqa: E402
from helpers.support.torch_weights import params_to_torch  # noqa: E402

#: number of gate blocks per cell: the weight matrices are (k H, D), (k H, H)
GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}


def blas_threads() -> tuple[int, str]:
    """Threads of numpy's BLAS and its name."""
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return int(info["num_threads"]), info["internal_api"]
    except ImportError:
        pass
    n = os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1
    return int(n), "unknown BLAS"


def matmul_flops(cell: str, N: int, T: int, D: int, H: int) -> float:
    """Floating-point operations of the matmuls of forward + backward.

    Forward: ``x W^T`` and ``h U^T`` at every step; backward: ``dx``,
    ``dW``, ``dh_prev`` and ``dU``, each the size of one of these.
    """
    k = GATE_BLOCKS[cell]
    return 3 * 2.0 * N * T * k * H * (D + H)


def ceiling_gflops(dtype, n: int, repeats: int) -> float:
    """GFLOP/s of one large ``n x n`` matmul, the ceiling for numpy.

    Taken from the fastest repeat: a ceiling is what the machine can do,
    and the other repeats are slowed down by whatever else runs.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    times = block(lambda: np.matmul(a, b, out=out), repeats, warmup=2)
    return 2.0 * n ** 3 / np.min(times) / 1e9


def pass_matmuls(cell: str, dtype, n: int, T: int, D: int, H: int):
    """The matmuls of one numpy forward + backward over ``n`` samples, as
    ``(a, b, out)`` triples with random operands, in the fast path's
    shapes: the input projection of all steps (bias as a column), ``T``
    recurrent products forward and ``T`` backward, then one matmul for
    ``[dW | dU | db]`` and one for the input gradient."""
    k = GATE_BLOCKS[cell]
    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape).astype(dtype)

    U, h, U_T, dA = arr(k * H, H), arr(H, n), arr(H, k * H), arr(k * H, n)
    dA_flat = arr(k * H, T * n)                                # (kH, T n)
    pre, dh = np.empty((k * H, n), dtype), np.empty((H, n), dtype)
    return ([(arr(k * H, D + 1), arr(T, D + 1, n),
              np.empty((T, k * H, n), dtype))]
            + [(U, h, pre)] * T + [(U_T, dA, dh)] * T
            + [(dA_flat, arr(T * n, D + H + 1),
                np.empty((k * H, D + H + 1), dtype)),
               (arr(D, k * H), dA_flat, np.empty((D, T * n), dtype))])


def matmul_floor(cell: str, dtype, N: int, T: int, D: int, H: int,
                 slices: int, repeats: int, warmup: int) -> float:
    """Median seconds of the matmuls alone of one numpy forward + backward
    (:func:`pass_matmuls`), with the numpy pass's threads: one slice of the
    batch on one BLAS thread when the pass splits the batch into
    ``slices`` (the slices run in parallel), else the whole batch with
    numpy's BLAS threads. No numpy pass built on these matmuls can be
    faster: the element-wise work and the Python calls only add to it.
    """
    from threadpoolctl import threadpool_limits
    products = pass_matmuls(cell, dtype, -(-N // slices), T, D, H)

    def matmuls():
        for a, b, out in products:
            np.matmul(a, b, out=out)

    with threadpool_limits(1 if slices > 1 else None, "blas"):
        return float(np.median(block(matmuls, repeats, warmup)))


#: Seconds of rest before each block: OpenBLAS's idle worker threads spin
#: for about 2**28 cycles (~0.1 s) after a call, and a block timed while
#: the other library's threads still spin would be slowed by them.
QUIET = 0.25


def block(fn, repeats: int, warmup: int) -> list[float]:
    time.sleep(QUIET)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def torch_kernel(module: torch.nn.Module, xt: torch.Tensor) -> str:
    """Which implementation torch picked: its fused oneDNN RNN kernel
    (found in the autograd graph) or a loop of per-step aten ops."""
    out, _ = module(xt)
    stack, seen = [out.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        if "Mkldnn" in fn.name():
            return "oneDNN fused"
        seen.add(fn)
        stack += [nxt for nxt, _ in fn.next_functions]
    return "aten per step"


def make_pair(cell: str, dtype, N: int, T: int, D: int, H: int):
    """Numpy and torch forward+backward closures on the same data."""
    rng = np.random.default_rng(0)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    x = rng.standard_normal((N, T, D)).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    if cell == "rnn":
        params = init_rnn_params(D, H, rng, dtype)
        module = torch.nn.RNN(D, H, batch_first=True)
    elif cell == "lstm":
        params = init_lstm_params(D, H, rng, dtype)
        module = torch.nn.LSTM(D, H, batch_first=True)
    else:
        params = init_gru_torch_params(D, H, rng, dtype)
        module = torch.nn.GRU(D, H, batch_first=True)
    module = module.to(tdtype)
    params_to_torch([[params]], module)
    ws = Workspace()

    if cell == "rnn":
        def numpy_step():
            _, _, cache = rnn_forward(x, None, params, True, ws)
            rnn_backward(dh, cache, fast=True)
    elif cell == "lstm":
        def numpy_step():
            _, _, cache = lstm_forward(x, None, None, params, True, ws)
            lstm_backward(dh, cache, fast=True)
    else:
        def numpy_step():
            _, _, cache = gru_torch_forward(x, None, params, True, ws)
            gru_torch_backward(dh, cache, fast=True)

    xt = torch.from_numpy(x).requires_grad_()
    dht = torch.from_numpy(dh)

    def torch_step():
        module.zero_grad(set_to_none=True)
        xt.grad = None
        out, _ = module(xt)
        out.backward(dht)

    def torch_step_generic():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # a note about TF32 on GPUs
            with torch.backends.mkldnn.flags(enabled=False):
                torch_step()

    return numpy_step, torch_step, torch_step_generic, \
        torch_kernel(module, xt)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: few repeats, small ceiling matmul")
    ap.add_argument("--repeats", type=int, default=15,
                    help="timed calls per block (default 15)")
    ap.add_argument("--blocks", type=int, default=4,
                    help="alternating blocks per library (default 4)")
    args = ap.parse_args(argv)
    N, T, D, H = 32, 50, 64, 128
    repeats, blocks, warmup, n_ceil = args.repeats, args.blocks, 2, 2048
    if args.quick:
        global QUIET
        repeats, blocks, warmup, n_ceil, QUIET = 2, 1, 1, 512, 0.0

    threads, blas = blas_threads()
    split = len(batch_slices(N, threads, 4 * H * H))   # LSTM batch slices
    torch.set_num_threads(threads)
    print(f"numpy {np.__version__} ({blas}, {threads} BLAS threads), "
          f"torch {torch.__version__} (torch threads set to "
          f"{torch.get_num_threads()}, equal to numpy's), "
          f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}")
    print(f"N={N} T={T} D={D} H={H}; forward + backward incl. input "
          f"gradient; {blocks} x {repeats} timed calls per side, "
          f"medians; numpy side: fast path with a reused Workspace "
          f"(LSTM: batch split into {split} slices)")
    print()
    header = (f"{'cell':5} {'dtype':8} {'numpy ms':>9} {'torch ms':>9} "
              f"{'np/torch':>9} {'GFLOP/s':>8} {'% ceiling':>9} "
              f"{'matmuls ms':>10}   "
              f"{'best: np ms':>11} {'torch ms':>9} {'np/torch':>9}  "
              f"torch kernel")
    results = []      # (cell, dtype, ratio, % ceiling, kernel, floor/torch)
    for dtype in (np.float32, np.float64):
        ceiling = ceiling_gflops(dtype, n_ceil, 3 if args.quick else 7)
        print(f"{np.dtype(dtype).name}: large-matmul ceiling "
              f"({n_ceil}x{n_ceil}) {ceiling:.1f} GFLOP/s")
        print(header)
        for cell in ("rnn", "lstm", "gru"):
            numpy_step, torch_step, torch_generic, kernel = make_pair(
                cell, dtype, N, T, D, H)
            t_np, t_torch = [], []
            for _ in range(blocks):
                t_np += block(numpy_step, repeats, warmup)
                t_torch += block(torch_step, repeats, warmup)
            m_np, m_torch = np.median(t_np), np.median(t_torch)
            b_np, b_torch = np.min(t_np), np.min(t_torch)
            gflops = matmul_flops(cell, N, T, D, H) / m_np / 1e9
            floor = matmul_floor(cell, dtype, N, T, D, H,
                                 split if cell == "lstm" else 1,
                                 repeats * blocks, warmup)
            print(f"{cell:5} {np.dtype(dtype).name:8} {m_np * 1e3:9.2f} "
                  f"{m_torch * 1e3:9.2f} {m_np / m_torch:9.2f} "
                  f"{gflops:8.1f} {100 * gflops / ceiling:8.1f}% "
                  f"{floor * 1e3:10.2f}   "
                  f"{b_np * 1e3:11.2f} {b_torch * 1e3:9.2f} "
                  f"{b_np / b_torch:9.2f}  {kernel}")
            results.append((cell, np.dtype(dtype).name, m_np / m_torch,
                            100 * gflops / ceiling, kernel,
                            floor / m_torch))
            if kernel != "aten per step":
                # for context: torch's generic path, without oneDNN
                t_gen = []
                for _ in range(blocks):
                    t_gen += block(torch_generic, repeats, warmup)
                m_gen = np.median(t_gen)
                print(f"{'':5} {'':8} {'':9} {m_gen * 1e3:9.2f} "
                      f"{m_np / m_gen:9.2f}  (torch with oneDNN off, for "
                      f"context)")
        print()
    print("np/torch < 1 means the numpy cell is faster. Times are medians; "
          "'best' columns are the fastest call of each side (less affected "
          "by other processes on shared cores). GFLOP/s (from the median) "
          "counts the matmuls of forward and backward only; the ceiling is "
          "the fastest of the large matmuls. 'matmuls ms' times the "
          "matmuls of one numpy pass alone (same shapes and threads, one "
          "slice of a split batch): no numpy pass built on them can be "
          "faster.")
    print()
    print(targets_summary(results))
    return 0


def targets_summary(results) -> str:
    """The speed targets, met or not: numpy / torch <= 1.0 for every cell
    and dtype (medians), and the float32 LSTM at >= 30 % of the ceiling."""
    lines = ["targets: np/torch <= 1.0 everywhere; float32 LSTM >= 30 % "
             "of the matmul ceiling"]
    for cell, dtype, ratio, pct, kernel, floor in results:
        verdict = "met" if ratio <= 1.0 else "MISSED"
        line = f"  {cell:5} {dtype:8} np/torch {ratio:5.2f}  {verdict}"
        if cell == "lstm" and dtype == "float32":
            line += (f"; {pct:.0f} % of ceiling "
                     f"{'met' if pct >= 30 else 'MISSED'}")
        if verdict == "MISSED" and kernel != "aten per step":
            line += f" (torch ran its {kernel} kernel)"
        if verdict == "MISSED":          # where the numpy time goes
            line += (f"\n{'':17}in units of torch's pass: matmuls alone "
                     f"{floor:.2f}, the rest {ratio - floor:.2f}")
            if floor >= 1.0:
                line += " (out of reach with this BLAS)"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
