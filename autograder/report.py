"""The class report: what to re-teach, per exercise.

Written beside ``grades.csv`` as ``report.md`` and ``report.html``. For
each lesson and graded exercise: how many submissions got full marks
(the pass rate), the mean score, and the most common failure messages.
Messages are grouped after normalising what varies between students
(numbers, indices, quoted values), so "at index (0, 2) you have 0.1"
and "at index (1, 0) you have 3" count as one mistake.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from pathlib import Path

TOP = 5                 # failure messages shown per exercise
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def normalise(message: str, width: int = 160) -> str:
    """The message with numbers as ``#`` and quoted values as ``'…'``,
    whitespace collapsed, cut to ``width`` characters."""
    text = _QUOTED.sub("'…'", message)
    text = _NUMBER.sub("#", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:width] + ("…" if len(text) > width else "")


def summarise(results: list[dict]) -> dict:
    """lesson -> exercise -> counts, mean and grouped failures."""
    out: dict = defaultdict(dict)
    for r in results:
        for row in r["rows"]:
            ex = out[row["lesson"]].setdefault(row["exercise"], {
                "max_score": float(row["max_score"]), "n": 0, "full": 0,
                "points": 0.0, "failures": Counter(), "example": {},
                "not_graded": 0})
            ex["n"] += 1
            ex["points"] += float(row["score"])
            if float(row["score"]) >= float(row["max_score"]):
                ex["full"] += 1
                continue
            if r["status"] == "failed":
                ex["not_graded"] += 1
            msg = row["note"] or "(no message)"
            key = normalise(msg)
            ex["failures"][key] += 1
            ex["example"].setdefault(key, (r["student"], msg))
    return out


def write_report(results: list[dict], output: Path, templates=None
                 ) -> None:
    """Write ``report.md`` and ``report.html`` into ``output``."""
    data = summarise(results)
    order = {name: t.order for name, t in (templates or {}).items()}
    md = ["# Class report", "",
          f"{len(results)} submission(s). Pass rate: the share of "
          f"submissions with full marks on the exercise. Failure messages "
          f"are grouped with numbers shown as #.", ""]
    body = [f"<h1>Class report</h1><p>{len(results)} submission(s). "
            f"Pass rate: the share of submissions with full marks on the "
            f"exercise. Failure messages are grouped with numbers shown "
            f"as #.</p>"]
    for lesson in sorted(data):
        exercises = data[lesson]
        names = [e for e in order.get(lesson, []) if e in exercises] + \
            sorted(e for e in exercises if e not in order.get(lesson, []))
        md += [f"## {lesson}", "",
               "| exercise | points | submissions | full marks | pass rate "
               "| mean score |", "|---|---|---|---|---|---|"]
        rows = []
        for e in names:
            x = exercises[e]
            rate = 100.0 * x["full"] / x["n"]
            mean = x["points"] / x["n"]
            md.append(f"| {e} | {x['max_score']:g} | {x['n']} | "
                      f"{x['full']} | {rate:.0f}% | {mean:.2f} |")
            rows.append(f"<tr><td>{html.escape(e)}</td>"
                        f"<td>{x['max_score']:g}</td><td>{x['n']}</td>"
                        f"<td>{x['full']}</td><td>{rate:.0f}%</td>"
                        f"<td>{mean:.2f}</td></tr>")
        body.append(f"<h2>{html.escape(lesson)}</h2><table><tr>"
                    f"<th>exercise</th><th>points</th><th>submissions</th>"
                    f"<th>full marks</th><th>pass rate</th>"
                    f"<th>mean score</th></tr>{''.join(rows)}</table>")
        md.append("")
        for e in names:
            x = exercises[e]
            if not x["failures"]:
                continue
            lost = x["n"] - x["full"]
            md += [f"### {lesson} / {e}: most common failures "
                   f"({lost} of {x['n']} lost points)", ""]
            items = []
            for key, n in x["failures"].most_common(TOP):
                student, msg = x["example"][key]
                md.append(f"- {n} x `{key}` (e.g. {student})")
                items.append(f"<li><b>{n} &times;</b> <code>"
                             f"{html.escape(key)}</code> <small>(e.g. "
                             f"{html.escape(student)})</small></li>")
            rest = sum(x["failures"].values()) - sum(
                n for _, n in x["failures"].most_common(TOP))
            if rest:
                md.append(f"- {rest} other(s)")
                items.append(f"<li>{rest} other(s)</li>")
            md.append("")
            body.append(f"<h3>{html.escape(lesson)} / {html.escape(e)}: "
                        f"most common failures ({lost} of {x['n']} lost "
                        f"points)</h3><ul>{''.join(items)}</ul>")
    (output / "report.md").write_text("\n".join(md) + "\n",
                                      encoding="utf-8")
    (output / "report.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class "
        "report</title><style>body{font-family:sans-serif;max-width:70em;"
        "margin:auto}table{border-collapse:collapse}td,th{border:1px "
        "solid #ccc;padding:2px 8px}code{white-space:pre-wrap}</style>"
        "</head><body>" + "".join(body) + "</body></html>\n",
        encoding="utf-8")
