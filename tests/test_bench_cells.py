"""The speed benchmark (benchmarks/bench_cells.py) runs and measures what
it says: its FLOP count, its kernel detection and a smoke run."""

import subprocess
import sys
import warnings
from pathlib import Path

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
        ("rnn", "float32", 0.5, 30.0, "aten per step"),
        ("lstm", "float32", 1.2, 45.0, "oneDNN fused"),
        ("lstm", "float64", 0.5, 20.0, "aten per step"),
    ])
    lines = text.splitlines()
    assert lines[1].endswith("met")
    assert "1.20  MISSED; 45 % of ceiling met (torch ran its oneDNN fused" \
        in lines[2]
    assert lines[3].endswith("0.50  met")
