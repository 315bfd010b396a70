"""Slider → redrawn charts, in headless Chromium (Debian's /usr/bin/chromium via Playwright), for every lesson and
for a reference page holding one slider and one 500-point Plotly line (Streamlit's own floor), in the same run;
and for the reference page with five such lines (the floor for as many charts as a lesson redraws).

A move is timed from the keydown event to the last DOM change inside any Plotly chart, once the script has
finished and the charts have been quiet for 200 ms (timestamps taken inside the page with performance.now()).
Each move steps the "Scale" slider one notch in one direction, so no move is served from the cache of an earlier
one. The server's CPU time per move comes from /proc/<pid>/stat over the whole series.

    python benchmarks/bench_latency.py [--moves 30] [--out benchmarks/results/bench_latency.json]
    python benchmarks/bench_latency.py --baseline /path/to/other/checkout   # before/after in one run

With --baseline, a second server runs the other checkout's app (e.g. a clone at an older commit) and every lesson
row is measured on both, alternating page by page, so the two columns share the machine's state.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
INIT = """
window.__kd = 0; window.__mut = 0;
document.addEventListener('keydown', () => { window.__kd = performance.now(); window.__mut = 0; }, true);
const watch = () => new MutationObserver(ms => {
  for (const m of ms) {
    const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    if (el && el.closest && el.closest('[data-testid=stPlotlyChart]')) { window.__mut = performance.now(); return; }
  }
}).observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
if (document.documentElement) watch(); else document.addEventListener('DOMContentLoaded', watch);
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: Path, extra_env=None, cwd: Path = ROOT):
    port = free_port()
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server for {app} did not start")


def cpu_seconds(pid: int) -> float:
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def idle(pg, timeout=20.0):
    pg.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached",
                                                                                      timeout=timeout * 1000)


def measure(pg, url: str, moves: int, slider_label: str, pid: int):
    pg.goto(url)
    idle(pg, 60)
    pg.wait_for_timeout(1500)
    thumb = pg.locator("input[type=range]").filter(has=None).and_(pg.locator(f"[aria-label^='{slider_label}']")).first
    thumb.focus()
    out = []
    cpu0 = None
    for i in range(moves + 1):                        # the first move is a warm-up
        if i == 1:
            cpu0 = cpu_seconds(pid)
        pg.keyboard.press("ArrowRight")
        t0 = time.time()
        while True:
            pg.wait_for_timeout(40)
            st_ = pg.evaluate("() => [window.__kd, window.__mut, performance.now(), "
                              "document.querySelector(\"[data-testid='stApp']\").getAttribute('data-test-script-state')]")
            kd, mut, now, state = st_
            if mut > kd and state == "notRunning" and now - mut > 200:
                break
            if time.time() - t0 > 20:
                mut = float("nan")
                break
        if i > 0:
            out.append(mut - kd)
        thumb.focus()
    cpu = (cpu_seconds(pid) - cpu0) / moves
    return out, cpu


def p95(x):
    return statistics.quantiles(x, n=20)[-1] if len(x) >= 20 else max(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moves", type=int, default=30)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_latency.json"))
    ap.add_argument("--baseline", type=Path, help="another checkout of the app: its lessons are measured too")
    args = ap.parse_args()
    ref_proc, ref_url = start(ROOT / "benchmarks" / "reference_app.py")
    app_proc, app_url = start(ROOT / "streamlit_app.py")
    procs = [ref_proc, app_proc]
    servers = [("", app_url, app_proc.pid)]
    if args.baseline:
        base_proc, base_url = start(args.baseline / "streamlit_app.py", cwd=args.baseline)
        procs.append(base_proc)
        servers.append((" [baseline]", base_url, base_proc.pid))
    lessons = [("1 · Unrolled graph", "/Unrolled_graph"), ("2 · Gradient flow", "/Gradient_flow"),
               ("3 · Vanishing and exploding", "/Vanishing_and_exploding"), ("4 · Truncation", "/Truncation?scheme=tbptt"),
               ("2 · Gradient flow, T=1000 H=128", "/Gradient_flow?T=1000&H=128"),
               ("3 · Vanishing, T=1000 H=128", "/Vanishing_and_exploding?T=1000&H=128")]
    targets = [("reference page", ref_url, ref_proc.pid),
               ("reference page, 5 charts", ref_url + "/?charts=5", ref_proc.pid)]
    targets += [(name + tag, url + path, pid) for name, path in lessons for tag, url, pid in servers]
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
            for name, url, pid in targets:
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.add_init_script(INIT)
                pg = ctx.new_page()
                lat, cpu = measure(pg, url, args.moves, "Scale", pid)
                ctx.close()
                ok = [x for x in lat if x == x]
                rows.append(dict(page=name, moves=len(lat), timeouts=len(lat) - len(ok),
                                 p50_ms=statistics.median(ok), p95_ms=p95(ok), cpu_ms_per_move=cpu * 1e3))
                print(f"{name:34} p50 {rows[-1]['p50_ms']:7.0f} ms   p95 {rows[-1]['p95_ms']:7.0f} ms   "
                      f"server CPU {rows[-1]['cpu_ms_per_move']:6.1f} ms/move", flush=True)
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
    ref, ref5 = rows[0], rows[1]
    for r in rows:
        r["p50_ratio"] = r["p50_ms"] / ref["p50_ms"]
        r["p95_ratio"] = r["p95_ms"] / ref["p95_ms"]
        r["p50_ratio_5_charts"] = r["p50_ms"] / ref5["p50_ms"]
        r["p95_ratio_5_charts"] = r["p95_ms"] / ref5["p95_ms"]
    print("\n| page | p50 ms | p95 ms | p50 / ref | p95 / ref | p50 / ref×5 | p95 / ref×5 | server CPU ms/move |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['page']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p50_ratio']:.2f} | {r['p95_ratio']:.2f} | "
              f"{r['p50_ratio_5_charts']:.2f} | {r['p95_ratio_5_charts']:.2f} | {r['cpu_ms_per_move']:.0f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if args.baseline:
        base = {r["page"][:-len(" [baseline]")]: r for r in rows if r["page"].endswith(" [baseline]")}
        print("\n| page | p50 ms now / baseline | p95 ms now / baseline | CPU ms/move now / baseline |")
        print("|---|---:|---:|---:|")
        for r in rows:
            b = base.get(r["page"])
            if b:
                print(f"| {r['page']} | {r['p50_ms']:.0f} / {b['p50_ms']:.0f} | {r['p95_ms']:.0f} / {b['p95_ms']:.0f} | "
                      f"{r['cpu_ms_per_move']:.0f} / {b['cpu_ms_per_move']:.0f} |")
    Path(args.out).write_text(json.dumps(dict(rows=rows, moves=args.moves, baseline=str(args.baseline or "")),
                                         indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
