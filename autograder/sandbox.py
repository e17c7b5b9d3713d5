"""Where a student's kernel runs: a bubblewrap sandbox with a whitelist.

Every graded notebook runs in a kernel started by ``bwrap`` (Debian's
``bubblewrap``) with ``--unshare-all``: new user, mount, pid, network,
ipc, uts and cgroup namespaces, so no network at all and no view of any
other process. The kernel

* runs as an unprivileged user id of its own (when the grader runs as
  root), and dies with the launcher (``--die-with-parent``) in a new
  session;
* sees only a whitelist: the Python environment read-only (the venv, the
  base interpreter, ``/usr`` and the few files of ``/etc`` the dynamic
  loader needs), the course's ``helpers`` package read-only (as a view in
  which the lesson's own graded reference functions are stubs, see
  :mod:`autograder.reference_view`), its own working folder and the
  folder of its own ``ipc`` sockets; ``/tmp``, ``/var/tmp`` and
  ``/dev/shm`` are private and empty, ``/dev`` and ``/proc`` minimal.
  No other student's file, no instructor file, no shared ``/tmp``;
* has limits on memory (address space), CPU time, processes, file size
  and open files (``resource.setrlimit`` before the sandbox starts) and a
  fixed CPU share of its own (a cgroup, :mod:`autograder.cpushare`);
* talks to the grader over Unix sockets only (jupyter_client's ``ipc``
  transport), in folders no other kernel sees.

The root side never follows a path a student could have planted: the
connection file, the status file, the log and the grader's socket live in
a control folder only root can write; every folder the kernel may write
is made fresh (``mkdtemp``) before the kernel exists and only removed
(``shutil.rmtree``, which does not follow symlinks) afterwards.

Run as ``python -m autograder.sandbox POLICY.json -- KERNEL ARGV`` this
module is the launcher that applies a policy and then execs ``bwrap``,
which becomes the kernel.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Sandbox user ids start here; a grading slot k uses UID_BASE + k.
UID_BASE = 61000
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18

# System folders every process needs (read-only) and single files of
# /etc the dynamic loader and the C library read.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
       "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd",
       "/etc/group")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a sandbox here."""


@dataclass
class SandboxPolicy:
    """What a student's kernel may do. Sizes in bytes, times in seconds.

    ``ro`` are bound read-only at the same path, ``ro_map`` as
    ``[source, destination]`` pairs, ``rw`` read-write; ``masked``
    folders (inside those binds) are shown empty. ``folder`` is the
    kernel's working folder (read-write), ``ctl`` the root-owned control
    folder (connection file, status, log, the grader's socket; read-only
    for the kernel), ``cgroup`` the cpu cgroup the kernel joins.
    """

    folder: str = ""
    uid: int | None = None
    memory: int = 4 * 2 ** 30
    cpu_seconds: int = 3600
    processes: int = 512
    file_size: int = 256 * 2 ** 20
    open_files: int = 1024
    ro: list[str] = field(default_factory=list)
    ro_map: list[list[str]] = field(default_factory=list)
    rw: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    ctl: str = ""
    cgroup: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                     os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(asdict(self)))
        os.chmod(path, 0o600)


def can_switch_user() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def bwrap_path() -> str | None:
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.path.exists(p)),
        None)


def ensure_bwrap() -> str:
    """The ``bwrap`` command; installed with apt-get (as root) if
    missing. Raises :class:`SandboxUnavailable` when that cannot be."""
    found = bwrap_path()
    if found:
        return found
    if can_switch_user() and shutil.which("apt-get"):
        for cmd in (["apt-get", "install", "-y", "-q", "bubblewrap"],
                    ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "bubblewrap"]):
            subprocess.run(cmd, capture_output=True, timeout=900,
                           env=dict(os.environ,
                                    DEBIAN_FRONTEND="noninteractive"))
            found = bwrap_path()
            if found:
                return found
    raise SandboxUnavailable(
        "grading needs bubblewrap (the `bwrap` command) to sandbox "
        "student code: install it with `apt-get install bubblewrap` (as "
        "root) and run the grader again")


