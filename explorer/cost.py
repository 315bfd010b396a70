"""What a gradient costs: BPTT, TBPTT(k1, k2), RTRL and checkpointed BPTT on the same vanilla tanh RNN — measured
time, counted memory, fitted log–log slopes, proof that they compute the same gradient, and checkpointing's
time/memory trade-off against Gruslys et al.'s headline. The pages' prose reads its numbers from here: the
headline's (`GRUSLYS_2016`, `Headline.summary`), the slopes (`slopes`, `slope_text`).

Memory is counted, not sampled: the floats an algorithm must hold at its peak to produce the gradient. A vanilla
RNN's backward pass needs, per step, h_t, a_t and φ'(a_t) (3·B·H floats; `_cache_floats`), so with D inputs:
    BPTT            3·B·H·T + B·H                  the whole cache (h_0 once)
    TBPTT(k1, k2)   3·B·H·min(k2, T) + B·H         the last k2 steps: what the online algorithm keeps (the engine
                                                   runs it over a stored trace — same gradient, same work)
    checkpointed    B·H·(⌈T/L⌉ + 3L + 1)           ⌈T/L⌉ checkpoints + one recomputed segment of L steps
    RTRL            B·H·(H·D + H² + H) + B·H       influence matrices P_t = ∂h_t/∂θ_rec and one state
Time is the CPU time of the calling thread (time.thread_time) for forward + gradient, the median of a few repeats:
on a shared machine, wall-clock time (time.perf_counter) varied 2–3× with other processes' load, CPU time by a
few per cent. It counts only this thread, so the timed calls run with one BLAS thread (threadpoolctl, when it is
installed; the app's dependency) and it is then the whole cost. Only slopes and ratios carry over to another
machine.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .bptt import bptt
from .checkpointing import _cache_floats, checkpointed_bptt, min_budget, segment_for_budget
from .gradcheck import relative_error
from .model import build_model
from .rtrl import rtrl
from .truncation import TBPTT
from .validation import choice, positive_int

ALGORITHMS = ("bptt", "tbptt", "checkpointed", "rtrl")
K1, K2 = 10, 20                     # TBPTT(k1, k2) of the sweeps: every 10 steps, backpropagate 20
LOSS = "squared_error"
REPEATS = 5                         # timed runs per measurement at most (the median is kept) ...
MIN_REPEATS = 3                     # ... and at least, so one slow run (page faults, a busy core) is outvoted
TIME_BUDGET_S = 0.04                # past MIN_REPEATS, stop repeating a measurement after this long
CLOCK = time.thread_time            # CPU seconds of this thread: time the machine's other work does not count
RTRL_MAX_H = 64                     # P_t alone is H⁴ floats: 17 million (134 MB) at H = 64
RTRL_WORK = 2.5e8                   # multiply-adds of W_hh·P per run (T·H²·|θ_rec|): 15–30 ms here
AGREE_TOL = 1e-10                   # float64 gradients that must agree do so to ~1e-15

T_SWEEP = (10, 20, 50, 100, 200, 500, 1000)
H_SWEEP = {"bptt": (16, 32, 64, 128, 256, 512, 1024), "tbptt": (16, 32, 64, 128, 256, 512, 1024),
           "checkpointed": (16, 32, 64, 128, 256, 512, 1024), "rtrl": (8, 16, 24, 32, 40, 48, 56, 64)}
# Below these H a step's Python/NumPy call overhead (~10 µs) hides the matmuls, so slopes vs H are fitted above;
# below T = 50 a call's fixed cost (checks, allocation) still shows, so slopes vs T are fitted from there
FIT_FROM_H = {"bptt": 256, "tbptt": 256, "checkpointed": 256, "rtrl": 40}
FIT_FROM_T = {a: 50 for a in ALGORITHMS}


@dataclass(frozen=True)
class Headline:
    T: int
    memory_ratio: float             # peak memory / plain BPTT's
    time_ratio: float               # time per iteration / plain BPTT's
    source: str

    @property
    def memory_saved(self) -> float:
        return 1 - self.memory_ratio

    @property
    def extra_time(self) -> float:
        return self.time_ratio - 1

    def summary(self) -> str:
        """The headline in a few words: "memory −95%, time +33%"."""
        return f"memory −{self.memory_saved:.0%}, time {self.extra_time:+.0%}"


GRUSLYS_2016 = Headline(1000, 0.05, 4 / 3, "Gruslys, Munos, Danihelka, Lanctot & Graves (2016), Memory-Efficient "
                        "Backpropagation Through Time, NeurIPS 29, arXiv:1606.03401: “For sequences of length 1000, "
                        "our algorithm saves 95% of memory usage while using only one third more time per iteration "
                        "than the standard BPTT.”")


@dataclass
class Measurement:
    algorithm: str
    T: int
    H: int
    seconds: float                  # median CPU time of one gradient (see CLOCK); NaN when counted but not run
    peak_floats: int                # floats held at the peak (see the module docstring)
    repeats: int                    # timed runs behind the median (0: not run, memory from the formula)

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / self.T


@dataclass
class Agreement:
    algorithm: str                  # label, with its parameters
    must_agree: bool                # False: a truncated gradient, expected to differ
    max_rel_diff: float             # max over parameters of ‖g − g_BPTT‖ / max(‖g‖, ‖g_BPTT‖)

    @property
    def ok(self) -> bool:
        return self.max_rel_diff <= AGREE_TOL if self.must_agree else self.max_rel_diff > AGREE_TOL


@dataclass
class TradeoffPoint:
    budget: int                     # stored steps allowed
    segment: int                    # L, the longest segment whose ⌈T/L⌉ + L fits
    peak_stored_steps: int
    peak_floats: int
    extra_forward_steps: int
    seconds: float
    memory_ratio: float             # peak_floats / plain BPTT's
    time_ratio: float               # measured: median over passes of seconds / the plain BPTT runs beside it
    counted_time_ratio: float       # 1 + extra / (3T): forward = 1, backward = 2 units per step


@dataclass
class Tradeoff:
    T: int
    H: int
    plain_seconds: float
    plain_floats: int
    points: list[TradeoffPoint]


def label(algorithm: str, k1: int = K1, k2: int = K2) -> str:
    return {"bptt": "BPTT", "tbptt": f"TBPTT({k1}, {k2})", "checkpointed": "checkpointed (L = √T)",
            "rtrl": "RTRL"}[algorithm]


def problem(T: int, H: int, seed: int = 0):
    """The model and data every algorithm gets: a vanilla tanh RNN (D = O = 1, orthogonal W_hh, so ρ = 1), one
    sequence (B = 1) of x_t ∼ N(0, 1) with targets y*_t ∼ N(0, 1) and a squared error at every step."""
    T, H = positive_int("T", T, maximum=100_000), positive_int("H", H, maximum=4096)
    model = build_model("rnn", 1, H, 1, activation="tanh", init="orthogonal", seed=seed)   # no rescale: no O(H³) eig
    rng = np.random.default_rng(seed)
    return model, rng.standard_normal((T, 1, 1)), rng.standard_normal((T, 1, 1))


def rtrl_max_T(H: int, D: int = 1) -> int:
    """Longest sequence RTRL runs within RTRL_WORK multiply-adds (0 above RTRL_MAX_H)."""
    return 0 if H > RTRL_MAX_H else int(RTRL_WORK // (H * H * (H * D + H * H + H)))


def stored_floats(algorithm: str, T: int, H: int, *, B: int = 1, D: int = 1, k2: int = K2,
                  segment: int | None = None) -> int:
    """The formula for each algorithm's peak stored floats (module docstring); `segment` defaults to √T."""
    choice("algorithm", algorithm, ALGORITHMS)
    if algorithm == "bptt":
        return B * H * (3 * T + 1)
    if algorithm == "tbptt":
        return B * H * (3 * min(k2, T) + 1)
    if algorithm == "checkpointed":
        L = min(segment or max(1, math.isqrt(T)), T)
        return B * H * (math.ceil(T / L) + 3 * L + 1)
    return B * H * (H * D + H * H + H) + B * H


