"""Live charts of a training run, from a list of `StepRecord`s: loss against the task's baseline, ‖g‖ before and
after clipping, the per-timestep gradient norm ‖δ_t‖ over training (timestep × update), ρ, σ₁ of W_hh, and the
truncation length K over updates (adaptive truncation, beside fixed TBPTT(K, K) runs).
Each builder returns (figure dict, DataFrame of exactly what is drawn)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .style import COLORS, SEQ, axis, figure, gaps, log_axis, log_ticks, ref_line, safe_log10, style, trace

MAX_POINTS = 1500          # longer histories are thinned (every k-th update) before they go to the browser


def history(records) -> pd.DataFrame:
    """One row per update (StepRecord.as_row)."""
    return pd.DataFrame([r.as_row() for r in records])


def _thin(df: pd.DataFrame) -> pd.DataFrame:
    k = int(np.ceil(len(df) / MAX_POINTS)) if len(df) else 1
    return df.iloc[::k] if k > 1 else df


def loss_curve(df: pd.DataFrame, *, task_label: str = "", projector=False):
    """Loss per supervised step against the update, with the task's trivial baseline dashed."""
    d = _thin(df)
    fig = figure(trace("scatter", x=d["step"], y=gaps(d["loss"]), mode="lines", name="loss",
                       line=dict(width=3, color=COLORS["blue"])))
    if len(df):
        ref_line(fig, y=float(df["baseline"].iloc[-1]), color=COLORS["grey"], dash="dash", width=3,
                 text=f"baseline {df['baseline'].iloc[-1]:.3g}" + (f" ({task_label})" if task_label else ""))
    axis(fig, "yaxis", rangemode="tozero")
    out = d[["step", "loss", "baseline"]]
    return style(fig, x="update", y="loss per supervised step", projector=projector, legend=False), out


def grad_norms(df: pd.DataFrame, *, clip: str = "off", threshold: float | None = None, projector=False):
    """‖g‖ before and after clipping (log), the threshold, and a mark at every update that clipped."""
    d = _thin(df)
    fig = figure(trace("scatter", x=d["step"], y=gaps(d["grad_norm"]), mode="lines", name="‖g‖ before clipping",
                       line=dict(width=2, color=COLORS["red"])))
    if clip != "off":
        fig["data"].append(trace("scatter", x=d["step"], y=gaps(d["grad_norm_clipped"]), mode="lines",
                                 name="‖g‖ after clipping", line=dict(width=3, color=COLORS["green"], dash="dash")))
        hit = d[d["clipped"]]
        fig["data"].append(trace("scatter", x=hit["step"], y=gaps(hit["grad_norm"]), mode="markers",
                                 name="clipped", marker=dict(size=7, symbol="x", color=COLORS["black"])))
        if clip == "norm" and threshold is not None:
            ref_line(fig, y=threshold, color=COLORS["black"], dash="dot", text=f"threshold θ = {threshold:g}")
    log_axis(fig, np.concatenate([d["grad_norm"].to_numpy(float), d["grad_norm_clipped"].to_numpy(float)]))
    return style(fig, x="update", y="‖∂L/∂θ‖ (log)", projector=projector), \
        d[["step", "grad_norm", "grad_norm_clipped", "clipped"]]


def delta_over_training(steps, snaps, *, max_cols: int = 300, projector=False):
    """log10 ‖δ_t‖ over (timestep t × update): where in the sequence the gradient lives, and how that changes as
    the network learns. snaps: one (T_i,) array per snapshot (lengths may differ, e.g. Reber strings: padded
    with NaN, drawn as gaps)."""
    steps = np.asarray(steps)
    T = max((len(v) for v in snaps), default=1)
    snaps = np.array([np.pad(np.asarray(v, dtype=float), (0, T - len(v)), constant_values=np.nan) for v in snaps]) \
        if len(snaps) else np.zeros((0, T))
    cols = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max_cols)).astype(int)) if len(steps) else []
    z = safe_log10(snaps[cols]).T.astype(np.float32) if len(cols) else np.zeros((1, 1), np.float32)
    fin = np.isfinite(z)
    lo, hi = (float(np.nanmin(z)), float(np.nanmax(z))) if fin.any() else (-1.0, 1.0)
    lo = max(lo, hi - 12)
    tv, tt = log_ticks(lo, hi)
    x = steps[cols] if len(cols) else [0]
    fig = figure(trace("heatmap", z=z, x=x, y=np.arange(z.shape[0]), colorscale=SEQ, zmin=lo, zmax=hi,
                       colorbar=dict(title=dict(text="‖δ_t‖"), tickvals=tv, ticktext=tt),
                       hovertemplate="update %{x}<br>t=%{y}<br>log10‖δ_t‖=%{z:.2f}<extra></extra>"))
    df = pd.DataFrame(snaps[cols] if len(cols) else np.zeros((0, 0)), index=pd.Index(x if len(cols) else [],
                                                                                        name="update"))
    df.columns = [f"t{t}" for t in range(df.shape[1])]
    return style(fig, x="update", y="timestep t", projector=projector, legend=False), df


