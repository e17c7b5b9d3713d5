"""The kernel's view of ``helpers`` while a lesson is graded.

Reference use is judged by what runs, not by what a notebook says: in
the sandbox, the course's reference implementations of the lesson's own
graded functions are stubs. Importing them works (a scratch cell that
compares with the reference, a lesson cell that imports the module, a
checker that imports it at the top: all fine); *calling* one raises
:class:`ReferenceNotAvailable`, so a graded function that relies on it,
however it reached it (an alias, ``getattr``, ``vars``, ``pkgutil``,
another name), fails its tests and nothing else is touched.

"The lesson's own graded functions" are the functions defined in the
lesson's solution cells whose names are also defined at the top of a
``helpers.reference`` module (computed from the lesson's source, so new
lessons need no list). The stubbed modules keep their line numbers; the
original text and compiled cache of those modules are not in the
kernel's view. Other functions of ``helpers`` stay, also those that
compute something similar in another way (the speed paths of
``helpers.fast``, which the lessons' demonstrations use): a lesson that
must not offer one to its students keeps it out of ``helpers``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from . import ROOT
from .cells import nbgrader
from .verify import bound_names

HELPERS = ROOT / "helpers"
STUBBED_PACKAGES = ("reference",)
ERROR = "ReferenceNotAvailable"

STUB_CLASS = f'''

class {ERROR}(RuntimeError):
    """A reference implementation that is not available during grading."""
'''


def _top_functions(path: Path) -> dict[str, ast.FunctionDef]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    return {n.name: n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def reference_functions(package: Path = HELPERS) -> set[str]:
    """Names of the functions defined at the top of the reference."""
    out: set[str] = set()
    for path in sorted((package / "reference").glob("*.py")):
        out |= set(_top_functions(path))
    return out


def solution_names(source_nb: dict) -> set[str]:
    """Names bound by the solution cells of a lesson's source notebook."""
    out: set[str] = set()
    for cell in source_nb.get("cells", []):
        if cell.get("cell_type") == "code" and \
                nbgrader(cell).get("solution"):
            out |= bound_names("".join(cell.get("source", "")))
    return out


def hidden_functions(source_nb: dict, package: Path = HELPERS
                     ) -> set[str]:
    """The lesson's own graded functions that the reference defines."""
    return solution_names(source_nb) & reference_functions(package)


def message(name: str) -> str:
    return (f"{name} is the course's reference implementation, which is "
            f"not available during grading: the graded exercise must "
            f"use your own code")


def stub_source(text: str, names: set[str]) -> str | None:
    """``text`` (a module) with the bodies of the top-level functions
    ``names`` replaced by a raise; line numbers kept. None if the module
    defines none of them."""
    tree = ast.parse(text)
    lines = text.splitlines()
    hits = [n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name in names]
    if not hits:
        return None
    for node in sorted(hits, key=lambda n: -n.lineno):
        body = node.body
        doc = (isinstance(body[0], ast.Expr) and
               isinstance(getattr(body[0], "value", None), ast.Constant)
               and isinstance(body[0].value.value, str))
        start = body[1].lineno if doc and len(body) > 1 else (
            None if doc else body[0].lineno)
        raise_line = f"raise {ERROR}({message(node.name)!r})"
        if start is None:           # a docstring and nothing else
            end = node.end_lineno
            lines[end - 1] += f"; {raise_line}"
            continue
        if start == node.lineno:    # def f(...): return ... on one line
            head = lines[node.lineno - 1]
            indent = head[:len(head) - len(head.lstrip())]
            lines[node.lineno - 1] = (f"{indent}def {node.name}(*args, "
                                      f"**kwargs): {raise_line}")
            for i in range(node.lineno, node.end_lineno):
                lines[i] = ""
            continue
        first = lines[start - 1]
        indent = first[:len(first) - len(first.lstrip())]
        lines[start - 1] = indent + raise_line
        for i in range(start, node.end_lineno):
            lines[i] = ""
    return "\n".join(lines) + "\n" + STUB_CLASS


def build_view(hidden: set[str], dest: Path, package: Path = HELPERS
               ) -> tuple[list[list[str]], list[str]]:
    """Write the stubbed modules under ``dest``.

    Returns ``(ro_map, masked)`` for a :class:`~autograder.sandbox.
    SandboxPolicy`: the package itself, then each stubbed module over
    its original; and the compiled caches of the stubbed packages.
    """
    ro_map = [[str(package), str(package)]]
    masked: list[str] = []
    if not hidden:
        return ro_map, masked
    wanted = {"reference": hidden}
    dest.mkdir(mode=0o755, exist_ok=True)
    for sub in STUBBED_PACKAGES:
        touched = False
        for path in sorted((package / sub).glob("*.py")):
            text = path.read_text(encoding="utf-8")
            new = stub_source(text, wanted[sub])
            if new is None:
                continue
            out = dest / f"{sub}.{path.name}"
            out.write_text(new, encoding="utf-8")
            out.chmod(0o644)
            ro_map.append([str(out), str(path)])
            touched = True
        cache = package / sub / "__pycache__"
        if touched and cache.is_dir():
            masked.append(str(cache))
    return ro_map, masked
