"""Worst-case requests: the server CPU, memory and budget notes of every page at the corners of its settings, in
headless Chromium (Debian's /usr/bin/chromium via Playwright) against a fresh server started here.

The targets it checks (on this 2-core machine):
  1. no single request takes over 5 s of server CPU (the maximum reached and which request are reported);
     every heavy view says what it skipped — the text of every info/warning alert and of every caption that
     mentions a budget ("budget", "skipped", "drawn up to", "fewer", "first … steps", …) is recorded per request;
  2. the server's RSS after 30 distinct heavy settings is ≤ 1.5 GB, and stable after 30 more;
  3. one training-lab update at the sliders' maxima takes ≤ 300 MB (measured in a separate Python process: the
     lab page is run in Streamlit's AppTest with the maxima in its URL, so the Trainer is exactly the one the page
     builds — with any clamp the page applies — and one trainer.step() is measured with tracemalloc and RSS).

Requests are sequential, from one browser page: the server is idle before each one, so the server's CPU time
(psutil: user + system, children included) from the action until it is idle again is that request's CPU.
A request ends when a script run that started after the action has finished (websocket tap: new_session →
script_finished; the stApp's data-test-script-state as a fallback), no element is stale, every Plotly chart is
drawn and the page has been quiet for a moment. A request that does not end within --timeout wall seconds is
recorded as "timeout" with its CPU so far; the server is then given time to finish (its CPU counted until it is
idle, up to --idle-cap s) before the sweep continues.

Corners: every page (home and pages/1…8) × every cell (rnn with tanh and relu, lstm, gru, indrnn) ×
{maxima: T = 1000, H = 256 and each page's own numeric settings at their maxima; minima: T = 2, H = 2 and the
page's own minima}. The page's own settings are read from the app's settings table (ui.params.BY_PAGE), so
settings other engineers add are swept too. Each corner is opened as a cold deep link (a new session), then every slider on the page is moved once with the keyboard (one step, away from the corner's end)
and every selectbox once (the next option; skipped at a corner whose cold load cost more than --cheap-cpu s).
By default every corner gets its own seed (--seeds unique), so no request is served from the cache of an
earlier one — the cost of a link nobody has opened yet. At the maxima, the training lab's ▶ play runs for
--play-s seconds (server CPU per second, whether the status line stayed visible, every run's duration), then
❚❚ pause; in the default mode the architectures page's race the same way.

RSS phase: on a fresh server, 30 distinct heavy settings (pages 2, 3, 4, 6 in turn, cells in turn, H = 256,
T = 1000, seed = N for N = 1 … 30), RSS sampled after each, then 30 more (N = 31 … 60): first / after 30 /
after 60.

    python3 benchmarks/bench_worst_case.py --quick --pages 3      # one page, maxima, rnn + lstm, H/T/scale/seed
    python3 benchmarks/bench_worst_case.py --quick                # every page, quick
    python3 benchmarks/bench_worst_case.py                        # everything (hours with slow corners)
    python3 benchmarks/bench_worst_case.py --rss                  # only the RSS phase
    python3 benchmarks/bench_worst_case.py --lab-memory           # only the lab-update memory

--pages takes page numbers and/or "home" (e.g. --pages 2,3,home); --cells rnn-tanh,lstm,…; --corners max,min;
--timeout (wall s per request, 120), --idle-cap, --play-s, --no-play, --no-rss, --no-lab-memory, --seeds fixed.
Writes benchmarks/results/bench_worst_case.json (--out; also after every corner while running, marked partial)
with every request (URL before/after, action, server CPU split into user/system, the busiest server threads, the
CPU the rest of the machine used meanwhile, wall, RSS, alert texts, budget notes, exceptions), the per-second play
samples, the RSS phase, the lab memory, the summary against the targets, the date, the machine, the versions, the
BLAS threads the app runs with, and the git state at the start and the end (others edit the code during a run).

Server CPU on this shared 2-core machine varies with what else runs: NumPy's OpenBLAS uses two threads in the
server (ui/__init__.py limits it before NumPy is loaded, so the limit finds no BLAS), and a BLAS thread that
waits spins; the same request measured 6 s on a quiet machine and 20–60 s while Chromium and other jobs kept
both cores busy. Compare runs by their machine_other_cpu_s, and read the maxima as upper bounds.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_worst_case.json"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

CPU_TARGET_S = 5.0
RSS_TARGET_MB = 1536.0
LAB_TARGET_MB = 300.0
RSS_GROWTH_TOL = 0.10            # "stable": the second half's peak within 10 % (and 50 MB) of the first half's
# (RSS swings by ±70 MB from one request to the next as sessions expire and the allocator hands memory back, so
# two single samples say less than the high-water marks: memory that keeps growing shows as a higher second peak)
HEAVY_CPU_S = 1.0                # a request this expensive should say what it skipped, if it skipped anything

CELLS = {"rnn-tanh": ("rnn", "tanh"), "rnn-relu": ("rnn", "relu"), "lstm": ("lstm", None), "gru": ("gru", None),
         "indrnn": ("indrnn", None)}
QUICK_CELLS = ("rnn-tanh", "lstm")
SIDEBAR_MAX = {"T": 1000, "H": 256}
SIDEBAR_MIN = {"T": 2, "H": 2}
# quick mode moves only these sidebar sliders (labels as in ui/params.py; read from there when importable)
QUICK_SLIDERS = ("H", "T", "scale", "seed")
FALLBACK_LABELS = {"H": "Hidden units H", "T": "Sequence length T", "scale": "Scale (ρ or σ₁)", "seed": "Seed"}
NOT_SWEPT_SELECTS = ("Cell", "Activation φ")          # the cell axis of the sweep already covers them
BUDGET_RE = re.compile(r"budget|skipp|drawn up to|\bfewer\b|\bfirst\s+\S+\s+(?:steps|lags|updates)|over the first|"
                       r"too slow|lower T or H|clamp|capped|at most|limited to|only the first|not drawn|"
                       r"too (?:big|large|heavy|expensive)|\bnot \d+\b|instead of|smaller|stops? at|keeps? .{0,40}"
                       r"under|\bup to\b|would (?:pass|need|take)", re.I)
PLAYS = {  # page stem → (play button, pause button, status-line regex); the race runs only in the default mode
    "Training_lab": ("▶ play", "❚❚ pause", r"^(▶ training|❚❚ paused|Ready\.)"),
    "Architectures": ("▶ start the race", "❚❚ pause", r"^(▶ racing|❚❚ paused|✓ finished)"),
}
RSS_PAGES = (("Gradient_flow", {}), ("Vanishing_and_exploding", {}), ("Truncation", {"scheme": "tbptt"}),
             ("Architectures", {}))
RSS_CELLS = ("lstm", "rnn", "gru", "indrnn")

# ----------------------------------------------------------------------------------------------------------------
# In-page instrumentation: a websocket tap (top-level protobuf field numbers: ForwardMsg 4 = new_session,
# 6 = script_finished with 2 = "finished early for a rerun"), the script-state attribute's history, and the time of
# the last DOM change. Shapes and selectors as documented in ../shared/tools/st_probe.md (Streamlit 1.67).
INIT_JS = r"""
(() => {
  if (window.__wc) return;
  const P = window.__wc = {ws: [], states: [], mut: 0};
  const fields = (data) => {
    let b;
    if (data instanceof ArrayBuffer) b = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return [];
    let i = 0; const out = [];
    const varint = () => { let x = 0, sh = 0, c;
      do { c = b[i++]; x += (c & 0x7f) * Math.pow(2, sh); sh += 7; } while ((c & 0x80) && i < b.length && sh < 64);
      return x; };
    while (i < b.length && out.length < 64) {
      const tag = varint(), f = Math.floor(tag / 8), w = tag % 8;
      if (w === 0) out.push([f, varint()]);
      else if (w === 2) { const n = varint(); out.push([f, null]); i += n; }
      else if (w === 1) { out.push([f, null]); i += 8; }
      else if (w === 5) { out.push([f, null]); i += 4; }
      else break;
    }
    return out;
  };
  const NativeWS = window.WebSocket;
  if (NativeWS) window.WebSocket = class extends NativeWS {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes('_stcore/stream')) return;
      this.addEventListener('message', (ev) => {
        const now = performance.now();
        for (const [f, v] of fields(ev.data)) {
          if (f === 4) P.ws.push([now, 'new_session']);
          else if (f === 6) P.ws.push([now, v === 2 ? 'finished_early' : 'finished']);
        }
      });
      this.addEventListener('close', () => P.ws.push([performance.now(), 'closed']));
    }
    send(data) {
      for (const [f] of fields(data)) if (f === 11) P.ws.push([performance.now(), 'rerun_sent']);
      return super.send(data);
    }
  };
  // every run that ended after t0 (fragment runs included: they start with a rerun request, not a new_session),
  // timed from the first rerun request (or new_session) after the previous run ended
  P.runs = (t0) => {
    const out = []; let start = null;
    for (const [t, k] of P.ws) {
      if (t < t0) continue;
      if ((k === 'rerun_sent' || k === 'new_session') && start === null) start = t;
      else if (k === 'finished' || k === 'finished_early') { if (start !== null) out.push(t - start); start = null; }
    }
    return out;
  };
  const watch = () => new MutationObserver((ms) => {
    const now = performance.now();
    for (const m of ms) {
      if (m.type === 'attributes' && m.attributeName === 'data-test-script-state')
        P.states.push([now, m.target.getAttribute('data-test-script-state')]);
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.closest && !el.closest('[data-testid=stSlider]')) P.mut = now;
    }
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
  watch();
  const visible = (e) => e.checkVisibility ? e.checkVisibility({checkVisibilityCSS: true}) : e.getClientRects().length > 0;
  P.check = (t0, quietMs, settleMs) => {
    const now = performance.now();
    const app = document.querySelector('[data-testid=stApp]');
    if (!app) return {done: false, why: 'no app'};
    const state = app.getAttribute('data-test-script-state');
    const conn = app.getAttribute('data-test-connection-state');
    if (conn === 'DISCONNECTED_FOREVER') return {done: false, error: 'disconnected', state, conn};
    let runStart = null, runEnd = null, runs = [];
    const tap = P.ws.some(e => e[1] === 'new_session');
    if (tap) {
      let s = null;
      for (const [t, k] of P.ws) {
        if (t < t0) continue;
        if (k === 'new_session') { if (runStart === null) runStart = t; runEnd = null; s = t; }
        else if (k === 'finished_early') runEnd = null;
        else if (k === 'finished' && runStart !== null) { runEnd = t; if (s !== null) runs.push(t - s); s = null; }
      }
    } else {
      for (const [t, s] of P.states) {
        if (t < t0) continue;
        if (s === 'running' || s === 'rerunRequested') { if (runStart === null) runStart = t; runEnd = null; }
        else if ((s === 'notRunning' || s === 'compilationError') && runStart !== null) runEnd = t;
      }
    }
    const terminal = state === 'notRunning' || state === 'compilationError';
    const busy = !!(document.querySelector('[data-testid=stSkeleton]') ||
                    document.querySelector('[data-testid=stElementContainer][data-stale=true]'));
    const charts = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'));
    const drawn = charts.filter(c => c.querySelector('.main-svg')).length;
    const ready = terminal && runEnd !== null && !busy && drawn === charts.length;
    if (!ready) P._readyT = null; else if (!P._readyT) P._readyT = now;
    const quiet = ready && now - Math.max(P.mut, runEnd) >= quietMs;
    return {done: ready && (quiet || now - P._readyT >= settleMs), state, conn, tap, runStart, runEnd, runs,
            now, charts: charts.length, drawn, busy};
  };
  P.snapshot = (re) => {
    const budget = new RegExp(re, 'i');
    const txt = (e) => (e.innerText || '').replace(/\s+/g, ' ').trim();
    const alerts = Array.from(document.querySelectorAll('[data-testid=stAlert]')).filter(visible).map(a => {
      const c = a.querySelector('[data-testid^=stAlertContent]');
      const kind = c ? c.getAttribute('data-testid').replace('stAlertContent', '').toLowerCase() : 'alert';
      return {kind, text: txt(a)};
    });
    const captions = Array.from(document.querySelectorAll('[data-testid=stCaptionContainer]')).filter(visible)
      .map(txt).filter(t => budget.test(t));
    const exceptions = Array.from(document.querySelectorAll('[data-testid=stException]')).map(e => txt(e).slice(0, 500));
    return {url: location.href, alerts, captions, exceptions,
            charts: document.querySelectorAll('[data-testid=stPlotlyChart]').length};
  };
  P.sliders = () => Array.from(document.querySelectorAll('[data-testid=stSlider]')).map(s => {
    const i = s.querySelector('input[type=range]');
    if (!i) return null;
    return {label: i.getAttribute('aria-label') || '', value: parseFloat(i.value), min: parseFloat(i.min),
            max: parseFloat(i.max), step: parseFloat(i.step), disabled: i.disabled || i.getAttribute('aria-disabled') === 'true',
            visible: visible(i), sidebar: !!s.closest('[data-testid=stSidebar]')};
  }).filter(Boolean);
  P.selects = () => Array.from(document.querySelectorAll('[data-testid=stSelectbox] input[role=combobox]')).map(i => ({
    label: i.getAttribute('aria-label') || '', value: i.value, disabled: i.disabled || i.getAttribute('aria-disabled') === 'true',
    visible: visible(i), sidebar: !!i.closest('[data-testid=stSidebar]')}));
  const txt2 = (e) => (e.innerText || '').replace(/\s+/g, ' ').trim();
  P.status = (re) => {
    const r = new RegExp(re);
    for (const m of document.querySelectorAll('[data-testid=stMain] [data-testid=stMarkdownContainer]')) {
      const t = txt2(m);
      if (r.test(t)) return {visible: visible(m), text: t.slice(0, 160),
                             stale: !!(m.closest('[data-stale=true]'))};
    }
    return {visible: false, text: null, stale: false};
  };
})();
"""


# ----------------------------------------------------------------------------------------------------------------
# The app's pages and settings
def pages_of_app() -> list[dict]:
    """Home and pages/N_*.py in order: number, URL path, source file."""
    out = [dict(num="home", path="", stem="home", file=ROOT / "streamlit_app.py")]
    for f in sorted((ROOT / "pages").glob("*.py"), key=lambda p: (int(m.group(1)) if (m := re.match(r"(\d+)_", p.name))
                                                                      else 999, p.name)):
        m = re.match(r"(\d+)_(.+)\.py$", f.name)
        if m:
            out.append(dict(num=m.group(1), path=m.group(2), stem=m.group(2), file=f))
    return out


def page_params(stem: str) -> list[dict]:
    """The page's own numeric settings with a fixed range, from the app's settings table (ui.params.BY_PAGE), so
    settings other engineers add are swept too (a range that depends on T, such as lesson 1's step, is left at its
    default)."""
    sys.path.insert(0, str(ROOT))
    from ui.params import BY_PAGE  # the app's package, found from ROOT
    return [dict(key=p.key, label=p.label, kind=p.kind, lo=p.lo, hi=p.hi) for p in BY_PAGE.get(stem, ())
            if p.kind in ("int", "float")]


def sidebar_labels() -> dict[str, str]:
    try:
        sys.path.insert(0, str(ROOT))
        from ui.params import SHARED
        return {p.key: p.label for p in SHARED}
    except Exception:  # the labels below are what ui/params.py said when this was written
        return dict(FALLBACK_LABELS)


def fmt(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def corner_params(page: dict, cell: str, corner: str) -> dict[str, str]:
    """The corner's URL parameters: cell (and φ for the vanilla RNN), T and H, and the page's own numeric settings
    at their maxima (or minima)."""
    c, act = CELLS[cell]
    q = {"cell": c}
    if act:
        q["act"] = act
    q.update({k: str(v) for k, v in (SIDEBAR_MAX if corner == "max" else SIDEBAR_MIN).items()})
    for p in page_params(page["stem"]):
        q[p["key"]] = fmt(p["hi"] if corner == "max" else p["lo"])
    return q


# ----------------------------------------------------------------------------------------------------------------
# The server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        import psutil
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.gettempdir()) / f"bench_worst_case_server_{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited ({self.proc.returncode}); see {self.log_path}")
        else:
            self.stop()
            raise RuntimeError(f"streamlit did not start within 90 s; see {self.log_path}")
        self.ps = psutil.Process(self.proc.pid)

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def cpu_detail(self) -> dict:
        """user and system CPU of the server, per-thread CPU, and the whole machine's busy and steal time (s)."""
        import psutil
        t = self.ps.cpu_times()
        try:
            threads = {th.id: th.user_time + th.system_time for th in self.ps.threads()}
        except Exception:
            threads = {}
        m = psutil.cpu_times()
        busy = m.user + m.nice + m.system + getattr(m, "irq", 0) + getattr(m, "softirq", 0)
        return dict(user=t.user + t.children_user, system=t.system + t.children_system, threads=threads,
                    machine_busy=busy, steal=getattr(m, "steal", 0.0))

    @staticmethod
    def cpu_split(a: dict, b: dict) -> dict:
        th = sorted((b["threads"][k] - a["threads"].get(k, 0.0) for k in b["threads"]), reverse=True)
        server = (b["user"] - a["user"]) + (b["system"] - a["system"])
        return dict(cpu_user_s=round(b["user"] - a["user"], 3), cpu_sys_s=round(b["system"] - a["system"], 3),
                    busiest_threads_cpu_s=[round(x, 2) for x in th[:3]],
                    machine_other_cpu_s=round((b["machine_busy"] - a["machine_busy"]) - server, 2),
                    steal_s=round(b["steal"] - a["steal"], 2))

    def rss_mb(self) -> float:
        total = self.ps.memory_info().rss
        for c in self.ps.children(recursive=True):
            try:
                total += c.memory_info().rss
            except Exception:
                pass
        return total / 2 ** 20

    def wait_idle(self, cap: float, window: float = 0.25, quiet_cpu: float = 0.02, need: int = 2) -> tuple[bool, float]:
        """Wait until the server uses < quiet_cpu s of CPU in `need` consecutive windows; (idle?, waited s)."""
        t0, ok, last = time.time(), 0, self.cpu()
        while time.time() - t0 < cap:
            time.sleep(window)
            now = self.cpu()
            ok = ok + 1 if now - last < quiet_cpu else 0
            last = now
            if ok >= need:
                return True, time.time() - t0
        return False, time.time() - t0

    def log_errors(self) -> list[str]:
        """The last line (the exception) of every traceback in the server's log, with the line before it."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        out = []
        for chunk in text.split("Traceback (most recent call last):")[1:]:
            lines = [ln for ln in chunk.splitlines() if ln.strip()]
            tail = next((ln for ln in lines if ln and not ln.startswith(" ")), lines[-1] if lines else "")
            out.append(tail.strip()[:300])
        return out[-50:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


# ----------------------------------------------------------------------------------------------------------------
# One browser page, one request at a time
class Bench:
    def __init__(self, server: Server, browser, args):
        self.s, self.browser, self.a = server, browser, args
        self.rows: list[dict] = []
        self.plays: list[dict] = []
        self.ctx = self.pg = None
        self.checkpoint = lambda: None
        self.new_page()

    def new_page(self):
        if self.ctx is not None:
            try:
                self.ctx.close()
            except Exception:
                pass
        self.ctx = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.ctx.add_init_script(INIT_JS)
        self.pg = self.ctx.new_page()
        self.pg.set_default_timeout(30_000)

    def js(self, expr, arg=None):
        try:
            return self.pg.evaluate(expr, arg)
        except Exception as e:  # a navigation in flight destroys the context
            return {"error": str(e)[:200]}

    def now_ms(self) -> float:
        v = self.js("() => performance.now()")
        return v if isinstance(v, (int, float)) else 0.0

    def wait_done(self, t0_ms: float, timeout: float) -> dict:
        t_end = time.time() + timeout
        last = {}
        while time.time() < t_end:
            r = self.js("([t0, q, s]) => window.__wc ? window.__wc.check(t0, q, s) : {done: false}",
                        [t0_ms, self.a.quiet_ms, 4000])
            if isinstance(r, dict):
                last = r
                if r.get("done"):
                    return dict(r, status="ok")
                if r.get("error") == "disconnected":
                    return dict(r, status="disconnected")
            time.sleep(0.1)
        return dict(last, status="timeout")

    def request(self, *, page: dict, corner: str, cell: str, action: str, do, t0_ms=None, extra=None) -> dict:
        """Run `do()` (an action in the page) as one measured request."""
        self.s.wait_idle(cap=60)
        cpu0, rss0, det0 = self.s.cpu(), self.s.rss_mb(), self.s.cpu_detail()
        url_before = self.pg.url
        w0 = time.time()
        t0 = self.now_ms() if t0_ms is None else t0_ms          # goto: 0, the new document's own clock
        note, failed = None, False
        try:
            note = do()
        except Exception as e:
            note, failed = f"action failed: {type(e).__name__}: {str(e)[:160]}", True
        r = self.wait_done(t0, 3 if failed else self.a.timeout)
        if failed and r["status"] == "timeout":
            r["status"] = "action failed"
        wall = time.time() - w0
        row = dict(page=page["num"], path=page["path"], corner=corner, cell=cell, action=action,
                   url_before=url_before, status=r["status"], wall_s=round(wall, 2), run_seen=r.get("runStart") is not None,
                   runs_ms=[round(x) for x in r.get("runs", [])][:50])
        if note:
            row["note"] = note
        if r["status"] != "ok":
            row["cpu_at_timeout_s"] = round(self.s.cpu() - cpu0, 2)
            idle, waited = self.s.wait_idle(cap=self.a.idle_cap, window=0.5, quiet_cpu=0.03)
            row["server_idle_after_s"] = round(waited, 1)
            row["server_became_idle"] = idle
            r2 = self.wait_done(t0, 15)
            row["page_finished_later"] = r2["status"] == "ok"
            row["wall_to_finish_s"] = round(time.time() - w0, 1) if r2["status"] == "ok" else None
        else:
            self.s.wait_idle(cap=30)
        row["cpu_s"] = round(self.s.cpu() - cpu0, 3)
        row.update(self.s.cpu_split(det0, self.s.cpu_detail()))
        row["rss_mb"] = round(self.s.rss_mb(), 1)
        row["rss_delta_mb"] = round(row["rss_mb"] - rss0, 1)
        snap = self.js("(re) => window.__wc.snapshot(re)", BUDGET_RE.pattern)
        if isinstance(snap, dict) and "alerts" in snap:
            row["url"] = snap["url"]
            row["alerts"] = snap["alerts"]
            row["budget_captions"] = snap["captions"]
            row["exceptions"] = snap["exceptions"]
            row["charts"] = snap["charts"]
        else:
            row.update(url=self.pg.url, alerts=[], budget_captions=[], exceptions=[], snapshot_error=str(snap)[:200])
        notes = [a["text"] for a in row["alerts"] if BUDGET_RE.search(a["text"])] + row["budget_captions"]
        row["budget_notes"] = notes
        row["budget_note"] = bool(notes)
        if extra:
            row.update(extra)
        self.rows.append(row)
        self.print_row(row)
        if r["status"] not in ("ok", "action failed") and not row.get("page_finished_later"):
            self.new_page()                   # a page stuck mid-run: start the next request from a clean page
            row["page_reset"] = True
        return row

    def print_row(self, r):
        alerts = " | ".join(f"{a['kind']}: {a['text']}" for a in r["alerts"] if a["kind"] in ("info", "warning", "error"))
        flag = "" if r["status"] == "ok" else f" [{r['status'].upper()} after {r['wall_s']:.0f} s]"
        if r.get("note"):
            flag += f" ({r['note'][:100]})"
        thr = (r.get("busiest_threads_cpu_s") or [0.0])[0]
        print(f"  {r['page']:>4} {r['corner']:>3} {r['cell']:<8} {r['action'][:34]:<34} cpu {r['cpu_s']:7.2f} s "
              f"(sys {r.get('cpu_sys_s', 0):4.1f}, 1 thread {thr:5.1f}, others {r.get('machine_other_cpu_s', 0):5.1f})  "
              f"wall {r['wall_s']:6.1f} s  rss {r['rss_mb']:6.0f} MB{flag}  {alerts[:90]}", flush=True)

    # ---- actions
    def open(self, page, corner, cell, url, action="open (cold deep link)"):
        def do():
            self.pg.goto(url, wait_until="commit", timeout=self.a.timeout * 1000)
        return self.request(page=page, corner=corner, cell=cell, action=action, do=do, t0_ms=0,
                            extra={"url_opened": url})

    def open_expanders(self):
        """Open the sidebar's collapsed expanders (client-side only: no rerun), so their sliders can be moved."""
        self.js("""() => document.querySelectorAll('[data-testid=stSidebar] [data-testid=stExpander] details')
                   .forEach(d => { if (!d.open && !/Teacher/.test(d.innerText)) d.querySelector('summary').click(); })""")
        self.pg.wait_for_timeout(300)

    def move_slider(self, page, corner, cell, label):
        sl = [s for s in (self.js("() => window.__wc.sliders()") or []) if isinstance(s, dict) and s["label"] == label]
        if not sl:
            return None
        s = sl[0]
        if s["disabled"] or not s["visible"]:
            return None
        eps = (s["step"] or 1e-9) / 2
        if s["value"] >= s["max"] - eps:
            key = "ArrowLeft"
        elif s["value"] <= s["min"] + eps:
            key = "ArrowRight"
        else:
            key = "ArrowRight" if corner == "max" else "ArrowLeft"
        loc = self.pg.locator("input[type=range]").and_(self.pg.locator(f"[aria-label={json.dumps(label, ensure_ascii=False)}]")).first

        def do():
            loc.focus(timeout=10_000)
            self.pg.keyboard.press(key)
        return self.request(page=page, corner=corner, cell=cell, action=f"slider {label} {fmt(s['value'])} {key}",
                            do=do)

    def change_select(self, page, corner, cell, label):
        sel = [s for s in (self.js("() => window.__wc.selects()") or []) if isinstance(s, dict) and s["label"] == label]
        if not sel or sel[0]["disabled"] or not sel[0]["visible"]:
            return None
        before = sel[0]["value"]
        loc = self.pg.locator("input[role=combobox]").and_(self.pg.locator(f"[aria-label={json.dumps(label, ensure_ascii=False)}]")).first
        chosen = {}

        def do():
            loc.focus(timeout=10_000)
            self.pg.keyboard.press("ArrowDown")
            self.pg.wait_for_timeout(250)
            for _ in range(2):
                f = self.pg.evaluate("() => { const o = document.querySelector('[role=option][data-focused=true]');"
                                     " return o ? o.innerText.trim() : null; }")
                if f and f != before:
                    break
                self.pg.keyboard.press("ArrowDown")
                self.pg.wait_for_timeout(150)
            chosen["to"] = f
            self.pg.keyboard.press("Enter")
        return self.request(page=page, corner=corner, cell=cell, action=f"select {label}: {before} → next",
                            do=do, extra={"select_to": chosen})

    def play(self, page, corner, cell, play_label, pause_label, status_re):
        """▶ for --play-s seconds (server CPU each second, status line each second), then ❚❚ (a measured request)."""
        btn = self.pg.get_by_role("button", name=play_label, exact=True)
        if not btn.count() or not btn.first.is_enabled():
            return None
        self.s.wait_idle(cap=60)
        cpu0, t_start, det0 = self.s.cpu(), time.time(), self.s.cpu_detail()
        t0 = self.now_ms()
        btn.first.click()
        samples, last = [], cpu0
        for i in range(int(self.a.play_s)):
            seen, texts = [], []
            while time.time() < t_start + i + 1:
                st_ = self.js("(re) => window.__wc.status(re)", status_re)
                st_ = st_ if isinstance(st_, dict) and "visible" in st_ else {"visible": False, "text": None}
                seen.append(bool(st_["visible"]))
                if st_.get("text"):
                    texts.append(st_["text"])
                time.sleep(max(0.0, min(0.2, t_start + i + 1 - time.time())))
            c = self.s.cpu()
            samples.append(dict(t=i + 1, cpu_s=round(c - last, 3), status_visible=all(seen) if seen else False,
                                status_visible_fraction=round(sum(seen) / len(seen), 2) if seen else 0.0,
                                status=texts[-1] if texts else None, rss_mb=round(self.s.rss_mb(), 1)))
            last = c
        cpu_play = self.s.cpu() - cpu0
        split = self.s.cpu_split(det0, self.s.cpu_detail())
        runs = self.js("(t0) => window.__wc.runs(t0)", t0)
        pause = self.pg.get_by_role("button", name=pause_label, exact=True)
        t_click = time.time()
        paused_ms = {}

        def do():
            pause.first.click(timeout=60_000)
            paused_ms["click_s"] = round(time.time() - t_click, 2)
        row = self.request(page=page, corner=corner, cell=cell, action=f"{pause_label} after {play_label} "
                           f"{self.a.play_s:.0f} s", do=do, extra=paused_ms)
        fin = self.js("(re) => window.__wc.status(re)", status_re)
        rec = dict(page=page["num"], path=page["path"], corner=corner, cell=cell, play=play_label,
                   seconds=self.a.play_s, cpu_s=round(cpu_play, 2), cpu_per_s=samples and max(s["cpu_s"] for s in samples),
                   samples=samples, status_always_visible=all(s["status_visible"] for s in samples),
                   status_visible_fraction=round(sum(s["status_visible_fraction"] for s in samples) / max(1, len(samples)), 2),
                   runs_ms=[round(x) for x in runs] if isinstance(runs, list) else None,
                   max_run_ms=max(runs) if isinstance(runs, list) and runs else None,
                   pause_cpu_s=row["cpu_s"], pause_wall_s=row["wall_s"], pause_status=row["status"], **split,
                   status_after_pause=fin.get("text") if isinstance(fin, dict) else None)
        self.plays.append(rec)
        mr = rec["max_run_ms"]
        per_s = ", ".join(f"{x['cpu_s']:.2f}" for x in samples)
        longest = "?" if mr is None else f"{mr / 1e3:.1f} s"
        print(f"  {page['num']:>4} {corner:>3} {cell:<8} {play_label} {self.a.play_s:.0f} s: server CPU {cpu_play:.1f} s "
              f"(busiest threads {split['busiest_threads_cpu_s']}) "
              f"(per second {per_s}); {len(rec['runs_ms'] or [])} runs, longest {longest}; status line visible "
              f"{100 * rec['status_visible_fraction']:.0f}% of the samples; after pause: {rec['status_after_pause']!r}", flush=True)
        return rec


