"""A class of N students on one server: N headless-Chromium sessions moving a lesson's slider, plus one student
whose laptop is idle, timed the same way alone and under load.

The browser work is done by the shared probe harness (../shared/tools/st_probe.py, or $ST_PROBE): its `latency`
command times one session alone; its `load` command opens N sessions in one Chromium at idle scheduling priority
(SCHED_IDLE via chrt — on a 2-core machine the browsers would otherwise starve the server, while in a classroom
every student renders on their own laptop) and one extra "sentinel" session at normal priority. Every session
moves the slider, waits for the run to finish and the charts to redraw, thinks `--think-ms`, and moves again.
Times come from performance.now() inside the page: key press → run finished and charts redrawn.

This script starts the server itself (bound to 127.0.0.1 only), samples the server's RSS every 5 s over the whole
run (to show it is flat: caches are bounded with max_entries), and checks the targets of issue #6:
N = 30 with 0 errors; the idle student's p95 ≤ 2× its p95 alone; server CPU ≤ 30 ms per interaction; RSS ≤ 1.5 GB
and flat (last minute's mean within 10% of the first loaded minute's).

    python benchmarks/bench_classroom.py [--sessions 30] [--seconds 300] [--page /Gradient_flow]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import start  # (the same server start: free loopback port, no file watcher)

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(os.environ.get("ST_PROBE", ROOT.parent / "shared" / "tools" / "st_probe.py"))


def tree_rss_mb(pid: int) -> float:
    """RSS of pid and its children (MB), from /proc."""
    pids, total = [pid], 0
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        pids += [int(x) for x in out.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class RSSSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 5.0):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.stop = pid, every, [], threading.Event()

    def run(self):
        t0 = time.time()
        while not self.stop.is_set():
            self.samples.append((round(time.time() - t0, 1), round(tree_rss_mb(self.pid), 1)))
            self.stop.wait(self.every)


def probe(*args: str) -> dict:
    """Run one st_probe command; its last stdout line is a JSON summary."""
    out = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True)
    sys.stdout.write(out.stdout[-4000:])
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit(f"st_probe {args[0]} gave no summary (exit {out.returncode}):\n{out.stderr[-2000:]}")
    res = json.loads(lines[-1])
    if "error" in res:
        raise SystemExit(f"st_probe {args[0]} failed: {res['error']}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--page", default="/Gradient_flow", help="a lesson's URL path (our own sidebar links are not "
                                                             "Streamlit's nav, so st_probe needs the path)")
    ap.add_argument("--slider", default="Scale")
    ap.add_argument("--think-ms", type=int, default=2000, help="a student moves the slider about every 2 s")
    ap.add_argument("--alone-moves", type=int, default=30)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_classroom.json"))
    a = ap.parse_args()
    if not PROBE.exists():
        raise SystemExit(f"st_probe not found at {PROBE} (set ST_PROBE)")

    proc, url = start(ROOT / "streamlit_app.py")
    sampler = RSSSampler(proc.pid)
    sampler.start()
    try:
        alone = probe("latency", url, "--page", a.page, "--slider", a.slider, "--moves", str(a.alone_moves))
        t_load = time.time()
        load = probe("load", url, "--pid", str(proc.pid), "--sessions", str(a.sessions), "--seconds",
                     str(a.seconds), "--page", a.page, "--slider", a.slider, "--think-ms", str(a.think_ms),
                     "--timeout", "600")
        load_started = time.time() - t_load
    finally:
        sampler.stop.set()
        sampler.join()
        proc.terminate()
        proc.wait(10)

    rss = sampler.samples
    first = [r for t, r in rss if rss[-1][0] - a.seconds <= t < rss[-1][0] - a.seconds + 60]
    last = [r for t, r in rss if t >= rss[-1][0] - 60]
    alone_p95 = alone.get("latency_ms", {}).get("p95")
    sent = load.get("sentinel", {}).get("latency_ms", {})
    res = dict(
        sessions=a.sessions, seconds=a.seconds, page=a.page, think_ms=a.think_ms,
        interactions=load.get("interactions"), errors=load.get("errors"), loaded=load.get("loaded"),
        load_latency_ms=load.get("latency_ms"), sentinel_latency_ms=sent, sentinel_moves=load.get("sentinel", {}).get("moves"),
        alone_latency_ms=alone.get("latency_ms"),
        sentinel_p95_over_alone_p95=round(sent["p95"] / alone_p95, 2) if sent.get("p95") and alone_p95 else None,
        server_cpu_ms_per_interaction=load.get("server_cpu_ms_per_interaction"),
        server_rss_peak_mb=max((r for _, r in rss), default=None),
        rss_first_minute_mb=round(statistics.mean(first), 1) if first else None,
        rss_last_minute_mb=round(statistics.mean(last), 1) if last else None,
        rss_samples=rss, open_all_s=load.get("open_all_s"), wall_s=round(load_started, 1),
        machine="2 cores, 24 GiB, no GPU (browsers and server on one machine)",
    )
    flat = (res["rss_first_minute_mb"] and res["rss_last_minute_mb"]
            and res["rss_last_minute_mb"] <= 1.1 * res["rss_first_minute_mb"])
    res["targets"] = {
        "0 errors": not res["errors"],
        "idle student p95 <= 2x alone": bool(res["sentinel_p95_over_alone_p95"] is not None
                                             and res["sentinel_p95_over_alone_p95"] <= 2.0),
        "server CPU <= 30 ms/interaction": bool(res["server_cpu_ms_per_interaction"] is not None
                                                and res["server_cpu_ms_per_interaction"] <= 30),
        "RSS <= 1.5 GB": bool(res["server_rss_peak_mb"] and res["server_rss_peak_mb"] <= 1536),
        "RSS flat (last minute within 10% of the first)": bool(flat),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"\n== classroom: {a.sessions} sessions × {a.seconds} s on {a.page!r}, think {a.think_ms} ms ==")
    rows = [("interactions (N sessions)", res["interactions"]), ("errors", res["errors"] or "none"),
            ("N sessions latency p50 / p95 ms", f"{res['load_latency_ms'].get('median')} / {res['load_latency_ms'].get('p95')}"),
            ("idle student alone p50 / p95 ms", f"{alone['latency_ms'].get('median')} / {alone_p95}"),
            ("idle student under load p50 / p95 ms", f"{sent.get('median')} / {sent.get('p95')}"),
            ("ratio p95 under load / alone", res["sentinel_p95_over_alone_p95"]),
            ("server CPU ms per interaction", res["server_cpu_ms_per_interaction"]),
            ("server RSS peak MB", res["server_rss_peak_mb"]),
            ("server RSS first / last minute MB", f"{res['rss_first_minute_mb']} / {res['rss_last_minute_mb']}")]
    for k, v in rows:
        print(f"  {k:<40} {v}")
    for k, ok in res["targets"].items():
        print(f"  {'MET ' if ok else 'MISS'} {k}")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
