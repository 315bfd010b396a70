"""Lesson 1: the unrolled graph, with the backward pass animated on it."""
import streamlit as st

from explorer.figures.unrolled import step_numbers, unrolled_graph
from ui import compute, params, url_state
from ui.blocks import chart, lesson, overflow_notes

with lesson(__file__, "Unrolled over time, a recurrent network is a very deep feed-forward network "
            "whose layers all share W_xh, W_hh and W_hy. Backpropagation starts at the last loss and walks back "
            "one step at a time; at each step the gradient δ_t picks up the loss of that step and is multiplied "
            "by the step Jacobian J_tᵀ. Press ▶ to watch it travel back.") as sc:
    rec = compute.record(sc)
    overflow_notes(rec)
    T = sc.T
    width = min(T, 30)
    end = T if T <= width else url_state.widget(params.unroll_end(T, width), st)
    fig, df = unrolled_graph(rec, start=end - width, stop=end, projector=url_state.projector())
    chart(fig, df, key="unrolled", title=f"δ_t travelling back through steps {end - width}…{end - 1}",
          latex=r"\delta_t = W_{hy}^{\top}\,\frac{\partial \ell_t}{\partial y_t} + J_{t+1}^{\top}\,\delta_{t+1}",
          notice="the colour of each h_t is ‖δ_t‖ on a log scale, and edge width the gradient carried back; "
                 + ("it fades with every step back when ρ < 1 and blooms when it is > 1."
                    if sc.scheme == "full" else "dashed red lines are where the truncation cuts the backward pass."))

    st.markdown("#### One step, with its numbers")
    nums = step_numbers(rec)
    t = url_state.widget(params.unroll_step(T, end), st)
    r = nums.iloc[t]
    nxt = f"{t + 1}" if t + 1 < T else "T"
    st.latex(rf"\underbrace{{\|\delta_{{{t}}}\|}}_{{{r.norm_delta:.3g}}} \;\le\; "
             rf"\underbrace{{\big\|W_{{hy}}^\top \tfrac{{\partial \ell_{{{t}}}}}{{\partial y_{{{t}}}}}\big\|}}_{{{r.norm_direct:.3g}}}"
             rf" + \underbrace{{\big\|J_{{{nxt}}}^\top \delta_{{{nxt}}}\big\|}}_{{{r.norm_through_J:.3g}}}")
    share = r.norm_through_J / (r.norm_direct + r.norm_through_J) if (r.norm_direct + r.norm_through_J) > 0 else 0
    st.caption(f"**What to notice:** at step {t}, {100 * share:.0f}% of the gradient's size arrives from the future "
               f"through J_{nxt}ᵀ; the rest is this step's own loss ℓ_{t} = {r.loss:.3g}"
               + ("" if r.target else " (here there is no target, so it is 0)") + ".")
