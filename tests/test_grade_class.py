"""One small class through the grade command, as an instructor runs it:
a Moodle zip with two students of the same name, a crafted notebook that
needs gigabytes to read, entries at mixed depths and entries that must
be refused, copied and shared code. What it shows: nobody is lost or
merged, the crafted file costs only its own grade, every entry is graded
or named in problems.txt, the similarity report lists the copies (and
not independent work), the class report groups the failures, and no
feedback page shows a hidden test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import corpus
from conftest import ROOT, load, read_grades
from leaks import hidden_lines, leaks

pytestmark = pytest.mark.slow
LESSON = "98_checked"
EXERCISES = ("project_tests", "rnn_step_tests", "count_tests")
FULL = (2.0, 3.0, 1.0)
MOODLE = "{name}_{id}_assignsubmission_file_" + LESSON + ".ipynb"

# rnn_step_forward of helpers.reference.rnn with its parameter check,
# copied and renamed.
COPIED = '''from helpers.reference.validate import (check_array, check_keys,
                                        check_params, check_step)


def _validate(weights, finite=True):
    """Validate an RNN parameter dict; return (H, D, dtype)."""
    check_keys(weights, ("W_xh", "W_hh", "b_h"))
    n_hid, n_in = check_array("params['W_xh']", weights["W_xh"], 2, "H, D",
                              finite=False).shape
    kind = check_params(weights, {"W_xh": ((n_hid, n_in), "H, D"),
                                  "W_hh": ((n_hid, n_hid), "H, H"),
                                  "b_h": ((n_hid,), "H")}, finite=finite)
    return n_hid, n_in, kind


def rnn_step_forward(x, h_prev, params):
    """One step h_next = tanh(x W_xh^T + h_prev W_hh^T + b_h)."""
    inp, state, weights = x, h_prev, params
    n_hid, n_in, kind = _validate(weights, finite=False)
    check_step(inp, {"h_prev": state}, n_in, n_hid, kind)

    pre = inp @ weights["W_xh"].T + state @ weights["W_hh"].T + weights["b_h"]
    new_state = np.tanh(pre)                                       # (N, H)
    return new_state, (inp, state, new_state, weights)
'''
# Two students hand in the same loops, one with other names and comments.
SHARED = '''def rnn_step_forward(x, h_prev, params):
    """One step h_next = tanh(x W_xh^T + h_prev W_hh^T + b_h)."""
    W_xh = np.asarray(params["W_xh"])
    W_hh = np.asarray(params["W_hh"])
    b_h = np.asarray(params["b_h"])
    N = x.shape[0]
    H = W_hh.shape[0]
    a = np.zeros((N, H), dtype=np.result_type(x, W_xh))
    for n in range(N):
        for j in range(H):
            a[n, j] = np.dot(W_xh[j], x[n]) + np.dot(W_hh[j], h_prev[n]) \\
                + b_h[j]
    h_next = np.tanh(a)
    return h_next, (x, h_prev, h_next, params)
'''
SHARED_RENAMED = '''def rnn_step_forward(x, h_prev, params):
    """One step h_next = tanh(x W_xh^T + h_prev W_hh^T + b_h)."""
    # my own weights
    Wx = np.asarray(params["W_xh"])
    Wh = np.asarray(params["W_hh"])
    bias = np.asarray(params["b_h"])
    batch = x.shape[0]
    hidden = Wh.shape[0]
    z = np.zeros((batch, hidden), dtype=np.result_type(x, Wx))
    for i in range(batch):          # every sample
        for k in range(hidden):     # every unit
            z[i, k] = np.dot(Wx[k], x[i]) + np.dot(Wh[k], h_prev[i]) \\
                + bias[k]
    out = np.tanh(z)
    return out, (x, h_prev, out, params)
'''
# An independent, different solution.
OWN = '''def rnn_step_forward(x, h_prev, params):
    """One step h_next = tanh(x W_xh^T + h_prev W_hh^T + b_h)."""
    pre = np.einsum("nd,hd->nh", x, params["W_xh"])
    pre = pre + np.einsum("nk,hk->nh", h_prev, params["W_hh"])
    pre += params["b_h"][None, :]
    h_next = np.tanh(pre)
    return h_next, (x, h_prev, h_next, params)
'''


def bomb(nb: dict, lists: int = 4 * 2 ** 20) -> bytes:
    """A valid notebook (12 MB) whose metadata holds four million empty
    lists: more than a gigabyte once read."""
    nb = json.loads(json.dumps(nb))
    nb["cells"][0]["metadata"]["x"] = "@@"
    return json.dumps(nb).replace(
        '"@@"', "[" + ",".join(["[]"] * lists) + "]").encode()


@dataclass
class Graded:
    run: subprocess.CompletedProcess
    again: subprocess.CompletedProcess
    out: Path
    archive: Path
    grades: dict
    solution: dict
    released: dict


def grade_command(archive, out, sol):
    env = dict(os.environ, RNN_COURSE_READ_MEMORY=str(512 * 2 ** 20))
    return subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(archive), "-o",
         str(out), "--solutions", str(sol), "-j", "2", "--timeout", "60"],
        cwd=ROOT, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def graded(checked_course, tmp_path_factory):
    sol, les = checked_course
    solution = load(sol / f"{LESSON}.ipynb")
    student = load(les / f"{LESSON}.ipynb")
    ids = set(corpus.solution_ids(solution))
    full = corpus.solve(student, solution, ids)
    first = corpus.solve(student, solution, {"project"})

    def own(text):
        nb = corpus.solve(student, solution, ids - {"rnn_step_forward"})
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == \
                    "rnn_step_forward":
                cell["source"] = text
        return json.dumps(nb).encode()

    base = tmp_path_factory.mktemp("moodle")
    archive = base / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        def put(name, data, when=(2024, 5, 1, 12, 0, 0), attr=None):
            info = zipfile.ZipInfo(name, when)
            if attr is not None:
                info.external_attr = attr << 16
            zf.writestr(info, data)
        put(MOODLE.format(name="John Smith", id=1001),
            json.dumps(full).encode())
        put(MOODLE.format(name="John Smith", id=1002),
            json.dumps(first).encode())
        put(MOODLE.format(name="Carl Copy", id=1003), own(COPIED))
        put(MOODLE.format(name="Ann Share", id=1004), own(SHARED))
        put(MOODLE.format(name="Ben Share", id=1005), own(SHARED_RENAMED))
        put(MOODLE.format(name="Olga Own", id=1006), own(OWN))
        put(MOODLE.format(name="Mal Formed", id=1007), bomb(student))
        # Folders at two depths beside the flat LMS names.
        put(f"extra/Eve/{LESSON}.ipynb", json.dumps(full).encode())
        put(f"Fay/{LESSON}.ipynb", json.dumps(student).encode(),
            when=(2024, 5, 1, 10, 0, 0))
        # Entries to refuse.
        put(f"../Mallory/{LESSON}.ipynb", json.dumps(full).encode())
        put(f"/tmp/Trent/{LESSON}.ipynb", json.dumps(full).encode())
        put(f"Link/{LESSON}.ipynb", "/etc/shadow", attr=0o120777)
        with pytest.warns(UserWarning, match="Duplicate name"):
            put(f"Fay/{LESSON}.ipynb", json.dumps(first).encode())
    out = base / "out"
    run = grade_command(archive, out, sol)
    again = grade_command(archive, out, sol)
    grades = read_grades(out / "grades.csv") if run.returncode == 0 \
        else {}
    return Graded(run, again, out, archive, grades, solution, student)


def scores(g, student):
    return tuple(g.grades[(student, LESSON, e)][0] for e in EXERCISES)


def note(g, student, exercise="rnn_step_tests"):
    return g.grades[(student, LESSON, exercise)][2]


def test_the_batch_finishes(graded):
    assert graded.run.returncode == 0, graded.run.stderr[-3000:]
    assert "graded 8 submission(s), 1 could not be graded" in \
        graded.run.stdout, graded.run.stdout


def test_two_students_of_one_name_are_two_students(graded):
    import csv
    assert scores(graded, "1001") == FULL
    assert scores(graded, "1002") == (2.0, 0.0, 0.0)
    with open(graded.out / "grades.csv", encoding="utf-8") as fh:
        names = {r["student"]: r["name"] for r in csv.DictReader(fh)}
    assert names["1001"] == names["1002"] == "John Smith"
    for key in ("1001", "1002"):
        assert (graded.out / "feedback" / key / f"{LESSON}.html").exists()


def test_a_file_that_needs_gigabytes_costs_only_its_grade(graded):
    assert scores(graded, "1007") == (0.0, 0.0, 0.0)
    why = note(graded, "1007")
    assert "not graded" in why and "512 MiB" in why, why
    assert "1007" in (graded.out / "problems.txt").read_text()
    for student in ("1001", "1004", "1005", "1006", "Eve"):
        assert scores(graded, student) == FULL, note(graded, student)


def test_a_resumed_run_grades_nothing_again(graded):
    assert graded.again.returncode == 0, graded.again.stderr[-3000:]
    assert "9 already graded (resumed)" in graded.again.stdout
    assert read_grades(graded.out / "grades.csv") == graded.grades


def test_every_entry_is_graded_or_named_in_problems(graded):
    problems = (graded.out / "problems.txt").read_text(encoding="utf-8")
    origins = {json.loads(f.read_text())["origin"]
               for f in (graded.out / ".state").glob("*.json")}
    with zipfile.ZipFile(graded.archive) as zf:
        for name in [i.filename for i in zf.infolist()]:
            where = f"moodle.zip:{name}"
            assert any(o.startswith(where) for o in origins) or \
                where in problems, where
    assert scores(graded, "Eve") == FULL
    assert scores(graded, "Fay") == (2.0, 0.0, 0.0)     # the later entry
    for line in (f"../Mallory/{LESSON}.ipynb: a path that leaves the "
                 f"archive (..), refused",
                 f"/tmp/Trent/{LESSON}.ipynb: an absolute path, refused",
                 f"Link/{LESSON}.ipynb: a symbolic link, refused",
                 f"Fay/{LESSON}.ipynb (entry 1 of 2): not graded: an "
                 f"older submission"):
        assert f"moodle.zip:{line}" in problems


def test_similarity_report_lists_the_copies_only(graded):
    import re
    page = (graded.out / "similarity.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td><a href='#p\d+'>\d+</a></td>(.*?)</tr>",
                      page)
    listed = [re.sub(r"<[^>]+>", "|", r) for r in rows]
    assert any("student 1003" in r and "helpers/reference/rnn.py" in r
               for r in listed), listed
    assert any("student 1004" in r and "student 1005" in r
               for r in listed), listed
    assert not any("student 1006" in r for r in listed), listed
    # The matching lines, side by side, marked.
    assert "class='hit'>    for n in range(N):</div>" in page
    assert "class='hit'>    for i in range(batch):          # every " \
        "sample</div>" in page


def test_class_report_gives_pass_rates_and_grouped_failures(graded):
    md = (graded.out / "report.md").read_text(encoding="utf-8")
    assert (graded.out / "report.html").exists()
    # 9 submissions; rnn_step_forward is right in 1001, Eve and the
    # three of their own (the copy aside).
    row = next(line for line in md.splitlines()
               if line.startswith("| rnn_step_tests |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:3] == ["rnn_step_tests", "3", "9"]
    assert int(cells[3]) >= 5 and cells[4].endswith("%")
    section = md.split(f"### {LESSON} / rnn_step_tests")[1]
    assert "not implemented" in section.lower()
    assert "# x" not in section and "(e.g. " in section


def test_no_feedback_page_shows_a_hidden_test(graded):
    secret = hidden_lines(graded.solution, graded.released)
    assert len(secret) >= 4
    pages = sorted((graded.out / "feedback").rglob("*.html"))
    assert len(pages) == 8
    for page in pages:
        assert leaks(page.read_text(encoding="utf-8"), secret) == [], page
