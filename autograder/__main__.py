"""``python -m autograder release|grade|course-config``: instructor
commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _size(text: str) -> int:
    """``4G``, ``512M`` or a number of bytes."""
    units = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 course.py",
        description="Instructor commands of the RNN course.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "release",
        help="regenerate solutions/*.ipynb and lessons/ from the sources")
    g = sub.add_parser(
        "grade", help="autograde a folder or zip of submissions")
    g.add_argument("submissions", type=Path,
                   help="folder <student>/<lesson>.ipynb, a zip of one, "
                        "or a flat LMS zip (Canvas, Moodle, Blackboard)")
    g.add_argument("-o", "--output", type=Path, required=True,
                   help="folder for grades.csv, feedback/ and summary")
    g.add_argument("--timeout", type=int, default=None,
                   help="seconds one cell may run (default 120)")
    g.add_argument("--keep", action="store_true",
                   help="keep the scratch nbgrader courses for inspection")
    g.add_argument("-j", "--jobs", type=int, default=None,
                   help="notebooks graded at once (default: one per core)")
    g.add_argument("--memory", type=_size, default=None,
                   help="memory limit of a student's kernel, e.g. 4G")
    g.add_argument("--lms-regexp", default=None,
                   help="file-name pattern of a flat LMS zip, with "
                        "nbgrader zip_collect's named groups "
                        "(?P<student_id>...) and (?P<file_id>...)")
    g.add_argument("--match-renamed", action="store_true",
                   help="grade a notebook with an unknown name as the "
                        "lesson whose graded cells it has")
    g.add_argument("--budget", type=float, nargs=2, default=None,
                   metavar=("FACTOR", "FLOOR"),
                   help="time budget of a notebook: FACTOR times the "
                        "lesson's solution notebook's own time plus FLOOR "
                        "seconds (default 5 120); 0 0: no budget")
    g.add_argument("--restart", action="store_true",
                   help="grade everything again instead of resuming")
    g.add_argument("--solutions", type=Path, default=None,
                   help="folder of solution notebooks to grade against "
                        "(default: the course's solutions/)")
    c = sub.add_parser(
        "course-config",
        help="write nbgrader_config.py for a real course (JupyterHub, "
             "nbgrader exchange) with the hardened autograde")
    c.add_argument("folder", type=Path, help="the course directory")
    c.add_argument("--course-id", default="rnn-course")
    c.add_argument("--exchange", type=Path, default=None,
                   help="shared exchange folder (default: nbgrader's)")
    c.add_argument("--timeout", type=int, default=None)
    c.add_argument("--memory", type=_size, default=None)
    args = parser.parse_args(argv)

    if args.command == "release":
        from .release import release
        for path in release():
            print(f"wrote {path.relative_to(path.parent.parent)}")
        return 0
    if args.command == "grade":
        from . import SOLUTIONS
        from .grade import DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY, grade
        from .sandbox import SandboxUnavailable, ensure_bwrap
        try:
            ensure_bwrap()
        except SandboxUnavailable as exc:
            print(exc, file=sys.stderr)
            return 1
        report = grade(args.submissions, args.output,
                       solutions=args.solutions or SOLUTIONS,
                       cell_timeout=args.timeout or DEFAULT_CELL_TIMEOUT,
                       keep=args.keep, jobs=args.jobs,
                       memory=args.memory or DEFAULT_MEMORY,
                       lms_pattern=args.lms_regexp,
                       resume=not args.restart,
                       match_renamed=args.match_renamed,
                       **({} if args.budget is None else {
                           "budget": tuple(args.budget)
                           if any(args.budget) else None}))
        print(report.summary())
        return 130 if report.interrupted else 0
    if args.command == "course-config":
        from .nbgrader_course import (DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY,
                                      write_course_config)
        args.folder.mkdir(parents=True, exist_ok=True)
        path = write_course_config(
            args.folder, args.course_id, args.exchange,
            args.timeout or DEFAULT_CELL_TIMEOUT,
            args.memory or DEFAULT_MEMORY)
        print(f"wrote {path}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
