"""The layout of the code: what may import what, and the one contract of
the recurrent cells.

* No module under helpers/, autograder/ or benchmarks/ uses a private
  (``_name``) name of another module: neither ``from x import _y`` nor
  ``x._y`` on a name it imported.
* The readable cells (helpers/reference/) hold no speed code: they reach
  helpers.fast only inside the ``if fast:`` dispatch of a function (or,
  for annotations, under ``if TYPE_CHECKING:``), and helpers/fast/ does
  not import them back.
* Every cell offers the same functions with the same arguments.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from helpers.reference import gru, lstm, rnn

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "autograder", "benchmarks")


def modules(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree)
            for child in ast.iter_child_nodes(node)}


# Underscored, yet the documented public way to do it.
DOCUMENTED = {"os._exit"}


def private_uses(tree: ast.AST) -> list[str]:
    """``from x import _y`` and ``x._y`` for names bound by an import
    (except the documented :data:`DOCUMENTED`)."""
    found, imported = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if private(alias.name):
                    found.append(f"line {node.lineno}: from "
                                 f"{'.' * node.level}{node.module or ''} "
                                 f"import {alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                if private(base.attr):
                    break
                base = base.value
            if isinstance(base, ast.Name) and base.id in imported and \
                    ast.unparse(node) not in DOCUMENTED:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def imports_of(tree: ast.AST):
    """``(node, module name)`` of every import, relative ones resolved
    against the helpers package well enough for the checks here."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield node, node.module or ""
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name


def test_the_private_scan_sees_both_forms():
    tree = ast.parse("from helpers.reference.rnn import _empty\n"
                     "import helpers.fast.threads as t\n"
                     "t._executor(2)\nself._buffers\nnp.__version__\n"
                     "import os\nos._exit(3)\n")
    assert private_uses(tree) == [
        "line 1: from helpers.reference.rnn import _empty",
        "line 3: t._executor"]


@pytest.mark.parametrize("path", modules(*PACKAGES),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_a_private_name_of_another(path):
    uses = private_uses(ast.parse(path.read_text(), str(path)))
    assert not uses, f"{path.relative_to(ROOT)} uses private names: {uses}"


def in_fast_dispatch(node: ast.AST, up: dict) -> bool:
    """Inside a function, under ``if fast:``; or under
    ``if TYPE_CHECKING:``."""
    in_function = in_if_fast = False
    while node in up:
        node = up[node]
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name):
            if node.test.id == "TYPE_CHECKING":
                return True
            in_if_fast |= node.test.id == "fast"
        in_function |= isinstance(node, ast.FunctionDef)
    return in_function and in_if_fast


def test_the_dispatch_check_tells_the_dispatch_from_other_imports():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from helpers.fast.workspace import Workspace\n"
        "if TYPE_CHECKING:\n    from helpers.fast import Workspace\n"
        "def f(fast):\n    from helpers.fast.rnn import a\n"
        "    if fast:\n        from helpers.fast.rnn import b\n")
    up = parents(tree)
    verdicts = [in_fast_dispatch(node, up) for node, name in
                imports_of(tree) if name.startswith("helpers.fast")]
    assert verdicts == [False, True, False, True]


@pytest.mark.parametrize("path", modules("helpers/reference"),
                         ids=lambda p: p.name)
def test_readable_cells_reach_helpers_fast_only_in_the_dispatch(path):
    tree = ast.parse(path.read_text(), str(path))
    up = parents(tree)
    for node, name in imports_of(tree):
        if name.startswith("helpers.fast") or (
                isinstance(node, ast.ImportFrom) and node.level
                and (name or "").startswith("fast")):
            assert in_fast_dispatch(node, up), \
                f"{path.name} line {node.lineno} imports {name} outside " \
                f"the `if fast:` dispatch"
        assert not name.startswith(("threading", "concurrent",
                                    "threadpoolctl")), \
            f"{path.name} line {node.lineno} imports {name}"


@pytest.mark.parametrize("path", [ROOT / "helpers/reference" / f
                                  for f in ("rnn.py", "lstm.py", "gru.py")],
                         ids=lambda p: p.name)
def test_readable_cells_hold_no_speed_code(path):
    """No classes (Workspace and the like), no ``out=`` buffers, no
    in-place ufunc plumbing: the speed code lives in helpers/fast/."""
    tree = ast.parse(path.read_text(), str(path))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    outs = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
            and any(k.arg == "out" for k in n.keywords)]
    assert not outs, f"{path.name} uses out= at lines {outs}"


@pytest.mark.parametrize("path", modules("helpers/fast"),
                         ids=lambda p: p.name)
def test_fast_paths_do_not_import_the_readable_cells(path):
    tree = ast.parse(path.read_text(), str(path))
    for node, name in imports_of(tree):
        assert not name.startswith("helpers.reference"), \
            f"{path.name} line {node.lineno} imports {name}"


# ------------------------------------------------------- the contract

def params_of(fn) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in
            inspect.signature(fn).parameters.values()]


E = inspect.Parameter.empty
CELLS = {
    # cell: (module, extra state names)
    "rnn": (rnn, []),
    "lstm": (lstm, ["c"]),
    "gru": (gru, []),
    "gru_torch": (gru, []),
}


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_offers_the_same_functions_and_arguments(cell):
    mod, extra = CELLS[cell]
    fn = {name: getattr(mod, f"{cell}_{name}") for name in
          ("step_forward", "step_backward", "forward", "backward")}
    init = getattr(mod, f"init_{cell}_params")
    assert params_of(init) == [("D", E), ("H", E), ("rng", E),
                               ("dtype", mod.np.float64)]
    assert params_of(fn["step_forward"]) == (
        [("x", E), ("h_prev", E)] + [(f"{s}_prev", E) for s in extra]
        + [("params", E)])
    assert params_of(fn["step_backward"]) == (
        [("dh_next", E)] + [(f"d{s}_next", E) for s in extra]
        + [("cache", E)])
    assert params_of(fn["forward"]) == (
        [("x", E), ("h0", E)] + [(f"{s}0", E) for s in extra]
        + [("params", E), ("fast", False), ("workspace", None)])
    assert params_of(fn["backward"]) == (
        [("dh", E), ("cache", E), ("dh_last", None)]
        + [(f"d{s}_last", None) for s in extra] + [("fast", False)])
    for f in fn.values():
        assert f.__name__ in mod.__all__
    assert init.__name__ in mod.__all__


def test_rnn_truncation_functions_take_fast_like_the_rest():
    assert params_of(rnn.rnn_backward_truncated) == [
        ("dh", E), ("cache", E), ("k", E), ("dh_last", None),
        ("fast", False)]
    assert params_of(rnn.rnn_truncated_bptt) == [
        ("x", E), ("h0", E), ("params", E), ("dh", E), ("k", E),
        ("fast", False)]
