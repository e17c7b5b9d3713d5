"""A class-sized batch: 60 synthetic submissions in an LMS zip, graded
two at a time, stopped with Ctrl-C, resumed without regrading, with a
summary."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import corpus
from autograder.grade import Report, grade
from conftest import ROOT, load, read_grades

pytestmark = pytest.mark.slow
LESSON = "98_checked"
N = 60


@dataclass
class Stopped:
    """The grade command, stopped with Ctrl-C."""

    running: bool           # still running when the signal was sent
    returncode: int
    stdout: bytes
    saved: int              # results on disk afterwards


def grade_until_ctrl_c(archive, out, sol, after: int) -> Stopped:
    """Run the grade command on ``archive`` and press Ctrl-C once
    ``after`` results are saved."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(archive), "-o",
         str(out), "--solutions", str(sol), "-j", "2", "--timeout", "30"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # As from a terminal: a test run started in the background of a
        # shell without job control has SIGINT ignored, which the child
        # would inherit, and Ctrl-C would never reach it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while len(list((out / ".state").glob("*.json"))) < after:
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    running = proc.poll() is None
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    return Stopped(running, proc.returncode, stdout,
                   len(list((out / ".state").glob("*.json"))))


@dataclass
class Batch:
    sol: Path
    archive: Path
    out: Path
    stopped: Stopped        # the first run, stopped with Ctrl-C
    report: Report          # the second run, which finished the batch
    made: list
    seconds: float          # how long the second run took


@pytest.fixture(scope="module")
def batch(checked_course, tmp_path_factory):
    """The class graded as an instructor would after pressing Ctrl-C:
    the grade command stopped once three results are saved, then run
    again to finish the batch."""
    sol, les = checked_course
    base = tmp_path_factory.mktemp("batch")
    solution = load(sol / f"{LESSON}.ipynb")
    student = load(les / f"{LESSON}.ipynb")
    made = corpus.synthetic_class(solution, student, N, seed=7)
    archive = base / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, s in enumerate(made):
            # Canvas: login_userid_fileid_originalname
            zf.writestr(f"{s.name}_{1000 + i}_{50000 + i}_{LESSON}.ipynb",
                        s.data)
    out = base / "out"
    stopped = grade_until_ctrl_c(archive, out, sol, after=3)
    start = time.monotonic()
    report = grade(archive, out, cell_timeout=30, solutions=sol, jobs=2)
    return Batch(sol, archive, out, stopped, report, made,
                 time.monotonic() - start)


def by_id(made) -> dict:
    """Canvas user id (the student's key in grades.csv) -> submission."""
    return {str(1000 + i): s for i, s in enumerate(made)}


def test_every_submission_has_its_expected_scores(batch):
    import csv
    g = read_grades(batch.out / "grades.csv")
    made = by_id(batch.made)
    assert {k[0] for k in g} == set(made)
    for key, s in made.items():
        for exercise, score in s.expected.items():
            got, _, note = g[(key, LESSON, exercise)]
            assert got == score, f"{s.name} {exercise}: {got} ({note})"
    with open(batch.out / "grades.csv", encoding="utf-8") as fh:
        names = {(r["student"], r["name"]) for r in csv.DictReader(fh)}
    assert names == {(k, s.name) for k, s in made.items()}
    kinds = {s.kind for s in batch.made}
    assert kinds == {"correct", "partial", "blank", "broken",
                     "unreadable"}


