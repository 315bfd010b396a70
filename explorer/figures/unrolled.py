"""The network unrolled over time, with the backward pass drawn on it.

Rows: inputs x_t, hidden states h_t (and cell states c_t), outputs y_t, losses ℓ_t. Each h_t is coloured by
log10 ‖δ_t‖ = log10 ‖∂L/∂h_t‖; each recurrent edge h_t → h_{t+1} by the gradient it carries backwards,
‖J_{t+1}ᵀ δ_{t+1}‖. Plotly frames animate δ travelling back from the last step, in the browser (play / pause /
step with the frame slider), and dashed red lines mark where the truncation scheme cuts the backward pass.
Hovering an h_t shows δ_t = W_hyᵀ ∂ℓ_t/∂y_t + J_{t+1}ᵀ δ_{t+1} with the numbers of that step.

A stacked network (L > 1 layers, explorer.stacked) is drawn as a grid by `stacked_graph`: layers × time, the
gradient reaching h_t^{(l)} along horizontal (time) and vertical (depth) edges.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..bptt import step_norms
from ..depth_paths import layer_step_norms, shortest_path_length
from ..norms import frobenius
from ..sweeps import cut_positions, layer_grid
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


def layer_numbers(rec, start: int = 0, stop: int | None = None) -> pd.DataFrame:
    """Per (layer, step) of sequence 0, steps start … stop−1: ‖δ_t^{(l)}‖, what arrives from above (the readout's
    W_hyᵀ ∂ℓ_t/∂y_t at the top layer, W_xh^{(l+1)ᵀ} dA_ih,t^{(l+1)} below it) and what arrives through time,
    ‖J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)}‖ (explorer.depth_paths.layer_step_norms), with the shortest-path length from
    ℓ_{T−1} (explorer.depth_paths.shortest_path_length). One row per node, layer 0 first."""
    n = layer_step_norms(rec)
    L, T = n["norm_delta"].shape
    stop = T if stop is None else min(stop, T)
    ts = np.arange(start, stop)
    rows = {"layer": np.repeat(np.arange(L), ts.size), "t": np.tile(ts, L)}
    rows.update({k: n[k][:, start:stop].ravel() for k in ("norm_delta", "norm_direct", "norm_through_J")})
    rows["path_length"] = shortest_path_length(rows["t"], rows["layer"], T, L)
    return pd.DataFrame(rows)


def stacked_graph(rec, *, start: int = 0, stop: int | None = None, projector=False):
    """Steps start … stop−1 of an L-layer stack unrolled as a grid, layers × time: rows x_t, h_t^{(0)} (bottom) …
    h_t^{(L−1)} (top), y_t, ℓ_t. Each h_t^{(l)} is coloured by log10 ‖δ_t^{(l)}‖ (one colour bar, as the
    single-layer graph's); each horizontal edge h_t^{(l)} → h_{t+1}^{(l)} by ‖J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)}‖, the
    gradient it carries back in time, and each vertical edge h_t^{(l)} → h_t^{(l+1)} by what it carries down,
    W_xh^{(l+1)ᵀ} dA_ih,t^{(l+1)} — width and shade in six bins over one log range shared by both kinds of edge.
    Dashed red lines mark the truncation's cuts. Returns (figure dict, layer_numbers of the window)."""
    T = rec.T
    stop = T if stop is None else min(stop, T)
    start = max(0, min(start, stop - 1))
    df = layer_numbers(rec, start, stop)
    L = int(df["layer"].max()) + 1
    ts = np.arange(start, stop)
    Y = {"x": 0.0, **{("h", l): 1.0 + l for l in range(L)}, "y": L + 0.9, "L": L + 1.8}
    nd = df["norm_delta"].to_numpy().reshape(L, ts.size)
    down = df["norm_direct"].to_numpy().reshape(L, ts.size)           # row l: what arrives at h^(l) from above
    through = df["norm_through_J"].to_numpy().reshape(L, ts.size)
    g = layer_grid(rec)                                   # the edges' values, as the live grid (ui/scrub) draws them
    fig = figure()

    # forward structure that carries no per-layer gradient here: x_t → h_t^(0), h_t^(L−1) → y_t → ℓ_t
    seg_x, seg_y = [], []
    for t in ts:
        for a, b in (("x", ("h", 0)), (("h", L - 1), "y"), ("y", "L")):
            seg_x += [t, t, np.nan]
            seg_y += [Y[a] + 0.14, Y[b] - 0.14, np.nan]
    fig["data"].append(trace("scatter", x=seg_x, y=seg_y, mode="lines", line=dict(color="#bbbbbb", width=2),
                             hoverinfo="skip", showlegend=False))

    # the edges that carry δ: time (h_t^(l) → h_{t+1}^(l), what it carries back to step t) and depth (h_t^(l) →
    # h_t^(l+1), what it carries down to h_t^(l)), binned on one log range
    t_val = safe_log10(g["time"][:, start:stop - 1])
    d_val = safe_log10(g["depth"][:, start:stop])
    both = np.concatenate([t_val.ravel(), d_val.ravel()])
    fin = both[np.isfinite(both)]
    lo, hi = (fin.min(), fin.max()) if fin.size else (0.0, 1.0)
    edges = np.linspace(lo, hi + 1e-9, N_BINS + 1)
    for k in range(N_BINS):
        ex, ey = [], []
        for l in range(L):
            sel = np.flatnonzero((np.clip(np.digitize(t_val[l], edges) - 1, 0, N_BINS - 1) == k)
                                 & np.isfinite(t_val[l]))
            for j in sel:
                ex += [ts[j] + 0.18, ts[j] + 0.82, np.nan]
                ey += [Y[("h", l)], Y[("h", l)], np.nan]
            if l < L - 1:
                sel = np.flatnonzero((np.clip(np.digitize(d_val[l], edges) - 1, 0, N_BINS - 1) == k)
                                     & np.isfinite(d_val[l]))
                for j in sel:
                    ex += [ts[j], ts[j], np.nan]
                    ey += [Y[("h", l)] + 0.2, Y[("h", l + 1)] - 0.2, np.nan]
        fig["data"].append(trace("scatter", x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color=_BIN_COLORS[k], width=3 + 2 * k)))

    w = step_numbers(rec).iloc[start:stop]

    def nodes(row, text, color, symbol="circle", size=15):
        fig["data"].append(trace("scatter", x=ts, y=np.full(ts.size, Y[row]), mode="markers", marker=dict(
            size=size, color=color, symbol=symbol, line=dict(width=1.5, color="#333")), text=text,
            hovertemplate="%{text}<extra></extra>", showlegend=False))

    nodes("x", [f"x_{t}: input" for t in ts], "#f0f0f0", "square")
    nodes("y", [f"y_{t} = W_hy h_{t}^({L - 1}) + b_y" for t in ts], "#f0f0f0", "diamond")
    nodes("L", [f"ℓ_{t} = {v:.3g}" if m else f"ℓ_{t}: no target here" for t, v, m in
                zip(ts, w["loss"], w["target"])], np.where(w["target"], COLORS["orange"], "#ffffff"), "triangle-up")

    ld = safe_log10(nd)
    lo_d, hi_d = (np.nanmin(ld), np.nanmax(ld)) if np.isfinite(ld).any() else (-1.0, 1.0)
    if hi_d - lo_d < 1e-9:
        lo_d, hi_d = lo_d - 0.5, hi_d + 0.5
    tv, tt = log_ticks(lo_d, hi_d)
    path = df["path_length"].to_numpy().reshape(L, ts.size)
    xs, ys, cs, text = [], [], [], []
    for l in range(L):
        came = "W_hyᵀ ∂ℓ_t/∂y_t" if l == L - 1 else f"W_xh^({l + 1})ᵀ dA_t^({l + 1}) (from layer {l + 1})"
        for j, t in enumerate(ts):
            xs.append(t)
            ys.append(Y[("h", l)])
            cs.append(ld[l, j] if np.isfinite(ld[l, j]) else lo_d)
            text.append(f"h_{t}^({l}):  ‖δ‖ = {nd[l, j]:.3g}<br>δ = {came} + J_{t + 1}^({l})ᵀ δ_{t + 1}^({l})<br>"
                        f"from above {down[l, j]:.3g}, through time {through[l, j]:.3g}<br>"
                        f"shortest path from ℓ_{T - 1}: {path[l, j]} Jacobians")
    fig["data"].append(trace("scatter", x=xs, y=ys, mode="markers", text=text, hovertemplate="%{text}<extra></extra>",
                             showlegend=False, marker=dict(size=14, color=cs, colorscale=SEQ, cmin=lo_d, cmax=hi_d,
                                                           line=dict(width=1.5, color="#333"),
                                                           colorbar=dict(title=dict(text="‖δ_t^(l)‖"), tickvals=tv,
                                                                         ticktext=tt, len=0.8))))
    for c in cut_positions(rec.scheme, T):
        if start - 0.5 <= c <= stop - 0.5:
            ref_line(fig, x=c, color=COLORS["red"], width=3, dash="dash")
    rows = ["x"] + [("h", l) for l in range(L)] + ["y", "L"]
    names = ["x_t"] + [f"h_t^({l})" for l in range(L)] + ["y_t", "ℓ_t"]
    axis(fig, "yaxis", tickvals=[Y[r] for r in rows], ticktext=names, range=[-0.5, Y["L"] + 0.5], showgrid=False,
         zeroline=False)
    axis(fig, "xaxis", range=[start - 0.7, stop - 0.3], showgrid=False)
    return style(fig, x="timestep t", height=330 + 70 * L, projector=projector, legend=False), df
