"""Finding submissions: student ids and lessons from folder, zip and LMS
file names. No notebook is run."""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile

import nbformat
import pytest

from autograder.intake import (LMS_PATTERNS, _strip_copy_suffix,
                               clean_student, read_submissions)

LESSON = "02_simple_rnn"


def notebook(grade_id: str = "rnn_step") -> bytes:
    cell = nbformat.v4.new_code_cell("def rnn_step(x):\n    return x\n")
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": True,
                                 "grade": False, "locked": False,
                                 "schema_version": 3}
    return nbformat.writes(nbformat.v4.new_notebook(cells=[cell])).encode()


LESSONS = {LESSON: json.loads(notebook()),
           "03_lstm": json.loads(notebook("lstm_step"))}


def make_zip(path, names: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in names.items():
            zf.writestr(name, data)
    return path


def found(subs) -> set[tuple[str, str]]:
    return {(s.student, s.lesson) for s in subs}


# ------------------------------------------------------------ LMS names

@pytest.mark.parametrize("name, student, file_id", [
    # Canvas, on time and late
    ("doejane_1234_56789_02_simple_rnn.ipynb", "doejane",
     "02_simple_rnn.ipynb"),
    ("doejane_LATE_1234_56789_02_simple_rnn.ipynb", "doejane",
     "02_simple_rnn.ipynb"),
    # Moodle, one file or one folder per student
    ("Jane Doe_1234_assignsubmission_file_02_simple_rnn.ipynb", "Jane Doe",
     "02_simple_rnn.ipynb"),
    ("Jane Doe_1234_assignsubmission_file_/02_simple_rnn.ipynb",
     "Jane Doe", "02_simple_rnn.ipynb"),
    # Blackboard
    ("ps1_doejane_attempt_2024-01-30-15-00-00_02_simple_rnn.ipynb",
     "doejane", "02_simple_rnn.ipynb"),
])
def test_lms_patterns_name_the_student_and_file(name, student, file_id):
    m = next(m for p in LMS_PATTERNS if (m := re.match(p, name)))
    assert (m.group("student_id"), m.group("file_id")) == (student, file_id)


def test_flat_lms_zip_is_read_by_file_name(tmp_path):
    z = make_zip(tmp_path / "canvas.zip", {
        "doejane_LATE_1234_56789_02_simple_rnn.ipynb": notebook(),
        "Jane Roe_77_assignsubmission_file_03_lstm.ipynb": notebook(
            "lstm_step"),
        "ps1_smithj_attempt_2024-01-30-15-00-00_02_simple_rnn.ipynb":
            notebook(),
        "readme.txt": b"hello"})
    subs, problems = read_submissions(z, LESSONS)
    assert found(subs) == {("doejane", LESSON), ("Jane Roe", "03_lstm"),
                           ("smithj", LESSON)}
    stamp = {s.student: s.timestamp for s in subs}["smithj"]
    assert stamp == "2024-01-30-15-00-00"
    assert problems == ["canvas.zip:readme.txt: neither <student>/<file> "
                        "nor an LMS file name, skipped"]


def test_own_pattern_replaces_the_known_ones(tmp_path):
    z = make_zip(tmp_path / "other.zip", {
        "alice--02_simple_rnn.ipynb": notebook(),
        "doejane_1234_56789_02_simple_rnn.ipynb": notebook()})
    subs, problems = read_submissions(
        z, LESSONS, r"^(?P<student_id>\w+)--(?P<file_id>.+)$")
    assert found(subs) == {("alice", LESSON)}
    assert len(problems) == 1 and "doejane_1234" in problems[0]


# ------------------------------------------------------------ folders, zips

def test_student_folders_and_nbgrader_layout(tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / f"{LESSON}.ipynb").write_bytes(notebook())
    (root / "alice" / ".ipynb_checkpoints").mkdir()
    (root / "alice" / "notes.txt").write_text("x")
    (root / "bob" / LESSON).mkdir(parents=True)     # nbgrader's layout
    (root / "bob" / LESSON / f"{LESSON}.ipynb").write_bytes(notebook())
    (root / "stray.ipynb").write_bytes(notebook())
    subs, problems = read_submissions(root, LESSONS)
    assert found(subs) == {("alice", LESSON), ("bob", LESSON)}
    assert sorted(problems) == [
        "class/alice/notes.txt: not a notebook, skipped",
        "class/stray.ipynb: not inside a student folder, skipped"]


def test_zip_of_a_class_folder_and_unusable_ids(tmp_path):
    z = make_zip(tmp_path / "class.zip", {
        f"class/alice/{LESSON}.ipynb": notebook(),
        f"class/\u5f20\u4f1f/{LESSON}.ipynb": notebook(),
        f"class/../{LESSON}.ipynb": notebook(),
        f"__MACOSX/class/._{LESSON}.ipynb": b"junk"})
    subs, problems = read_submissions(z, LESSONS)
    assert found(subs) == {("alice", LESSON), ("\u5f20\u4f1f", LESSON)}
    assert problems == [f"class.zip:class/../{LESSON}.ipynb: unusable "
                        f"student id '..', skipped"]


def test_latest_of_several_copies_is_graded(tmp_path):
    z = tmp_path / "twice.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for stamp, name in (((2024, 1, 2, 0, 0, 0), f"{LESSON}.ipynb"),
                            ((2024, 1, 1, 0, 0, 0), f"{LESSON} (1).ipynb")):
            zf.writestr(zipfile.ZipInfo(f"alice/{name}", stamp),
                        notebook())
    (sub,), problems = read_submissions(z, LESSONS)
    assert problems == []
    assert sub.origin == f"twice.zip:alice/{LESSON}.ipynb"
    assert sub.notes[-1] == (
        f"2 submissions of this lesson; graded the latest ({sub.origin}), "
        f"ignored twice.zip:alice/{LESSON} (1).ipynb")


