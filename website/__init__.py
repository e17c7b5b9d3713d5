"""The course as a static web site, built offline with Sphinx and MyST-NB.

    python3 course.py site            build into build/site/
    python -m website --out DIR       the same, into DIR

:mod:`website.notebooks` turns each lesson source in ``solutions/`` into
the notebook of its page (hidden tests removed, the exercise shown as the
student sees it, the reference solution folded away) and writes the
landing page; :mod:`website.build` runs Sphinx on them, with MyST-NB
executing the notebooks through its cache; :mod:`website.ext` is the
Sphinx extension for what a static page needs (alt text, a line in place
of each widget).
"""
