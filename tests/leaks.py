"""What a feedback page must not show: the hidden tests."""

from __future__ import annotations

import html
import re

from autograder.cells import is_graded
from autograder.cells import source as _source

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def hidden_lines(solution: dict, released: dict) -> set[str]:
    """Lines of the hidden tests of ``solution`` that the released
    notebook does not show anyway (stripped, at least 12 characters)."""
    shown = "\n".join(_source(c) for c in released["cells"])
    shown = {line.strip() for line in shown.splitlines()}
    secret = set()
    for cell in solution["cells"]:
        if not is_graded(cell):
            continue
        inside = False
        for line in _source(cell).splitlines():
            if BEGIN in line:
                inside = True
            elif END in line:
                inside = False
            elif inside and len(line.strip()) >= 12 and \
                    line.strip() not in shown:
                secret.add(line.strip())
    return secret


def page_text(page: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page,
                  flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def leaks(page: str, secret: set[str]) -> list[str]:
    """The hidden-test lines and markers found in a feedback page."""
    text = page_text(page)
    lines = {line.strip() for line in text.splitlines()}
    found = sorted(s for s in secret if s in lines or s in text)
    found += [m for m in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
              if m in text or m in page]
    return found
