"""Submissions made from a lesson's own exercises, for testing the grader.

Everything here starts from a lesson's solution notebook and its released
student notebook, so the corpus grows with the course:

* :func:`solve` fills in chosen exercises, as a student who solved just
  those would;
* :func:`synthetic_class` makes a class of correct, partial, blank and
  broken submissions, each with the score it must get;
* :func:`hostile` makes the submissions of a student who attacks the
  grader (endless cells, kernel crashes, tampered tests and checkers,
  the course's reference imported, ...).
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field

import nbformat

from autograder import ROOT
from autograder.cells import grade_id, is_graded, is_solution, points
from autograder.cells import source as _source
from autograder.verify import bound_names, used_names


def solution_ids(nb: dict) -> list[str]:
    return [grade_id(c) for c in nb["cells"] if is_solution(c)]


def solve(student: dict, solution: dict, grade_ids: set[str]) -> dict:
    """A copy of ``student`` with the solution cells ``grade_ids`` filled
    in from ``solution``."""
    answers = {grade_id(c): c["source"] for c in solution["cells"]
               if is_solution(c)}
    out = copy.deepcopy(student)
    for cell in out["cells"]:
        gid = grade_id(cell)
        if gid in grade_ids:
            cell["source"] = answers[gid]
    return out


def needs(solution: dict) -> dict[str, set[str]]:
    """For each test cell, the solution cells it needs (transitively)."""
    defines = {grade_id(c): bound_names(_source(c))
               for c in solution["cells"] if is_solution(c)}
    uses = {grade_id(c): used_names(_source(c))
            for c in solution["cells"] if is_solution(c)}
    direct = {}
    for sid, names in uses.items():
        direct[sid] = {o for o, d in defines.items() if o != sid and
                       d & names}
    out = {}
    for c in solution["cells"]:
        if not is_graded(c):
            continue
        todo = [s for s, d in defines.items() if d & used_names(_source(c))]
        got: set[str] = set()
        while todo:
            s = todo.pop()
            if s not in got:
                got.add(s)
                todo.extend(direct[s])
        out[grade_id(c)] = got
    return out


def expected_scores(solution: dict, solved: set[str]) -> dict[str, float]:
    """Points each test cell earns when exactly ``solved`` are right."""
    pts = points(solution)
    return {t: (pts[t] if req <= solved else 0.0)
            for t, req in needs(solution).items()}


BREAKAGES = {
    "raises": "raise RuntimeError('this answer crashes')\n",
    "syntax": "def broken(:\n",
    "wrong": None,          # returns a wrong value (see _wrong)
}


def _wrong(source: str) -> str:
    """The solution with each ``return X`` turned into ``return 0 * X``
    when X is a single expression, or None."""
    lines = source.splitlines()
    out, changed = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("return ") and "," not in stripped:
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}return 0 * ({stripped[7:]}) - 1")
            changed = True
        else:
            out.append(line)
    return "\n".join(out) if changed else None


@dataclass
class Synthetic:
    name: str
    kind: str
    data: bytes
    expected: dict[str, float] = field(default_factory=dict)
    failed: bool = False


def synthetic_class(solution: dict, student: dict, n: int, seed: int = 0
                    ) -> list[Synthetic]:
    """``n`` submissions: correct, partial, blank and broken ones."""
    rng = random.Random(seed)
    ids = solution_ids(solution)
    answers = {grade_id(c): _source(c)
               for c in solution["cells"] if is_solution(c)}
    kinds = ["correct", "partial", "blank", "broken", "partial",
             "unreadable"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        name = f"s{i:03d}-{kind}"
        if kind == "correct":
            solved = set(ids)
        elif kind == "partial":
            solved = set(rng.sample(ids, rng.randrange(1, len(ids))))
        elif kind in ("blank", "unreadable"):
            solved = set()
        else:
            solved = set(ids)
        nb = solve(student, solution, solved)
        if kind == "broken":
            victim = rng.choice(ids)
            how = rng.choice(sorted(BREAKAGES))
            text = BREAKAGES[how]
            if how == "wrong":
                text = _wrong(answers[victim]) or BREAKAGES["raises"]
            for cell in nb["cells"]:
                if grade_id(cell) == victim:
                    cell["source"] = (text if how != "wrong" else text)
            solved = solved - {victim}
        if kind == "unreadable":
            data = json.dumps(nb).encode()[:-40]
            out.append(Synthetic(name, kind, data, {
                t: 0.0 for t in points(solution)}, failed=True))
            continue
        out.append(Synthetic(name, kind, json.dumps(nb).encode(),
                             expected_scores(solution, solved)))
    return out


# ------------------------------------------------------------ hostile

def _with_cell_source(nb: dict, gid: str, text: str,
                      where: str = "replace") -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            src = _source(cell)
            cell["source"] = {"replace": text, "before": text + src,
                              "after": src + "\n" + text}[where]
    return nb


def _add_cell(nb: dict, text: str, after: str | None = None) -> dict:
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(text)
    cell.pop("id", None)
    cells = nb["cells"]
    at = len(cells)
    if after:
        at = next(i for i, c in enumerate(cells)
                  if grade_id(c) == after) + 1
    cells.insert(at, json.loads(json.dumps(cell)))
    for c in cells:
        c.pop("id", None)
    nb["nbformat_minor"] = 4
    return nb


def hostile(solution: dict, student: dict, target: str, test: str
            ) -> dict[str, bytes]:
    """Hostile submissions of one lesson.

    ``target`` is a solution cell and ``test`` its test cell; every
    other exercise is solved correctly, so the attack's effect on the
    rest of the notebook shows. Returns ``{name: file contents}``.
    """
    full = solve(student, solution, set(solution_ids(solution)))
    others = set(solution_ids(solution)) - {target}
    blank_target = solve(student, solution, others)
    names = sorted(bound_names(next(
        _source(c) for c in solution["cells"]
        if grade_id(c) == target)))
    fn = names[0]
    nbs: dict[str, dict | bytes] = {}
    nbs["loop_forever"] = _with_cell_source(
        full, target, "while True:\n    pass\n", "before")
    nbs["os_exit"] = _with_cell_source(
        full, target, "import os\nos._exit(1)\n", "before")
    nbs["segfault"] = _with_cell_source(
        full, target, "import ctypes\nctypes.string_at(0)\n", "before")
    # One request far above the limit: it fails at once, whatever the
    # machine's load. (Filling memory 64 MiB at a time, every page
    # written, sometimes ran into the 10 s cell limit first on a busy VM,
    # where first writes to fresh pages are slow.)
    nbs["memory_hog"] = _with_cell_source(
        full, target, "keep = [bytearray(64 * 2 ** 20)]\n"
        "keep.append(bytearray(16 * 2 ** 30))\n", "before")
    nbs["print_50mb"] = _with_cell_source(
        full, target, "print('x' * 50_000_000)\n", "after")
    deleted = copy.deepcopy(full)
    deleted["cells"] = [c for c in deleted["cells"]
                        if grade_id(c) != test]
    nbs["delete_test"] = deleted
    nbs["edit_visible_test"] = _with_cell_source(
        blank_target, test, "pass\n")
    nbs["edit_hidden_test"] = _with_cell_source(
        blank_target, test, "### BEGIN HIDDEN TESTS\npass\n"
        "### END HIDDEN TESTS\n")
    for what, change in (("points", {"points": 100}),
                         ("grade_flag", {"grade": False}),
                         ("grade_id", {"grade_id": test + "_renamed"})):
        nb = copy.deepcopy(blank_target)
        for cell in nb["cells"]:
            if grade_id(cell) == test:
                cell["metadata"]["nbgrader"].update(change)
        nbs[f"metadata_{what}"] = nb
    spoiled = spoil(full)
    nbs["patch_numpy"] = _add_cell(spoiled, (
        "import numpy as np, numpy.testing\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_array_equal = lambda *a, **k: None\n"
        "np.abs = lambda x, *a, **k: np.zeros_like(np.asarray(x, float))\n"
        "np.isfinite = lambda x, *a, **k: np.ones(np.shape(x), bool)\n"
        "np.array_equal = lambda *a, **k: True\n"),
        after=target)
    nbs["patch_checkers"] = _add_cell(spoiled, (
        "import helpers.checks as hc, helpers.checks.rnn as hr\n"
        "for mod in (hc, hr):\n"
        "    for name in dir(mod):\n"
        "        if callable(getattr(mod, name)) and name[0] != '_':\n"
        "            setattr(mod, name, lambda *a, **k: a[1] if\n"
        "                    len(a) > 1 else None)\n"
        "expect_close = expect_true = passed = hc.passed\n"
        "expect_shape = hc.expect_shape\n"
        "call_student = lambda fn, name, *a, **k: fn(*a, **k)\n"
        "check_rnn = hr\n"), after=target)
    nbs["swallow_errors"] = _add_cell(spoiled, (
        "get_ipython().set_custom_exc((BaseException,),\n"
        "                             lambda *a, **k: None)\n"),
        after=target)
    nbs["import_reference"] = _with_cell_source(
        blank_target, target, f"from helpers.reference.rnn import {fn}\n")
    nbs["alias_reference"] = _with_cell_source(
        blank_target, target,
        f"import helpers.reference.rnn as _ref\n\ndef {fn}(*args):\n"
        f"    return _ref.{fn}(*args)\n")
    nbs["dynamic_reference"] = _with_cell_source(
        blank_target, target,
        f"import importlib\n{fn} = getattr(importlib.import_module("
        f"'helpers.reference.' + 'rnn'), '{fn}')\n")
    # The reference reached through an alias made in another cell.
    nbs["alias_other_cell"] = _add_cell(_with_cell_source(
        blank_target, target,
        f"def {fn}(*args):\n    return _R.{fn}(*args)\n"),
        "import helpers.reference.rnn as _R\n", after=None)
    nbs["alias_other_cell"]["cells"].insert(
        0, nbs["alias_other_cell"]["cells"].pop())
    nbs["vars_reference"] = _with_cell_source(
        blank_target, target,
        f"import sys, helpers.reference.rnn\n"
        f"{fn} = vars(sys.modules['helpers.reference.rnn'])['{fn}']\n")
    nbs["pkgutil_reference"] = _with_cell_source(
        blank_target, target,
        "import importlib, pkgutil, helpers\n"
        "def _find(name):\n"
        "    for m in pkgutil.walk_packages(helpers.__path__, 'helpers.'):\n"
        "        if '.checks' in m.name or m.ispkg:\n"
        "            continue\n"
        "        try:\n"
        "            f = getattr(importlib.import_module(m.name), name, None)\n"
        "        except Exception:\n"
        "            continue\n"
        "        if callable(f):\n"
        "            return f\n"
        f"{fn} = _find('{fn}')\n")
    # Another name for the same module, and the module's own file (or its
    # compiled cache) run again under new names.
    nbs["other_names"] = _with_cell_source(
        blank_target, target,
        "from helpers import reference as course\n"
        f"my_version = course.rnn.__dict__['{fn}']\n"
        f"def {fn}(*args):\n    return my_version(*args)\n")
    nbs["reference_file"] = _with_cell_source(
        blank_target, target,
        "import glob, marshal, os, helpers.reference.rnn as m\n"
        "ns = {'__name__': 'copy'}\n"
        "caches = glob.glob(os.path.join(os.path.dirname(m.__file__),\n"
        "                                '__pycache__', 'rnn*.pyc'))\n"
        "if caches:\n"
        "    code = marshal.loads(open(caches[0], 'rb').read()[16:])\n"
        "else:\n"
        "    code = compile(open(m.__file__).read(), 'copy', 'exec')\n"
        "exec(code, ns)\n"
        f"{fn} = ns['{fn}']\n")
    nbs["snoop"] = _add_cell(full, (
        "import glob, os\n"
        "pats = ['../**/gradebook.db', '/tmp/**/gradebook.db',\n"
        "        '/tmp/rnn-course-grading-*/**/*.ipynb',\n"
        "        '/tmp/rnn-course-sandbox*/**/*', '/tmp/**/*.ipynb',\n"
        "        '/tmp/**/*.csv', '/tmp/**/*.html', '/tmp/**/.state/*',\n"
        "        '/work/*/solutions/*', '/work/*/tests/*.py',\n"
        "        '/home/**/*.ipynb', '/var/tmp/*', '/dev/shm/*',\n"
        "        os.path.expanduser('~root/*'),\n"
        f"        {str(ROOT / 'solutions' / '*.py')!r},\n"
        f"        {str(ROOT / 'tests' / '*.py')!r}]\n"
        "found = sorted({p for pat in pats\n"
        "                for p in glob.glob(pat, recursive=True)})\n"
        "print('FOUND', found)\n"))
    # Files left for the next student in the shared temporary folders,
    # and a student looking for them.
    nbs["litter"] = _add_cell(full, (
        "for d in ('/tmp', '/var/tmp', '/dev/shm'):\n"
        "    open(d + '/rnn-left-for-you', 'w').write('answers')\n"))
    nbs["scavenge"] = _add_cell(full, (
        "import os\n"
        "print('LEFT', [d for d in ('/tmp', '/var/tmp', '/dev/shm')\n"
        "               if 'rnn-left-for-you' in os.listdir(d)])\n"))
    # A cell that ignores the interrupt and spins: the kernel must be
    # replaced, never the whole notebook left ungraded.
    nbs["ignore_interrupt"] = _with_cell_source(
        full, target, "import signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    pass\n", "before")
    return {k: (v if isinstance(v, bytes) else json.dumps(v).encode())
            for k, v in nbs.items()}


SPOIL = """
def _spoil(value):
    import numpy as _np
    if isinstance(value, tuple) and value:
        return (_spoil(value[0]),) + value[1:]
    if isinstance(value, _np.ndarray) and value.dtype.kind == "f":
        return value + 1
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + 1
    return value

def _spoiled(fn):
    def wrong(*args, **kwargs):
        return _spoil(fn(*args, **kwargs))
    return wrong
"""


def spoil(nb: dict) -> dict:
    """Every exercise answered wrongly: each function's result (its first
    element, for a tuple) is off by one."""
    nb = copy.deepcopy(nb)
    first = True
    for cell in nb["cells"]:
        if not is_solution(cell):
            continue
        names = sorted(bound_names(_source(cell)))
        tail = "".join(f"\n{n} = _spoiled({n})" for n in names)
        cell["source"] = (SPOIL if first else "") + _source(cell) + tail
        first = False
    return nb


def old_format(nb: dict) -> bytes:
    """The notebook written in nbformat 3."""
    node = nbformat.from_dict(copy.deepcopy(nb))
    return nbformat.writes(nbformat.convert(node, 3), version=3).encode()
