"""Optimal checkpointing by dynamic programming: BPTT with hidden-state memorisation (BPTT-HSM, Gruslys, Munos,
Danihelka, Lanctot & Graves, NeurIPS 2016, "Memory-efficient backpropagation through time", arXiv:1606.03401).

The memory model. There are m slots, each holding one stored state s_t (B·S floats: S = cell.state_size_for(H),
so h_t for the RNN, GRU and IndRNN and [h_t; c_t] for the LSTM). **The slot holding the initial state s_0 is one
of the m.** Besides the slots, the computation has working memory that is not counted in m: the state being
advanced and the internal state of ONE step (its pre-activations and the factors its backward needs), which a
step's backward reads and which is dropped right after. A step's backward therefore always starts by running
that step forward from its input state s_t, and that forward step is counted.

The cost. C(t, m) = forward steps needed to backpropagate t steps (from a stored s_a, with the adjoint at s_{a+t}
given) within m slots, s_a's included:
    C(t, 1) = t(t + 1)/2      (the one slot holds s_a: before each step's backward, run forward to it from s_a)
    C(1, m) = 1               (run the step forward from s_a, then backpropagate it)
    C(t, m) = min_{1≤y<t} [ y + C(t − y, m − 1) + C(y, m) ]
run y steps forward from s_a and store s_{a+y} (one more slot), solve the right part [a+y, a+t) with the m − 1
slots left (s_{a+y}'s included), free s_{a+y}, then solve the left part [a, a+y) with all m. The policy is the
argmin y (the smallest, on ties), applied recursively. C(T, m) counts EVERY forward step: the first pass over the
sequence is the root's y-sweeps, so plain BPTT's own forward pass is inside the count.

Conventions, checked. (1) This recursion with these two boundary values is exactly Griewank & Walther's binomial
checkpointing (Algorithm 799 "revolve", ACM TOMS 26(1), 2000, eq. 2), with t added for the forward step before
each backward step: their minimal number of extra forward steps E(t, s) satisfies E(1, s) = 0, E(t, 1) =
t(t − 1)/2 and E(t, s) = min_i [i + E(i, s) + E(t − i, s − 1)] (as in firedrakeproject/checkpoint_schedules,
utils.optimal_extra_steps, which cites that equation), and C(t, m) = t + E(t, m) turns one recursion into the
other term by term. Their s snapshots include the initial state — so m here does too. Their closed form,
E(t, s) = r·t − β(s + 1, r − 1) with β(s, r) = (s+r choose s) and r the least integer with β(s, r) ≥ t, is
`optimal_forward_steps`; the table below equals it (tests). (2) C(t, m) = t for m ≥ t is NOT a base of this
model: every step but the last must run forward once to reach the end and once more just before its backward
(no internal state outlives its step), so C(t, m) ≥ 2t − 1, and 2t − 1 is reached exactly when m ≥ t − 1 (store
s_0 … s_{t−2}). C(t, m) = t would need the slots to hold whole internal states, i.e. plain BPTT's cache: that is
the paper's internal-state variant (BPTT-ISM), or mixing the two (BPTT-MSM), where a stored internal state lets
a step's backward skip its recomputation; it is also what `explorer.checkpointing` does (it keeps a recomputed
segment's whole cache). Only BPTT-HSM is implemented here.

Engine: `optimal_checkpointed_bptt` runs `schedule(T, m)` with the cells' own forward and step_backward (the ones
`explorer.checkpointing` uses) and counts, as they run, the forward steps (= C(T, m)) and the stored states
(≤ m). Its gradient is plain BPTT's up to the order of floating-point sums (~1e-15 relative).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from . import losses as L
from .forward import QUIET, check_inputs, check_state
from .validation import choice, positive_int

MAX_T = 20_000              # the table's int32 entries hold C(t, 1) = t(t+1)/2 up to here
INFEASIBLE = np.iinfo(np.int32).max // 4     # C(t, 0): no slot, not even for s_a

_TABLE: tuple | None = None                  # (C, P) as (M+1, T+1) int32, the largest computed so far


def _dp(T: int, M: int) -> tuple[np.ndarray, np.ndarray]:
    """The recursion bottom-up in t, vectorised over y and m: C[k, t], P[k, t] (transposed: rows are m)."""
    C = np.empty((M + 1, T + 1), dtype=np.int32)
    P = np.zeros((M + 1, T + 1), dtype=np.int32)
    t = np.arange(T + 1, dtype=np.int64)
    C[0] = INFEASIBLE
    C[1:] = 2 * t - 1                        # t ≤ m + 1: every state s_0 … s_{t−2} fits; y = 1 splits
    C[1:, 0] = 0
    C[1] = t * (t + 1) // 2
    P[2:, 2:] = 1
    ys = np.arange(1, T + 1, dtype=np.int32)
    for n in range(4, T + 1):
        hi = min(n - 2, M)                   # m = 2 … n−2 need the search (m ≥ n−1 is 2n−1 above)
        if hi < 2:
            continue
        cand = C[1:hi, n - 1:0:-1] + C[2:hi + 1, 1:n]       # C(n−y, m−1) + C(y, m) for y = 1 … n−1
        cand += ys[:n - 1]
        k = cand.argmin(axis=1)
        C[2:hi + 1, n] = cand[np.arange(hi - 1), k]
        P[2:hi + 1, n] = k + 1
    return C, P


def _tables(T: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(C, P) as (T+1, m+1) views. Columns k ≥ T − 1 all equal column T − 1 (2t − 1, split y = 1) for t ≤ T, so
    only up to it is computed; the table is memoised, one for every request, grown to cover each new one."""
    global _TABLE
    T = positive_int("T", T, maximum=MAX_T)
    m = positive_int("m", m)
    need = min(m, max(T - 1, 1))
    if _TABLE is None or _TABLE[0].shape[1] <= T or _TABLE[0].shape[0] <= need:
        T0, M0 = (0, 0) if _TABLE is None else (_TABLE[0].shape[1] - 1, _TABLE[0].shape[0] - 1)
        _TABLE = _dp(max(T, T0), max(need, M0))
    C, P = (a[:need + 1, :T + 1] for a in _TABLE)
    if m > need:
        C, P = (np.concatenate([a, np.repeat(a[need:], m - need, axis=0)]) for a in (C, P))
    return C.T, P.T


