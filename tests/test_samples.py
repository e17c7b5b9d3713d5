"""The README's grading example: the sample class through the grade
command. The samples are graded in the same run as the lesson pipeline's
class (the ``lesson_class`` fixture of conftest.py)."""

from __future__ import annotations

import sys

import pytest

from conftest import FIXTURES, SAMPLES

pytestmark = pytest.mark.slow


def test_samples_match_the_current_lessons(tmp_path, monkeypatch):
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_submissions
    finally:
        sys.path.remove(str(FIXTURES))
    monkeypatch.setattr(make_submissions, "OUT", tmp_path)
    make_submissions.main()
    for fresh in tmp_path.rglob("*.ipynb"):
        committed = SAMPLES / fresh.relative_to(tmp_path)
        assert fresh.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run tests/fixtures/make_submissions.py")


def test_grade_command_on_the_samples(lesson_class):
    run, out = lesson_class.run, lesson_class.out
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"graded {lesson_class.notebooks} submission(s)" in run.stdout
    g = lesson_class.grades
    ada = [v for k, v in g.items() if k[0] == "ada"]
    assert len(ada) == 7 and all(s == m for s, m, _ in ada)
    assert g[("grace", "02_simple_rnn", "rnn_step_forward_tests")][0] == 3
    assert g[("grace", "02_simple_rnn", "rnn_forward_tests")][0] == 0
    score, _, note = g[("linus", "02_simple_rnn", "rnn_step_forward_tests")]
    assert score == 0 and "bias" in note
    for student, lesson in (("ada", "01_sequences"),
                            ("linus", "02_simple_rnn")):
        assert (out / "feedback" / student / f"{lesson}.html").exists()
