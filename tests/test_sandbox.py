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
from autograder.sandbox import (SandboxPolicy, bwrap_args, kernel_env,
                                make_folder, needed_paths, stop_all,
                                with_own_bin)

BIN = os.path.dirname(sys.executable)

PASSED_ON = {"PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED",
             "NBGRADER_EXECUTION"}
SET_HERE = {"HOME", "TMPDIR", "MPLCONFIGDIR", "IPYTHONDIR",
            "JUPYTER_RUNTIME_DIR", "PYTHONDONTWRITEBYTECODE",
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "MALLOC_ARENA_MAX"}


def test_kernel_env_is_a_whitelist(monkeypatch, tmp_path):
    for secret in ("JUPYTERHUB_API_TOKEN", "AWS_SECRET_ACCESS_KEY",
                   "PYTHONPATH", "LD_PRELOAD", "SSH_AUTH_SOCK",
                   "PYTHONSTARTUP", "VIRTUAL_ENV", "JPY_PARENT_PID"):
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


def test_bwrap_command_line_is_a_whitelist(tmp_path):
    """Only the system, Python, the policy's own folders; private /tmp,
    /var/tmp and /dev/shm; every namespace unshared; own uid."""
    work, ctl, ipc = (str(tmp_path / n) for n in ("work", "ctl", "ipc"))
    view = str(tmp_path / "view.py")
    p = SandboxPolicy(folder=work, uid=61234, ro=needed_paths(),
                      ro_map=[[str(ROOT / "helpers")] * 2,
                              [view, str(ROOT / "helpers" / "x.py")]],
                      rw=[ipc], ctl=ctl,
                      masked=[str(ROOT / "helpers" / "__pycache__")])
    args = bwrap_args(p, "/usr/bin/bwrap", {}, 61234)
    assert args[:4] == ["/usr/bin/bwrap", "--unshare-all",
                        "--die-with-parent", "--new-session"]
    assert args[4:8] == ["--uid", "61234", "--gid", "61234"]
    assert "--share-net" not in args
    binds = {}
    for i, a in enumerate(args):
        if a in ("--ro-bind", "--bind"):
            binds[args[i + 2]] = (a, args[i + 1])
    system = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
              "/libx32"}
    allowed = system | set(needed_paths()) | {
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd",
        "/etc/group", work, ctl, ipc, str(ROOT / "helpers"),
        str(ROOT / "helpers" / "x.py")}
    assert set(binds) <= allowed, set(binds) - allowed
    assert binds[work] == ("--bind", work)
    assert binds[ipc] == ("--bind", ipc)
    assert binds[ctl] == ("--ro-bind", ctl)
    assert binds[str(ROOT / "helpers" / "x.py")] == ("--ro-bind", view)
    for secret in (str(ROOT), str(ROOT / "solutions"), str(ROOT / "tests"),
                   "/work", "/root", "/home", "/tmp", "/var", "/etc"):
        assert secret not in binds
    for private in ("/tmp", "/var/tmp", "/dev/shm"):
        assert args[args.index(private) - 1] == "--tmpfs"
    assert ["--proc", "/proc"] == args[args.index("/proc") - 1:
                                       args.index("/proc") + 1]
    masked = args.index(str(ROOT / "helpers" / "__pycache__"))
    assert args[masked - 1] == "--tmpfs"
    # helpers first, the stub over it afterwards (the later bind wins).
    assert args.index(str(ROOT / "helpers")) < args.index(view)
    assert args[args.index("--chdir") + 1] == work


def test_needed_paths_reach_python_not_the_course():
    paths = needed_paths()
    assert os.path.realpath(sys.prefix) in paths
    assert os.path.realpath(sys.base_prefix) in paths
    assert str(ROOT) not in paths
    assert not any(p == str(ROOT) or p.startswith(str(ROOT / "helpers"))
                   for p in paths)


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
    assert p.uid is None and p.ro == p.rw == p.ro_map == [] and \
        p.env == {} and p.ctl == p.cgroup == ""


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
    folder, ctl = tmp_path / "k", tmp_path / "ctl"
    folder.mkdir()
    ctl.mkdir()
    policy = SandboxPolicy(folder=str(folder), uid=None,
                           memory=3 * 2 ** 30, cpu_seconds=100,
                           file_size=2 ** 20, open_files=64,
                           ro=needed_paths(), ctl=str(ctl),
                           env={"HOME": str(folder), "ONLY": "this"})
    pfile = tmp_path / "policy.json"
    policy.write(pfile)
    assert stat.S_IMODE(pfile.stat().st_mode) == 0o600
    assert SandboxPolicy(**json.loads(pfile.read_text())) == policy
    res = subprocess.run(
        [sys.executable, "-m", "autograder.sandbox", str(pfile), "--",
         sys.executable, "-c", PROBE], cwd=ROOT, timeout=120,
        capture_output=True, text=True)
    log = (ctl / "kernel.log").read_text()
    assert res.returncode == 0, res.stderr + log
    seen = json.loads(log)
    assert seen["limits"] == {"AS": [3 * 2 ** 30] * 2, "CPU": [100, 100],
                              "FSIZE": [2 ** 20] * 2, "NOFILE": [64, 64],
                              "CORE": [0, 0]}
    assert seen["cwd"] == str(folder)
    assert seen["umask"] == 0o077
    env = seen["env"]
    env.pop("LC_CTYPE", None)           # Python may set it for UTF-8
    assert env.pop("PWD") == str(folder)     # bwrap --chdir sets it
    assert env == {"HOME": str(folder), "ONLY": "this"}
    status = json.loads((ctl / "status.json").read_text())
    assert status["isolation"] == "bwrap" and status["uid"] is None
    # Nothing was written into the kernel's own folder.
    assert list(folder.iterdir()) == []
