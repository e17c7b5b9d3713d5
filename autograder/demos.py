"""Demonstration cells the grader does not run.

A lesson shows a lot that no grade depends on: figures, widgets, a model
trained for a minute to show a loss curve. Its author marks such a code
cell with the tag ``demo`` (``# %% tags=["demo"]`` in the source). When a
submission is graded, a demo cell is not run if

* its code is exactly the author's: the same text as a demo cell of the
  lesson's source notebook (a cell the student changed always runs), and
* no cell that runs after it reads a name it binds (read from the cells'
  code; a cell that reads names in a way the code does not show, such as
  ``globals()`` or ``eval``, counts as reading every name).

So a student's own code that uses a result of a demonstration still finds
it. Should a cell reach one anyway in a way no code shows (a ``NameError``
for a name a left-out demo binds), the grader runs the whole notebook
again with every cell (:mod:`autograder.execute`). The author promises
the rest: a demo cell changes nothing else that later cells rely on (it
draws, prints and binds names). The lesson tests hold the author to it:
each lesson's solution is graded with its demo cells skipped and must
earn full marks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from .cells import nbgrader, source

DEMO_TAG = "demo"

# Names and attributes through which code reaches variables by name at
# run time, and so may read anything.
DYNAMIC_NAMES = frozenset({
    "globals", "locals", "vars", "dir", "eval", "exec", "compile",
    "get_ipython", "__import__", "__builtins__", "__main__"})
DYNAMIC_ATTRS = frozenset({
    "f_globals", "f_locals", "f_back", "__globals__", "__dict__",
    "user_ns", "user_global_ns", "modules"})


@dataclass(frozen=True)
class Names:
    """What a cell binds and what it reads from cells before it.

    ``None`` stands for "any name": a star import binds names its code
    does not show, dynamic access reads them.
    """

    binds: frozenset[str] | None
    reads: frozenset[str] | None


def is_demo(cell: dict) -> bool:
    """A code cell its author tagged ``demo`` (never an nbgrader cell)."""
    tags = cell.get("metadata", {}).get("tags")
    return (cell.get("cell_type") == "code" and isinstance(tags, list)
            and DEMO_TAG in tags and not nbgrader(cell))


def codes(nb: dict) -> list[str | None]:
    """The text of each cell of ``nb``; None for a cell that is not code."""
    return [source(c) if c.get("cell_type") == "code" else None
            for c in nb.get("cells", [])]


def demo_sources(source_nb: dict) -> frozenset[str]:
    """The code of every demo cell of the lesson's source notebook."""
    return frozenset(source(c) for c in source_nb.get("cells", [])
                     if is_demo(c))


class _Scope(ast.NodeVisitor):
    """Names one scope binds and reads. A nested function or
    comprehension adds the names it reads from outside itself, and the
    names it declares ``global`` and binds; a star import binds names
    the code does not show (``star``)."""

    def __init__(self) -> None:
        self.stores: set[str] = set()
        self.loads: set[str] = set()
        self.declared: set[str] = set()
        self.star = False

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        else:                           # a store, or a del (reads too)
            self.stores.add(node.id)
            if isinstance(node.ctx, ast.Del):
                self.loads.add(node.id)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.loads.add(node.target.id)
        self.generic_visit(node)

    def _alias(self, node) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star = True
            else:
                self.stores.add((alias.asname or alias.name).split(".")[0])

    visit_Import = visit_ImportFrom = _alias

    def visit_Global(self, node) -> None:
        self.declared.update(node.names)

    visit_Nonlocal = visit_Global

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.stores.add(node.rest)
        self.generic_visit(node)

    def _inner(self, outside: list, body: list, params: set[str]) -> None:
        """A nested scope: ``outside`` is evaluated here, ``body`` there."""
        for node in outside:
            self.visit(node)
        inner = _Scope()
        for node in body:
            inner.visit(node)
        own = (inner.stores | params) - inner.declared
        self.loads |= inner.loads - own
        self.stores |= inner.stores & inner.declared
        self.star = self.star or inner.star

    def _function(self, node) -> None:
        a = node.args
        args = a.posonlyargs + a.args + a.kwonlyargs + [
            x for x in (a.vararg, a.kwarg) if x]
        params = {x.arg for x in args}
        # defaults, annotations and decorators are read where it is made
        outside = [d for d in a.defaults + a.kw_defaults if d] + [
            x.annotation for x in args if x.annotation]
        if not isinstance(node, ast.Lambda):
            self.stores.add(node.name)
            outside += node.decorator_list + ([node.returns]
                                              if node.returns else [])
            body = node.body
        else:
            body = [node.body]
        self._inner(outside, body, params)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _comprehension(self, node) -> None:
        gens = node.generators
        targets = _Scope()
        for g in gens:
            targets.visit(g.target)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) \
            else [node.elt]
        body = parts + [g.iter for g in gens[1:]] + \
            [c for g in gens for c in g.ifs]
        self._inner([gens[0].iter], body, targets.stores)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = \
        visit_DictComp = _comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        # binds in the enclosing function even inside a comprehension
        self.stores.add(node.target.id)
        self.declared.add(node.target.id)
        self.visit(node.value)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stores.add(node.name)
        self.generic_visit(node)


