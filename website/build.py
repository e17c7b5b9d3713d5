"""Build the course site: write the sources, run Sphinx with MyST-NB.

Folders (all outside git):

* ``build/site/html/`` - the site (open its ``index.html``); MyST-NB
  keeps the images it extracted beside it in ``build/site/jupyter_execute``;
* ``.site-cache/jupyter-cache/`` - the executed notebooks, kept between
  builds, so a build with no change executes nothing and a build after
  one lesson changed executes that lesson only;
* ``.site-cache/src/`` and ``.site-cache/doctrees/`` - the generated
  sources and Sphinx's own state, also kept, so an unchanged page is not
  even read again.

Warnings are errors: a cell that raises, a broken cross-reference or a
missing file fails the build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from website.execute import TIMEOUT, execute_missing
from website.notebooks import write_sources

ROOT = Path(__file__).resolve().parents[1]
CONFDIR = Path(__file__).resolve().parent
OUT = ROOT / "build" / "site" / "html"
CACHE = ROOT / ".site-cache"

# The kernels that run the lessons: one thread each (fast and
# deterministic on a shared machine), no GUI backend.
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


def _forget_state_if_builder_changed(work: Path, doctrees: Path) -> None:
    """Sphinx re-reads a page only when its source changed; when this
    package (the extension, the page generator, conf.py) changed, every
    page must be read again. Executed notebooks stay cached."""
    digest = hashlib.sha256(b"".join(
        p.read_bytes() for p in sorted(CONFDIR.glob("*.py")))).hexdigest()
    stamp = work / "builder.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    shutil.rmtree(doctrees, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def build(out: Path = OUT, cache: Path = CACHE,
          work: Path | None = None, quiet: bool = False,
          root: Path = ROOT) -> float:
    """Build the whole site into ``out``; return the seconds it took.

    ``cache`` holds the executed notebooks; ``work`` the generated sources
    and doctrees (default: inside ``cache``); ``root`` is the course
    (its ``solutions/``, ``lessons/`` and ``README.md``).
    """
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    work = Path(work) if work else Path(cache)
    srcdir, doctrees = work / "src", work / "doctrees"
    lessons = write_sources(Path(root), srcdir)
    _forget_state_if_builder_changed(work, doctrees)
    os.environ.update(KERNEL_ENV)
    os.environ["COURSE_SITE_CACHE"] = str(Path(cache) / "jupyter-cache")
    execute_missing(Path(cache) / "jupyter-cache",
                    sorted(srcdir.glob("*.ipynb")), TIMEOUT,
                    log=(lambda *a: None) if quiet else print)
    args = ["-b", "html", "-W", "--keep-going", "-c", str(CONFDIR),
            "-d", str(doctrees), str(srcdir), str(out)]
    if quiet:
        args.insert(0, "-q")
    status = build_main(args)
    if status != 0:
        raise SystemExit(f"the site build failed (status {status}); "
                         "see the messages above")
    took = time.perf_counter() - start
    print(f"site of {len(lessons)} lessons built in {took:.0f} s: "
          f"{Path(out) / 'index.html'}", flush=True)
    return took
