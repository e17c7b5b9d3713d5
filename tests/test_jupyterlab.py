"""JupyterLab starts from the course environment, serves lessons/ and has
the nbgrader extension; the server is shut down afterwards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import LESSONS, ROOT

pytestmark = pytest.mark.slow
TOKEN = "course-smoke-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, method: str = "GET"):
    req = urllib.request.Request(
        url, method=method, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    home = tmp_path_factory.mktemp("home")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
           f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={ROOT}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            get(f"{base}/api/status")
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start:\n" +
                            (home / "server.log").read_text()[-3000:])
            time.sleep(0.5)
    yield base, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_serves_the_lessons(server):
    base, _ = server
    status, body = get(f"{base}/api/contents/lessons")
    names = {item["name"] for item in json.loads(body)["content"]}
    expected = {p.name for p in LESSONS.glob("*.ipynb")}
    assert expected and expected <= names
    status, body = get(f"{base}/api/contents/lessons/01_sequences.ipynb")
    assert json.loads(body)["type"] == "notebook"
    status, html = get(f"{base}/lab/tree/lessons/01_sequences.ipynb")
    assert status == 200 and "JupyterLab" in html


def test_nbgrader_extension_is_installed(server):
    base, _ = server
    _, body = get(f"{base}/lab/api/extensions")
    names = {ext["name"] for ext in json.loads(body)}
    assert "jupyter-nbgrader" in names, sorted(names)
    # The server side of nbgrader answers too (the formgrader page).
    status, _ = get(f"{base}/formgrader")
    assert status == 200


def test_shutdown(server):
    base, proc = server
    get(f"{base}/api/shutdown", method="POST")
    assert proc.wait(timeout=30) == 0
