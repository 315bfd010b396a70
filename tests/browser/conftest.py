"""A real Streamlit server and a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from optional import needs

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """A fresh server for the session; its first page request is made by the first test (a deep link)."""
    port = free_port()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "artifacts" / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            # class questions go to a database of this test session only
                            env={**{k: v for k, v in os.environ.items() if k != "BPTT_DB_URL"},
                                 "BPTT_DB_PATH": str(ROOT / "artifacts" / f"questions-{port}.sqlite3")})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s (see artifacts/streamlit.log)")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    pw = needs("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors, external = [], []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # Every asset ships with the app (a classroom LAN has no internet): a request off this machine is recorded.
    pg.on("request", lambda r: None if r.url.startswith(LOCAL) else external.append(r.url))
    pg.js_errors = errors
    pg.external_requests = external
    yield pg
    ctx.close()


def pytest_collection_modifyitems(items):
    """The deep-link test must be the fresh server's very first request, whatever file sorts first."""
    first = [i for i in items if i.name == "test_first_request_is_a_deep_link_with_parameters"]
    items[:] = first + [i for i in items if i not in first]
