"""Where a student's kernel runs: its own user, folder, limits and view.

Every graded notebook runs in a kernel that

* runs as an unprivileged user id of its own (when the grader runs as
  root), so it cannot read the grader's files, the gradebook or another
  student's sandbox, and the grader can stop every process it started;
* works in a private folder holding only what the notebook needs;
* has limits on memory (address space), CPU time, processes, file size
  and open files (``resource.setrlimit`` before the kernel starts);
* sees the instructor's folders (the course directory with its
  ``source/`` and gradebook, the repository's ``solutions/`` and
  ``tests/``, the exchange) as empty, through a private mount namespace,
  where the system allows one.

Run as ``python -m autograder.sandbox POLICY.json -- KERNEL ARGV`` this
module is the launcher that applies a policy and then becomes the kernel.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import ROOT

# Sandbox user ids start here; a grading slot k uses UID_BASE + k.
UID_BASE = 61000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_BIND, MS_REC, MS_PRIVATE = 1, 4096, 16384, 1 << 18


@dataclass
class SandboxPolicy:
    """What a student's kernel may do. Sizes in bytes, times in seconds."""

    folder: str = ""
    uid: int | None = None
    memory: int = 4 * 2 ** 30
    cpu_seconds: int = 3600
    processes: int = 512
    file_size: int = 256 * 2 ** 20
    open_files: int = 1024
    hide: list[str] = field(default_factory=list)
    reach: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))
        os.chmod(path, 0o600)


def can_switch_user() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_hidden(extra: list[str] | tuple = ()) -> list[str]:
    """Folders the kernel must not see: instructor material."""
    paths = [ROOT / "solutions", ROOT / "tests", ROOT / ".git",
             ROOT / "benchmarks"]
    return [str(p) for p in paths if p.exists()] + [
        str(p) for p in extra if p and Path(p).exists()]


_MPL_CACHE: Path | None = None


def _matplotlib_cache() -> Path | None:
    """A font list built once, copied into each sandbox (saves seconds)."""
    global _MPL_CACHE
    if _MPL_CACHE is None:
        cache = Path(tempfile.gettempdir()) / "rnn-course-mplcache"
        if not any(cache.glob("fontlist-*.json")):
            cache.mkdir(exist_ok=True)
            env = dict(os.environ, MPLCONFIGDIR=str(cache))
            import subprocess
            subprocess.run([sys.executable, "-c",
                            "import matplotlib.font_manager"], env=env,
                           capture_output=True, timeout=300)
        _MPL_CACHE = cache
    return _MPL_CACHE


def make_folder(base: Path, uid: int | None, files_from: Path | None
                ) -> Path:
    """A private working folder for one kernel, owned by ``uid``."""
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o711)
    folder = Path(tempfile.mkdtemp(prefix="k", dir=base))
    if files_from is not None and files_from.is_dir():
        for item in files_from.iterdir():
            if item.suffix == ".ipynb" or item.name.startswith("."):
                continue
            dest = folder / item.name
            if item.is_dir() and not item.is_symlink():
                shutil.copytree(item, dest, symlinks=False)
            elif item.is_file() and not item.is_symlink():
                shutil.copyfile(item, dest)
    mpl = folder / ".matplotlib"
    mpl.mkdir()
    cache = _matplotlib_cache()
    if cache is not None:
        for f in cache.glob("fontlist-*.json"):
            shutil.copyfile(f, mpl / f.name)
    if uid is not None:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in [dirpath] + [os.path.join(dirpath, n)
                                     for n in dirnames + filenames]:
                os.lchown(name, uid, uid)
    os.chmod(folder, 0o700)
    return folder


def with_own_bin(path: str | None) -> str:
    """``path`` (a PATH value) with this Python's bin folder in front, so
    that the commands of this environment are found (``alembic`` for
    nbgrader, ``pip`` in a kernel) also when ``.venv/bin/python`` is
    called directly."""
    own = os.path.dirname(sys.executable)
    path = os.defpath if path is None else path
    if own in path.split(os.pathsep):
        return path
    return own + os.pathsep + path


