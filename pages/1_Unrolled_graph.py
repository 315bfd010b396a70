"""Lesson 1: the unrolled graph — both passes stepped through on it, and the scale scrubbed live in the browser. A
stack of L > 1 layers is drawn as a layers × time grid, live too."""
import streamlit as st

from explorer.figures import summaries
from explorer.figures.unrolled import layer_numbers, stacked_graph, step_numbers, unrolled_graph
from ui import compute, params, url_state
from ui.blocks import chart, csv_download, lesson, overflow_notes
from ui.scrub import live_view

STACKED_LATEX = (r"\delta^{(l)}_t = \underbrace{W_{xh}^{(l+1)\top}\,\frac{\partial L}{\partial a^{(l+1)}_t}}_{"
                 r"\text{from above (vertical edge)}} + \underbrace{J^{(l)\top}_{t+1}\,\delta^{(l)}_{t+1}}_{"
                 r"\text{through time (horizontal edge)}},\qquad \delta^{(L-1)}_t \text{ takes } W_{hy}^{\top}"
                 r"\,\partial \ell_t/\partial y_t \text{ from above}")


def stacked_grid(sc, rec, start: int, stop: int):
    """L > 1: the unrolled graph as a grid, layers × time, with the gradient on its time and depth edges."""
    fig, df = stacked_graph(rec, start=start, stop=stop, projector=url_state.projector())
    chart(fig, df, key="stacked_grid", title=f"δ_t^(l) travelling back through {sc.layers} layers and steps "
          f"{start}…{stop - 1}", latex=STACKED_LATEX,
          notice="layer 0 is the bottom row and reads x_t; the top row feeds y_t. Each node's colour is "
                 "‖δ_t^(l)‖ and each edge's width and shade the gradient it carries back (one log scale for the "
                 "horizontal and the vertical edges): a node gets its gradient from the node above it and from "
                 "its right-hand neighbour. Hover a node for both parts and its distance, in Jacobians, from "
                 "the last loss." + (" Red dashed lines are the truncation's cuts, in every layer alike."
                                     if sc.scheme != "full" else ""),
          summary=summaries.stacked_grid(df))


def what_to_notice(sc, grid: bool, long: bool) -> str:
    """The caption under the live view: its encodings, and what moving the knob does to them."""
    nodes = ("each h_t^(l)'s colour is ‖δ_t^(l)‖ and each arrow's width and colour the gradient it carries back — "
             "along time within a layer and down from the layer above, on one log scale for both kinds"
             if grid else "each h_t's colour is ‖δ_t‖ and each recurrent arrow's width and colour the gradient it "
             "carries back, both on log scales")
    if grid and sc.cell == "lstm":
        nodes += " (the grid leaves out the cell states c_t^(l); the chart below has the top layer's ‖∂L/∂c_t‖)"
    return ("**What to notice:** " + nodes + "; "
            + ("they fade with every step back when the scale is below 1 and bloom above it."
               if sc.scheme == "full" else "red dashed arrows are where the truncation cuts the backward pass"
               + (", in every layer." if grid else "."))
            + (" The strip above the graph is ‖δ_t‖ " + ("of the top layer " if grid else "")
               + "over the whole sequence: drag it to move the window." if long else ""))


with lesson(__file__, "Unrolled over time, a recurrent network is a very deep feed-forward network "
            "whose layers all share W_xh, W_hh and W_hy. The forward pass fills h_t, y_t and ℓ_t left to right; "
            "backpropagation then starts at the last loss and walks back one step at a time: at each step the "
            "gradient δ_t picks up the loss of that step and is multiplied by the step Jacobian J_{t+1}ᵀ. Press ▶ "
            "to step through both passes, and drag the scale to watch the gradient fade or bloom.") as sc:
    rec = compute.record(sc)
    overflow_notes(rec)
    T = sc.T
    width = min(T, 30)
    stacked = sc.layers > 1
    st.markdown("## Both passes on the graph, live")
    st.latex(STACKED_LATEX if stacked else
             r"\delta_t = W_{hy}^{\top}\,\frac{\partial \ell_t}{\partial y_t} + J_{t+1}^{\top}\,\delta_{t+1},"
             r"\qquad J_{t+1} = \frac{\partial h_{t+1}}{\partial h_t},\qquad \delta_T = 0")
    end = T if T <= width else url_state.meta(params.unroll_end(T, width))
    step = url_state.meta(params.unroll_step(T, end))
    sweep = live_view(sc, ("graph", "delta"), key="live_unrolled", step=step, end=end, window=width)
    grid = stacked and sweep is not None and sweep.grid is not None
    st.caption(what_to_notice(sc, grid, T > width))
    if stacked:              # every (layer, step) of the sequence, as the grid draws them
        csv_download(layer_numbers(rec), key="unrolled_live", title="Unrolled grid: per-layer, per-step numbers")
        with st.expander("The same grid as a static chart (PNG and HTML for slides)", expanded=not grid):
            stacked_grid(sc, rec, end - width, end)
    else:
        csv_download(step_numbers(rec), key="unrolled_live", title="Unrolled graph: per-step numbers")
        with st.expander("The same graph as a static chart (PNG and HTML for slides)", expanded=sweep is None):
            fig, df = unrolled_graph(rec, start=end - width, stop=end, projector=url_state.projector())
            chart(fig, df, key="unrolled", title=f"δ_t travelling back through steps {end - width}…{end - 1}",
                  notice="the same numbers as the live view, at the sidebar's settings.",
                  summary=summaries.delta_curve(df, "norm_delta"))
