"""The feedback exporter: nbconvert's HTML page, templates compiled once
per process."""

from __future__ import annotations

import nbformat
from nbconvert.exporters import HTMLExporter

from autograder import feedback


NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A lesson"),
        nbformat.v4.new_code_cell("print(1 + 1)", outputs=[
            nbformat.v4.new_output("stream", text="2\n")])]))


def notebook() -> nbformat.NotebookNode:
    return nbformat.reads(NOTEBOOK, as_version=4)


def test_pages_are_nbconverts_and_templates_compile_once(monkeypatch):
    import jinja2

    compiled = []
    real = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(feedback, "_COMPILED", feedback._Compiled())
    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    plain, _ = HTMLExporter().from_notebook_node(notebook())
    first, _ = feedback.FeedbackExporter().from_notebook_node(notebook())
    assert compiled, "nbconvert compiled no template"
    assert feedback._COMPILED.store, "no compiled template was kept"
    compiled.clear()
    second, _ = feedback.FeedbackExporter().from_notebook_node(notebook())
    assert compiled == [], f"compiled again: {compiled}"
    # The same page (up to the anchor ids nbconvert draws at random).
    assert _steady(first) == _steady(plain) == _steady(second)


def _steady(page: str) -> str:
    import re
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}", "<uuid>", page)
