"""Tests for helpers/support/models.py: shapes, short overfitting runs,
sampling, and parity of the torch attention modules with the numpy
ones."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.reference.attention import (additive_attention_forward,
                               scaled_dot_product_attention_forward)
from helpers.reference.gradcheck import rel_error
from helpers.support.models import (AdditiveAttention, CharLM, DotAttention,
                            Forecaster, Seq2Seq, SequenceClassifier,
                            make_rnn)

CELLS = ["rnn", "lstm", "gru"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Train on one thread, as the lessons do: these nets are small, and
    a second thread mostly waits, the longer the busier the machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train(model, loss_fn, steps, lr=0.01):
    """Adam on one fixed batch; returns the losses before and after."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        if first is None:
            first = loss.item()
    with torch.no_grad():
        last = loss_fn().item()
    return first, last


# ------------------------------------------------------------- char LM

@pytest.mark.parametrize("cell", CELLS)
def test_char_lm_shapes_and_overfit(cell):
    text = "abcd" * 8
    chars = ("a", "b", "c", "d")
    ids = torch.tensor([chars.index(c) for c in text])
    x, y = ids[:-1].reshape(1, -1), ids[1:].reshape(1, -1)    # (1, 31)
    model = CharLM(4, embed_dim=8, hidden_size=16, cell=cell, chars=chars,
                   seed=0)
    logits, state = model(x)
    assert logits.shape == (1, 31, 4)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (1, 1, 16)

    def loss_fn():
        return F.cross_entropy(model(x)[0].reshape(-1, 4), y.reshape(-1))

    first, last = train(model, loss_fn, 40, lr=0.03)
    assert last < 0.2 * first
    # The pattern is learned: a cold sample continues it.
    assert model.sample("ab", 9, temperature=0.05) == "abcdabcdabc"


def test_char_lm_state_carries_over_chunks():
    model = CharLM(5, 4, 6, cell="gru", seed=1).eval()
    x = torch.randint(0, 5, (2, 10))
    full, _ = model(x)
    a, state = model(x[:, :4])
    b, _ = model(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([a, b], 1), full)


def test_char_lm_sampling_is_seeded_and_temperature_matters():
    chars = tuple("abcdefgh")
    model = CharLM(8, 4, 8, cell="lstm", chars=chars, seed=2)
    s1 = model.sample("ab", 40, temperature=1.0, seed=3)
    assert s1.startswith("ab") and len(s1) == 42
    assert set(s1) <= set(chars)
    assert model.sample("ab", 40, temperature=1.0, seed=3) == s1
    assert model.sample("ab", 40, temperature=1.0, seed=4) != s1
    # A near-zero temperature is greedy decoding.
    cold = model.sample("ab", 10, temperature=1e-4, seed=5)
    with torch.no_grad():
        ids = [chars.index(c) for c in "ab"]
        for _ in range(10):
            logits, _ = model(torch.tensor([ids]))
            ids.append(int(logits[0, -1].argmax()))
    assert cold == "".join(chars[i] for i in ids)
    assert model.training                 # sampling restored the mode


def test_char_lm_errors():
    model = CharLM(3, 4, 5, chars="abc", seed=0)
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['z'\]"):
        model.sample("az", 3)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample("a", 3, temperature=0)
    with pytest.raises(ValueError, match="built without chars"):
        CharLM(3, 4, 5).sample("a", 3)
    with pytest.raises(ValueError, match="chars has 2 characters but "
                                         "vocab_size is 3"):
        CharLM(3, chars="ab")
    with pytest.raises(ValueError, match="cell is 'transformer'"):
        CharLM(3, cell="transformer")
    with pytest.raises(ValueError, match=r"expected \(N, T\) ids"):
        model(torch.zeros(2, 3, 1, dtype=torch.long))


