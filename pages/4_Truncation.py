"""Lesson 4: truncation — what TBPTT and randomized truncation cut, and what that does to the gradient."""
from dataclasses import replace

import streamlit as st

from explorer.figures import adaptive_figs as af
from explorer.figures import gradient_flow as gf
from explorer.figures import summaries
from explorer.figures import truncation_figs as tf
from explorer.figures.unrolled import unrolled_graph
from ui import compute, params, url_state
from ui.blocks import chart, lesson, overflow_notes, quadratic_notice
from ui.scrub import live_view

# What a cut means differs by scheme: TBPTT's cut ends one update's backward pass (the losses of earlier updates
# still cross that place), randomized truncation's ξ_t = 0 cuts the transition for every loss after it.
CUT_TBPTT = ("each red dashed line is where one update's backward pass stops after going k2 steps back: the "
             "losses of that update (its k1 steps) send no gradient across it; earlier updates' losses still do.")
CUT_RANDOMIZED = ("each red dashed line is a transition with ξ = 0: no loss after it sends gradient across it, in "
                  "this draw.")


def g_map(sc, rec, *, key: str, title: str, notice: str, lag: int | None = None, also: str = ""):
    """G[t, k] with what `rec`'s scheme cuts greyed (and the lag-`lag` diagonal), or the budget's notice."""
    al = compute.all_losses(sc)
    if al is None:
        quadratic_notice(compute.quadratic_cost(sc), compute.WORK)
        return
    kept = rec.mask()
    fig, df = gf.contribution_map(al.G, kept, lag=lag, projector=url_state.projector())
    chart(fig, df, key=key, title=title, summary=summaries.contribution_grid(df, kept) + also, notice=notice,
          latex=r"\hat g = \sum_t \sum_{k \le t} M_{t,k}\, G_{t,k}\text{-terms}")


def chosen_k_charts(sc, K: int, width: int):
    """The chosen K where it acts: the cut graph and the G map under TBPTT(K, K), on the section's one layer."""
    sk = replace(sc, layers=1, scheme="tbptt", k1=K, k2=K)
    rk = compute.record(sk)
    st.markdown(f"### The chosen K on the graph: TBPTT({sk.k1}, {sk.k2})")
    left, right = st.columns(2, gap="large")
    with left:
        fig, df = unrolled_graph(rk, start=sc.T - width, stop=sc.T, projector=url_state.projector(), animate=False)
        chart(fig, df, key="adaptive_cut_graph", title=f"Where TBPTT({sk.k1}, {sk.k2}) cuts (last {width} steps)",
              latex=r"M_{t,k} = [\,\tau(t) - K \le k \le t\,]",
              notice=CUT_TBPTT + " τ(t) is the number of steps seen at the update that holds loss ℓ_t." + (f" With K = {K} ≥ the {width} steps drawn, no cut falls in this window."
                                  if K >= width else ""),
              summary=summaries.delta_curve(df, "norm_delta"))
    with right:
        g_map(sk, rk, key="adaptive_g_mask", title=f"What TBPTT({sk.k1}, {sk.k2}) keeps of G[t, k]", lag=K,
              also=f" The purple line is lag {K} (k = t − {K}): no kept cell lies left of it.",
              notice=f"every loss keeps at most K = {K} lags, fewer early in its chunk: the grey steps in each "
                     "row are what the adaptive rule decided it can drop.")
    st.button(f"Use TBPTT({sk.k1}, {sk.k2}) in the sidebar", icon=":material/content_cut:", key="use_adaptive_k",
              on_click=_use_k, args=(sk.k1,), help="Sets Truncation to TBPTT with k1 = k2 = K: every chart above "
              "then shows this K.")


def _use_k(K: int):
    for key, v in (("scheme", "tbptt"), ("k1", K), ("k2", K)):
        url_state.choose(key, v)


