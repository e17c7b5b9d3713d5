"""``python -m autograder release|grade``: the instructor commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
                   help="folder <student>/<lesson>.ipynb, or a zip of one")
    g.add_argument("-o", "--output", type=Path, required=True,
                   help="folder for grades.csv and feedback/")
    g.add_argument("--timeout", type=int, default=None,
                   help="seconds one cell may run (default 120)")
    g.add_argument("--keep", action="store_true",
                   help="keep the scratch nbgrader course for inspection")
    args = parser.parse_args(argv)

    if args.command == "release":
        from .release import release
        for path in release():
            print(f"wrote {path.relative_to(path.parent.parent)}")
        return 0
    if args.command == "grade":
        from .grade import grade, DEFAULT_CELL_TIMEOUT
        report = grade(args.submissions, args.output,
                       cell_timeout=args.timeout or DEFAULT_CELL_TIMEOUT,
                       keep=args.keep)
        print(report.summary())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