# ----------------------------------------------------------------------------------------------------------------
# Phases
def recover(bench: Bench, page, corner, cell):
    """After a request left the page stuck (it was reset), reopen the settings it had reached, then go on."""
    last = bench.rows[-1] if bench.rows else None
    if last and last.get("page_reset") and last.get("url"):
        bench.open(page, corner, cell, last["url"], action="reopen after timeout")
        bench.open_expanders()


def sweep(bench: Bench, args, pages, cells, corners, labels):
    seed_i = 0
    for page in pages:
        for corner in corners:
            for cell in cells:
                q = corner_params(page, cell, corner)
                if args.seeds == "unique":
                    seed_i += 1
                    q["seed"] = str(args.seed_base + 10 * seed_i)
                url = f"{bench.s.url}/{page['path']}?{urllib.parse.urlencode(q)}"
                bench.checkpoint()
                print(f"\n== {page['num']} /{page['path']} · {corner} · {cell} · {url.split('/', 3)[-1]}", flush=True)
                cold = bench.open(page, corner, cell, url)
                if cold["status"] != "ok" and not cold.get("page_finished_later"):
                    bench.open(page, corner, cell, url, action="reopen after timeout")
                if corner == "max" and page["stem"] in PLAYS and not args.no_play and (
                        page["stem"] == "Training_lab" or not args.quick):
                    bench.play(page, corner, cell, *PLAYS[page["stem"]])
                bench.open_expanders()
                sliders = [s for s in (bench.js("() => window.__wc.sliders()") or []) if isinstance(s, dict)]
                if args.quick:
                    want = [labels.get(k, FALLBACK_LABELS[k]) for k in QUICK_SLIDERS]
                    todo = [lab for lab in want if any(s["label"] == lab for s in sliders)]
                else:
                    todo = [s["label"] for s in sliders if s["visible"] and not s["disabled"]]
                for lab in todo:
                    recover(bench, page, corner, cell)
                    bench.move_slider(page, corner, cell, lab)
                if args.quick:
                    continue
                if cold["cpu_s"] > args.cheap_cpu:
                    print(f"  (selectboxes skipped: the cold load cost {cold['cpu_s']:.0f} s > --cheap-cpu)")
                    continue
                bench.open_expanders()
                selects = [s["label"] for s in (bench.js("() => window.__wc.selects()") or [])
                           if isinstance(s, dict) and s["visible"] and not s["disabled"]
                           and s["label"] not in NOT_SWEPT_SELECTS]
                for lab in selects:
                    recover(bench, page, corner, cell)
                    bench.change_select(page, corner, cell, lab)


