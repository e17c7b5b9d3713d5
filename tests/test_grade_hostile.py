"""Hostile and broken submissions through the real grading pipeline.

One class of students attacks the grader on a fixture lesson with three
exercises whose tests go through ``helpers.checks`` (project: 2 points,
rnn_step_forward with the course's own checker: 3, count_positive: 1).
Each test states the score and the reason the grades note must give.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

import corpus
from autograder import sandbox
from autograder.grade import grade
from conftest import ROOT, load, read_grades

pytestmark = pytest.mark.slow
LESSON = "98_checked"
EXERCISES = ("project_tests", "rnn_step_tests", "count_tests")
FULL = (2.0, 3.0, 1.0)
TIMEOUT = 10


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(
        p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
        if p.is_file()}


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    """A file outside every sandbox that planted symlinks point at."""
    folder = tmp_path_factory.mktemp("victim")
    os.chmod(folder, 0o755)
    path = folder / "victim.txt"
    path.write_text("original")
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="module")
def graded(checked_course, tmp_path_factory, victim):
    sol, les = checked_course
    solution = load(sol / f"{LESSON}.ipynb")
    student = load(les / f"{LESSON}.ipynb")
    subs = tmp_path_factory.mktemp("subs") / "class"
    files = {f"{k}/{LESSON}.ipynb": v for k, v in corpus.hostile(
        solution, student, "rnn_step_forward", "rnn_step_tests").items()}
    full = corpus.solve(student, solution, set(
        corpus.solution_ids(solution)))
    hard = corpus.solve(student, solution, {"project", "rnn_step_forward"})
    for cell in hard["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == \
                "count_positive":
            cell["source"] = "def count_positive(x):\n    return 2\n"
    # Fair uses of the reference and of importlib: they cost nothing.
    compare = corpus._add_cell(full, (
        "from helpers.reference.rnn import init_rnn_params\n"
        "from helpers.reference.rnn import rnn_step_forward as ref_step\n"
        "p = init_rnn_params(3, 4, np.random.default_rng(0))\n"
        "x, h = np.ones((2, 3)), np.zeros((2, 4))\n"
        "print('same as the reference:', np.allclose(\n"
        "    rnn_step_forward(x, h, p)[0], ref_step(x, h, p)[0]))\n"),
        after="rnn_step_forward")
    legit = corpus._with_cell_source(
        corpus._add_cell(full, (
            "import importlib, importlib.metadata\n"
            "print(importlib.metadata.version('numpy'))\n"
            "helpers_checks = importlib.import_module('helpers.checks')\n"),
            after="project"),
        "rnn_step_forward", "import importlib\n"
        "np = importlib.import_module('numpy')\n", "before")
    # Symlinks planted under every name the root side ever used, in the
    # working folder and the socket folder; then the kernel dies, so the
    # root side starts a new one (connection file, status, log, sockets).
    plant = corpus._add_cell(corpus._add_cell(full, (
        "import ipykernel, json, os\n"
        "conn = json.load(open(ipykernel.get_connection_file()))\n"
        "folders = [os.getcwd(), os.path.dirname(conn['ip'])]\n"
        "for folder in folders:\n"
        "    for n in ('.kernel.json', '.kernel.log', '.sandbox.json',\n"
        "              '.grader.sock', 'kernel.log', 'status.json',\n"
        "              'k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-6'):\n"
        "        p = os.path.join(folder, n)\n"
        "        try:\n"
        "            if os.path.lexists(p):\n"
        "                os.unlink(p)\n"
        f"            os.symlink({str(victim)!r}, p)\n"
        "        except OSError as e:\n"
        "            print('could not plant', p, e)\n"
        "print('PLANTED', folders)\n"), after="project"),
        "import os\nos._exit(1)\n", after="project_tests")
    files.update({
        f"scratch_compare/{LESSON}.ipynb": json.dumps(compare).encode(),
        f"legit_importlib/{LESSON}.ipynb": json.dumps(legit).encode(),
        f"plant_symlinks/{LESSON}.ipynb": json.dumps(plant).encode(),
        f"ok/{LESSON}.ipynb": json.dumps(full).encode(),
        f"partial/{LESSON}.ipynb": json.dumps(corpus.solve(
            student, solution, {"project"})).encode(),
        f"hardcoded/{LESSON}.ipynb": json.dumps(hard).encode(),
        f"renamed/{LESSON} (1).ipynb": json.dumps(full).encode(),
        "renamed-far/homework.ipynb": json.dumps(full).encode(),
        f"malformed/{LESSON}.ipynb": json.dumps(full).encode()[:-30],
        f"empty/{LESSON}.ipynb": b"",
        f"pdf/{LESSON}.ipynb": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        f"textfile/{LESSON}.txt": b"my answers are in here",
        f"oldformat/{LESSON}.ipynb": corpus.old_format(full),
        f"twice/{LESSON}.ipynb": json.dumps(student).encode(),
        f"twice/{LESSON} (1).ipynb": json.dumps(full).encode(),
        f"Jos\u00e9 N\u00fa\u00f1ez/{LESSON}.ipynb": json.dumps(full).encode(),
        f"\u5f20\u4f1f/{LESSON}.ipynb": json.dumps(corpus.solve(
            student, solution, {"project"})).encode(),
        "Zo\u00eb/\u0434\u043e\u043c\u0430\u0448\u043a\u0430.ipynb":
            json.dumps(full).encode(),
    })
    for name, data in files.items():
        path = subs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # The first hand-in of "twice" is older than the second.
    os.utime(subs / "twice" / f"{LESSON}.ipynb", (1e9, 1e9))
    before = digest(subs)
    out = tmp_path_factory.mktemp("out")
    victim_before = (victim.read_text(), victim.stat().st_uid,
                     victim.stat().st_mode)
    report = grade(subs, out, cell_timeout=TIMEOUT, solutions=sol, jobs=2,
                   memory=2 * 2 ** 30)
    assert (victim.read_text(), victim.stat().st_uid,
            victim.stat().st_mode) == victim_before, \
        "the grader wrote through a planted symlink"
    assert digest(subs) == before, "grading changed its input"
    return out, report, read_grades(out / "grades.csv")


def scores(grades, student):
    return tuple(grades[(student, LESSON, e)][0] for e in EXERCISES)


def note(grades, student, exercise="rnn_step_tests"):
    return grades[(student, LESSON, exercise)][2]


def test_other_students_are_unaffected(graded):
    _, report, g = graded
    assert scores(g, "ok") == FULL
    assert scores(g, "partial") == (2.0, 0.0, 0.0)
    assert all(g[("ok", LESSON, e)][1] == p for e, p in zip(EXERCISES,
                                                           FULL))


@pytest.mark.parametrize("student,why", [
    ("loop_forever", f"stopped after {TIMEOUT} s"),
    ("os_exit", "kernel stopped"),
    ("segfault", "kernel stopped"),
    ("memory_hog", "ran out of memory"),
])
def test_endless_crashing_and_hungry_cells_cost_only_their_exercise(
        graded, student, why):
    _, _, g = graded
    assert scores(g, student) == (2.0, 0.0, 1.0)
    assert why in note(g, student)


def test_huge_output_is_cut_and_grading_goes_on(graded):
    out, _, g = graded
    assert scores(g, "print_50mb") == FULL
    assert "characters of output were dropped" in note(g, "print_50mb")
    nb = out / "autograded" / "print_50mb" / f"{LESSON}.ipynb"
    assert nb.stat().st_size < 2 * 2 ** 20


def test_deleted_test_cell_is_put_back_and_graded(graded):
    _, _, g = graded
    assert scores(g, "delete_test") == FULL
    assert "missing (deleted)" in note(g, "delete_test")


@pytest.mark.parametrize("student", ["edit_visible_test",
                                     "edit_hidden_test"])
def test_edited_test_cell_is_restored(graded, student):
    _, _, g = graded
    # The answer is missing: the instructor's test (hidden part included)
    # must run and fail, whatever the student wrote into the test cell.
    assert scores(g, student) == (2.0, 0.0, 1.0)
    assert "test cell was edited" in note(g, student)
    assert "not implemented" in note(g, student)


@pytest.mark.parametrize("student,key", [
    ("metadata_points", "points"), ("metadata_grade_flag", "grade"),
    ("metadata_grade_id", "grade_id")])
def test_changed_metadata_is_restored_not_fatal(graded, student, key):
    _, _, g = graded
    assert scores(g, student) == (2.0, 0.0, 1.0)
    assert g[(student, LESSON, "rnn_step_tests")][1] == 3.0
    assert f"metadata was changed ({key})" in note(g, student)


@pytest.mark.parametrize("student", ["patch_numpy", "patch_checkers",
                                     "swallow_errors"])
def test_tampering_with_checkers_scores_zero(graded, student):
    _, _, g = graded
    # Every answer is wrong; the tampering hides it inside the kernel.
    assert scores(g, student) == (0.0, 0.0, 0.0)
    for e in EXERCISES:
        assert "AssertionError" in note(g, student, e)


def test_tampering_worked_in_the_kernel_but_not_in_the_grade(graded):
    _, _, g = graded
    assert "passed inside your notebook" in note(g, "patch_checkers")


def test_patching_numpy_does_not_even_fool_the_check_in_the_kernel(
        graded):
    # The checks decide through numpy functions bound when they were
    # imported, so a notebook that replaces np.allclose, np.abs, ... sees
    # its wrong answers fail already inside the kernel.
    _, _, g = graded
    for e in EXERCISES:
        assert "AssertionError" in note(g, "patch_numpy", e)
        assert "passed inside your notebook" not in note(g, "patch_numpy",
                                                         e)


def test_hard_coded_visible_answer_fails_the_hidden_test(graded):
    _, _, g = graded
    assert scores(g, "hardcoded") == (2.0, 3.0, 0.0)
    assert "wrong on a random x" in note(g, "hardcoded", "count_tests")


@pytest.mark.parametrize("student", [
    "import_reference", "alias_reference", "dynamic_reference",
    "alias_other_cell", "vars_reference", "pkgutil_reference",
    "other_names", "reference_file"])
def test_a_graded_function_built_on_the_reference_fails(graded, student):
    """However the graded function reaches the course's reference, what
    runs is a stub: the exercise fails, nothing else is touched."""
    _, _, g = graded
    assert scores(g, student) == (2.0, 0.0, 1.0), note(g, student)
    assert "not available during grading" in note(g, student)


@pytest.mark.parametrize("student", ["scratch_compare",
                                     "legit_importlib"])
def test_fair_reference_and_importlib_use_costs_nothing(graded, student):
    _, _, g = graded
    assert scores(g, student) == FULL, [note(g, student, e)
                                        for e in EXERCISES]


def test_the_score_comes_from_what_runs_not_from_the_source_text(graded):
    out, _, g = graded
    nb = load(out / "autograded" / "scratch_compare" / f"{LESSON}.ipynb")
    errors = [o for c in nb["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    # The comparison cell itself meets the stub; nothing else fails.
    assert [e["ename"] for e in errors] == ["ReferenceNotAvailable"]


def test_planted_symlinks_change_nothing_outside(graded, victim):
    _, _, g = graded
    assert victim.read_text() == "original"
    assert scores(g, "plant_symlinks") == FULL
    assert "kernel stopped" in note(g, "plant_symlinks", "project_tests")


def test_instructor_files_are_out_of_the_kernels_reach(graded):
    out, _, g = graded
    assert scores(g, "snoop") == FULL
    nb = load(out / "autograded" / "snoop" / f"{LESSON}.ipynb")
    text = "".join("".join(o.get("text", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    found = eval(text.split("FOUND", 1)[1].strip().splitlines()[0])
    # The read-only environment is in view by design (and lies under
    # /tmp when the course itself does, as in a fresh clone there).
    env = tuple(p + os.sep for p in sandbox.needed_paths()) + (
        str(ROOT / "helpers") + os.sep,)
    found = [p for p in found if not p.startswith(env)]
    # Only the kernel's own sandbox folders, nothing of anyone else.
    bases = {"/".join(p.split("/")[:3]) for p in found}
    assert len(bases) <= 1 and all(
        b.startswith("/tmp/rnn-course-sandbox-") for b in bases), found
    for p in found:
        for secret in (".ipynb", "gradebook", ".csv", ".html", ".state",
                       "solutions", "/tests/", "/root/", "/home/"):
            assert secret not in p, p


def test_files_left_in_tmp_do_not_reach_another_student(graded):
    out, _, g = graded
    assert scores(g, "litter") == scores(g, "scavenge") == FULL
    nb = load(out / "autograded" / "scavenge" / f"{LESSON}.ipynb")
    text = "".join("".join(o.get("text", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    assert "LEFT []" in text
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(d + "/rnn-left-for-you")


def test_a_cell_that_ignores_the_interrupt_costs_only_its_exercise(
        graded):
    _, report, g = graded
    assert scores(g, "ignore_interrupt") == (2.0, 0.0, 1.0)
    assert "restarted" in note(g, "ignore_interrupt")


def test_renamed_notebook(graded):
    out, report, g = graded
    assert scores(g, "renamed") == FULL
    assert "was named" in note(g, "renamed")
    problems = (out / "problems.txt").read_text(encoding="utf-8")
    assert "renamed-far/homework.ipynb: unknown lesson 'homework'" in \
        problems
    assert f"graded cells are those of lesson {LESSON}" in problems


@pytest.mark.parametrize("student,why", [
    ("malformed", "invalid JSON"), ("empty", "the file is empty"),
    ("pdf", "this is a PDF file")])
def test_unreadable_files_get_zero_with_the_reason(graded, student, why):
    out, report, g = graded
    assert scores(g, student) == (0.0, 0.0, 0.0)
    assert why in note(g, student)
    assert why in (out / "problems.txt").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 3


def test_non_notebook_file_is_reported(graded):
    out, _, _ = graded
    assert f"textfile/{LESSON}.txt: not a notebook" in (
        out / "problems.txt").read_text(encoding="utf-8")


def test_old_notebook_format_is_converted_and_graded(graded):
    _, _, g = graded
    assert scores(g, "oldformat") == FULL
    assert "old notebook format v3" in note(g, "oldformat")


def test_second_submission_wins(graded):
    _, _, g = graded
    assert scores(g, "twice") == FULL
    assert "2 submissions" in note(g, "twice")


def test_non_ascii_students_and_file_names(graded):
    out, _, g = graded
    assert scores(g, "Jos\u00e9 N\u00fa\u00f1ez") == FULL
    assert scores(g, "\u5f20\u4f1f") == (2.0, 0.0, 0.0)
    assert (out / "feedback" / "\u5f20\u4f1f" / f"{LESSON}.html").exists()
    assert "\u0434\u043e\u043c\u0430\u0448\u043a\u0430" in (
        out / "problems.txt").read_text(encoding="utf-8")
