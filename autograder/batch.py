"""Grade many submissions in parallel, resumably, with a summary.

Each submission is graded by a worker process of a bounded pool (one per
core by default); each worker owns a sandbox user id, so two kernels
never share one. A finished submission is saved at once under
``OUTPUT/.state/`` (keyed by student, lesson and the file's hash), so an
interrupted run (Ctrl-C, a crash, a reboot) picks up where it stopped and
a changed file is graded again. At the end ``grades.csv``,
``problems.txt``, ``summary.txt``, ``summary.json`` and the histogram
``scores.png`` are written from the saved results, with the class report
(:mod:`autograder.report`) and the similarity report
(:mod:`autograder.similarity`).

A worker that dies (a file that makes the grader run out of memory, a
kill from outside) never stops the batch: the pool is started again and
the submissions that were running are graded again one at a time; the
one that kills its worker alone gets 0 with the reason. Each start is
recorded under ``.state`` before grading begins, so a run that dies as a
whole does not retry the same file for ever either: a file that was
being graded when two runs died is not tried a third time.
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
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from . import sandbox
from .grade_one import grade_submission, zero_rows

STATE = ".state"
COLUMNS = ["student", "name", "lesson", "exercise", "score", "max_score",
           "note"]
# Times a submission may be running when a whole run dies before it is
# given up (0 points, with the reason).
MAX_STARTS = 2
KILLED = ("the grader's worker process died while grading this file "
          "(out of memory, or killed); not graded")
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


def _failed(sub, template, reason: str) -> dict:
    note = "; ".join([f"not graded: {reason}"] + list(sub.notes))
    return {"student": sub.student, "name": sub.name,
            "lesson": sub.lesson, "origin": sub.origin, "status": "failed",
            "reason": reason, "notes": list(sub.notes),
            "rows": zero_rows(sub, template, note)}


def _run_one(worker, args: dict) -> dict:
    """In a pool worker: record the start, then grade."""
    args = dict(args)
    key, state = args.pop("key"), args.pop("state")
    _started(state, key)
    return worker(args)


def _work(args: dict) -> dict:
    """Grade one submission in a pool worker (``args`` as made by
    :func:`run_batch`)."""
    sub = args["sub"]
    if sub.refused:
        return _failed(sub, args["template"], sub.refused)
    try:
        result = grade_submission(sandbox_uid=_worker_uid, **args)
    except Exception as exc:                    # noqa: BLE001
        reason = f"grader error: {type(exc).__name__}: {exc}"
        result = _failed(sub, args["template"], reason)
        result["notes"] = []
    finally:
        sandbox.stop_all(_worker_uid)
    result["name"] = sub.name
    return result


def _started(state: Path, key: str) -> None:
    """Record that grading ``key`` starts (before anything can die)."""
    with open(state / f"{key}.started", "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        os.fsync(fh.fileno())


def _starts(state: Path, key: str) -> int:
    try:
        return len((state / f"{key}.started").read_text().split())
    except OSError:
        return 0


def _set_starts(state: Path, key: str, n: int) -> None:
    f = state / f"{key}.started"
    if n <= 0:
        f.unlink(missing_ok=True)
    else:
        f.write_text("0\n" * n)


def _save(state: Path, key: str, result: dict) -> None:
    tmp = state / f".{key}.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False),
                   encoding="utf-8")
    os.replace(tmp, state / f"{key}.json")
    (state / f"{key}.started").unlink(missing_ok=True)


def run_batch(subs, templates, output: Path, work: Path, report,
              cell_timeout: int, memory: int, jobs: int | None = None,
              keep: bool = False, resume: bool = True,
              progress: bool | None = None, worker=None,
              extras: bool = True) -> None:
    """Grade ``subs``; fill ``report`` and write the output files.

    ``worker`` grades one submission in a pool process (default
    :func:`_work`); ``extras`` writes the class and similarity reports.
    """
    from tqdm import tqdm
    worker = worker or _work
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
    else:
        for k in keys:
            _set_starts(state, k, 0)
    report.skipped = len(done)
    todo = [(k, s) for k, s in zip(keys, subs) if k not in done]
    # Running when earlier runs died: given up after MAX_STARTS, else
    # graded again alone so that it cannot take others down with it.
    queue, alone = [], []
    for k, s in todo:
        n = _starts(state, k)
        if n >= MAX_STARTS:
            done[k] = _failed(s, templates[s.lesson], (
                f"{KILLED} (it was being graded when {n} runs stopped)"))
            _save(state, k, done[k])
        else:
            (alone if n else queue).append((k, s))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    base = sandbox.UID_BASE + random.Random(os.getpid()).randrange(
        1, 200_000) * 16
    bar = tqdm(total=len(queue) + len(alone), unit="notebook",
               desc="grading", disable=(not sys.stderr.isatty())
               if progress is None else not progress)

    def finish(k, result):
        _save(state, k, result)
        done[k] = result
        bar.update(1)
        bar.set_postfix_str(f"{result['student']}"[:20])

    common = {"output": output, "work": work, "cell_timeout": cell_timeout,
              "memory": memory, "keep": keep, "state": state}
    try:
        while queue or alone:
            if queue:
                items, n = queue, min(jobs, len(queue))
                queue = []
            else:
                items, n = [alone.pop(0)], 1
            died, unstarted = _run_pool(items, n, base, templates, common,
                                        worker, finish)
            for k, s in died:
                if len(died) == 1:
                    finish(k, _failed(s, templates[s.lesson], KILLED))
                else:
                    alone.append((k, s))
            queue.extend(unstarted)
    except KeyboardInterrupt:
        report.interrupted = True
        for i in range(jobs):
            sandbox.stop_all(base + i)
    finally:
        bar.close()
    results = [done[k] for k in keys if k in done]
    write_outputs(results, output, report)
    if extras and not report.interrupted:
        _extras(results, output, templates, report)


def _run_pool(items, jobs, base, templates, common, worker, finish):
    """Grade ``items`` in a pool of ``jobs`` workers until done or until
    a worker dies. Returns the items that were running when it died and
    those that never started."""
    ctx = mp.get_context("spawn")
    slots = ctx.Queue()
    for i in range(jobs):
        slots.put(base + i)
    state = common["state"]
    before = {k: _starts(state, k) for k, _ in items}
    pool = ProcessPoolExecutor(jobs, mp_context=ctx,
                               initializer=_init_worker, initargs=(slots,))
    pending = {}
    broken = []
    try:
        for k, s in items:
            args = dict(common, sub=s, template=templates[s.lesson], key=k)
            pending[pool.submit(_run_one, worker, args)] = (k, s)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                item = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                except Exception as exc:        # noqa: BLE001
                    k, s = item
                    result = _failed(s, templates[s.lesson], (
                        f"grader error: {type(exc).__name__}: {exc}"))
                finish(item[0], result)
    except BaseException:
        # Ctrl-C: what was running was not the file's fault.
        for k, _ in [v for v in pending.values()] + broken:
            _set_starts(state, k, before[k])
        for p in list(getattr(pool, "_processes", {}).values()):
            p.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if broken:
        for i in range(jobs):
            sandbox.stop_all(base + i)
    died = [(k, s) for k, s in broken if _starts(state, k) > before[k]]
    unstarted = [(k, s) for k, s in broken if _starts(state, k) <=
                 before[k]]
    return died, unstarted


def _extras(results, output: Path, templates, report) -> None:
    """The class report and the similarity report; a failure here is a
    problem line, never a lost batch."""
    from . import report as class_report
    from . import similarity
    for what, make in (("class report", class_report.write_report),
                       ("similarity report", similarity.write_report)):
        try:
            make(results, output, templates)
        except Exception as exc:                # noqa: BLE001
            line = f"{what} not written: {type(exc).__name__}: {exc}"
            report.problems.append(line)
            with open(output / "problems.txt", "a", encoding="utf-8") as fh:
                fh.write(line + "\n")


def write_outputs(results: list[dict], output: Path, report) -> None:
    results = sorted(results, key=lambda r: (r["student"], r["lesson"]))
    report.rows = [dict(row, name=r.get("name", r["student"]))
                   for r in results for row in r["rows"]]
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
