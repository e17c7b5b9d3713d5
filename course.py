#!/usr/bin/env python3
"""One entry point for the course: set up, open, test, release, grade.

    python3 course.py start [LESSON]   set up .venv and open the course
                                (or lessons/NN_name.ipynb) in JupyterLab
    python3 course.py test      set up .venv with test tools, run all tests
    python3 course.py release   regenerate solutions/*.ipynb and lessons/
    python3 course.py grade SUBMISSIONS -o OUT   autograde a class
    python3 course.py course-config DIR   nbgrader config for a real course
    python3 course.py bench     run the speed benchmarks
    python3 course.py site      build the course as a web site (offline)
                                into build/site/html

Every command first makes sure the project's virtual environment in
``.venv`` exists and matches ``pyproject.toml``; the second run skips the
install. Only the standard library is used here, so any Python 3.11+ can
run this file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
FIRST_LESSON = "lessons/01_sequences.ipynb"


def venv_python() -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV / sub


def ensure_env(extras: str = "") -> Path:
    """Create or update ``.venv``; return its Python."""
    if sys.version_info < (3, 11):
        sys.exit("The course needs Python 3.11 or newer "
                 f"(this is {sys.version.split()[0]}).")
    py = venv_python()
    spec = ".[" + extras + "]" if extras else "."
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()
    stamp = VENV / ".course-installed"
    if py.exists() and stamp.exists():
        done = stamp.read_text().split()
        if digest in done:
            return py
    else:
        done = []
    if not py.exists():
        print(f"Creating the virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing the course and its dependencies ({spec}); the "
          "first time takes a few minutes ...", flush=True)
    run([str(py), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", "-e", spec])
    stamp.write_text("\n".join(done + [digest]) + "\n")
    return py


def run(cmd: list[str], **kw) -> None:
    result = subprocess.run(cmd, cwd=ROOT, **kw)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_sandbox() -> None:
    """Grading runs student code in bubblewrap (`bwrap`): install the
    Debian package when it is missing and this is root, else say how."""
    import shutil
    if shutil.which("bwrap"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and \
            shutil.which("apt-get"):
        print("Installing bubblewrap, the sandbox for student code ...",
              flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env,
                       capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "bubblewrap"],
                       env=env, capture_output=True)
    if not shutil.which("bwrap"):
        sys.exit("Grading needs bubblewrap (the `bwrap` command) to "
                 "sandbox student code: install it (Debian/Ubuntu: `sudo "
                 "apt-get install bubblewrap`) and try again.")


def start(args: list[str]) -> None:
    py = ensure_env()
    lesson = FIRST_LESSON
    if args and args[0].endswith(".ipynb"):
        lesson, args = args[0], args[1:]
    cmd = [str(py), "-m", "jupyterlab", lesson]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # JupyterLab refuses to run as root without this flag.
        cmd.append("--allow-root")
    os.execv(str(py), cmd + args) if os.name != "nt" else run(cmd + args)


def test(args: list[str]) -> None:
    py = ensure_env("test")
    ensure_sandbox()
    # Two pytest workers (pytest-xdist): while one grades a whole class
    # or builds the site, the other runs the rest; tests/conftest.py
    # keeps each test file, and the files sharing the graded lesson
    # class, in one worker.
    run([str(py), "-m", "pytest", "-n", "2"]
        + (args or ["-q"]))


def instructor(command: str, args: list[str]) -> None:
    py = ensure_env()
    if command == "grade":
        ensure_sandbox()
    run([str(py), "-m", "autograder", command] + args)


def site(args: list[str]) -> None:
    py = ensure_env("site")
    run([str(py), "-m", "website"] + args)


def bench(args: list[str]) -> None:
    py = ensure_env()
    ensure_sandbox()
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        run([str(py), str(script)] + args)


def main(argv: list[str]) -> None:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    command, args = argv[0], argv[1:]
    if command == "start":
        start(args)
    elif command == "test":
        test(args)
    elif command == "bench":
        bench(args)
    elif command == "site":
        site(args)
    elif command in {"release", "grade", "course-config"}:
        instructor(command, args)
    elif command == "setup":
        ensure_env("test")
    else:
        sys.exit(f"unknown command {command!r}; try: python3 course.py help")


if __name__ == "__main__":
    main(sys.argv[1:])
