"""Lesson 8: online learning rules — RTRL and its approximations (UORO, KF-RTRL, RFLO, SnAp-1) against TBPTT:
how close each per-step estimate is to the exact gradient, what a step costs, and a race on the copy task."""
import pandas as pd
import streamlit as st

from explorer import online as ol
from explorer import work_budget as wb
from explorer.cost import slope_text
from explorer.figures import online_figs as of
from ui import live, params, url_state
from ui import online_compute as oc
from ui.blocks import chart, lesson

UPDATES = {  # each rule's update and its estimate of ∂ℓ_t/∂W, W = [W_hh | W_xh | b_h], â_t = [h_{t−1}; x_t; 1]
    "rtrl": r"\begin{aligned} M_t &= J_t M_{t-1} + \bar M_t \\ \hat g_t &= q_t M_t \end{aligned}",
    "uoro": r"\begin{aligned} \tilde a_t &= \rho_0 J_t \tilde a_{t-1} + \rho_1 \nu \\ \tilde B_t &= "
            r"\tilde B_{t-1}/\rho_0 + (\nu \odot d_t)\,\hat a_t^\top/\rho_1 \\ \hat g_t &= (q_t \cdot \tilde a_t)\,"
            r"\tilde B_t \end{aligned}",
    "kf_rtrl": r"\begin{aligned} u_t &= c_0 p_0 u_{t-1} + c_1 p_1 \hat a_t \\ A_t &= c_0 J_t A_{t-1}/p_0 + "
               r"c_1 \operatorname{diag}(d_t)/p_1 \\ \hat g_t &= (q_t A_t)^\top u_t^\top \end{aligned}",
    "rflo": r"\begin{aligned} E_t &= (1-\alpha)\,E_{t-1} + d_t \hat a_t^\top \\ \hat g_t &= "
            r"\operatorname{diag}(q_t)\,E_t \end{aligned}",
    "snap1": r"\begin{aligned} S_t &= \operatorname{diag}(J_t) \odot S_{t-1} + d_t \hat a_t^\top \\ \hat g_t &= "
             r"\operatorname{diag}(q_t)\,S_t \end{aligned}",
    "tbptt": r"\hat g_t = \textstyle\sum_{s=t-k+1}^{t} q_t J_t J_{t-1} \cdots J_{s+1} \bar M_s",
}
KEEPS = {"rtrl": "M: n × n·m", "uoro": "ã: n, B̃: n × m", "kf_rtrl": "u: m, A: n × n", "rflo": "E: n × m",
         "snap1": "S: n × m", "tbptt": "the last k (â_s, d_s)"}
ORDER = {"rtrl": "n³m ≈ n⁴", "uoro": "n² + 4nm", "kf_rtrl": "n³ + 3n² + nm", "rflo": "3nm", "snap1": "3nm + n",
         "tbptt": "k(n² + nm)"}
BIAS = {"rtrl": "exact", "uoro": "unbiased (rank one, random signs ν)", "kf_rtrl": "unbiased (Kronecker, signs c₀, c₁)",
        "rflo": "biased; exact when W_hh = 0", "snap1": "biased; exact when W_hh is diagonal",
        "tbptt": "biased; exact for paths ≤ k steps"}

