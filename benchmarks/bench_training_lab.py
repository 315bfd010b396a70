"""The training lab while it trains, in headless Chromium (Debian's /usr/bin/chromium via Playwright) against
`streamlit run streamlit_app.py` on a free loopback port, at the lab's default settings (copy task, lag 15,
vanilla RNN, H = 32, B = 32, Adam). Three parts, one browser session, one server:

(a) Update rate. Open /Training_lab, click ▶ play, let it train for --seconds, click ❚❚ pause. "updates/s" is
    the update count of the page's status line ("update N", written by the server after every update) at the
    moment of the pause click, divided by the time from the play click to the pause click (both taken inside
    the page with performance.now(), so the first timer tick counts against the lab). "steady updates/s" is
    the slope of the status line's count between its first and last change while playing. "loss chart
    redraws/s" counts the distinct data signatures (number of points, last loss, height) of the loss chart's
    Plotly element seen by a MutationObserver while playing. Server (and Chromium, all its processes) CPU
    seconds per second come from /proc/<pid>/stat over the same window. Target: ≥ 5 updates/s.

(b) Latency of controls that do not restart training, while training runs and while it is paused, in the
    same run (first a block of --moves interactions while playing, then the same number paused):
    - the sidebar's "Sequence length T" slider (not used by the lab): keydown (ArrowRight, one notch, so each
      move is a new value) → the address bar holding the new T (history.pushState, done by the page's last
      statement, so the server has finished the whole rerun it caused);
    - the sidebar's "Projector mode" toggle: pointerdown → the loss chart redrawn at its new height.
    Interactions are 0.2–0.6 s apart (fixed pseudo-random gaps), so they land at every phase of the
    fragment's timer. Training is checked to be still running after the playing block.

(c) Stop latency. --stops cycles of: ▶ play, train ~1.5 s, ❚❚ pause. From the pause pointerdown (page clock):
    when its message left for the server, when the loss chart last changed (its final redraw), and when
    "❚❚ paused" was first shown. On the wire (Chromium's network events via CDP, not delayed by a busy page):
    from the pause message leaving to the server's first "❚❚ paused" status line, and the final update count
    minus the last count the server had sent before the pause left. The server sends its status lines in
    bursts (one message per few updates, flushed tens of ms apart), so that count is an upper bound on the
    updates done after the pause arrived, not the exact number; "as shown" is the same against the count the
    page displayed at the click.

The lab is reset (↺) before parts (b) and (c). With the defaults: ~2 minutes on an idle 2-core machine.

    python benchmarks/bench_training_lab.py [--seconds 10] [--moves 10] [--stops 6]
                                            [--out benchmarks/results/bench_training_lab.json]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import ROOT, cpu_seconds, idle, start

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

# Everything is timestamped inside the page (performance.now()): input events, address-bar changes, every new
# state of the loss chart and every new status line.
INIT = r"""
window.__ev = {kd: 0, pd: 0};            // event.timeStamp: when the input happened, even if the page was busy
document.addEventListener('keydown', e => { window.__ev.kd = e.timeStamp; }, true);
document.addEventListener('pointerdown', e => { window.__ev.pd = e.timeStamp; }, true);
// the websocket: when each message to the server left, and each status line the server sent (its update count)
window.__wsout = []; window.__wsin = [];
const NativeWS = window.WebSocket, dec = new TextDecoder(), latin = new TextDecoder('latin1');
window.WebSocket = class extends NativeWS {
  constructor(...a) {
    super(...a);
    this.addEventListener('message', e => {
      const d = e.data;
      if (!(d instanceof ArrayBuffer) || d.byteLength > 4096) return;
      const t = dec.decode(d), m = t.match(/update \*\*(\d+)\*\*/);
      if (m) window.__wsin.push([performance.now(), +m[1], t.includes('▶ training') ? 'playing' : 'paused']);
    });
  }
  send(d) {      // a fragment's timer rerun carries its fragment_id (field 5: bytes 0x2A 0x20 and 32 hex digits)
    const frag = /\*\x20[0-9a-f]{32}/.test(latin.decode(d));
    window.__wsout.push([performance.now(), frag]);
    return super.send(d);
  }
};
// the browser's main thread: every task over 50 ms (input waits behind them)
window.__long = [];
try { new PerformanceObserver(l => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); })
        .observe({type: 'longtask', buffered: true}); } catch (e) {}