def test_seed_makes_weights_reproducible_without_global_effects():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = CharLM(5, 4, 6, seed=7)
    after = torch.rand(1)                 # global stream untouched
    b = CharLM(5, 4, 6, seed=7)
    assert torch.equal(after, expected)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


# -------------------------------------------------- many-to-one models

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classifier_shapes_and_overfit(cell, bidirectional):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 8, 8, generator=g)
    y = torch.randint(0, 4, (12,), generator=g)
    model = SequenceClassifier(8, 16, 4, cell=cell, num_layers=2,
                               bidirectional=bidirectional, seed=0)
    assert model(x).shape == (12, 4)

    first, last = train(model, lambda: F.cross_entropy(model(x), y), 40,
                        lr=0.02)
    assert last < 0.1 * first
    assert (model(x).argmax(1) == y).all()


def test_classifier_uses_the_last_step_of_the_top_layer():
    model = SequenceClassifier(3, 5, 2, cell="lstm", num_layers=2, seed=1)
    x = torch.randn(4, 6, 3)
    out, _ = model.rnn(x)
    torch.testing.assert_close(model(x), model.head(out[:, -1]))
    bi = SequenceClassifier(3, 5, 2, cell="gru", bidirectional=True,
                            seed=1)
    out, _ = bi.rnn(x)                    # (N, T, 2H)
    h_T = torch.cat([out[:, -1, :5], out[:, 0, 5:]], -1)
    torch.testing.assert_close(bi(x), bi.head(h_T))


@pytest.mark.parametrize("cell", CELLS)
def test_forecaster_shapes_and_overfit(cell):
    t = torch.arange(60, dtype=torch.float32)
    series = torch.sin(2 * torch.pi * t / 11)
    idx = torch.arange(16)[:, None] + torch.arange(12)
    x = series[idx][..., None]                        # (16, 12, 1)
    y = series[idx[:, -1] + 1][:, None]               # (16, 1)
    model = Forecaster(1, 16, 1, cell=cell, seed=0)
    assert model(x).shape == (16, 1)
    first, last = train(model, lambda: F.mse_loss(model(x), y), 60,
                        lr=0.02)
    assert last < 0.1 * first


def test_make_rnn_dropout_only_between_layers():
    assert make_rnn("gru", 3, 4, num_layers=1, dropout=0.5).dropout == 0
    assert make_rnn("gru", 3, 4, num_layers=2, dropout=0.5).dropout == 0.5
    assert make_rnn("lstm", 3, 4).batch_first


# ------------------------------------------------------------- seq2seq

