"""Re-run the graded test cells in the grader's own process.

Inside the student's kernel a submission can redefine anything:
``np.allclose``, ``np.testing``, the course's checkers, even the way
errors are shown. So the grade is not taken from the kernel. After the
notebook has run, every graded test cell (the instructor's version,
hidden tests included) runs again here, in a namespace built from

* the instructor's own imports (from the lesson's source notebook), run
  in this process, so ``helpers.checks`` and numpy are the real ones;
* the names the instructor's solution cells define (the student's
  functions): each is a :class:`autograder.rpc.Remote` that runs the
  student's function in the kernel and brings back data only;
* any other name the cell uses, copied from the kernel as data.

Reference use is judged by what runs, not by what the cells say: in
the kernel the course's reference implementations of the lesson's own
graded functions are stubs (:mod:`autograder.reference_view`), so a
student's function that relies on one fails its tests like any other
bug, and a scratch cell that imports the reference costs nothing.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .cells import nbgrader
from .rpc import ChannelClosed, Endpoint, Remote, RemoteError, RemoteTimeout

MAX_STDOUT = 20_000


@dataclass
class Verdict:
    passed: bool
    stdout: str = ""
    ename: str = ""
    evalue: str = ""


@dataclass
class Lesson:
    """What the verifier needs from the instructor's source notebook."""

    imports: list[str] = field(default_factory=list)
    student_names: dict[str, set[str]] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)

    @property
    def all_student_names(self) -> set[str]:
        return set().union(*self.student_names.values()) \
            if self.student_names else set()


def python_source(src: str) -> str:
    """Cell source without IPython magics and shell escapes."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!"))
                     else line for line in src.splitlines())


def bound_names(src: str) -> set[str]:
    """Names a cell binds at its top level."""
    try:
        tree = ast.parse(python_source(src))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) \
                else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return names


def used_names(src: str) -> set[str]:
    """Every name a cell reads, nested scopes included."""
    try:
        tree = ast.parse(python_source(src))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def read_lesson(source_nb: dict) -> Lesson:
    """Collect imports, student names and test cells of a lesson."""
    lesson = Lesson()
    for cell in source_nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", ""))
        meta = nbgrader(cell)
        lesson.sources.add(src.strip())
        if meta.get("solution"):
            lesson.student_names[meta.get("grade_id", "")] = bound_names(src)
            continue
        if meta.get("grade"):
            lesson.tests[meta["grade_id"]] = src
        try:
            tree = ast.parse(python_source(src))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lesson.imports.append(ast.unparse(node))
    return lesson


# ------------------------------------------------------------ the re-run

class Verifier:
    """Runs the instructor's test cells against the student's kernel."""

    def __init__(self, lesson: Lesson, connect, timeout: float) -> None:
        self.lesson = lesson
        self.connect = connect      # () -> Endpoint (restarts if needed)
        self.timeout = timeout
        self.ep: Endpoint | None = None
        self.ns: dict = {"__name__": "__grader__",
                         "__builtins__": builtins}
        self.fetched: set[str] = set()
        self.origin: dict[str, dict] = {}
        for stmt in lesson.imports:
            try:
                exec(compile(stmt, "<lesson imports>", "exec"), self.ns)
            except Exception:                   # noqa: BLE001
                pass
        self.trusted = set(self.ns)

    def _endpoint(self) -> Endpoint:
        if self.ep is None or self.ep.closed:
            self.ep = self.connect()
            self.fetched.clear()
            for k in list(self.ns):
                if k not in self.trusted and isinstance(self.ns[k], Remote):
                    del self.ns[k]
        return self.ep

    def _fetch(self, names: set[str], scope: str) -> None:
        """Bring ``names`` over; the student's functions as the graded
        test ``scope`` saw them in the notebook (fetched anew per test)."""
        ep = self._endpoint()
        student = self.lesson.all_student_names
        self.fetched -= student
        for name in sorted(names):
            if name in self.fetched or (name in self.trusted and
                                        name not in student):
                continue
            if name not in student and hasattr(builtins, name):
                continue
            self.fetched.add(name)
            try:
                value = ep.lookup(name, scope if name in student else None)
            except NameError:
                self.ns.pop(name, None)
                continue
            self.ns[name] = value
            if isinstance(value, Remote):
                self.origin[name] = dict(value._info)

    def run_cell(self, grade_id: str) -> Verdict:
        src = self.lesson.tests[grade_id]
        names = used_names(src)
        out = io.StringIO()
        try:
            self._fetch(names, grade_id)
            assert self.ep is not None
            self.ep.deadline = time.monotonic() + self.timeout
            with contextlib.redirect_stdout(_Capped(out)):
                exec(compile(python_source(src), f"<test {grade_id}>",
                             "exec"), self.ns)
        except RemoteTimeout:
            return Verdict(False, out.getvalue(), "CellTimeoutError",
                           f"your code did not finish within "
                           f"{self.timeout:g} s when the grader re-ran "
                           f"this test")
        except ChannelClosed:
            return Verdict(False, out.getvalue(), "DeadKernelError",
                           "the notebook's kernel stopped while the grader "
                           "re-ran this test (exit, crash or out of memory)")
        except AssertionError as exc:
            return Verdict(False, out.getvalue(), "AssertionError",
                           str(exc))
        except Exception as exc:                # noqa: BLE001
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f" (line {f.lineno} of the test)" for f in
                          reversed(tb) if f.filename.startswith("<test")),
                         "")
            return Verdict(False, out.getvalue(), type(exc).__name__,
                           f"{exc}{where}")
        finally:
            if self.ep is not None:
                self.ep.deadline = None
        return Verdict(True, out.getvalue())


class _Capped(io.TextIOBase):
    def __init__(self, inner: io.StringIO) -> None:
        self.inner = inner
        self.size = 0

    def write(self, s: str) -> int:
        if self.size < MAX_STDOUT:
            self.inner.write(s[:MAX_STDOUT - self.size])
        self.size += len(s)
        return len(s)


def verify(nb: dict, source_nb: dict, connect, timeout: float
           ) -> dict[str, Verdict]:
    """Verdicts for every graded test cell of ``nb``."""
    lesson = read_lesson(source_nb)
    verifier = Verifier(lesson, connect, timeout)
    verdicts = {}
    for grade_id in lesson.tests:
        try:
            verdicts[grade_id] = verifier.run_cell(grade_id)
        except (RemoteError, OSError, RuntimeError) as exc:
            verdicts[grade_id] = Verdict(
                False, "", "GraderError",
                f"the grader could not reach the functions in your "
                f"notebook: {exc}")
    if verifier.ep is not None:
        verifier.ep.close()
    return verdicts


def load_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
