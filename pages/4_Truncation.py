"""Lesson 4: truncation — what TBPTT and randomized truncation cut, and what that does to the gradient."""
import streamlit as st

from explorer.figures import gradient_flow as gf
from explorer.figures import summaries
from explorer.figures import truncation_figs as tf
from explorer.figures.unrolled import unrolled_graph
from ui import compute, url_state
from ui.blocks import chart, lesson, overflow_notes, quadratic_notice
from ui.scrub import live_view

# What a cut means differs by scheme: TBPTT's cut ends one update's backward pass (the losses of earlier updates
# still cross that place), randomized truncation's ξ_t = 0 cuts the transition for every loss after it.
CUT_TBPTT = ("each red dashed line is where one update's backward pass stops after going k2 steps back: the "
             "losses of that update (its k1 steps) send no gradient across it; earlier updates' losses still do.")
CUT_RANDOMIZED = ("each red dashed line is a transition with ξ = 0: no loss after it sends gradient across it, in "
                  "this draw.")

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
        st.markdown("#### Drag " + ("k2" if knob == "k2" else "π") + ": what the scheme cuts, live")
        live = live_view(sc, ("graph", "delta"), key="live_truncation", knob=knob, window=width)
        st.caption("**What to notice:** " + (CUT_TBPTT + " The farther back k2 reaches, the more of the full-BPTT "
                   "line (dashed) the scheme keeps." if knob == "k2" else CUT_RANDOMIZED + " The kept arrows carry "
                   "×1/π, so the gradient is right on average, with a noisier δ_t the smaller π is."))
    else:
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
        al = compute.all_losses(sc)
        if al is None:
            quadratic_notice(compute.quadratic_cost(sc), compute.WORK)
        else:
            kept = rec.mask()
            fig, df = gf.contribution_map(al.G, kept, projector=proj)
            chart(fig, df, key="g_mask", title="What the scheme keeps of G[t, k]",
                  summary=summaries.contribution_grid(df, kept),
                  latex=r"\hat g = \sum_t \sum_{k \le t} M_{t,k}\, G_{t,k}\text{-terms}",
                  notice="grey cells are terms the truncated gradient never sees: long-range credit (far below "
                         "the diagonal) is exactly what is cut.")
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
