"""Live scrubbing, in headless Chromium (Debian's /usr/bin/chromium via Playwright): every live knob dragged with
input events at 60 Hz, alone and while a class loads the same server.

Per knob (lesson 1's scale, lesson 2's scale, lesson 3's scale, lesson 4's k2 and π), on a cold deep link:
- per input event, the time from dispatching it to the next animation frame after the view redrew (the handler
  redraws synchronously; the frame that follows is the one that paints it): p50, p95, max;
- the server's script runs during the drag (counted in the page from stApp's script-state attribute): target 0;
- release → synced: from the 'change' event to the URL holding the new value with the script finished and every
  chart redrawn (the other charts follow the value);
and, in this process, the sweep's precompute (server CPU, time.process_time) at the defaults and at T = 1000,
H = 128. With --load N, N sessions of ../shared/tools/st_probe.py `load` (idle scheduling priority, as on students'
own laptops) move lesson 2's slider on the same server during the whole run.

    python benchmarks/bench_scrub.py [--events 240] [--load 30] [--out benchmarks/results/bench_scrub.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import ROOT, idle, p95, start  # (the same server start: free loopback port, no file watcher)

sys.path.insert(0, str(ROOT))
from threadpoolctl import threadpool_limits

from explorer.scenario import Scenario
from ui import scrub

PROBE = Path(os.environ.get("ST_PROBE", ROOT.parent / "shared" / "tools" / "st_probe.py"))
KNOBS = [("1 · unrolled graph, scale", "/Unrolled_graph?seed={seed}"),
         ("2 · ‖δ_t‖, scale", "/Gradient_flow?seed={seed}"),
         ("3 · lag profile + eigenvalues, scale", "/Vanishing_and_exploding?seed={seed}"),
         ("4 · TBPTT, k2", "/Truncation?scheme=tbptt&k1=5&k2=10&T=60&seed={seed}"),
         ("4 · randomized, π", "/Truncation?scheme=randomized&keep=0.5&T=60&seed={seed}")]
COUNT_RUNS = """() => { window.__runs = 0; const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runs++; })
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
DRAG = """async ([n, hz]) => {
  const r = document.querySelector('.bptt-scrub input.scale'); const max = +r.max;
  const lat = []; let i = +r.value, dir = 1;
  for (let k = 0; k < n; k++) {
    i += dir; if (i > max || i < 0) { dir = -dir; i += 2 * dir; }
    const t0 = performance.now();
    r.value = String(i); r.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise(res => requestAnimationFrame(() => res()));
    lat.push(performance.now() - t0);
    const wait = 1000 / hz - (performance.now() - t0);
    if (wait > 0) await new Promise(res => setTimeout(res, wait));
  }
  return [lat, +r.value, r.getAttribute('aria-label')]; }"""
RELEASE = """() => { const r = document.querySelector('.bptt-scrub input.scale');
  window.__released = performance.now(); r.dispatchEvent(new Event('change', {bubbles: true})); return +r.value; }"""
SYNCED = """([key, value]) => { const app = document.querySelector("[data-testid='stApp']");
  const url = new URLSearchParams(location.search);   // (value null: the default, which the URL leaves out)
  return window.__runs > 0 && app.getAttribute('data-test-script-state') === 'notRunning'
    && url.get(key) === value && document.querySelectorAll('.stSkeleton, [data-testid=stSkeleton]').length === 0
    ? performance.now() - window.__released : null; }"""


def precompute_seconds() -> list[dict]:
    """Server CPU of one sweep (its cache cleared), for the live views at the defaults and at T = 1000, H = 128."""
    out = []
    with threadpool_limits(1):
        for label, sc, knob, lags in [
                ("defaults, lesson 1 (scale)", Scenario(), "scale", False),
                ("defaults, lesson 3 (scale, lags, eigenvalues)", Scenario(), "scale", True),
                ("defaults, lesson 4 (k2, TBPTT(5, ·), T = 60)", Scenario(T=60, scheme="tbptt", k1=5), "k2", False),
                ("T = 1000, H = 128, lesson 1 (scale)", Scenario(T=1000, hidden=128), "scale", False),
                ("T = 1000, H = 128, lesson 3 (scale, lags)", Scenario(T=1000, hidden=128), "scale", True)]:
            t = time.process_time()
            text, note, sw = scrub.payload.__wrapped__(scrub._key_scenario(replace(sc), knob), knob, lags)
            out.append(dict(case=label, cpu_s=time.process_time() - t, live=text is not None,
                            payload_kb=(len(text) / 1e3 if text else 0), note=note))
            print(f"  precompute {label:48} {out[-1]['cpu_s']:6.2f} s  {out[-1]['payload_kb']:7.0f} kB  "
                  f"{'live' if text else 'off: ' + note[:60]}", flush=True)
    return out


