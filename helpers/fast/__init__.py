"""The fast paths of the reference cells, and their plumbing.

Not meant for reading alongside a lesson: each module here computes what
its twin in :mod:`helpers.reference` computes, with the input projection
hoisted out of the time loop, preallocated buffers and batch threads.

* :mod:`~helpers.fast.rnn`, :mod:`~helpers.fast.lstm`,
  :mod:`~helpers.fast.gru`: the fast forward and backward of each cell
  (``rnn_forward_fast``, ``rnn_backward_fast``, ...);
* :mod:`~helpers.fast.workspace`: :class:`Workspace` (buffers reused from
  call to call), the fast caches and the steps all fast paths share;
* :mod:`~helpers.fast.threads`: splitting a batch across threads.

The reference functions call them when passed ``fast=True``, after they
validated their inputs, so the functions here check nothing but the
workspace; the tests prove every fast path equal to its readable twin.
"""

from helpers.fast.workspace import Workspace

__all__ = ["Workspace"]
