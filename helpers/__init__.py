"""Reference code, plots, widgets and checks for the RNN course.

The lessons import this package for demos and plots; the graded test cells
call :mod:`helpers.checks`; the test suite uses it as the reference that
student answers are compared with.

Conventions shared by every module
----------------------------------
Dimension letters: N samples, T time steps, D input features, H hidden
units, K outputs. A batch of sequences is an array of shape ``(N, T, D)``.

Weight matrices act on column vectors as in the lesson text
(``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)``), so ``W_xh`` has shape
``(H, D)``. Code works on row-vector batches and therefore writes
``x @ W_xh.T``. This is also the layout of ``torch.nn.RNN.weight_ih_l0``.

Parameters travel in plain dicts whose keys are the symbols of the text:

* simple RNN: ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``;
  heads ``W_hy (K, H)``, ``b_y (K,)``.
* LSTM: ``W (4H, D)``, ``U (4H, H)``, ``b (4H,)`` with the gate blocks
  stacked in PyTorch's order i, f, g, o (``W[0:H]`` is ``W_i``).
* GRU, Cho et al. form: ``W (3H, D)``, ``U (3H, H)``, ``b (3H,)`` with
  blocks r, z, h.
* GRU, PyTorch form: ``W (3H, D)``, ``U (3H, H)``, ``b_x (3H,)``,
  ``b_h (3H,)`` with blocks r, z, n.

Forward functions return ``(out, cache)`` (sequence forwards return
``(h, h_last, cache)``); backward functions take ``(dout, cache)`` and
return the input gradients followed by a dict of parameter gradients
with the same keys as the parameters.
"""

__version__ = "0.1.0"
