"""Charts for the cost lesson: time and memory of BPTT, TBPTT, checkpointed BPTT and RTRL against T and H on
log–log axes (the fitted slope, i.e. the measured exponent, in the legend), and checkpointing's time/memory
trade-off with Gruslys et al.'s headline point. Inputs are `explorer.cost` results."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..cost import ALGORITHMS, FIT_FROM_H, FIT_FROM_T, label, slope_text, slopes
from .style import COLORS, axis, figure, log_axis, ref_line, style, trace

COLOR = {"bptt": COLORS["blue"], "tbptt": COLORS["orange"], "checkpointed": COLORS["green"], "rtrl": COLORS["red"]}
SYMBOL = {"bptt": "circle", "tbptt": "square", "checkpointed": "diamond", "rtrl": "triangle-up"}


def frame(measurements) -> pd.DataFrame:
    """One row per measurement (explorer.cost.Measurement)."""
    return pd.DataFrame([dict(algorithm=m.algorithm, T=m.T, H=m.H, seconds=m.seconds,
                              seconds_per_step=m.seconds_per_step, peak_floats=m.peak_floats, ran=m.repeats > 0,
                              repeats=m.repeats) for m in measurements])


def _line(a: str, x, y, name: str, hover: str, dash: str = "solid") -> dict:
    return trace("scatter", x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float), mode="lines+markers",
                 name=name, line=dict(width=4, color=COLOR[a], dash=dash),
                 marker=dict(size=10, symbol=SYMBOL[a], line=dict(width=1, color="white")),
                 hovertemplate=hover + "<extra>" + label(a) + "</extra>")


def _loglog(measurements, xcol: str, ycol: str, *, x: str, y: str, hover: str, projector: bool,
            fit_from: dict | None = None):
    """One line per algorithm, its fitted slope (explorer.cost.slopes over x ≥ fit_from) in the legend and, where
    the fit leaves points out, the fitted stretch shaded."""
    df = frame(measurements)
    fits = slopes(measurements, xcol, ycol, fit_from)
    fig = figure()
    for a in ALGORITHMS:
        d = df[(df["algorithm"] == a) & np.isfinite(df[ycol])]
        if d.empty:
            continue
        s, c, lo = fits[a]
        f = d[d[xcol] >= lo]
        name = f"{label(a)}: slope {slope_text(s)}" + (f" ({xcol} ≥ {lo})" if lo > d[xcol].min() else "")
        fig["data"].append(_line(a, d[xcol], d[ycol], name, hover))
        if np.isfinite(s) and lo > d[xcol].min():                   # show which points the slope comes from
            xs = f[xcol].to_numpy(dtype=float)
            fig["data"].append(trace("scatter", x=xs, y=10 ** c * xs ** s, mode="lines", showlegend=False,
                                     hoverinfo="skip", line=dict(width=10, color=COLOR[a]), opacity=0.25))
    log_axis(fig, df[xcol], name="xaxis")
    log_axis(fig, df[ycol])
    style(fig, x=x, y=y, height=470, projector=projector)
    axis(fig, "xaxis", title={"standoff": 8})
    fig["layout"]["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left")
    return fig, df


def time_vs_T(measurements, *, fit_from: dict = FIT_FROM_T, projector=False):
    """Seconds per gradient against T (fixed H), one line per algorithm; RTRL only where it was run. Slopes are
    fitted over T ≥ fit_from (shaded), past a call's fixed cost."""
    fig, df = _loglog(measurements, "T", "seconds", x="sequence length T (steps)",
                      y="time per gradient (CPU seconds)", hover="T = %{x}<br>%{y:.3g} s", projector=projector,
                      fit_from=fit_from)
    return fig, df[["algorithm", "T", "H", "seconds", "repeats"]]


def time_vs_H(measurements, *, fit_from: dict = FIT_FROM_H, projector=False):
    """Seconds per time step against H (fixed T), slopes fitted where the matmuls dominate (H ≥ fit_from)."""
    fig, df = _loglog(measurements, "H", "seconds_per_step", x="hidden units H",
                      y="time per step (CPU seconds)", hover="H = %{x}<br>%{y:.3g} s per step",
                      projector=projector, fit_from=fit_from)
    return fig, df[["algorithm", "T", "H", "seconds", "seconds_per_step", "repeats"]]


