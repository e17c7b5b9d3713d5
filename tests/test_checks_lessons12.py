"""The graded checks of lessons 1 and 2, and the helpers behind them.

Every check must pass the reference answer (visible and hidden, on many
fresh random draws) and must fail, with a message that names the bug, on
the typical wrong answers a student writes. Also tested here:
:mod:`helpers.support.sequences` (lesson 1's data and baselines),
:mod:`helpers.figures.plots` (lessons 1-2 figures) and
:mod:`helpers.figures.widgets`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from helpers.figures import plots, widgets
from helpers.support import sequences
from helpers.checks import rnn as check_rnn
from helpers.checks import sequences as check_seq
from helpers.reference.gradcheck import eval_numerical_gradient, rel_error
from helpers.reference.rnn import rnn_forward as ref_rnn_forward
from helpers.reference.rnn import rnn_step_forward as ref_rnn_step_forward

HIDDEN_DRAWS = 15          # fresh random hidden checks per reference


def fails(check, fn, *args, match: str, hidden: bool = False):
    """Assert that ``check(fn, *args)`` fails with ``match`` in it."""
    with pytest.raises(AssertionError, match=match):
        check(fn, *args, hidden=hidden)


def not_implemented(*args):
    raise NotImplementedError()


# ============================================================ lesson 1

def test_records_to_array_reference_passes(capsys):
    check_seq.records_to_array(sequences.records_to_array)
    for _ in range(HIDDEN_DRAWS):
        check_seq.records_to_array(sequences.records_to_array, hidden=True)
    assert "\u2713" in capsys.readouterr().out


def _records_in_list_order(records, features):
    """Wrong: assumes the records come sorted by station, then day."""
    N = 1 + max(r["station"] for r in records)
    T = 1 + max(r["day"] for r in records)
    rows = [[r[f] for f in features] for r in records]
    return np.array(rows, dtype=float).reshape(N, T, len(features))


def _records_time_first(records, features):
    return sequences.records_to_array(records, features).transpose(1, 0, 2)


def _records_key_order(records, features):
    """Wrong: takes the features in the order of the dict's keys."""
    keys = [k for k in records[0] if k not in ("station", "day")]
    return sequences.records_to_array(records, keys)


def _records_int(records, features):
    return sequences.records_to_array(records, features).astype(int)


def _records_off_by_one(records, features):
    N = max(r["station"] for r in records)
    T = 1 + max(r["day"] for r in records)
    return sequences.records_to_array(records, features)[:N, :T]


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "not implemented yet"),
    (_records_in_list_order, "random order.*record\\['station'\\]"),
    (_records_time_first, "Your axes are \\(T, N, D\\)"),
    (_records_key_order, "wrong feature order"),
    (_records_int, "use a float array"),
    (_records_off_by_one, "shape \\(6, 8, 3\\)"),
])
def test_records_to_array_wrong_answers_fail(wrong, match):
    fails(check_seq.records_to_array, wrong, match=match)


def test_records_to_array_hidden_catches_hard_coding():
    """An answer that returns the visible arrays passes visible only."""
    table = {}
    for seed, shuffle in ((0, False), (3, True), (4, True)):
        recs = sequences.weather_records(seed=seed, shuffle=shuffle)
        key = tuple(sorted((r["station"], r["day"], r["temp_c"])
                           for r in recs))
        table[key] = recs

    def hard_coded(records, features):
        key = tuple(sorted((r["station"], r["day"], r.get("temp_c"))
                           for r in records))
        recs = table.get(key)
        if recs is None:
            return np.zeros((7, 8, 3))
        return sequences.records_to_array(recs, features)

    check_seq.records_to_array(hard_coded)
    fails(check_seq.records_to_array, hard_coded, match="shape|wrong",
          hidden=True)


def test_bag_of_words_reference_passes():
    check_seq.bag_of_words(sequences.bag_of_words)
    for _ in range(HIDDEN_DRAWS):
        check_seq.bag_of_words(sequences.bag_of_words, hidden=True)


def _bag_presence(sentence, vocab):
    return (sequences.bag_of_words(sentence, vocab) > 0).astype(float)


def _bag_case_sensitive(sentence, vocab):
    words = sentence.split()
    return np.array([float(words.count(w)) for w in vocab])


def _bag_unknown_words_crash(sentence, vocab):
    out = np.zeros(len(vocab))
    for w in sentence.lower().split():
        out[vocab.index(w)] += 1
    return out


def _bag_sorted(sentence, vocab):
    return sequences.bag_of_words(sentence, sorted(vocab))


def _bag_row(sentence, vocab):
    return sequences.bag_of_words(sentence, vocab)[None]


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "not implemented yet"),
    (_bag_presence, "does not count them"),
    (_bag_case_sensitive, "lower-case the sentence"),
    (_bag_unknown_words_crash, "ValueError.*must be skipped"),
    (_bag_sorted, "alphabetical order"),
    (_bag_row, "shape \\(1, 7\\); expected \\(V\\) \\(7,\\)"),
])
def test_bag_of_words_wrong_answers_fail(wrong, match):
    fails(check_seq.bag_of_words, wrong, match=match)


def test_bag_of_words_hidden_catches_fixed_vocabulary():
    """Visible vocabulary hard-coded: passes visible, fails hidden."""
    fixed = ["the", "dog", "bites", "man", "good", "bad", "not"]

    def hard_coded(sentence, vocab):
        return sequences.bag_of_words(sentence, fixed)

    check_seq.bag_of_words(hard_coded)
    fails(check_seq.bag_of_words, hard_coded, match="shape|wrong",
          hidden=True)


def test_pad_batch_reference_passes():
    check_seq.pad_batch(sequences.pad_batch)
    for _ in range(HIDDEN_DRAWS):
        check_seq.pad_batch(sequences.pad_batch, hidden=True)


def _pad_left(seqs):
    x, mask = sequences.pad_batch(seqs)
    for n, s in enumerate(seqs):
        x[n] = 0
        x[n, x.shape[1] - len(s):] = s
    return x, mask


def _pad_float_mask(seqs):
    x, mask = sequences.pad_batch(seqs)
    return x, mask.astype(float)


def _pad_inverted_mask(seqs):
    x, mask = sequences.pad_batch(seqs)
    return x, ~mask


def _pad_always_float64(seqs):
    x, mask = sequences.pad_batch(seqs)
    return x.astype(np.float64), mask


def _pad_with_ones(seqs):
    x, mask = sequences.pad_batch(seqs)
    x[~mask] = 1.0
    return x, mask


def _pad_only_x(seqs):
    return sequences.pad_batch(seqs)[0]


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "not implemented yet"),
    (_pad_left, "padded at the start"),
    (_pad_float_mask, "use booleans"),
    (_pad_inverted_mask, "mask is inverted"),
    (_pad_always_float64, "keep their dtype"),
    (_pad_with_ones, "should be zeros"),
    (_pad_only_x, "pair \\(x, mask\\)"),
])
def test_pad_batch_wrong_answers_fail(wrong, match):
    fails(check_seq.pad_batch, wrong, match=match)


# ============================================================ lesson 2

def ref_step(x, h_prev, params):
    return ref_rnn_step_forward(x, h_prev, params)


def test_rnn_step_forward_reference_passes(capsys):
    check_rnn.rnn_step_forward(ref_step)
    for _ in range(HIDDEN_DRAWS):
        check_rnn.rnn_step_forward(ref_step, hidden=True)
    assert "\u2713" in capsys.readouterr().out


def _step(expr):
    """A step function computing ``expr(x, h, W_xh, W_hh, b)``."""
    def step(x, h_prev, params):
        h_next = expr(x, h_prev, params["W_xh"], params["W_hh"],
                      params["b_h"])
        return h_next, (x, h_prev, h_next, params)
    return step


def _step_in_place(x, h_prev, params):
    h_prev += 0.0 * h_prev                 # touches the caller's array
    h_prev *= 1.0
    a = x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]
    np.tanh(a, out=a)
    h_prev[...] = a
    return a, (x, h_prev, a, params)


