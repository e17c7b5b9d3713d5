"""The reference cells: the code a student may read as a second textbook.

Each module is one concept in forward/backward pairs, written to be read
top to bottom: :mod:`~helpers.reference.rnn` (lessons 2-3),
:mod:`~helpers.reference.lstm` (lesson 6), :mod:`~helpers.reference.gru`
(lesson 7), :mod:`~helpers.reference.attention` (lesson 9),
:mod:`~helpers.reference.layers` (embedding, affine, softmax loss,
clipping, optimisers, sigmoid and softmax),
:mod:`~helpers.reference.outputs` (the many-to-one head on padded
batches and sampling with a temperature, lesson 8),
:mod:`~helpers.reference.gradcheck`
(numerical gradients) and :mod:`~helpers.reference.validate` (the errors
that say which argument has which wrong shape). The fast paths live
apart, in :mod:`helpers.fast`.

One contract for every recurrent cell
-------------------------------------
The RNN, the LSTM and the GRU (Cho et al.'s form and PyTorch's) offer the
same functions in the same shape (``<cell>`` is ``rnn``, ``lstm``,
``gru`` or ``gru_torch``; the LSTM adds its cell state ``c`` wherever
there is an ``h``, shown in brackets)::

    init_<cell>_params(D, H, rng, dtype=np.float64)     -> params
    <cell>_step_forward(x, h_prev, [c_prev,] params)    -> h_next, [c_next,]
                                                           cache
    <cell>_step_backward(dh_next, [dc_next,] cache)     -> dx, dh_prev,
                                                           [dc_prev,] grads
    <cell>_forward(x, h0, [c0,] params, fast=False, workspace=None)
                                                        -> h, last, cache
    <cell>_backward(dh, cache, dh_last=None, [dc_last=None,] fast=False)
                                                        -> dx, dh0, [dc0,]
                                                           grads

``last`` is ``h_last`` (the LSTM: ``(h_last, c_last)``, like torch).

* **Caches** are tuples. A step cache is ``(x, h_prev, ..., params)``. A
  sequence cache starts with the same four entries in every cell,
  ``(x, h0, h, params, ...)``: the inputs, the initial state actually
  used, every hidden state ``h (N, T, H)`` and the parameters. The LSTM
  appends its cell states ``c0, c``; the last entry is the list of step
  caches (the simple RNN's readable cache leaves it out: its step caches
  are slices of ``x`` and ``h``, so lesson 2's cache is
  ``(x, h0, h, params)``).
* **Initial states**: ``None`` means zeros in the sequence functions,
  and the cache holds those zeros; the step functions take arrays only.
* **Gradients**: ``grads`` is a dict with the cell's parameter keys
  (other keys in ``params`` are ignored); ``dh`` is the gradient on every
  hidden state, ``dh_last`` (``dc_last``) an optional extra one on the
  final state.
* **Fast path**: ``fast=True`` on the sequence forward and backward runs
  the cell's twin in :mod:`helpers.fast` (same numbers up to rounding);
  ``workspace=`` on the forward reuses buffers. A fast cache carries the
  fast path's buffers as its last entry, and the backward must be called
  with ``fast=True`` as well.
* **Validation** happens once, at the sequence functions (shapes,
  dtypes, NaN); the step functions check shapes and dtypes only, so the
  loop over time does not re-read the weights at every step.

The attention functions follow the same pattern: ``forward(...) -> (out,
cache)`` with a tuple cache whose first entries are the inputs, and
``backward(dout, cache)`` (see :mod:`~helpers.reference.attention`).
"""