window.__hist = [];
for (const n of ['pushState', 'replaceState']) {
  const f = history[n];
  history[n] = function (...a) { const r = f.apply(this, a); window.__hist.push([performance.now(), location.search]);
                                 return r; };
}
window.__loss = []; window.__status = [];
let lastSig = '', lastStatus = '', statusEl = null;
const RE = /^(▶ training|❚❚ paused|Ready)/;
const check = () => {
  const now = performance.now();
  const gd = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
  if (gd && gd.data && gd.data[0] && gd.data[0].x) {
    const y = gd.data[0].y, h = gd.layout ? gd.layout.height : 0;
    const sig = gd.data[0].x.length + ':' + y[y.length - 1] + ':' + h;
    if (sig !== lastSig) { lastSig = sig; window.__loss.push([now, gd.data[0].x.length, h]); }
  }
  if (!statusEl || !statusEl.isConnected || !RE.test(statusEl.textContent)) {
    statusEl = null;
    for (const el of document.querySelectorAll('[data-testid=stMarkdownContainer]')) {
      if (RE.test(el.textContent)) { statusEl = el; break; }
    }
  }
  if (statusEl) {
    const t = statusEl.textContent;
    if (t !== lastStatus) {
      lastStatus = t;
      const m = t.match(/update (\d+)/), r = t.match(/(\d+) updates\/s/);
      window.__status.push([now, m ? +m[1] : 0, t.startsWith('▶') ? 'playing' : 'paused', r ? +r[1] : null]);
    }
  }
};
const watch = () => new MutationObserver(check).observe(document.documentElement,
  {subtree: true, childList: true, attributes: true, characterData: true});