def rss_phase(bench: Bench, args) -> dict:
    """60 distinct heavy settings on one server: RSS after each (the first 30, then 30 more)."""
    pages = {p["path"]: p for p in pages_of_app()}
    base = bench.s.rss_mb()
    print(f"\n== RSS phase: server RSS before {base:.0f} MB", flush=True)
    samples = []
    for n in range(1, 2 * args.rss_n + 1):
        path, extra = RSS_PAGES[(n - 1) % len(RSS_PAGES)]
        cell = RSS_CELLS[((n - 1) // len(RSS_PAGES)) % len(RSS_CELLS)]
        q = {"cell": cell, "H": "256", "T": "1000", "seed": str(n), **extra}
        url = f"{bench.s.url}/{path}?{urllib.parse.urlencode(q)}"
        page = pages.get(path, dict(num="?", path=path, stem=path, file=None))
        r = bench.open(page, "rss", cell, url, action=f"RSS setting {n}")
        samples.append(dict(n=n, url=url.split("/", 3)[-1], rss_mb=r["rss_mb"], cpu_s=r["cpu_s"], status=r["status"]))
    first, a30, a60 = samples[0]["rss_mb"], samples[args.rss_n - 1]["rss_mb"], samples[-1]["rss_mb"]
    res = dict(before_mb=round(base, 1), first_mb=first, after_30_mb=a30, after_60_mb=a60,
               peak_mb=max(s["rss_mb"] for s in samples), growth_30_to_60_mb=round(a60 - a30, 1),
               first_half_peak_mb=max(s["rss_mb"] for s in samples[:args.rss_n]),
               second_half_peak_mb=max(s["rss_mb"] for s in samples[args.rss_n:]),
               n_per_half=args.rss_n, samples=samples)
    print(f"  RSS: before {base:.0f} MB, after the first {first:.0f}, after {args.rss_n} {a30:.0f}, after "
          f"{2 * args.rss_n} {a60:.0f} MB (peak {res['peak_mb']:.0f})", flush=True)
    return res


LAB_CHILD = r"""
import gc, json, os, sys, threading, time, tracemalloc
sys.path.insert(0, os.getcwd())
import psutil
params, PAGE = json.loads(sys.argv[1]), sys.argv[2]
proc = psutil.Process()
out = {"params": params}
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(os.getcwd(), "streamlit_app.py"), default_timeout=300)     # a deep link: home first, as the tests do
for k, v in params.items():
    at.query_params[k] = v
at.run()
for k, v in params.items():      # the home page rewrote the URL without the lab's own settings: set them again
    at.query_params[k] = v
at.switch_page(PAGE).run()
out["page_alerts"] = ([{"kind": "info", "text": str(e.value)} for e in at.info] +
                      [{"kind": "warning", "text": str(e.value)} for e in at.warning] +
                      [{"kind": "error", "text": str(e.value)} for e in at.error])
out["page_captions"] = [str(e.value)[:300] for e in at.caption]
out["page_exceptions"] = [str(e.value)[:300] for e in at.exception]
lab = at.session_state["lab"] if "lab" in at.session_state else None
if lab is None:
    out["error"] = "the page left no session_state['lab'] (its Trainer could not be read)"
    print(json.dumps(out)); sys.exit(0)
trainer = lab.trainer
cfg, task = trainer.config, trainer.task
out["config"] = {k: getattr(cfg, k) for k in ("cell", "hidden_size", "activation", "batch_size", "scheme", "k1",
                                              "k2", "optimizer", "clip", "snapshot_every", "spectrum_every", "dtype")}
out["task"] = {"class": type(task).__name__, "describe": task.describe(), "T": getattr(task, "T", None),
               "lag": getattr(task, "lag", None)}
del at
gc.collect()
peak = {"rss": 0}
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak["rss"] = max(peak["rss"], proc.memory_info().rss)
        time.sleep(0.005)
rss0 = proc.memory_info().rss
peak["rss"] = rss0
th = threading.Thread(target=sample, daemon=True); th.start()
tracemalloc.start()
c0, w0 = time.process_time(), time.perf_counter()
rec = trainer.step()
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
from threadpoolctl import threadpool_info
out["blas_threads"] = [i.get("num_threads") for i in threadpool_info()]
cur, tpeak = tracemalloc.get_traced_memory()
tracemalloc.stop()
stop.set(); th.join()
rss1 = proc.memory_info().rss
out.update(tracemalloc_peak_mb=round(tpeak / 2**20, 1), tracemalloc_kept_mb=round(cur / 2**20, 1),
           rss_before_mb=round(rss0 / 2**20, 1), rss_after_mb=round(rss1 / 2**20, 1),
           rss_peak_delta_mb=round((peak["rss"] - rss0) / 2**20, 1), rss_delta_mb=round((rss1 - rss0) / 2**20, 1),
           step_cpu_s=round(cpu, 2), step_wall_s=round(wall, 2), loss=float(rec.loss), finite=bool(rec.finite))
print(json.dumps(out, default=str))
"""


def lab_memory(args) -> dict:
    page = next((p for p in pages_of_app() if p["stem"] == "Training_lab"), None)
    if page is None:
        return {"error": "no Training_lab page"}
    q = corner_params(page, "lstm", "max")
    print(f"\n== lab update memory (separate process, AppTest of {page['file'].name} with ?"
          f"{urllib.parse.urlencode(q)})", flush=True)
    env = dict(os.environ)                      # BLAS threads as the server has them (see app_blas_threads)
    p = subprocess.run([sys.executable, "-c", LAB_CHILD, json.dumps(q), f"pages/{page['file'].name}"], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800, env=env)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": f"child exited {p.returncode}", "stderr": p.stderr[-2000:], "params": q}
    r = json.loads(lines[-1])
    if "config" in r:
        want = {"cell": q["cell"], "hidden_size": int(q["H"]), "batch_size": int(q.get("B", 0) or 0)}
        got = r["config"]
        clamps = {k: {"asked": v, "runs": got[k]} for k, v in want.items() if v and got.get(k) != v}
        lag = r["task"].get("lag") or r["task"].get("T")
        if "size" in q and lag is not None and int(lag) != int(q["size"]):
            clamps["size"] = {"asked": int(q["size"]), "runs": lag}
        r["clamps"] = clamps
        r["page_budget_notes"] = [a["text"] for a in r["page_alerts"] if BUDGET_RE.search(a["text"])] + \
                                 [c for c in r["page_captions"] if BUDGET_RE.search(c)]
        print(f"  trainer: {got} · task {r['task']['describe'][:100]}")
        print(f"  clamps: {clamps or 'none'}; page notes: {r['page_budget_notes'] or 'none'}")
        print(f"  one trainer.step(): tracemalloc peak {r['tracemalloc_peak_mb']} MB, RSS +{r['rss_peak_delta_mb']} MB "
              f"at its peak (+{r['rss_delta_mb']} after), {r['step_cpu_s']} s CPU", flush=True)
    else:
        print(f"  {r.get('error')}")
    return r


# ----------------------------------------------------------------------------------------------------------------
# Report
def versions(browser_version=None) -> dict:
    v = {"python": platform.python_version(), "chromium": browser_version}
    for mod in ("streamlit", "numpy", "plotly", "pandas", "playwright", "psutil"):
        try:
            if mod == "playwright":
                from importlib.metadata import version
                v[mod] = version("playwright")
            else:
                v[mod] = __import__(mod).__version__
        except Exception:
            v[mod] = None
    return v


def machine() -> dict:
    m = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        m["cpu"] = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        m["mem_total_gb"] = round(int(next(ln.split()[1] for ln in open("/proc/meminfo")
                                           if ln.startswith("MemTotal"))) / 2 ** 20, 1)
    except (OSError, StopIteration):
        pass
    return m


def app_blas_threads() -> list:
    """BLAS threads in a process that imports what a page imports, in the same order (streamlit, ui, then the
    engine): what the server runs with."""
    code = ("import streamlit, ui, numpy, explorer; from threadpoolctl import threadpool_info; "
            "print([i.get('num_threads') for i in threadpool_info()])")
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as e:
        return [f"unknown: {type(e).__name__}"]


def git_state() -> dict:
    def g(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
    return {"head": g("rev-parse", "HEAD"), "modified": (g("status", "--porcelain", "--untracked-files=no") or "").splitlines()}


def url_tail(u) -> str:
    """/Page?query of a URL (without the server's address)."""
    if not u:
        return "?"
    p = urllib.parse.urlsplit(u)
    return p.path + ("?" + p.query if p.query else "")


def short(t: str, n: int) -> str:
    return t if len(t) <= n else t[: n - 1] + "…"


def table(rows, top: int):
    rows = sorted(rows, key=lambda r: -r["cpu_s"])
    if top:
        rows = rows[:top]
    print("\n| # | page | corner | action | server CPU s | wall s | RSS MB | status | URL after | alerts (info/warning/error) |")
    print("|---:|---|---|---|---:|---:|---:|---|---|---|")
    for i, r in enumerate(rows, 1):
        al = " · ".join(short(f"{a['kind']}: {a['text']}", 90) for a in r["alerts"]
                        if a["kind"] in ("info", "warning", "error"))
        corner = f"{r['corner']} {r['cell']}"
        wall = f"{r['wall_s']:.1f}" + ("" if r["status"] == "ok" else f" (to finish {r.get('wall_to_finish_s')})")
        print(f"| {i} | {r['page']} /{r['path']} | {corner} | {short(r['action'], 60)} | {r['cpu_s']:.2f} | {wall} | "
              f"{r['rss_mb']:.0f} | {r['status']} | {url_tail(r.get('url'))} | {al or '–'} |")


def summary(res: dict) -> dict:
    rows, s = res.get("requests", []), {}
    if rows:
        worst = max(rows, key=lambda r: r["cpu_s"])
        over = [r for r in rows if r["cpu_s"] > CPU_TARGET_S]
        play_runs = [p for p in res.get("plays", []) if p.get("max_run_ms")]
        s["cpu"] = dict(target=f"no request over {CPU_TARGET_S:g} s of server CPU", max_cpu_s=worst["cpu_s"],
                        worst=dict(url=worst.get("url"), action=worst["action"], page=worst["page"], status=worst["status"]),
                        requests=len(rows), over_target=len(over), timeouts=sum(r["status"] != "ok" for r in rows),
                        longest_play_run_s=max((p["max_run_ms"] / 1e3 for p in play_runs), default=None),
                        passed=not over)
        heavy = [r for r in rows if r["cpu_s"] >= HEAVY_CPU_S]
        silent = [r for r in heavy if not r["budget_note"]]
        s["notes"] = dict(target="every heavy view says what it skipped (check the recorded alert texts)",
                          heavy_requests=len(heavy), heavy_without_budget_note=len(silent),
                          examples_without=[dict(url=r.get("url"), action=r["action"], cpu_s=r["cpu_s"]) for r in
                                            sorted(silent, key=lambda r: -r["cpu_s"])[:15]],
                          exceptions=sum(bool(r["exceptions"]) for r in rows),
                          passed=None if not heavy else not silent)
        s["rss_sweep"] = dict(peak_mb=max(r["rss_mb"] for r in rows), last_mb=rows[-1]["rss_mb"])
    rp = res.get("rss_phase")
    if rp and "after_30_mb" in rp:
        p1, p2 = rp["first_half_peak_mb"], rp["second_half_peak_mb"]
        stable = p2 <= max(p1 * (1 + RSS_GROWTH_TOL), p1 + 50)
        s["rss"] = dict(target=f"RSS after 30 distinct heavy settings ≤ {RSS_TARGET_MB / 1024:g} GB and stable after",
                        first_mb=rp["first_mb"], after_30_mb=rp["after_30_mb"], after_60_mb=rp["after_60_mb"],
                        peak_mb=rp["peak_mb"], first_half_peak_mb=p1, second_half_peak_mb=p2, stable=stable,
                        passed=rp["after_30_mb"] <= RSS_TARGET_MB and rp["peak_mb"] <= RSS_TARGET_MB and stable)
    lm = res.get("lab_memory")
    if lm and "tracemalloc_peak_mb" in lm:
        worst_mb = max(lm["tracemalloc_peak_mb"], lm["rss_peak_delta_mb"])
        s["lab"] = dict(target=f"one training-lab update at the maxima ≤ {LAB_TARGET_MB:g} MB",
                        tracemalloc_peak_mb=lm["tracemalloc_peak_mb"], rss_peak_delta_mb=lm["rss_peak_delta_mb"],
                        step_cpu_s=lm["step_cpu_s"], clamps=lm.get("clamps"), passed=worst_mb <= LAB_TARGET_MB)
    return s


def print_summary(s: dict):
    print("\n== against the targets")
    word = {True: "PASS", False: "FAIL", None: "n/a "}
    if "cpu" in s:
        c = s["cpu"]
        print(f"  {word[c['passed']]} ≤ {CPU_TARGET_S:g} s server CPU per request: max {c['max_cpu_s']:.1f} s "
              f"({c['worst']['action']} at {c['worst']['url']}, {c['worst']['status']}); {c['over_target']} of "
              f"{c['requests']} requests over, {c['timeouts']} timeouts"
              + (f"; longest run while playing {c['longest_play_run_s']:.1f} s" if c["longest_play_run_s"] else ""))
    if "notes" in s:
        n = s["notes"]
        print(f"  {word[n['passed']]} budget notes: {n['heavy_requests']} requests ≥ {HEAVY_CPU_S:g} s CPU, "
              f"{n['heavy_without_budget_note']} without a budget note (read the alert texts: a heavy view need not "
              f"skip anything); {n['exceptions']} requests showed an exception")
    if "rss" in s:
        r = s["rss"]
        print(f"  {word[r['passed']]} RSS ≤ {RSS_TARGET_MB:.0f} MB after 30 heavy settings and stable: first "
              f"{r['first_mb']:.0f}, after 30 {r['after_30_mb']:.0f}, after 60 {r['after_60_mb']:.0f} MB "
              f"(peak {r['peak_mb']:.0f}; high-water mark {r['first_half_peak_mb']:.0f} MB in the first half, "
              f"{r['second_half_peak_mb']:.0f} in the second: stable {r['stable']})")
    if "lab" in s:
        lab = s["lab"]
        print(f"  {word[lab['passed']]} lab update ≤ {LAB_TARGET_MB:g} MB: tracemalloc peak {lab['tracemalloc_peak_mb']} MB, "
              f"RSS peak +{lab['rss_peak_delta_mb']} MB, {lab['step_cpu_s']} s CPU; clamps {lab['clamps'] or 'none'}")


# ----------------------------------------------------------------------------------------------------------------
def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="maxima only, rnn-tanh + lstm, sidebar sliders H/T/scale/seed")
    ap.add_argument("--pages", help="comma-separated page numbers and/or 'home' (default: all)")
    ap.add_argument("--cells", help=f"comma-separated, of {','.join(CELLS)}")
    ap.add_argument("--corners", help="max,min (default: both; --quick: max)")
    ap.add_argument("--rss", action="store_true", help="only the RSS phase")
    ap.add_argument("--lab-memory", action="store_true", help="only the lab-update memory")
    ap.add_argument("--no-rss", action="store_true", help="skip the RSS phase")
    ap.add_argument("--no-lab-memory", action="store_true", help="skip the lab-update memory")
    ap.add_argument("--no-play", action="store_true", help="skip ▶ play / ❚❚ pause")
    ap.add_argument("--rss-same-server", action="store_true", help="run the RSS phase on the sweep's server "
                                                                   "(default: a fresh one)")
    ap.add_argument("--rss-n", type=int, default=30, help="distinct settings per half of the RSS phase")
    ap.add_argument("--timeout", type=float, default=120, help="wall seconds per request")
    ap.add_argument("--idle-cap", type=float, default=600, help="after a timeout, wait at most this long for the "
                                                                "server to go idle")
    ap.add_argument("--play-s", type=float, default=10)
    ap.add_argument("--cheap-cpu", type=float, default=30, help="skip a corner's selectboxes when its cold load "
                                                                "cost more server CPU than this (s)")
    ap.add_argument("--seeds", choices=("unique", "fixed"), default="unique",
                    help="unique: every corner its own seed (nothing served from an earlier request's cache); "
                         "fixed: the default seed")
    ap.add_argument("--seed-base", type=int, default=1000)
    ap.add_argument("--quiet-ms", type=int, default=300)
    ap.add_argument("--top", type=int, default=0, help="rows of the table (0: all)")
    ap.add_argument("--out", default=str(OUT))
    return ap.parse_args()


def main():
    a = parse_args()
    t_start = time.time()
    all_pages = pages_of_app()
    if a.pages:
        want = {w.strip().lower() for w in a.pages.split(",") if w.strip()}
        pages = [p for p in all_pages if p["num"].lower() in want or p["stem"].lower() in want]
        if not pages:
            raise SystemExit(f"--pages {a.pages!r} matches none of {[p['num'] for p in all_pages]}")
    else:
        pages = all_pages
    cells = [c.strip() for c in a.cells.split(",")] if a.cells else list(QUICK_CELLS if a.quick else CELLS)
    bad = [c for c in cells if c not in CELLS]
    if bad:
        raise SystemExit(f"unknown cells {bad}; choose from {list(CELLS)}")
    corners = [c.strip() for c in a.corners.split(",")] if a.corners else (["max"] if a.quick else ["max", "min"])
    only_rss, only_lab = a.rss, a.lab_memory
    do_sweep = not only_rss and not only_lab
    do_rss = (only_rss or (do_sweep and not a.no_rss)) and not only_lab
    do_lab = (only_lab or (do_sweep and not a.no_lab_memory)) and not only_rss
    labels = sidebar_labels()
    res = dict(benchmark="bench_worst_case", date=_dt.datetime.now().astimezone().isoformat(timespec="seconds"),
               command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), machine=machine(), git=git_state(),
               mode="quick" if a.quick else "default", pages=[p["num"] for p in pages], cells=cells, corners=corners,
               options={k: v for k, v in vars(a).items() if k != "out"},
               page_params={p["num"]: page_params(p["stem"]) for p in pages},
               targets=dict(cpu_s=CPU_TARGET_S, rss_mb=RSS_TARGET_MB, lab_mb=LAB_TARGET_MB),
               loadavg_at_start=os.getloadavg(), app_blas_threads=app_blas_threads())
    if do_lab:                     # first, while nothing else runs: its RSS is this process's alone
        res["lab_memory"] = lab_memory(a)
    browser_version = None
    if do_sweep or do_rss:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            browser_version = browser.version
            server = Server()
            try:
                print(f"server pid {server.proc.pid} at {server.url} (log {server.log_path}); idle RSS "
                      f"{server.rss_mb():.0f} MB", flush=True)
                bench = Bench(server, browser, a)
                res["requests"], res["plays"] = bench.rows, bench.plays      # filled as the run goes
                bench.checkpoint = lambda: save(res, a.out, partial=True)
                if do_sweep:
                    t0 = time.time()
                    sweep(bench, a, pages, cells, corners, labels)
                    res["sweep_wall_s"] = round(time.time() - t0, 1)
                    res["server_log_errors"] = server.log_errors()
                if do_rss:
                    if do_sweep and not a.rss_same_server:
                        server.stop()
                        server = Server()
                        bench.s = server
                        bench.new_page()
                    rows_before = len(bench.rows)
                    t0 = time.time()
                    res["rss_phase"] = rss_phase(bench, a)
                    res["rss_phase"]["fresh_server"] = not (do_sweep and a.rss_same_server)
                    res["rss_phase"]["wall_s"] = round(time.time() - t0, 1)
                    res["rss_phase"]["requests"] = len(bench.rows) - rows_before
                    res["rss_phase_server_log_errors"] = server.log_errors()
            except KeyboardInterrupt:
                res["interrupted"] = True
                print("\ninterrupted: writing what was measured so far")
            finally:
                server.stop()
                browser.close()
    res["versions"] = versions(browser_version)
    res["git_at_end"] = git_state()
    res["code_changed_during_run"] = res["git_at_end"] != res["git"]
    res["loadavg_at_end"] = os.getloadavg()
    res["wall_s"] = round(time.time() - t_start, 1)
    res["summary"] = summary(res)
    if res.get("requests"):
        table(res["requests"], a.top)
    print_summary(res["summary"])
    if res["code_changed_during_run"]:
        print("  note: the working tree's code changed during the run (git state at start and end are in the JSON)")
    print(f"\nwall time {res['wall_s'] / 60:.1f} min")
    save(res, a.out)
    print(f"wrote {a.out}")


def save(res: dict, out: str, partial: bool = False):
    """The JSON (also written after every corner while the sweep runs, marked partial)."""
    res["partial"] = partial
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
