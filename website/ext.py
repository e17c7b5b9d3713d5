"""Sphinx extension: what a static page of a lesson needs.

* **Widgets.** A page has no kernel, so a control there would move
  nothing. Every widget of the course shows its figure first (see
  :func:`helpers.figures.widgets.interactive_figure`); here the widget
  itself is replaced by one line that says how to run the lesson to use
  the control (once per widget, also when a cell shows it twice). A
  progress bar (tqdm) becomes the text it ended with.
* **Alt text.** A notebook's image output has none. Each figure gets the
  summary line of the helper that drew it (``plots.plot_rnn_cell`` ->
  "Inside one step of the simple RNN, as a computation graph."), found
  from the calls in its cell, or else names the section it belongs to.
"""

from __future__ import annotations

import html
import importlib
import json
import re

from docutils import nodes

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CALL = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*\(")
FIGURE_PACKAGE = "helpers.figures"
# ipywidgets models a reader would move (a progress bar is not one).
CONTROL_MODELS = ("SliderModel", "DropdownModel", "ButtonModel",
                  "CheckboxModel", "ToggleButtonsModel", "SelectModel",
                  "TextModel", "RadioButtonsModel", "PlayModel")


def _classes(node) -> list[str]:
    return node.get("classes", []) if isinstance(node, nodes.Element) \
        else []


def _cell(node):
    while node is not None and "cell" not in _classes(node):
        node = node.parent
    return node


def _cell_source(cell) -> str:
    for block in cell.findall(nodes.literal_block):
        return block.astext()
    return ""


def _summary(doc: str) -> str:
    first = doc.strip().split("\n\n")[0]
    first = re.sub(r":\w+:`~?([^`]+)`", r"\1", first)
    first = first.replace("``", "").replace("`", "")
    return " ".join(first.split())


def figure_helpers(source: str) -> list[tuple[str, str]]:
    """``(qualified name, summary line)`` of each course figure helper
    called in ``source``, in order."""
    found = []
    for module, func in CALL.findall(source):
        try:
            mod = importlib.import_module(f"{FIGURE_PACKAGE}.{module}")
        except ImportError:
            continue
        obj = getattr(mod, func, None)
        if callable(obj) and obj.__doc__:
            found.append((f"{module}.{func}", _summary(obj.__doc__)))
    return found


def _section_title(node) -> str:
    while node is not None:
        if isinstance(node, nodes.section) and node.children and \
                isinstance(node.children[0], nodes.title):
            return node.children[0].astext()
        node = node.parent
    return ""


def alt_text(image, position: int, count: int) -> str:
    """Alt text for the ``position``-th of ``count`` images of a cell."""
    cell = _cell(image)
    helpers = figure_helpers(_cell_source(cell)) if cell is not None \
        else []
    if helpers:
        name, summary = helpers[position] if len(helpers) == count \
            else helpers[0]
        if name.endswith("_explorer"):
            what = " ".join(part for part in re.split(r"(?<=\.) ", summary)
                            if not part.startswith("Draws "))
            what = what.rstrip(".")
            return ("Default view of an interactive figure "
                    f"({what[:1].lower() + what[1:]}).")
        return summary
    section = _section_title(image)
    return (f"Figure drawn by the code above, in the section "
            f"“{section}”." if section else
            "Figure drawn by the code above.")


def widget_note(docname: str) -> nodes.paragraph:
    lesson = docname.rsplit("/", 1)[-1]
    para = nodes.paragraph(classes=["widget-note"])
    para += nodes.strong(text="Interactive control. ")
    para += nodes.Text(
        "On this page the figure above shows its default setting. To "
        "move the control and redraw the figure, run the lesson on your "
        "computer: ")
    para += nodes.literal(
        text=f"python3 course.py start lessons/{lesson}.ipynb")
    return para


def widget_state(env, docname: str, drop: bool = True) -> dict:
    """The saved widget models of a page, ``{model_id: model}``.

    MyST-NB keeps them to embed in the page for a widget manager; the
    site loads none, so they are taken out of the page (``drop``).
    """
    meta = getattr(env, "nb_metadata", {}).get(docname, {})
    files = meta.get("js_files", {})
    entry = files.pop("ipywidgets_state", None) if drop \
        else files.get("ipywidgets_state")
    if not entry:
        return {}
    try:
        return json.loads(entry[1]["body"]).get("state", {})
    except (KeyError, TypeError, ValueError):
        return {}


def _models(state: dict, model_id: str) -> list[dict]:
    """The model and all models below it."""
    out, todo = [], [model_id]
    while todo:
        model = state.get(todo.pop(0))
        if not model:
            continue
        out.append(model)
        for child in model.get("state", {}).get("children", []):
            todo.append(str(child).removeprefix("IPY_MODEL_"))
    return out


def _plain(value) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(value or "")))


def progress_text(models: list[dict]) -> str | None:
    """A progress bar (tqdm) as the text it ended with, else None."""
    names = [m.get("model_name", "") for m in models]
    if not any(n.endswith("ProgressModel") for n in names):
        return None
    if any(n.endswith(CONTROL_MODELS) for n in names):
        return None
    parts = [_plain(m.get("state", {}).get("value")) for m in models
             if m.get("model_name") == "HTMLModel"]
    return " ".join(p.strip() for p in parts if p.strip()) or "done"


def _view_model_id(raw_text: str) -> str:
    body = re.search(r">(.*)</script>", raw_text, flags=re.S)
    try:
        view = json.loads(body.group(1)) if body else {}
        if isinstance(view, str):
            view = json.loads(view)
        return view.get("model_id", "")
    except (AttributeError, ValueError):
        return ""


def replace_widgets(doctree, docname: str, state: dict) -> int:
    """Put a note in place of each control, the final text in place of
    each progress bar; drop repeated views of one widget."""
    seen: set[str] = set()
    notes = 0
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if WIDGET_VIEW not in text:
            continue
        model = _view_model_id(text)
        if model and model in seen:
            raw.parent.remove(raw)
            continue
        seen.add(model)
        progress = progress_text(_models(state, model))
        if progress is not None:
            block = nodes.literal_block(
                progress, progress, classes=["output", "text_plain"])
            block["language"] = "text"
            raw.replace_self(block)
            continue
        raw.replace_self(widget_note(docname))
        notes += 1
    return notes


def add_alt_text(doctree) -> None:
    by_cell: dict[int, list] = {}
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            continue
        cell = _cell(image)
        by_cell.setdefault(id(cell), []).append(image)
    for images in by_cell.values():
        for k, image in enumerate(images):
            image["alt"] = alt_text(image, k, len(images))


def on_doctree_read(app, doctree) -> None:
    docname = app.env.docname
    replace_widgets(doctree, docname, widget_state(app.env, docname))
    add_alt_text(doctree)


def setup(app):
    app.connect("doctree-read", on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True,
            "version": "1"}
