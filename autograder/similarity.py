"""The similarity report: copied code, between students and from the
course's reference.

For every lesson and exercise, each student's solution cell (from the
autograded notebook) is fingerprinted with ``copydetect`` (winnowing,
as MOSS does; names, strings and comments are normalised away, so
renaming variables hides nothing) and compared with

* the same cell of every other student, and
* the reference: the lesson's own solution cell and every module of
  ``helpers/reference`` (what students can read).

What the released notebook already holds (the function's signature and
docstring, the stub) is boilerplate and never counts. A pair is listed
in ``similarity.html`` when the shared code is at least
:data:`MIN_SHARED` filtered characters and covers at least
:data:`THRESHOLD` of a student's cell, with the two texts side by side
and the shared lines marked. Short answers that every correct student
writes alike stay below :data:`MIN_SHARED`. Scores are not changed: the
instructor decides.
"""

from __future__ import annotations

import html
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from . import cells

THRESHOLD = 0.6          # share of the student's cell that matches
MIN_SHARED = 80          # filtered characters in common, at least
NOISE = 25               # copydetect's k: shortest match that counts
GUARANTEE = 30           # matches this long are always found


@dataclass
class Doc:
    who: str             # "student alice" or "reference rnn.py"
    text: str
    fp: object = None


@dataclass
class Pair:
    lesson: str
    exercise: str
    kind: str            # "student-student" or "student-reference"
    a: Doc
    b: Doc
    score: float         # share of the student's (larger share) cell
    shared: int          # filtered characters in common
    slices_a: object
    slices_b: object


def _fingerprint(text: str, boilerplate=None):
    from copydetect import CodeFingerprint
    logging.getLogger().setLevel(logging.ERROR)
    return CodeFingerprint("cell.py", NOISE, GUARANTEE - NOISE + 1,
                           boilerplate=boilerplate, fp=io.StringIO(text),
                           language="python")


def solution_cells(nb: dict) -> dict[str, str]:
    return {cells.grade_id(c): cells.source(c) for c in nb.get("cells", [])
            if cells.is_solution(c)}


def reference_modules() -> dict[str, str]:
    """``helpers/reference/*.py``: name -> source."""
    import helpers.reference as ref
    folder = Path(ref.__file__).parent
    return {f"helpers/reference/{p.name}": p.read_text(encoding="utf-8")
            for p in sorted(folder.glob("*.py")) if p.name != "__init__.py"}


def find_pairs(lesson: str, students: dict[str, dict], solution: dict,
               released: dict, modules: dict[str, str] | None = None
               ) -> list[Pair]:
    """Pairs above the threshold among ``students`` (name -> notebook)
    and against the reference, for one lesson."""
    from copydetect import compare_files
    modules = reference_modules() if modules is None else modules
    stubs = solution_cells(released)
    answers = solution_cells(solution)
    refs = [Doc(f"reference {name}", text, _fingerprint(text))
            for name, text in modules.items()]
    pairs: list[Pair] = []
    for ex in sorted(stubs):
        boiler = list(_fingerprint(stubs[ex]).hashes)
        docs = []
        for who in sorted(students):
            text = solution_cells(students[who]).get(ex, "")
            if text.strip() and text.strip() != stubs[ex].strip():
                docs.append(Doc(f"student {who}", text,
                                _fingerprint(text, boiler)))
        own = [Doc(f"reference solution of {ex}", answers[ex],
                   _fingerprint(answers[ex], boiler))] if ex in answers \
            else []
        for i, a in enumerate(docs):
            for b in docs[i + 1:]:
                p = _compare(compare_files, lesson, ex, "student-student",
                             a, b, both=True)
                if p:
                    pairs.append(p)
            for b in own + refs:
                p = _compare(compare_files, lesson, ex, "student-reference",
                             a, b, both=False)
                if p:
                    pairs.append(p)
    pairs.sort(key=lambda p: (-p.score, p.lesson, p.exercise, p.a.who))
    return pairs


def _compare(compare_files, lesson, ex, kind, a: Doc, b: Doc, both: bool
             ) -> Pair | None:
    if not a.fp.hashes or not b.fp.hashes:
        return None
    shared, (sa, sb), (sl_a, sl_b) = compare_files(a.fp, b.fp)
    score = max(sa, sb) if both else sa
    if shared < MIN_SHARED or score < THRESHOLD:
        return None
    return Pair(lesson, ex, kind, a, b, float(score), int(shared), sl_a,
                sl_b)


# ------------------------------------------------------------ the page

