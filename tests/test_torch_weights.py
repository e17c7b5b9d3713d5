"""Tests for helpers/support/torch_weights.py: the weight mapping both ways and
numpy stacks (1 and 2 layers, uni- and bidirectional) against torch."""

import numpy as np
import pytest
import torch

from helpers.reference.gradcheck import (eval_numerical_gradient_array,
                                         rel_error)
from helpers.reference.gru import init_gru_params
from helpers.support.torch_weights import (cell_of, grads_from_torch,
                                   params_from_torch, params_to_torch,
                                   stack_backward, stack_forward)

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
N, T, D, H = 3, 5, 4, 6


def torch_run(module, cell, x, h0, c0, dout, dh_n, dc_n):
    """Forward and backward in torch; return outputs and all gradients."""
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0).requires_grad_()
    if cell == "lstm":
        c0t = torch.from_numpy(c0).requires_grad_()
        out, (hn, cn) = module(xt, (h0t, c0t))
        loss = (cn * torch.from_numpy(dc_n)).sum()
    else:
        out, hn = module(xt, h0t)
        loss = 0.0
    loss = loss + (out * torch.from_numpy(dout)).sum() \
        + (hn * torch.from_numpy(dh_n)).sum()
    module.zero_grad()
    loss.backward()
    res = {"out": out, "h_n": hn, "dx": xt.grad, "dh0": h0t.grad}
    if cell == "lstm":
        res.update(c_n=cn, dc0=c0t.grad)
    return {k: v.detach().numpy() for k, v in res.items()}


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", sorted(MODULES))
def test_stack_parity_with_torch_float64(cell, num_layers, bidirectional,
                                         fast):
    rng = np.random.default_rng(num_layers + 2 * bidirectional)
    torch.manual_seed(0)
    module = MODULES[cell](D, H, num_layers=num_layers, batch_first=True,
                           bidirectional=bidirectional).double()
    layers = params_from_torch(module)
    for row in layers:            # move away from torch's initial values,
        for p in row:             # so params_to_torch is exercised too
            for k in p:
                p[k] = p[k] + 0.2 * rng.standard_normal(p[k].shape)
    params_to_torch(layers, module)
    nd = 2 if bidirectional else 1
    S = (num_layers * nd, N, H)
    x = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal(S), rng.standard_normal(S)
    dout = rng.standard_normal((N, T, nd * H))
    dh_n, dc_n = rng.standard_normal(S), rng.standard_normal(S)
    ref = torch_run(module, cell, x, h0, c0, dout, dh_n, dc_n)
    ref_grads = grads_from_torch(module)

    lstm = cell == "lstm"
    out, state_n, cache = stack_forward(cell, x, layers, h0,
                                        c0 if lstm else None, fast=fast)
    dx, dstate0, grads = stack_backward(dout, cache, dh_n,
                                        dc_n if lstm else None)
    mine = {"out": out, "dx": dx}
    if lstm:
        mine.update(h_n=state_n[0], c_n=state_n[1], dh0=dstate0[0],
                    dc0=dstate0[1])
    else:
        mine.update(h_n=state_n, dh0=dstate0)
    assert set(mine) == set(ref)
    for k in ref:
        assert np.abs(mine[k] - ref[k]).max() < 1e-10, k
    for l in range(num_layers):
        for d in range(nd):
            for k, g in grads[l][d].items():
                err = np.abs(g - ref_grads[l][d][k]).max()
                assert err < 1e-10, (l, d, k, err)
            if cell != "gru":     # both torch biases get the grad of b
                s = f"_l{l}" + ("_reverse" if d else "")
                b_key = "b_h" if cell == "rnn" else "b"
                for name in ("bias_ih", "bias_hh"):
                    tg = getattr(module, name + s).grad.numpy()
                    assert np.abs(grads[l][d][b_key] - tg).max() < 1e-10


def test_bias_mapping_rnn_and_lstm():
    torch.manual_seed(1)
    for cell in ("rnn", "lstm"):
        module = MODULES[cell](D, H, num_layers=2).double()
        layers = params_from_torch(module)
        b_key = "b_h" if cell == "rnn" else "b"
        s = "_l1"
        expected = (getattr(module, "bias_ih" + s)
                    + getattr(module, "bias_hh" + s)).detach().numpy()
        assert np.array_equal(layers[1][0][b_key], expected)
        params_to_torch(layers, module)
        assert np.array_equal(getattr(module, "bias_ih" + s).detach()
                              .numpy(), expected)
        assert not getattr(module, "bias_hh" + s).detach().numpy().any()


def test_round_trip_and_independent_copies():
    torch.manual_seed(2)
    for cell, cls in MODULES.items():
        module = cls(D, H, num_layers=2, bidirectional=True)
        layers = params_from_torch(module)
        assert len(layers) == 2 and all(len(row) == 2 for row in layers)
        assert layers[0][0][next(iter(layers[0][0]))].dtype == np.float32
        first = next(iter(layers[1][1]))
        layers[1][1][first] += 1.0            # no shared memory
        again = params_from_torch(module)
        assert not np.array_equal(again[1][1][first], layers[1][1][first])
        params_to_torch(layers, module)
        back = params_from_torch(module)
        for l in range(2):
            for d in range(2):
                for k in layers[l][d]:
                    assert np.allclose(back[l][d][k], layers[l][d][k],
                                       atol=1e-6), (cell, l, d, k)
    gru = torch.nn.GRU(D, H)
    p = params_from_torch(gru)[0][0]
    assert set(p) == {"W", "U", "b_x", "b_h"}
    assert p["W"].shape == (3 * H, D) and p["U"].shape == (3 * H, H)


