"""A class served by scripts/serve_class.sh: HAProxy in front of two Streamlit replicas, in headless Chromium.

- the proxy adds the headers Streamlit does not send, on pages, endpoints and assets;
- three students (browser contexts, each with its own settings in the URL) are dealt out to both replicas by the
  SERVERID cookie;
- the replica of the first student is killed (SIGTERM, SIGKILL if still alive after 5 s): every student who was on it
  is back on a working view on the other replica within 30 s — the same settings, charts drawn, no traceback, the
  next moves served there, the first one kept — by Streamlit's own reconnect (HAProxy redispatches the websocket; no reload needed);
  the students on the other replica never notice; serve_class.sh starts the dead replica again;
- SIGTERM to serve_class.sh stops HAProxy and every replica.
"""
from __future__ import annotations

import gzip
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from test_browser import assert_no_problem, slider, slider_value, wait_idle

SCRIPT = ROOT / "scripts" / "serve_class.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": "frame-ancestors 'self'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
SCALE, T_LEN = "Scale (ρ or σ₁)", "Sequence length T"
# Three students, each on a lesson with their own settings (scale steps by 0.05)
STUDENTS = [("/Gradient_flow", "1.2", "40"), ("/Vanishing_and_exploding", "0.9", "30"), ("/Gradient_flow", "1.5", "25")]
RESTART_DELAY = 10           # serve_class.sh starts a dead replica again after this (after the failover is checked)
# Every change of the app's connection state and every script run, timed in the page.
TRACK = """(() => { const C = window.__class = {conn: [], runs: 0};
  new MutationObserver(ms => { for (const m of ms) { const v = m.target.getAttribute(m.attributeName);
      if (m.attributeName === 'data-test-connection-state') C.conn.push([performance.now(), v]);
      else if (v === 'running') C.runs++; } })
    .observe(document, {subtree: true, attributes: true,
                        attributeFilter: ['data-test-connection-state', 'data-test-script-state']});
})();"""


def haproxy_servers(sock: Path) -> dict[str, str]:
    """Each replica's state as HAProxy sees it (UP, DOWN, …), from its admin socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(sock))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    rows = [line.split(",") for line in data.decode().splitlines() if line and not line.startswith("#")]
    return {r[1]: r[17] for r in rows if r[0] == "replicas" and r[1] != "BACKEND"}


def dead(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def kill_replica(pid: int):
    """SIGTERM, then SIGKILL if it is still alive after 5 s (a replica that hangs on shutdown)."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while not dead(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not dead(pid):
        os.kill(pid, signal.SIGKILL)


def logs(d: Path) -> str:
    return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-1500:] for p in sorted(d.glob("*.log")))


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """scripts/serve_class.sh 2 on free ports, HAProxy bound to 127.0.0.1; its directory, URL and process."""
    if shutil.which("haproxy") is None:
        if IN_CI:
            pytest.fail("haproxy is missing: scripts/test.sh installs Debian's haproxy (apt-get install haproxy)")
        pytest.skip("haproxy not installed (apt-get install haproxy)")
    d = tmp_path_factory.mktemp("class")
    ports = set()
    while len(ports) < 3:
        ports.add(free_port())
    port, *replicas = sorted(ports)
    env = {**os.environ, "BPTT_CLASS_DIR": str(d), "BPTT_PROXY_ADDRESS": "127.0.0.1",
           "BPTT_REPLICA_PORTS": " ".join(map(str, replicas)), "BPTT_COOKIE_SECRET": secrets.token_hex(32),
           "BPTT_RESTART_DELAY": str(RESTART_DELAY), "PYTHON": sys.executable}
    out = open(d / "serve_class.out", "w")
    proc = subprocess.Popen(["bash", str(SCRIPT), "2", str(port)], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while "READY " not in (d / "serve_class.out").read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("serve_class.sh did not get ready:\n" + (d / "serve_class.out").read_text() + logs(d))
        time.sleep(0.3)
    assert haproxy_servers(d / "haproxy.sock") == {"r1": "UP", "r2": "UP"}
    yield {"dir": d, "url": f"http://127.0.0.1:{port}", "port": port, "proc": proc}
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)           # its own process group: serve_class.sh and its children
    out.close()


