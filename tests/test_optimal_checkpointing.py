"""Optimal checkpointing (BPTT-HSM, explorer.optimal_checkpointing): the executed schedule gives plain BPTT's
gradient for every cell, counts exactly C(T, m) forward steps and never holds more than m states; the DP table
obeys its boundary values, matches a brute-force recursion, an exhaustive search over every way of storing states
and Griewank & Walther's closed form; it is no worse than uniform checkpointing within the same memory model; the
cost page's new section, its charts and their sentences. Float64 throughout."""
import functools
import heapq
import math

import numpy as np
import plotly.graph_objects as go
import pytest
from test_app import assert_clean, charts, open_app

import explorer as ex
from explorer import cost
from explorer import optimal_checkpointing as oc
from explorer.figures import cost_figs as cf
from explorer.gradcheck import relative_error

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh"), ("indrnn", "relu")]
SIZES = [(1, 1), (6, 1), (13, 2), (20, 3), (31, 5), (16, 16), (12, 40)]      # m = 1, m = 2, m ≥ T among them


@pytest.mark.parametrize("cell,act", CELLS, ids=[f"{c}-{a}" for c, a in CELLS])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_gradients_equal_plain_bptt_and_the_counts_are_exact(cell, act, loss):
    rng = np.random.default_rng(3)
    model = ex.build_model(cell, 3, 6, 4, activation=act, seed=5)
    C = oc.checkpoint_costs(40, 40)
    for T, m in SIZES:
        B = 2
        X = rng.standard_normal((T, B, 3))
        y = rng.integers(0, 4, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, 4))
        mask = (rng.random((T, B)) < 0.7).astype(float)
        plain = ex.bptt(model, X, y, loss=loss, mask=mask)
        r = oc.optimal_checkpointed_bptt(model, X, y, loss=loss, mask=mask, memory=m)
        for k in plain.grads:
            assert relative_error(r.grads[k], plain.grads[k]) <= 1e-12, (T, m, k)
        assert r.loss == pytest.approx(plain.trace.loss, rel=1e-12, abs=1e-15)
        assert r.forward_steps == C[T, min(m, 40)] == oc.optimal_forward_steps(T, m), (T, m)
        assert 1 <= r.peak_stored_states <= m
        S = model.cell.state_size_for(model.hidden_size)
        assert r.state_bytes == B * S * 8 and r.bytes == r.peak_stored_states * r.state_bytes
        c = plain.trace.cache                                       # what plain BPTT really kept
        assert r.plain_bytes == 8 * (c.states.size + c.pre.size + sum(v.size for v in c.extras.values()))


def test_what_one_slot_and_one_step_hold_is_asked_of_the_cell():
    H, B = 5, 3
    for kind, per_step in [("rnn", 3 * H), ("indrnn", 3 * H), ("lstm", 16 * H), ("gru", 8 * H)]:
        model = ex.build_model(kind, 2, H, 1)
        S = ex.CELLS[kind].state_size_for(H)
        assert S == (2 * H if kind == "lstm" else H)
        c = ex.forward(model, np.zeros((7, B, 2)), np.zeros((7, B, 1)), loss="squared_error").cache
        kept = c.states.size + c.pre.size + sum(v.size for v in c.extras.values())          # plain BPTT's cache
        assert oc.step_internal_floats(model, B) == B * per_step == (kept - B * S) // 7, kind
    rows = {r.cell: r for r in oc.state_memory(32)}
    assert rows["lstm"].bytes() == (64 * 8, 512 * 8) and rows["rnn"].bytes() == (32 * 8, 96 * 8)


def _simulate(ops, T):
    """Replay a schedule with only indices: where states are, which step is backpropagated when."""
    stored, here, back, peak, fwd = set(), None, [], 0, 0
    for op in ops:
        if op.kind == "store":
            assert op.t == 0 or here == op.t, "only the state just reached (or s_0) can be stored"
            assert op.t not in stored
            stored.add(op.t)
        elif op.kind == "free":
            stored.remove(op.t)
        elif op.kind == "forward":
            assert op.t in stored and op.t < op.stop, op
            here, fwd = op.stop, fwd + op.stop - op.t
        else:
            assert here == op.t or op.t in stored, "a backward step starts from its own input state"
            back.append(op.t)
            here, fwd = None, fwd + 1
        peak = max(peak, len(stored))
    assert back == list(range(T - 1, -1, -1)), "every step backpropagated once, last to first"
    assert not stored
    return fwd, peak


