"""Lesson 1: the unrolled graph — both passes stepped through on it, and the scale scrubbed live in the browser."""
import streamlit as st

from explorer.figures import summaries
from explorer.figures.unrolled import step_numbers, unrolled_graph
from ui import compute, params, url_state
from ui.blocks import chart, csv_download, lesson, overflow_notes
from ui.scrub import live_view

with lesson(__file__, "Unrolled over time, a recurrent network is a very deep feed-forward network "
            "whose layers all share W_xh, W_hh and W_hy. The forward pass fills h_t, y_t and ℓ_t left to right; "
            "backpropagation then starts at the last loss and walks back one step at a time: at each step the "
            "gradient δ_t picks up the loss of that step and is multiplied by the step Jacobian J_{t+1}ᵀ. Press ▶ "
            "to step through both passes, and drag the scale to watch the gradient fade or bloom.") as sc:
    rec = compute.record(sc)
    overflow_notes(rec)
    T = sc.T
    width = min(T, 30)
    st.latex(r"\delta_t = W_{hy}^{\top}\,\frac{\partial \ell_t}{\partial y_t} + J_{t+1}^{\top}\,\delta_{t+1},"
             r"\qquad J_{t+1} = \frac{\partial h_{t+1}}{\partial h_t},\qquad \delta_T = 0")
    end = T if T <= width else url_state.meta(params.unroll_end(T, width))
    step = url_state.meta(params.unroll_step(T, end))
    sweep = live_view(sc, ("graph", "delta"), key="live_unrolled", step=step, end=end, window=width)
    st.caption("**What to notice:** each h_t's colour is ‖δ_t‖ and each recurrent arrow's width and colour the "
               "gradient it carries back, both on log scales; "
               + ("they fade with every step back when the scale is below 1 and bloom above it."
                  if sc.scheme == "full" else "red dashed arrows are where the truncation cuts the backward pass.")
               + (" The strip above the graph is ‖δ_t‖ over the whole sequence: drag it to move the window."
                  if T > width else ""))
    nums = step_numbers(rec)
    csv_download(nums, key="unrolled_live", title="Unrolled graph: per-step numbers")
    with st.expander("The same graph as a static chart (PNG and HTML for slides)", expanded=sweep is None):
        fig, df = unrolled_graph(rec, start=end - width, stop=end, projector=url_state.projector())
        chart(fig, df, key="unrolled", title=f"δ_t travelling back through steps {end - width}…{end - 1}",
              notice="the same numbers as the live view, at the sidebar's settings.",
              summary=summaries.delta_curve(df, "norm_delta"))