def _step_no_cache(x, h_prev, params):
    return ref_rnn_step_forward(x, h_prev, params)[0]


def _step_bad_cache(x, h_prev, params):
    h_next, _ = ref_rnn_step_forward(x, h_prev, params)
    return h_next, (x, h_prev, h_prev, params)


def _step_float64(x, h_prev, params):
    h_next, _ = ref_rnn_step_forward(x, h_prev, params)
    h_next = h_next.astype(np.float64)
    return h_next, (x, h_prev, h_next, params)


def _step_w_xh_untransposed(x, h_prev, params):
    a = x @ params["W_xh"] + h_prev @ params["W_hh"].T + params["b_h"]
    return np.tanh(a), None


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "not implemented yet"),
    (_step(lambda x, h, W, U, b: np.tanh(x @ W.T + h @ U.T)),
     "bias term is wrong.*b_h is missing"),
    (_step(lambda x, h, W, U, b: np.tanh(x @ W.T + h @ U + b)),
     "W_hh h_\\{t-1\\} term is wrong.*W_hh is used transposed"),
    (_step(lambda x, h, W, U, b: x @ W.T + h @ U.T + b),
     "pre-activation"),
    (_step(lambda x, h, W, U, b: 1 / (1 + np.exp(-(x @ W.T + h @ U.T + b)))),
     "not the sigmoid"),
    (_step(lambda x, h, W, U, b: np.tanh(x @ W.T + h @ U.T) + b),
     "inside the tanh"),
    (_step(lambda x, h, W, U, b: np.tanh(x @ W.T + b)),
     "recurrent term W_hh h_\\{t-1\\} is missing"),
    (_step(lambda x, h, W, U, b: np.tanh(2 * x @ W.T + h @ U.T + b)),
     "W_xh x_t term is wrong"),
    (_step_w_xh_untransposed, "ValueError.*x @ W_xh.T"),
    (_step_no_cache, "pair \\(h_next, cache\\)"),
    (_step_bad_cache, "cache\\[2\\] should be h_next"),
    (_step_float64, "dtype float64 but the inputs are float32"),
    (_step_in_place, "changed one of its inputs"),
])
def test_rnn_step_forward_wrong_answers_fail(wrong, match):
    fails(check_rnn.rnn_step_forward, wrong, match=match)


def test_bias_outside_tanh_and_pre_activation_get_their_own_messages():
    """With only the bias on both give b_h; the check asks the function
    once more with every term on and names the one mistake."""
    with pytest.raises(AssertionError, match="inside the tanh") as info:
        check_rnn.rnn_step_forward(_step(
            lambda x, h, W, U, b: np.tanh(x @ W.T + h @ U.T) + b))
    assert "pre-activation" not in str(info.value)
    with pytest.raises(AssertionError, match="pre-activation") as info:
        check_rnn.rnn_step_forward(_step(
            lambda x, h, W, U, b: x @ W.T + h @ U.T + b))
    assert "inside the tanh" not in str(info.value)


def test_rnn_step_forward_hidden_catches_fixed_batch_size():
    """Code that only works for the visible shapes fails hidden."""
    def fixed_shapes(x, h_prev, params):
        assert x.shape in ((3, 4), (2, 3)), "only the visible shapes"
        return ref_rnn_step_forward(x, h_prev, params)

    check_rnn.rnn_step_forward(fixed_shapes)
    with pytest.raises(AssertionError):
        for _ in range(5):                 # a fresh shape each draw
            check_rnn.rnn_step_forward(fixed_shapes, hidden=True)


def test_rnn_step_forward_hidden_catches_hard_coded_output():
    """Outputs memorised from the visible run pass visible only."""
    memory = {}

    def recorder(x, h_prev, params):
        out = ref_rnn_step_forward(x, h_prev, params)
        memory[x.tobytes() + h_prev.tobytes()] = out[0]
        return out

    check_rnn.rnn_step_forward(recorder)

    def hard_coded(x, h_prev, params):
        key = x.tobytes() + h_prev.tobytes()
        h_next = memory.get(key, np.zeros((x.shape[0],
                                           params["b_h"].shape[0]),
                                          dtype=x.dtype))
        return h_next, (x, h_prev, h_next, params)

    check_rnn.rnn_step_forward(hard_coded)
    # A hidden case can reuse visible input bytes with another H; then
    # the memorised answer has the wrong shape, and that fails too.
    fails(check_rnn.rnn_step_forward, hard_coded, match="wrong|shape",
          hidden=True)


