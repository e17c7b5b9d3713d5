"""Lesson 7: a simple RNN, a GRU and an LSTM trained side by side.

Dimension letters: N samples, T time steps, D input features, H hidden
units, L the lag of the task.

The task is lesson 4's lag task (:func:`helpers.support.experiments.
lag_task`): read a sequence of ``T = L + 1`` numbers and, after the last
one, answer the number shown with the cue ``L`` steps earlier. Answering
0 gives the MSE :data:`helpers.support.experiments.BASELINE_MSE` = 1/3.

The three cells get the same budget: the same number of updates on the
same batches, the same optimiser and clipping, and about the same number
of parameters (:func:`matched_sizes` picks each cell's hidden size so
that the whole model, recurrent layer and linear head, counts within 10 %
of a target). :func:`train_cell` trains one ``torch.nn.RNN/GRU/LSTM``
and :func:`compare` trains every cell with several seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from helpers.support.experiments import BASELINE_MSE, lag_task
from helpers.support.torch_runs import clipped_update, one_thread, seeded

__all__ = ["CELLS", "model_size", "matched_sizes", "build_model",
           "CellRun",
           "train_cell", "compare", "summarise", "BASELINE_MSE"]

#: The cells compared, in the order of lessons 2, 7 and 6.
CELLS = ("rnn", "gru", "lstm")
_MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU,
            "lstm": torch.nn.LSTM}


def _check_cell(cell: str) -> str:
    if cell not in _MODULES:
        raise ValueError(f"cell is {cell!r}; expected one of {CELLS}")
    return cell


def _model(cell: str, D: int, H: int, K: int = 1):
    return (_MODULES[_check_cell(cell)](D, H, batch_first=True),
            torch.nn.Linear(H, K))


def model_size(cell: str, D: int, H: int, K: int = 1) -> int:
    """Parameters of the recurrent layer plus its ``Linear(H, K)`` head,
    counted on the torch modules themselves."""
    return sum(p.numel() for m in _model(cell, D, H, K)
               for p in m.parameters())


_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}


def matched_sizes(D: int, budget: int, K: int = 1, cells=CELLS
                  ) -> dict[str, int]:
    """``{cell: H}``: for each cell the hidden size whose model size
    (:func:`model_size`) is closest to ``budget``.

    The search uses the count ``blocks * H * (D + H + 2) + H * K + K``
    (torch keeps two biases per block); the size chosen is counted
    again on the torch modules.

    Raises
    ------
    ValueError
        If some cell cannot come within 10 % of the budget.
    """
    out = {}
    for cell in cells:
        k = _BLOCKS[_check_cell(cell)]
        H = min(range(1, 1025), key=lambda h: abs(
            k * h * (D + h + 2) + h * K + K - budget))
        n = model_size(cell, D, H, K)
        if abs(n - budget) > 0.1 * budget:
            raise ValueError(f"{cell}: no hidden size within 10 % of "
                             f"{budget} parameters (closest H={H}: {n})")
        out[cell] = H
    return out


def build_model(cell: str, H: int, keep_bias: float = 0.0,
                seed: int = 0):
    """``(recurrent layer, Linear(H, 1) head)`` for the lag task's two
    features, torch's default initialisation under ``seed``, plus
    ``keep_bias`` on the bias of the gate that keeps the memory: block
    1 of the LSTM (order i, f, g, o: the forget gate f) and of the GRU
    (order r, z, n: the update gate z, which in PyTorch's form weights
    the old state). The simple RNN has no such gate."""
    with seeded(seed):
        rnn, head = _model(cell, 2, H)
    if cell != "rnn" and keep_bias:
        with torch.no_grad():
            rnn.bias_ih_l0[H:2 * H] += keep_bias
    return rnn, head


@dataclass
class CellRun:
    """One training run of :func:`train_cell`.

    Attributes
    ----------
    cell : str
    H, n_params : int
        Hidden size; parameters of the model (layer and head).
    losses : ndarray, shape (steps,)
        Training MSE per update.
    test_mse : float
        MSE on held-out sequences.
    r2 : float
        ``1 - test_mse / BASELINE_MSE`` on the held-out sequences: 1 is
        perfect recall, 0 is no better than answering 0.
    seconds_per_update : float
        Median wall time of one update (forward, backward, step).
    config : dict
        Keyword arguments that reproduce the run.
    """

    cell: str
    H: int
    n_params: int
    losses: np.ndarray
    test_mse: float
    r2: float
    seconds_per_update: float
    config: dict = field(default_factory=dict)


def train_cell(cell: str, L: int, H: int, *, steps: int = 300,
               N: int = 64, lr: float = 1e-2, clip: float = 1.0,
               keep_bias: float = 0.0, seed: int = 0, n_test: int = 1000,
               progress: bool = False) -> CellRun:
    """Train ``torch.nn.<cell>`` and a linear head on the lag task.

    Adam on fresh batches (the data depend on ``seed`` and ``L`` only,
    so every cell sees the same batches), the MSE after the last step
    as the loss, gradients clipped to a global norm of ``clip``. Seeded
    and on one thread: the same arguments give the same run.

    Parameters
    ----------
    cell : {"rnn", "gru", "lstm"}
    L : int
        The lag.
    H : int
        Hidden size.
    steps, N : int
        Updates and batch size.
    lr, clip : float
        Adam's learning rate; the largest global gradient norm.
    seed : int
        Seeds the weights and the data.
    n_test : int
        Held-out sequences for ``test_mse`` and ``r2``.
    progress : bool
        A tqdm bar over the updates.
    """
    config = dict(cell=cell, L=int(L), H=int(H), steps=steps, N=N, lr=lr,
                  clip=clip, keep_bias=keep_bias, seed=seed, n_test=n_test)
    with one_thread():
        rnn, head = build_model(cell, H, keep_bias, seed)
        params = list(rnn.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=lr)
        data = np.random.default_rng([seed, L])
        it = range(steps)
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it, desc=f"{cell}, seed {seed}", leave=False)
        losses, times = [], []
        for _ in it:
            X, y = (torch.from_numpy(a) for a in lag_task(N, L, data))
            start = time.perf_counter()
            out, _ = rnn(X)                                # (N, T, H)
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), y)
            clipped_update(opt, loss, params, clip)
            times.append(time.perf_counter() - start)
            losses.append(loss.item())
        X, y = (torch.from_numpy(a) for a in lag_task(
            n_test, L, np.random.default_rng([seed, L, 1])))
        with torch.no_grad():
            test_mse = float(torch.mean((head(rnn(X)[0][:, -1]) - y) ** 2))
    return CellRun(cell=cell, H=int(H), n_params=sum(
        p.numel() for p in params), losses=np.array(losses),
        test_mse=test_mse, r2=1.0 - test_mse / BASELINE_MSE,
        seconds_per_update=float(np.median(times)), config=config)


def compare(sizes: dict[str, int], L: int, seeds=(0, 1, 2),
            progress: bool = True, **kwargs) -> dict[str, list[CellRun]]:
    """Train every cell of ``sizes`` (``{cell: H}``) once per seed, with
    the same settings (``kwargs`` go to :func:`train_cell`).

    Returns ``{cell: [CellRun per seed]}``.
    """
    jobs = [(cell, seed) for seed in seeds for cell in sizes]
    runs: dict[str, list[CellRun]] = {cell: [] for cell in sizes}
    it = jobs
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(jobs, desc=f"3 cells x {len(seeds)} seeds, lag {L}")
    for cell, seed in it:
        runs[cell].append(train_cell(cell, L, sizes[cell], seed=seed,
                                     **kwargs))
    return runs


def summarise(runs: dict[str, list[CellRun]]) -> dict[str, dict]:
    """Per cell: ``r2`` (one per seed), their ``median``, ``min`` and
    ``max``, ``ms_per_update`` (median over the seeds) and ``n_params``."""
    out = {}
    for cell, rs in runs.items():
        r2 = np.array([r.r2 for r in rs])
        out[cell] = dict(r2=r2, median=float(np.median(r2)),
                         min=float(r2.min()), max=float(r2.max()),
                         ms_per_update=1e3 * float(np.median(
                             [r.seconds_per_update for r in rs])),
                         n_params=rs[0].n_params, H=rs[0].H)
    return out
