"""The course web site: built offline, checked in a real headless browser.

One build (``python -m website``, into a temporary folder; executed
notebooks come from the shared cache in ``.site-cache/``, so only lessons
changed since the last build run), served on 127.0.0.1 and visited page by
page in one Chromium session (Debian's ``chromium`` and
``chromium-driver``, installed here with apt when missing; Selenium is
given the driver's path, so it downloads nothing). Screenshots of the
landing page and of one lesson are saved under ``build/site-test/`` (or
``$SITE_ARTEFACTS``).
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from website.notebooks import HIDDEN_MARKERS, hidden_test_blocks

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = Path(os.environ.get("SITE_ARTEFACTS",
                                ROOT / "build" / "site-test"))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
LOCAL_SCHEMES = {"data", "blob", "about"}
SEVERE = {"critical", "serious"}

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site once into a temporary folder."""
    tmp = tmp_path_factory.mktemp("site")
    out = tmp / "html"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "website", "--out", str(out),
         "--work", str(tmp / "work"), "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"site build failed:\n{result.stdout[-4000:]}\n"
        f"{result.stderr[-6000:]}")
    print(f"site built in {time.perf_counter() - start:.0f} s")
    return out


@pytest.fixture(scope="module")
def server(site):
    """The built site over HTTP on 127.0.0.1; yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def ensure_chromium() -> None:
    """Debian's chromium and its driver; installed with apt if missing."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    assert shutil.which("apt-get") and os.geteuid() == 0, (
        "the site test needs Debian's chromium and chromium-driver: "
        "apt-get install -y chromium chromium-driver")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium",
                    "chromium-driver"], check=True, env=env)
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def start_browser():
    """Headless Chromium under Selenium, logging console and network."""
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,1600",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions",
                # Nothing but this machine can be reached; a request
                # elsewhere fails and is reported as such below.
                "--host-resolver-rules=MAP * ~NOTFOUND, "
                "EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs",
                           {"browser": "ALL", "performance": "ALL"})
    # An explicit driver path: Selenium Manager is never asked for one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(300)      # axe on a long lesson, loaded CPU
    return driver


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


# ----------------------------------------------------------------- helpers

def pages(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("*.html"))


def lesson_pages(site: Path) -> list[str]:
    return [p for p in pages(site) if re.match(r"\d\d_", p)]


def drain(driver) -> tuple[list[dict], list[dict]]:
    """Console entries and network events since the last call."""
    console = driver.get_log("browser")
    network = [json.loads(e["message"])["message"]
               for e in driver.get_log("performance")]
    return console, network


def request_problems(network: list[dict]) -> list[str]:
    problems, urls = [], {}
    for event in network:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            parsed = urlparse(url)
            if parsed.scheme not in LOCAL_SCHEMES and \
                    parsed.hostname != "127.0.0.1":
                problems.append(f"request to another host: {url}")
        elif method == "Network.loadingFailed":
            problems.append(
                f"failed request: {urls.get(params['requestId'], '?')} "
                f"({params.get('errorText')})")
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                problems.append(f"HTTP {status}: {params['response']['url']}")
    return problems


def wait_for(driver, check, timeout: float = 30.0):
    """Wait until ``check`` is true: a script run in the page, or a
    function of the driver."""
    from selenium.webdriver.support.ui import WebDriverWait
    test = check if callable(check) else (
        lambda d: d.execute_script(check))
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(test)


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait_for(driver, "return document.readyState === 'complete'")
    # MathJax typesets after load; wait for it when the page has math.
    done = driver.execute_async_script("""
        const cb = arguments[arguments.length - 1];
        const start = Date.now();
        (function poll() {
          if (!document.querySelector('.math')) return cb('no math');
          if (window.MathJax && MathJax.startup && MathJax.startup.promise)
            return MathJax.startup.promise.then(() => cb('typeset'),
                                                e => cb('error ' + e));
          if (Date.now() - start > 30000) return cb('no MathJax');
          setTimeout(poll, 100);
        })();""")
    assert done in {"typeset", "no math"}, f"{url}: MathJax: {done}"