def ref_forward(x, h0, params):
    return ref_rnn_forward(x, h0, params)


def test_rnn_forward_reference_passes():
    check_rnn.rnn_forward(ref_forward)
    for _ in range(HIDDEN_DRAWS):
        check_rnn.rnn_forward(ref_forward, hidden=True)


def _forward_fast(x, h0, params):
    h, h_last, _ = ref_rnn_forward(x, h0, params, fast=True)
    return h, h_last, (x, h0, h, params)


def _forward_with_h0(x, h0, params):
    h, _, _ = ref_rnn_forward(x, h0, params)
    full = np.concatenate([h0[:, None], h], axis=1)
    return full, h[:, -1], (x, h0, full, params)


def _forward_store_before_step(x, h0, params):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=x.dtype)
    h_prev = h0
    for t in range(T):
        h[:, t] = h_prev                   # off by one: stores h_{t-1}
        h_prev, _ = ref_rnn_step_forward(x[:, t], h_prev, params)
    return h, h_prev, (x, h0, h, params)


def _forward_no_carry(x, h0, params):
    h = np.stack([ref_rnn_step_forward(x[:, t], h0, params)[0]
                  for t in range(x.shape[1])], axis=1)
    return h, h[:, -1], (x, h0, h, params)


def _forward_only_last(x, h0, params):
    _, h_last, _ = ref_rnn_forward(x, h0, params)
    return h_last, h_last, (x, h0, h_last, params)


def _forward_last_everywhere(x, h0, params):
    h, h_last, _ = ref_rnn_forward(x, h0, params)
    filled = np.repeat(h_last[:, None], x.shape[1], axis=1)
    return filled, h_last, (x, h0, filled, params)


def _forward_time_major(x, h0, params):
    h, h_last, _ = ref_rnn_forward(x, h0, params)
    return h.transpose(1, 0, 2), h_last, (x, h0, h, params)


def _forward_first_as_last(x, h0, params):
    h, _, cache = ref_rnn_forward(x, h0, params)
    return h, h[:, 0], cache


def _forward_backwards(x, h0, params):
    h, h_last, _ = ref_rnn_forward(x[:, ::-1].copy(), h0, params)
    h = h[:, ::-1].copy()
    return h, h[:, -1], (x, h0, h, params)


def _forward_ignores_h0(x, h0, params):
    return ref_rnn_forward(x, np.zeros_like(h0), params)


def _forward_float64(x, h0, params):
    h, h_last, _ = ref_rnn_forward(x.astype(np.float64),
                                   h0.astype(np.float64),
                                   {k: v.astype(np.float64)
                                    for k, v in params.items()})
    return h, h_last, (x, h0, h, params)


def _forward_two_outputs(x, h0, params):
    return ref_rnn_forward(x, h0, params)[:2]


def _forward_bad_cache(x, h0, params):
    h, h_last, _ = ref_rnn_forward(x, h0, params)
    return h, h_last, (x, h, h0, params)


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "not implemented yet"),
    (_forward_with_h0, "T \\+ 1 states"),
    (_forward_store_before_step, "t=0.*off by one"),
    (_forward_no_carry, "t=1.*starts again from h0"),
    (_forward_only_last, "returned only one state"),
    (_forward_last_everywhere, "every time step holds the last state"),
    (_forward_time_major, "time first"),
    (_forward_first_as_last, "h_last holds the first state"),
    (_forward_backwards, "backwards"),
    (_forward_ignores_h0, "first step is already wrong.*given h0"),
    (_forward_float64, "dtype=x.dtype"),
    (_forward_two_outputs, "three things"),
    (_forward_bad_cache, "cache\\[1\\] should be h0"),
])
def test_rnn_forward_wrong_answers_fail(wrong, match):
    fails(check_rnn.rnn_forward, wrong, match=match)


