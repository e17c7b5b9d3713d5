"""nbgrader's Execute step, hardened for untrusted notebooks.

:class:`SandboxedExecute` replaces ``Execute`` in nbgrader's autograde
pipeline (see :func:`autograder.nbgrader_course.make_config`). It

* starts the kernel in a sandbox (:mod:`autograder.sandbox`);
* stops a cell that runs too long; when the kernel does not answer an
  interrupt, or dies (``os._exit``, a crash, out of memory), the cell is
  marked with the reason, a fresh kernel re-runs the cells that worked
  and the notebook goes on from the next cell;
* keeps at most ``max_output_chars`` of output per cell;
* does not run the lesson's demonstration cells that no later cell
  needs (:mod:`autograder.demos`); should a cell still raise
  ``NameError`` for a name one of them binds, it runs the whole notebook
  again with every cell, in a fresh kernel;
* re-runs every graded test cell in the grader's process against the
  student's functions (:mod:`autograder.verify`) and writes that result
  into the cell, so nbgrader's SaveAutoGrades scores the re-check, not
  what the kernel said.

Notes for the instructor go into the notebook metadata under
``rnn_course_grader``.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import os
import re
import socket
from pathlib import Path
from queue import Empty
from time import monotonic

from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, List, Unicode

from . import demos, reference_view, rpc, sandbox
from .cells import grade_id, is_graded, is_solution
from .verify import read_lesson, verify

META_KEY = "rnn_course_grader"
DEMO_NOT_RUN = ("[a demonstration of the lesson: the grader did not run "
                "it, since nothing graded depends on it]\n")


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def stream(text: str, name: str = "stdout") -> NotebookNode:
    return NotebookNode(output_type="stream", name=name, text=text)


def _undefined_name(outputs: list) -> str | None:
    """The name of a ``NameError`` among a cell's outputs, if any."""
    for out in outputs:
        if out.get("output_type") == "error" and \
                out.get("ename") == "NameError":
            found = re.match(r"name '([^']+)' is not defined",
                             out.get("evalue", ""))
            if found:
                return found.group(1)
    return None


class _KernelGone(Exception):
    """The kernel died or stopped answering."""


class _TimedOut(Exception):
    """A cell was interrupted after its time limit; the kernel lives."""


# Run in the kernel just before each graded test cell: remember the
# student's functions as that test sees them. The grader's re-check of
# the test then calls these, so a name rebound later in the notebook (an
# import in another exercise's cell, say) does not change which function
# an exercise is graded on. One statement, no temporary names.
SNAPSHOT = ("globals().setdefault({scopes!r}, {{}})[{gid!r}] = "
            "(lambda g: {{n: g[n] for n in {names!r} if n in g}})"
            "(globals())\n")


