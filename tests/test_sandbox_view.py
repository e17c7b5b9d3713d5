"""The sandbox's view, tested from inside real kernels.

Two kernels run at once, as two students' kernels do in a batch. From
inside kernel A nothing outside its whitelist can be listed, read or
written (the other kernel's folder, a grading output folder, another
student's submission, the course's solutions/ and tests/, another
checkout of the course, /root, /home, /work), /tmp, /var/tmp and
/dev/shm are private, no socket connects anywhere, and symlinks planted
in the kernel's folders do not make the root side write through them.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import ROOT, sandbox

pytestmark = pytest.mark.skipif(sandbox.bwrap_path() is None,
                                reason="bubblewrap is not installed")


class Kernel:
    """A kernel in a sandbox of its own, started as the grader does."""

    def __init__(self, uid: int | None) -> None:
        from jupyter_core.utils import run_sync
        self.run_sync = run_sync
        self.box = sandbox.Box(uid, None, {"rnn_step_forward"})
        self.km = None
        self.start()

    def start(self) -> None:
        self.box.fresh_ipc()
        km = sandbox.kernel_manager_class()(kernel_name="python3")
        km.policy_file = str(self.box.policy_file)
        km.transport = "ipc"
        km.ip = str(Path(self.box.ipc) / "k")
        self.run_sync(km.start_kernel)(cwd=str(self.box.folder))
        self.kc = km.client()
        self.kc.start_channels()
        self.run_sync(self.kc.wait_for_ready)(timeout=120)
        self.km = km

    def stop(self) -> None:
        if self.km is not None:
            self.kc.stop_channels()
            self.run_sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        self.box.stop()

    def run(self, code: str) -> str:
        out: list[str] = []

        def hook(msg):
            c = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(c["text"])
            elif msg["msg_type"] == "error":
                out.append(f"ERROR {c['ename']}: {c['evalue']}")
        self.run_sync(self.kc.execute_interactive)(
            textwrap.dedent(code), output_hook=hook, timeout=300)
        return "".join(out)

    def json(self, code: str):
        text = self.run(code)
        return json.loads(text.strip().splitlines()[-1])

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.box.close()


def _uid(k: int) -> int | None:
    if not sandbox.can_switch_user():
        return None
    return 62000 + (os.getpid() % 1000) * 4 + k


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """Files a student must not reach: an output folder, another
    student's submission, a victim file for symlink plants."""
    base = tmp_path_factory.mktemp("host")
    os.chmod(base, 0o755)
    out = base / "OUT"
    for rel in ("grades.csv", ".state/abc.json", "feedback/bob/x.html",
                "autograded/bob/x.ipynb"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("secret")
    subs = base / "subs" / "bob"
    subs.mkdir(parents=True)
    (subs / "02_simple_rnn.ipynb").write_text("bob's answers")
    victim = base / "victim.txt"
    victim.write_text("original")
    os.chmod(victim, 0o644)
    return base


@pytest.fixture(scope="module")
def kernels():
    a = Kernel(_uid(0))
    try:
        b = Kernel(_uid(1))
    except BaseException:
        a.close()
        raise
    try:
        yield a, b
    finally:
        a.close()
        b.close()


PROBE = """
import json, os
res = {}
for p in %r:
    r = {}
    try:
        r["list"] = sorted(os.listdir(p))[:20]
    except Exception as e:
        r["list"] = type(e).__name__
    for name in ("read", "write"):
        try:
            if name == "read":
                target = p if os.path.isfile(p) else os.path.join(
                    p, sorted(os.listdir(p))[0])
                with open(target) as fh:
                    r["read"] = fh.read(50)
            else:
                target = p if os.path.isfile(p) else os.path.join(
                    p, "planted-by-a")
                with open(target, "a") as fh:
                    fh.write("x")
                r["write"] = "wrote " + target
        except Exception as e:
            r[name] = type(e).__name__
    res[p] = r
print(json.dumps(res))
"""


def test_nothing_outside_the_whitelist_can_be_reached(kernels, host):
    a, b = kernels
    b.run("open('mine.txt', 'w').write('b secret')\n")
    other = [str(b.box.folder), str(b.box.folder / "mine.txt"),
             str(b.box.ctl), str(host / "OUT"), str(host / "OUT/.state"),
             str(host / "OUT/grades.csv"), str(host / "subs"),
             str(host / "subs/bob/02_simple_rnn.ipynb"),
             str(ROOT / "solutions"), str(ROOT / "tests"),
             str(ROOT / "autograder"), str(ROOT / ".git"),
             "/home", "/root/.bashrc",
             "/etc/shadow", "/var/lib", "/run", "/sys", "/srv", "/opt"]
    # Another checkout of the course on disk (unless this one is there:
    # then the sandbox's own folders that hold the binds stand in it).
    if ROOT != Path("/work/main"):
        other += ["/work/main", "/work/main/solutions"]
    got = a.json(PROBE % (other,))
    for path, r in got.items():
        assert r["list"] in ("FileNotFoundError", "PermissionError"), (
            path, r)
        assert r["read"] in ("FileNotFoundError", "PermissionError",
                             "IndexError"), (path, r)
        assert r["write"] != "wrote", (path, r)
    # Whatever the kernel wrote stayed inside its sandbox.
    for path in other:
        assert not (Path(path) / "planted-by-a").exists()
    assert (b.box.folder / "mine.txt").read_text() == "b secret"
    assert (host / "OUT/grades.csv").read_text() == "secret"


def test_the_view_is_exactly_the_whitelist(kernels):
    """Every file the kernel can find, walking from /, is in the Python
    environment, the system folders, helpers or its own sandbox."""
    a, _ = kernels
    found = a.json("""
        import json, os
        skip = ("/proc", "/dev", "/usr", "/sys")
        seen = []
        for top, dirs, files in os.walk("/"):
            if top.startswith(skip):
                dirs[:] = []
                continue
            seen += [os.path.join(top, f) for f in files]
        print(json.dumps(seen))
        """)
    allowed = (tuple(sandbox.needed_paths()) + sandbox.SYSTEM + (
        str(ROOT / "helpers"), str(a.box.base), "/etc/", "/tmp/",
        "/var/tmp/"))
    outside = [f for f in found if not f.startswith(allowed)]
    assert outside == []
    etc = {f for f in found if f.startswith("/etc/")}
    assert all(f.startswith(sandbox.ETC) for f in etc), etc
    assert not any(f.startswith(str(ROOT / "solutions")) or
                   f.startswith(str(ROOT / "tests")) for f in found)
    listing = a.json("""
        import json, os
        print(json.dumps({p: sorted(os.listdir(p)) for p in
              ("/", "/work", %r, "/tmp", "/root") if os.path.isdir(p)}))
        """ % str(ROOT))
    assert set(listing[str(ROOT)]) <= {".venv", "helpers"}
    # The sandbox's own folder, and the course's top folder when the
    # course itself lies under /tmp (its .venv and helpers are bound).
    under_tmp = ROOT.parts[1:2] == ("tmp",) and len(ROOT.parts) > 2
    mine = {a.box.base.name} | ({ROOT.parts[2]} if under_tmp else set())
    assert set(listing["/tmp"]) <= mine, listing["/tmp"]
    assert "home" not in listing["/"]


def test_the_kernel_runs_as_its_own_user_and_sees_no_other_process(
        kernels):
    a, b = kernels
    got = a.json("""
        import json, os
        cmds = []
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    cmds.append(open(f'/proc/{pid}/cmdline').read())
                except OSError:
                    pass
        print(json.dumps({"uid": os.getuid(), "n": len(cmds),
                          "cmds": cmds}))
        """)
    if sandbox.can_switch_user():
        assert got["uid"] == _uid(0)
    assert got["n"] <= 4, got["cmds"]
    assert not any("pytest" in c for c in got["cmds"])
    assert not any(str(b.box.ipc) in c for c in got["cmds"])


def test_tmp_var_tmp_and_shm_are_private(kernels):
    a, b = kernels
    a.run("""
        for d in ('/tmp', '/var/tmp', '/dev/shm'):
            open(d + '/left-by-a', 'w').write('hello b')
        """)
    seen = b.json("""
        import json, os
        print(json.dumps({d: os.listdir(d) for d in
                          ('/tmp', '/var/tmp', '/dev/shm')}))
        """)
    for d, names in seen.items():
        assert "left-by-a" not in names, d
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(d + "/left-by-a")


LISTENING = """
import json
ports = []
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(f).read().splitlines()[1:]
    except OSError:
        continue
    ports += [int(r.split()[1].split(":")[1], 16) for r in rows
              if r.split()[3] == "0A"]
print(json.dumps(sorted(set(ports))))
"""


def test_no_socket_connects_anywhere(kernels, tmp_path):
    """Not the host's loopback, not the other kernel's TCP ports (its
    kernel's own output pipe listens on loopback in its own network
    namespace) or its Unix sockets, not an abstract socket, not the
    outside world. The only ports open are the kernel's own."""
    a, b = kernels
    own = a.json(LISTENING)
    b_ports = b.json(LISTENING)
    assert b_ports, "kernel B listens on its own loopback"
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    port = tcp.getsockname()[1]
    abstract = socket.socket(socket.AF_UNIX)
    name = f"\0rnn-course-test-{os.getpid()}"
    abstract.bind(name)
    abstract.listen(8)
    b_sockets = sorted(str(p) for p in Path(b.box.ipc).iterdir())
    assert b_sockets, "kernel B has ipc sockets"
    try:
        got = a.json("""
            import json, socket
            res = {}
            def tcp(host, port):
                s = socket.socket()
                s.settimeout(3)
                try:
                    r = s.connect_ex((host, port))
                    # A TCP socket may connect to itself when its own
                    # port is the one it calls: that reaches nobody.
                    if r == 0 and s.getsockname() == s.getpeername():
                        return "self"
                    return r
                except OSError as e:
                    return type(e).__name__
                finally:
                    s.close()
            res["host_tcp"] = tcp("127.0.0.1", %d)
            for p in %r:
                if p not in %r:
                    res[f"b_port_{p}"] = tcp("127.0.0.1", p)
            res["external"] = tcp("1.1.1.1", 53)
            res["dns"] = tcp("8.8.8.8", 53)
            for path in %r + [%r]:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    res[path] = "connected"
                except OSError as e:
                    res[path] = type(e).__name__
            open_ports = [p for p in range(1, 65536)
                          if tcp("127.0.0.1", p) == 0]
            res["loopback_open"] = open_ports
            print(json.dumps(res))
            """ % (port, b_ports, own, b_sockets, name))
    finally:
        tcp.close()
        abstract.close()
    assert set(got.pop("loopback_open")) <= set(own)
    assert any(k.startswith("b_port_") for k in got) or set(b_ports) <= \
        set(own)
    for what, r in got.items():
        assert r != 0 and r != "connected", (what, r)


def test_planted_symlinks_are_not_followed_by_the_root_side(kernels, host):
    """The kernel plants symlinks under every name the root side uses, in
    its working and socket folders; the kernel is restarted (a new
    connection file, status, log and socket folder are made) and the
    victim outside is untouched."""
    a, _ = kernels
    victim = host / "victim.txt"
    before = (victim.read_text(), victim.stat().st_uid,
              victim.stat().st_mode)
    names = [".kernel.json", ".kernel.log", ".sandbox.json",
             ".grader.sock", "kernel.log", "status.json", "policy.json",
             "k-1", "k-2", "k-3", "k-4", "k-5"]
    a.run("""
        import os
        for folder in (os.getcwd(), %r):
            for n in %r:
                p = os.path.join(folder, n)
                try:
                    if os.path.isdir(p) and not os.path.islink(p):
                        import shutil; shutil.rmtree(p)
                    elif os.path.lexists(p):
                        os.unlink(p)
                    os.symlink(%r, p)
                except OSError as e:
                    print("could not plant", p, e)
        """ % (a.box.ipc, names, str(victim)))
    a.stop()
    a.start()
    assert a.run("print(6 * 7)\n").strip() == "42"
    after = (victim.read_text(), victim.stat().st_uid,
             victim.stat().st_mode)
    assert after == before


def test_the_lessons_graded_reference_is_a_stub_in_the_kernel(kernels):
    a, _ = kernels
    text = a.run("""
        import numpy as np
        import helpers.reference.rnn as r
        from helpers.reference import layers
        p = r.init_rnn_params(2, 3, np.random.default_rng(0))
        print("init works", p["W_hh"].shape,
              layers.softmax(np.ones((1, 3))).shape)
        try:
            r.rnn_step_forward(np.zeros((1, 2)), np.zeros((1, 3)), p)
        except Exception as e:
            print(type(e).__name__, e)
        import inspect
        src = inspect.getsource(r.rnn_step_forward)
        print("raise ReferenceNotAvailable" in src, "np.tanh(" in src)
        """)
    assert "init works (3, 3) (1, 3)" in text, text
    assert "ReferenceNotAvailable rnn_step_forward is the course's " \
        "reference implementation" in text
    # Its source text is the stub's, not the original.
    assert text.strip().endswith("True False")