_MPL_CACHE: Path | None = None


def _matplotlib_cache() -> Path | None:
    """A font list built once, copied into each sandbox (saves seconds).
    Kept in a folder only the grader's user can write."""
    global _MPL_CACHE
    if _MPL_CACHE is None:
        cache = Path(tempfile.gettempdir()) / \
            f"rnn-course-mplcache-{os.geteuid()}"
        try:
            cache.mkdir(mode=0o700, exist_ok=True)
            st = os.lstat(cache)
            if st.st_uid != os.geteuid() or not os.path.isdir(cache) or \
                    os.path.islink(cache):
                return None
        except OSError:
            return None
        if not any(cache.glob("fontlist-*.json")):
            env = dict(os.environ, MPLCONFIGDIR=str(cache))
            subprocess.run([sys.executable, "-c",
                            "import matplotlib.font_manager"], env=env,
                           capture_output=True, timeout=300)
        _MPL_CACHE = cache
    return _MPL_CACHE


def make_base(parent: Path | None = None) -> Path:
    """A fresh folder (0711, the grader's) for one notebook's sandbox:
    its working folder, control folder and socket folders go in it."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="rnn-course-sandbox-",
                                 dir=parent))
    os.chmod(base, 0o711)
    return base


def make_folder(base: Path, uid: int | None, files_from: Path | None
                ) -> Path:
    """A fresh private working folder for one kernel, owned by ``uid``.

    It is made and filled before the kernel exists, so nothing in it can
    have been planted by a student when the grader changes its owner.
    """
    base.mkdir(parents=True, exist_ok=True)
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
        _give(folder, uid)
    os.chmod(folder, 0o700)
    return folder


def make_private(base: Path, uid: int | None, prefix: str) -> Path:
    """A fresh empty folder (0700) owned by ``uid``: the kernel's sockets.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    if uid is not None:
        os.lchown(folder, uid, uid)
    return folder


def make_control(base: Path) -> Path:
    """The root-owned control folder (0755): read-only for the kernel."""
    folder = Path(tempfile.mkdtemp(prefix="ctl", dir=base))
    os.chmod(folder, 0o755)
    return folder