def _one_blas_thread():
    """BLAS limited to this thread while timing (else CLOCK would miss its helper threads' work)."""
    try:
        from threadpoolctl import threadpool_limits  # optional: `import explorer` needs only NumPy
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _timed(fns, repeats: int) -> list[tuple[list[float], object]]:
    """(seconds of every run, first result) for each call in `fns`, timed in round-robin passes (all of them
    once, then all again …): a burst of load from elsewhere on the machine then spoils one pass of many points —
    which a median outvotes — instead of every repeat of one point (which bent whole stretches of a curve). At
    least min(repeats, MIN_REPEATS) passes; more, up to `repeats`, while within TIME_BUDGET_S per call."""
    times, outs = [[] for _ in fns], [None] * len(fns)
    start, budget = time.perf_counter(), TIME_BUDGET_S * len(fns)
    with _one_blas_thread():
        for r in range(max(1, repeats)):
            for i, fn in enumerate(fns):
                t0 = CLOCK()
                out = fn()
                times[i].append(CLOCK() - t0)
                if r == 0:
                    outs[i] = out                # keep one result (to count its floats), not one per pass
            if r + 1 >= MIN_REPEATS and time.perf_counter() - start > budget:
                break
    return list(zip(times, outs))


def _check_rtrl(T: int, H: int):
    if T > rtrl_max_T(H):
        raise ValueError(f"RTRL is O(T·H⁴): it runs here only for H ≤ {RTRL_MAX_H} and T ≤ rtrl_max_T(H) "
                         f"({rtrl_max_T(H)} at H = {H}), a cap on time; got T = {T}")


