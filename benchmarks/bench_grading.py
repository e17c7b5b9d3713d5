"""How much grading costs: overhead per notebook and class throughput.

Two numbers, both measured in the same run on the same lesson:

* overhead: time to grade one correct submission through the whole
  pipeline (repair, sandboxed kernel, re-check outside the kernel,
  nbgrader's gradebook and feedback page) divided by the time to just
  execute the same cells with nbclient (the lesson's demonstration cells
  that the grader leaves out are left out there too). Target <= 1.3.
* throughput: students per minute for a batch of synthetic submissions
  (correct, partial, blank, broken) graded with ``--jobs`` workers,
  against plain out-of-the-box ``nbgrader autograde`` run serially on the
  same batch. Target >= 1.8x on 2 cores.
* ceiling: the same correct notebook executed ``--jobs`` times at once
  with nbclient, against as many times one after the other. No
  parallel grader can beat the serial one by more than this on the
  machine at hand; on a shared virtual machine it is well below the
  number of cores, so the throughput is also given as a share of it.

    python benchmarks/bench_grading.py            # lesson 02, 200 students
    python benchmarks/bench_grading.py --quick    # fixture lesson, 4

Prints one line per measurement and a final PASS/MISS per target.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))   # the test corpus of submissions

import corpus                                             # noqa: E402
from autograder.demos import codes, demo_sources, skipped  # noqa: E402
from autograder.grade import grade, make_templates        # noqa: E402
from autograder.grade_one import grade_submission         # noqa: E402
from autograder.intake import Submission                  # noqa: E402
from autograder.nbgrader_course import own_bin_on_path    # noqa: E402
from autograder.release import release                    # noqa: E402


def prepare(lesson: str, base: Path) -> tuple[Path, dict, dict]:
    """Build and release ``lesson`` in ``base``; return its notebooks."""
    sol = base / "solutions"
    sol.mkdir()
    fixture = ROOT / "tests" / "fixtures" / "checked" / f"{lesson}.py"
    src = fixture if fixture.exists() else ROOT / "solutions" / \
        f"{lesson}.py"
    shutil.copy(src, sol)
    les = base / "lessons"
    release(sol, les)
    solution = json.loads((sol / f"{lesson}.ipynb").read_text())
    student = json.loads((les / f"{lesson}.ipynb").read_text())
    return sol, solution, student


def graded_cells(nb: dict, solution: dict) -> tuple[dict, int]:
    """``nb`` without the demonstration cells the grader leaves out,
    and how many those are."""
    out = skipped(codes(nb), demo_sources(solution))
    kept = json.loads(json.dumps(nb))
    kept["cells"] = [c for i, c in enumerate(nb["cells"]) if i not in out]
    return kept, len(out)


def plain_execute(nb: dict, timeout: int) -> float:
    """Seconds to execute ``nb`` with nbclient, nothing else."""
    import nbformat
    from nbclient import NotebookClient
    node = nbformat.reads(json.dumps(nb), as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        NotebookClient(node, timeout=timeout, kernel_name="python3",
                       allow_errors=True,
                       resources={"metadata": {"path": cwd}}).execute()
        return time.perf_counter() - start


def ceiling(nb: dict, jobs: int, timeout: int) -> float:
    """How much faster ``jobs`` plain executions run at once than one
    after the other: the most any parallel grader can gain here."""
    from concurrent.futures import ThreadPoolExecutor
    start = time.perf_counter()
    for _ in range(jobs):
        plain_execute(nb, timeout)
    serial = time.perf_counter() - start
    with ThreadPoolExecutor(jobs) as pool:      # each kernel is a process
        start = time.perf_counter()
        list(pool.map(plain_execute, [nb] * jobs, [timeout] * jobs))
        both = time.perf_counter() - start
    return serial / both


def pipeline_one(nb: dict, lesson: str, template, work: Path,
                 timeout: int) -> float:
    """Seconds to grade ``nb`` through the whole pipeline."""
    out = work / "one-out"
    sub = Submission("bench", lesson, json.dumps(nb).encode(), "bench")
    start = time.perf_counter()
    result = grade_submission(sub, template, out, work, timeout)
    took = time.perf_counter() - start
    assert result["status"] == "graded", result
    return took


def nbgrader_serial(subs: list, sol: Path, lesson: str, timeout: int,
                    base: Path) -> float:
    """Seconds for plain ``nbgrader autograde`` over the batch."""
    import logging
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    root = base / "plain-course"
    (root / "source" / lesson).mkdir(parents=True)
    shutil.copy(sol / f"{lesson}.ipynb", root / "source" / lesson)
    c = Config()
    c.CourseDirectory.root = str(root)
    c.Execute.timeout = timeout
    api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
    api.log.setLevel(logging.ERROR)
    with own_bin_on_path():     # nbgrader runs alembic for the gradebook
        assert api.generate_assignment(lesson, force=True,
                                       create=True)["success"]
    for s in subs:
        d = root / "submitted" / s.name / lesson
        d.mkdir(parents=True)
        (d / f"{lesson}.ipynb").write_bytes(s.data)
    start = time.perf_counter()
    for s in subs:
        api.autograde(lesson, s.name, force=True, create=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lesson", default="02_simple_rnn")
    p.add_argument("-n", type=int, default=200, help="batch size")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--quick", action="store_true",
                   help="fixture lesson, 4 submissions, 1 repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.lesson, args.n, args.repeat = "98_checked", 4, 1
    if not (ROOT / "solutions" / f"{args.lesson}.py").exists() and not (
            ROOT / "tests" / "fixtures" / "checked" /
            f"{args.lesson}.py").exists():
        args.lesson = "98_checked"
    base = Path(tempfile.mkdtemp(prefix="rnn-bench-"))
    try:
        sol, solution, student = prepare(args.lesson, base)
        full = corpus.solve(student, solution,
                            set(corpus.solution_ids(solution)))
        work = base / "work"
        work.mkdir()
        template = make_templates([args.lesson], sol, work)[args.lesson]
        runs, n_demos = graded_cells(full, solution)
        plain_execute(runs, args.timeout)          # warm caches
        # A grading worker starts the file reader once, for the class.
        from autograder.repair import parse_isolated
        parse_isolated(b"{}")
        plain, piped = [], []
        for _ in range(args.repeat):
            plain.append(plain_execute(runs, args.timeout))
            piped.append(pipeline_one(full, args.lesson, template, work,
                                      args.timeout))
        t_plain, t_pipe = statistics.median(plain), statistics.median(piped)
        overhead = t_pipe / t_plain
        print(f"lesson {args.lesson}: execute only {t_plain:.2f} s, "
              f"grading pipeline {t_pipe:.2f} s, overhead {overhead:.2f}x"
              f" (both without the {n_demos} demonstration cells the "
              f"grader leaves out)")

        gains = [ceiling(runs, args.jobs, args.timeout)
                 for _ in range(args.repeat)]
        most = statistics.median(gains)
        print(f"{args.jobs} plain executions at once against one after "
              f"the other: {most:.2f}x (runs: "
              f"{', '.join(f'{g:.2f}' for g in gains)}), the ceiling for "
              f"any parallel grader on this machine")

        made = [s for s in corpus.synthetic_class(solution, student, args.n,
                                                  seed=1)]
        folder = base / "class"
        for s in made:
            (folder / s.name).mkdir(parents=True)
            (folder / s.name / f"{args.lesson}.ipynb").write_bytes(s.data)
        start = time.perf_counter()
        report = grade(folder, base / "out", cell_timeout=args.timeout,
                       solutions=sol, jobs=args.jobs, progress=False)
        t_ours = time.perf_counter() - start
        assert report.graded + report.failed == args.n, report.summary()
        t_serial = nbgrader_serial(made, sol, args.lesson, args.timeout,
                                   base)
        ours = 60 * args.n / t_ours
        serial = 60 * args.n / t_serial
        speedup = t_serial / t_ours
        print(f"batch of {args.n}: this grader ({args.jobs} jobs) "
              f"{t_ours:.1f} s = {ours:.1f} students/min; plain serial "
              f"nbgrader autograde {t_serial:.1f} s = {serial:.1f} "
              f"students/min; speed-up {speedup:.2f}x = "
              f"{100 * speedup / most:.0f} % of the ceiling"
              + (f" (plain nbgrader also runs the {n_demos} demonstration "
                 f"cells)" if n_demos else ""))
        print(f"overhead <= 1.3x: {'PASS' if overhead <= 1.3 else 'MISS'}"
              f" ({overhead:.2f}x)")
        print(f"throughput >= 1.8x: {'PASS' if speedup >= 1.8 else 'MISS'}"
              f" ({speedup:.2f}x)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