def test_layer_one_reads_both_directions():
    module = torch.nn.LSTM(D, H, num_layers=2, bidirectional=True)
    layers = params_from_torch(module)
    assert layers[0][1]["W"].shape == (4 * H, D)
    assert layers[1][0]["W"].shape == (4 * H, 2 * H)


def test_module_without_bias():
    torch.manual_seed(3)
    module = torch.nn.GRU(D, H, bias=False, batch_first=True).double()
    layers = params_from_torch(module)
    assert not layers[0][0]["b_x"].any() and not layers[0][0]["b_h"].any()
    x = np.random.default_rng(0).standard_normal((N, T, D))
    out, _, _ = stack_forward("gru", x, layers)
    ref, _ = module(torch.from_numpy(x))
    assert np.abs(out - ref.detach().numpy()).max() < 1e-12
    layers[0][0]["b_x"][0] = 1.0
    with pytest.raises(ValueError, match="bias=False"):
        params_to_torch(layers, module)


def test_mapping_errors():
    rnn = torch.nn.RNN(D, H, num_layers=2)
    layers = params_from_torch(rnn)
    with pytest.raises(ValueError, match="expected num_layers = 2"):
        params_to_torch(layers[:1], rnn)
    with pytest.raises(ValueError, match=r"layers\[0\] has 2 directions; "
                                         r"expected 1"):
        params_to_torch([layers[0] * 2, layers[1]], rnn)
    bad = [[dict(layers[0][0], W_hh=np.zeros((H, H + 1), np.float32))],
           layers[1]]
    with pytest.raises(ValueError, match=r"layers\[0\]\[0\]\['W_hh'\] has "
                                         r"shape \(6, 7\); expected"):
        params_to_torch(bad, rnn)
    with pytest.raises(ValueError, match="only tanh RNNs"):
        cell_of(torch.nn.RNN(D, H, nonlinearity="relu"))
    with pytest.raises(ValueError, match="proj_size"):
        cell_of(torch.nn.LSTM(D, H, proj_size=2))
    with pytest.raises(TypeError, match="expected torch.nn.RNN"):
        cell_of(torch.nn.Linear(D, H))
    with pytest.raises(ValueError, match="call backward"):
        grads_from_torch(torch.nn.GRU(D, H))


def test_stack_input_errors():
    module = torch.nn.LSTM(D, H, num_layers=2, batch_first=True).double()
    layers = params_from_torch(module)
    x = np.zeros((N, T, D))
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 3, 6\); "
                                         r"expected \(L\*nd, N, H\) = "
                                         r"\(2, 3, 6\)"):
        stack_forward("lstm", x, layers, np.zeros((1, N, H)))
    with pytest.raises(ValueError, match="cell must be one of"):
        stack_forward("transformer", x, layers)
    with pytest.raises(ValueError, match="c0 is only used by the LSTM"):
        stack_forward("gru", x, params_from_torch(torch.nn.GRU(D, H)
                                                  .double()),
                      c0=np.zeros((1, N, H)))
    with pytest.raises(ValueError, match="same number of directions"):
        stack_forward("lstm", x, [layers[0], layers[1] * 2])
    _, _, cache = stack_forward("lstm", x, layers)
    with pytest.raises(ValueError, match=r"dout has shape \(3, 5, 7\)"):
        stack_backward(np.zeros((N, T, H + 1)), cache)


def test_cho_gru_stack_gradcheck():
    """The Cho-form GRU has no torch counterpart: check a bidirectional
    two-layer stack of it against a numerical gradient instead."""
    rng = np.random.default_rng(5)
    n, t, d, h = 2, 3, 3, 3
    layers = [[init_gru_params(d, h, rng), init_gru_params(d, h, rng)],
              [init_gru_params(2 * h, h, rng),
               init_gru_params(2 * h, h, rng)]]
    x = rng.standard_normal((n, t, d))
    h0 = rng.standard_normal((4, n, h))
    dout = rng.standard_normal((n, t, 2 * h))
    dh_n = rng.standard_normal((4, n, h))
    _, _, cache = stack_forward("gru_cho", x, layers, h0, fast=True)
    dx, dh0, grads = stack_backward(dout, cache, dh_n)

    def f():
        out, h_n, _ = stack_forward("gru_cho", x, layers, h0)
        return np.concatenate([out.ravel(), h_n.ravel()])

    up = np.concatenate([dout.ravel(), dh_n.ravel()])

    def num(a):
        return eval_numerical_gradient_array(f, a, up, h=1e-3, order=4)

    assert rel_error(dx, num(x)) < 1e-7
    assert rel_error(dh0, num(h0)) < 1e-7
    for l in range(2):
        for dd in range(2):
            for k in ("W", "U", "b"):
                assert rel_error(grads[l][dd][k],
                                 num(layers[l][dd][k])) < 1e-7
