"""Grade many submissions in parallel, resumably, with a summary.

Each submission is graded by a worker process of a bounded pool (one per
core by default); each worker owns a sandbox user id, so two kernels
never share one. A finished submission is saved at once under
``OUTPUT/.state/`` (keyed by student, lesson and the file's hash), so an
interrupted run (Ctrl-C, a crash, a reboot) picks up where it stopped and
a changed file is graded again. At the end ``grades.csv``,
``problems.txt``, ``summary.txt``, ``summary.json`` and the histogram
``scores.png`` are written from the saved results.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing as mp
import os
import random
import sys
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from . import sandbox
from .grade_one import grade_submission, zero_rows

STATE = ".state"
COLUMNS = ["student", "lesson", "exercise", "score", "max_score", "note"]
_worker_uid = -1


def key_of(sub, salt: str = "") -> str:
    """Names a result: the student, the lesson, the file and the lesson's
    version (``salt``), so a changed file or lesson is graded again."""
    h = hashlib.sha256()
    for part in (sub.student.encode(), sub.lesson.encode(), sub.data,
                 salt.encode()):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:24]


def _init_worker(slots) -> None:
    global _worker_uid
    import logging
    import warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    _worker_uid = slots.get() if sandbox.can_switch_user() else -1


def _work(args: dict) -> dict:
    try:
        return grade_submission(sandbox_uid=_worker_uid, **args)
    except Exception as exc:                    # noqa: BLE001
        reason = f"grader error: {type(exc).__name__}: {exc}"
        return {"student": args["sub"].student,
                "lesson": args["sub"].lesson, "origin": args["sub"].origin,
                "status": "failed", "reason": reason, "notes": [],
                "rows": zero_rows(args["sub"], args["template"], reason)}
    finally:
        sandbox.stop_all(_worker_uid)


def _save(state: Path, key: str, result: dict) -> None:
    tmp = state / f".{key}.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False),
                   encoding="utf-8")
    os.replace(tmp, state / f"{key}.json")


def run_batch(subs, templates, output: Path, work: Path, report,
              cell_timeout: int, memory: int, jobs: int | None = None,
              keep: bool = False, resume: bool = True,
              progress: bool | None = None) -> None:
    """Grade ``subs``; fill ``report`` and write the output files."""
    from tqdm import tqdm
    state = output / STATE
    state.mkdir(parents=True, exist_ok=True)
    keys = [key_of(s, f"{templates[s.lesson].digest}/{cell_timeout}/"
                      f"{memory}") for s in subs]
    done = {}
    if resume:
        for k in keys:
            f = state / f"{k}.json"
            if f.exists():
                try:
                    done[k] = json.loads(f.read_text(encoding="utf-8"))
                except ValueError:
                    pass
    report.skipped = len(done)
    todo = [(k, s) for k, s in zip(keys, subs) if k not in done]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    base = sandbox.UID_BASE + random.Random(os.getpid()).randrange(
        1, 200_000) * 16
    ctx = mp.get_context("spawn")
    slots = ctx.Queue() if todo else None
    for i in range(jobs if todo else 0):
        slots.put(base + i)
    bar = tqdm(total=len(todo), unit="notebook", desc="grading",
               disable=(not sys.stderr.isatty()) if progress is None
               else not progress)
    pool = ProcessPoolExecutor(jobs, mp_context=ctx,
                               initializer=_init_worker,
                               initargs=(slots,)) if todo else None
    try:
        pending = {}
        for k, s in todo:
            args = {"sub": s, "template": templates[s.lesson],
                    "output": output, "work": work,
                    "cell_timeout": cell_timeout, "memory": memory,
                    "keep": keep}
            pending[pool.submit(_work, args)] = k
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                k = pending.pop(fut)
                result = fut.result()
                _save(state, k, result)
                done[k] = result
                bar.update(1)
                bar.set_postfix_str(f"{result['student']}"[:20])
    except KeyboardInterrupt:
        report.interrupted = True
        if pool is not None:
            for p in list(getattr(pool, "_processes", {}).values()):
                p.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None
        for i in range(jobs):
            sandbox.stop_all(base + i)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True)
    results = [done[k] for k in keys if k in done]
    write_outputs(results, output, report)


def write_outputs(results: list[dict], output: Path, report) -> None:
    results = sorted(results, key=lambda r: (r["student"], r["lesson"]))
    report.rows = [row for r in results for row in r["rows"]]
    report.graded = sum(r["status"] == "graded" for r in results)
    report.failed = sum(r["status"] == "failed" for r in results)
    for r in results:
        if r["status"] == "failed":
            report.problems.append(f"{r['origin']}: {r['reason']}")
    with open(output / "grades.csv", "w", newline="",
              encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(report.rows)
    if report.problems:
        (output / "problems.txt").write_text(
            "\n".join(report.problems) + "\n", encoding="utf-8")
    elif (output / "problems.txt").exists():
        (output / "problems.txt").unlink()
    write_summary(results, output, report)


def write_summary(results: list[dict], output: Path, report) -> None:
    percent = []
    for r in results:
        got = sum(row["score"] for row in r["rows"])
        top = sum(row["max_score"] for row in r["rows"]) or 1.0
        percent.append(100.0 * got / top)
    reasons = Counter(r["reason"] for r in results
                      if r["status"] == "failed")
    bins = [0] * 10
    for p in percent:
        bins[min(int(p // 10), 9)] += 1
    summary = {
        "submissions": len(results), "graded": report.graded,
        "failed": report.failed,
        "failed_reasons": dict(reasons.most_common()),
        "skipped_files": len(report.problems) - report.failed,
        "interrupted": report.interrupted,
        "mean_percent": round(sum(percent) / len(percent), 2)
        if percent else None,
        "histogram_percent": {f"{10 * i}-{10 * i + 10}": n
                              for i, n in enumerate(bins)},
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2,
                                                    ensure_ascii=False))
    lines = [f"submissions: {len(results)}", f"graded: {report.graded}",
             f"failed: {report.failed}"]
    lines += [f"  {n} x {why}" for why, n in reasons.most_common()]
    if percent:
        lines.append(f"mean score: {summary['mean_percent']:.1f}%")
        lines.append("score distribution (% of points):")
        top = max(bins) or 1
        for i, n in enumerate(bins):
            lines.append(f"  {10 * i:3d}-{10 * i + 10:<3d} "
                         f"{'#' * round(30 * n / top)} {n}")
    (output / "summary.txt").write_text("\n".join(lines) + "\n",
                                        encoding="utf-8")
    if percent:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(percent, bins=[10 * i for i in range(11)],
                color="#4c72b0", edgecolor="white")
        ax.set_xlabel("score (% of the points)")
        ax.set_ylabel("submissions")
        ax.set_title(f"{report.graded} graded, {report.failed} failed")
        fig.tight_layout()
        fig.savefig(output / "scores.png", dpi=100)
        plt.close(fig)
