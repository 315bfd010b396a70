"""Lesson 6: RNN, IRNN, LSTM, GRU and IndRNN side by side — whose gradient survives the lag, and a race."""
import numpy as np
import pandas as pd
import streamlit as st

from explorer.architectures import contenders
from explorer.figures import architecture_figs as af
from explorer.figures import depth_figs as dfg
from explorer.figures import summaries
from explorer.model import build_model
from ui import compute, live, params, url_state
from ui.blocks import chart, lesson
from ui.race import RACE_CONFIG, SMOOTH, race_rules, race_state, race_summary, trained_profiles

with lesson(__file__, "A vanilla RNN multiplies the gradient by diag(φ'(a_t)) W_hh at every "
            "step, so it fades (or blows up) geometrically. Gated cells add paths that can carry it unchanged: "
            "the LSTM's cell state c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t passes the gradient back through f_t alone, "
            "the GRU interpolates h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}, the IRNN starts from W_hh = I and the "
            "IndRNN keeps one recurrent weight per unit. Here all five read **the same input sequence** (the "
            "sidebar's T, H, input scale and seed); the sidebar's ρ sets the vanilla RNN's.") as sc:
    proj = url_state.projector()
    cons = contenders(sc.scale)
    st.markdown("## At initialisation: five cells, one input sequence")
    st.dataframe(pd.DataFrame([{"contender": c.name, "cell": c.cell, "φ": c.activation, "W_hh init": c.init,
                                "notes": c.note} for c in cons]), hide_index=True, width="stretch")
    with st.spinner("Running the five cells…"):
        cmp = compute.architectures(sc)
    T_used = cmp.T
    over = "" if T_used == sc.T else (f" (over the first {T_used} steps: the work budget of "
                                      f"{compute.ARCH_WORK:.1e} multiply-adds at H = {sc.hidden})")
    a, b = st.columns(2, gap="large")
    fig, df = af.lag_profiles(cmp.profiles, projector=proj)
    ranked = sorted(cmp.at_longest_lag().items(), key=lambda kv: -kv[1])
    zero = cmp.zero_after()
    at_end = ", ".join(f"{n} {'0' if np.isneginf(v) else f'10^{v:.0f}'}" for n, v in ranked)
    dead = "".join(f"; {n}'s is exactly 0 from lag {k} on (every ReLU unit was off at some step)"
                   for n, k in zero.items())
    chart(fig, df, key="arch_lag", where=a, title="How much gradient survives a lag, per architecture",
          latex=r"\Big\|\frac{\partial h_t}{\partial h_{t-\ell}}\Big\|_2 = \big\|J_t J_{t-1}\cdots J_{t-\ell+1}\big\|_2,\quad t = T-1",
          notice=f"at lag {cmp.T}: {at_end}{dead}. At initialisation the gates sit near ½, so a gated cell is not "
                 "automatically better — what gating buys is that training can open a path (f, z → 1); the race "
                 "below shows who learns to" + over + ".", summary=summaries.log_profiles(df))
    f_bar = float(np.mean(cmp.gates["LSTM"]["f"]))
    fig, df = af.cell_state_path(cmp.profiles[2], cmp.cell_state, cmp.carousel, projector=proj)
    chart(fig, df, key="arch_cec", where=b, title="The LSTM's constant error carousel",
          latex=r"\begin{aligned} c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\ \frac{\partial c_T}{\partial c_k}"
                r"\Big|_{\text{direct}} &= \prod_{t=k+1}^{T} \operatorname{diag}(f_t) \end{aligned}",
          notice=f"the mean forget gate is f̄ = {f_bar:.2f} here, so the direct path alone (dotted) keeps about "
                 f"f̄^lag; the cell state (green) keeps more through its paths via h. Where a task needs memory, "
                 "training drives f → 1 and the dotted line rises flat: the constant error carousel.",
          summary=summaries.log_profiles(df))
    g1, g2 = st.columns(2, gap="large")
    for where, name, eq in ((g1, "LSTM", r"i, f, o = \sigma(\cdot),\quad g = \tanh(\cdot)"),
                            (g2, "GRU", r"r, z = \sigma(\cdot),\quad n = \tanh(\cdot)")):
        fig, df = af.gate_activations(cmp.gates[name], projector=proj)
        chart(fig, df, key=f"gates_{name}", where=where, title=f"{name} gate activations over time", latex=eq,
              notice=af.gate_notice(cmp.gates[name], build_model.__kwdefaults__["forget_bias"]),
              summary=summaries.gates(df))

    st.markdown("## The race: the same long-lag task, the same budget")
    st.markdown(race_rules())
    P = params.by_key(params.RACE)
    r1, r2, r3 = st.columns(3)
    task_name = url_state.widget(P["race_task"], r1)
    length = url_state.widget(P["race_len"], r2)
    budget = url_state.widget(P["race_n"], r3)
    race = race_state(sc, task_name, length, budget)
    B, B_max = race.batch_size, RACE_CONFIG.batch_size
    st.caption(f"**Task:** {race.task.describe()} · H = {sc.hidden} for every contender · batch size {B}"
               + (f" (not {B_max}: an LSTM update at this H and length would pass the lab's memory and work "
                  "budget)" if B < B_max else "") + ".")
    live.controls("race", race, play_label="▶ start the race" if not race.done else "▶ continue")

    def race_charts(race_):
        if not race_.done:
            return
        fig, df = af.race_curves(race_.losses, race_.baseline, smooth=SMOOTH, projector=proj)
        chart(fig, df, key="race", title="Loss during the race",
              latex=r"\text{same task, optimizer, clipping and number of updates for every cell}",
              notice="under the dashed baseline a cell has found the long-range dependency; on it, it only "
                     "learned what needs no memory.",
              summary=summaries.lines(df, "update", {c: c for c in df.columns if c != "update"}))
        if race_.finished:
            st.success(race_summary(race_), icon=":material/flag:")
        if race_.playing:
            return
        profiles = trained_profiles(race_, sc.hidden, sc.seed)
        if profiles is None:
            st.caption("(The trained networks' gradient chart is skipped at this H and length: too slow to draw.)")
            return
        fig, df = af.lag_profiles(profiles, projector=proj)
        chart(fig, df, key="race_lag", title=f"After {race_.done} updates: how much gradient survives a lag now",
              latex=r"\Big\|\frac{\partial h_t}{\partial h_{t-\ell}}\Big\|_2 \text{ of the trained networks, on one "
                    r"sequence of the race task}",
              notice="compare with the first chart: the cells that solved the task have learned to keep the "
                     "gradient (and the memory) alive over the lag; the ones that did not still let it fade.",
              summary=summaries.log_profiles(df))

    live.fragment("race", after=race_charts)

    st.markdown("## Both directions: a bidirectional RNN")
    at = url_state.widget(params.loss_step(sc.T))
    tw = compute.two_ways(sc, at)
    fig, df = af.two_ways(tw, projector=proj)
    chart(fig, df, key="bidir", title="Gradient arriving from both directions",
          latex=r"y_t = W_{hy}\,[\,\overrightarrow{h}_t;\ \overleftarrow{h}_t\,] + b_y,\qquad "
                r"\overrightarrow{\delta}_t \ne 0 \text{ for } t \le t^\ast,\quad \overleftarrow{\delta}_t \ne 0 "
                r"\text{ for } t \ge t^\ast",
          notice="one loss at t* sends gradient back in time through the forward chain (blue, to the left) and "
                 "forward in time through the backward chain (orange, to the right); each fades with distance "
                 "at its own rate.", summary=summaries.lines(df, "t", {"forward_delta_norm": "‖δ_t‖ of the forward "
                 "chain", "backward_delta_norm": "‖δ_t‖ of the backward chain"}))

    st.markdown("## Deeper or wider: stacked layers at the same parameter count")
    sb = compute.stacked_same_budget(sc)
    names = sb.names()
    fig, df = dfg.same_budget_lines(list(zip(names, sb.lag_norms)), projector=proj)
    counts = ", ".join(f"{L} × H = {h}: {n}" for L, h, n in zip(sb.layers, sb.hidden, sb.counts))
    chart(fig, df, key="same_budget", title="The last loss's gradient against the lag: one layer against a stack",
          latex=r"\Big\|\frac{\partial \ell_{T-1}}{\partial x_{T-1-\ell}}\Big\|\ \text{ against the lag } \ell,"
                r"\qquad \#\theta(L, H_L) \approx \#\theta(1, H_1)",
          notice=f"the sidebar's {sc.cell.upper()} cell, ρ and seed, each network with as many parameters as one "
                 f"layer of H₁ = {sc.hidden} as whole widths allow (parameters, readout included — {counts}); the "
                 "loss sits at the last step only. Measured to the inputs x_k, so every depth is compared on the same "
                 "quantity: a stack's gradient crosses L − 1 more Jacobians at every lag, each of them a narrower "
                 "layer's.", summary=summaries.same_budget(df))