def test_rnn_forward_fast_path_also_passes():
    check_rnn.rnn_forward(_forward_fast)


# ------------------------------------------------------- torch parity

def ref_to_torch(params, transpose_hh=False, bias="ih", batch_first=True,
                 dtype=torch.float64):
    H, D = params["W_xh"].shape
    module = torch.nn.RNN(D, H, batch_first=batch_first, dtype=dtype)
    W_hh = params["W_hh"].T if transpose_hh else params["W_hh"]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(params["W_xh"]))
        module.weight_hh_l0.copy_(torch.from_numpy(W_hh.copy()))
        b = torch.from_numpy(params["b_h"])
        module.bias_ih_l0.copy_(b if bias in ("ih", "both") else 0 * b)
        module.bias_hh_l0.copy_(b if bias in ("hh", "both") else 0 * b)
    return module


def test_to_torch_rnn_reference_passes(capsys):
    check_rnn.to_torch_rnn(ref_to_torch, ref_forward)
    check_rnn.to_torch_rnn(lambda p: ref_to_torch(p, bias="hh"),
                           ref_forward)
    for _ in range(HIDDEN_DRAWS):
        check_rnn.to_torch_rnn(ref_to_torch, ref_forward, hidden=True)
    assert "matches it in float64" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "to_torch_rnn is not implemented yet"),
    (lambda p: ref_to_torch(p, transpose_hh=True),
     "recurrent term.*W_hh transposed"),
    (lambda p: ref_to_torch(p, bias="both"), "b_h is counted twice"),
    (lambda p: ref_to_torch(p, batch_first=False), "batch_first=True"),
    (lambda p: ref_to_torch(p, dtype=torch.float32), "make it float64"),
    (lambda p: torch.nn.LSTM(3, 4, batch_first=True), "torch.nn.RNN"),
    (lambda p: torch.nn.RNN(3, 4, batch_first=True, dtype=torch.float64),
     "only the bias b_h.*weight_ih_l0 should be W_xh"),
])
def test_to_torch_rnn_wrong_answers_fail(wrong, match):
    fails(check_rnn.to_torch_rnn, wrong, ref_forward, match=match)


def test_to_torch_rnn_blames_rnn_forward_when_the_copy_is_right():
    fails(check_rnn.to_torch_rnn, ref_to_torch, _forward_no_carry,
          match="t=1.*fix rnn_forward")
    fails(check_rnn.to_torch_rnn, ref_to_torch, not_implemented,
          match="rnn_forward is not implemented yet")


def test_to_torch_rnn_check_uses_torch_itself(monkeypatch):
    """The parity check runs the student's module, not a numpy mapping:
    a module whose forward is broken fails even with right weights."""
    def broken(params):
        module = ref_to_torch(params)
        module.nonlinearity = "relu"
        return module

    fails(check_rnn.to_torch_rnn, broken, ref_forward,
          match="nonlinearity='tanh'")


# ------------------------------------------------------------ the head

def ref_head(h, params):
    return h @ params["W_hy"].T + params["b_y"]


def test_rnn_head_reference_passes():
    check_rnn.rnn_head(ref_head)
    for _ in range(HIDDEN_DRAWS):
        check_rnn.rnn_head(ref_head, hidden=True)


@pytest.mark.parametrize("wrong, match", [
    (not_implemented, "not implemented yet"),
    (lambda h, p: h @ p["W_hy"].T, "bias b_y is missing"),
    (lambda h, p: h @ p["W_hy"] + p["b_y"], "ValueError.*h @ W_hy.T"),
    (lambda h, p: (h[:, -1] if h.ndim == 3 else h) @ p["W_hy"].T
     + p["b_y"], "do not pick the last step"),
    (lambda h, p: (h @ p["W_hy"].T + p["b_y"]).astype(np.float64),
     "keep the dtype"),
])
def test_rnn_head_wrong_answers_fail(wrong, match):
    fails(check_rnn.rnn_head, wrong, match=match)


