"""Online learning rules (explorer.online): per-step time of each rule against n, with fitted log–log slopes, and
the per-step cosine of each estimate with the exact (RTRL) gradient.

- Time: one step of the rule's own work (advance + estimate, the forward step left out) for one sequence of a tanh
  RNN with one input at ρ = 0.9, n ∈ {16, 32, 64, 128}: explorer.online.time_per_step, CPU time of this thread on one
  BLAS thread (explorer.cost's policy), the median of --repeats runs of up to 20 steps. Slopes are least squares
  of log time on log n over all four sizes, beside the op-count model's (explorer.online.step_ops).
- Cosine: the lesson's problem at n = 32, ρ = 0.9, T = 100, a squared-error loss at every step (Scenario(hidden=32,
  scale=0.9, target="every_squared")), --seeds networks and sequences (seed i, the rules' signs seeded by i), α = 1
  and α = 0.5: the median over seeds and steps of the per-step cosine, and its 25 / 75 % percentiles.

    python benchmarks/bench_online.py [--repeats 7] [--seeds 16] [--out benchmarks/results/bench_online.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from explorer import online as ol
from explorer.cost import fit_slope
from explorer.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
NS = (16, 32, 64, 128)
K = 10                      # TBPTT's window


def timings(repeats: int) -> list[dict]:
    rows = ol.cost_sweep(NS, k=K, repeats=repeats, work=4e8)
    return [dict(rule=t.rule, label=ol.label(t.rule, K), n=t.n, seconds_per_step=t.seconds, ops_per_step=t.ops,
                 steps_timed=t.steps) for t in rows]


def cosines(seeds: int, leak: float) -> dict[str, dict]:
    sc = Scenario(hidden=32, scale=0.9, T=100, target="every_squared")
    problems = []
    for i in range(seeds):
        model, X, y, mask, loss = replace(sc, seed=i).build()
        problems.append((model, X, y, mask, loss, i))
    spread = ol.cosine_spread(problems, leak=leak, k=K)
    return {r: dict(median=float(np.nanmedian(c)), q25=float(np.nanpercentile(c, 25)),
                    q75=float(np.nanpercentile(c, 75))) for r, c in spread.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_online.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = timings(args.repeats)
    slopes = {}
    for r in ol.RULES:
        d = [x for x in rows if x["rule"] == r]
        slopes[r] = dict(measured=fit_slope([x["n"] for x in d], [x["seconds_per_step"] for x in d])[0],
                         op_count=fit_slope([x["n"] for x in d], [x["ops_per_step"] for x in d])[0])
    cos = {leak: cosines(args.seeds, leak) for leak in (1.0, 0.5)}

    print(f"Per-step time (µs, median of {args.repeats}; CPU time, one BLAS thread) and log–log slopes over "
          f"n = {', '.join(map(str, NS))}; per-step cosine with RTRL at n = 32, ρ = 0.9, T = 100, "
          f"median [25–75 %] over {args.seeds} seeds and all steps:")
    head = "| rule | " + " | ".join(f"n = {n}" for n in NS) + " | slope | op-count slope | cos (α = 1) | cos (α = 0.5) |"
    print(head)
    print("|" + "---|" * (len(NS) + 5))
    for r in ol.RULES:
        t = {x["n"]: x["seconds_per_step"] for x in rows if x["rule"] == r}
        c1, c5 = cos[1.0][r], cos[0.5][r]
        print(f"| {ol.label(r, K)} | " + " | ".join(f"{t[n] * 1e6:,.1f}" for n in NS)
              + f" | {slopes[r]['measured']:.2f} | {slopes[r]['op_count']:.2f} | {c1['median']:.3f} "
              f"[{c1['q25']:.2f}, {c1['q75']:.2f}] | {c5['median']:.3f} [{c5['q25']:.2f}, {c5['q75']:.2f}] |")
    big = {x["rule"]: x["seconds_per_step"] for x in rows if x["n"] == NS[-1]}
    print(f"At n = {NS[-1]}: RTRL / KF-RTRL = {big['rtrl'] / big['kf_rtrl']:.0f}×, RTRL / SnAp-1 = "
          f"{big['rtrl'] / big['snap1']:.0f}×, KF-RTRL / UORO = {big['kf_rtrl'] / big['uoro']:.1f}×. "
          f"({time.perf_counter() - t0:.0f} s)")
    Path(args.out).write_text(json.dumps(dict(
        rows=rows, slopes=slopes, cosine={str(k): v for k, v in cos.items()}, ns=NS, k=K, repeats=args.repeats,
        seeds=args.seeds, cosine_problem=dict(n=32, rho=0.9, T=100, D=3, loss="squared_error, every step"),
        machine=dict(python=platform.python_version(), numpy=np.__version__, cpus=os.cpu_count(),
                     load_average=os.getloadavg())), indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
