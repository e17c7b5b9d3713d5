"""Sphinx configuration of the course site (see website/build.py).

The build passes its folders in the environment: ``COURSE_SITE_CACHE``
holds the jupyter-cache of executed notebooks, kept between builds.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

project = "Recurrent neural networks: an interactive course"
copyright = "the course authors, MIT licence"
html_title = "Recurrent neural networks"

extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx-mathjax-offline",      # MathJax from the package, not a CDN
    "website.ext",
]
exclude_patterns = ["student", "**.ipynb_checkpoints", "jupyter_execute"]
root_doc = "index"

# Notebooks run through jupyter-cache: a page is executed again only when
# its code changed. Any error in a cell fails the build.
nb_execution_mode = "cache"
nb_execution_cache_path = os.environ.get(
    "COURSE_SITE_CACHE", str(ROOT / ".site-cache" / "jupyter-cache"))
from website.execute import TIMEOUT  # noqa: E402

nb_execution_timeout = TIMEOUT
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# A static page has no kernel: never load the widget manager (it would
# come from a CDN); website.ext puts a line in place of each widget.
nb_ipywidgets_js = {}

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "search_bar_text": "Search the course ...",
    "navigation_with_keys": False,
}
html_show_sphinx = False
html_last_updated_fmt = None
html_favicon = str(HERE / "static" / "favicon.svg")
# The theme includes its parts as "../components/NAME.html": overrides of
# those live in templates/components, beside templates/theme.
templates_path = [str(HERE / "templates" / "theme")]
# The theme's colour mode before the reader picks one (an empty value
# makes the theme log an error in the console).
html_context = {"default_mode": "light"}