@pytest.mark.parametrize("T", [1, 2, 3, 7, 30, 101, 1000])
def test_every_schedule_is_valid_counts_C_and_fits_its_slots(T):
    C = oc.checkpoint_costs(T, 60)
    for m in sorted({1, 2, 3, 4, 7, 16, 60, T - 1, T, T + 5} - {0, -1}):
        fwd, peak = _simulate(oc.schedule(T, m), T)
        assert fwd == C[T, min(m, 60)] if m <= 60 else fwd == 2 * T - 1
        assert peak <= m and (peak == min(m, max(T - 1, 1)))


def test_the_table_boundaries_floor_and_monotonicity():
    C = oc.checkpoint_costs(300, 80)
    t = np.arange(301)
    assert (C[:, 1] == t * (t + 1) // 2).all()
    assert (C[1, 1:] == 1).all() and (C[0, 1:] == 0).all() and (C[1:, 0] == oc.INFEASIBLE).all()
    assert (np.diff(C[1:, 1:], axis=1) <= 0).all(), "more slots never cost more"
    assert (np.diff(C[:, 1:], axis=0) > 0).all(), "a longer sequence always costs more"
    for n in range(1, 301):
        for m in (1, 2, 5, 20, 80):
            # every step but the last runs forward twice at least; exactly twice iff s_0 … s_{n−2} all fit
            assert C[n, m] >= 2 * n - 1
            assert (C[n, m] == 2 * n - 1) == (m >= n - 1) or n <= 2
    assert not C.flags.writeable


def test_the_table_matches_a_brute_force_recursion():
    @functools.lru_cache(maxsize=None)
    def brute(t, m):
        if m == 1:
            return t * (t + 1) // 2
        if t == 1:
            return 1
        return min(y + brute(t - y, m - 1) + brute(y, m) for y in range(1, t))

    C, P = oc.checkpoint_costs(60, 12), oc.checkpoint_policy(60, 12)
    for t in range(1, 61):
        for m in range(1, 13):
            assert C[t, m] == brute(t, m), (t, m)
            if m >= 2 and t >= 2:
                y = P[t, m]
                assert y + brute(t - y, m - 1) + brute(y, m) == brute(t, m), (t, m)
                assert all(z + brute(t - z, m - 1) + brute(z, m) > brute(t, m) for z in range(1, y)), "smallest"


def _search(T, m):
    """The fewest forward steps over EVERY way to play the memory model (not only splits): states are (stored
    set, working state's index or −1, steps still to backpropagate); store/free/load are free, a forward step
    costs 1, backpropagating step k − 1 needs the working state at k − 1 and costs 1 (its forward). Dijkstra."""
    start = (frozenset({0}), 0, T)
    best, heap = {start: 0}, [(0, sorted(start[0]), 0, T, start)]
    while heap:
        d, _, _, _, node = heapq.heappop(heap)
        st, w, k = node
        if k == 0:
            return d
        if d > best[node]:
            continue
        moves = []
        if 0 <= w < k - 1:
            moves.append((1, (st, w + 1, k)))
        if w == k - 1:
            moves.append((1, (st, -1, k - 1)))
        if w >= 0 and w not in st and len(st) < m:
            moves.append((0, (st | {w}, w, k)))
        for s in st:
            if s < k:
                moves.append((0, (st, s, k)))
            moves.append((0, (st - {s}, w, k)))
        for c, nxt in moves:
            if d + c < best.get(nxt, 1 << 60):
                best[nxt] = d + c
                heapq.heappush(heap, (d + c, sorted(nxt[0]), nxt[1], nxt[2], nxt))


def test_the_recursion_is_optimal_among_all_ways_to_store_states():
    C = oc.checkpoint_costs(9, 4)
    for T in range(1, 10):
        for m in range(1, 5):
            assert _search(T, m) == C[T, m], (T, m)


def test_the_closed_form_is_griewank_and_walthers_and_the_policy_is_the_tables():
    def by_hand(T, s):                       # revolve (2000): E = r·T − β(s+1, r−1), β(s, r) = C(s+r, s)
        if T == 1:
            return 1
        r = next(r for r in range(T + 1) if math.comb(s + r, s) >= T)
        return T + r * T - math.comb(s + r, s + 1)

    assert oc.optimal_forward_steps(1000, 4) == by_hand(1000, 4) == 8998
    assert oc.optimal_forward_steps(1000, 10) == by_hand(1000, 10) == 4636
    C, P = oc.checkpoint_costs(1000, 100), oc.checkpoint_policy(1000, 100)
    for T in (2, 17, 250, 999, 1000):
        for m in (1, 2, 3, 10, 45, 100):
            assert oc.optimal_forward_steps(T, m) == C[T, m] == by_hand(T, min(m, max(T - 1, 1))), (T, m)
            first = oc.schedule(T, m)[1]
            if m >= 2 and T > m + 1:         # the root's first sweep is the table's split
                assert first.kind == "forward" and first.stop == P[T, m], (T, m)
    assert oc.optimal_forward_steps(1000, 999) == oc.optimal_forward_steps(1000, 10 ** 6) == 1999


def _policy_cost_and_slots(T, split):
    """Cost and peak slots of a split policy in the same model (split(t) → y, or 0 for one-slot recompute)."""
    def run(t):
        y = split(t)
        if t == 1:
            return 1, 1
        if y == 0:
            return t * (t + 1) // 2, 1
        cr, sr = run(t - y)
        cl, sl = run(y)
        return y + cr + cl, max(1 + sr, sl)
    return run(T)


@pytest.mark.parametrize("T", [50, 200, 1000])
def test_no_worse_than_uniform_checkpointing_in_the_same_memory_model(T):
    """Uniform checkpointing of states (every L-th state on the first sweep, then every state of a segment) is a
    policy of this model: the optimal one never needs more forward steps with the slots it uses."""
    for L in (2, 5, int(math.isqrt(T)), T // 4):
        cost_u, slots = _policy_cost_and_slots(T, lambda t, L=L: L if t > L else (1 if t > 1 else 0))
        assert oc.optimal_forward_steps(T, slots) <= cost_u, (T, L)
        assert slots <= math.ceil(T / L) + L


def test_the_engines_uniform_scheme_keeps_internal_states_so_hsm_cannot_match_its_count():
    """explorer.checkpointing keeps a recomputed segment's whole cache (internal states): it runs every step
    forward at most twice (2T − L_last), below HSM's floor 2T − 1 — but at the same stored-state count the optimal
    policy holds fewer bytes. The page says so; this keeps it true."""
    T, H = 1000, 8
    model, X, y = cost.problem(T, H)
    for b in (ex.min_budget(T), 100, 400):
        u = ex.checkpointed_bptt(model, X, y, loss=cost.LOSS, budget=b)
        o = oc.optimal_checkpointed_bptt(model, X, y, loss=cost.LOSS, memory=b)
        assert T + u.extra_forward_steps <= 2 * T - 1 < o.forward_steps
        assert o.peak_bytes < 8 * u.peak_floats
        assert o.peak_stored_states <= b and u.peak_stored_steps <= b


def test_the_headline_check_numbers():
    h = oc.headline_check(1000, 0.95, 32)
    assert (h.slots, h.forward_steps, h.floor_slots, h.floor_steps) == (50, 2948, 999, 1999)
    assert h.counted_time(h.floor_steps) == pytest.approx(4 / 3, abs=1e-3)     # the floor is the +⅓
    assert h.counted_time(h.forward_steps) > 1.6
    rows = {c: (m, s) for c, m, s in h.by_bytes}
    for c, per_state, per_step in (("rnn", 32, 96), ("lstm", 64, 512)):
        m, s = rows[c]
        plain = per_state + 1000 * per_step
        assert m * per_state + per_step <= 0.05 * plain < (m + 1) * per_state + per_step
        assert s == oc.optimal_forward_steps(1000, m)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="memory"):
        oc.optimal_checkpointed_bptt(ex.build_model("rnn", 1, 2, 1), np.zeros((3, 1, 1)), np.zeros((3, 1), int),
                                     memory=0)
    with pytest.raises(ValueError, match="T"):
        oc.checkpoint_costs(0, 3)
    with pytest.raises(ValueError, match="memory"):
        oc.schedule(5, 0)


def test_the_dp_is_fast_and_memoised():
    import time
    oc._TABLE = None
    t0 = time.thread_time()
    oc.checkpoint_costs(1000, 100)
    first = time.thread_time() - t0
    t0 = time.thread_time()
    oc.checkpoint_policy(800, 60)
    assert time.thread_time() - t0 < 0.05 and first < 2.0          # ~0.3 s on this machine, loaded


@pytest.mark.parametrize("projector", [False, True])
def test_the_new_charts_are_valid_plotly_and_their_sentences_are_their_data(projector):
    tr = cost.checkpoint_tradeoff(1000, 4, (64, 100, 1001), repeats=1)
    ms, steps = oc.forward_steps_curve(1000)
    fig, df = cf.optimal_memory_curve(1000, ms, steps, tr, tr.points[0], oc.optimal_forward_steps(1000, 64),
                                      projector=projector)
    go.Figure(fig)
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["yaxis"]["type"] == "log"
    assert ms[0] == 1 and ms[-1] == 999 and steps[0] == 500500 and steps[-1] == 1999
    assert (df.loc[df["scheme"] == "uniform", "forward_steps"] == [1000 + p.extra_forward_steps for p in
                                                                     sorted(tr.points, key=lambda p:
                                                                            p.peak_stored_steps)]).all()
    s = cf.optimal_curve_summary(df)
    assert "500.5 forward steps per step with 1 stored state" in s and "1.999 with 999" in s
    notes = [a["text"] for a in fig["layout"]["annotations"]]
    assert any("+⅓" in n for n in notes)
    assert {a["y"] for a in fig["layout"]["annotations"]} == {np.log10(2.0), 0.0}   # log axis: y is log10

    ops = oc.schedule(30, 4)
    fig, df = cf.schedule_chart(ops, 30, 4, projector=projector)
    go.Figure(fig)
    assert len(df) == len(ops) and df["forward_steps_so_far"].iloc[-1] == oc.optimal_forward_steps(30, 4)
    assert df["stored_after"].max() == 4 and fig["layout"]["yaxis"]["autorange"] == "reversed"
    s = cf.schedule_summary(df)
    assert f"{len(ops)} operations for T = 30 steps: 99 forward steps" in s and "step 29 down to 0" in s

    fig, df = cf.state_bytes_chart(oc.state_memory(16), 16, projector=projector)
    go.Figure(fig)
    assert list(df["cell"]) == ["RNN", "GRU", "IndRNN", "LSTM"]
    assert "LSTM 256 B stored, 2,048 B internal" in cf.state_bytes_summary(df)


def test_the_cost_page_section_at_defaults_and_a_moved_slider():
    at = open_app("pages/7_Cost_of_a_gradient.py")
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 7
    prose = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "95% less memory at T = 1000 leaves m = 50 slots" in prose and "C = 2,948 forward steps" in prose
    assert "+65% time by operation count" in prose and "needs m = 999 slots: no memory saved" in prose
    assert "Griewank & Walther" in prose
    table = next(d.value for d in at.dataframe if "time by count (×)" in d.value)
    assert list(table["forward steps"]) == [1000, 1972, 2934]
    assert at.slider(key="w_slots").value == 4
    at.slider(key="w_slots").set_value(1).run()
    assert_clean(at)
    prose = " ".join(c.value for c in at.caption)
    assert "with one slot there is nothing to split" in prose and "465 forward steps for 30 backward ones" in prose
