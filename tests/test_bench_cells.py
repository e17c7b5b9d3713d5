"""The speed benchmark (benchmarks/bench_cells.py) runs and measures what
it says: its FLOP count, its kernel detection and a smoke run."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_cells  # noqa: E402


def test_matmul_flops_counts_forward_and_backward_products():
    # one x W^T and one h U^T per step forward, three of each backward
    N, T, D, H = 2, 3, 4, 5
    assert bench_cells.matmul_flops("rnn", N, T, D, H) == \
        3 * (2 * N * H * D + 2 * N * H * H) * T
    assert bench_cells.matmul_flops("lstm", N, T, D, H) == \
        4 * bench_cells.matmul_flops("rnn", N, T, D, H)


def test_torch_kernel_names_the_path_torch_took():
    x = torch.randn(2, 3, 4, requires_grad=True)
    gru = torch.nn.GRU(4, 5).double()
    assert bench_cells.torch_kernel(gru, x.double()) == "aten per step"
    lstm = torch.nn.LSTM(4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # a note about Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False):
            assert bench_cells.torch_kernel(lstm, x) == "aten per step"
    if torch.backends.mkldnn.is_available():
        assert bench_cells.torch_kernel(lstm, x) == "oneDNN fused"


def test_benchmark_quick_run_prints_ratios():
    """Smoke run of benchmarks/bench_cells.py (the speed benchmark
    compares these numpy cells with torch.nn)."""
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_cells.py"),
         "--quick"], capture_output=True, text=True, cwd=ROOT,
        timeout=300)
    assert res.returncode == 0, res.stderr
    for word in ("rnn", "lstm", "gru", "float32", "float64", "GFLOP/s",
                 "torch threads"):
        assert word in res.stdout, word


def test_targets_summary_says_met_and_missed():
    text = bench_cells.targets_summary([
        ("rnn", "float32", 0.5, 30.0, "aten per step", 0.3),
        ("lstm", "float32", 1.2, 45.0, "oneDNN fused", 0.8),
        ("lstm", "float64", 0.5, 20.0, "aten per step", 0.25),
        ("gru", "float64", 1.5, 20.0, "aten per step", 1.1),
    ])
    lines = text.splitlines()
    assert lines[1].endswith("met")
    assert "1.20  MISSED; 45 % of ceiling met (torch ran its oneDNN fused" \
        in lines[2]
    assert lines[3].endswith("matmuls alone 0.80, the rest 0.40")
    assert lines[4].endswith("0.50  met")
    assert lines[6].endswith("the rest 0.40 (out of reach with this BLAS)")


def test_pass_matmuls_are_the_products_of_forward_and_backward():
    # the FLOPs of matmul_flops, plus the bias columns (one in the input
    # projection, one in the weight gradient), in 2 T + 3 products
    N, T, D, H = 3, 5, 4, 6
    for cell, k in bench_cells.GATE_BLOCKS.items():
        products = bench_cells.pass_matmuls(cell, np.float64, N, T, D, H)
        assert len(products) == 2 * T + 3
        flops = 0
        for a, b, out in products:
            assert np.matmul(a, b).shape == out.shape
            flops += 2 * out.size * a.shape[-1]
        assert flops == bench_cells.matmul_flops(cell, N, T, D, H) \
            + 2 * 2 * k * H * T * N


def test_matmul_floor_times_one_slice():
    args = ("lstm", np.float32, 8, 5, 3, 4)
    for slices in (1, 2):
        seconds = bench_cells.matmul_floor(*args, slices=slices, repeats=3,
                                           warmup=1)
        assert 0 < seconds < 1