MATH_CHECK = """
    const math = document.querySelectorAll('span.math, div.math').length;
    const typeset = document.querySelectorAll('mjx-container').length;
    const body = document.querySelector('main') || document.body;
    const copy = body.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container, '
                          + 'mjx-assistive-mml').forEach(e => e.remove());
    return [math, typeset, copy.textContent];
"""

IMAGE_CHECK = """
    return Array.from(document.images).map(img => [
        img.getAttribute('src'), img.complete, img.naturalWidth,
        img.getAttribute('alt') || '']);
"""


def axe_violations(driver) -> list[str]:
    from axe_selenium_python import Axe
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    return [f"{v['id']} ({v['impact']}): {v['help']}; e.g. "
            f"{v['nodes'][0]['target'] if v['nodes'] else ''}"
            for v in results["violations"] if v.get("impact") in SEVERE]


# ------------------------------------------------------------------- tests

@dataclass
class Visit:
    """What one visit of a page found."""

    problems: list[str]           # for test_every_page_in_a_real_browser
    downloads: set[str]           # hrefs of the download links
    text: str                     # the text of <main>
    notes_without_figure: int     # widget notes with no figure before


@pytest.fixture(scope="module")
def visits(site, server, browser) -> dict[str, Visit]:
    """Every page opened once in the browser; what the tests check."""
    from selenium.webdriver.common.by import By

    out = {}
    drain(browser)
    for page in pages(site):
        open_page(browser, server + page)
        console, network = drain(browser)
        bad = [f"console {e['level']}: {e['message']}" for e in console
               if e["level"] == "SEVERE"]
        bad += request_problems(network)
        math, typeset, text = browser.execute_script(MATH_CHECK)
        if math and typeset < math:
            bad.append(f"{math} math elements, {typeset} typeset")
        for raw in ("$$", "\\(", "\\)", "\\[", "\\begin{"):
            if raw in text:
                at = text.index(raw)
                bad.append(f"raw TeX {raw!r} left: {text[at-40:at+40]!r}")
        for src, complete, width, alt in browser.execute_script(
                IMAGE_CHECK):
            if not complete or not width:
                bad.append(f"image not loaded: {src}")
            if not alt.strip():
                bad.append(f"image without alt text: {src}")
        if re.search(r"loading widget|widget-view\+json|"
                     r"widget-state\+json", browser.page_source, re.I):
            bad.append("a widget placeholder is left")
        bad += axe_violations(browser)
        links = {a.get_attribute("href") for a in browser.find_elements(
            By.CSS_SELECTOR, "a.download")}
        # Every widget leaves a note right after its static figure.
        lonely = 0
        for note in browser.find_elements(By.CSS_SELECTOR,
                                          "p.widget-note"):
            before = note.find_elements(By.XPATH, "preceding::img[1]")
            if not (before and before[0].get_attribute("naturalWidth")
                    not in (None, "0")):
                lonely += 1
        main = browser.find_elements(By.TAG_NAME, "main")
        out[page] = Visit(bad, links, main[0].text if main else "", lonely)
    return out


def test_every_page_in_a_real_browser(site, visits):
    """Each page: no console error, no failed or outside request, math
    typeset, images loaded with alt text, no widget placeholder, no
    critical or serious accessibility violation."""
    found = pages(site)
    lessons = lesson_pages(site)
    assert "index.html" in found and "search.html" in found
    assert lessons, "no lesson page was built"
    assert len(lessons) == len(list((ROOT / "solutions").glob(
        "[0-9][0-9]_*.py"))), "not every lesson has its page"
    assert sorted(visits) == found
    problems = {page: v.problems for page, v in visits.items()
                if v.problems}
    assert not problems, json.dumps(problems, indent=1)