with lesson(__file__, "Full BPTT keeps every path from every loss back to the start. Truncated BPTT "
            "(Williams & Peng's BPTT(k2; k1), Sutskever's TBPTT(k1, k2)) backpropagates every k1 steps for only k2 "
            "steps: cheaper and online, but **blind to any dependency longer than k2** — the gradient simply has "
            "no term for it. Randomized truncation (Tallec & Ollivier, 2017) cuts at random and rescales the "
            "survivors by 1/π so the *expected* gradient is exact. Choose the scheme under *Truncation* in the "
            "sidebar.") as sc:
    proj = url_state.projector()
    if sc.scheme == "full":
        st.info("The scheme is **full BPTT**: open *Truncation* in the sidebar and pick TBPTT(k1, k2) or "
                "randomized to see what they cut.", icon=":material/content_cut:")
    rec = compute.record(sc)
    overflow_notes(rec)
    st.markdown(f"**Active scheme:** {rec.scheme.label()}")
    width = min(sc.T, 30)
    if sc.scheme != "full":
        knob = "k2" if sc.scheme == "tbptt" else "keep_prob"
        st.markdown("## Drag " + ("k2" if knob == "k2" else "π") + ": what the scheme cuts, live")
        live = live_view(sc, ("graph", "delta"), key="live_truncation", knob=knob, window=width)
        st.caption("**What to notice:** " + (CUT_TBPTT + " The farther back k2 reaches, the more of the full-BPTT "
                   "line (dashed) the scheme keeps." if knob == "k2" else CUT_RANDOMIZED + " The kept arrows carry "
                   "×1/π, so the gradient is right on average, with a noisier δ_t the smaller π is."))
    else:
        st.markdown("## What the scheme cuts")
        live = None
    with st.expander("The cut graph as a static chart (PNG and HTML for slides)", expanded=live is None):
        fig, df = unrolled_graph(rec, start=sc.T - width, stop=sc.T, projector=proj, animate=False)
        chart(fig, df, key="cut_graph", title=f"Where the backward pass is cut (last {width} steps)",
              latex=r"M_{t,k} \in \{0, 1\}\ \text{(TBPTT)},\qquad M_{t,k} = \prod_{j=k+1}^{t}\xi_j,\ "
                    r"\xi_j \in \{0, 1/\pi\}\ \text{(randomized)}",
              notice={"tbptt": CUT_TBPTT, "randomized": CUT_RANDOMIZED}.get(sc.scheme, "full BPTT cuts nothing: "
                                                                                      "every path is kept."),
              summary=summaries.delta_curve(df, "norm_delta"))
    a, b = st.columns(2, gap="large")
    with a:
        g_map(sc, rec, key="g_mask", title="What the scheme keeps of G[t, k]",
              notice="grey cells are terms the truncated gradient never sees: long-range credit (far below the "
                     "diagonal) is exactly what is cut.")
    with b:
        sweep = compute.bias_sweep(sc)
        if sweep is None:
            quadratic_notice(compute.quadratic_cost(sc), compute.WORK, what="The bias sweep (the same pass as the G map)")
        else:
            k2s, cos, rel = sweep
            fig, df = tf.bias_vs_k2(k2s, cos, rel, current=sc.k2 if sc.scheme == "tbptt" else None, projector=proj)
            chart(fig, df, key="bias", title=f"TBPTT(k1={min(sc.k1, sc.T)}, k2) against full BPTT",
                  latex=r"\cos(\hat g, g) = \frac{\langle \hat g, g\rangle}{\|\hat g\|\|g\|},\qquad "
                        r"\frac{\|\hat g - g\|}{\|g\|}",
                  notice="the truncated gradient is biased: it points in a different direction until k2 covers "
                         "the lags where G is still large — after that, more k2 buys almost nothing.",
                  summary=summaries.bias(df))
    one, mean = compute.randomized_draws(sc)
    fig, df = tf.randomized_spread(one, mean, projector=proj)
    chart(fig, df, key="randomized", title=f"Randomized truncation, π = {sc.keep_prob:g}: unbiased but noisy",
          latex=r"\mathbb{E}[\xi_j] = \pi\cdot\tfrac{1}{\pi} = 1 \;\Rightarrow\; \mathbb{E}[\hat g] = g",
          notice="one draw can be far off (grey), but the mean of n draws closes in like 1/√n (green): no bias, "
                 "paid for in variance — heavier the smaller π and the longer the sequence.",
          summary=summaries.randomized(df))
    st.caption("**What a truncated gradient cannot see:** a dependency longer than k2 contributes exactly zero to "
               "every update, so nothing pushes the network to *store* that information — even though the forward "
               "pass still carries the state across the cut. (The training lab shows the consequence.)")

    # ---- How long should the truncation be? Adaptive K (Aicher, Foti & Fox 2019; explorer.adaptive_truncation) ----
    st.markdown("## How long should the truncation be? (Aicher, Foti & Fox 2019)")
    st.markdown("Instead of guessing K, pick it from the relative bias δ you can tolerate. Backpropagate the "
                "sequence's **last loss** once and measure φ_k, how much of its gradient reaches the state k steps "
                "back; fit the geometric decay β of φ_k on the last lags; that bounds what the lags TBPTT(K, K) "
                "drops could add. The rule takes the smallest K whose bound, relative to a lower bound L on the "
                "gradient's norm, is below δ — and the engine measures the bias it really leaves, beside it.")
    delta = url_state.widget(params.ADAPTIVE_DELTA, st)
    if sc.layers > 1:
        st.caption(f"This section uses one recurrent layer, not the sidebar's {sc.layers}: the bound is written "
                   "for a single chain of states.")
    ad = compute.adaptive_truncation(sc, delta)
    every = sc.target.startswith("every_")
    own = "the sidebar's loss (a loss at every step)" if every else "the sidebar's loss"
    st.latex(r"\mathrm{bound}(K) = \begin{cases} \dfrac{\varphi_\tau\,\beta^{K-\tau}}{1-\beta} & K \ge \tau \\[4pt] "
             r"\displaystyle\sum_{k=K}^{\tau-1}\varphi_k + \dfrac{\varphi_\tau}{1-\beta} & K < \tau \end{cases}")
    st.latex(r"L = \max_K \Big( \big\|\textstyle\sum_{k<K} \partial\ell_t/\partial h_{t-k}\big\| - \mathrm{bound}(K)"
             r"\Big),\qquad K = \min\{K : \mathrm{bound}(K)/L < \delta\}")
    left, right = st.columns(2, gap="large")
    with left:
        fig, phi_df = af.phi_chart(ad, projector=proj)
        chart(fig, phi_df, key="adaptive_phi", title="φ_k: the last loss's gradient, k steps back",
              latex=r"\varphi_k = \tfrac{1}{B}\sum_b \Big\|\frac{\partial \ell_t}{\partial h_{t-k}}\Big\|,\qquad "
                    r"\ln\varphi_k \approx a + k\ln\beta\ \ (k \ge \tau)",
              notice="on this log scale a geometric decay is a straight line whose slope is ln β; the fit uses "
                     f"the last lags of the window (τ = {ad.tau} on), and TBPTT(K, K) keeps the lags left of the "
                     "purple K line.",
              summary=af.phi_summary(phi_df))
    with right:
        if ad.bias_last is None:
            quadratic_notice(compute.quadratic_cost(sc), compute.WORK, what="The measured bias of TBPTT(K, K)")
        fig, bound_df = af.bound_chart(ad, trace_label="a loss at every step" if every else "the sidebar's loss",
                                       projector=proj)
        chart(fig, bound_df, key="adaptive_bound", title="The bound on TBPTT(K, K)'s relative bias, and the bias",
              latex=r"\frac{\|\hat g_K - g\|}{\|g\|} \;\le\; \frac{\mathrm{bound}(K)}{L}\ \ \text{(the estimate)}",
              notice=(("the chosen K is where the blue bound first drops under the dashed δ line. " if ad.K < ad.S or
                       ad.relative_bound[-1] < delta else "the blue bound never drops under the dashed δ line, so K "
                       "is the largest. ")
                      + ("The measured bias on the last loss (green) is what the bound estimates"
                         if ad.bias_last is not None else "")
                      + ("; the one on " + own + " (orange) is TBPTT(K, K) as you would run it, where a loss early "
                         "in a chunk keeps fewer than K lags" if ad.bias_trace is not None else "")
                      + (". " if ad.bias_last is not None else "")
                      + "The y axis stops at 1e-16, float64's rounding level."),
              summary=af.bound_summary(bound_df))
    st.markdown(af.chosen_sentence(bound_df, phi_df, own))
    st.caption(f"**Chosen: K = {ad.K}** of S = {ad.S} steps (δ = {delta:g}), the purple long-dashed line at lag "
               f"{ad.K} on the φ_k chart and on the G map below. "
               "The bound is an estimate, not a guarantee: it bounds the *state's* gradient, the bias is measured on "
               "the parameters' (readout included), and it assumes φ_k keeps decaying like β beyond the window.")
    chosen_k_charts(sc, ad.K, width)