def test_rnn_head_square_transpose_is_named():
    """With K == H a transposed W_hy runs; the value check names it."""
    rng = np.random.default_rng(0)
    p = {"W_hy": rng.normal(size=(4, 4)), "b_y": rng.normal(size=4)}
    with pytest.raises(AssertionError, match="W_hy is used transposed"):
        check_rnn._check_head(lambda h, q: h @ q["W_hy"] + q["b_y"],
                              rng.normal(size=(2, 3, 4)), p, "square")


# ============================================ helpers.support.sequences

def test_records_round_trip():
    records = sequences.weather_records(n_stations=5, n_days=6, seed=1)
    x = sequences.records_to_array(records, sequences.WEATHER_FEATURES)
    assert x.shape == (5, 6, 3)
    for r in records:
        assert x[r["station"], r["day"], 2] == r["wind_kmh"]
    sorted_x = sequences.records_to_array(
        sequences.weather_records(5, 6, seed=1, shuffle=False),
        sequences.WEATHER_FEATURES)
    np.testing.assert_array_equal(x, sorted_x)


def test_bag_of_words_ignores_order_and_counts():
    vocab = ["a", "b", "c"]
    np.testing.assert_array_equal(
        sequences.bag_of_words("B a b zz", vocab), [1, 2, 0])
    assert np.array_equal(sequences.bag_of_words("a b c", vocab),
                          sequences.bag_of_words("c a b", vocab))


def test_one_hot_and_pad_batch():
    out = sequences.one_hot(np.array([[2, -1]]), 3)
    np.testing.assert_array_equal(out, [[[0, 0, 1], [0, 0, 0]]])
    assert sequences.one_hot(np.array(1), 3).tolist() == [0, 1, 0]
    x, mask = sequences.pad_batch([np.ones((2, 1), np.float32),
                                   np.ones((3, 1), np.float32)])
    assert x.dtype == np.float32 and x[0, 2, 0] == 0
    assert mask.tolist() == [[True, True, False], [True, True, True]]


def test_language_corpus_clue_and_windows():
    sents, labels = sequences.language_corpus(50, (1, 3), seed=0)
    for s, c in zip(sents, labels):
        assert s[4] == sequences.COUNTRIES[c][0]
        assert s[-4:] == ["so", "i", "speak", "fluent"]
    vocab = sequences.build_vocab(sents)
    ids, lengths = sequences.encode(sents, vocab)
    assert ids.shape == (50, lengths.max()) and vocab[0] == "<pad>"
    X = sequences.last_window(ids, lengths, 3, len(vocab))
    assert X.shape == (50, 3 * len(vocab))
    # the window holds exactly the last 3 words, in order
    block = X[0].reshape(3, len(vocab)).argmax(axis=1)
    assert [vocab[i] for i in block] == sents[0][-3:]


def test_mlp_gradients_match_numerical():
    rng = np.random.default_rng(0)
    mlp = sequences.MLP(6, 3, n_hidden=5, seed=1)
    X, y = rng.normal(size=(4, 6)), rng.integers(0, 3, 4)
    _, grads = mlp.loss_and_grads(X, y, weight_decay=0.1)
    for name, p in mlp.params.items():
        num = eval_numerical_gradient(
            lambda: mlp.loss_and_grads(X, y, weight_decay=0.1)[0], p)
        assert rel_error(num, grads[name]) < 1e-6, name


def test_mlp_sparse_and_dense_agree_and_learn():
    sents, labels = sequences.language_corpus(300, (1, 1), seed=0)
    vocab = sequences.build_vocab(sents)
    ids, lengths = sequences.encode(sents, vocab)
    X = sequences.last_window(ids, lengths, int(lengths.max()), len(vocab))
    mlp = sequences.MLP(X.shape[1], 5, seed=0)
    from scipy import sparse
    np.testing.assert_allclose(mlp.outputs(X),
                               mlp.outputs(sparse.csr_matrix(X)))
    losses = mlp.fit(X, labels, steps=60)
    assert losses[-1] < 0.1 * losses[0]
    assert mlp.score(X, labels) == 1.0
    with pytest.raises(ValueError, match="inputs of length"):
        mlp.predict(X[:, :-1])


