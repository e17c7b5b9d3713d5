"""The nbgrader exchange round trip on one machine, with the course's
hardened autograde: the instructor releases, two students (own home
folders and user names) fetch and submit, the instructor collects,
autogrades, generates and releases feedback, the students fetch it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import corpus
from autograder.build import build_all
from autograder.nbgrader_course import write_course_config
from autograder.sandbox import SandboxPolicy, needed_paths
from conftest import FIXTURES, load

pytestmark = pytest.mark.slow
LESSON = "98_checked"
COURSE = "rnn-course"


STUDENTS = ("rnnalice", "rnnbob")


def nbgrader(args, cwd):
    """An instructor command, run as the grader's own user."""
    cmd = [sys.executable, "-m", "nbgrader"] + args
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, f"{args}: {res.stdout}\n{res.stderr}"


def as_student(user, home, exchange, args):
    """A student command, run as that student's own unprivileged user
    (through the sandbox launcher, which makes Python reachable)."""
    import pwd
    uid = pwd.getpwnam(user).pw_uid
    ctl = Path(tempfile.mkdtemp(prefix=f"ctl-{user}-", dir=home.parent))
    os.chmod(ctl, 0o755)
    policy = SandboxPolicy(
        folder=str(home), uid=uid, memory=0, ro=needed_paths(),
        rw=[str(exchange)], ctl=str(ctl),
        env={"HOME": str(home), "USER": user, "LOGNAME": user,
             "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    pfile = home.parent / f".{user}.json"
    policy.write(pfile)
    cmd = [sys.executable, "-m", "autograder.sandbox", str(pfile), "--",
           sys.executable, "-m", "nbgrader"] + args + [
        f"--Exchange.root={exchange}", f"--course={COURSE}"]
    res = subprocess.run(cmd, timeout=600)
    log = ctl / "kernel.log"
    text = log.read_text() if log.exists() else ""
    shutil.rmtree(ctl, ignore_errors=True)
    assert res.returncode == 0, f"{user} {args}: {text}"


def each_student(step, students):
    """Run ``step(student)`` for every student at once; re-raise the
    first failure."""
    with ThreadPoolExecutor(len(students)) as pool:
        for done in [pool.submit(step, who) for who in students]:
            done.result()


@pytest.fixture(scope="module")
def students():
    """Two real users; removed again afterwards."""
    if os.geteuid() != 0:
        pytest.skip("creating student users needs root")
    made = []
    for user in STUDENTS:
        if subprocess.run(["id", user], capture_output=True).returncode:
            subprocess.run(["useradd", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", user], check=True)
            made.append(user)
    yield STUDENTS
    for user in made:
        subprocess.run(["userdel", user], capture_output=True)


@pytest.fixture(scope="module")
def round_trip(students):
    # Shared storage every user can reach (pytest's tmp is private).
    base = Path(tempfile.mkdtemp(prefix="rnn-exchange-test-"))
    os.chmod(base, 0o755)
    try:
        yield _round_trip(base, students)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _round_trip(base, students):
    exchange = base / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)
    course = base / "course"
    src = course / "source" / LESSON
    src.mkdir(parents=True)
    built = base / "built"
    shutil.copytree(FIXTURES / "checked", built)
    build_all(built)
    shutil.copyfile(built / f"{LESSON}.ipynb", src / f"{LESSON}.ipynb")
    write_course_config(course, COURSE, exchange=exchange, cell_timeout=30)

    nbgrader(["generate_assignment", LESSON], course)
    nbgrader(["release_assignment", LESSON], course)
    solution = load(src / f"{LESSON}.ipynb")
    alice, bob = students
    answers = {alice: set(corpus.solution_ids(solution)),
               bob: {"project"}}
    homes = {}
    (base / "home").mkdir(mode=0o755)
    for who in answers:
        import pwd
        home = homes[who] = base / "home" / who
        home.mkdir(mode=0o700)
        os.chown(home, pwd.getpwnam(who).pw_uid, pwd.getpwnam(who).pw_gid)

    def hand_in(who):
        home = homes[who]
        as_student(who, home, exchange, ["fetch_assignment", LESSON])
        path = home / LESSON / f"{LESSON}.ipynb"
        nb = corpus.solve(load(path), solution, answers[who])
        path.write_text(json.dumps(nb))
        as_student(who, home, exchange, ["submit", LESSON])

    # The students work at the same time, as in a class.
    each_student(hand_in, homes)
    nbgrader(["collect", LESSON], course)
    nbgrader(["autograde", LESSON], course)
    nbgrader(["generate_feedback", LESSON], course)
    nbgrader(["release_feedback", LESSON], course)
    each_student(lambda who: as_student(
        who, homes[who], exchange, ["fetch_feedback", LESSON]), homes)
    return course, homes


def test_collected_submissions_are_graded(round_trip):
    from nbgrader.api import Gradebook
    course, _ = round_trip
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        got = {s: gb.find_submission(LESSON, s).score for s in STUDENTS}
    assert got == dict(zip(STUDENTS, (6.0, 2.0)))


def test_students_fetch_their_own_feedback(round_trip):
    _, homes = round_trip
    for who, home in homes.items():
        pages = list((home / LESSON / "feedback").rglob(f"{LESSON}.html"))
        assert len(pages) == 1, who
        html = pages[0].read_text(encoding="utf-8")
        assert ("Score: 6.0" if who == STUDENTS[0] else "Score: 2.0") \
            in html


def test_autograde_ran_in_the_sandbox(round_trip):
    course, _ = round_trip
    nb = load(course / "autograded" / STUDENTS[0] / LESSON /
              f"{LESSON}.ipynb")
    meta = nb["metadata"]["rnn_course_grader"]
    assert meta["sandbox"]["isolation"] == "bwrap"
    # The kernel's view is a whitelist: the course is not in it.
    assert not any(b == str(course) or b.startswith(str(course) + "/")
                   for b in meta["sandbox"]["binds"])
    if os.geteuid() == 0:
        assert meta["sandbox"]["uid"] not in (None, 0)