def test_summary_counts_failures_and_draws_the_histogram(batch):
    out, report, made = batch.out, batch.report, batch.made
    summary = json.loads((out / "summary.json").read_text())
    unreadable = sum(s.failed for s in made)
    assert summary["submissions"] == N
    assert summary["failed"] == unreadable == report.failed
    assert summary["graded"] == N - unreadable == report.graded
    assert list(summary["failed_reasons"].values()) == [unreadable]
    assert sum(summary["histogram_percent"].values()) == N
    png = (out / "scores.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 2000
    assert "failed: " in (out / "summary.txt").read_text()


def test_rerun_resumes_without_regrading(batch):
    out = batch.out
    before = (out / "grades.csv").read_text(encoding="utf-8")
    state = sorted((out / ".state").glob("*.json"))
    assert len(state) == N
    # An interrupted run: three results were never saved.
    for f in state[:3]:
        f.unlink()
    kept = {p.name: p.stat().st_mtime_ns
            for p in (out / ".state").iterdir() if p.name.endswith(
                (".json", ".started")) and p.stem not in
            {f.stem for f in state[:3]}}
    again = grade(batch.archive, out, cell_timeout=30,
                  solutions=batch.sol, jobs=2)
    assert again.skipped == N - 3
    assert (out / "grades.csv").read_text(encoding="utf-8") == before
    # Nothing already graded was started or saved again: every kept
    # result and start mark is untouched, the three lost ones are back.
    assert kept == {
        p: (out / ".state" / p).stat().st_mtime_ns for p in kept}
    assert len(list((out / ".state").glob("*.json"))) == N


def test_ctrl_c_stops_the_batch_and_the_next_run_finishes_it(batch):
    stopped = batch.stopped
    assert stopped.running, stopped.stdout
    assert stopped.returncode == 130, stopped.stdout
    assert b"interrupted" in stopped.stdout
    saved = stopped.saved
    assert 3 <= saved < 12
    assert batch.report.skipped == saved
    g = read_grades(batch.out / "grades.csv")
    made = by_id(batch.made)
    assert len({k[0] for k in g}) == N
    for (student, _, exercise), (score, _, _) in g.items():
        assert score == made[student].expected[exercise]


def test_benchmark_quick_mode_runs(capsys):
    import importlib.util
    from conftest import ROOT
    spec = importlib.util.spec_from_file_location(
        "bench_grading", ROOT / "benchmarks" / "bench_grading.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "overhead" in out and "students/min" in out


# ------------------------------------------------------------ dying workers
# A fake grader in real pool workers: "killer" students kill their worker
# process (as the kernel's out-of-memory killer would), "parent-killer"
# ones the whole grading run.

def fake_work(args):
    import os
    import signal
    sub = args["sub"]
    with open(Path(args["output"]) / "calls.log", "a") as fh:
        fh.write(sub.student + "\n")
    if sub.student.startswith("killer"):
        time.sleep(1)       # so that another submission is running too
        os.kill(os.getpid(), signal.SIGKILL)
    if sub.student.startswith("raiser"):
        raise ValueError("boom")
    if sub.student.startswith("parent-killer"):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(1)
        os._exit(1)
    time.sleep(0.3)
    return {"student": sub.student, "name": sub.name, "lesson": sub.lesson,
            "origin": sub.origin, "status": "graded", "notes": [],
            "rows": [{"student": sub.student, "lesson": sub.lesson,
                      "exercise": "ex", "score": 1.0, "max_score": 1.0,
                      "note": ""}]}


def fake_class(names):
    from autograder.grade_one import LessonTemplate
    from autograder.intake import Submission
    templates = {"L": LessonTemplate("L", "", ["ex"], {"ex": 1.0}, {},
                                     "d")}
    subs = [Submission(n, "L", n.encode(), f"in/{n}") for n in names]
    return subs, templates


def fake_batch(out, names, jobs=2):
    from autograder.batch import run_batch
    subs, templates = fake_class(names)
    report = Report(output=out)
    run_batch(subs, templates, out, out, report, cell_timeout=1,
              memory=1, jobs=jobs, progress=False, worker=fake_work,
              extras=False)
    return report


def calls(out):
    return (out / "calls.log").read_text().split()


def test_a_dying_worker_costs_only_its_own_submission(tmp_path):
    from autograder.batch import KILLED
    names = ["a", "b", "killer", "c", "d", "raiser", "e"]
    report = fake_batch(tmp_path, names)
    g = read_grades(tmp_path / "grades.csv")
    assert {k[0] for k in g} == set(names)
    for n in names:
        score, _, note = g[(n, "L", "ex")]
        assert score == (0.0 if n in ("killer", "raiser") else 1.0), (
            n, note)
    assert KILLED in g[("killer", "L", "ex")][2]
    assert "grader error: ValueError: boom" in g[("raiser", "L", "ex")][2]
    assert report.failed == 2 and report.graded == 5
    assert f"in/killer: {KILLED}" in (tmp_path / "problems.txt").read_text()
    # Alone, it died once more (if another was running when it died
    # first); the others ran at most twice.
    assert calls(tmp_path).count("killer") in (1, 2)
    assert all(calls(tmp_path).count(n) <= 2 for n in names)
    # The next run resumes: nobody is graded again, the killer neither.
    before = len(calls(tmp_path))
    again = fake_batch(tmp_path, names)
    assert again.skipped == len(names) and len(calls(tmp_path)) == before


def test_a_file_running_when_two_runs_died_is_not_tried_again(tmp_path):
    """The whole run dies (the parent is killed) twice on one file; the
    third run gives it 0 with the reason and grades the rest."""
    script = (
        "import sys; sys.path[:0] = [{tests!r}]\n"
        "from pathlib import Path\n"
        "import test_grade_batch as t\n"
        "if __name__ == '__main__':\n"
        "    t.fake_batch(Path({out!r}), ['a', 'parent-killer', 'b'],"
        " jobs=1)\n").format(tests=str(ROOT / "tests"), out=str(tmp_path))
    runs = []
    for i in range(3):
        with open(tmp_path / f"run{i}.log", "w+b") as log:
            runs.append(subprocess.run(
                [sys.executable, "-c", script], cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, timeout=300))
            log.seek(0)
            runs[-1].stderr = log.read()
    assert [r.returncode for r in runs[:2]] == [-9, -9], runs[0].stderr
    assert runs[2].returncode == 0, runs[2].stderr[-2000:]
    assert calls(tmp_path).count("parent-killer") == 2
    g = read_grades(tmp_path / "grades.csv")
    assert g[("a", "L", "ex")][0] == g[("b", "L", "ex")][0] == 1.0
    score, _, note = g[("parent-killer", "L", "ex")]
    assert score == 0.0 and "when 2 runs stopped" in note
