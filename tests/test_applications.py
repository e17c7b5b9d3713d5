"""Lesson 8's support code: the training loops
(:mod:`helpers.support.training`), the references of its exercises
(:mod:`helpers.reference.outputs`), its figures and its widget."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from helpers.figures import application_plots, application_widgets
from helpers.reference import outputs
from helpers.support import data, training
from helpers.support.models import CharLM, SequenceClassifier

torch.set_num_threads(1)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=30)
    return buf.getvalue()


# ------------------------------------------------------------ training
def test_stream_batches_are_consecutive_pieces_moved_by_one():
    x, y = training.stream_batches(np.arange(21), 4)
    assert x.shape == y.shape == (4, 5)
    assert x[1].tolist() == [5, 6, 7, 8, 9]
    assert (y == x + 1).all()


def test_char_lm_bits_of_an_untrained_model_is_near_uniform():
    model = CharLM(5, 4, 8, seed=0)
    x, y = training.stream_batches(np.random.default_rng(0).integers(
        0, 5, 400), 4)
    assert abs(training.char_lm_bits(model, x, y) - np.log2(5)) < 0.3


def test_train_char_lm_learns_a_repeating_text():
    ids = np.tile(np.arange(6), 200)                # 0 1 2 3 4 5 0 1 ...
    x_val, y_val = training.stream_batches(ids[:120], 2)
    model = CharLM(6, 8, 16, seed=0)
    run = training.train_char_lm(model, ids, x_val, y_val, steps=60, N=4,
                                 T=16, lr_max=0.05, eval_every=20,
                                 progress=False)
    assert run["seconds"].shape == run["val_bits"].shape == (4,)
    assert (np.diff(run["seconds"]) >= 0).all()
    assert run["val_bits"][0] > 2 and run["val_bits"][-1] < 0.5
    assert not model.training


def test_train_char_lm_carries_a_gru_state_too():
    ids = np.tile(np.arange(4), 100)
    x_val, y_val = training.stream_batches(ids[:80], 2)
    model = CharLM(4, 4, 8, cell="gru", seed=0)
    run = training.train_char_lm(model, ids, x_val, y_val, steps=20, N=2,
                                 T=8, eval_every=5, progress=False)
    assert len(run["train_bits"]) == 20


def test_train_classifier_learns_and_is_seeded():
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(size=(200, 5, 2)).astype(np.float32))
    y = (X[:, 0, 0] > 0).long()                     # the first step decides
    accs = []
    for _ in range(2):
        model = SequenceClassifier(2, 8, 2, seed=1)
        losses = training.train_classifier(model, X, y, epochs=15,
                                           batch_size=32, lr=2e-2, seed=3,
                                           progress=False)
        accs.append(training.accuracy(model, X, y))
    assert losses[-1] < losses[0]
    assert accs[0] == accs[1] > 0.9


def test_references_of_the_exercises():
    h = np.arange(24.0).reshape(2, 3, 4)
    mask = np.array([[True, True, False], [True, True, True]])
    W, b = np.eye(4)[:2], np.array([0.5, -0.5])
    np.testing.assert_allclose(outputs.many_to_one_head(h, mask, W, b),
                               [[4.5, 4.5], [20.5, 20.5]])
    ids, p = outputs.sample_with_temperature(
        np.array([[0.0, np.log(3.0)]]), 1.0, np.array([0.3]))
    np.testing.assert_allclose(p, [[0.25, 0.75]])
    assert ids.tolist() == [1]
    ids, p = outputs.sample_with_temperature(np.array([[1.0, 3.0, 2.0]]),
                                             0, np.array([0.99]))
    assert ids.tolist() == [1] and p.tolist() == [[0, 1, 0]]


# ------------------------------------------------------------- figures
def test_figures_draw():
    figs = [
        application_plots.plot_bits_curve([0, 1, 2], [6.0, 3.0, 2.2],
                                          {"unigram": 4.6, "5-gram": 2.3}),
        application_plots.plot_temperature_probs(
            list("abcd"), {0.5: np.array([0.7, 0.2, 0.05, 0.05]),
                           1.0: np.array([0.4, 0.3, 0.2, 0.1])}, "x"),
        application_plots.plot_digit_rows(np.eye(8), 3),
        application_plots.plot_accuracy_by_rows(
            np.arange(1, 9), np.linspace(0.2, 1, 16).reshape(2, 8), 0.95,
            "baseline"),
        application_plots.plot_forecasts(
            np.arange(1900, 2000), np.sin(np.arange(100.0)), 1980,
            {"model": (np.arange(1980, 2000), np.zeros(20))}),
        application_plots.plot_errors_by_lead(
            np.arange(1, 4), {"a": np.ones((3, 3)), "b": np.arange(3.0)}),
    ]
    for fig in figs:
        assert isinstance(fig, Figure) and _png(fig)


def test_generation_explorer_shows_text_first_then_redraws(monkeypatch):
    shown = []
    monkeypatch.setattr(application_widgets, "display",
                        lambda obj, **kw: shown.append(obj))
    calls = []

    def generate(prompt, tau):
        calls.append((prompt, tau))
        return prompt + "xyz"

    box = application_widgets.generation_explorer(generate, "ab<", 0.8)
    assert calls == [("ab<", 0.8)]
    assert "ab&lt;" in shown[0].data and "xyz" in shown[0].data
    box.children[1].value = 0.2                     # the slider redraws
    assert calls[-1] == ("ab<", 0.2)
    box.children[0].value = "q"
    assert box.redraw() == "qxyz"


def test_generation_explorer_reports_unknown_characters(monkeypatch):
    monkeypatch.setattr(application_widgets, "display", lambda *a, **k: 0)
    vocab = data.build_char_vocab("abc")

    def generate(prompt, tau):
        return vocab.decode(vocab.encode(prompt))

    box = application_widgets.generation_explorer(generate, "ab", 1.0)
    box.children[0].value = "a#"
    assert "not in the vocabulary" in box.redraw()


def test_last_real_scores_read_each_sequence_where_it_ends():
    model = SequenceClassifier(3, 6, 4, seed=0)
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([5, 2, 3])
    got = training.last_real_scores(model, x, lengths)
    with torch.no_grad():
        for n in range(3):
            alone = model(x[n:n + 1, :int(lengths[n])])
            torch.testing.assert_close(got[n:n + 1].detach(), alone)


def test_train_classifier_on_cut_sequences_answers_early():
    rng = np.random.default_rng(1)
    X = torch.from_numpy(rng.normal(size=(300, 6, 2)).astype(np.float32))
    y = (X[:, 0, 0] > 0).long()                     # the first step decides
    model = SequenceClassifier(2, 8, 2, seed=0)
    training.train_classifier(model, X, y, epochs=20, batch_size=32,
                              lr=2e-2, seed=0, cut=True, progress=False)
    one_step = training.last_real_scores(model, X, torch.ones(300,
                                                              dtype=int))
    assert (one_step.argmax(1) == y).float().mean() > 0.9
