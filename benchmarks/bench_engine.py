"""Forward + backward time of full BPTT (loss included) for T ∈ {50, 200, 1000}, H ∈ {16, 64, 256},
B ∈ {1, 32}, float64 and float32, RNN (tanh) and LSTM; and the default classroom case
(T=100, H=32, B=1: BPTT with δ_t, ‖∂h_T/∂h_k‖ with full singular spectra, and the W_hh spectrum).

When torch is installed (optional: pip install torch==2.13.0) it times torch CPU autograd on identical shapes
in the same run — torch.nn.RNN/LSTM and a hand-written per-step loop — and prints our time / torch.nn's.
The same grid runs again with two stacked layers (L = 2: build_model(num_layers=2) against
torch.nn.RNN/LSTM(num_layers=2); no hand-written loop there); every row has its `layers`.
Everything runs on one thread (OPENBLAS/torch threads = 1), as the app does.

    python benchmarks/bench_engine.py [--quick] [--layers 1,2] [--out benchmarks/results/bench_engine.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import explorer as ex

try:
    import torch
    torch.set_num_threads(1)
except ImportError:
    torch = None


def median_time(fn, *, min_repeats=3, max_repeats=25, budget=0.6) -> float:
    """Median wall time (s) of fn() after one warm-up call; repeats until `budget` seconds or max_repeats."""
    fn()
    times, t_start = [], time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - t_start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ours(cell, T, H, B, dtype, D=8, O=8, layers=1):
    model = ex.build_model(cell, D, H, O, seed=0, dtype=dtype, scale=0.9, num_layers=layers)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    y = rng.integers(0, O, (T, B))
    return lambda: ex.bptt(model, X, y)


def torch_nn(cell, T, H, B, dtype, D=8, O=8, layers=1):
    dt = {"float64": torch.float64, "float32": torch.float32}[dtype]
    net = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[cell](D, H, num_layers=layers).to(dt)
    lin = torch.nn.Linear(H, O).to(dt)
    X = torch.randn(T, B, D, dtype=dt)
    y = torch.randint(0, O, (T * B,))

    def run():
        net.zero_grad(set_to_none=True)
        lin.zero_grad(set_to_none=True)
        out, _ = net(X)
        loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, O), y, reduction="sum") / B
        loss.backward()
    return run


def torch_loop(cell, T, H, B, dtype, D=8, O=8):
    """A hand-written per-step loop on torch tensors with autograd (what a student would write)."""
    dt = {"float64": torch.float64, "float32": torch.float32}[dtype]
    G = 4 if cell == "lstm" else 1
    W_x = (torch.randn(G * H, D, dtype=dt) * 0.3).requires_grad_()
    W_h = (torch.randn(G * H, H, dtype=dt) / H ** 0.5).requires_grad_()
    b = torch.zeros(G * H, dtype=dt, requires_grad=True)
    lin = torch.nn.Linear(H, O).to(dt)
    X = torch.randn(T, B, D, dtype=dt)
    y = torch.randint(0, O, (T * B,))

    def run():
        for p in (W_x, W_h, b):
            p.grad = None
        h = torch.zeros(B, H, dtype=dt)
        c = torch.zeros(B, H, dtype=dt)
        hs = []
        for t in range(T):
            a = X[t] @ W_x.T + h @ W_h.T + b
            if cell == "lstm":
                i, f, g, o = a.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                h = torch.tanh(a)
            hs.append(h)
        out = torch.stack(hs)
        loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, O), y, reduction="sum") / B
        loss.backward()
    return run


def classroom_case():
    """T=100, H=32, B=1: full BPTT with δ_t, ‖∂h_T/∂h_k‖ and singular spectra for every k, W_hh spectrum."""
    model = ex.build_model("rnn", 1, 32, 1, seed=0, scale=0.9)
    X = np.random.default_rng(0).standard_normal((100, 1, 1))
    y = np.zeros((100, 1, 1))

    def run():
        rec = ex.bptt(model, X, y, loss="squared_error")
        _ = rec.delta_norms                          # the norms are computed on first access: time them
        ex.jacobian_products(rec.trace, spectrum=True)
        ex.weight_spectrum(model)
    return run


def bench_row(layers, cell, dtype, T, H, B) -> dict:
    """One timed row, printed as it is measured (torch's hand-written loop only for one layer)."""
    r = dict(layers=layers, cell=cell, dtype=dtype, T=T, H=H, B=B)
    r["ours_ms"] = median_time(ours(cell, T, H, B, dtype, layers=layers)) * 1e3
    if torch is not None:
        r["torch_nn_ms"] = median_time(torch_nn(cell, T, H, B, dtype, layers=layers)) * 1e3
        r["ratio_nn"] = r["ours_ms"] / r["torch_nn_ms"]
        if layers == 1:
            r["torch_loop_ms"] = median_time(torch_loop(cell, T, H, B, dtype), max_repeats=7) * 1e3
            r["ratio_loop"] = r["ours_ms"] / r["torch_loop_ms"]
    tn = f"{r['torch_nn_ms']:9.2f} {r['ratio_nn']:6.2f}" if torch else f"{'-':>9} {'-':>6}"
    tl = f"{r['torch_loop_ms']:10.2f} {r['ratio_loop']:6.2f}" if "torch_loop_ms" in r else f"{'-':>10} {'-':>6}"
    print(f"{layers:1d} {cell:5} {dtype:8} {T:5d} {H:4d} {B:3d} | {r['ours_ms']:9.2f} {tn} | {tl}", flush=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small grid, for a smoke run")
    ap.add_argument("--layers", default="1,2", help="stack depths to time, comma-separated (default 1,2)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_engine.json"))
    args = ap.parse_args()
    Ts, Hs, Bs = ([50, 200], [16, 64], [1, 32]) if args.quick else ([50, 200, 1000], [16, 64, 256], [1, 32])
    rows = []
    load_start = os.getloadavg()
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"{platform.processor() or platform.machine()}, 1 thread; times are medians in ms\n")
    head = (f"{'L':>1} {'cell':5} {'dtype':8} {'T':>5} {'H':>4} {'B':>3} | {'ours':>9} {'torch.nn':>9} {'ratio':>6} | "
            f"{'torch loop':>10} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    for layers in sorted({int(v) for v in args.layers.split(",")}):
        for cell in ("rnn", "lstm"):
            for dtype in ("float64", "float32"):
                for T in Ts:
                    for H in Hs:
                        for B in Bs:
                            rows.append(bench_row(layers, cell, dtype, T, H, B))
    cls = median_time(classroom_case(), min_repeats=20, max_repeats=200, budget=2.0) * 1e3
    print(f"\nclassroom case (T=100, H=32, B=1; BPTT + δ_t + Jacobian spectra + W_hh spectrum): {cls:.2f} ms "
          f"(target < 10 ms)")
    summary = {}
    if torch is not None:
        one = [r for r in rows if r["layers"] == 1]
        two = [r for r in rows if r["layers"] == 2]
        b1 = [r["ratio_nn"] for r in one if r["B"] == 1]
        big = [r for r in one if (r["T"], r["H"], r["B"], r["dtype"]) == (1000, 256, 32, "float32")]
        if b1:
            summary = {
                "B=1 ratio vs torch.nn: median": statistics.median(b1), "B=1 ratio vs torch.nn: max": max(b1),
                "T=1000,H=256,B=32,float32 ratio (rnn, lstm)": [r["ratio_nn"] for r in big],
            }
            print(f"B=1: ours / torch.nn median {summary['B=1 ratio vs torch.nn: median']:.2f}, "
                  f"max {summary['B=1 ratio vs torch.nn: max']:.2f} (target ≤ 0.5)")
        if big:
            print("T=1000, H=256, B=32, float32: ours / torch.nn = "
                  + ", ".join(f"{r['cell']} {r['ratio_nn']:.2f}" for r in big) + " (target ≤ 1.0)")
        if two:
            b1_2 = [r["ratio_nn"] for r in two if r["B"] == 1]
            summary["L=2 B=1 ratio vs torch.nn (num_layers=2): median"] = statistics.median(b1_2)
            summary["L=2 B=1 ratio vs torch.nn (num_layers=2): max"] = max(b1_2)
            summary["L=2 all rows ratio vs torch.nn: median"] = statistics.median(r["ratio_nn"] for r in two)
            print(f"L=2: ours / torch.nn(num_layers=2) at B=1 median {statistics.median(b1_2):.2f}, max "
                  f"{max(b1_2):.2f}; all rows median {summary['L=2 all rows ratio vs torch.nn: median']:.2f}")
            if len(one) == len(two):
                summary["L=2 / L=1 time of ours: median"] = statistics.median(
                    r2["ours_ms"] / r1["ours_ms"] for r1, r2 in zip(one, two))
                print(f"ours L=2 / L=1: median {summary['L=2 / L=1 time of ours: median']:.2f}")
    load = dict(start=load_start, end=os.getloadavg())      # 1-, 5-, 15-minute load averages: other work skews times
    print(f"load average (1, 5, 15 min) at start {load_start}, at end {load['end']} on {os.cpu_count()} cores")
    out = dict(rows=rows, classroom_ms=cls, summary=summary, numpy=np.__version__,
               torch=torch.__version__ if torch else None, threads=1, load_average=load)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