def _job(algorithm: str, model, X, y, k1: int, k2: int):
    """(the gradient call, how to count the floats it holds at its peak from its result)."""
    T, B, H = X.shape[0], X.shape[1], model.hidden_size
    if algorithm == "bptt":
        return (lambda: bptt(model, X, y, loss=LOSS)), lambda rec: _cache_floats(rec.trace.cache)
    if algorithm == "tbptt":
        w = min(k2, T)                           # the widest window: w steps of cache and the state before them

        def window(rec):
            c = rec.trace.cache
            return c.states[:w + 1].size + c.pre[:w].size + sum(v[:w].size for v in c.extras.values())
        return (lambda: bptt(model, X, y, loss=LOSS, scheme=TBPTT(k1, k2))), window
    if algorithm == "checkpointed":
        return (lambda: checkpointed_bptt(model, X, y, loss=LOSS)), lambda res: res.peak_floats
    _check_rtrl(T, H)
    return (lambda: rtrl(model, X, y, loss=LOSS)), lambda res: res.influence_floats + B * H


def _measure(points, seed: int, repeats: int, k1: int, k2: int) -> list[Measurement]:
    """Measure (algorithm, T, H) points, interleaved; one model per H, data = prefixes of one sequence per H.
    RTRL points beyond its cap are counted from the formula, not run (seconds NaN, repeats 0)."""
    problems, jobs, out = {}, [], []
    for a, T, H in points:
        if H not in problems:
            problems[H] = problem(max(T for _, T, H2 in points if H2 == H), H, seed)
        model, X, y = problems[H]
        if a == "rtrl" and T > rtrl_max_T(H):
            out.append(Measurement(a, T, H, math.nan, stored_floats(a, T, H, k2=k2), 0))
        else:
            jobs.append((len(out), *_job(a, model, X[:T], y[:T], k1, k2)))
            out.append(Measurement(a, T, H, math.nan, 0, 0))
    for (i, _, count), (ts, res) in zip(jobs, _timed([fn for _, fn, _ in jobs], repeats)):
        out[i].seconds, out[i].repeats, out[i].peak_floats = float(np.median(ts)), len(ts), int(count(res))
    return out