def memory_vs_T(measurements, *, fit_from: dict = FIT_FROM_T, projector=False):
    """Peak stored floats against T (fixed H); slopes over T ≥ fit_from (past TBPTT's k2, for one)."""
    fig, df = _loglog(measurements, "T", "peak_floats", x="sequence length T (steps)", y="peak stored floats",
                      hover="T = %{x}<br>%{y:,.0f} floats", projector=projector, fit_from=fit_from)
    return fig, df[["algorithm", "T", "H", "peak_floats", "ran"]]


def tradeoff(tr, current, headline, *, projector=False):
    """Checkpointing at T = tr.T: time against memory, both relative to plain BPTT; the current budget, the
    operation-count model and the published headline point."""
    pts = sorted(tr.points, key=lambda p: p.memory_ratio)
    mem = np.array([p.memory_ratio for p in pts])
    tim = np.array([p.time_ratio for p in pts])
    counted = np.array([p.counted_time_ratio for p in pts])
    bud = np.array([p.budget for p in pts])
    hov = "budget %{text} steps<br>memory %{x:.1%} of plain<br>time %{y:.2f}× plain"
    fig = figure(
        trace("scatter", x=mem, y=counted, mode="lines", name="counted: 1 + extra/(3T) (backward = 2 forwards)",
              line=dict(width=3, dash="dash", color=COLORS["grey"]), hoverinfo="skip"),
        trace("scatter", x=mem, y=tim, mode="lines+markers", name="measured here", text=bud, hovertemplate=hov +
              "<extra></extra>", line=dict(width=4, color=COLORS["blue"]), marker=dict(size=10)),
        trace("scatter", x=[1.0], y=[1.0], mode="markers", name=f"plain BPTT (stores all {tr.T} steps)",
              marker=dict(size=14, color=COLORS["black"]), hoverinfo="skip"),
        trace("scatter", x=[headline.memory_ratio], y=[headline.time_ratio], mode="markers+text",
              name=f"Gruslys et al. 2016 (T = {headline.T})", text=["Gruslys et al. 2016"],
              textposition="top right", marker=dict(size=22, symbol="star", color=COLORS["red"],
                                                    line=dict(width=1, color="black")),
              hovertemplate=f"published: {headline.summary()}<extra></extra>"),
        trace("scatter", x=[current.memory_ratio], y=[current.time_ratio], mode="markers",
              name=f"your budget: {current.budget} steps", text=[current.budget], hovertemplate=hov + "<extra></extra>",
              marker=dict(size=20, symbol="circle-open", color=COLORS["orange"], line=dict(width=5))))
    ref_line(fig, y=1.0, color=COLORS["grey"])                  # plain BPTT's time (the black dot's level)
    ys = np.concatenate([tim, counted, [current.time_ratio, headline.time_ratio, 1.0]])
    ys = ys[np.isfinite(ys)]
    axis(fig, "yaxis", range=[min(0.8, float(ys.min()) - 0.1), float(ys.max()) + 0.25])
    log_axis(fig, np.concatenate([mem, [headline.memory_ratio, 1.0]]), name="xaxis")
    axis(fig, "xaxis", tickformat=".0%", dtick=None, tickvals=[0.03, 0.05, 0.1, 0.2, 0.5, 1.0],
         range=[np.log10(0.025), np.log10(1.25)])
    style(fig, x=f"peak memory, relative to plain BPTT (log scale; T = {tr.T}, H = {tr.H})",
          y="time, relative to plain BPTT (×)", height=520, projector=projector)
    fig["layout"]["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left")
    df = pd.DataFrame({"budget_steps": [p.budget for p in tr.points], "segment_L": [p.segment for p in tr.points],
                       "peak_stored_steps": [p.peak_stored_steps for p in tr.points],
                       "peak_floats": [p.peak_floats for p in tr.points],
                       "extra_forward_steps": [p.extra_forward_steps for p in tr.points],
                       "seconds": [p.seconds for p in tr.points],
                       "memory_ratio": [p.memory_ratio for p in tr.points],
                       "time_ratio": [p.time_ratio for p in tr.points],
                       "counted_time_ratio": [p.counted_time_ratio for p in tr.points]})
    return fig, df
