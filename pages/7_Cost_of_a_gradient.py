"""Lesson 7: the cost of a gradient — measured time and counted memory of BPTT, TBPTT, RTRL and checkpointing."""
import pandas as pd
import streamlit as st

import ui  # noqa: F401
from explorer import cost, min_budget
from explorer.figures import cost_figs as cf
from ui import cost_compute as cc
from ui import params, url_state
from ui.blocks import chart, lesson


def slopes(ms, x: str, y: str, fit_from: dict | None = None) -> dict:
    """algorithm → fitted log–log slope of y against x (over x ≥ fit_from[algorithm])."""
    df = cf.frame(ms)
    out = {}
    for a in cost.ALGORITHMS:
        d = df[(df.algorithm == a) & (df[x] >= (fit_from or {}).get(a, 0))]
        out[a] = cost.fit_slope(d[x], d[y])[0]
    return out


def said(s: dict) -> str:
    return ", ".join(f"{cost.label(a)} {round(v, 2) + 0.0:.2f}" for a, v in s.items() if v == v)   # no "-0.00"


with lesson(__file__, "Four ways to the gradient of the same loss. **BPTT** stores every step "
            "(memory ∝ T) and spends O(H²) work per step going back; **TBPTT(k1, k2)** keeps only the last k2 "
            "steps but cuts every longer path; **RTRL** carries ∂h_t/∂θ forward — no history at all, but H³ floats "
            "and H⁴ work per step; **checkpointing** keeps every L-th state and recomputes the rest, trading time for "
            "memory. Every number here is measured (time) or counted (floats held at the peak) on this server, "
            "for one vanilla tanh RNN with one input, one output and B = 1 sequence. Of the sidebar's settings "
            "only the seed applies, to the weights of the agreement table: the weights do not change the work, "
            "so every timing is measured once per size, on one network.") as sc:
    proj = url_state.projector()
    c1, c2 = st.columns(2)
    H, T = url_state.widget(params.COST[0], c1), url_state.widget(params.COST[1], c2)
    Ta, Ha = T, min(H, 32)
    # Measure everything before drawing any chart: the browser drawing Plotly shares this machine's cores
    with st.spinner("Timing the four algorithms (once per setting; kept for everyone)…"):
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
    st_t, st_m = slopes(ts, "T", "seconds", cost.FIT_FROM_T), slopes(ts, "T", "peak_floats", cost.FIT_FROM_T)
    fig, df = cf.time_vs_T(ts, projector=proj)
    chart(fig, df, key="time_T", where=a, title=f"Time against sequence length (H = {H})",
          latex=r"\begin{aligned}\text{BPTT: }& O(T H^2) \text{ time} \\ \text{RTRL: }& O(T H^4) \text{ time}"
                r"\end{aligned}",
          notice=f"from T = {cost.FIT_FROM_T['bptt']} on (shaded) every slope is close to 1 ({said(st_t)}): "
                 "each algorithm does a fixed amount of work per step; below that a call's fixed cost still "
                 "shows. What differs is the height — RTRL's line sits far above (its step is H⁴, not H²), and "
                 f"TBPTT({cost.K1}, {cost.K2}) pays {cost.K2 / cost.K1:g} backward steps per step.")
    fig, df = cf.memory_vs_T(ts, projector=proj)
    chart(fig, df, key="memory_T", where=b, title=f"Peak memory against sequence length (H = {H})",
          latex=r"\begin{aligned}\text{BPTT: }& 3TH + H \\ \text{TBPTT: }& 3k_2H + H \\ "
                r"\text{checkpointed: }& (\lceil T/L\rceil + 3L + 1)H \\ \text{RTRL: }& H^3 + 2H^2 + H"
                r"\end{aligned}",
          notice=f"the slopes are the memory exponents ({said(st_m)}): BPTT's grows like T, checkpointing's "
                 "like √T, TBPTT's and RTRL's not at all — but RTRL's flat line is H³, so BPTT holds less "
                 f"until T ≈ H²/3 ≈ {H * H // 3:,} steps.")

    s_h = slopes(hs, "H", "seconds_per_step", cost.FIT_FROM_H)
    fig, df = cf.time_vs_H(hs, projector=proj)
    short = cost.rtrl_max_T(cost.RTRL_MAX_H)
    big = {a: max((m for m in hs if m.algorithm == a), key=lambda m: m.H) for a in ("rtrl", "bptt")}
    chart(fig, df, key="time_H", title=f"Time per step against hidden size (T = {T}"
          + (f"; RTRL down to its first {short} steps at H = {cost.RTRL_MAX_H}" if short < T else "") + ")",
          latex=r"\begin{aligned}\text{RTRL: }& P_t = \operatorname{diag}(\varphi'(a_t))\big(W_{hh}P_{t-1} + "
                r"\partial^+ a_t/\partial\theta\big):\ (H\times H)(H\times H^2) = H^4 \text{ per step} \\ "
                r"\text{BPTT: }& \delta_{t-1} = W_{hh}^\top\big(\varphi'(a_t)\odot\delta_t\big):\ H^2 \text{ per step}"
                r"\end{aligned}",
          notice=f"fitted slopes: {said(s_h)} — heading for the exponents of n⁴ (RTRL) and n² (the others). They "
                 "show only where the arithmetic dominates (the shaded points): below that a step costs ~10 µs of "
                 "Python and NumPy call overhead whatever H is, and the lines are flat. One RTRL step at H = "
                 f"{big['rtrl'].H} took {big['rtrl'].seconds_per_step * 1e3:.2g} ms; one BPTT step at H = "
                 f"{big['bptt'].H}, {big['bptt'].seconds_per_step * 1e3:.2g} ms.")

    st.markdown("#### Do they compute the same gradient?")
    st.latex(r"\max_{\theta \in \{W_{xh}, W_{hh}, b_h, W_{hy}, b_y\}} \frac{\|g_\theta - g_\theta^{\mathrm{BPTT}}\|}"
             r"{\max(\|g_\theta\|, \|g_\theta^{\mathrm{BPTT}}\|)}")
    st.dataframe(pd.DataFrame({
        "algorithm": [r.algorithm for r in rows],
        "should equal full BPTT?": ["yes" if r.must_agree else "no — truncated, expected to differ" for r in rows],
        "max relative difference": [f"{r.max_rel_diff:.1e}" for r in rows],
        "verdict": [("✓ agrees" if r.must_agree else "✓ differs, as it should") if r.ok else
                    ("✗ does not agree" if r.must_agree else "✗ should differ") for r in rows]}),
        hide_index=True, width="stretch")
    st.caption(f"**What to notice:** at T = {Ta}, H = {Ha}, the three exact algorithms agree with BPTT to about "
               f"1e-15 — the rounding of float64 summed in a different order (the test suite demands ≤ "
               f"{cost.AGREE_TOL:.0e}); they are the same gradient, bought differently. Only the truncated one "
               "differs: it is a different, biased quantity (lesson 4).")

    st.markdown("### Checkpointing: buy memory with time")
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
                 "backward step costs two forward ones). Gruslys et al. report −95 % for +33 % at T = 1000: almost "
                 "all the saving comes for one extra forward pass, and the last few percent cost the most — "
                 "short segments mean more Python overhead per step here.")
    st.caption(f"Source of the star: {g.source} Their dynamic-programming policy fits any budget; this page uses "
               "the simpler fixed-segment scheme (Chen et al. 2016): the same memory, and the same +⅓ by operation "
               "count (dashed); what this NumPy engine measures on top is the overhead of many short segments.")