def kernel_env(folder: Path) -> dict[str, str]:
    """A small, fixed environment for the kernel."""
    keep = {k: v for k, v in os.environ.items()
            if k in ("LANG", "LC_ALL", "TZ", "JPY_PARENT_PID",
                     "PYTHONHASHSEED", "NBGRADER_EXECUTION")}
    keep["PATH"] = with_own_bin(os.environ.get("PATH", "/usr/bin:/bin"))
    keep.update({
        "HOME": str(folder), "TMPDIR": str(folder),
        "MPLCONFIGDIR": str(folder / ".matplotlib"),
        "IPYTHONDIR": str(folder / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(folder / ".jupyter"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2",
    })
    return keep


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def stop_all(uid: int | None) -> int:
    """Kill every process running as ``uid``; return how many there were."""
    if uid is None or uid == 0 or uid == os.geteuid():
        return 0
    found = 0
    for _ in range(50):
        pids = processes_of(uid)
        if not pids:
            break
        found = max(found, len(pids))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    return found


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------ kernel manager

def kernel_manager_class():
    """An AsyncKernelManager that starts kernels through the launcher."""
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        policy_file: str = ""

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if not self.policy_file:
                return cmd
            return [sys.executable, "-m", "autograder.sandbox",
                    self.policy_file, "--"] + cmd

    return SandboxKernelManager


# ------------------------------------------------------------ the launcher

def needed_paths() -> list[str]:
    """What the kernel must be able to read: Python and the course."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.dirname(os.path.realpath(sys.executable)), str(ROOT)}
    return sorted(paths)


def _closed_ancestors(path: str) -> list[str]:
    """Ancestors of ``path`` that other users cannot pass through."""
    out = []
    parts = Path(path).parts
    for i in range(1, len(parts)):
        anc = str(Path(*parts[:i]))
        try:
            if not os.stat(anc).st_mode & 0o001:
                out.append(anc)
        except OSError:
            pass
    return out


def _open_up(reach: list[str], libc, status: dict) -> bool:
    """Replace closed folders on the way to ``reach`` by open ones that
    show only what is needed (a tmpfs with the needed entries bound in).
    """
    plan: dict[str, set[str]] = {}
    for path in reach:
        for anc in _closed_ancestors(path):
            rel = Path(path).relative_to(anc).parts
            plan.setdefault(anc, set()).add(rel[0])
    for anc in sorted(plan, key=len):
        fds = {name: os.open(os.path.join(anc, name), os.O_PATH)
               for name in plan[anc]
               if os.path.exists(os.path.join(anc, name))}
        if libc.mount(b"none", anc.encode(), b"tmpfs", 0,
                      b"size=64k,mode=0755") != 0:
            status["reach"] = f"could not open up {anc}"
            return False
        for name, fd in fds.items():
            target = os.path.join(anc, name)
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.mkdir(target)
            else:
                open(target, "w").close()
            ok = libc.mount(f"/proc/self/fd/{fd}".encode(),
                            target.encode(), None, MS_BIND | MS_REC,
                            None) == 0
            os.close(fd)
            if not ok:
                status["reach"] = f"could not bind {target}"
                return False
        libc.mount(b"none", anc.encode(), None,
                   MS_RDONLY | MS_BIND | 32, None)   # remount read-only
    status["reach"] = "ok"
    return True


def _namespace(hide: list[str], reach: list[str], status: dict) -> bool:
    """Private mounts: needed paths reachable, instructor paths empty."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        status["namespace"] = f"unshare failed (errno {ctypes.get_errno()})"
        return False
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        status["namespace"] = "could not make mounts private"
        return False
    if not _open_up(reach, libc, status):
        return False
    _hide(hide, libc, status)
    return True


def _hide(paths: list[str], libc, status: dict) -> None:
    hidden = []
    for p in paths:
        b = p.encode()
        if os.path.isdir(p):
            ok = libc.mount(b"none", b, b"tmpfs", MS_RDONLY,
                            b"size=4k,mode=0755") == 0
        elif os.path.exists(p):
            ok = libc.mount(b"/dev/null", b, None, MS_BIND, None) == 0
        else:
            continue
        if ok:
            hidden.append(p)
    status["namespace"] = "ok"
    status["hidden"] = hidden


def launch(argv: list[str]) -> None:
    policy_file, rest = argv[0], argv[2:]
    p = SandboxPolicy(**json.loads(Path(policy_file).read_text()))
    folder = Path(p.folder)
    status: dict = {"uid": p.uid}
    if p.uid is not None and can_switch_user():
        if not _namespace(p.hide, p.reach, status):
            blocked = [a for r in p.reach for a in _closed_ancestors(r)]
            if blocked:
                # Python itself would be out of reach for another user.
                status["uid"] = None
                status["warning"] = ("kernel runs as the grader's user: "
                                     f"{blocked[0]} is closed to others "
                                     "and no mount namespace is allowed")
                p.uid = None
    # The kernel reads its connection file from its own folder.
    if "-f" in rest:
        i = rest.index("-f") + 1
        conn = folder / ".kernel.json"
        shutil.copyfile(rest[i], conn)
        if p.uid is not None:
            os.chown(conn, p.uid, p.uid)
        os.chmod(conn, 0o600)
        rest[i] = str(conn)
    limits = [(resource.RLIMIT_AS, p.memory),
              (resource.RLIMIT_CPU, p.cpu_seconds),
              (resource.RLIMIT_FSIZE, p.file_size),
              (resource.RLIMIT_NOFILE, p.open_files)]
    if p.uid is not None:
        limits.append((resource.RLIMIT_NPROC, p.processes))
    for which, value in limits:
        if value:               # 0 in a policy means no limit
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # no core dumps
    status_file = folder / ".sandbox.json"
    status_file.write_text(json.dumps(status))
    if p.uid is not None and can_switch_user():
        os.setgroups([])
        os.setgid(p.uid)
        os.setuid(p.uid)
        if os.getuid() != p.uid or os.geteuid() != p.uid:
            raise SystemExit("could not drop privileges")
    os.chdir(folder)
    os.umask(0o077)
    env = dict(p.env)
    env["JPY_PARENT_PID"] = str(os.getppid())
    # The kernel's own log goes to its folder, not the grader's terminal.
    log = os.open(folder / ".kernel.log",
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.execve(rest[0], rest, env)


if __name__ == "__main__":
    launch(sys.argv[1:])