def checkpoint_costs(T: int, m: int) -> np.ndarray:
    """The table C[t, k] = C(t, k) for t = 0 … T, k = 0 … m (int64, read-only): forward steps to backpropagate t
    steps with k slots (module docstring). C[0, k] = 0; column 0 (no slot) is INFEASIBLE. Memoised: T = 1000 and
    m = 100 take a few tenths of a second once, then any smaller table is a slice."""
    C = _tables(T, m)[0].astype(np.int64)
    C.flags.writeable = False
    return C


def checkpoint_policy(T: int, m: int) -> np.ndarray:
    """The argmin table P[t, k]: the split y (1 ≤ y < t) that C(t, k) uses; the smallest on ties. P[t, 1] = 0
    (one slot: no split, run forward from s_a before every step's backward) and P[t, k] = 0 for t ≤ 1."""
    P = _tables(T, m)[1].astype(np.int64)
    P[:, 1] = 0
    P.flags.writeable = False
    return P


@functools.lru_cache(maxsize=512)
def _cost_column(k: int, n: int) -> np.ndarray:
    """C(t, k) for t = 0 … n from the binomial closed form (module docstring), vectorised over t."""
    t = np.arange(n + 1, dtype=np.int64)
    if k == 0:
        out = np.full(n + 1, INFEASIBLE, dtype=np.int64)
        out[0] = 0
        out.flags.writeable = False
        return out
    beta, beta_next = [1], [0]               # β(k, r) = C(k+r, k) and β(k+1, r−1) = C(k+r, k+1), r = 0, 1, …
    while beta[-1] < n:
        r = len(beta)
        beta.append(math.comb(k + r, k))
        beta_next.append(math.comb(k + r, k + 1))
    r = np.searchsorted(np.array(beta, dtype=np.int64), t, side="left")      # least r with β(k, r) ≥ t
    out = t + r * t - np.array(beta_next, dtype=np.int64)[r]
    out.flags.writeable = False
    return out


def optimal_forward_steps(T: int, m: int) -> int:
    """C(T, m) from Griewank & Walther's closed form: T + r·T − β(m + 1, r − 1), any m (≥ T − 1 gives 2T − 1)."""
    T, m = positive_int("T", T, maximum=10 ** 7), positive_int("m", m)
    return int(_cost_column(min(m, max(T - 1, 1)), T)[T])