def test_the_proxy_adds_the_security_headers(klass):
    url = klass["url"]
    html = urllib.request.urlopen(url + "/", timeout=10).read().decode()
    asset = re.search(r'src="\.?(/static/js/[^"]+\.js)"', html)
    assert asset, html[:500]
    for path in ("/", "/Gradient_flow?scale=1.2&T=40", "/_stcore/health", asset.group(1)):
        with urllib.request.urlopen(url + path, timeout=10) as r:
            assert r.status == 200, path
            for name, value in HEADERS.items():
                assert r.headers.get(name) == value, (path, name, dict(r.headers))
            if path.startswith("/Gradient"):                  # a new visitor is given their replica's cookie
                assert re.fullmatch(r"SERVERID=r[12]; path=/; HttpOnly; SameSite=Lax", r.headers["Set-Cookie"])
    # scripts are gzipped by the proxy for a browser that accepts it (Streamlit sends them as they are)
    plain = urllib.request.urlopen(url + asset.group(1), timeout=10).read()
    req = urllib.request.Request(url + asset.group(1), headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.headers.get("Content-Encoding") == "gzip", dict(r.headers)
        packed = r.read()
    assert gzip.decompress(packed) == plain and len(packed) < len(plain) / 2, (len(packed), len(plain))


def _student(browser, url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(TRACK)
    pg = ctx.new_page()
    pg.js_errors = []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    pg.goto(url)
    wait_idle(pg)
    assert_no_problem(pg)
    return ctx, pg


def _replica(ctx) -> str:
    return {c["name"]: c["value"] for c in ctx.cookies()}["SERVERID"]


def _shows(pg, path, scale, t):
    """The student's own view: their lesson and settings, every chart drawn, no traceback or error box."""
    assert urllib.parse.urlparse(pg.url).path == path, pg.url
    assert (slider_value(pg, SCALE), slider_value(pg, T_LEN)) == (scale, t)
    charts = pg.get_by_test_id("stPlotlyChart")
    assert charts.count() >= 2 and charts.locator(".main-svg").count() >= charts.count()
    assert_no_problem(pg)


def _move(pg) -> str:
    slider(pg, SCALE).focus()
    pg.keyboard.press("ArrowRight")
    wait_idle(pg)
    assert_no_problem(pg)
    return slider_value(pg, SCALE)


def test_students_keep_their_view_when_their_replica_dies(klass, browser):
    d, url = klass["dir"], klass["url"]
    students = [_student(browser, f"{url}{path}?scale={scale}&T={t}") for path, scale, t in STUDENTS]
    on = [_replica(ctx) for ctx, _ in students]
    assert set(on) == {"r1", "r2"}, on                  # dealt out in turn, not all on one replica
    for (path, scale, t), (_, pg) in zip(STUDENTS, students):
        _shows(pg, path, scale, t)
    victim = on[0]
    survivor = ({"r1", "r2"} - {victim}).pop()
    moved = [i for i, r in enumerate(on) if r == victim]
    stayed = [i for i, r in enumerate(on) if r != victim]
    before = [pg.evaluate("() => [window.__class.conn.length, window.__class.runs]") for _, pg in students]

    t0 = time.monotonic()
    kill_replica(int((d / f"{victim}.pid").read_text()))
    # Streamlit's client sees its websocket close, pings /_stcore/health and reconnects; HAProxy finds the victim
    # dead (refused connection: retried on the survivor at once, and marked DOWN) and sends the websocket to the
    # survivor, with a new SERVERID cookie. The survivor has no session for this browser and makes a new one; the
    # page keeps what it drew, and its next run rebuilds the view from the settings in the URL.
    back = {}
    for i in moved:
        _, pg = students[i]
        pg.wait_for_function("n => window.__class.conn.length > n && document.querySelector("
                             "'[data-testid=stApp]').getAttribute('data-test-connection-state') === 'CONNECTED'",
                             arg=before[i][0], timeout=30_000)
        back[i] = round(time.monotonic() - t0, 1)
    print(f"\nkilled {victim}: students {moved} reconnected to {survivor} after {back} s", end="")
    assert haproxy_servers(d / "haproxy.sock")[victim] != "UP"

    for i in moved:
        ctx, pg = students[i]
        path, scale, t = STUDENTS[i]
        assert _replica(ctx) == survivor
        _shows(pg, path, scale, t)
        # The first move is the new replica's first run for this browser: the session is new, so the settings are
        # read from the URL — which holds the view the student had before the move — while the browser sends the
        # moved slider's value with the rerun; the move is the student's latest word and must be kept
        # (ui.url_state.widget), not undone by the URL.
        first = _move(pg)
        assert first == f"{float(scale) + 0.05:g}", (scale, first)
        second = _move(pg)
        assert abs(float(second) - float(first) - 0.05) < 1e-9, (first, second)
        assert f"scale={second}" in pg.url, pg.url
        assert slider_value(pg, T_LEN) == t
        _shows(pg, path, second, t)
        assert _replica(ctx) == survivor
    # A student who reloads instead gets the same view from the URL, on the survivor.
    ctx, pg = students[moved[0]]
    kept = slider_value(pg, SCALE)
    pg.reload()
    wait_idle(pg)
    _shows(pg, STUDENTS[moved[0]][0], kept, STUDENTS[moved[0]][2])
    assert _replica(ctx) == survivor

    for i in stayed:                                    # the other replica's students noticed nothing
        ctx, pg = students[i]
        path, scale, t = STUDENTS[i]
        assert pg.evaluate("() => [window.__class.conn.length, window.__class.runs]") == before[i]
        assert _replica(ctx) == survivor
        _shows(pg, path, scale, t)
        assert _move(pg) == f"{float(scale) + 0.05:g}"

    # serve_class.sh starts the dead replica again and HAProxy takes it back
    deadline = time.monotonic() + RESTART_DELAY + 60
    while haproxy_servers(d / "haproxy.sock")[victim] != "UP":
        assert time.monotonic() < deadline, logs(d)
        time.sleep(0.5)
    assert f"starting replica {victim} again" in (d / "serve_class.out").read_text()
    for ctx, _ in students:
        ctx.close()


def test_sigterm_stops_haproxy_and_every_replica(klass):
    d, proc = klass["dir"], klass["proc"]
    pids = [int((d / f"{name}.pid").read_text()) for name in ("haproxy", "r1", "r2")]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 143
    assert all(dead(p) for p in pids), pids
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", klass["port"])) != 0      # nothing listens on the class's port
