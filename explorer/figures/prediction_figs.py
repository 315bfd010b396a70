"""The class's predictions as a histogram, with the true value once it is revealed (predict, then reveal).
Returns (figure dict, DataFrame of what is drawn) like every builder."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .style import COLORS, axis, figure, log_ticks, ref_line, style, trace


def prediction_histogram(values, *, kind: str, options=(), lo: float | None = None, hi: float | None = None,
                         log: bool = False, truth=None, bins: int = 12, unit: str = "", projector=False):
    """Choice questions: one bar per option (the true one hatched and labelled "true answer", so it is told apart
    without colour). Number questions: `bins` equal bins over [lo, hi] (equal in log10 when `log`), with the true
    value as a dashed line labelled with its number."""
    if kind == "choice":
        counts = [sum(1 for v in values if v == o) for o in options]
        true = [o == truth for o in options]
        fig = figure(trace("bar", x=list(options), y=counts, name="predictions",
                           marker=dict(color=[COLORS["orange"] if t else COLORS["blue"] for t in true],
                                       pattern=dict(shape=["/" if t else "" for t in true]),
                                       line=dict(color="#222", width=1)),
                           text=[f"{c} · true answer" if t else str(c) for c, t in zip(counts, true)],
                           textposition="outside", hovertemplate="%{x}: %{y} predictions<extra></extra>"))
        axis(fig, "yaxis", rangemode="tozero", dtick=max(1, int(np.ceil(max(counts + [1]) / 6))))
        df = pd.DataFrame({"option": list(options), "predictions": counts, "true_answer": true})
        return style(fig, x="prediction", y="students", projector=projector, legend=False, height=340), df
    v = np.asarray([float(x) for x in values], dtype=float)
    # a log question is drawn on log10 of the value (linear bars), its ticks written as 1e-3, 1e2, …
    f = np.log10 if log else (lambda x: np.asarray(x, dtype=float))
    a, b = float(f(lo)), float(f(hi))
    edges = np.linspace(a, b, bins + 1)
    counts, _ = np.histogram(np.clip(f(np.clip(v, lo, hi)), a, b), bins=edges)
    back = (lambda x: 10.0 ** np.asarray(x)) if log else (lambda x: np.asarray(x))
    fig = figure(trace("bar", x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges) * 0.95,
                       name="predictions", marker=dict(color=COLORS["blue"], line=dict(color="#222", width=1)),
                       customdata=np.stack([back(edges[:-1]), back(edges[1:])], axis=1),
                       hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}: %{y}<extra></extra>"))
    if truth is not None:
        ref_line(fig, x=float(f(float(truth))), color=COLORS["red"], width=4, dash="dash",
                 text=f"true: {float(truth):.3g}")
    if log:
        tv, tt = log_ticks(a, b)
        axis(fig, "xaxis", tickvals=tv, ticktext=tt)
    axis(fig, "xaxis", range=[a, b])
    axis(fig, "yaxis", rangemode="tozero", dtick=max(1, int(np.ceil(max(counts.max(initial=0), 1) / 6))))
    df = pd.DataFrame({"bin_from": back(edges[:-1]), "bin_to": back(edges[1:]), "predictions": counts})
    what = ", ".join(filter(None, (unit, "log scale" if log else "")))
    return style(fig, x="prediction" + (f" ({what})" if what else ""), y="students", projector=projector,
                 legend=False, height=340), df


def prediction_on_scale(value=None, *, kind: str, options=(), lo: float | None = None, hi: float | None = None,
                        log: bool = False, unit: str = "", projector=False):
    """One student's prediction as a marker on the answer's scale (the x axis the class histogram will use: the
    options, or [lo, hi], in log10 when `log`), with no marker before a prediction. Drawn on the student's page
    while the question is open, so the page has its chart code before the reveal."""
    chosen = value is not None
    if kind == "choice":
        xs = list(options)
        mark = [xs.index(value)] if chosen and value in xs else []
        fig = figure(trace("scatter", x=xs, y=[0] * len(xs), mode="markers", name="options",
                           marker=dict(size=10, color="#bbb", line=dict(color="#222", width=1)), hoverinfo="x"))
        x_mark = [xs[i] for i in mark]
        df = pd.DataFrame({"option": xs, "your_prediction": [o == value for o in xs]})
    else:
        f = np.log10 if log else float
        a, b = float(f(lo)), float(f(hi))
        fig = figure(trace("scatter", x=[a, b], y=[0, 0], mode="lines", name="scale",   # the track the marker sits on
                           line=dict(color="#bbb", width=3), hoverinfo="skip"))
        x_mark = [float(f(min(max(float(value), lo), hi)))] if chosen else []
        if log:
            tv, tt = log_ticks(a, b)
            axis(fig, "xaxis", tickvals=tv, ticktext=tt)
        axis(fig, "xaxis", range=[a, b])
        df = pd.DataFrame({"your_prediction": [float(value)] if chosen else [], "scale_from": lo, "scale_to": hi})
    if x_mark:
        text = f"you: {value}" if kind == "choice" else f"you: {float(value):.3g}"
        fig["data"].append(trace("scatter", x=x_mark, y=[0], mode="markers+text", name="your prediction",
                                 marker=dict(symbol="diamond", size=20, color=COLORS["orange"],
                                             line=dict(color="#222", width=2)),
                                 text=[text], textposition="top center", textfont=dict(size=19), hoverinfo="skip"))
    axis(fig, "yaxis", visible=False, range=[-1, 1.6], fixedrange=True)
    axis(fig, "xaxis", fixedrange=True, showgrid=kind != "choice")
    what = ", ".join(filter(None, (unit, "log scale" if log else "")))
    fig = style(fig, x="prediction" + (f" ({what})" if what else ""), projector=projector, legend=False, height=150)
    fig["layout"]["margin"].update(t=10, b=60)
    return fig, df
