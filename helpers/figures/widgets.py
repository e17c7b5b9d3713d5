"""Interactive controls for the lessons (ipywidgets).

The pattern, in :func:`interactive_figure`: draw the figure for the
default values as an ordinary output, then show the controls with an
``ipywidgets.Output`` area below them, where moving a control draws the
new figure. A notebook executed without a widget frontend (the rendered
site, ``nbconvert``) therefore still shows a complete figure. (Redrawing
the first output in place through a display id would avoid showing two
figures, but JupyterLab ignores display updates sent from widget
callbacks, so the redraw goes into the ``Output`` widget, which every
frontend supports.)

Lesson 1: :func:`window_explorer`, :func:`bag_of_words_explorer`.
Lesson 2: :func:`hidden_state_explorer` (uses :func:`hidden_state_runs`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from helpers.figures import plots

__all__ = [
    "interactive_figure", "window_explorer", "bag_of_words_explorer",
    "hidden_state_runs", "hidden_state_explorer",
]


def interactive_figure(draw: Callable[..., Figure],
                       continuous_update: bool = False, **controls):
    """Show ``draw(**defaults)`` now, then controls that redraw it.

    Parameters
    ----------
    draw : callable
        Takes one keyword argument per control and returns a
        :class:`matplotlib.figure.Figure`.
    continuous_update : bool
        If False (the default), sliders redraw when released rather than
        at every pixel, which keeps slow figures responsive.
    **controls : ipywidgets.ValueWidget
        The controls, e.g. ``k=widgets.IntSlider(value=5, min=1,
        max=20)``; the keyword is the argument of ``draw`` it sets and the
        widget's ``value`` is the default.

    Returns
    -------
    ipywidgets.VBox
        The controls, a one-line note and the ``Output`` area, already
        displayed: as a cell's last value it is not shown a second time.
        Its ``redraw()`` attribute draws the figure for the current
        values into the output area and returns it.

    Examples
    --------
    >>> import ipywidgets as widgets                     # doctest: +SKIP
    >>> interactive_figure(lambda k: plot_something(k),
    ...                    k=widgets.IntSlider(value=3, min=1, max=9))
    """
    import ipywidgets as widgets

    for name, control in controls.items():
        if not hasattr(control, "value"):
            raise TypeError(f"control {name!r} has no .value; pass an "
                            f"ipywidgets control such as IntSlider")
        if hasattr(control, "continuous_update"):
            control.continuous_update = continuous_update
        if not getattr(control, "description", ""):
            control.description = name

    def values():
        return {name: c.value for name, c in controls.items()}

    display(draw(**values()))          # the static figure, default values
    out = widgets.Output()
    note = widgets.HTML("<small>The figure above shows the default "
                        "values; move a control to redraw it below.</small>")

    def redraw(change=None):
        fig = draw(**values())
        with out:
            out.clear_output(wait=True)
            display(fig)
        return fig

    for control in controls.values():
        control.observe(redraw, names="value")
    box = widgets.VBox([*controls.values(), note, out])
    box.redraw = redraw
    display(box)
    # Shown once above; as the value of a cell it must not appear again.
    box._ipython_display_ = lambda: None
    return box


# ---------------------------------------------------------------- lesson 1

def window_explorer(sentence: Sequence[str], clue: int, ks: np.ndarray,
                    accuracy: np.ndarray, best: np.ndarray, chance: float,
                    k: int | None = None):
    """Slide the window length of the MLP and see what it can read.

    Arguments are those of :func:`helpers.figures.plots.plot_window_view`; the
    slider takes the values in ``ks`` (evenly spaced).
    """
    import ipywidgets as widgets

    ks = np.asarray(ks)
    step = int(ks[1] - ks[0]) if len(ks) > 1 else 1
    slider = widgets.IntSlider(
        value=int(ks[len(ks) // 3] if k is None else k), min=int(ks[0]),
        max=int(ks[-1]), step=step, description="window k")
    return interactive_figure(
        lambda k: plots.plot_window_view(sentence, clue, k, ks, accuracy,
                                         best, chance),
        k=slider)


def bag_of_words_explorer(sentence: str, vocab: Sequence[str],
                          bag_of_words: Callable | None = None):
    """Shuffle the words of a sentence; its bag of words does not move.

    Parameters
    ----------
    sentence : str
    vocab : sequence of str
    bag_of_words : callable, optional
        ``bag_of_words(sentence, vocab) -> (V,)``; by default the
        reference :func:`helpers.support.sequences.bag_of_words`.
    """
    import ipywidgets as widgets

    if bag_of_words is None:
        from helpers.support.sequences import bag_of_words
    words = sentence.split()

    def draw(shuffle):
        order = np.random.default_rng(shuffle).permutation(len(words))
        shuffled = " ".join(words[i] for i in order) if shuffle \
            else sentence
        bags = np.array([bag_of_words(sentence, vocab),
                         bag_of_words(shuffled, vocab)])
        return plots.plot_bag_of_words([sentence, shuffled], bags, vocab)

    return interactive_figure(
        draw, shuffle=widgets.IntSlider(value=1, min=0, max=20,
                                        description="shuffle #"))


# ---------------------------------------------------------------- lesson 2

def hidden_state_runs(rho: float, T: int = 40, D: int = 4, H: int = 16,
                      seed: int = 0, forward=None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Run a random simple RNN whose ``W_hh`` has spectral radius ``rho``.

    ``W_hh = rho * Q`` with ``Q`` a random orthogonal matrix, so every
    eigenvalue of ``W_hh`` has modulus exactly ``rho``. The RNN reads one
    random sequence, and a second time the same sequence with a different
    first input ``x_1``. ``forward`` is the sequence forward to run, with
    the signature of ``rnn_forward`` (the lesson passes in the student's;
    default: the reference).

    Returns
    -------
    h : ndarray, shape (T, H)
        The hidden states of the first run.
    gap : ndarray, shape (T,)
        ``||h_t - h'_t||``: what the state still carries of ``x_1``.
    """
    if forward is None:
        from helpers.reference.rnn import rnn_forward as forward

    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    params = {"W_xh": rng.normal(0, 1 / np.sqrt(D), (H, D)),
              "W_hh": rho * Q,
              "b_h": np.zeros(H)}
    x = rng.normal(size=(2, T, D))                            # (2, T, D)
    x[1, 1:] = x[0, 1:]             # the two runs differ only in x_1
    h, _, _ = forward(x, np.zeros((2, H)), params)            # (2, T, H)
    return h[0], np.linalg.norm(h[0] - h[1], axis=1)


def hidden_state_explorer(rho: float = 0.9, T: int = 40, seed: int = 0,
                          forward=None):
    """Slide the spectral radius of ``W_hh``; watch the state fade or
    saturate. Draws :func:`helpers.figures.plots.plot_hidden_trajectories`
    (``forward`` as in :func:`hidden_state_runs`)."""
    import ipywidgets as widgets

    def draw(rho):
        h, gap = hidden_state_runs(rho, T=T, seed=seed, forward=forward)
        return plots.plot_hidden_trajectories(
            h, gap, title=f"spectral radius of W_hh = {rho:.2f}")

    return interactive_figure(
        draw, rho=widgets.FloatSlider(value=rho, min=0.1, max=3.0,
                                      step=0.05, description="rho"))