def _split(t: int, k: int, n: int) -> int:
    """The policy's y for (t, k), k ≥ 2, t ≥ 2: the smallest argmin of y + C(t − y, k − 1) + C(y, k) — the same
    candidates as the table's, evaluated from the closed form so that any m runs without building an (m × T)
    table (tests: equal to `checkpoint_policy` wherever both are computed). n ≥ t: the columns' length (the
    schedule's T, so that every sub-problem reads the same two cached columns)."""
    if t <= k + 1:
        return 1
    right, left = _cost_column(k - 1, n), _cost_column(k, n)
    y = np.arange(1, t)
    return int(np.argmin(y + right[t - y] + left[y])) + 1


@dataclass(frozen=True)
class Op:
    """One operation of a schedule. kind:
        "store"     put s_t (the state just reached, or s_0) in a free slot
        "forward"   run steps t … stop − 1 forward from the stored s_t, keeping only the state reached, s_stop
        "backward"  run step t forward from s_t (the state just reached, or a stored one), keep its internal
                    state, backpropagate it (δ into s_t, the step's parameter gradients), drop the internal state
        "free"      release s_t's slot"""
    kind: str
    t: int
    stop: int | None = None

    @property
    def forward_steps(self) -> int:
        return self.stop - self.t if self.kind == "forward" else int(self.kind == "backward")


def schedule(T: int, m: int) -> list[Op]:
    """The optimal policy for T steps and m slots as the list of operations that carries it out (the root stores
    s_0 first and frees it last). Σ forward_steps = C(T, m); at most m states are stored at once."""
    T, m = positive_int("T", T, maximum=MAX_T), positive_int("memory", m)
    m = min(m, max(T - 1, 1))                # more slots than T − 1 are never used
    ops = [Op("store", 0)]
    todo = [("solve", 0, T, m)]              # an explicit stack: the recursion is up to T deep
    while todo:
        job = todo.pop()
        if job[0] == "free":
            ops.append(Op("free", job[1]))
            continue
        _, a, t, k = job
        if t == 1:
            ops.append(Op("backward", a))
        elif k == 1:
            for s in range(a + t - 1, a - 1, -1):
                if s > a:
                    ops.append(Op("forward", a, s))
                ops.append(Op("backward", s))
        else:
            y = _split(t, k, T)
            ops += [Op("forward", a, a + y), Op("store", a + y)]
            todo += [("solve", a, y, k), ("free", a + y), ("solve", a + y, t - y, k - 1)]   # right part first
    ops.append(Op("free", 0))
    return ops


def step_internal_floats(model, B: int = 1) -> int:
    """Floats of ONE step's internal state as the engine keeps it for the step's backward (its output state,
    pre-activations and backward factors; the input state is counted as stored, B sequences): what plain BPTT
    keeps per step, and the working memory of a step's backward here. Asked of the cell by running one step."""
    S = model.cell.state_size_for(model.hidden_size)
    c = model.cell.forward(model.params, np.zeros((1, B, model.input_size), dtype=model.dtype),
                           np.zeros((B, S), dtype=model.dtype))
    return c.states.size - B * S + c.pre.size + sum(v.size for v in c.extras.values())


@dataclass
class OptimalCheckpointResult:
    grads: dict[str, np.ndarray]
    loss: float
    memory: int                      # m, the slots allowed (s_0's included)
    forward_steps: int               # cell steps run forward, counted as they ran: C(T, m)
    peak_stored_states: int          # most states held in slots at once, s_0 included (≤ m)
    state_bytes: int                 # bytes of one stored state: B · S · itemsize (S = cell.state_size_for(H))
    bytes: int                       # peak_stored_states · state_bytes: what the slots held at their fullest
    working_bytes: int               # one step's internal state (the step being backpropagated), not in m
    plain_bytes: int                 # plain BPTT's cache for the same sequence: s_0 + T steps' internal states
    operations: int                  # len(schedule(T, m))

    @property
    def peak_bytes(self) -> int:
        return self.bytes + self.working_bytes