def spectrum_over_training(df: pd.DataFrame, *, projector=False):
    """ρ and σ₁ of the recurrent matrix against the update, with the line 1 (the edge of stability)."""
    d = _thin(df)
    fig = figure(trace("scatter", x=d["step"], y=gaps(d["sigma1"]), mode="lines", name="σ₁ (largest singular value)",
                       line=dict(width=3, color=COLORS["orange"])),
                 trace("scatter", x=d["step"], y=gaps(d["rho"]), mode="lines", name="ρ (spectral radius)",
                       line=dict(width=3, color=COLORS["purple"], dash="dash")))
    ref_line(fig, y=1.0, color=COLORS["black"], dash="dot", text="1")
    return style(fig, x="update", y="ρ, σ₁ of the recurrent matrix", projector=projector), d[["step", "rho", "sigma1"]]


K_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
K_MARKERS = ("circle-open", "square-open", "diamond-open", "triangle-up-open", "x", "star-open")
K_COLORS = ("blue", "orange", "green", "purple", "red", "sky")


def k_over_updates(runs: dict[str, pd.DataFrame], *, refs: dict[str, float] | None = None, projector=False):
    """The truncation length K in force at each update: one step line per run (runs: name → a history with columns
    step, K, K_estimated, one row per update; a fixed TBPTT(K, K) run's K is constant and never estimated), the
    updates where K was estimated again as open markers, and labelled horizontal lines at refs (label → K in steps,
    e.g. the sequence length T). Runs differ by dash and marker shape, not by colour alone.

    The DataFrame (columns run, update, K, estimated) holds what is drawn: per run the updates where K changes, its
    first and last update, and the estimates (thinned to MAX_POINTS per run); K holds from a row to the next."""
    rows = []
    for name, h in runs.items():
        d = h[["step", "K", "K_estimated"]].dropna(subset=["K"])
        if d.empty:
            continue
        k = d["K"].to_numpy(float)
        est = d["K_estimated"].to_numpy(bool)
        change = np.r_[True, k[1:] != k[:-1]]
        change[-1] = True
        est_i = np.flatnonzero(est)
        est_i = est_i[::int(np.ceil(len(est_i) / MAX_POINTS))] if len(est_i) > MAX_POINTS else est_i
        keep = change.copy()
        keep[est_i] = True
        sub = d[keep]
        rows.append(pd.DataFrame({"run": name, "update": sub["step"].to_numpy(int), "K": sub["K"].to_numpy(int),
                                  "estimated": np.isin(np.flatnonzero(keep), est_i)}))
    out = (pd.concat(rows, ignore_index=True) if rows else
           pd.DataFrame({"run": pd.Series(dtype=str), "update": pd.Series(dtype=int), "K": pd.Series(dtype=int),
                         "estimated": pd.Series(dtype=bool)}))
    fig = figure()
    for i, name in enumerate(out["run"].unique()):
        d = out[out["run"] == name]
        color = COLORS[K_COLORS[i % len(K_COLORS)]]
        fig["data"].append(trace("scatter", x=d["update"], y=d["K"], mode="lines", name=name,
                                 line=dict(width=3, color=color, dash=K_DASHES[i % len(K_DASHES)], shape="hv"),
                                 hovertemplate="update %{x}<br>K = %{y}<extra>" + html.escape(name) + "</extra>"))
        e = d[d["estimated"]]
        if len(e):
            fig["data"].append(trace("scatter", x=e["update"], y=e["K"], mode="markers", name=f"{name}: K estimated",
                                     marker=dict(size=9 if len(e) <= 60 else 5, symbol=K_MARKERS[i % len(K_MARKERS)],
                                                 color=color,
                                                 line=dict(width=2, color=color))))
    top = max([float(out["K"].max()) if len(out) else 1.0] + [float(v) for v in (refs or {}).values()])
    above = None                                          # the label just drawn above its line, highest first
    for label, v in sorted((refs or {}).items(), key=lambda kv: -kv[1]):
        ref_line(fig, y=float(v), color=COLORS["grey"], dash="longdashdot", width=2, text=label)
        note = fig["layout"]["annotations"][-1]
        note["bgcolor"] = "rgba(255,255,255,0.8)"
        if above is not None and above - float(v) < 0.12 * top:       # too close: this one goes under its line
            note["yanchor"] = "top"
            above = None
        else:
            above = float(v)
    axis(fig, "yaxis", range=[0, 1.12 * top])
    if len(out) and out["update"].max() - out["update"].min() <= 10:
        axis(fig, "xaxis", dtick=1)                        # a few updates: whole numbers, not 1.5
    lay = fig["layout"]
    lay["legend"] = dict(orientation="h", yanchor="top", y=-0.22, x=0)
    lay["margin"] = {"b": 110}
    return style(fig, x="update", y="K (steps backpropagated)", projector=projector, height=470), out


def text_activations(text: str, values: np.ndarray) -> str:
    """HTML: each character of `text` on a background coloured by one hidden unit's value in [−1, 1]
    (blue negative, red positive), as in Karpathy's 'Visualizing and understanding recurrent networks'."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=float)), -1, 1)
    spans = []
    for ch, a in zip(text, v):
        rgb = (214, 96, 77) if a > 0 else (67, 147, 195)
        c = html.escape(ch).replace("\n", "↵<br>").replace(" ", "&nbsp;")
        spans.append(f'<span style="background:rgba({rgb[0]},{rgb[1]},{rgb[2]},{abs(a):.2f})">{c}</span>')
    return ('<div style="font-family:monospace;font-size:1.15rem;line-height:1.7;word-break:break-all">'
            + "".join(spans) + "</div>")
