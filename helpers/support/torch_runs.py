"""How the lessons' torch training loops run and take an update.

* :func:`seeded` runs a block with torch's global generator seeded
  (weights drawn under a seed), leaving the generator outside as it was;
* :func:`one_thread` runs torch on one thread (small nets are fastest
  so, and a fixed thread count makes a seeded run give the same numbers
  in any process on the machine), optionally seeded too; the thread
  count is restored after.
* :func:`clipped_update` is one update of every loop that clips: zero
  the gradients, backpropagate the loss, clip the global gradient norm,
  let the optimiser (Adam in the lessons) step.

torch is imported when these run, not when this module is imported.
"""

from __future__ import annotations

import contextlib
from typing import Iterable

__all__ = ["seeded", "one_thread", "clipped_update"]


@contextlib.contextmanager
def seeded(seed: int | None):
    """Torch's global CPU generator seeded from ``seed`` during the
    ``with`` block (``torch.random.fork_rng``: the generator outside is
    left as it was); ``None`` leaves it alone."""
    if seed is None:
        yield
        return
    import torch
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def one_thread(seed: int | None = None):
    """Torch on one thread during the ``with`` block, and
    :func:`seeded` from ``seed`` unless it is ``None``; the thread count
    is restored after."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with seeded(seed):
            yield
    finally:
        torch.set_num_threads(n)


def clipped_update(opt, loss, params: Iterable, clip: float) -> None:
    """One update: zero the gradients of ``opt``, backpropagate
    ``loss``, clip the global norm of the gradients of ``params`` at
    ``clip`` (``torch.nn.utils.clip_grad_norm_``) and step ``opt``."""
    import torch
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()
