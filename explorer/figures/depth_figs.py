"""Charts of the gradient through time and depth in a stacked network (issue #17): log10 ‖δ_t^{(l)}‖ over the
layers × time grid with the shortest-path lengths from the last loss drawn on it, ‖δ^{(l)}‖ against the lag from
the last loss (one line per layer), and single-layer against stacked networks of the same parameter count.
Each builder returns (figure dict, DataFrame of exactly what is drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..depth_paths import shortest_path_length
from .style import COLORS, SEQ, axis, figure, gaps, log_axis, log_ticks, safe_log10, style, trace

LAYER_COLORS = [COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["purple"], COLORS["red"]]
LAYER_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]                # told apart without colour
LAYER_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x"]


def path_levels(T: int, L: int, n_lines: int = 8) -> np.ndarray:
    """The shortest-path lengths drawn as iso-lines: multiples of a round step from 0 (the loss's own node), at
    most n_lines + 1 of them up to the largest length (T − 1) + (L − 1)."""
    top = (T - 1) + (L - 1)
    raw = max(1.0, top / n_lines)
    mag = 10 ** np.floor(np.log10(raw))
    step = int(next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw))
    return np.arange(0, top + 1, step)


def layer_time_heatmap(rec, *, projector=False):
    """log10 ‖δ_t^{(l)}‖ over (timestep t × layer l), layer 0 at the bottom, with dashed iso-lines of the
    shortest-path length n(t, l) = (T − 1 − t) + (L − 1 − l) from ℓ_{T−1} at the top layer's last step.
    rec: a GradientRecord of a unidirectional stack (or one layer); z = log10 rec.delta_norms_by_layer (L, T)."""
    norms = rec.delta_norms_by_layer                          # (L, T)
    L, T = norms.shape
    t, layers = np.arange(T), np.arange(L)
    z = safe_log10(norms)
    fin = np.isfinite(z)
    lo, hi = (float(np.nanmin(z)), float(np.nanmax(z))) if fin.any() else (-1.0, 1.0)
    lo = max(lo, hi - 30)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    tv, tt = log_ticks(lo, hi)
    n = shortest_path_length(t[None, :], layers[:, None], T, L)
    fig = figure(trace("heatmap", z=z, x=t, y=layers, colorscale=SEQ, zmin=lo, zmax=hi, customdata=n,
                       colorbar=dict(title=dict(text="‖δ<sub>t</sub><sup>(l)</sup>‖"), tickvals=tv, ticktext=tt),
                       hovertemplate="t=%{x}, layer l=%{y}<br>log10 ‖δ‖=%{z:.2f}<br>shortest path from ℓ_T−1: "
                                     "%{customdata} Jacobians<extra></extra>"))
    # the iso-line n(t, l) = d runs through the cell centres (T − 1 − d + L − 1 − l, l): one step left per layer
    # up; drawn from the bottom edge of row 0 to the top edge of row L − 1 and labelled where it leaves the top
    xs, ys, labels = [], [], []
    for d in path_levels(T, L):
        if d > T - 1:                                          # it would only cross the top-left corner
            continue
        t_bottom, t_top = T - 1 - d + L - 1, T - 1 - d
        xs += [t_bottom + 0.5, t_top - 0.5, np.nan]
        ys += [-0.5, L - 0.5, np.nan]
        labels.append((t_top - 0.5, int(d)))
    fig["data"].append(trace("scatter", x=xs, y=ys, mode="lines", line=dict(color="white", width=2, dash="dash"),
                             hoverinfo="skip", showlegend=False))
    fig["layout"]["annotations"] = [dict(x=x, y=L - 0.5, text=f"n={d}", showarrow=False, yanchor="bottom",
                                         font=dict(size=15), bgcolor="rgba(255,255,255,0.8)") for x, d in labels]
    axis(fig, "xaxis", range=[-0.5, T - 0.5])
    # ticks are the layer numbers alone (the axis title names them), the top one marked: it feeds y_t
    axis(fig, "yaxis", tickvals=list(layers), ticktext=[f"{l} (top)" if l == L - 1 and L > 1 else str(l)
                                                        for l in layers], range=[-0.5, L - 0.5 + 0.6],
         automargin=True, ticklabelstandoff=8)
    df = pd.DataFrame(norms, index=pd.Index(layers, name="layer"), columns=[f"t{k}" for k in t])
    fig = style(fig, x="timestep t", y="layer l (0 reads x_t)", height=220 + 55 * L, projector=projector,
                legend=False)
    fig["layout"]["margin"]["l"] = 130                        # room for "2 (top)" beside the axis title
    axis(fig, "yaxis", title={"text": "layer l (0 reads x_t)", "standoff": 14})
    return fig, df


def layer_lag_lines(lag_norms: np.ndarray, *, projector=False):
    """‖δ_{T−1−ℓ}^{(l)}‖ of the last-step loss against the lag ℓ, one line per layer (differing by colour, dash
    and marker) on a log axis. lag_norms: (L, T), row l read from the last step back (explorer.depth_paths
    .lag_by_layer)."""
    L, T = lag_norms.shape
    lag = np.arange(T)
    fig = figure()
    sizes = np.where(lag % max(1, T // 20) == 0, 8, 0)        # a marker every few lags: one per lag hides the dash
    for l in range(L - 1, -1, -1):
        fig["data"].append(trace("scatter", x=lag, y=gaps(lag_norms[l]), mode="lines+markers",
                                 name=f"layer {l}" + (" (top)" if l == L - 1 else ""),
                                 line=dict(width=3, color=LAYER_COLORS[l % 5], dash=LAYER_DASHES[l % 5]),
                                 marker=dict(size=sizes, symbol=LAYER_SYMBOLS[l % 5])))
    log_axis(fig, lag_norms)
    df = pd.DataFrame({"lag": lag, **{f"norm_layer{l}": lag_norms[l] for l in range(L)}})
    return style(fig, x="lag ℓ (steps back from the last step T − 1)", y="‖∂ℓ<sub>T−1</sub>/∂h<sub>T−1−ℓ</sub><sup>(l)</sup>‖ (log)",
                 projector=projector), df


def same_budget_lines(profiles, *, projector=False):
    """‖∂ℓ_{T−1}/∂x_{T−1−ℓ}‖ (the last loss's gradient with respect to the input ℓ steps back) against the lag,
    one line per network: profiles is a list of (name, values (T,)) with values read from the last step back."""
    fig = figure()
    lag = np.arange(len(profiles[0][1])) if profiles else np.arange(0)
    for i, (name, v) in enumerate(profiles):
        fig["data"].append(trace("scatter", x=lag, y=gaps(v), mode="lines+markers", name=name,
                                 line=dict(width=3, color=LAYER_COLORS[i % 5], dash=LAYER_DASHES[i % 5]),
                                 marker=dict(symbol=LAYER_SYMBOLS[i % 5],
                                             size=np.where(lag % max(1, len(lag) // 20) == 0, 8, 0))))
    log_axis(fig, np.concatenate([v for _, v in profiles]) if profiles else [1.0])
    df = pd.DataFrame({"lag": lag, **{name: v for name, v in profiles}})
    return style(fig, x="lag ℓ (steps back from the last step T − 1)", y="‖∂ℓ<sub>T−1</sub>/∂x<sub>T−1−ℓ</sub>‖ (log)",
                 projector=projector), df