class SandboxedExecute(Execute):
    """Execute a submission in a sandboxed kernel, then verify it."""

    sandbox_uid = Integer(
        -1, help="user id for the kernel (-1: pick one; only as root)"
    ).tag(config=True)
    memory_limit = Integer(
        4 * 2 ** 30, help="address-space limit of the kernel in bytes"
    ).tag(config=True)
    cpu_limit = Integer(3600, help="CPU seconds per kernel").tag(config=True)
    max_output_chars = Integer(
        1_000_000, help="characters of output kept per cell"
    ).tag(config=True)
    max_restarts = Integer(
        4, help="kernel restarts allowed per notebook").tag(config=True)
    interrupt_grace = Float(
        5.0, help="seconds a kernel has to answer after an interrupt"
    ).tag(config=True)
    verify_outside = Bool(
        True, help="re-check graded cells in the grader's process"
    ).tag(config=True)
    hide_paths = List(
        Unicode(), help="unused: the sandbox shows the kernel only a "
        "whitelist of folders, so nothing needs hiding"
    ).tag(config=True)
    cpu_share = Float(
        1.0, help="CPUs a kernel may use at most (its cgroup's quota)"
    ).tag(config=True)
    time_budget = Float(
        0.0, help="seconds of cell time per notebook; 0: the budget the "
        "lesson's source notebook carries (a multiple of the reference "
        "solution's own time, see autograder.grade), or none"
    ).tag(config=True)
    sandbox_base = Unicode(
        "", help="folder for the kernels' working folders").tag(config=True)

    # ------------------------------------------------------------ setup
    def _uid(self) -> int | None:
        if not sandbox.can_switch_user():
            return None
        if self.sandbox_uid >= 0:
            return self.sandbox_uid
        return sandbox.UID_BASE + 1000 + os.getpid() % 20000

    def create_kernel_manager(self):
        self.kernel_manager_class = sandbox.kernel_manager_class()
        km = super().create_kernel_manager()
        km.policy_file = str(self._box.policy_file)
        # Unix sockets in a folder only this kernel's sandbox shares.
        km.transport = "ipc"
        km.ip = str(Path(self._box.ipc) / "k")
        return km

    def _start(self) -> None:
        self._box.fresh_ipc()
        self.km = self.create_kernel_manager()
        self.start_new_kernel(cwd=self._folder)
        self.start_new_kernel_client()
        info = self.wait_for_reply(self.kc.kernel_info())
        if info:
            self.nb.metadata["language_info"] = \
                info["content"]["language_info"]

    def _stop(self) -> None:
        if self.km is not None:
            try:
                self._cleanup_kernel()
            except Exception:                   # noqa: BLE001
                pass
        self.km = None
        self.kc = None
        self._box.stop()

    # ------------------------------------------------------------ run
    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.shutdown_kernel = "immediate"
        self._notes: list[str] = []
        self._restarts = 0
        sandbox.ensure_bwrap()
        self._source = self._source_notebook()
        self._names = sorted(read_lesson(self._source).all_student_names
                             ) if self._source else []
        hidden = reference_view.hidden_functions(self._source) \
            if self._source else set()
        where = Path(self.resources.get("metadata", {}).get("path") or ".")
        self._box = sandbox.Box(
            self._uid(), where, hidden,
            Path(self.sandbox_base) if self.sandbox_base else None,
            self.cpu_share, memory=self.memory_limit,
            cpu_seconds=self.cpu_limit)
        self._folder, self._ctl = str(self._box.folder), str(self._box.ctl)
        try:
            self._start()
            self._sandbox_status(sorted(hidden))
            self._run_cells()
            if self.verify_outside:
                self._verify()
        finally:
            self._stop()
            self._box.close()
        meta = self.nb.metadata.setdefault(META_KEY, {})
        meta["notes"] = self._notes
        return self.nb, self.resources

    def _sandbox_status(self, hidden: list[str]) -> None:
        status = self._box.status()
        status["reference_hidden"] = hidden
        self.nb.metadata.setdefault(META_KEY, {})["sandbox"] = status

    def _budget(self) -> float:
        """Seconds of cell time this notebook may use (0: no budget)."""
        if self.time_budget > 0:
            return float(self.time_budget)
        meta = (self._source or {}).get("metadata", {}).get(META_KEY, {})
        return float(meta.get("time_budget") or 0)

    def _run_cells(self) -> None:
        codes = demos.codes(self.nb)
        skip = demos.skipped(codes, demos.demo_sources(self._source or {}))
        missed = self._run_pass(skip, codes)
        if missed is None:
            return
        # A cell looked up a name that only a left-out demo binds, in a
        # way its code does not show: run everything again, every demo
        # included, in a fresh kernel.
        index, name = missed
        self._notes.append(
            f"cell {index} needed the name {name!r}, which a demonstration "
            f"cell the grader had left out binds; the grader ran the "
            f"whole notebook again with every cell")
        self._good = []             # a fresh kernel, nothing replayed
        if self._restart():
            self._run_pass(set(), codes)
        else:
            self._skip_rest(0, "not run: the kernel had to be restarted "
                               "too many times")

    def _run_pass(self, skip: set[int], codes: list[str | None]
                  ) -> tuple[int, str] | None:
        """Run the code cells but ``skip`` (left-out demos) in order.
        Stop early and return (cell index, name) when a cell raised
        ``NameError`` for a name a skipped demo before it binds."""
        self._good: list[int] = []
        cells = self.nb.cells
        budget = self._budget()
        self.nb.metadata.setdefault(META_KEY, {})["demo_cells_not_run"] = \
            sorted(skip)
        left_out: set[str] = set()
        start = monotonic()
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            if index in skip:
                cell.outputs = [stream(DEMO_NOT_RUN)]
                left_out |= demos.cell_names(codes[index]).binds or set()
                continue
            used = monotonic() - start
            if budget and used > budget:
                self._skip_rest(index, (
                    f"not run: the notebook used up its time budget of "
                    f"{budget:.0f} s (a multiple of the reference "
                    f"solution's own time)"))
                self._notes.append(
                    f"time budget of {budget:.0f} s used up after "
                    f"{used:.0f} s; cells from cell {index} on were "
                    f"not run")
                return None
            try:
                self._run_one(cell, index)
                self._good.append(index)
            except _TimedOut:
                continue
            except _KernelGone as gone:
                cell.outputs.append(error_output("KernelStopped",
                                                 str(gone)))
                self._notes.append(f"cell {index}: {gone}")
                if not self._restart():
                    self._skip_rest(index + 1, (
                        "not run: the kernel had to be restarted too "
                        "many times"))
                    return None
            else:
                name = _undefined_name(cell.outputs)
                if name in left_out:
                    return index, name
        return None

    def _skip_rest(self, first: int, why: str) -> None:
        for later in self.nb.cells[first:]:
            if later.cell_type == "code":
                later.outputs = [error_output("NotRun", why)]

    def _snapshot(self, cell, index: int) -> None:
        """Record the student's functions before a graded test cell."""
        if not self._names or not is_graded(cell) or is_solution(cell):
            return
        shadow = NotebookNode(cell_type="code", metadata={}, outputs=[],
                              execution_count=None, source=SNAPSHOT.format(
                                  scopes=rpc.SCOPES, gid=grade_id(cell),
                                  names=self._names))
        self.execute_cell(shadow, index, store_history=False)

    def _run_one(self, cell, index: int) -> None:
        self._out_chars = 0
        self._dropped = 0
        try:
            self._snapshot(cell, index)
            self.preprocess_cell(cell, self.resources, index)
        except DeadKernelError:
            raise _KernelGone(
                "the kernel stopped while running this cell (it exited, "
                "crashed or ran out of memory); the grader restarted it "
                "and went on with the next cell") from None
        except Exception as exc:                # noqa: BLE001
            # A timeout waiting for output, a lost message, ...: this
            # cell failed, never the whole notebook.
            cell.outputs.append(error_output(
                "CellTimeoutError", f"this cell did not finish normally "
                f"({type(exc).__name__}: {exc})"))
            self._notes.append(f"cell {index}: did not finish normally "
                               f"({type(exc).__name__})")
            if not self._responsive(self.interrupt_grace):
                raise _KernelGone(
                    "the kernel did not answer after this cell; the "
                    "grader restarted it and went on with the next "
                    "cell") from None
            raise _TimedOut() from None
        finally:
            if self._dropped:
                cell.outputs.append(stream(
                    f"\n[the grader dropped {self._dropped} characters of "
                    f"output from this cell]\n", "stderr"))
                self._notes.append(
                    f"cell {index}: printed too much; "
                    f"{self._dropped} characters of output were dropped")
        if any(o.get("ename") == "MemoryError" for o in cell.outputs):
            self._notes.append(
                f"cell {index}: ran out of memory (the limit is "
                f"{self.memory_limit / 2 ** 30:.1f} GiB)")
        timed_out = any(o.get("output_type") == "error" and o.get("ename")
                        == "CellTimeoutError" for o in cell.outputs)
        if timed_out:
            self._notes.append(f"cell {index}: stopped after "
                               f"{self.timeout} s")
            for o in cell.outputs:
                if o.get("ename") == "CellTimeoutError":
                    o["evalue"] = (f"this cell ran longer than "
                                   f"{self.timeout} s and was stopped")
                    o["traceback"] = [f"CellTimeoutError: {o['evalue']}"]
            if not self._responsive(self.interrupt_grace):
                raise _KernelGone(
                    f"this cell ran longer than {self.timeout} s and did "
                    f"not stop when interrupted; the grader restarted the "
                    f"kernel and went on with the next cell")
            raise _TimedOut()

    def _restart(self) -> bool:
        """Fresh kernel with the working cells re-run; False if out of
        restarts."""
        while True:
            self._restarts += 1
            if self._restarts > self.max_restarts:
                self._stop()
                return False
            self._stop()
            try:
                self._start()
            except Exception as exc:            # noqa: BLE001
                self._notes.append(f"a kernel did not start: "
                                   f"{type(exc).__name__}")
                continue
            try:
                for j in list(self._good):
                    shadow = copy.deepcopy(self.nb.cells[j])
                    self._out_chars = 0
                    self._dropped = 0
                    try:
                        self._snapshot(shadow, j)
                        self.execute_cell(shadow, j, store_history=False)
                    except DeadKernelError:
                        self._good.remove(j)
                        raise _KernelGone("replay") from None
                return True
            except _KernelGone:
                continue

    def _responsive(self, grace: float) -> bool:
        async def probe() -> bool:
            msg_id = self.kc.kernel_info()
            deadline = monotonic() + grace
            while True:
                left = deadline - monotonic()
                if left <= 0:
                    return False
                try:
                    msg = await self.kc.shell_channel.get_msg(timeout=left)
                except (Empty, asyncio.TimeoutError):
                    return False
                if msg["parent_header"].get("msg_id") == msg_id:
                    return True
        try:
            return bool(run_sync(probe)())
        except Exception:                       # noqa: BLE001
            return False

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(
            len(v) if isinstance(v, str) else 100
            for v in (content.get("data") or {}).values())
        if msg["msg_type"] != "error":
            if self._out_chars + size > self.max_output_chars:
                self._dropped += size
                return None
            self._out_chars += size
        return super().output(outs, msg, display_id, cell_index)

    # ------------------------------------------------------------ verify
    def _source_notebook(self) -> dict | None:
        info = self.resources.get("nbgrader", {})
        try:
            cd = CourseDirectory(config=self.config)
            path = Path(cd.format_path(cd.source_directory, ".",
                                       info["assignment"])) / (
                info["notebook"] + ".ipynb")
            return json.loads(path.read_text(encoding="utf-8"))
        except (KeyError, OSError, ValueError):
            return None

    def _connect(self) -> rpc.Endpoint:
        if self._endpoint_used:
            if not self._restart():
                raise RuntimeError("the kernel had to be restarted too "
                                   "many times")
        self._endpoint_used = True
        # In the control folder: only the grader can write there, so no
        # path in it can have been planted; the kernel sees it read-only.
        self._sockets = getattr(self, "_sockets", 0) + 1
        path = os.path.join(self._ctl, f"grader-{self._sockets}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(1)
        listener.settimeout(max(15.0, float(self.startup_timeout)))
        src = inspect.getsource(rpc)
        code = ("def _grader_serve():\n"
                "    ns = {'__name__': 'grader_rpc'}\n"
                f"    exec(compile({src!r}, '<grader>', 'exec'), ns)\n"
                f"    ns['serve']({path!r}, globals())\n"
                "_grader_serve()\n")
        self.kc.execute(code, store_history=False, allow_stdin=False)
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            raise RuntimeError("the kernel did not answer the grader "
                               "(was its environment changed?)") from None
        finally:
            listener.close()
        return rpc.Endpoint(conn, timeout=float(self.timeout or 120))

    def _verify(self) -> None:
        graded = [c for c in self.nb.cells
                  if c.cell_type == "code" and is_graded(c)]
        if not graded:
            return
        source = self._source
        if source is None:
            self._notes.append("no source notebook: graded cells were not "
                               "re-checked outside the kernel")
            return
        self._endpoint_used = False
        if self.kc is None or not self._responsive(self.interrupt_grace):
            self._endpoint_used = True
        verdicts = verify(self.nb, source, self._connect,
                          float(self.timeout or 120))
        for cell in graded:
            gid = grade_id(cell)
            v = verdicts.get(gid)
            if v is None:
                continue
            failed_inside = any(o.get("output_type") == "error"
                                for o in cell.outputs)
            new = [stream(v.stdout)] if v.stdout else []
            if not v.passed:
                evalue = v.evalue
                if not failed_inside:
                    evalue += (" [This test passed inside your notebook "
                               "but failed when the grader re-ran it "
                               "outside your notebook.]")
                    self._notes.append(f"{gid}: passed in the kernel, "
                                       f"failed the re-check")
                new.append(error_output(v.ename, evalue))
            cell.outputs = new