def measure(algorithm: str, T: int, H: int, *, seed: int = 0, repeats: int = REPEATS, k1: int = K1,
            k2: int = K2) -> Measurement:
    """Time one gradient of `algorithm` on `problem(T, H, seed)` and count its peak stored floats."""
    choice("algorithm", algorithm, ALGORITHMS)
    if algorithm == "rtrl":
        _check_rtrl(T, H)
    return _measure([(algorithm, T, H)], seed, repeats, k1, k2)[0]


def sweep(over: str, values, *, fixed: int, algorithms=ALGORITHMS, seed: int = 0,
          repeats: int = REPEATS) -> list[Measurement]:
    """Measure every algorithm over T (over="T", H = fixed) or over H (over="H", T = fixed), interleaved. RTRL
    points beyond its time cap: over T they are counted, not run (seconds NaN); over H, RTRL runs its first
    rtrl_max_T(H) steps instead (compare seconds_per_step)."""
    choice("over", over, ("T", "H"))
    for a in algorithms:
        choice("algorithm", a, ALGORITHMS)
    if over == "T":
        points = [(a, positive_int("T", T), fixed) for T in values for a in algorithms]
    else:
        points = [(a, min(fixed, rtrl_max_T(H)) if a == "rtrl" else fixed, H) for H in values for a in algorithms]
        points = [p for p in points if p[1] >= 1]
    return _measure(points, seed, repeats, K1, K2)


def sweep_H(T: int, *, seed: int = 0, repeats: int = REPEATS) -> list[Measurement]:
    """Every algorithm over its own H range (H_SWEEP: RTRL's stops at RTRL_MAX_H), at T steps (RTRL: at most
    rtrl_max_T(H)), all interleaved in one measurement."""
    points = [(a, min(T, rtrl_max_T(H)) if a == "rtrl" else T, H) for a in ALGORITHMS for H in H_SWEEP[a]]
    return _measure([p for p in points if p[1] >= 1], seed, repeats, K1, K2)


def fit_slope(x, y) -> tuple[float, float]:
    """Least squares log10 y = slope · log10 x + c over the positive, finite points: (slope, c); NaN if < 2."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if np.unique(x[ok]).size < 2:
        return math.nan, math.nan
    slope, c = np.polyfit(np.log10(x[ok]), np.log10(y[ok]), 1)
    return float(slope), float(c)


class Fit(NamedTuple):
    slope: float                    # p in y ≈ C·x^p: the measured exponent (NaN: fewer than two distinct x)
    log10_c: float                  # log10 C
    x_from: float                   # the fitting threshold: only points with x ≥ x_from were fitted


def slopes(measurements, x: str, y: str, fit_from: dict | None = None) -> dict[str, Fit]:
    """Per algorithm, the least-squares slope of log y on log x over its points above the fitting threshold
    (x ≥ fit_from[algorithm], 0 when absent) whose x and y are positive and finite:
        u_i = log10 x_i,  v_i = log10 y_i,   p = Σ (u_i − ū)(v_i − v̄) / Σ (u_i − ū)²,   log10 C = v̄ − p·ū
    i.e. the power law y ≈ C·x^p through them (`fit_slope`); on log–log axes p is the line's slope. `x` and `y`
    name Measurement attributes ("T", "H", "seconds", "seconds_per_step", "peak_floats"). The charts' legends
    and the page's prose both read these. Algorithms in ALGORITHMS order; one without measurements is left out."""
    lo = fit_from or {}
    out = {}
    for a in ALGORITHMS:
        ms = [m for m in measurements if m.algorithm == a]
        if not ms:
            continue
        xs = np.array([getattr(m, x) for m in ms], dtype=float)
        ys = np.array([getattr(m, y) for m in ms], dtype=float)
        keep = xs >= lo.get(a, 0)
        out[a] = Fit(*fit_slope(xs[keep], ys[keep]), lo.get(a, 0))
    return out


