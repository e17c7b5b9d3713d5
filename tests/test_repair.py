"""Each repair the grader makes to a submitted file, on tiny notebooks."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from autograder import repair
from autograder.cells import grade_id, nbgrader
from autograder.repair import best_lesson, parse, prepare, restore_cells


def _cell(kind: str, source: str, gid: str | None = None,
          **flags) -> dict:
    make = {"code": nbformat.v4.new_code_cell,
            "markdown": nbformat.v4.new_markdown_cell}[kind]
    cell = make(source)
    if gid:
        cell.metadata["nbgrader"] = {
            "grade_id": gid, "schema_version": 3, "solution": False,
            "grade": False, "locked": False, **flags}
    return cell


def _released() -> str:
    nb = nbformat.v4.new_notebook(cells=[
        _cell("markdown", "# Lesson"),
        _cell("code", "import numpy as np"),
        _cell("code", "# YOUR CODE HERE\nraise NotImplementedError()",
              "step", solution=True),
        _cell("code", "assert step(1) == 1", "test_step", grade=True,
              locked=True, points=2),
        _cell("code", "# YOUR CODE HERE\nraise NotImplementedError()",
              "other", solution=True),
        _cell("code", "assert other(1) == 2", "test_other", grade=True,
              locked=True, points=1),
    ])
    return nbformat.writes(nb)


RELEASED = _released()


def released() -> dict:
    """A released student notebook: two exercises and their tests."""
    return json.loads(RELEASED)


def ids(nb: dict) -> list[str | None]:
    return [grade_id(c) for c in nb["cells"]]


def by_id(nb: dict, gid: str) -> dict:
    return next(c for c in nb["cells"] if grade_id(c) == gid)


# ------------------------------------------------------------ parse

@pytest.mark.parametrize("data, error", [
    (b"", "the file is empty"),
    (b"  \n", "the file is empty"),
    (b"%PDF-1.7 ...", "not a notebook: this is a PDF file"),
    (b"PK\x03\x04...", "not a notebook: this is a zip archive"),
    (b"\x89PNG...", "not a notebook: this is a PNG image"),
    (b"\xff\xd8\xff\xe0", "not a notebook: this is a JPEG image"),
    (b"\x7fELF...", "not a notebook: this is a program"),
    (b"{\"cells\": [\xff]}", "not a notebook: not UTF-8 text"),
    (b"[1, 2]", "not a notebook: JSON without cells"),
    (b"{\"metadata\": {}}", "not a notebook: JSON without cells"),
])
def test_unreadable_files_give_a_reason(data, error):
    rep = parse(data)
    assert rep.nb is None and rep.error == error


def test_invalid_json_says_where():
    rep = parse(b"{\"cells\": [}")
    assert rep.nb is None
    assert rep.error.startswith("not a notebook: invalid JSON (Expecting")


def test_json_nbformat_cannot_read_is_refused():
    nb = released()
    nb["cells"].append("not a cell")
    rep = parse(json.dumps(nb).encode())
    assert rep.nb is None
    assert rep.error.startswith("not a readable notebook (")


def test_too_large_files_are_refused(monkeypatch):
    monkeypatch.setattr(repair, "MAX_BYTES", 2 ** 20)
    rep = parse(b" " * (3 * 2 ** 20) + json.dumps(released()).encode())
    assert rep.error == "the file is too large (3 MB)"


def test_a_byte_order_mark_is_fine():
    rep = parse(b"\xef\xbb\xbf" + json.dumps(released()).encode())
    assert rep.error == "" and rep.notes == []
    assert ids(rep.nb) == ids(released())


def test_old_notebook_format_is_converted():
    v3 = nbformat.writes(nbformat.convert(nbformat.reads(RELEASED, 4), 3),
                         version=3)
    rep = parse(v3.encode())
    assert rep.notes == ["converted from the old notebook format v3"]
    assert rep.nb["nbformat"] == 4
    assert ids(rep.nb) == ids(released())


def test_invalid_parts_are_dropped():
    nb = released()
    nb["cells"][1]["cell_type"] = "spreadsheet"
    nb["cells"][2]["execution_count"] = "three"
    nb["cells"][2]["outputs"] = [{"output_type": "stream",
                                  "name": "stdout", "text": "x"}]
    nb["cells"][3]["bogus"] = 1
    nb["metadata"] = {"kernelspec": {"name": "python3",
                                     "display_name": "Python 3"},
                      "widgets": {"state": {}}}
    rep = parse(json.dumps(nb).encode())
    assert rep.notes == ["the notebook had invalid parts; they were "
                         "dropped"]
    nbformat.validate(nbformat.from_dict(rep.nb))
    kinds = [c["cell_type"] for c in rep.nb["cells"]]
    assert kinds == ["markdown", "raw", "code", "code", "code", "code"]
    assert rep.nb["cells"][2]["outputs"] == []
    assert "bogus" not in rep.nb["cells"][3]
    assert rep.nb["metadata"] == {"kernelspec": nb["metadata"]["kernelspec"]}
    assert ids(rep.nb) == ids(released())


# ------------------------------------------------------------ restore

def test_untouched_submission_needs_no_repair():
    nb = released()
    assert restore_cells(nb, released()) == []
    assert nb == released()


@pytest.mark.parametrize("change, changed", [
    ({"points": 100}, "points"),
    ({"grade": False}, "grade"),
    ({"locked": False, "points": 0}, "locked, points"),
])
def test_changed_metadata_is_restored(change, changed):
    nb = released()
    nbgrader(by_id(nb, "test_step")).update(change)
    notes = restore_cells(nb, released())
    assert notes == [f"test_step: nbgrader metadata was changed "
                     f"({changed}); the released metadata was restored"]
    assert nb == released()


def test_renamed_grade_id_is_found_by_cell_id_and_restored():
    nb = released()
    nbgrader(by_id(nb, "test_step"))["grade_id"] = "mine"
    notes = restore_cells(nb, released())
    assert notes == ["test_step: nbgrader metadata was changed "
                     "(grade_id); the released metadata was restored"]
    assert nb == released()


def test_renamed_locked_cell_without_id_is_found_by_source():
    nb, ref = released(), released()
    for c in nb["cells"] + ref["cells"]:
        c.pop("id")
    nbgrader(by_id(nb, "test_other"))["grade_id"] = "mine"
    restore_cells(nb, ref)
    assert ids(nb) == ids(ref)


def test_changed_cell_type_is_restored():
    nb = released()
    test = by_id(nb, "test_step")
    test["cell_type"] = "markdown"
    del test["outputs"], test["execution_count"]
    notes = restore_cells(nb, released())
    assert notes == ["test_step: nbgrader metadata was changed (cell "
                     "type); the released metadata was restored"]
    assert nb == released()


def test_cells_claiming_to_be_graded_lose_the_claim():
    nb = released()
    fake = _cell("code", "print('free points')", "bonus", grade=True,
                 locked=True, points=50)
    nb["cells"].append(json.loads(json.dumps(fake)))
    notes = restore_cells(nb, released())
    assert notes == ["a cell claimed to be graded cell 'bonus'; its "
                     "grading metadata was removed"]
    assert "nbgrader" not in nb["cells"][-1]["metadata"]
    assert nb["cells"][-1]["source"] == "print('free points')"


def test_edited_test_cell_is_noted_hidden_tests_aside():
    nb = released()
    by_id(nb, "test_step")["source"] = "pass"
    assert restore_cells(nb, released()) == [
        "test_step: the test cell was edited; the instructor's version "
        "is graded"]
    # The released cell has no hidden tests; adding the block is no edit.
    nb = released()
    by_id(nb, "test_step")["source"] += (
        "\n### BEGIN HIDDEN TESTS\npass\n### END HIDDEN TESTS\n")
    assert restore_cells(nb, released()) == []


@pytest.mark.parametrize("gone", [["test_step"], ["other", "test_other"],
                                  ["test_other"]])
def test_deleted_cells_are_put_back_in_place(gone):
    nb = released()
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) not in gone]
    notes = restore_cells(nb, released())
    assert notes == [f"{g}: the cell was missing (deleted); the released "
                     f"cell was put back" for g in gone]
    assert nb == released()


def test_deleted_first_cell_goes_before_the_first_code_cell():
    nb = released()
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) != "step"]
    restore_cells(nb, released())
    assert ids(nb)[:3] == [None, "step", None]


def test_duplicate_cell_ids_are_dropped():
    nb = released()
    extra = copy.deepcopy(nb["cells"][1])
    nb["cells"].append(extra)
    restore_cells(nb, released())
    assert "id" in nb["cells"][1] and "id" not in nb["cells"][-1]


# ------------------------------------------------------------ prepare

def test_prepare_refuses_notebooks_without_code():
    nb = nbformat.v4.new_notebook(cells=[_cell("markdown", "hi")])
    rep = prepare(nbformat.writes(nb).encode(), released())
    assert rep.nb is None and rep.error == "the notebook has no code cells"


def test_prepare_gives_a_consistent_minor_version():
    nb = released()
    rep = prepare(json.dumps(nb).encode(), released())
    assert rep.nb["nbformat_minor"] >= 5
    nb["cells"].append(_cell("code", "x = 1"))
    del nb["cells"][-1]["id"]
    nb["nbformat_minor"] = 4
    rep = prepare(json.dumps(nb).encode(), released())
    assert rep.nb["nbformat_minor"] == 4
    assert not any("id" in c for c in rep.nb["cells"])
    nbformat.validate(nbformat.from_dict(rep.nb))


def test_best_lesson_is_the_one_sharing_most_graded_cells():
    other = released()
    for c in other["cells"]:
        if grade_id(c):
            nbgrader(c)["grade_id"] += "_2"
    lessons = {"02_rnn": released(), "03_lstm": other}
    assert best_lesson(released(), lessons) == "02_rnn"
    assert best_lesson(other, lessons) == "03_lstm"
    plain = nbformat.v4.new_notebook(cells=[_cell("code", "x = 1")])
    assert best_lesson(json.loads(nbformat.writes(plain)), lessons) is None


# ------------------------------------------------------------ limits

def _bomb(lists: int) -> bytes:
    """A valid notebook whose metadata holds ``lists`` empty lists: a few
    bytes each in the file, about 60 bytes each once read."""
    nb = released()
    nb["cells"][0]["metadata"]["x"] = "@@"
    return json.dumps(nb).replace(
        '"@@"', "[" + ",".join(["[]"] * lists) + "]").encode()


def test_a_file_that_needs_too_much_memory_is_refused_in_a_child():
    rep = repair._in_child(_bomb(4 * 2 ** 20), released(),
                           memory=512 * 2 ** 20, seconds=120)
    assert rep.nb is None
    assert "512 MiB" in rep.error and "not a notebook the grader " \
        "accepts" in rep.error
    # This process did not read it, and still works.
    assert prepare(json.dumps(released()).encode(), released()).nb


def test_deeply_nested_json_is_refused():
    deep = b'{"cells": [' + b"[" * 10 ** 6 + b"]" * 10 ** 6 + b"]}"
    rep = prepare(deep, released())
    assert rep.nb is None
    assert rep.error == "not a readable notebook (nested too deeply)"


def test_reading_is_stopped_after_the_time_limit(monkeypatch):
    monkeypatch.setattr(repair, "parse", _slow_parse)
    monkeypatch.setattr(repair, "_CTX", None)
    import multiprocessing as mp
    # The fork server must see the patched function: fork from here.
    monkeypatch.setattr(repair, "_context", lambda: mp.get_context(
        "fork"))
    rep = repair._in_child(b"{}", None, seconds=2)
    assert rep.nb is None
    assert "within the grader's limits" in rep.error and "2 s" in rep.error


def test_a_script_that_reads_files_is_not_run_again_per_file(tmp_path):
    """A script (``python script.py``) that grades through the API must
    not be re-run in the child that reads each file: that would cost
    each file the script's imports, about 1.5 s for the benchmark."""
    import subprocess
    import sys
    log = tmp_path / "runs.txt"
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "with open(sys.argv[1], 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "from autograder.repair import parse_isolated\n"
        "if __name__ == '__main__':\n"
        "    for _ in range(3):\n"
        "        rep = parse_isolated(b'{}')\n"
        "        assert rep.nb is None and 'not' in rep.error, rep\n")
    subprocess.run([sys.executable, str(script), str(log)], check=True,
                   timeout=120)
    assert log.read_text() == "ran\n"


def _slow_parse(data):
    import time
    time.sleep(60)


def test_the_isolated_result_equals_the_direct_one():
    nb = released()
    nbgrader(by_id(nb, "test_step"))["points"] = 100
    data = json.dumps(nb).encode()
    direct = prepare(data, released(), isolate=False)
    child = prepare(data, released())
    assert (child.nb, child.notes, child.error) == (
        direct.nb, direct.notes, direct.error)