with lesson(__file__, "BPTT needs the whole past stored before it can send a gradient back. **Online** rules carry "
            "the gradient forward instead, so a network can learn while it runs: **RTRL** keeps the influence "
            "matrix M_t = ∂h_t/∂W exactly — n³ numbers and n⁴ work per step. Its approximations keep less: "
            "**UORO** a random rank-one M̃ (unbiased), **KF-RTRL** a random Kronecker product (unbiased, less noisy), "
            "**RFLO** and **SnAp-1** only each unit's influence on its own weights (biased, cheap), and **TBPTT(k)** "
            "the last k steps. Below: how close each estimate is to the exact gradient, step by step; what a step "
            "costs; and which of them can still learn a dependency across a lag. The readout's gradient is exact and "
            "immediate in every rule, so only W_hh, W_xh and b_h are compared.") as sc:
    proj = url_state.projector()
    P = params.by_key(params.ONLINE)
    c1, c2, c3 = st.columns(3)
    leak = url_state.widget(P["leak"], c1)
    seeds = url_state.widget(P["seeds"], c2)
    k = url_state.widget(P["window"], c3)
    st.latex(r"\begin{aligned} h_t &= (1-\alpha)\,h_{t-1} + \alpha\,\varphi(a_t),\quad a_t = W \hat a_t,\quad "
             r"W = [W_{hh}\,|\,W_{xh}\,|\,b_h],\quad \hat a_t = [h_{t-1}; x_t; 1],\quad d_t = \alpha\varphi'(a_t) \\ "
             r"J_t &= (1-\alpha) I + \operatorname{diag}(d_t) W_{hh},\quad \bar M_t[i,(k,j)] = \delta_{ik}\, d_{t,i}\,"
             r"\hat a_{t,j},\quad q_t = W_{hy}^\top \frac{\partial \ell_t}{\partial y_t} \end{aligned}")
    run_sc, changed = oc.problem(sc, seeds, k)
    n, D = run_sc.hidden, 3
    st.dataframe(pd.DataFrame({
        "rule": [ol.label(r, k) for r in ol.RULES], "keeps": [KEEPS[r] for r in ol.RULES],
        "work per step": [ORDER[r] for r in ol.RULES],
        f"multiply-adds per step at n = {n}": [f"{ol.step_ops(r, n, D, k):,.0f}" for r in ol.RULES],
        f"floats kept at n = {n}": [f"{ol.state_floats(r, n, D, k):,}" for r in ol.RULES],
        "estimate": [BIAS[r] for r in ol.RULES]}), hide_index=True, width="stretch")

    st.markdown("## How close is each estimate, step by step?")
    if changed:
        st.info("This chart uses " + "; ".join(changed) + ".", icon=":material/info:")
    with st.spinner(f"Running the six rules and the exact gradient on {seeds} sequences…"):
        spread = oc.cosines(sc, leak, seeds, k)
    a, b = st.columns([3, 2], gap="large")
    fig, df = of.cosine_over_time(spread, k=k, projector=proj)
    med = of.median_cosines(df)
    noisiest = min((r for r in ol.STOCHASTIC), key=lambda r: med[ol.label(r)])
    chart(fig, df, key="online_cos", where=a,
          title=f"Per-step cosine with the exact gradient (n = {n}, T = {run_sc.T}, α = {leak:g}, {seeds} seeds)",
          latex=r"\cos\big(\hat g_t,\ \partial \ell_t/\partial W\big),\quad W = [W_{hh}\,|\,W_{xh}\,|\,b_h]",
          notice=f"unbiased is not close: {ol.label(noisiest)}'s median cosine is {med[ol.label(noisiest)]:.2f} — "
                 "right on average over its random signs, far off at any one step — while the biased RFLO and "
                 f"SnAp-1 ({med['RFLO']:.2f}, {med['SnAp-1']:.2f}) are deterministic: the same error every time, "
                 "which averaging over steps or sequences never removes, and "
                 f"TBPTT({k}) ({med[ol.label('tbptt', k)]:.2f}) misses only paths longer than k. The band is the "
                 f"{of.BAND[0]}–{of.BAND[1]} % spread over networks, sequences and signs; RTRL is 1 by definition.",
          summary=of.cosine_summary(df))
    with b:
        st.markdown("### Each rule's update")
        for r in ol.RULES:
            st.markdown(f"**{ol.label(r, k)}**")
            st.latex(UPDATES[r])
        st.caption("ν ∈ {±1}ⁿ and c₀, c₁ ∈ {±1} are drawn afresh every step; ρ₀ = √(‖B̃‖/‖J_t ã‖), "
                   "ρ₁ = √(‖d_t‖‖â_t‖/√n), p₀ = √(‖J_t A‖/‖u‖), p₁ = √(‖d_t‖/‖â_t‖) balance the two factors "
                   "(Tallec & Ollivier 2017; Mujika, Meier & Steger 2018). RFLO: Murray 2019, with the true q_t "
                   "instead of random feedback; SnAp-1: Menick et al. 2020.")

    st.markdown("## What a step costs")
    with st.spinner("Timing one step of every rule at n = " + ", ".join(map(str, oc.COST_NS)) +
                    " (once per k; kept for everyone)…"):
        times = oc.step_times(k)
    fig, df = of.cost_vs_n(times, rate=wb.RATE, projector=proj)
    s_meas, s_ops = of.slopes(df, "seconds_per_step"), of.slopes(df, "ops_seconds")
    top = df[df["n"] == df["n"].max()].set_index("rule")["seconds_per_step"]
    chart(fig, df, key="online_cost", title="Time per step against n (one sequence, one input)",
          latex=r"\begin{aligned} &\text{RTRL: } n^3 m \qquad \text{KF-RTRL: } n^3 \qquad \text{UORO, RFLO, SnAp-1: } "
                r"O(nm) = O(n^2) \\ &\text{TBPTT}(k)\text{: } k(n^2 + nm),\qquad m = n + D + 1 \end{aligned}",
          notice=f"by operation count (thin lines, at {wb.RATE:.0e} multiply-adds/s) the slopes are the exponents: "
                 f"RTRL {slope_text(s_ops['rtrl'])}, KF-RTRL {slope_text(s_ops['kf_rtrl'])}, the rest "
                 f"{slope_text(s_ops['snap1'])}. Measured (thick) they are flatter — RTRL "
                 f"{slope_text(s_meas['rtrl'])}, KF-RTRL {slope_text(s_meas['kf_rtrl'])}, SnAp-1 "
                 f"{slope_text(s_meas['snap1'])} — because below a few hundred units a step of the cheap rules is a "
                 f"handful of NumPy calls (microseconds each) whatever n is. At n = {int(df['n'].max())} one RTRL "
                 f"step took {top['rtrl'] * 1e3:.3g} ms, {top['rtrl'] / top['snap1']:.0f}× SnAp-1's: the "
                 "approximations exist because of this gap.",
          summary=of.cost_summary(df))

    st.markdown("## The race: who carries credit across a lag?")
    r1, r2 = st.columns(2)
    lag = url_state.widget(P["copy_lag"], r1)
    budget = url_state.widget(P["online_n"], r2)
    task = oc.race_task(lag)
    st.markdown(f"**Task:** {task.describe()}: the symbol comes at step 0 and is asked for at step {task.T - 1}, "
                f"{task.T - 1} steps later, with blanks between. " + oc.race_rules_text()
                + f" TBPTT({k})" + (f" cannot see that far back (k = {k} < {task.T - 1})." if k < task.T - 1 else
                                    f" sees the whole sequence (k = {k} ≥ {task.T - 1}): it is full BPTT here."))
    race = oc.race_state(lag, budget, leak, k, sc.seed)
    live.controls("online_race", race, play_label="▶ start the race" if not race.done else "▶ continue")

    def race_charts(race_):
        if not race_.done:
            st.caption(f"Press ▶ to train all {len(race_.trainers)} for {race_.budget} updates each; RTRL's updates "
                       "are the slowest, and the chart appears with the first updates.")
            return
        fig_, df_ = of.race_curves(race_.losses, race_.baseline, k=k, smooth=oc.SMOOTH, projector=proj)
        below, rest = of.race_verdict(df_, race_.baseline)
        chart(fig_, df_, key="online_race", title=f"Loss on the copy task with a lag of {lag}, by rule",
              latex=r"\text{same network, batches, optimizer and number of updates; only the gradient estimate differs}",
              notice=race_notice(below, rest),
              summary=of.race_summary(df_, race_.baseline))
        if race_.finished:
            st.success(f"After {race_.done} updates, below {of.SOLVED:g}× the baseline: "
                       + (", ".join(below) or "no rule") + "; not: " + (", ".join(rest) or "none") + ".",
                       icon=":material/flag:")

    def race_notice(below: list[str], rest: list[str]) -> str:
        """What to notice, from the race's verdict (which rules ended below SOLVED × the baseline)."""
        return ("below the dashed baseline a rule has used the symbol from step 0: credit carried across the lag. "
                f"Here {', '.join(below) or 'no rule'} got there; {', '.join(rest) or 'every rule did'}"
                + (" did not." if rest else ".") + " RTRL, UORO and KF-RTRL estimate the whole influence M_t, so "
                "that credit can arrive (noisily for the unbiased two). RFLO and SnAp-1 keep only each unit's "
                "influence on its own weights — SnAp-1 through its self-connection w_ii, so a unit that learns to "
                f"hold its own value can earn some — and TBPTT({k}) cuts every path longer than {k} steps: without "
                "the long paths a rule learns the short-range part (when to say blank), the floor “readout only” "
                "also reaches. One seed: try the sidebar's seed for another draw.")

    live.fragment("online_race", after=race_charts)