def optimal_checkpointed_bptt(model, X, targets, *, memory: int, loss: str = "cross_entropy", mask=None,
                              s0=None) -> OptimalCheckpointResult:
    """The full-BPTT gradient of L = (1/B) Σ_b Σ_t m_{t,b} ℓ_t holding at most `memory` states (slots, s_0's
    included) by executing `schedule(T, memory)`. No overflow handling: a non-finite state propagates to the
    gradient (explorer.bptt reports where; this path is for counting)."""
    choice("loss", loss, L.LOSSES)
    X = check_inputs(model, X)
    T, B, _ = X.shape
    memory = positive_int("memory", memory)
    targets = L.check_targets(loss, targets, T, B, model.output_size, model.dtype)
    msk = L.check_mask(mask, T, B, model.dtype)
    p, cell, H = model.params, model.cell, model.hidden_size
    S = cell.state_size_for(H)
    W_hy = p["W_hy"]
    ops = schedule(T, memory)
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    slots: dict[int, np.ndarray] = {}
    here, s = None, None                     # the working state and its index
    ds = np.zeros((B, S), dtype=model.dtype)
    total, steps, peak = 0.0, 0, 0
    with np.errstate(**QUIET):
        start = check_state(model, s0, B)
        for op in ops:
            if op.kind == "store":
                slots[op.t] = (start if op.t == 0 else s).copy()
                peak = max(peak, len(slots))
            elif op.kind == "free":
                del slots[op.t]
            elif op.kind == "forward":
                s = slots[op.t]
                for t in range(op.t, op.stop):              # one step at a time: no sweep cache outlives a step
                    s = cell.forward(p, X[t:t + 1], s).states[-1].copy()
                steps += op.stop - op.t
                here = op.stop
            else:
                t = op.t
                cache = cell.forward(p, X[t:t + 1], s if here == t else slots[t])
                steps += 1
                h = cache.states[1:, :, :H]
                ell, dY = L.per_step(loss, h @ W_hy.T + p["b_y"], targets[t:t + 1], msk[t:t + 1])
                total += float(ell.sum()) / B
                ds = ds.copy()
                ds[:, :H] += dY[0] @ W_hy
                a_ih, a_hh, ds = cell.step_backward(p, cache, 0, ds)
                for k, v in cell.param_grads(p, X[t:t + 1], cache.states[:1, :, :H], a_ih[None],
                                             a_hh[None]).items():
                    grads[k] += v
                grads["W_hy"] += dY[0].T @ h[0]
                grads["b_y"] += dY[0].sum(axis=0)
                here = None
    item = np.dtype(model.dtype).itemsize
    per_step = step_internal_floats(model, B)
    return OptimalCheckpointResult({k: grads[k] for k in model.param_shapes()}, total, memory, steps, peak,
                                   B * S * item, peak * B * S * item, per_step * item,
                                   (B * S + T * per_step) * item, len(ops))


# ---- what the cost lesson draws ------------------------------------------------------------------------------