# ------------------------------------------------------------ lesson names

@pytest.mark.parametrize("stem", [
    "02_simple_rnn (1)", "02_simple_rnn(2)", "02_simple_rnn-1",
    "02_simple_rnn-Copy1", "02_simple_rnn copy", "02_simple_rnn_copy",
    "02_simple_rnn 2", "02_simple_rnn-Copy1 (1)"])
def test_copy_suffixes_are_stripped(stem):
    assert _strip_copy_suffix(stem) == LESSON


def test_lesson_names_are_kept_whole():
    assert _strip_copy_suffix(LESSON) == LESSON
    assert _strip_copy_suffix("10_attention") == "10_attention"


def test_renamed_notebooks_are_matched_only_when_asked(tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / f"{LESSON} (1).ipynb").write_bytes(notebook())
    (root / "alice" / "homework.ipynb").write_bytes(notebook("lstm_step"))
    (root / "alice" / "other.ipynb").write_bytes(notebook("nothing"))
    subs, problems = read_submissions(root, LESSONS)
    assert found(subs) == {("alice", LESSON)}
    assert subs[0].notes == [f"the notebook was named '{LESSON} (1).ipynb'"
                             f"; graded as lesson {LESSON}"]
    assert sorted(problems) == [
        "class/alice/homework.ipynb: unknown lesson 'homework' (expected "
        "one of 02_simple_rnn, 03_lstm); its graded cells are those of "
        "lesson 03_lstm (rename it, or grade with --match-renamed), "
        "skipped",
        "class/alice/other.ipynb: unknown lesson 'other' (expected one of "
        "02_simple_rnn, 03_lstm), skipped"]
    subs, _ = read_submissions(root, LESSONS, match_renamed=True)
    assert found(subs) == {("alice", LESSON), ("alice", "03_lstm")}


# ------------------------------------------------------------ student ids

def test_clean_student_keeps_ids_and_normalises_them():
    assert clean_student("  alice ") == "alice"
    assert clean_student("Jane Doe") == "Jane Doe"
    decomposed = unicodedata.normalize("NFD", "Jos\u00e9")
    assert clean_student(decomposed) == "Jos\u00e9"


@pytest.mark.parametrize("bad", ["", "  ", ".", "..", "a/b", "a\\b",
                                 "a\x00b", "x" * 201])
def test_clean_student_refuses_what_is_no_folder_name(bad):
    assert clean_student(bad) is None