def _marked_lines(text: str, slices) -> list[tuple[str, bool]]:
    """Lines of ``text``, each with whether copied code touches it."""
    marked = [False] * (len(text) + 1)
    if slices is not None and len(slices) == 2:
        for start, end in zip(slices[0], slices[1]):
            for i in range(int(start), min(int(end), len(text))):
                marked[i] = True
    out, pos = [], 0
    for line in text.split("\n"):
        hit = any(marked[pos:pos + len(line)]) and line.strip() != ""
        out.append((line, hit))
        pos += len(line) + 1
    return out


def _excerpt(lines: list[tuple[str, bool]], context: int = 2,
             limit: int = 80) -> list[tuple[str, bool] | None]:
    """The marked lines with some context; None marks a gap."""
    if len(lines) <= limit:
        return list(lines)
    keep = set()
    for i, (_, hit) in enumerate(lines):
        if hit:
            keep.update(range(max(0, i - context),
                              min(len(lines), i + context + 1)))
    out, last = [], -1
    for i in sorted(keep):
        if i != last + 1:
            out.append(None)
        out.append(lines[i])
        last = i
    if last != len(lines) - 1:
        out.append(None)
    return out


def _column(lines) -> str:
    rows = []
    for item in lines:
        if item is None:
            rows.append("<div class='gap'>…</div>")
            continue
        line, hit = item
        cls = " class='hit'" if hit else ""
        rows.append(f"<div{cls}>{html.escape(line) or '&nbsp;'}</div>")
    return "".join(rows)


def render(pairs: list[Pair], students: int) -> str:
    head = (f"<h1>Similarity report</h1><p>{len(pairs)} pair(s) above "
            f"the threshold ({THRESHOLD:.0%} of a student's cell, at "
            f"least {MIN_SHARED} characters of code in common after names "
            f"and comments are normalised), among {students} "
            f"submission(s). Shared lines are marked. The scores are not "
            f"changed by this report.</p>")
    table = ["<table class='list'><tr><th>#</th><th>lesson</th>"
             "<th>exercise</th><th>kind</th><th>who</th><th>with</th>"
             "<th>similarity</th></tr>"]
    details = []
    for n, p in enumerate(pairs, 1):
        table.append(
            f"<tr><td><a href='#p{n}'>{n}</a></td>"
            f"<td>{html.escape(p.lesson)}</td>"
            f"<td>{html.escape(p.exercise)}</td><td>{p.kind}</td>"
            f"<td>{html.escape(p.a.who)}</td><td>{html.escape(p.b.who)}"
            f"</td><td>{p.score:.0%}</td></tr>")
        left = _excerpt(_marked_lines(p.a.text, p.slices_a))
        right = _excerpt(_marked_lines(p.b.text, p.slices_b))
        details.append(
            f"<h2 id='p{n}'>{n}. {html.escape(p.lesson)} / "
            f"{html.escape(p.exercise)}: {html.escape(p.a.who)} and "
            f"{html.escape(p.b.who)} ({p.score:.0%}, {p.shared} "
            f"characters)</h2><table class='side'><tr>"
            f"<th>{html.escape(p.a.who)}</th><th>{html.escape(p.b.who)}"
            f"</th></tr><tr><td><pre>{_column(left)}</pre></td><td><pre>"
            f"{_column(right)}</pre></td></tr></table>")
    if not pairs:
        table.append("<tr><td colspan='7'>no pair above the threshold"
                     "</td></tr>")
    table.append("</table>")
    style = ("body{font-family:sans-serif;margin:1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:2px 8px;vertical-align:top}.side td{width:50%}"
             "pre{margin:0;font-size:90%}pre div{white-space:pre}"
             ".hit{background:#ffd9a0}.gap{color:#888}")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"Similarity report</title><style>{style}</style></head><body>"
            + head + "".join(table) + "".join(details) + "</body></html>\n")


def write_report(results: list[dict], output: Path, templates) -> list:
    """``similarity.html`` for the graded ``results``; returns the
    pairs."""
    by_lesson: dict[str, dict[str, dict]] = {}
    for r in results:
        if r.get("status") != "graded":
            continue
        nb = output / "autograded" / r["student"] / f"{r['lesson']}.ipynb"
        try:
            by_lesson.setdefault(r["lesson"], {})[r["student"]] = \
                json.loads(nb.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    modules = reference_modules()
    pairs = []
    for lesson in sorted(by_lesson):
        t = templates[lesson]
        source = Path(t.folder) / "source" / lesson / f"{lesson}.ipynb"
        solution = json.loads(source.read_text(encoding="utf-8"))
        pairs += find_pairs(lesson, by_lesson[lesson], solution,
                            t.released, modules)
    count = sum(len(v) for v in by_lesson.values())
    (output / "similarity.html").write_text(render(pairs, count),
                                            encoding="utf-8")
    return pairs
