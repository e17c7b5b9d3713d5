"""``python -m website [--out DIR] [--cache DIR]``: build the site."""

import argparse
from pathlib import Path

from website.build import CACHE, OUT, ROOT, build


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python3 course.py site",
        description="Build the course as a static web site, offline.")
    parser.add_argument("--out", type=Path, default=OUT,
                        help=f"where the site goes (default {OUT})")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="executed notebooks and build state, kept "
                             f"between builds (default {CACHE})")
    parser.add_argument("--work", type=Path, default=None,
                        help="generated sources and doctrees (default: "
                             "inside the cache)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the course: solutions/, lessons/, README.md "
                             "(default: this repository)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    build(args.out, args.cache, args.work, args.quiet, args.root)


if __name__ == "__main__":
    main()
