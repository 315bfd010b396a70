"""The network unrolled over time, with the backward pass drawn on it.

Rows: inputs x_t, hidden states h_t (and cell states c_t), outputs y_t, losses ℓ_t. Each h_t is coloured by
log10 ‖δ_t‖ = log10 ‖∂L/∂h_t‖; each recurrent edge h_t → h_{t+1} by the gradient it carries backwards,
‖J_{t+1}ᵀ δ_{t+1}‖. Plotly frames animate δ travelling back from the last step, in the browser (play / pause /
step with the frame slider), and dashed red lines mark where the truncation scheme cuts the backward pass.
Hovering an h_t shows δ_t = W_hyᵀ ∂ℓ_t/∂y_t + J_{t+1}ᵀ δ_{t+1} with the numbers of that step.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..bptt import step_norms
from ..norms import frobenius
from ..sweeps import cut_positions
from .style import COLORS, SEQ, axis, figure, log_ticks, ref_line, safe_log10, style, trace

N_BINS = 6
_BIN_COLORS = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]


def step_numbers(rec) -> pd.DataFrame:
    """Per step: ‖h_t‖, ℓ_t, ‖δ_t‖, its direct part ‖W_hyᵀ ∂ℓ_t/∂y_t‖ and recurrent part ‖J_{t+1}ᵀ δ_{t+1}‖
    (explorer.bptt.step_norms, sequence 0)."""
    n = step_norms(rec)
    return pd.DataFrame({"t": np.arange(rec.T), **{k: n[k] for k in ("norm_h", "loss", "target", "norm_delta",
                                                                     "norm_direct", "norm_through_J")}})


def unrolled_graph(rec, *, start: int = 0, stop: int | None = None, projector=False, animate=True):
    """Steps start … stop−1 of the unrolled network as a figure dict (with animate: frames, play/pause buttons
    and a step slider, all played in the browser); plus the per-step numbers drawn."""
    T = rec.T
    stop = T if stop is None else min(stop, T)
    start = max(0, min(start, stop - 1))
    nums = step_numbers(rec)
    w = nums.iloc[start:stop]
    ts = w["t"].to_numpy()
    lstm = rec.delta_c is not None
    Y = {"x": 0.0, "h": 1.0, "c": 1.8, "y": 2.6 if lstm else 2.0, "L": 3.4 if lstm else 3.0}
    fig = figure()

    # forward structure, one trace (NaN-separated segments)
    seg_x, seg_y = [], []
    for t in ts:
        for (a, b) in (("x", "h"), ("h", "y"), ("y", "L")):
            seg_x += [t, t, np.nan]
            seg_y += [Y[a] + 0.12, Y[b] - 0.12, np.nan]
        if lstm:
            seg_x += [t, t, np.nan]
            seg_y += [Y["h"] + 0.12, Y["c"] - 0.12, np.nan]
    fig["data"].append(trace("scatter", x=seg_x, y=seg_y, mode="lines", line=dict(color="#bbbbbb", width=2),
                             hoverinfo="skip", showlegend=False))

    # recurrent edges h_t → h_{t+1}, binned by the backward gradient they carry (constant trace count)
    flow = nums["norm_through_J"].to_numpy()
    lf = safe_log10(flow[ts[:-1]]) if ts.size > 1 else np.array([])
    fin = np.isfinite(lf)
    lo, hi = (np.nanmin(lf), np.nanmax(lf)) if fin.any() else (0.0, 1.0)
    edges = np.linspace(lo, hi + 1e-9, N_BINS + 1)
    which = np.clip(np.digitize(lf, edges) - 1, 0, N_BINS - 1)
    for k in range(N_BINS):
        sel = ts[:-1][(which == k) & fin]
        ex = np.column_stack([sel + 0.2, sel + 0.8, np.full(sel.size, np.nan)]).ravel()
        ey = np.tile([Y["h"], Y["h"], np.nan], sel.size)
        fig["data"].append(trace("scatter", x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color=_BIN_COLORS[k], width=3 + 2 * k)))

    def nodes(row, text, color, symbol="circle", size=15):
        fig["data"].append(trace("scatter", x=ts, y=np.full(ts.size, Y[row]), mode="markers", marker=dict(
            size=size, color=color, symbol=symbol, line=dict(width=1.5, color="#333")), text=text,
            hovertemplate="%{text}<extra></extra>", showlegend=False))

    nodes("x", [f"x_{t}: input" for t in ts], "#f0f0f0", "square")
    nodes("y", [f"y_{t} = W_hy h_{t} + b_y" for t in ts], "#f0f0f0", "diamond")
    lcol = np.where(w["target"], COLORS["orange"], "#ffffff")
    nodes("L", [f"ℓ_{t} = {l:.3g}" if m else f"ℓ_{t}: no target here" for t, l, m in
                zip(ts, w["loss"], w["target"])], lcol, "triangle-up")
    if lstm:
        cn = frobenius(rec.delta_c, axis=(1, 2))[ts]
        nodes("c", [f"c_{t}: ‖∂L/∂c_{t}‖ = {v:.3g}" for t, v in zip(ts, cn)], "#fde0c5", "hexagon")

    # h nodes: colour = log10 ‖δ_t‖, hover = the equation with this step's numbers
    ld = safe_log10(w["norm_delta"].to_numpy())
    lo_d, hi_d = (np.nanmin(ld), np.nanmax(ld)) if np.isfinite(ld).any() else (-1.0, 1.0)
    if hi_d - lo_d < 1e-9:
        lo_d, hi_d = lo_d - 0.5, hi_d + 0.5
    tv, tt = log_ticks(lo_d, hi_d)
    text = [(f"h_{t}:  ‖h‖ = {nh:.3g}<br>δ_{t} = W_hyᵀ ∂ℓ_{t}/∂y_{t} + J_{t + 1}ᵀ δ_{t + 1}<br>"
             f"‖δ_{t}‖ = {nd:.3g}  (direct {ndir:.3g}, through J {nj:.3g})")
            for t, nh, nd, ndir, nj in zip(ts, w["norm_h"], w["norm_delta"], w["norm_direct"], w["norm_through_J"])]
    color = np.where(np.isfinite(ld), ld, lo_d)
    fig["data"].append(trace("scatter", x=ts, y=np.full(ts.size, Y["h"]), mode="markers", text=text,
                             hovertemplate="%{text}<extra></extra>", showlegend=False,
                             marker=dict(size=20, color=color, colorscale=SEQ, cmin=lo_d, cmax=hi_d,
                                         line=dict(width=1.5, color="#333"),
                                         colorbar=dict(title=dict(text="‖δ_t‖"), tickvals=tv, ticktext=tt,
                                                       len=0.8))))
    h_trace = len(fig["data"]) - 1

    for c in cut_positions(rec.scheme, T):
        if start - 0.5 <= c <= stop - 0.5:
            ref_line(fig, x=c, color=COLORS["red"], width=3, dash="dash")
    labels = {"x": "x_t", "h": "h_t", "c": "c_t", "y": "y_t", "L": "ℓ_t"}
    axis(fig, "yaxis", tickvals=[Y[k] for k in labels if k != "c" or lstm],
                     ticktext=[labels[k] for k in labels if k != "c" or lstm], range=[-0.5, max(Y.values()) + 0.5],
                     showgrid=False, zeroline=False)
    axis(fig, "xaxis", range=[start - 0.7, stop - 0.3], showgrid=False)

    fig = style(fig, x="timestep t", height=520 if lstm else 470, projector=projector, legend=False)
    if not (animate and ts.size > 1):
        return fig, w.reset_index(drop=True)
    # Frames and slider steps go straight into the figure's dict: letting Plotly validate ~50 frames costs
    # ~150 ms, the plain dicts nothing. Each frame re-colours only the h_t trace.
    d = fig
    d["layout"]["margin"] = {**d["layout"]["margin"], "b": 190}
    n = ts.size
    frames = []
    for j in range(n + 1):               # a frame carries only the opacities; Plotly merges it into the h_t trace
        reached = ts >= ts[-1] - j + 1 if j else np.zeros(n, dtype=bool)
        frames.append({"name": str(j), "traces": [h_trace],
                       "data": [{"type": "scatter", "marker": {"opacity": np.where(reached, 1.0, 0.12)}}]})
    d["frames"] = frames
    dur = max(40, 2400 // n)
    d["layout"]["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0.0, "y": -0.24, "xanchor": "left", "yanchor": "top",
        "pad": {"r": 10, "t": 10}, "font": {"size": 16},
        "buttons": [
            {"label": "▶ play", "method": "animate", "args": [None, {"frame": {"duration": dur, "redraw": True},
                                                                    "fromcurrent": True, "transition": {"duration": 0}}]},
            {"label": "❚❚ pause", "method": "animate", "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                                                        "mode": "immediate"}]}]}]
    d["layout"]["sliders"] = [{
        "active": n, "x": 0.22, "len": 0.78, "y": -0.2, "yanchor": "top",
        "currentvalue": {"prefix": "backward steps done: ", "font": {"size": 16}, "xanchor": "left"},
        "steps": [{"label": str(j), "method": "animate",
                   "args": [[str(j)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}]}
                  for j in range(n + 1)]}]
    return d, w.reset_index(drop=True)