if (document.documentElement) watch(); else document.addEventListener('DOMContentLoaded', watch);
"""


def p95(x):
    """95th percentile, interpolated between order statistics (bench_latency's p95 is the max below 20 runs)."""
    return statistics.quantiles(x, n=20, method="inclusive")[-1] if len(x) > 1 else x[0]


def browser_cpu_seconds() -> float:
    """CPU seconds of every Chromium process under this Python process (Playwright's driver starts them)."""
    kids: dict[int, list[int]] = {}
    comm = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            s = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        name, rest = s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()
        comm[int(d)] = (name, rest)
        kids.setdefault(int(rest[1]), []).append(int(d))
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        for k in kids.get(pid, []):
            todo.append(k)
            name, rest = comm[k]
            if "chrom" in name:
                total += (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    return total


def log(pg, name):
    return pg.evaluate(f"window.{name}")


def now(pg) -> float:
    return pg.evaluate("performance.now()")


def status_at(pg, t: float):
    """The last status entry at or before page time t: (time, updates, state, rate)."""
    prior = [s for s in log(pg, "__status") if s[0] <= t]
    return prior[-1] if prior else [t, 0, "paused", None]


def wait_quiet(pg, *, state="paused", quiet_ms=800, timeout=30.0):
    """Until the status line says `state` and neither it nor the loss chart has changed for quiet_ms."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        pg.wait_for_timeout(100)
        st, loss, t = log(pg, "__status"), log(pg, "__loss"), now(pg)
        last = max([s[0] for s in st[-1:]] + [x[0] for x in loss[-1:]] + [0])
        if st and st[-1][2] == state and t - last > quiet_ms:
            return
    raise RuntimeError(f"the lab did not settle in state {state!r} within {timeout} s")


def click(pg, name: str):
    pg.get_by_role("button", name=name).click()


def wait_for(pg, cond, timeout=10.0):
    """Poll cond(pg) (returns a page time or None) every 50 ms; the latency itself is timed inside the page."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = cond(pg)
        if r is not None:
            return r
        pg.wait_for_timeout(50)
    return float("nan")


def reset(pg):
    click(pg, "↺ reset")
    pg.get_by_text("Ready.").wait_for(timeout=30_000)
    idle(pg, 30)


class Wire:
    """The websocket as Chromium's network layer saw it (CDP Network events, timestamped off the page's main
    thread): every status line the server sent (its update count) and every message to the server."""

    def __init__(self, ctx, pg):
        self.recv, self.sent = [], []
        self.cdp = ctx.new_cdp_session(pg)
        self.cdp.on("Network.webSocketFrameReceived", self._recv)
        self.cdp.on("Network.webSocketFrameSent", self._sent)
        self.cdp.send("Network.enable")

    @staticmethod
    def _payload(ev) -> bytes:
        r = ev["response"]
        return base64.b64decode(r["payloadData"]) if r.get("opcode") == 2 else r["payloadData"].encode()

    def _recv(self, ev):
        if len(ev["response"]["payloadData"]) > 6000:
            return
        d = self._payload(ev)
        m = re.search(rb"update \*\*(\d+)\*\*", d)
        if m:
            self.recv.append((ev["timestamp"], int(m.group(1)), "playing" if "▶ training".encode() in d else "paused"))

    def _sent(self, ev):
        self.sent.append((ev["timestamp"], bool(re.search(rb"\*\x20[0-9a-f]{32}", self._payload(ev)))))


def sent_after(pg, t: float) -> float:
    """When the first message to the server after page time t left that was not a fragment's timer rerun."""
    return next((x for x, frag in log(pg, "__wsout") if x >= t and not frag), float("nan"))


def busy_fraction(pg, t0: float, t1: float) -> float:
    """Share of [t0, t1] (page ms) the browser's main thread spent in tasks over 50 ms."""
    return sum(max(0.0, min(s + d, t1) - max(s, t0)) for s, d in log(pg, "__long")) / (t1 - t0)


def part_a(pg, pid: int, seconds: float):
    pg.evaluate("window.__status = []; window.__loss = []; window.__wsin = [];")
    c0, b0 = cpu_seconds(pid), browser_cpu_seconds()
    w0 = time.time()
    click(pg, "▶ play")
    t_play = log(pg, "__ev")["pd"]
    pg.wait_for_timeout(int(seconds * 1000))
    click(pg, "❚❚ pause")
    wall = time.time() - w0
    cpu, bcpu = cpu_seconds(pid) - c0, browser_cpu_seconds() - b0
    t_pause = log(pg, "__ev")["pd"]
    wait_quiet(pg)
    st = [s for s in log(pg, "__status") if t_play < s[0] <= t_pause and s[2] == "playing"]
    loss = [x for x in log(pg, "__loss") if t_play < x[0] <= t_pause]
    ws = [x for x in log(pg, "__wsin") if t_play < x[0] <= t_pause and x[2] == "playing"]
    dur = (t_pause - t_play) / 1e3
    n_click = st[-1][1] if st else 0
    steady = (st[-1][1] - st[0][1]) / ((st[-1][0] - st[0][0]) / 1e3) if len(st) > 1 else float("nan")
    return dict(seconds=dur, updates_at_pause_click=n_click, final_updates=log(pg, "__status")[-1][1],
                updates_per_s=n_click / dur, steady_updates_per_s=steady,
                page_reported_updates_per_s=next((s[3] for s in reversed(st) if s[3]), None),
                status_lines_drawn_per_s=len(st) / dur, status_messages_received_per_s=len(ws) / dur,
                loss_chart_redraws_per_s=len(loss) / dur, loss_chart_points_at_pause=loss[-1][1] if loss else 0,
                browser_main_thread_busy=busy_fraction(pg, t_play, t_pause),
                server_cpu_s_per_s=cpu / wall, browser_cpu_s_per_s=bcpu / wall)


def t_slider_move(pg):
    """One notch right on the sidebar's T slider; response: the address bar holds the new T."""
    thumb = pg.get_by_role("slider", name="Sequence length T")
    thumb.focus()
    want = f"T={int(thumb.input_value()) + 1}"
    pg.keyboard.press("ArrowRight")
    t_in = log(pg, "__ev")["kd"]
    return t_in, lambda pg: next((h[0] for h in log(pg, "__hist") if h[0] > t_in and want in h[1]), None)


def projector_toggle(pg):
    """Click the projector toggle; response: the loss chart redrawn at its new height."""
    want = 430 if pg.get_by_role("switch", name="Projector mode (larger text)").is_checked() else 490  # +60 px
    pg.get_by_test_id("stSidebar").get_by_text("Projector mode (larger text)").click()    # its label covers it
    t_in = log(pg, "__ev")["pd"]
    return t_in, lambda pg: next((x[0] for x in log(pg, "__loss") if x[0] > t_in and x[2] == want), None)


CONTROLS = (("sidebar slider T → address bar", t_slider_move),
            ("projector toggle → loss chart", projector_toggle))


def part_b(pg, pid: int, moves: int, rng: random.Random):
    rows = []
    for name, act in CONTROLS:
        reset(pg)
        out = {}
        for state in ("playing", "paused"):
            if state == "playing":
                click(pg, "▶ play")
                pg.wait_for_timeout(1500)
            c0, w0, p0 = cpu_seconds(pid), time.time(), now(pg)
            lat, to_send = [], []
            for _ in range(moves):
                pg.wait_for_timeout(int(rng.uniform(200, 600)))
                t_in, done = act(pg)
                lat.append(wait_for(pg, done) - t_in)
                to_send.append(sent_after(pg, t_in) - t_in)
            cpu_per_s = (cpu_seconds(pid) - c0) / (time.time() - w0)
            busy = busy_fraction(pg, p0, now(pg))
            extra = {}
            if state == "playing":
                n0 = log(pg, "__status")[-1][1]
                pg.wait_for_timeout(800)
                last = log(pg, "__status")[-1]
                extra = dict(still_training=last[2] == "playing" and last[1] > n0, updates_at_end=last[1])
                click(pg, "❚❚ pause")
                wait_quiet(pg)
            ok = [x for x in lat if x == x]
            out[state] = dict(n=len(lat), timeouts=len(lat) - len(ok), p50_ms=statistics.median(ok),
                              p95_ms=p95(ok), max_ms=max(ok), input_to_sent_p50_ms=statistics.median(to_send),
                              browser_main_thread_busy=busy, server_cpu_s_per_s=cpu_per_s, latencies_ms=lat,
                              input_to_sent_ms=to_send, **extra)
        rows.append(dict(control=name, **out))
        print(f"{name:32} playing p50 {out['playing']['p50_ms']:5.0f} p95 {out['playing']['p95_ms']:5.0f} ms | "
              f"paused p50 {out['paused']['p50_ms']:5.0f} p95 {out['paused']['p95_ms']:5.0f} ms", flush=True)
    return rows


def part_c(pg, wire: Wire, stops: int):
    reset(pg)
    cycles = []
    for _ in range(stops):
        click(pg, "▶ play")
        pg.wait_for_timeout(1500)
        k = len(wire.sent)
        click(pg, "❚❚ pause")
        pd = log(pg, "__ev")["pd"]
        wait_quiet(pg)
        st, loss = log(pg, "__status"), log(pg, "__loss")
        sent = sent_after(pg, pd)                          # the click's message to the server (page clock)
        w_sent = next(t for t, frag in wire.sent[k:] if not frag)             # ... and on the wire
        w_before = [x for x in wire.recv if x[0] < w_sent]
        w_paused = next(x[0] for x in wire.recv if x[0] > w_sent and x[2] == "paused")
        at_click = status_at(pg, pd)
        cycles.append(dict(click_to_sent_ms=sent - pd,
                           chart_stopped_ms=max(x[0] for x in loss) - pd,
                           paused_shown_ms=next(s[0] for s in st if s[0] > pd and s[2] == "paused") - pd,
                           sent_to_paused_received_ms=(w_paused - w_sent) * 1e3,
                           final_updates=st[-1][1],
                           updates_after_pause_left=st[-1][1] - (w_before[-1][1] if w_before else 0),
                           updates_after_click_shown=st[-1][1] - at_click[1]))
    return cycles


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="play time of part (a)")
    ap.add_argument("--moves", type=int, default=10, help="interactions per control and state in part (b)")
    ap.add_argument("--stops", type=int, default=6, help="play/pause cycles in part (c)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_training_lab.json"))
    args = ap.parse_args()
    t_start = time.time()
    proc, url = start(ROOT / "streamlit_app.py")
    rng = random.Random(0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx.add_init_script(INIT)
            pg = ctx.new_page()
            wire = Wire(ctx, pg)
            pg.goto(url + "/Training_lab")
            idle(pg, 60)
            pg.get_by_text("Ready.").wait_for(timeout=30_000)
            pg.wait_for_timeout(1000)
            a = part_a(pg, proc.pid, args.seconds)
            print(f"(a) {a['updates_per_s']:.0f} updates/s, loss chart {a['loss_chart_redraws_per_s']:.1f} "
                  f"redraws/s, server CPU {a['server_cpu_s_per_s']:.2f} s/s", flush=True)
            b = part_b(pg, proc.pid, args.moves, rng)
            c = part_c(pg, wire, args.stops)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    print(f"\n(a) training at the default settings, {a['seconds']:.1f} s of play (play click → pause click)")
    print("| updates/s | steady updates/s | page's own figure | loss chart redraws/s | status line redraws/s | "
          "server CPU s/s | Chromium CPU s/s | main thread in long tasks |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {a['updates_per_s']:.0f} | {a['steady_updates_per_s']:.0f} | {a['page_reported_updates_per_s']} | "
          f"{a['loss_chart_redraws_per_s']:.2f} | {a['status_lines_drawn_per_s']:.1f} | "
          f"{a['server_cpu_s_per_s']:.2f} | {a['browser_cpu_s_per_s']:.2f} | {a['browser_main_thread_busy']:.0%} |")
    print(f"target ≥ 5 updates/s: {'met' if a['updates_per_s'] >= 5 else 'NOT met'}")
    print(f"\n(b) input → response, {args.moves} interactions per row, ms (p95 interpolated)")
    print("| control | state | p50 | p95 | max | input → sent to server, p50 | main thread in long tasks | "
          "server CPU s/s | training kept running |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in b:
        for state in ("playing", "paused"):
            x = r[state]
            print(f"| {r['control']} | {state} | {x['p50_ms']:.0f} | {x['p95_ms']:.0f} | {x['max_ms']:.0f} | "
                  f"{x['input_to_sent_p50_ms']:.0f} | {x['browser_main_thread_busy']:.0%} | "
                  f"{x['server_cpu_s_per_s']:.2f} | {x.get('still_training', '')} |")
    keys = list(c[0])
    med = {k: statistics.median([x[k] for x in c]) for k in keys}
    mx = {k: max(x[k] for x in c) for k in keys}
    print(f"\n(c) ❚❚ pause while training, {len(c)} cycles of 1.5 s: median (max)")
    print("| click → message sent, ms | sent → server's '❚❚ paused' received, ms | click → loss chart stops, ms | "
          "click → '❚❚ paused' shown, ms | updates after the pause message left | updates after the click, as shown |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(" | ".join(["", *(f"{med[k]:.0f} ({mx[k]:.0f})" for k in (
        "click_to_sent_ms", "sent_to_paused_received_ms", "chart_stopped_ms", "paused_shown_ms",
        "updates_after_pause_left", "updates_after_click_shown")), ""]).strip())
    total = time.time() - t_start
    print(f"\nwhole benchmark: {total:.0f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(dict(args=vars(args), update_rate=a, controls=b, stops=c,
                                              stops_median=med, stops_max=mx, total_s=total,
                                              date=time.strftime("%Y-%m-%d")), indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
