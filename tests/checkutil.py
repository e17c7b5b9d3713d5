"""Assertions that the tests of several lessons' graded checks share."""

from __future__ import annotations

import pytest

from test_checks_lessons34 import fails, replay_of


def passes_visible_and_hidden(chk, fn, capsys, hidden_draws: int = 5):
    """``chk`` accepts ``fn`` on the visible inputs and on
    ``hidden_draws`` fresh hidden draws, printing a tick every time."""
    chk(fn)
    for _ in range(hidden_draws):
        chk(fn, hidden=True)
    out = capsys.readouterr().out
    assert out.count("\u2713") == 1 + hidden_draws, out


def fails_visible_and_hidden(chk, fn, needles, hidden_draws: int = 1):
    """``chk`` rejects ``fn`` on the visible inputs, with every needle in
    its message, and on the hidden inputs too: within ``hidden_draws``
    fresh draws (a draw may miss a mistake that only some inputs show)."""
    fails(chk, fn, *needles)
    with pytest.raises(AssertionError):
        for _ in range(hidden_draws):
            chk(fn, hidden=True)


def replay_passes_visible_only(chk, reference):
    """An answer that replays ``reference``'s outputs on the visible
    inputs passes the visible check and fails the hidden one."""
    replay = replay_of(reference, chk)
    chk(replay)
    with pytest.raises(AssertionError):
        chk(replay, hidden=True)
