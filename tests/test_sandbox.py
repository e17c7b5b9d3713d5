"""The sandbox's pure parts: the kernel's environment, what it may not
see, its folder, and the limits the launcher sets before the kernel."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from autograder import ROOT, sandbox
from autograder.sandbox import (SandboxPolicy, default_hidden, kernel_env,
                                make_folder, needed_paths, stop_all,
                                with_own_bin)

BIN = os.path.dirname(sys.executable)

PASSED_ON = {"PATH", "LANG", "LC_ALL", "TZ", "JPY_PARENT_PID",
             "PYTHONHASHSEED", "NBGRADER_EXECUTION"}
SET_HERE = {"HOME", "TMPDIR", "MPLCONFIGDIR", "IPYTHONDIR",
            "JUPYTER_RUNTIME_DIR", "PYTHONDONTWRITEBYTECODE",
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "MALLOC_ARENA_MAX"}


def test_kernel_env_is_a_whitelist(monkeypatch, tmp_path):
    for secret in ("JUPYTERHUB_API_TOKEN", "AWS_SECRET_ACCESS_KEY",
                   "PYTHONPATH", "LD_PRELOAD", "SSH_AUTH_SOCK",
                   "PYTHONSTARTUP", "VIRTUAL_ENV"):
        monkeypatch.setenv(secret, "leak")
    monkeypatch.setenv("PATH", "/opt/x/bin:/usr/bin")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("HOME", "/root")
    env = kernel_env(tmp_path)
    assert set(env) <= PASSED_ON | SET_HERE
    assert "leak" not in env.values()
    assert env["PATH"] == with_own_bin("/opt/x/bin:/usr/bin")
    assert env["LANG"] == "C.UTF-8"
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path)
    assert env["MPLCONFIGDIR"] == str(tmp_path / ".matplotlib")
    assert env["OMP_NUM_THREADS"] == "1"


def test_kernel_env_has_a_path_even_without_one(monkeypatch, tmp_path):
    monkeypatch.delenv("PATH", raising=False)
    assert kernel_env(tmp_path)["PATH"] == with_own_bin("/usr/bin:/bin")


def test_with_own_bin_puts_it_first_once():
    assert with_own_bin("/usr/bin") == BIN + os.pathsep + "/usr/bin"
    assert with_own_bin(BIN + os.pathsep + "/x") == BIN + os.pathsep + "/x"
    assert with_own_bin(None) == BIN + os.pathsep + os.defpath


def test_instructor_folders_are_hidden_but_not_the_course(tmp_path):
    extra = tmp_path / "gradebook-course"
    extra.mkdir()
    hidden = default_hidden([str(extra), "", str(tmp_path / "missing")])
    assert str(ROOT / "solutions") in hidden
    assert str(ROOT / "tests") in hidden
    assert str(ROOT / "benchmarks") in hidden
    assert hidden[-1] == str(extra)
    assert str(tmp_path / "missing") not in hidden and "" not in hidden
    assert str(ROOT) not in hidden and str(ROOT / "helpers") not in hidden
    assert all(Path(p).exists() for p in hidden)


def test_needed_paths_reach_python_and_the_course():
    paths = needed_paths()
    assert str(ROOT) in paths
    assert os.path.realpath(sys.prefix) in paths
    assert os.path.dirname(os.path.realpath(sys.executable)) in paths


def test_closed_ancestors_are_the_folders_others_cannot_pass(tmp_path):
    closed, opened = tmp_path / "closed", tmp_path / "closed" / "open"
    (opened / "inner").mkdir(parents=True)
    os.chmod(closed, 0o700)
    os.chmod(opened, 0o755)
    found = sandbox._closed_ancestors(str(opened / "inner" / "file"))
    assert str(closed) in found and str(opened) not in found
    assert str(opened / "inner") not in found


def test_make_folder_copies_only_what_the_notebook_needs(tmp_path,
                                                        monkeypatch):
    monkeypatch.setattr(sandbox, "_MPL_CACHE", tmp_path / "no-cache")
    where = tmp_path / "submission"
    (where / "data").mkdir(parents=True)
    (where / "data" / "x.csv").write_text("1,2")
    (where / "weights.npy").write_bytes(b"\x93NUMPY")
    (where / "lesson.ipynb").write_text("{}")
    (where / ".secret").write_text("no")
    (where / "link").symlink_to(tmp_path)
    folder = make_folder(tmp_path / "base", None, where)
    assert sorted(p.name for p in folder.iterdir()) == [
        ".matplotlib", "data", "weights.npy"]
    assert (folder / "data" / "x.csv").read_text() == "1,2"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_policy_defaults_and_file():
    p = SandboxPolicy()
    assert (p.memory, p.cpu_seconds, p.processes, p.file_size,
            p.open_files) == (4 * 2 ** 30, 3600, 512, 256 * 2 ** 20, 1024)
    assert p.uid is None and p.hide == [] and p.env == {}


def test_stop_all_never_touches_root_or_the_grader():
    assert stop_all(None) == 0
    assert stop_all(0) == 0
    assert stop_all(os.geteuid()) == 0


PROBE = textwrap.dedent("""
    import json, os, resource
    names = ("AS", "CPU", "FSIZE", "NOFILE", "CORE")
    print(json.dumps({
        "limits": {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n))
                   for n in names},
        "cwd": os.getcwd(), "env": dict(os.environ),
        "umask": os.umask(0)}))
    """)


def test_launcher_applies_the_limits_then_becomes_the_kernel(tmp_path):
    folder = tmp_path / "k"
    folder.mkdir()
    policy = SandboxPolicy(folder=str(folder), uid=None,
                           memory=3 * 2 ** 30, cpu_seconds=100,
                           file_size=2 ** 20, open_files=64,
                           env={"HOME": str(folder), "ONLY": "this"})
    pfile = tmp_path / "policy.json"
    policy.write(pfile)
    assert stat.S_IMODE(pfile.stat().st_mode) == 0o600
    assert SandboxPolicy(**json.loads(pfile.read_text())) == policy
    res = subprocess.run(
        [sys.executable, "-m", "autograder.sandbox", str(pfile), "--",
         sys.executable, "-c", PROBE], cwd=ROOT, timeout=120,
        capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    seen = json.loads((folder / ".kernel.log").read_text())
    assert seen["limits"] == {"AS": [3 * 2 ** 30] * 2, "CPU": [100, 100],
                              "FSIZE": [2 ** 20] * 2, "NOFILE": [64, 64],
                              "CORE": [0, 0]}
    assert seen["cwd"] == str(folder)
    assert seen["umask"] == 0o077
    env = seen["env"]
    env.pop("LC_CTYPE", None)           # Python may set it for UTF-8
    assert env == {"HOME": str(folder), "ONLY": "this",
                   "JPY_PARENT_PID": env["JPY_PARENT_PID"]}
    assert json.loads((folder / ".sandbox.json").read_text()) == {
        "uid": None}

