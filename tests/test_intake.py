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

@pytest.mark.parametrize("name, student, shown, file_id", [
    # Canvas, on time and late: keyed by the user id
    ("doejane_1234_56789_02_simple_rnn.ipynb", "1234", "doejane",
     "02_simple_rnn.ipynb"),
    ("doejane_LATE_1234_56789_02_simple_rnn.ipynb", "1234", "doejane",
     "02_simple_rnn.ipynb"),
    # Moodle, one file or one folder per student: the participant id
    ("Jane Doe_1234_assignsubmission_file_02_simple_rnn.ipynb", "1234",
     "Jane Doe", "02_simple_rnn.ipynb"),
    ("Jane Doe_1234_assignsubmission_file_/02_simple_rnn.ipynb",
     "1234", "Jane Doe", "02_simple_rnn.ipynb"),
    # Blackboard: the user name
    ("ps1_doejane_attempt_2024-01-30-15-00-00_02_simple_rnn.ipynb",
     "doejane", None, "02_simple_rnn.ipynb"),
])
def test_lms_patterns_name_the_student_and_file(name, student, shown,
                                                 file_id):
    m = next(m for p in LMS_PATTERNS if (m := re.match(p, name)))
    assert (m.group("student_id"), m.groupdict().get("name"),
            m.group("file_id")) == (student, shown, file_id)


def test_flat_lms_zip_is_read_by_file_name(tmp_path):
    z = make_zip(tmp_path / "canvas.zip", {
        "doejane_LATE_1234_56789_02_simple_rnn.ipynb": notebook(),
        "Jane Roe_77_assignsubmission_file_03_lstm.ipynb": notebook(
            "lstm_step"),
        "ps1_smithj_attempt_2024-01-30-15-00-00_02_simple_rnn.ipynb":
            notebook(),
        "readme.txt": b"hello"})
    subs, problems = read_submissions(z, LESSONS)
    assert found(subs) == {("1234", LESSON), ("77", "03_lstm"),
                           ("smithj", LESSON)}
    assert {s.student: s.name for s in subs} == {
        "1234": "doejane", "77": "Jane Roe", "smithj": "smithj"}
    stamp = {s.student: s.timestamp for s in subs}["smithj"]
    assert stamp == "2024-01-30-15-00-00"
    assert problems == ["canvas.zip:readme.txt: not inside a student "
                        "folder and not an LMS file name, skipped"]


def test_same_name_different_lms_ids_are_two_students(tmp_path):
    z = make_zip(tmp_path / "moodle.zip", {
        "John Smith_1001_assignsubmission_file_02_simple_rnn.ipynb":
            notebook(),
        "John Smith_1002_assignsubmission_file_02_simple_rnn.ipynb":
            notebook(),
        "smithjohn_2001_9_02_simple_rnn.ipynb": notebook(),
        "smithjohn_LATE_2002_9_02_simple_rnn.ipynb": notebook()})
    subs, problems = read_submissions(z, LESSONS)
    assert problems == []
    assert sorted((s.student, s.name) for s in subs) == [
        ("1001", "John Smith"), ("1002", "John Smith"),
        ("2001", "smithjohn"), ("2002", "smithjohn")]


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
        "class/stray.ipynb: not inside a student folder and not an LMS "
        "file name, skipped",
        "class: 1 hidden or system file(s) skipped (1 x "
        ".ipynb_checkpoints)"]


def test_zip_of_a_class_folder_and_unusable_ids(tmp_path):
    z = make_zip(tmp_path / "class.zip", {
        f"class/alice/{LESSON}.ipynb": notebook(),
        f"class/\u5f20\u4f1f/{LESSON}.ipynb": notebook(),
        f"class/../{LESSON}.ipynb": notebook(),
        f"__MACOSX/class/._{LESSON}.ipynb": b"junk"})
    subs, problems = read_submissions(z, LESSONS)
    assert found(subs) == {("alice", LESSON), ("\u5f20\u4f1f", LESSON)}
    assert problems == [
        f"class.zip:class/../{LESSON}.ipynb: a path that leaves the "
        f"archive (..), refused",
        "class.zip: 1 hidden or system file(s) skipped (1 x __MACOSX)"]


def test_mixed_depths_lose_nobody(tmp_path):
    z = make_zip(tmp_path / "mixed.zip", {
        f"alice/{LESSON}.ipynb": notebook(),
        f"class/bob/{LESSON}.ipynb": notebook(),
        f"class/section 2/carol/{LESSON}.ipynb": notebook(),
        f"dave/{LESSON}/{LESSON}.ipynb": notebook(),
        f"submitted/erin/{LESSON}/{LESSON}.ipynb": notebook(),
        "Jane Doe_1234_assignsubmission_file_03_lstm.ipynb": notebook(
            "lstm_step"),
        f"{LESSON}.ipynb": notebook()})
    subs, problems = read_submissions(z, LESSONS)
    assert found(subs) == {(s, LESSON) for s in (
        "alice", "bob", "carol", "dave", "erin")} | {("1234", "03_lstm")}
    assert problems == [f"mixed.zip:{LESSON}.ipynb: not inside a student "
                        f"folder and not an LMS file name, skipped"]