def forward_steps_curve(T: int, points: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(m, C(T, m)) for about `points` slot counts spaced evenly in log m from 1 to T − 1 (where C reaches its
    floor 2T − 1), from the closed form."""
    T = positive_int("T", T, maximum=10 ** 7)
    top = max(T - 1, 1)
    ms = np.unique(np.round(np.logspace(0, np.log10(top), max(2, points))).astype(np.int64))
    return ms, np.array([optimal_forward_steps(T, int(m)) for m in ms], dtype=np.int64)


def counted_time_ratio(forward_steps: int, T: int) -> float:
    """Time relative to plain BPTT by operation count, a backward step costing two forward steps: plain BPTT is
    T forward + T backward = 3T units, a checkpointed pass forward_steps + 2T (the page's convention too)."""
    return (forward_steps + 2 * T) / (3 * T)


@dataclass(frozen=True)
class StateMemory:
    cell: str
    state_floats: int                # S per sequence: what one slot holds (h; [h; c] for the LSTM)
    internal_floats: int             # one step's internal state per sequence, as plain BPTT keeps it

    def bytes(self, itemsize: int = 8) -> tuple[int, int]:
        return self.state_floats * itemsize, self.internal_floats * itemsize


def state_memory(H: int, cells=("rnn", "gru", "indrnn", "lstm")) -> list[StateMemory]:
    """Per cell kind at H hidden units: the floats of one stored state (the cell's state_size_for(H)) and of one
    step's internal state (counted on a one-step forward, `step_internal_floats`)."""
    from .model import build_model
    out = []
    for c in cells:
        model = build_model(c, 1, positive_int("H", H, maximum=4096), 1)
        out.append(StateMemory(c, model.cell.state_size_for(H), step_internal_floats(model)))
    return out


@dataclass(frozen=True)
class HeadlineCheck:
    """Gruslys et al.'s "95 % less memory for one third more time at T = 1000" against this module's counts."""
    T: int
    saved: float                     # the memory saving claimed (0.95)
    slots: int                       # m = (1 − saved)·T: that saving counted in stored states, one per step
    forward_steps: int               # C(T, slots)
    floor_slots: int                 # T − 1: the least m at which HSM runs every step forward only twice
    floor_steps: int                 # 2T − 1 = C(T, m) for m ≥ T − 1
    by_bytes: tuple                  # (cell, m, C(T, m)): the m whose slots + one step's working memory are
                                     # (1 − saved) of plain BPTT's bytes

    def counted_time(self, forward_steps: int) -> float:
        return counted_time_ratio(forward_steps, self.T)


def headline_check(T: int = 1000, saved: float = 0.95, H: int = 32, cells=("rnn", "lstm")) -> HeadlineCheck:
    """Where a saving of `saved` lands on C(T, m), memory counted in stored states (m against T) and in bytes
    (m slots plus one step's internal state against plain BPTT's cache) for each cell."""
    T = positive_int("T", T, maximum=10 ** 7)
    slots = max(1, int(round((1 - saved) * T)))
    rows = []
    for s in state_memory(H, cells):
        plain = s.state_floats + T * s.internal_floats
        m = max(1, int(((1 - saved) * plain - s.internal_floats) // s.state_floats))
        rows.append((s.cell, m, optimal_forward_steps(T, m)))
    return HeadlineCheck(T, saved, slots, optimal_forward_steps(T, slots), max(T - 1, 1), 2 * T - 1, tuple(rows))


@dataclass
class SchemeCost:
    label: str
    stored_states: int               # states held at the peak (uniform: its checkpoints + one segment's steps)
    forward_steps: int               # cell steps run forward, the first pass included
    peak_bytes: int                  # bytes held at the peak (uniform: checkpoints + a segment's caches;
                                     # optimal: its slots + one step's internal state)
    seconds: float                   # median CPU time of one gradient (explorer.cost.CLOCK)
    time_ratio: float                # measured: median over passes of seconds / plain BPTT's in the same pass
    memory_ratio: float              # peak_bytes / plain BPTT's
    counted_time_ratio: float        # (forward_steps + 2T) / 3T


@dataclass
class BudgetComparison:
    T: int
    H: int
    budget: int                      # stored states allowed: the uniform scheme's budget, the optimal's m
    plain_seconds: float
    plain_bytes: int
    uniform: SchemeCost
    optimal: SchemeCost


def compare_at_budget(T: int, H: int, budget: int, *, seed: int = 0, repeats: int | None = None) -> BudgetComparison:
    """Plain BPTT, the uniform scheme (explorer.checkpointing at `budget` stored steps) and this module's optimal
    policy (m = budget) on the cost lesson's problem (explorer.cost.problem), timed in round-robin passes like
    the page's other timings."""
    from . import cost
    from .bptt import bptt
    from .checkpointing import checkpointed_bptt
    model, X, y = cost.problem(T, H, seed)
    calls = [lambda: bptt(model, X, y, loss=cost.LOSS),
             lambda: checkpointed_bptt(model, X, y, loss=cost.LOSS, budget=budget),
             lambda: optimal_checkpointed_bptt(model, X, y, loss=cost.LOSS, memory=budget)]
    (tp, _), (tu, u), (to, o) = cost._timed(calls, cost.REPEATS if repeats is None else repeats)
    tp, item = np.asarray(tp), np.dtype(model.dtype).itemsize
    plain_bytes = u.plain_floats * item

    def scheme(label, ts, stored, steps, peak):
        return SchemeCost(label, stored, steps, peak, float(np.median(ts)), float(np.median(np.asarray(ts) / tp)),
                          peak / plain_bytes, counted_time_ratio(steps, T))
    return BudgetComparison(T, H, budget, float(np.median(tp)), plain_bytes,
                            scheme(f"uniform (L = {u.segment_length})", tu, u.peak_stored_steps,
                                   T + u.extra_forward_steps, u.peak_floats * item),
                            scheme(f"optimal BPTT-HSM (m = {budget})", to, o.peak_stored_states, o.forward_steps,
                                   o.peak_bytes))