def _give(folder: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [dirpath] + [os.path.join(dirpath, n)
                                 for n in dirnames + filenames]:
            os.lchown(name, uid, uid)


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
            if k in ("LANG", "LC_ALL", "TZ", "PYTHONHASHSEED",
                     "NBGRADER_EXECUTION")}
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
    """Live processes running as ``uid``. A zombie (killed, waiting for
    its parent to collect it) runs nothing and is left out: collecting
    orphans is up to init, which can take a second or more."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                status = dict(line.split(":", 1) for line in fh
                              if line[:4] in ("Stat", "Uid:"))
        except (OSError, ValueError):
            continue
        state = status.get("State", " ?").split()[0]
        uids = status.get("Uid", "").split()
        if state not in ("Z", "X") and uids and int(uids[0]) == uid:
            pids.append(int(entry))
    return pids


def stop_all(uid: int | None) -> int:
    """Kill every process running as ``uid``; return how many there were."""
    if uid is None or uid == 0 or uid == os.geteuid():
        return 0
    from . import cpushare
    return cpushare.kill_listed(lambda: processes_of(uid), rounds=50,
                                pause=0.05)


def remove_folder(folder: Path) -> None:
    # rmtree removes a symlink, never what it points to.
    shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------ one sandbox

class Box:
    """The root side of one notebook's sandbox: a fresh base folder with
    the kernel's working folder, its control folder and (per kernel
    start) its socket folder; the policy file; the cpu cgroup.

    ``hidden`` are the reference functions stubbed in the kernel's view
    of ``helpers`` (:mod:`autograder.reference_view`).
    """

    def __init__(self, uid: int | None, files_from: Path | None = None,
                 hidden: set[str] | frozenset = frozenset(),
                 parent: Path | None = None, cpus: float = 1.0,
                 **limits) -> None:
        from . import cpushare, reference_view
        self.uid = uid
        self.base = make_base(parent)
        self.ipc = ""
        self.cgroup: str | None = None
        try:
            self.folder = make_folder(self.base, uid, files_from)
            self.ctl = make_control(self.base)
            ro_map, masked = reference_view.build_view(
                set(hidden), self.ctl / "view")
            self.cgroup = cpushare.create(
                f"{os.getpid()}-{self.base.name}", cpus)
            self.policy = SandboxPolicy(
                folder=str(self.folder), uid=uid, ro=needed_paths(),
                ro_map=ro_map, masked=masked, ctl=str(self.ctl),
                cgroup=self.cgroup or "", env=kernel_env(self.folder),
                **limits)
            self.policy_file = self.base / "policy.json"
        except BaseException:
            self.close()
            raise

    def fresh_ipc(self) -> str:
        """A new socket folder for the next kernel; the policy updated."""
        self.stop()
        self.ipc = str(make_private(self.base, self.uid, "ipc"))
        self.policy.rw = [self.ipc]
        self.policy.write(self.policy_file)
        return self.ipc

    def stop(self) -> None:
        """Kill every process of the sandbox; drop its socket folder."""
        from . import cpushare
        stop_all(self.uid)
        cpushare.kill(self.cgroup)
        if self.ipc:
            remove_folder(Path(self.ipc))
            self.ipc = ""

    def status(self) -> dict:
        try:
            return json.loads((self.ctl / "status.json").read_text())
        except (AttributeError, OSError, ValueError):
            return {}

    def close(self) -> None:
        from . import cpushare
        try:
            self.stop()
        except AttributeError:
            pass
        cpushare.remove(self.cgroup)
        remove_folder(self.base)


# ------------------------------------------------------------ kernel manager

def kernel_manager_class():
    """An AsyncKernelManager that starts kernels through the launcher,
    talks to them over ``ipc`` sockets and interrupts them by message
    (a signal cannot cross the sandbox's pid namespace)."""
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        policy_file: str = ""

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if not self.policy_file:
                return cmd
            return [sys.executable, "-m", "autograder.sandbox",
                    self.policy_file, "--"] + cmd

        @property
        def kernel_spec(self):
            spec = super().kernel_spec
            if spec is not None and self.policy_file:
                spec.interrupt_mode = "message"
            return spec

    return SandboxKernelManager


# ------------------------------------------------------------ the launcher

def needed_paths() -> list[str]:
    """What Python needs to run: the environment and its interpreter."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.dirname(os.path.realpath(sys.executable))}
    out = []
    for p in sorted(paths):
        if not any(p.startswith(q + os.sep) for q in paths if q != p):
            out.append(p)
    return out


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


def _stage(sources: list[str], stage_dir: Path, status: dict) -> dict:
    """Sources another user cannot reach, bound (in the launcher's own
    mount namespace) under ``stage_dir``, which it can: ``{source:
    staged path}``."""
    closed = [s for s in sources if _closed_ancestors(s)]
    if not closed:
        return {}
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise SandboxUnavailable(
            f"unshare failed (errno {ctypes.get_errno()})")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise SandboxUnavailable("could not make mounts private")
    stage_dir.mkdir(mode=0o755)
    out = {}
    for i, src in enumerate(closed):
        dest = stage_dir / str(i)
        if os.path.isdir(src):
            dest.mkdir(mode=0o755)
        else:
            dest.touch(mode=0o644)
        if libc.mount(src.encode(), str(dest).encode(), None,
                      MS_BIND | MS_REC, None) != 0:
            raise SandboxUnavailable(f"could not stage {src}")
        out[src] = str(dest)
    status["staged"] = len(out)
    return out


def bwrap_args(p: SandboxPolicy, bwrap: str, staged: dict,
               uid: int | None) -> list[str]:
    """The bubblewrap command line for policy ``p`` (before the argv)."""
    def src(path: str) -> str:
        return staged.get(path, path)

    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    if uid is not None:
        args += ["--uid", str(uid), "--gid", str(uid)]
    for d in SYSTEM:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in ETC:
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--tmpfs", "/var/tmp", "--tmpfs", "/dev/shm"]
    for path in p.ro:
        args += ["--ro-bind", src(path), path]
    for source, dest in p.ro_map:
        args += ["--ro-bind", src(source), dest]
    for path in p.masked:
        args += ["--tmpfs", path, "--remount-ro", path]
    for path in p.rw:
        args += ["--bind", src(path), path]
    if p.ctl:
        args += ["--ro-bind", src(p.ctl), p.ctl]
    if p.folder:
        args += ["--bind", src(p.folder), p.folder, "--chdir", p.folder]
    return args


def _create(path: Path, mode: int) -> int:
    """A new file in a root-only folder, never through a symlink."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                   os.O_NOFOLLOW, mode)


def join_cgroup(cgroup: str, pid: int) -> bool:
    try:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as fh:
            fh.write(str(pid))
        return True
    except OSError:
        return False


def launch(argv: list[str]) -> None:
    policy_file, rest = argv[0], argv[2:]
    p = SandboxPolicy(**json.loads(Path(policy_file).read_text()))
    bwrap = bwrap_path()
    if bwrap is None:
        raise SystemExit("bubblewrap (bwrap) is not installed")
    uid = p.uid if can_switch_user() else None
    status: dict = {"uid": uid, "isolation": "bwrap",
                    "binds": sorted(set(p.ro) | set(p.rw) |
                                    {d for _, d in p.ro_map} |
                                    {x for x in (p.folder, p.ctl) if x})}
    ctl = Path(p.ctl) if p.ctl else None
    if p.cgroup:
        status["cgroup"] = p.cgroup if join_cgroup(p.cgroup, os.getpid()) \
            else None
    # The kernel reads its connection file from the control folder.
    if "-f" in rest and ctl is not None:
        i = rest.index("-f") + 1
        data = Path(rest[i]).read_bytes()
        conn = ctl / f"kernel-{os.getpid()}.json"
        fd = _create(conn, 0o400)
        os.write(fd, data)
        if uid is not None:
            os.fchown(fd, uid, uid)
        os.close(fd)
        rest[i] = str(conn)
    staged = {}
    if uid is not None and ctl is not None:
        sources = (list(p.ro) + [s for s, _ in p.ro_map] + list(p.rw) +
                   [x for x in (p.folder, p.ctl) if x])
        # Beside the control folder, not in it: the kernel sees only the
        # staged sources at their real paths.
        staged = _stage(sources, ctl.parent / f"stage-{os.getpid()}",
                        status)
    limits = [(resource.RLIMIT_AS, p.memory),
              (resource.RLIMIT_CPU, p.cpu_seconds),
              (resource.RLIMIT_FSIZE, p.file_size),
              (resource.RLIMIT_NOFILE, p.open_files)]
    if uid is not None:
        limits.append((resource.RLIMIT_NPROC, p.processes))
    for which, value in limits:
        if value:               # 0 in a policy means no limit
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # no core dumps
    if ctl is not None:
        fd = os.open(ctl / "status.json", os.O_WRONLY | os.O_CREAT |
                     os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        os.write(fd, json.dumps(status).encode())
        os.close(fd)
        # The kernel's own log goes to the control folder.
        log = os.open(ctl / "kernel.log", os.O_WRONLY | os.O_CREAT |
                      os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise SystemExit("could not drop privileges")
    os.umask(0o077)
    env = dict(p.env)
    # Inside the pid namespace the kernel's parent is bwrap's pid 1, which
    # a kernel takes for "my parent has gone": bwrap's --die-with-parent
    # does that job instead.
    env.pop("JPY_PARENT_PID", None)
    args = bwrap_args(p, bwrap, staged, uid) + ["--"] + rest
    os.execve(bwrap, args, env)


if __name__ == "__main__":
    launch(sys.argv[1:])
