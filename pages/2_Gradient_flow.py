"""Lesson 2: gradient flow — where the gradient goes, per step, per unit, and per (loss, step) pair."""
from dataclasses import replace

import streamlit as st

import explorer as ex
from explorer.depth_paths import lag_by_layer
from explorer.figures import depth_figs as dfg
from explorer.figures import gradient_flow as gf
from explorer.figures import summaries
from explorer.scenario import TARGETS
from ui import compute, params, url_state
from ui.blocks import chart, lesson, overflow_notes, quadratic_notice
from ui.scrub import live_view


def depth_section(sc, rec, proj):
    """L > 1: log10 ‖δ_t^(l)‖ over layers × time with the shortest-path lengths drawn on it, and the last loss's
    gradient against the lag, one line per layer."""
    L, T = sc.layers, sc.T
    st.markdown(f"## Through time and depth: {L} stacked layers")
    st.caption(f"Layer l reads h_t^(l−1) (layer 0 reads x_t) and the readout reads the top layer, l = {L - 1}: "
               "δ reaches h_t^(l) from the layer above at the same step and from step t + 1 of its own layer. The "
               "live view above and the charts after this section show the top layer's numbers.")
    fig, df = dfg.layer_time_heatmap(rec, projector=proj)
    chart(fig, df, key="layer_time", title="‖δ_t^(l)‖ over layers and time",
          latex=r"n(t, l) = (T - 1 - t) + (L - 1 - l)\ \text{Jacobians on the shortest path from } \ell_{T-1}"
                r"\text{ to } h^{(l)}_t",
          notice=f"each dashed line joins the nodes the same number n of Jacobians from the last loss (top row, "
                 f"t = {T - 1}). Depth adds at most L − 1 = {L - 1} to the T − 1 = {T - 1} steps of time, so the "
                 "lines are nearly vertical: in a long sequence, time decides how far the gradient has to travel"
                 + (" — and the nearer losses of every step send shorter paths of their own."
                    if not TARGETS[sc.target][1] else "."),
          summary=summaries.layer_heatmap(df))
    last = compute.last_loss_record(sc)
    fig, df = dfg.layer_lag_lines(lag_by_layer(last), projector=proj)
    chart(fig, df, key="layer_lags", title="The last loss's gradient against the lag, per layer",
          latex=r"\Big\|\frac{\partial \ell_{T-1}}{\partial h^{(l)}_{T-1-\ell}}\Big\|,\quad \ell = 0, \dots, T-1,"
                r"\quad l = 0, \dots, L-1",
          notice="a loss at the last step only (the sidebar's loss function), one line per layer, read from the "
                 "last step back. Where the lines run parallel, every layer's Jacobians shrink (or grow) the "
                 "gradient by the same factor per step back, and the gap between two lines is what the L − 1 − l "
                 "extra Jacobians of depth do to it.",
          summary=summaries.layer_lags(df))


with lesson(__file__, "The gradient of a recurrent network is a sum over time. Each loss ℓ_t sends "
            "credit back to every earlier use of W_hh, attenuated or amplified by the Jacobians in between. These "
            "charts take that sum apart: by time step, by hidden unit, and by (loss, step) pair.") as sc:
    rec = compute.record(sc)
    overflow_notes(rec)
    proj = url_state.projector()
    st.markdown("## Drag the scale: ‖δ_t‖ redrawn live")
    live_view(sc, ("delta",), key="live_flow")
    st.caption("**What to notice:** below a scale of 1 the line tilts down going back in time (vanishing), above "
               "it tilts up (exploding); the charts below follow when you release the knob.")
    if sc.layers > 1:
        depth_section(sc, rec, proj)
        st.markdown("## The top layer, step by step and unit by unit")
    a, b = st.columns(2, gap="large")
    fig, df = gf.delta_norms(rec, projector=proj)
    chart(fig, df, key="delta_norms", where=a, title="‖δ_t‖ over time",
          latex=r"\delta_t = \partial L/\partial h_t", notice="on a log axis a straight line is geometric decay "
          "or growth — the slope is the log of the typical ‖J_t‖.", summary=summaries.delta_curve(df))
    fig, df = gf.delta_heatmap(rec, projector=proj)
    chart(fig, df, key="delta_heatmap", where=b, title="δ_t per hidden unit",
          latex=r"|\delta_{t,i}| = |\partial L / \partial h_{t,i}|",
          notice=summaries.unit_notice(df), summary=summaries.unit_heatmap(df))
    c, d = st.columns(2, gap="large")
    with c:
        # With a loss at the last step only, G has one row; by default the map shows a loss at every step (the
        # same network and sequence), which is what the sum over (loss, step) pairs is about.
        map_sc, every = sc, True
        if TARGETS[sc.target][1]:
            every = url_state.widget(params.GMAP, st) == "every"
            map_sc = replace(sc, target=sc.target.replace("last_", "every_")) if every else sc
        al = compute.all_losses(map_sc)
        if al is None:
            st.markdown("### Temporal contributions G[t, k]")
            quadratic_notice(compute.quadratic_cost(sc), compute.WORK)
            conn = ex.loss_connectivity(rec.trace)
        else:
            kept = compute.record(map_sc).mask() if sc.scheme != "full" else None
            fig, df = gf.contribution_map(al.G, kept, projector=proj)
            chart(fig, df, key="g_map", title="Temporal contributions G[t, k]" + (
                  " for a loss at every step" if map_sc is not sc else ""), summary=summaries.contribution_grid(df, kept),
                  latex=r"G_{t,k} = \Big\|\frac{\partial \ell_t}{\partial h_t}\frac{\partial h_t}{\partial h_k}"
                        r"\frac{\partial^+ h_k}{\partial W_{hh}}\Big\|",
                  notice="the diagonal (k = t) is the short-term credit; how fast colour fades away from it is how "
                         "far back the network can learn." + (" Grey cells are cut by the active truncation."
                                                              if kept is not None else ""))
            conn = al.connectivity[-1]
    with d:
        fig, df = gf.step_terms(rec, projector=proj)
        chart(fig, df, key="step_terms", title="What each step adds to ∂L/∂W_hh",
              latex=r"\frac{\partial L}{\partial W_{hh}} = \sum_t \underbrace{(\varphi'(a_t)\odot\delta_t)\,"
                    r"h_{t-1}^{\top}}_{\text{term}_t}",
              notice="the sum is dominated by the largest bars: with vanishing gradients, by the last steps.",
              summary=summaries.step_terms(df))
    fig, df = gf.connectivity(conn, projector=proj)
    chart(fig, df, key="connectivity", title="Connectivity: how much the last loss depends on each input",
          latex=r"\big\|\partial \ell_t / \partial x_{t-\ell}\big\| \text{ against the lag } \ell,\ t = T-1",
          notice="this is memory seen from the output: where the curve drops below ~1e-8 the network cannot "
                 "learn from those inputs, whatever the task.", summary=summaries.connectivity(df))