def _reverse_batch(N=16, S=5, V=6, seed=0):
    """Reverse a sequence of tokens 2..V-1; 0 is the start token."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(2, V, (N, S), generator=g)
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.zeros(N, 1, dtype=torch.long),
                        tgt[:, :-1]], 1)
    return src, tgt_in, tgt


@pytest.mark.parametrize("attention", [None, "dot", "additive"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_seq2seq_shapes_and_overfit(attention, cell):
    src, tgt_in, tgt = _reverse_batch()
    model = Seq2Seq(6, 6, embed_dim=16, hidden_size=32, cell=cell,
                    attention=attention, seed=0)
    logits, alpha = model(src, tgt_in)
    assert logits.shape == (16, 5, 6)
    if attention is None:
        assert alpha is None
    else:
        assert alpha.shape == (16, 5, 5)
        torch.testing.assert_close(alpha.sum(-1), torch.ones(16, 5))

    def loss_fn():
        return F.cross_entropy(model(src, tgt_in)[0].reshape(-1, 6),
                               tgt.reshape(-1))

    first, last = train(model, loss_fn, 60, lr=0.02)
    assert last < 0.1 * first
    ids, _ = model.greedy_decode(src, bos_id=0, max_len=5)
    assert ids.shape == (16, 5) and ids.dtype == torch.long


def test_seq2seq_rnn_cell_runs():
    src, tgt_in, _ = _reverse_batch(N=3)
    model = Seq2Seq(6, 7, 8, 12, cell="rnn", attention="dot", seed=0)
    assert model(src, tgt_in)[0].shape == (3, 5, 7)


@pytest.mark.parametrize("attention", [None, "additive"])
def test_seq2seq_padding_is_ignored(attention):
    """With a source mask, padded tokens change nothing."""
    model = Seq2Seq(6, 6, 8, 12, cell="lstm", attention=attention,
                    seed=3).eval()
    src, tgt_in, _ = _reverse_batch(N=2, S=5)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[0, 3:] = False
    other = src.clone()
    other[0, 3:] = 1                      # different padding tokens
    a, alpha = model(src, tgt_in, mask)
    b, _ = model(other, tgt_in, mask)
    torch.testing.assert_close(a, b)
    # Each sample equals running it alone, cut to its real tokens.
    c, _ = model(src[1:], tgt_in[1:])
    torch.testing.assert_close(a[1:], c)
    d, _ = model(src[:1, :3], tgt_in[:1])
    torch.testing.assert_close(a[:1], d)
    if alpha is not None:
        assert torch.all(alpha[0, :, 3:] == 0)


def test_seq2seq_errors():
    with pytest.raises(ValueError, match="attention is 'luong'"):
        Seq2Seq(4, 4, attention="luong")
    model = Seq2Seq(4, 4, 8, 8, seed=0)
    src = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=r"expected \(N, T\) with N = 2"):
        model(src, torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="at least one real token"):
        model(src, src, torch.zeros(2, 3, dtype=torch.bool))


# ---------------------------------------- parity with numpy attention

def test_additive_attention_module_matches_numpy():
    torch.manual_seed(0)
    N, S, d_q, d_k, d_v, A = 3, 5, 4, 6, 2, 7
    att = AdditiveAttention(d_q, d_k, A).double()
    q = torch.randn(N, d_q, dtype=torch.float64)
    k = torch.randn(N, S, d_k, dtype=torch.float64)
    v = torch.randn(N, S, d_v, dtype=torch.float64)
    mask = torch.rand(N, S) < 0.6
    mask[:, 0] = True
    ctx, alpha = att(q, k, v, mask)
    params = {"W_q": att.W_q.weight.detach().numpy(),
              "W_k": att.W_k.weight.detach().numpy(),
              "v": att.v.weight.detach().numpy()[0]}
    out, cache = additive_attention_forward(
        q[:, None].numpy(), k.numpy(), v.numpy(), params,
        mask[:, None, :].numpy())
    assert rel_error(ctx.detach().numpy(), out[:, 0]) < 1e-10
    # the attention weights are cache[3]: the cache is (Q, K, V, alpha, ...)
    assert rel_error(alpha.detach().numpy(), cache[3][:, 0]) < 1e-10


def test_dot_attention_module_matches_numpy():
    g = torch.Generator().manual_seed(1)
    q = torch.randn(2, 4, generator=g, dtype=torch.float64)
    k = torch.randn(2, 6, 4, generator=g, dtype=torch.float64)
    v = torch.randn(2, 6, 3, generator=g, dtype=torch.float64)
    mask = torch.tensor([[True] * 6, [True, True, False, True, False,
                                      False]])
    ctx, alpha = DotAttention(scaled=True)(q, k, v, mask)
    out, cache = scaled_dot_product_attention_forward(
        q[:, None].numpy(), k.numpy(), v.numpy(), mask[:, None].numpy())
    assert rel_error(ctx.numpy(), out[:, 0]) < 1e-10
    assert rel_error(alpha.numpy(), cache[3][:, 0]) < 1e-10
    unscaled, _ = DotAttention(scaled=False)(q, k, v)
    expected = torch.softmax((k @ q[:, :, None])[..., 0], -1)
    torch.testing.assert_close(unscaled,
                               (expected[:, None] @ v)[:, 0])