def test_lesson_pages_have_downloads_toggle_and_widget_notes(
        site, server, browser, visits):
    from selenium.webdriver.common.by import By

    for page in lesson_pages(site):
        name = page.removesuffix(".html")
        links = visits[page].downloads
        assert any(h.endswith(f"/{name}.ipynb") for h in links), (
            page, links)
        for href in links:
            with urllib.request.urlopen(href) as response:
                nb = json.loads(response.read())
            assert nb["cells"], href
        body = visits[page].text
        assert f"python3 course.py start lessons/{name}.ipynb" in body
        assert visits[page].notes_without_figure == 0, (
            f"{page}: a widget note without figure")
    # One solution toggle opens and shows the reference solution.
    page = lesson_pages(site)[0]
    open_page(browser, server + page)
    toggle = browser.find_element(By.CSS_SELECTOR,
                                  "details.hide.above-input")
    code = toggle.find_element(By.CSS_SELECTOR, ".cell_input")
    assert not code.is_displayed()
    assert "Show the reference solution" in toggle.text
    toggle.find_element(By.TAG_NAME, "summary").click()
    wait_for(browser, "return document.querySelector("
                      "'details.hide.above-input').open")
    # myst-nb fades the opened input in over 0.3 s, from opacity 0,
    # which Selenium counts as not displayed: wait until it shows.
    from selenium.common.exceptions import TimeoutException
    try:
        wait_for(browser, lambda _: code.is_displayed(), timeout=10)
    except TimeoutException:
        pass                    # the assertion below says what is wrong
    assert code.is_displayed() and "def " in code.text
    # Screenshots: the lesson at its first exercise, solution open.
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()", toggle)
    browser.execute_script("window.scrollBy(0, -400)")
    shots = [ARTEFACTS / "lesson.png", ARTEFACTS / "landing.png"]
    browser.save_screenshot(str(shots[0]))
    open_page(browser, server + "index.html")
    browser.save_screenshot(str(shots[1]))
    for path in shots:
        assert path.stat().st_size > 10_000
    print(f"screenshots in {ARTEFACTS}")


def search_results(browser, server: str, query: str) -> list[str]:
    from selenium.webdriver.common.by import By

    open_page(browser, server + "search.html?q=" + query.replace(" ", "+"))
    wait_for(browser, """
        const s = document.querySelector('#search-results');
        return s && (s.querySelectorAll('li').length > 0
                     || /finished|did not match/i.test(s.textContent));""",
             timeout=60)
    return [a.get_attribute("href") for a in browser.find_elements(
        By.CSS_SELECTOR, "#search-results li > a")]


def test_search_finds_the_right_lesson(site, server, browser):
    bptt = [p for p in lesson_pages(site) if "bptt" in p]
    assert bptt, "no lesson on backpropagation through time"
    hits = search_results(browser, server, "backpropagation")
    assert hits and urlparse(hits[0]).path.endswith("/" + bptt[0]), hits
    lstm = [p for p in lesson_pages(site) if "lstm" in p]
    if lstm:                         # once the LSTM lesson is in
        hits = search_results(browser, server, "forget gate")
        assert any(urlparse(h).path.endswith("/" + lstm[0])
                   for h in hits), hits


def _text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        return html.unescape(re.sub(r"<[^>]+>", "", raw))
    if path.suffix == ".ipynb":
        nb = json.loads(raw)
        return "\n".join("".join(c["source"]) if isinstance(
            c["source"], list) else c["source"] for c in nb["cells"])
    return raw


def test_no_hidden_test_anywhere_in_the_site(site):
    hidden = [line.strip()
              for source in sorted((ROOT / "solutions").glob(
                  "[0-9][0-9]_*.py"))
              for block in hidden_test_blocks(source)
              for line in block.splitlines() if len(line.strip()) > 8]
    assert hidden, "the lessons have no hidden tests to look for"
    files = [p for p in site.rglob("*") if p.is_file() and p.suffix in
             {".html", ".ipynb", ".txt", ".js", ".json", ".md"}]
    assert any(p.suffix == ".ipynb" for p in files)
    leaks = [f"{p.relative_to(site)}: {needle!r}"
             for p in files for text in [_text(p)]
             for needle in (*HIDDEN_MARKERS, *hidden) if needle in text]
    assert not leaks, leaks
