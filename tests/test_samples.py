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


def test_no_feedback_page_shows_a_hidden_test(lesson_class):
    """nbgrader puts the hidden tests back into the autograded notebook
    that the feedback page is made from; none may reach a student."""
    from conftest import LESSONS, SOLUTIONS, load
    from leaks import hidden_lines, leaks
    out = lesson_class.out
    pages = sorted((out / "feedback").rglob("*.html"))
    assert len(pages) == lesson_class.notebooks
    secrets = {}
    for page in pages:
        lesson = page.stem
        if lesson not in secrets:
            secrets[lesson] = hidden_lines(
                load(SOLUTIONS / f"{lesson}.ipynb"),
                load(LESSONS / f"{lesson}.ipynb"))
        assert leaks(page.read_text(encoding="utf-8"),
                     secrets[lesson]) == [], page
    assert len(secrets) >= 4 and all(secrets.values()), secrets


def test_class_report_beside_the_grades(lesson_class):
    out, g = lesson_class.out, lesson_class.grades
    md = (out / "report.md").read_text(encoding="utf-8")
    assert (out / "report.html").exists()
    # Each exercise's pass rate is the share of full marks in grades.csv.
    for lesson, exercise in {(k[1], k[2]) for k in g}:
        rows = [v for k, v in g.items() if k[1:] == (lesson, exercise)]
        full = sum(s >= m for s, m, _ in rows)
        assert f"| {exercise} | {rows[0][1]:g} | {len(rows)} | {full} | " \
            f"{100 * full / len(rows):.0f}% |" in md, (lesson, exercise)
    # The unsolved rnn_forward of the blank notebooks is one group.
    section = md.split("### 02_simple_rnn / rnn_forward_tests")[1]
    first = section.split("\n- ")[1]
    assert "not implemented yet" in first and int(first.split()[0]) >= 2


def test_similarity_report_beside_the_grades(lesson_class):
    page = (lesson_class.out / "similarity.html").read_text(
        encoding="utf-8")
    assert "Similarity report" in page and "submission(s)" in page
    # Those who handed in the solution notebook copy the reference.
    solved = lesson_class.student("solved", "03_bptt")
    assert f"<td>student {solved}</td><td>reference " in page