def _dynamic(node: ast.AST) -> bool:
    """True if the code may reach variables by name at run time."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in DYNAMIC_NAMES or \
                isinstance(n, ast.Attribute) and n.attr in DYNAMIC_ATTRS \
                or isinstance(n, ast.Constant) and n.value == "__main__":
            return True
        if isinstance(n, (ast.Import, ast.ImportFrom)) and (
                getattr(n, "module", None) == "__main__" or any(
                    a.name.split(".")[0] == "__main__" for a in n.names)):
            return True
    return False


def _surely(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement has bound once it finished."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names
                if a.name != "*"}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else \
        [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value \
        else []
    out = set()
    for target in targets:
        todo = [target]
        while todo:
            t = todo.pop()
            if isinstance(t, ast.Name):
                out.add(t.id)
            elif isinstance(t, (ast.Tuple, ast.List)):
                todo.extend(t.elts)
            elif isinstance(t, ast.Starred):
                todo.append(t.value)
    return out


@lru_cache(maxsize=4096)
def cell_names(source: str) -> Names:
    """What a cell of this code binds, and which names it reads that an
    earlier cell may have bound (not those its own earlier statements
    surely bound). Code that does not parse reads and binds anything."""
    from IPython.core.inputtransformer2 import TransformerManager
    binds: set[str] = set()
    reads: set[str] | None = set()
    surely: set[str] = set()
    star = False
    try:                    # code nested too deep to read: reads anything
        tree = ast.parse(TransformerManager().transform_cell(source))
        for stmt in tree.body:
            scope = _Scope()
            scope.visit(stmt)
            if reads is None or _dynamic(stmt):
                reads = None
            else:
                reads |= scope.loads - surely
            binds |= scope.stores
            star = star or scope.star
            surely |= _surely(stmt)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Names(None, None)
    return Names(None if star else frozenset(binds),
                 None if reads is None else frozenset(reads))


def skipped(sources: list[str | None], demos: frozenset[str]) -> set[int]:
    """Indices of the demo cells not to run.

    ``sources`` holds the code of each cell of the notebook in order
    (None for a cell that is not code). Going from the last cell to the
    first, a demo cell is skipped when no cell that will run after it
    reads a name it binds; every other cell runs and adds what it reads.
    """
    needed: set[str] = set()
    reads_any = False
    out: set[int] = set()
    for index in range(len(sources) - 1, -1, -1):
        code = sources[index]
        if code is None:
            continue
        names = cell_names(code)
        if code in demos and names.binds is not None and not reads_any \
                and not names.binds & needed:
            out.add(index)
        elif names.reads is None:
            reads_any = True
        else:
            needed |= names.reads
    return out