def test_unsafe_zip_entries_are_refused_and_named(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"alice/{LESSON}.ipynb", notebook())
        zf.writestr(f"../bob/{LESSON}.ipynb", notebook())
        zf.writestr(f"carol/../../{LESSON}.ipynb", notebook())
        zf.writestr(f"/etc/dave/{LESSON}.ipynb", notebook())
        zf.writestr(f"C:/erin/{LESSON}.ipynb", notebook())
        link = zipfile.ZipInfo(f"frank/{LESSON}.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/shadow")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr(zipfile.ZipInfo(f"gina/{LESSON}.ipynb",
                                        (2024, 1, 1, 0, 0, 0)), b"{}")
            zf.writestr(zipfile.ZipInfo(f"gina/{LESSON}.ipynb",
                                        (2024, 1, 2, 0, 0, 0)), notebook())
    subs, problems = read_submissions(z, LESSONS)
    assert found(subs) == {("alice", LESSON), ("gina", LESSON)}
    gina = next(s for s in subs if s.student == "gina")
    assert json.loads(gina.data)["cells"]          # the second, not {}
    dup = f"evil.zip:gina/{LESSON}.ipynb"
    assert problems == [
        f"evil.zip:../bob/{LESSON}.ipynb: a path that leaves the archive "
        f"(..), refused",
        f"evil.zip:carol/../../{LESSON}.ipynb: a path that leaves the "
        f"archive (..), refused",
        f"evil.zip:/etc/dave/{LESSON}.ipynb: an absolute path, refused",
        f"evil.zip:C:/erin/{LESSON}.ipynb: an absolute path, refused",
        f"evil.zip:frank/{LESSON}.ipynb: a symbolic link, refused",
        f"{dup} (entry 1 of 2): the zip holds 2 entries named "
        f"'gina/{LESSON}.ipynb'",
        f"{dup} (entry 2 of 2): the zip holds 2 entries named "
        f"'gina/{LESSON}.ipynb'",
        f"{dup} (entry 1 of 2): not graded: an older submission of "
        f"{LESSON} by 'gina'; the latest ({dup} (entry 2 of 2)) is graded"]


def test_links_in_a_folder_are_not_followed(tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / f"{LESSON}.ipynb").write_bytes(notebook())
    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(notebook())
    (root / "mallory").mkdir()
    (root / "mallory" / f"{LESSON}.ipynb").symlink_to(secret)
    (root / "trudy").symlink_to(tmp_path)
    subs, problems = read_submissions(root, LESSONS)
    assert found(subs) == {("alice", LESSON)}
    assert sorted(problems) == [
        f"class/mallory/{LESSON}.ipynb: a symbolic link, not followed, "
        f"skipped",
        "class/trudy: a symbolic link, not followed, skipped"]


def test_names_differing_in_normalisation_are_a_reported_conflict(
        tmp_path):
    import os
    root = tmp_path / "class"
    nfc, nfd = "Jos\u00e9", "Jose\u0301"
    for name, stamp in ((nfc, 1e9), (nfd, 2e9)):
        (root / name).mkdir(parents=True)
        f = root / name / f"{LESSON}.ipynb"
        f.write_bytes(notebook())
        os.utime(f, (stamp, stamp))
    (sub,), problems = read_submissions(root, LESSONS)
    assert sub.student == nfc and sub.origin == f"class/{nfd}/{LESSON}.ipynb"
    conflict = [p for p in problems if "conflict" in p]
    older = [p for p in problems if "older submission" in p]
    assert len(conflict) == 1 and len(older) == 1 and len(problems) == 2
    assert "differ only in Unicode normalisation" in conflict[0]
    assert "'Jos\\xe9'" in conflict[0] and "'Jose\\u0301'" in conflict[0]
    assert older[0].startswith(f"class/{nfc}/{LESSON}.ipynb: not graded")
    assert any("conflict" in n for n in sub.notes)
    assert any("ignored" in n and nfc in n for n in sub.notes)


def test_latest_of_several_copies_is_graded(tmp_path):
    z = tmp_path / "twice.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for stamp, name in (((2024, 1, 2, 0, 0, 0), f"{LESSON}.ipynb"),
                            ((2024, 1, 1, 0, 0, 0), f"{LESSON} (1).ipynb")):
            zf.writestr(zipfile.ZipInfo(f"alice/{name}", stamp),
                        notebook())
    (sub,), problems = read_submissions(z, LESSONS)
    older = f"twice.zip:alice/{LESSON} (1).ipynb"
    assert problems == [f"{older}: not graded: an older submission of "
                        f"{LESSON} by 'alice'; the latest ({sub.origin}) "
                        f"is graded"]
    assert sub.origin == f"twice.zip:alice/{LESSON}.ipynb"
    assert sub.notes[-1] == (
        f"2 submissions of this lesson; graded the latest ({sub.origin}), "
        f"ignored {older}")


def test_oversized_entries_are_refused_with_their_size(tmp_path,
                                                      monkeypatch):
    import autograder.intake as intake
    monkeypatch.setattr(intake, "MAX_BYTES", 100)
    z = make_zip(tmp_path / "big.zip", {f"alice/{LESSON}.ipynb":
                                        b" " * 3 * 2 ** 20})
    (sub,), problems = read_submissions(z, LESSONS)
    assert problems == [] and sub.data == b""
    assert sub.refused == "the file is too large (3 MB)"


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
