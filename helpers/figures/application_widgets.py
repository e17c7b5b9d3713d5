"""Interactive controls for lesson 8 (ipywidgets).

:func:`generation_explorer` generates text from a prompt with a
temperature slider. Like :func:`helpers.figures.widgets.interactive_figure`
it first shows the output for the default values as an ordinary output,
then the controls with an ``ipywidgets.Output`` area below them, so a
notebook executed without a widget frontend still shows a complete
result.
"""

from __future__ import annotations

import html
from typing import Callable

from IPython.display import HTML, display

__all__ = ["generation_explorer"]


def _as_html(prompt: str, text: str, tau: float) -> HTML:
    body = (f"<b>{html.escape(prompt)}</b>"
            f"{html.escape(text[len(prompt):])}")
    return HTML(f"<p><small>tau = {tau:g}</small></p>"
                f"<pre style='white-space: pre-wrap'>{body}</pre>")


def generation_explorer(generate: Callable[[str, float], str],
                        prompt: str = "HAMLET.\n", tau: float = 0.8):
    """Generate text from a prompt at a temperature, interactively.

    Parameters
    ----------
    generate : callable
        ``generate(prompt, tau) -> text`` (the prompt followed by the
        generated characters).
    prompt : str
        The default prompt.
    tau : float
        The default temperature.

    Returns
    -------
    ipywidgets.VBox
        The controls, a note and the output area (already displayed); its
        ``redraw()`` generates again with the current values.
    """
    import ipywidgets as widgets

    display(_as_html(prompt, generate(prompt, tau), tau))
    text = widgets.Textarea(value=prompt, description="prompt",
                            layout=widgets.Layout(width="60%"))
    slider = widgets.FloatSlider(value=tau, min=0.0, max=2.0, step=0.05,
                                 description="tau",
                                 continuous_update=False)
    button = widgets.Button(description="generate")
    out = widgets.Output()
    note = widgets.HTML("<small>The text above used the default values; "
                        "change the prompt or the temperature and press "
                        "generate (tau = 0 is greedy).</small>")

    def redraw(change=None):
        try:
            result = generate(text.value or "\n", slider.value)
            shown = _as_html(text.value, result, slider.value)
        except (KeyError, ValueError) as err:     # a character not known
            result = str(err.args[0] if err.args else err)
            shown = HTML(f"<p>{html.escape(result)}</p>")
        with out:
            out.clear_output(wait=True)
            display(shown)
        return result

    button.on_click(redraw)
    slider.observe(redraw, names="value")
    box = widgets.VBox([text, slider, button, note, out])
    box.redraw = redraw
    display(box)
    return box