def drag_all(url: str, events: int, tag: str, seed0: int) -> list[dict]:
    from playwright.sync_api import sync_playwright
    rows = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        for k, (name, path) in enumerate(KNOBS):
            ctx = b.new_context(viewport={"width": 1400, "height": 1000})
            pg = ctx.new_page()
            pg.goto(url + path.format(seed=seed0 + k))                 # a new seed: a cold sweep, nobody's cache
            idle(pg, 120)
            pg.locator(".bptt-scrub input.scale").first.wait_for(timeout=60_000)
            pg.wait_for_timeout(800)
            pg.evaluate(COUNT_RUNS)
            lat, last, label = pg.evaluate(DRAG, [events, 60])
            runs = pg.evaluate("() => window.__runs")
            value = pg.evaluate("() => { const s = Object.values(window.__bpttScrub)[0]; return s.value; }")
            key = {"k2": "k2", "π": "keep"}.get(label.split()[0], "scale")
            want = str(value) if key == "k2" else f"{value:g}"
            if {"scale": 0.9, "keep": 0.8, "k2": 20}[key] == value:
                want = None
            pg.evaluate(RELEASE)
            synced = None
            t0 = time.time()
            while synced is None and time.time() - t0 < 30:
                pg.wait_for_timeout(20)
                synced = pg.evaluate(SYNCED, [key, want])
            rows.append(dict(knob=name, mode=tag, events=len(lat), p50_ms=statistics.median(lat), p95_ms=p95(lat),
                             max_ms=max(lat), server_runs_during_drag=runs, release_to_synced_ms=synced))
            r = rows[-1]
            print(f"  {name:38} {tag:10} p50 {r['p50_ms']:5.1f}  p95 {r['p95_ms']:5.1f}  max {r['max_ms']:6.1f} ms"
                  f"   runs during drag {runs}   release → synced "
                  f"{'timeout' if synced is None else f'{synced:.0f} ms'}", flush=True)
            ctx.close()
        b.close()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=240, help="input events per drag (at 60 Hz)")
    ap.add_argument("--load", type=int, default=30, help="class sessions loading the server (0: none)")
    ap.add_argument("--load-seconds", type=int, default=150)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_scrub.json"))
    args = ap.parse_args()
    pre = precompute_seconds()
    proc, url = start(ROOT / "streamlit_app.py")
    rows = []
    try:
        rows += drag_all(url, args.events, "alone", 7000)
        if args.load:
            cmd = [sys.executable, str(PROBE), "load", url, "--sessions", str(args.load), "--seconds",
                   str(args.load_seconds), "--page", "/Gradient_flow", "--slider", "Scale", "--think-ms", "2000",
                   "--client-priority", "idle"]
            load = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            threading.Event().wait(45)                                 # let the class ramp up and warm the caches
            rows += drag_all(url, args.events, f"{args.load} loading", 8000)
            load.terminate()
    finally:
        proc.terminate()
    print("\n| knob | mode | p50 ms | p95 ms | max ms | server runs during drag | release → synced ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        s = "timeout" if r["release_to_synced_ms"] is None else f"{r['release_to_synced_ms']:.0f}"
        print(f"| {r['knob']} | {r['mode']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} | "
              f"{r['server_runs_during_drag']} | {s} |")
    print("\n| sweep precompute | server CPU s | payload kB |\n|---|---:|---:|")
    for r in pre:
        print(f"| {r['case']} | {r['cpu_s']:.2f} | {r['payload_kb']:.0f}{'' if r['live'] else ' (off)'} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(dict(rows=rows, precompute=pre, events=args.events, load=args.load),
                                         indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
