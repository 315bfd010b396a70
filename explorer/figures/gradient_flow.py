"""Charts of where the gradient goes: ‖δ_t‖ over time, δ_t per unit, Pascanu's G[t, k], the per-step terms of
∂L/∂W_hh and connectivity. Each builder returns (figure, DataFrame of exactly what is drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .style import COLORS, SEQ, axis, figure, gaps, log_axis, log_ticks, safe_log10, style, trace


def delta_norms(rec, *, projector=False):
    """‖δ_t‖ = ‖∂L/∂h_t‖ against t on a log axis (and ‖∂L/∂c_t‖ for an LSTM)."""
    t = np.arange(rec.T)
    df = pd.DataFrame({"t": t, "norm_dL_dh": rec.delta_norms})
    fig = figure(trace("scatter", x=t, y=gaps(rec.delta_norms), mode="lines+markers", name="‖∂L/∂h_t‖",
                       line=dict(width=3, color=COLORS["blue"]), marker=dict(size=5)))
    if rec.delta_c_norms is not None:
        df["norm_dL_dc"] = rec.delta_c_norms
        fig["data"].append(trace("scatter", x=t, y=gaps(rec.delta_c_norms), mode="lines",
                                 name="‖∂L/∂c_t‖ (cell state)", line=dict(width=3, dash="dash", color=COLORS["orange"])))
    log_axis(fig, df.drop(columns="t").to_numpy())
    return style(fig, x="timestep t", y="‖δ_t‖ (gradient norm, log scale)", projector=projector), df


def delta_heatmap(rec, *, max_t: int = 200, max_units: int = 64, projector=False):
    """log10 |δ_t,i| over (timestep × hidden unit), downsampled to at most max_t × max_units cells."""
    d = np.abs(rec.delta_h[:, 0, :])
    T, H = d.shape
    ts = np.unique(np.linspace(0, T - 1, min(T, max_t)).astype(int))
    us = np.arange(min(H, max_units))
    z = safe_log10(d[np.ix_(ts, us)]).T.astype(np.float32)
    lo, hi = np.nanmin(z) if np.isfinite(z).any() else -1, np.nanmax(z) if np.isfinite(z).any() else 1
    tv, tt = log_ticks(lo, hi)
    fig = figure(trace("heatmap", z=z, x=ts, y=us, colorscale=SEQ, zmin=lo, zmax=hi,
                       colorbar=dict(title=dict(text="|δ|"), tickvals=tv, ticktext=tt),
                       hovertemplate="t=%{x}<br>unit %{y}<br>log10|δ|=%{z:.2f}<extra></extra>"))
    df = pd.DataFrame(d[np.ix_(ts, us)], index=pd.Index(ts, name="t"), columns=[f"unit{u}" for u in us])
    note = f" (first {len(us)} of {H} units)" if H > len(us) else ""
    return style(fig, x="timestep t", y=f"hidden unit i{note}", projector=projector, legend=False), df


def contribution_map(G: np.ndarray, mask: np.ndarray | None = None, *, lag: int | None = None, max_t: int = 300,
                     projector=False):
    """log10 G[t, k] for k ≤ t; where the truncation mask is 0 the cell is greyed and marked 'cut'. With `lag`,
    the diagonal k = t − lag is drawn (purple, long-dashed, labelled): no term left of it is within `lag` steps
    of its loss."""
    T = G.shape[0]
    idx = np.unique(np.linspace(0, T - 1, min(T, max_t)).astype(int))
    Gs = G[np.ix_(idx, idx)]
    z = safe_log10(Gs).astype(np.float32)
    z[np.triu_indices(len(idx), 1)] = np.nan
    fin = np.isfinite(z)
    lo, hi = (np.nanmin(z), np.nanmax(z)) if fin.any() else (-1.0, 1.0)
    lo = max(lo, hi - 30)                                  # 30 decades are plenty; the rest saturates
    tv, tt = log_ticks(lo, hi)
    fig = figure(trace("heatmap", z=z, x=idx, y=idx, colorscale=SEQ, zmin=lo, zmax=hi,
                       colorbar=dict(title=dict(text="G[t,k]"), tickvals=tv, ticktext=tt),
                       hovertemplate="loss at t=%{y}<br>W_hh used at k=%{x}<br>log10 G=%{z:.2f}<extra></extra>"))
    df = pd.DataFrame(Gs, index=pd.Index(idx, name="t"), columns=[f"k{k}" for k in idx])
    if mask is not None:
        M = mask[np.ix_(idx, idx)]
        has_loss = (np.nan_to_num(Gs) > 0).any(axis=1, keepdims=True)     # rows without a loss have nothing to cut
        cut = np.where((M == 0) & np.tril(np.ones_like(M, dtype=bool)) & has_loss, 1.0, np.nan).astype(np.float32)
        fig["data"].append(trace("heatmap", z=cut, x=idx, y=idx, colorscale=[[0, "rgba(120,120,120,0.75)"],
                                                                          [1, "rgba(120,120,120,0.75)"]],
                                 showscale=False, hovertemplate="cut by truncation<extra></extra>"))
    if lag is not None and 0 <= lag < T:
        fig["data"].append(trace("scatter", x=[0, T - 1 - lag], y=[lag, T - 1], mode="lines+text", name=f"lag {lag}",
                                 line=dict(color=COLORS["purple"], width=4, dash="longdash"),
                                 text=["", f"lag K = {lag}"], textposition="top left", textfont=dict(size=17),
                                 hovertemplate=f"k = t − {lag}<extra></extra>"))
    axis(fig, "yaxis", autorange="reversed")
    return style(fig, x="k: step whose use of W_hh is credited", y="t: step of the loss ℓ_t", height=520,
                 projector=projector, legend=False), df


def step_terms(rec, *, projector=False):
    """‖per-step term of ∂L/∂W_hh‖ against t: the sum over t of these matrices is the gradient."""
    name = rec.trace.model.cell.recurrent_term_name()
    v = rec.term_norms[name]
    t = np.arange(rec.T)
    fig = figure(trace("bar", x=t, y=gaps(v), marker=dict(color=COLORS["green"]), name=f"‖term_t of ∂L/∂{name}‖"))
    log_axis(fig, v)
    df = pd.DataFrame({"t": t, f"norm_term_{name}": v, "norm_term_W_xh": rec.term_norms["W_xh"]})
    return style(fig, x="timestep t", y=f"‖term of ∂L/∂{name}‖ (log)", projector=projector, legend=False), df


def connectivity(conn_row: np.ndarray, *, projector=False):
    """‖∂ℓ_t/∂x_(t−ℓ)‖ for the last loss t against the lag ℓ (log scale)."""
    n = np.where(np.isfinite(conn_row))[0]
    last = n[-1] if n.size else 0
    k = np.arange(last + 1)
    lag = last - k
    v = conn_row[: last + 1]
    fig = figure(trace("scatter", x=lag, y=gaps(v), mode="lines+markers", line=dict(width=3, color=COLORS["purple"]),
                       marker=dict(size=5), name="‖∂ℓ_T/∂x_k‖"))
    log_axis(fig, v)
    df = pd.DataFrame({"k": k, "lag": lag, "norm_dlT_dxk": v})
    return style(fig, x="lag ℓ (steps back from the last loss t)", y="‖∂ℓ_t/∂x_(t−ℓ)‖ (log)", projector=projector,
                 legend=False), df
