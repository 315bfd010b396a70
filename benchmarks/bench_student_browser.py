"""What one student's browser spends on a class question's lesson page, and what that means for a failover test run
with every browser on this machine.

bench_class_scale.py runs 60 students' browsers on the same 2 cores as the servers; the one target it misses is the
idle-priority browsers being back on a working view within 10 s of a replica's death. This script measures the
browser side of that in isolation: K pages (default 4) in one Chromium at *normal* priority, alone on the machine
with scripts/serve_class.sh 2 (HAProxy, two replicas, one SQLite store), all on the replica that will be killed,
the class question revealed (the state of bench_class_scale's steady phase). It measures, from /proc (every
Chromium process: browser, renderers, GPU and utility processes):

- idle: CPU per page per second while nobody touches anything (the page's timers: the reveal watch every 15 s);
- a slider move: CPU per move (one page at a time, each move waited for as bench_class_scale waits: run finished,
  charts redrawn and quiet), the idle share subtracted;
- a failover: the replica is killed (SIGTERM, SIGKILL after 5 s); every page waits for Streamlit's client to
  reconnect through HAProxy and then moves once (bench_class_scale's "back on a working view"); CPU per page from
  the kill until the last page is back, the idle share subtracted; plus the surviving replica's CPU.

The surviving replica has served the same lesson before the kill (one page opened on it), as in bench_class_scale,
so its caches are warm. From those numbers it prints what C cores can do for S sessions of a dead replica
(bench_class_scale: S = 31, C = 2), however well the cores are shared: the k-th session cannot be back before
k * cpu / C seconds (cpu = one recovery's browser + server CPU), so at most floor(C * 10 s / cpu) are back within
10 s and the median one needs at least (S + 1) / 2 * cpu / C — lower bounds, with the idle timers of the other pages
(N = 61 pages, also printed, in cores) left out.

    python3 benchmarks/bench_student_browser.py [--pages 4] [--moves 5] [--idle-s 60]

Prints a table and writes benchmarks/results/bench_student_browser.json (--out).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_class_scale import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTRUMENT,
    SLIDER_KEY,
    Class,
    Question,
    browser_cpu_s,
    cpu_s,
    kill,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]


def chromium_cpu() -> float:
    """CPU seconds of every live Chromium process (this script's browser is the only one)."""
    return sum(browser_cpu_s().values())


async def move(page, slider_default: float, direction: int, timeout_s: float = 60) -> dict:
    """One ArrowRight/ArrowLeft on the Scale slider, waited for as bench_class_scale waits for it."""
    pre = await page.evaluate("() => window.__b.focus()")
    if not pre or not pre["focused"]:
        raise RuntimeError("the Scale slider is not on the page")
    await page.keyboard.press("ArrowRight" if direction > 0 else "ArrowLeft")
    return await wait_for(page, "o => window.__b.check(o)", [pre["seq"], pre["closed"], 150, SLIDER_KEY,
                                                            slider_default], timeout_s, 100)


async def bench(a, klass: Class) -> dict:
    from playwright.async_api import async_playwright
    question = Question(klass, a.question)
    question.reveal()
    victim = "r1"
    survivor = next(n for n in klass.pids if n != victim)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(a.pages):
                ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
                await ctx.add_cookies([{"name": "SERVERID", "value": victim, "url": klass.url}])
                await ctx.add_init_script(INSTRUMENT)
                page = await ctx.new_page()
                await page.goto(question.students_url, wait_until="domcontentloaded", timeout=120_000)
                await wait_for(page, "() => window.__b.shown()", None, 120, 100)
                pages.append(page)
            # the survivor serves this lesson before the kill (its caches warm, as in bench_class_scale)
            warm = await browser.new_context(viewport={"width": 1400, "height": 1000})
            await warm.add_cookies([{"name": "SERVERID", "value": survivor, "url": klass.url}])
            await warm.add_init_script(INSTRUMENT)
            wp = await warm.new_page()
            await wp.goto(question.students_url, wait_until="domcontentloaded", timeout=120_000)
            await wait_for(wp, "() => window.__b.shown()", None, 120, 100)
            await warm.close()
            await asyncio.sleep(10)                      # let the pages settle (fonts, Plotly's first layout)

            # idle
            c0, t0 = chromium_cpu(), time.monotonic()
            await asyncio.sleep(a.idle_s)
            idle_per_page = (chromium_cpu() - c0) / (time.monotonic() - t0) / a.pages     # cores per page

            # slider moves, one page at a time
            moves, lat = [], []
            s0 = cpu_s(klass.pids[victim])
            c0, t0 = chromium_cpu(), time.monotonic()
            for i in range(a.moves):
                for page in pages:
                    r = await move(page, question.slider_default, 1 if i % 2 == 0 else -1)
                    lat.append(r["lat"])
                    moves.append(r["errors"])
                await asyncio.sleep(0.5)
            dt = time.monotonic() - t0
            n_moves = a.moves * a.pages
            move_cpu = ((chromium_cpu() - c0) - idle_per_page * a.pages * dt) / n_moves
            server_move_cpu = (cpu_s(klass.pids[victim]) - s0) / n_moves

            # the failover: every page on the victim
            closed0 = [await p.evaluate("() => window.__b.closed") for p in pages]
            c0, s0 = chromium_cpu(), cpu_s(klass.pids[survivor])
            t_kill, kill_epoch_ms = time.monotonic(), time.time() * 1000
            killer = asyncio.get_running_loop().run_in_executor(None, kill, klass.pids[victim], "term")

            async def recover(page, closed: int) -> dict:
                await wait_for(page, "c => window.__b.reconnected(c)", closed, 60, 100)
                at = await page.evaluate("() => window.__b.connectedAt()")
                r = await move(page, question.slider_default, 1)
                return dict(reconnect_s=(at - kill_epoch_ms) / 1000, back_s=(r["end"] - kill_epoch_ms) / 1000,
                            errors=r["errors"])

            back = await asyncio.gather(*(recover(p, c) for p, c in zip(pages, closed0)))
            dt = time.monotonic() - t_kill
            recover_cpu = ((chromium_cpu() - c0) - idle_per_page * a.pages * dt) / a.pages
            server_recover_cpu = (cpu_s(klass.pids[survivor]) - s0) / a.pages
            await killer
        finally:
            await browser.close()
    return dict(idle_per_page=idle_per_page, move_cpu=move_cpu, move_latency_ms=lat, move_errors=sum(moves),
                server_move_cpu=server_move_cpu, back=back, recover_cpu=recover_cpu,
                server_recover_cpu=server_recover_cpu, question=dict(slug=a.question, page=question.path))


def bound(r: dict, sessions: int, victims: int, cores: float, window_s: float = 10.0) -> dict:
    """What C cores can do for S recoveries of cpu seconds each (browser + server), idle timers left out: the k-th
    back no sooner than k * cpu / C, so at most floor(C * window / cpu) within the window."""
    cpu = r["recover_cpu"] + r["server_recover_cpu"]
    return dict(sessions=sessions, victims=victims, cores=cores, recovery_cpu_s=round(cpu, 2),
                idle_cores=round(sessions * r["idle_per_page"], 2), window_s=window_s,
                most_back_within_window=min(victims, int(cores * window_s / cpu)),
                least_time_to_median_s=round((victims + 1) // 2 * cpu / cores, 1),
                least_time_to_last_s=round(victims * cpu / cores, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--moves", type=int, default=5, help="moves per page")
    ap.add_argument("--idle-s", type=float, default=60)
    ap.add_argument("--question", default="explode-100")
    ap.add_argument("--sessions", type=int, default=61, help="the class of the bound: pages idling meanwhile")
    ap.add_argument("--victims", type=int, default=31, help="the class of the bound: sessions of the dead replica")
    ap.add_argument("--cores", type=float, default=2.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_student_browser.json"))
    a = ap.parse_args()
    klass = Class(2)
    try:
        r = asyncio.run(bench(a, klass))
    finally:
        klass.stop()
    b = bound(r, a.sessions, a.victims, a.cores)
    med = statistics.median
    back = r["back"]
    res = dict(pages=a.pages, moves_per_page=a.moves, idle_s=a.idle_s, question=r["question"],
               idle_cpu_pct_per_page=round(100 * r["idle_per_page"], 2),
               move_browser_cpu_s=round(r["move_cpu"], 3), move_server_cpu_s=round(r["server_move_cpu"], 3),
               move_latency_ms_median=round(med(r["move_latency_ms"]), 1), move_errors=r["move_errors"],
               failover_browser_cpu_s_per_page=round(r["recover_cpu"], 3),
               failover_server_cpu_s_per_page=round(r["server_recover_cpu"], 3),
               failover_reconnect_s=[round(x["reconnect_s"], 2) for x in back],
               failover_back_s=[round(x["back_s"], 2) for x in back],
               failover_errors=sum(x["errors"] for x in back), bound=b,
               machine="2 cores; HAProxy, 2 replicas and one normal-priority Chromium on this machine",
               date=time.strftime("%Y-%m-%d"))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    rows = [
        ("idle page, CPU (% of a core)", f"{res['idle_cpu_pct_per_page']}"),
        ("slider move: browser / server CPU (s)", f"{res['move_browser_cpu_s']} / {res['move_server_cpu_s']}"),
        ("slider move served, median (ms)", f"{res['move_latency_ms_median']}"),
        ("failover, per page: browser / server CPU (s)",
         f"{res['failover_browser_cpu_s_per_page']} / {res['failover_server_cpu_s_per_page']}"),
        (f"failover, {a.pages} pages: reconnected / back on a working view (s)",
         f"{max(res['failover_reconnect_s'])} / {max(res['failover_back_s'])} (the last page)"),
        ("errors (moves, failover)", f"{res['move_errors']}, {res['failover_errors']}"),
        ("one recovery, browser + server CPU (s)", f"{b['recovery_cpu_s']}"),
        (f"{b['victims']} sessions on {b['cores']:g} cores: at most back within {b['window_s']:g} s",
         f"{b['most_back_within_window']} of {b['victims']}"),
        (f"{b['victims']} sessions on {b['cores']:g} cores: the median / the last back, at the soonest (s)",
         f"{b['least_time_to_median_s']} / {b['least_time_to_last_s']} (target 10)"),
        (f"{b['sessions']} pages idling (cores, left out above)", f"{b['idle_cores']}"),
    ]
    w = max(len(k) for k, _ in rows)
    print("\n| " + "measure".ljust(w) + " | result |\n|" + "-" * (w + 2) + "|---:|")
    for k, v in rows:
        print(f"| {k.ljust(w)} | {v} |")
    print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