def slope_text(s: float) -> str:
    """A fitted slope to two decimals ("n/a" when NaN), never "-0.00": a flat line's fit is ±1e-17."""
    return "n/a" if not np.isfinite(s) else f"{round(s, 2) + 0.0:.2f}"


def _max_rel(g: dict, ref: dict) -> float:
    return max(relative_error(g[k], ref[k]) for k in ref)


def agreement(T: int, H: int, *, seed: int = 0, k1: int = K1, k2: int = K2) -> list[Agreement]:
    """Each algorithm's gradient against full BPTT's on `problem(T, H, seed)`. RTRL, checkpointed BPTT (at the
    smallest budget) and TBPTT with k2 = T compute the same gradient and must agree to AGREE_TOL; TBPTT with
    k2 < T cuts every path longer than k2 and must not."""
    T = positive_int("T", T)
    if T < 2:
        raise ValueError(f"T must be ≥ 2 to compare a truncated gradient, got {T}")
    _check_rtrl(T, H)
    model, X, y = problem(T, H, seed)
    ref = bptt(model, X, y, loss=LOSS).grads
    k2t = min(k2, T - 1)
    k1t = min(k1, k2t)
    b = min_budget(T)
    ck = checkpointed_bptt(model, X, y, loss=LOSS, budget=b)
    return [Agreement("RTRL", True, _max_rel(rtrl(model, X, y, loss=LOSS).grads, ref)),
            Agreement(f"checkpointed, budget {b} steps (L = {ck.segment_length})", True, _max_rel(ck.grads, ref)),
            Agreement(f"TBPTT({min(k1, T)}, {T}): k2 = T, nothing cut", True,
                      _max_rel(bptt(model, X, y, loss=LOSS, scheme=TBPTT(min(k1, T), T)).grads, ref)),
            Agreement(f"TBPTT({k1t}, {k2t}): truncated", False,
                      _max_rel(bptt(model, X, y, loss=LOSS, scheme=TBPTT(k1t, k2t)).grads, ref))]


def checkpoint_tradeoff(T: int, H: int, budgets, *, seed: int = 0, repeats: int = REPEATS) -> Tradeoff:
    """For each memory budget (stored steps, ≥ min_budget(T)): peak floats, extra forward steps, and time and
    memory relative to plain BPTT on the same problem. Plain BPTT runs between every two budgets (plain, b1,
    plain, b2, …, plain), and each time ratio is the median over passes of t_b / (mean of the plain runs on either
    side): load from elsewhere that lasts longer than a run slows both alike and cancels."""
    budgets = [positive_int("budget", b) for b in budgets]
    for b in budgets:
        segment_for_budget(T, b)                 # ValueError naming the smallest budget before anything runs
    model, X, y = problem(T, H, seed)
    calls = [lambda: bptt(model, X, y, loss=LOSS)]
    for b in budgets:
        calls += [lambda b=b: checkpointed_bptt(model, X, y, loss=LOSS, budget=b), calls[0]]
    timed = _timed(calls, repeats)
    plain = np.array([t for t, _ in timed[0::2]])                       # (budgets + 1, passes)
    pts = []
    for j, b in enumerate(budgets):
        tb, r = timed[2 * j + 1]
        ratio = float(np.median(np.asarray(tb) / (0.5 * (plain[j] + plain[j + 1]))))
        pts.append(TradeoffPoint(b, r.segment_length, r.peak_stored_steps, r.peak_floats, r.extra_forward_steps,
                                 float(np.median(tb)), r.peak_floats / r.plain_floats, ratio,
                                 1 + r.extra_forward_steps / (3 * T)))
    return Tradeoff(T, H, float(np.median(plain)), stored_floats("bptt", T, H), pts)
