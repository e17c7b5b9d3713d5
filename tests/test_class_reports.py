"""The class report, the similarity report and the feedback filter on
small inputs, without grading anything."""

from __future__ import annotations

import json

from autograder import similarity
from autograder.feedback import HideHiddenTests, strip_hidden
from autograder.report import normalise, summarise, write_report

import corpus
from conftest import load


def result(student, score, note, status="graded"):
    return {"student": student, "status": status, "rows": [
        {"student": student, "lesson": "02_rnn", "exercise": "step_tests",
         "score": score, "max_score": 3.0, "note": note}]}


def test_messages_differing_in_numbers_are_one_group():
    a = "AssertionError: h_next is wrong: at index (0, 2) you have 0.1"
    b = "AssertionError: h_next is wrong: at index (1, 0) you have -3e-05"
    c = "AssertionError: h_next has shape (2, 3), expected (3, 2)"
    assert normalise(a) == normalise(b) != normalise(c)
    assert normalise("key 'W_xh' missing") == normalise("key 'b_h' missing")
    data = summarise([result("s1", 3.0, ""), result("s2", 0.0, a),
                      result("s3", 0.0, b), result("s4", 1.0, c),
                      result("s5", 0.0, "not graded: empty", "failed")])
    ex = data["02_rnn"]["step_tests"]
    assert (ex["n"], ex["full"], ex["not_graded"]) == (5, 1, 1)
    assert ex["failures"].most_common(1) == [(normalise(a), 2)]


def test_report_files_show_rates_and_top_failures(tmp_path):
    msg = "AssertionError: h_next is wrong: at index ({}, 2) you have {}"
    results = [result(f"s{i}", 0.0, msg.format(i, i / 7)) for i in range(3)]
    results.append(result("ok", 3.0, ""))
    write_report(results, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "| step_tests | 3 | 4 | 1 | 25% | 0.75 |" in md
    assert "- 3 x `AssertionError: h_next is wrong: at index (#, #) you " \
        "have #` (e.g. s0)" in md
    page = (tmp_path / "report.html").read_text()
    assert "<td>25%</td>" in page and "3 &times;" in page


def test_hidden_regions_are_cut_nested_or_unclosed():
    src = ("check(f)\n### BEGIN HIDDEN TESTS\nsecret(1)\n"
           "### BEGIN HIDDEN TESTS\nsecret(2)\n### END HIDDEN TESTS\n"
           "secret(3)\n### END HIDDEN TESTS\nshown()\n"
           "    ### BEGIN HIDDEN TESTS\n    secret(4)\n")
    out, found = strip_hidden(src)
    assert found and "secret" not in out and "HIDDEN TESTS" not in out
    assert out.splitlines()[0] == "check(f)" and "shown()" in out
    assert strip_hidden("plain()\n") == ("plain()\n", False)


def test_feedback_filter_shortens_tracebacks_of_hidden_test_cells():
    import nbformat
    cell = nbformat.v4.new_code_cell(
        "check(f)\n### BEGIN HIDDEN TESTS\nassert f(3) == 9\n"
        "### END HIDDEN TESTS\n")
    cell.outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="f is wrong",
        traceback=["----> 3 assert f(3) == 9", "AssertionError: f is "
                   "wrong"])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests()(nb, {})
    assert "f(3)" not in json.dumps(nb)
    assert nb.cells[0].outputs[0]["traceback"] == [
        "AssertionError: f is wrong"]


def test_similarity_finds_a_copied_reference_and_shared_code(
        checked_course):
    import test_grade_class as tc
    sol, les = checked_course
    solution = load(sol / "98_checked.ipynb")
    student = load(les / "98_checked.ipynb")
    ids = set(corpus.solution_ids(solution))

    def own(text):
        nb = corpus.solve(student, solution, ids)
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == \
                    "rnn_step_forward":
                cell["source"] = text
        return nb

    students = {"copy": own(tc.COPIED), "ann": own(tc.SHARED),
                "ben": own(tc.SHARED_RENAMED), "olga": own(tc.OWN),
                "sol": corpus.solve(student, solution, ids),
                "blank": student}
    pairs = similarity.find_pairs("98_checked", students, solution,
                                  student)
    found = {(p.a.who, p.b.who) for p in pairs}
    assert found == {("student copy", "reference helpers/reference/rnn.py"),
                     ("student ann", "student ben")}, found
    page = similarity.render(pairs, len(students))
    assert "2 pair(s) above the threshold" in page