# ============================================== plots and widgets

@pytest.mark.parametrize("make", [
    lambda: plots.plot_sequence_examples(sequences.example_sequences()),
    plots.plot_task_shapes,
    plots.plot_word_order,
    lambda: plots.plot_ntd_array(np.random.default_rng(0).normal(
        size=(7, 8, 3)), sample=2, step=5),
    lambda: plots.plot_bag_of_words(["a b", "b a"], np.ones((2, 2)),
                                    ["a", "b"]),
    lambda: plots.plot_window_view(list("abcdefgh"), 2, 4,
                                   np.array([1, 4, 7]),
                                   np.array([.2, .5, .9]),
                                   np.array([.2, .6, 1.]), 0.2),
    plots.plot_rnn_cell,
    lambda: plots.plot_rnn_unrolled(3, "all", "per step"),
    lambda: plots.plot_rnn_unrolled(3, "last", "end"),
    lambda: plots.plot_hidden_trajectories(np.zeros((5, 3)), np.ones(5)),
    lambda: plots.plot_loss_curve([1.0, 0.5], baseline=1.6),
])
def test_plots_return_a_drawable_figure(make, tmp_path):
    fig = make()
    assert isinstance(fig, Figure) and fig.axes
    fig.savefig(tmp_path / "f.png", dpi=30)
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_interactive_figure_draws_defaults_then_redraws():
    import ipywidgets

    calls = []

    def draw(a, b):
        calls.append((a, b))
        return plots.plot_loss_curve([a, b])

    slider = ipywidgets.IntSlider(value=3, min=1, max=9)
    box = widgets.interactive_figure(draw, a=slider,
                                     b=ipywidgets.FloatSlider(value=0.5))
    assert calls == [(3, 0.5)]                # the static figure
    assert slider.continuous_update is False
    slider.value = 7
    assert calls[-1] == (7, 0.5)               # redrawn on change
    assert isinstance(box.redraw(), Figure)
    with pytest.raises(TypeError, match="no .value"):
        widgets.interactive_figure(draw, a=3)


def test_an_explorer_as_a_cells_value_shows_its_controls_once():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import ipywidgets\n"
        "from helpers.figures import plots, widgets\n"
        "widgets.interactive_figure(lambda a: plots.plot_loss_curve([a]),\n"
        "                           a=ipywidgets.IntSlider(value=2))")]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    kinds = [next(iter(set(o.get("data", {})) - {"text/plain"}), o.output_type)
             for o in nb.cells[0].outputs]
    assert kinds == ["image/png",
                     "application/vnd.jupyter.widget-view+json"], kinds


def test_hidden_state_runs_fade_below_one_and_saturate_above():
    _, gap_small = widgets.hidden_state_runs(0.5, T=30)
    h_big, gap_big = widgets.hidden_state_runs(3.0, T=30)
    assert gap_small[-1] < 1e-8 < gap_big[-1]
    assert np.mean(np.abs(h_big) > 0.99) > 0.2


@pytest.mark.parametrize("make", [
    lambda: widgets.bag_of_words_explorer("a b a", ["a", "b"]),
    lambda: widgets.window_explorer(list("abcdef"), 1, np.array([1, 3, 5]),
                                    np.array([.2, .4, .9]),
                                    np.array([.2, .5, 1.]), 0.2),
    lambda: widgets.hidden_state_explorer(rho=0.9, T=10),
])
def test_explorers_build(make):
    box = make()
    box.children[0].value = box.children[0].max
    assert isinstance(box.redraw(), Figure)


def test_records_to_array_visible_check_rejects_a_constant_array():
    """An array of the right shape that ignores the records fails the
    visible check already (the check compares values, not only shapes)."""
    for constant in (np.zeros((7, 8, 3)), np.ones((7, 8, 3))):
        fails(check_seq.records_to_array, lambda r, f, c=constant: c.copy(),
              match="x\\[0, 0\\] is")
