"""Lesson 7: the cost of a gradient — measured time and counted memory of BPTT, TBPTT, RTRL and checkpointing.
The prose quotes what was measured: the slopes (explorer.cost.slopes, as the legends), the agreement table's
largest difference, the checkpointing curve's counted point and Gruslys et al.'s headline (cost.GRUSLYS_2016)."""
import math

import pandas as pd
import streamlit as st

from explorer import cost, min_budget
from explorer.figures import cost_figs as cf
from explorer.figures import summaries
from explorer.optimal_checkpointing import counted_time_ratio, optimal_forward_steps
from ui import cost_compute as cc
from ui import params, url_state
from ui.blocks import chart, lesson

WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count(n: int) -> str:
    return WORDS[n] if n < len(WORDS) else str(n)


def said(fits: dict) -> str:
    """The fitted slopes (explorer.cost.slopes) as the legends print them: "BPTT 1.00, TBPTT(10, 20) 0.99, …"."""
    return ", ".join(f"{cost.label(a)} {cost.slope_text(f.slope)}" for a, f in fits.items() if math.isfinite(f.slope))


def rel_text(x: float) -> str:
    """A relative difference, as the agreement table shows it and its caption quotes it."""
    return f"{x:.1e}"


with lesson(__file__, "Four ways to the gradient of the same loss. **BPTT** stores every step "
            "(memory ∝ T) and spends O(H²) work per step going back; **TBPTT(k1, k2)** keeps only the last k2 "
            "steps but cuts every longer path; **RTRL** carries ∂h_t/∂θ forward — no history at all, but H³ floats "
            "and H⁴ work per step; **checkpointing** keeps every L-th state and recomputes the rest, trading time for "
            "memory. Every number here is measured (time) or counted (floats held at the peak) on this server, "
            "for one vanilla tanh RNN with one input, one output and B = 1 sequence. Of the sidebar's settings "
            "only the seed applies, to the weights of the agreement table: the weights do not change the work, "
            "so every timing is measured once per size, on one network.") as sc:
    proj = url_state.projector()
    st.markdown("## Time and memory, measured")
    c1, c2 = st.columns(2)
    H, T = url_state.widget(params.COST[0], c1), url_state.widget(params.COST[1], c2)
    Ta, Ha = T, min(H, 32)
    # Measure everything before drawing any chart: the browser drawing Plotly shares this machine's cores
    with st.spinner(f"Timing the {count(len(cost.ALGORITHMS))} algorithms (once per setting; kept for everyone)…"):
        ts, hs = cc.t_sweep(H), cc.h_sweep(T)
        rows, curve = cc.agreement(Ta, Ha, sc.seed), cc.tradeoff_curve(H)
    rmax = cost.rtrl_max_T(H)
    st.caption(f"Time is the CPU time of the thread computing the gradient (the median of up to {cost.REPEATS} "
               "runs), so other work on this server barely moves it; still, only the slopes and ratios carry over "
               f"to another machine. TBPTT here is TBPTT({cost.K1}, {cost.K2}). RTRL is run only while "
               f"T·H⁴ ≤ {cost.RTRL_WORK:.1e} multiply-adds and H ≤ {cost.RTRL_MAX_H} — "
               + (f"at H = {H}, up to T = {rmax}; beyond that its memory is counted, its time not drawn."
                  if rmax >= cost.T_SWEEP[0] else f"at H = {H} not at all: its memory is counted only."))

    a, b = st.columns(2, gap="large")
    st_t, st_m = cost.slopes(ts, "T", "seconds", cost.FIT_FROM_T), cost.slopes(ts, "T", "peak_floats", cost.FIT_FROM_T)
    fig, df = cf.time_vs_T(ts, projector=proj)
    chart(fig, df, key="time_T", where=a, title=f"Time against sequence length (H = {H})",
          latex=r"\begin{aligned}\text{BPTT: }& O(T H^2) \text{ time} \\ \text{RTRL: }& O(T H^4) \text{ time}"
                r"\end{aligned}",
          notice=f"from T = {cost.FIT_FROM_T['bptt']} on (shaded) every slope is close to 1 ({said(st_t)}): "
                 "each algorithm does a fixed amount of work per step; below that a call's fixed cost still "
                 "shows. What differs is the height — RTRL's line sits far above (its step is H⁴, not H²), and "
                 f"TBPTT({cost.K1}, {cost.K2}) pays {cost.K2 / cost.K1:g} backward steps per step.",
          summary=summaries.by_group(df, "algorithm", "T", "seconds", "Seconds per gradient", {a: cost.label(a) for a in cost.ALGORITHMS}))
    fig, df = cf.memory_vs_T(ts, projector=proj)
    chart(fig, df, key="memory_T", where=b, title=f"Peak memory against sequence length (H = {H})",
          latex=r"\begin{aligned}\text{BPTT: }& 3TH + H \\ \text{TBPTT: }& 3k_2H + H \\ "
                r"\text{checkpointed: }& (\lceil T/L\rceil + 3L + 1)H \\ \text{RTRL: }& H^3 + 2H^2 + H"
                r"\end{aligned}",
          notice=f"the slopes are the memory exponents ({said(st_m)}): BPTT's grows like T, checkpointing's "
                 "like √T, TBPTT's and RTRL's not at all — but RTRL's flat line is H³, so BPTT holds less "
                 f"until T ≈ H²/3 ≈ {H * H // 3:,} steps.",
          summary=summaries.by_group(df, "algorithm", "T", "peak_floats", "Peak stored floats", {a: cost.label(a) for a in cost.ALGORITHMS}))

    s_h = cost.slopes(hs, "H", "seconds_per_step", cost.FIT_FROM_H)
    fig, df = cf.time_vs_H(hs, projector=proj)
    short = cost.rtrl_max_T(cost.RTRL_MAX_H)
    big = {a: max((m for m in hs if m.algorithm == a), key=lambda m: m.H) for a in ("rtrl", "bptt")}
    flat = sorted((m for m in hs if m.algorithm == "bptt" and m.H < cost.FIT_FROM_H["bptt"]), key=lambda m: m.H)
    flat = (f" (BPTT: {flat[0].seconds_per_step * 1e6:.2g} µs at H = {flat[0].H}, "
            f"{flat[-1].seconds_per_step * 1e6:.2g} µs at H = {flat[-1].H})") if len(flat) > 1 else ""
    chart(fig, df, key="time_H", title=f"Time per step against hidden size (T = {T}"
          + (f"; RTRL down to its first {short} steps at H = {cost.RTRL_MAX_H}" if short < T else "") + ")",
          latex=r"\begin{aligned}\text{RTRL: }& P_t = \operatorname{diag}(\varphi'(a_t))\big(W_{hh}P_{t-1} + "
                r"\partial^+ a_t/\partial\theta\big):\ (H\times H)(H\times H^2) = H^4 \text{ per step} \\ "
                r"\text{BPTT: }& \delta_{t-1} = W_{hh}^\top\big(\varphi'(a_t)\odot\delta_t\big):\ H^2 \text{ per step}"
                r"\end{aligned}",
          notice=f"fitted slopes: {said(s_h)} — heading for the exponents of n⁴ (RTRL) and n² (the others). They "
                 "show only where the arithmetic dominates (the shaded points): below that a step is mostly Python "
                 f"and NumPy call overhead, about the same whatever H is{flat}, and the lines are flat. One RTRL "
                 f"step at H = {big['rtrl'].H} took {big['rtrl'].seconds_per_step * 1e3:.2g} ms; one BPTT step at H = "
                 f"{big['bptt'].H}, {big['bptt'].seconds_per_step * 1e3:.2g} ms.",
          summary=summaries.by_group(df, "algorithm", "H", "seconds_per_step", "Seconds per step", {a: cost.label(a) for a in cost.ALGORITHMS}))

    st.markdown("### Do they compute the same gradient?")
    st.latex(r"\max_{\theta \in \{W_{xh}, W_{hh}, b_h, W_{hy}, b_y\}} \frac{\|g_\theta - g_\theta^{\mathrm{BPTT}}\|}"
             r"{\max(\|g_\theta\|, \|g_\theta^{\mathrm{BPTT}}\|)}")
    st.dataframe(pd.DataFrame({
        "algorithm": [r.algorithm for r in rows],
        "should equal full BPTT?": ["yes" if r.must_agree else "no — truncated, expected to differ" for r in rows],
        "max relative difference": [rel_text(r.max_rel_diff) for r in rows],
        "verdict": [("✓ agrees" if r.must_agree else "✓ differs, as it should") if r.ok else
                    ("✗ does not agree" if r.must_agree else "✗ should differ") for r in rows]}),
        hide_index=True, width="stretch")
    exact = [r for r in rows if r.must_agree]
    worst = rel_text(max(r.max_rel_diff for r in exact))
    st.caption(f"**What to notice:** at T = {Ta}, H = {Ha}, the {count(len(exact))} exact algorithms "
               + (f"agree with BPTT to within {worst} — the rounding of float64 summed in a different order (the "
                  f"test suite demands ≤ {cost.AGREE_TOL:.0e}); they are the same gradient, bought differently. Only "
                  "the truncated one differs:" if all(r.ok for r in exact) else
                  f"differ from BPTT by up to {worst}, more than the ≤ {cost.AGREE_TOL:.0e} the test suite demands: "
                  "a ✗ row is a bug. The truncated one should differ:")
               + " it is a different, biased quantity (lesson 4).")

    st.markdown("## Checkpointing: buy memory with time")
    lo = min_budget(cc.TRADEOFF_T)
    budget = url_state.widget(params.memory_budget(cc.TRADEOFF_T, lo))
    with st.spinner(f"Timing checkpointed BPTT at T = {cc.TRADEOFF_T}…"):
        cur = cc.tradeoff_point(H, budget)
    g = cost.GRUSLYS_2016
    m1, m2, m3 = st.columns(3)
    m1.metric("memory saved", f"{1 - cur.memory_ratio:.1%}",
              help=f"{cur.peak_floats:,} of {curve.plain_floats:,} floats")
    m2.metric("extra time (measured)", f"{cur.time_ratio - 1:+.0%}",
              help=f"counted: {cur.counted_time_ratio - 1:+.0%}")
    m3.metric("segment L · extra forward steps", f"{cur.segment} · {cur.extra_forward_steps}")
    fig, df = cf.tradeoff(curve, cur, g, projector=proj)
    chart(fig, df, key="tradeoff", title=f"Time against memory for checkpointed BPTT (T = {curve.T}, H = {H})",
          latex=r"\text{stored steps} = \lceil T/L \rceil + L \;\ge\; 2\sqrt{T}\qquad "
                r"\text{extra forward steps} = T - L_{\text{last}}",
          notice=f"at {budget} stored steps (L = {cur.segment}) memory drops by {1 - cur.memory_ratio:.0%} for "
                 f"{cur.time_ratio - 1:+.0%} time measured ({cur.counted_time_ratio - 1:+.0%} counted, if a "
                 f"backward step costs two forward ones). Gruslys et al. report −{g.memory_saved:.0%} for "
                 f"{g.extra_time:+.0%} at T = {g.T}: almost all the saving comes for one extra forward pass, and the "
                 "last few percent cost the most — short segments mean more Python overhead per step here.",
          summary=summaries.tradeoff(df))
    least = min(curve.points, key=lambda p: p.budget)
    st.caption(f"Source of the star: {g.source} Their dynamic-programming policy fits any budget; this page uses "
               f"the simpler fixed-segment scheme (Chen et al. 2016), which at its smallest budget ({least.budget} "
               f"stored steps) saves {1 - least.memory_ratio:.0%} of the memory for "
               f"{least.counted_time_ratio - 1:+.0%} time by operation count (dashed), against their "
               f"{g.memory_saved:.0%} for {g.extra_time:+.0%}; what this NumPy engine measures on top is the "
               "overhead of many short segments.")

    # ---- optimal checkpointing (Gruslys et al. 2016, BPTT-HSM): explorer.optimal_checkpointing ----------------
    st.markdown("## Optimal checkpointing: the fewest recomputations for any memory")
    st.markdown("Gruslys et al. (2016) choose *which* states to store by dynamic programming. There are **m slots**, "
                "each holding one stored state s_t (h_t; [h_t; c_t] for the LSTM), the slot of s_0 included. To "
                "backpropagate t steps: run y steps forward and store the state reached, backpropagate the right part "
                "with one slot fewer, free that slot, then the left part with all m. No internal state is ever "
                "stored (their *hidden-state* variant, BPTT-HSM), so every step runs forward once more just before "
                "its backward, and even unlimited slots cost 2T − 1 forward steps. The engine runs the schedule with "
                "the cells' own step functions and counts its forward steps and stored states as they happen.")
    st.latex(r"C(t,1)=\tfrac{t(t+1)}{2},\qquad C(1,m)=1,\qquad "
             r"C(t,m)=\min_{1\le y<t}\big[\,y + C(t-y,\,m-1) + C(y,\,m)\,\big]")
    Tn = cc.TRADEOFF_T
    with st.spinner(f"Timing plain, uniform and optimal checkpointed BPTT at T = {Tn}…"):
        cmp = cc.budget_comparison(H, budget)
    ms, steps = cc.optimal_curve(Tn)
    c_b, c_1, c_10 = (optimal_forward_steps(Tn, m) for m in (budget, 1, 10))
    u_b = Tn + cur.extra_forward_steps
    fig, df = cf.optimal_memory_curve(Tn, ms, steps, curve, cur, c_b, projector=proj)
    chart(fig, df, key="optimal_curve", title=f"Forward steps per time step against memory (T = {Tn})",
          latex=r"\frac{C(T,m)}{T} \;\ge\; 2 - \frac{1}{T}\quad\text{(equal from } m = T-1\text{)}",
          notice=f"with one slot every step's backward reruns the sequence from s_0: {c_1 / Tn:.1f} forward steps per "
                 f"step. At your budget, m = {budget}, the optimal policy needs {c_b / Tn:.2f} per step "
                 f"({counted_time_ratio(c_b, Tn) - 1:+.0%} time by count) and the uniform scheme, with the same "
                 f"{cur.peak_stored_steps} stored steps, {u_b / Tn:.2f} ({counted_time_ratio(u_b, Tn) - 1:+.0%}): "
                 f"{cur.segment} of its stored steps are one segment's whole internal states, so no step runs forward "
                 "more than twice — the optimal policy keeps only states, so it cannot go below 2 − 1/T, but it holds "
                 f"{cmp.optimal.peak_bytes:,} bytes here against the uniform scheme's {cmp.uniform.peak_bytes:,}, and "
                 f"it runs below the uniform scheme's least budget ({lo} stored steps): at m = 10, {c_10 / Tn:.2f} "
                 "forward steps per step.",
          summary=cf.optimal_curve_summary(df))

    Ts = params.SCHEDULE_T
    slots = url_state.widget(params.SCHEDULE_SLOTS)
    ops = cc.schedule(Ts, slots)
    fig, df = cf.schedule_chart(ops, Ts, slots, projector=proj)
    n_fwd = int(df["forward_steps_so_far"].iloc[-1])
    first = ops[1] if ops[2].kind == "store" else None           # the root split: forward, then store
    chart(fig, df, key="optimal_schedule", title=f"The optimal schedule, drawn (T = {Ts}, m = {slots})",
          notice=(f"read it top to bottom. The first sweep runs from s_0 to s_{first.stop} and stores it; the right "
                  f"part is solved first with {slots - 1} slot{'s' if slots != 2 else ''}, then the left part with all "
                  f"{slots}. " if first else "with one slot there is nothing to split: before each step's backward, "
                  "a sweep from s_0 reaches it — a staircase. ")
                 + f"Each backward step (red) follows a forward sweep from the nearest stored state; the pale bars show "
                 f"how long each state holds a slot, never more than {int(df['stored_after'].max())} at once. "
                 f"In all {n_fwd} forward steps for {Ts} backward ones ({n_fwd / Ts:.2f} per step), against "
                 f"{optimal_forward_steps(Ts, 1)} with one slot and {optimal_forward_steps(Ts, Ts - 1)} (= 2T − 1) "
                 f"with {Ts - 1}.",
          summary=cf.schedule_summary(df))

    st.markdown(f"### Both schemes at your budget ({budget} stored states, T = {Tn}, H = {H})")
    u, o = cmp.uniform, cmp.optimal
    st.dataframe(pd.DataFrame({
        "scheme": ["plain BPTT", u.label, o.label],
        "states stored at the peak": [Tn + 1, u.stored_states, o.stored_states],
        "forward steps": [Tn, u.forward_steps, o.forward_steps],
        "peak memory (bytes)": [cmp.plain_bytes, u.peak_bytes, o.peak_bytes],
        "memory vs plain": [f"{1:.1%}", f"{u.memory_ratio:.1%}", f"{o.memory_ratio:.1%}"],
        "time by count (×)": [f"{1:.2f}", f"{u.counted_time_ratio:.2f}", f"{o.counted_time_ratio:.2f}"],
        "time measured (×)": [f"{1:.2f}", f"{u.time_ratio:.2f}", f"{o.time_ratio:.2f}"],
        "CPU seconds": [f"{cmp.plain_seconds:.3g}", f"{u.seconds:.3g}", f"{o.seconds:.3g}"]}),
        hide_index=True, width="stretch")
    st.caption(f"**What to notice:** counted, the optimal policy holds {o.memory_ratio:.1%} of plain BPTT's bytes "
               f"(its {o.stored_states} slots plus one step's internal state) against the uniform scheme's "
               f"{u.memory_ratio:.1%}, for {o.counted_time_ratio:.2f}× against {u.counted_time_ratio:.2f}× the time. "
               f"Measured here it takes {o.time_ratio:.1f}× plain BPTT's time (the uniform scheme {u.time_ratio:.1f}×)"
               + (f": it calls the cell once per forward step, {o.forward_steps:,} calls, where the others run whole "
                  f"segments in one call, and at H = {H} NumPy's fixed cost per call outweighs the arithmetic."
                  if o.time_ratio > 1.5 * o.counted_time_ratio else ", close to its count: at H = "
                  f"{H} the arithmetic outweighs NumPy's fixed cost per call."))

    mem = cc.state_memory(H)
    fig, df = cf.state_bytes_chart(mem, H, projector=proj)
    ratio = {r.cell: r.internal_floats / r.state_floats for r in mem}
    chart(fig, df, key="state_bytes", title=f"What a slot holds against what plain BPTT keeps per step (H = {H})",
          notice=f"a slot holds the state alone: h_t, or [h_t; c_t] for the LSTM. Plain BPTT keeps every step's "
                 f"internal state as well — {ratio['rnn']:.3g}× a stored state for the RNN (h_t, a_t, φ′(a_t)), "
                 f"{ratio['lstm']:.3g}× for the LSTM (h_t, c_t, the gates' pre-activations, values and derivatives, "
                 "tanh c_t, ∂h_t/∂c_t). So a saving "
                 "counted in stored states and one counted in bytes are different numbers, and which one a paper "
                 "quotes matters.",
          summary=cf.state_bytes_summary(df))

    hc = cc.headline_check(H)
    fl = hc.counted_time(hc.floor_steps) - 1
    st.markdown(f"### The headline, checked: −{g.memory_saved:.0%} memory for {g.extra_time:+.0%} time?")
    by_bytes = "; ".join(f"m = {m} slots for the {cf.CELL_LABEL[c]} ({hc.counted_time(s) - 1:+.0%})"
                         for c, m, s in hc.by_bytes)
    st.markdown(
        f"**Counted in stored states**, {g.memory_saved:.0%} less memory at T = {hc.T} leaves m = {hc.slots} slots. "
        f"The optimal hidden-state policy then needs C = {hc.forward_steps:,} forward steps "
        f"({hc.forward_steps / hc.T:.2f} per step): {hc.counted_time(hc.forward_steps) - 1:+.0%} time by operation "
        f"count (a backward step costing two forward ones), not {g.extra_time:+.0%}. Its floor, 2T − 1 = "
        f"{hc.floor_steps:,} forward steps ({fl:+.0%}), needs m = {hc.floor_slots} slots: no memory saved. "
        f"**Counted in bytes** (m slots plus one step's internal state, against plain BPTT's whole cache), "
        f"{g.memory_saved:.0%} less allows {by_bytes}. "
        f"**What does reach the pair** is a scheme that also keeps internal states: the uniform scheme above, at its "
        f"smallest budget ({least.budget} stored steps, {least.segment} of them one segment's internal states), saves "
        f"{1 - least.memory_ratio:.0%} of the floats for {least.counted_time_ratio - 1:+.0%} time by count — every "
        f"step runs forward at most twice, which the hidden-state policy does only with {hc.floor_slots} slots. By "
        f"these counts, then, −{g.memory_saved:.0%} for {g.extra_time:+.0%} describes a policy allowed to store "
        "internal states (the paper's internal-state and mixed variants, BPTT-ISM and BPTT-MSM, which this engine "
        "does not implement), not hidden states alone.")
    st.caption("Conventions, checked: with C(t, 1) = t(t+1)/2 and C(1, m) = 1 this recursion is Griewank & "
               "Walther's binomial checkpointing (Algorithm 799, revolve, ACM TOMS 2000, eq. 2) plus one forward "
               "step per backward step; its closed form gives the same C(T, m) as the table (tests), with the initial "
               "state's slot among the m. Not re-run here: the paper's own experiments.")
