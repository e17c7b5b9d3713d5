"""A class-sized batch: 60 synthetic submissions in an LMS zip, graded
two at a time, resumed without regrading, with a summary."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import pytest

import corpus
from autograder.grade import grade
from conftest import FIXTURES, ROOT, load, read_grades

pytestmark = pytest.mark.slow
LESSON = "98_checked"
N = 60


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from autograder.release import release
    base = tmp_path_factory.mktemp("batch")
    sol = base / "solutions"
    shutil.copytree(FIXTURES / "checked", sol)
    les = base / "lessons"
    release(sol, les)
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
    start = time.monotonic()
    report = grade(archive, out, cell_timeout=30, solutions=sol, jobs=2)
    return sol, archive, out, report, made, time.monotonic() - start


def test_every_submission_has_its_expected_scores(batch):
    _, _, out, report, made, _ = batch
    g = read_grades(out / "grades.csv")
    assert {k[0] for k in g} == {s.name for s in made}
    for s in made:
        for exercise, score in s.expected.items():
            got, _, note = g[(s.name, LESSON, exercise)]
            assert got == score, f"{s.name} {exercise}: {got} ({note})"
    kinds = {s.kind for s in made}
    assert kinds == {"correct", "partial", "blank", "broken",
                     "unreadable"}


def test_summary_counts_failures_and_draws_the_histogram(batch):
    _, _, out, report, made, _ = batch
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


def test_rerun_resumes_without_regrading(batch, tmp_path):
    sol, archive, out, report, made, first_run = batch
    before = (out / "grades.csv").read_text(encoding="utf-8")
    state = sorted((out / ".state").glob("*.json"))
    assert len(state) == N
    # An interrupted run: three results were never saved.
    for f in state[:3]:
        f.unlink()
    start = time.monotonic()
    again = grade(archive, out, cell_timeout=30, solutions=sol, jobs=2)
    took = time.monotonic() - start
    assert again.skipped == N - 3
    assert (out / "grades.csv").read_text(encoding="utf-8") == before
    assert took < first_run / 3


def test_ctrl_c_stops_the_batch_and_the_next_run_finishes_it(batch,
                                                            tmp_path):
    sol, archive, _, _, made, _ = batch
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(small, "w") as zf:
        for info in src.infolist()[:12]:
            zf.writestr(info, src.read(info))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(small), "-o",
         str(out), "--solutions", str(sol), "-j", "2", "--timeout", "30"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while len(list((out / ".state").glob("*.json"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout
    assert b"interrupted" in stdout
    saved = len(list((out / ".state").glob("*.json")))
    assert 3 <= saved < 12
    again = grade(small, out, cell_timeout=30, solutions=sol, jobs=2)
    assert again.skipped == saved
    g = read_grades(out / "grades.csv")
    by_name = {s.name: s for s in made}
    assert len({k[0] for k in g}) == 12
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
