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

Before that, the student's cells are scanned for use of the course's
reference implementation (``helpers``): an exercise that imports it, or
loads code dynamically, scores 0 with that reason.
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

from . import ROOT
from .cells import nbgrader
from .rpc import ChannelClosed, Endpoint, Remote, RemoteError, RemoteTimeout

MAX_STDOUT = 20_000
DYNAMIC = {"__import__", "exec", "eval", "compile", "importlib", "runpy"}


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


# ------------------------------------------------------- reference access

def reference_names(names: set[str], package: Path = ROOT / "helpers"
                    ) -> dict[str, dict[str, str]]:
    """``{module: {attribute: exercise}}`` for the course's reference.

    An attribute of a ``helpers`` module refers to exercise ``n`` when the
    module defines ``n`` or imports it from another ``helpers`` module
    under any alias (``from helpers.reference.rnn import rnn_forward as ref``).
    """
    out: dict[str, dict[str, str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        module = ".".join(rel.parts)
        if module.endswith(".__init__"):
            module = module[:-len(".__init__")]
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        found = {}
        checker = module.startswith("helpers.checks")
        for node in tree.body:
            # A checker named like the exercise is not a reference.
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and \
                    node.name in names and not checker:
                found[node.name] = node.name
            elif isinstance(node, ast.ImportFrom) and (
                    node.module or "").startswith("helpers"):
                for a in node.names:
                    if a.name in names:
                        found[a.asname or a.name] = a.name
        if found:
            out[module] = found
    return out


def scan_student_cells(nb: dict, lesson: Lesson) -> dict[str, str]:
    """``{exercise name: reason}`` for reference access in student cells.

    A use of the course's reference for exercise ``n`` counts against
    ``n`` only where ``n`` itself could be built on it: in the solution
    cell of ``n``, or in a cell that is no exercise's solution. Another
    exercise's solution cell may use it (lesson 3's truncated BPTT may
    call an ``rnn_backward``): that exercise is not ``n``, and ``n`` is
    graded on the function its own test saw. The reason says what was
    found and in which cell.
    """
    names = lesson.all_student_names
    refs = reference_names(names)
    flagged: dict[str, str] = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", ""))
        meta = nbgrader(cell)
        if meta.get("locked") or src.strip() in lesson.sources:
            continue
        if meta.get("solution"):
            gid = meta.get("grade_id", "")
            owner = lesson.student_names.get(gid, names)
            where = f"in the solution cell {gid!r} (cell {number})"
        else:
            owner, where = names, f"in cell {number}"

        def flag(ex: str, reason: str) -> None:
            if ex in owner:
                flagged.setdefault(ex, f"{reason} {where}")

        try:
            tree = ast.parse(python_source(src))
        except SyntaxError:
            continue
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    if a.name in refs.get(mod, {}):
                        flag(refs[mod][a.name],
                             f"imports {a.name} from the course's {mod}")
                    elif a.name == "*" and mod in refs:
                        for ex in refs[mod].values():
                            flag(ex, f"imports * from the course's {mod}")
                    if sub in refs:
                        aliases[a.asname or a.name] = sub
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in refs or a.name.split(".")[0] == "helpers":
                        aliases[a.asname or a.name] = a.name
            elif isinstance(node, ast.Attribute):
                dotted = _dotted(node)
                if dotted:
                    head, _, attr = dotted.rpartition(".")
                    mod = aliases.get(head, head)
                    if attr in refs.get(mod, {}):
                        flag(refs[mod][attr],
                             f"uses {mod}.{attr}, the course's reference, "
                             f"instead of your own code,")
                if dotted in ("sys.modules",):
                    for ex in owner:
                        flag(ex, "reads sys.modules")
            elif isinstance(node, ast.Name) and node.id in DYNAMIC:
                for ex in owner:
                    flag(ex, f"loads code dynamically ({node.id}), which "
                             f"solution cells may not do,")
    return flagged


def _dotted(node: ast.Attribute) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


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

    def _from_reference(self, names: set[str]) -> str:
        helpers_dir = str(ROOT / "helpers")
        for name in sorted(names & self.lesson.all_student_names):
            info = self.origin.get(name, {})
            if info.get("module", "").startswith("helpers") or \
                    info.get("file", "").startswith(helpers_dir):
                return (f"{name} is the course's reference implementation "
                        f"({info.get('module', 'helpers')}), not your own "
                        f"code")
        return ""

    def run_cell(self, grade_id: str, flagged: dict[str, str]) -> Verdict:
        src = self.lesson.tests[grade_id]
        names = used_names(src)
        hit = sorted(n for n in names if n in flagged)
        if hit:
            return Verdict(False, "", "ReferenceUsed",
                           f"{hit[0]}: your notebook {flagged[hit[0]]}; "
                           f"this exercise scores 0.")
        out = io.StringIO()
        try:
            self._fetch(names, grade_id)
            why = self._from_reference(names)
            if why:
                return Verdict(False, "", "ReferenceUsed",
                               why + "; this exercise scores 0.")
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
    flagged = scan_student_cells(nb, lesson)
    verifier = Verifier(lesson, connect, timeout)
    verdicts = {}
    for grade_id in lesson.tests:
        try:
            verdicts[grade_id] = verifier.run_cell(grade_id, flagged)
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
