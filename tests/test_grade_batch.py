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
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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


def test_every_submission_has_its_expected_scores(batch):
    g = read_grades(batch.out / "grades.csv")
    assert {k[0] for k in g} == {s.name for s in batch.made}
    for s in batch.made:
        for exercise, score in s.expected.items():
            got, _, note = g[(s.name, LESSON, exercise)]
            assert got == score, f"{s.name} {exercise}: {got} ({note})"
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
    start = time.monotonic()
    again = grade(batch.archive, out, cell_timeout=30,
                  solutions=batch.sol, jobs=2)
    took = time.monotonic() - start
    assert again.skipped == N - 3
    assert (out / "grades.csv").read_text(encoding="utf-8") == before
    assert took < batch.seconds / 3


def test_ctrl_c_stops_the_batch_and_the_next_run_finishes_it(batch):
    stopped = batch.stopped
    assert stopped.running, stopped.stdout
    assert stopped.returncode == 130, stopped.stdout
    assert b"interrupted" in stopped.stdout
    saved = stopped.saved
    assert 3 <= saved < 12
    assert batch.report.skipped == saved
    g = read_grades(batch.out / "grades.csv")
    by_name = {s.name: s for s in batch.made}
    assert len({k[0] for k in g}) == N
    for (student, _, exercise), (score, _, _) in g.items():
        assert score == by_name[student].expected[exercise]


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
