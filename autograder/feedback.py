"""Feedback pages without the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, where
OverwriteCells has put the hidden tests back into every test cell, so by
default a student reads them in the feedback page (nbgrader issues 917
and 1363). :class:`HideHiddenTests` runs before the page is rendered: it
cuts every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``
region out of the cells (saying so in their place) and shortens the
error tracebacks of those cells to their last line, since a traceback
quotes the source around the failing line. What the hidden tests
printed (the checks' messages) stays: that is the feedback.

:class:`FeedbackExporter` is nbgrader's HTML exporter with its compiled
templates kept for the life of the process: a grading worker writes one
page per submission, and compiling the same templates again for each
took about a fifth of the time to grade a short notebook.
"""

from __future__ import annotations

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN = "BEGIN HIDDEN TESTS"
END = "END HIDDEN TESTS"
NOTE = "# (hidden tests run here when your work is graded)"


def strip_hidden(source: str) -> tuple[str, bool]:
    """``source`` without its hidden-test regions (nested or unclosed
    ones included); and whether there were any."""
    out, depth, found = [], 0, False
    for line in source.split("\n"):
        if BEGIN in line:
            if depth == 0:
                out.append(line[:len(line) - len(line.lstrip())] + NOTE)
            depth += 1
            found = True
        elif END in line:
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(line)
    return "\n".join(out), found


class HideHiddenTests(Preprocessor):
    """Remove hidden tests (and tracebacks quoting them) from a notebook
    before it becomes a feedback page."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        source, found = strip_hidden(source)
        if not found:
            return cell, resources
        cell.source = source
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [f"{out.get('ename', 'Error')}: "
                                    f"{out.get('evalue', '')}"]
        return cell, resources


class _Compiled(BytecodeCache):
    """Compiled templates in memory, by name and source checksum."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _Compiled()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter; every instance in a process shares the
    compiled templates (a changed template is compiled again)."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment
