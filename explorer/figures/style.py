"""One look for every chart, and the small vocabulary the builders use to write Plotly figures as plain dicts.

Figures are plain JSON-ready dicts ({"data": [...], "layout": {...}}), not `go.Figure` objects: Plotly validates
every property of an object figure as it is built, which cost more server time per slider move than the engine
(py-spy). The tests turn each dict into `go.Figure(d)`, so every property is still validated — once, in CI.

`style(fig, ...)` applies the look: large fonts and thick lines that read from the back of a lecture hall;
`projector=True` makes everything larger still. Colours are colour-blind safe (Okabe–Ito)."""
from __future__ import annotations

import numpy as np

COLORS = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "red": "#D55E00", "purple": "#CC79A7",
          "sky": "#56B4E9", "yellow": "#F0E442", "grey": "#7F7F7F", "black": "#222222"}
# Colour scales are written out as stops, never named: plotly.js and plotly.py disagree on what some names mean
# (plotly.js's "RdBu" runs blue → red, plotly.py's red → blue), and the figures go to plotly.js as plain dicts.
SEQ = [[0.0, "#440154"], [0.125, "#472c7a"], [0.25, "#3b518b"], [0.375, "#2c718e"], [0.5, "#21908d"],
       [0.625, "#27ad81"], [0.75, "#5cc863"], [0.875, "#aadc32"], [1.0, "#fde725"]]       # viridis: dark → yellow
# Diverging, colour-blind safe (Okabe–Ito blue and vermilion around white): low values blue, high values orange-red.
DIVERGING_LOW, DIVERGING_HIGH = "blue", "orange-red"              # the words captions use for its two ends
DIVERGING = [[0.0, "#08306b"], [0.25, COLORS["blue"]], [0.5, "#f7f7f7"], [0.75, COLORS["orange"]],
             [1.0, COLORS["red"]]]


def _template(base: int) -> dict:
    axis = dict(showline=True, linewidth=2, linecolor="#444", gridcolor="#e6e6e6", zerolinecolor="#cccccc",
                ticks="outside", title=dict(font=dict(size=base + 1)), tickfont=dict(size=base - 2))
    return {"layout": dict(
        font=dict(size=base, family="Inter, Arial, sans-serif", color="#222"), plot_bgcolor="white",
        paper_bgcolor="white", colorway=list(COLORS.values()), xaxis=axis, yaxis=axis,
        hoverlabel=dict(font=dict(size=base - 1)), legend=dict(font=dict(size=base - 2),
                                                               bgcolor="rgba(255,255,255,0.7)"))}


_TEMPLATES = {False: _template(17), True: _template(21)}     # shared, never mutated


def figure(*traces: dict, **layout) -> dict:
    """A figure dict from trace dicts (see `trace`) and layout properties."""
    return {"data": list(traces), "layout": dict(layout)}


def trace(kind: str, **props) -> dict:
    """One trace: trace("scatter", x=…, y=…, mode="lines"). NumPy arrays are fine (serialised as lists)."""
    return {"type": kind, **props}


def axis(fig: dict, name: str = "yaxis", **props) -> dict:
    """Update one axis of the layout (merging dicts one level deep, e.g. title)."""
    ax = fig["layout"].setdefault(name, {})
    for k, v in props.items():
        if isinstance(v, dict) and isinstance(ax.get(k), dict):
            ax[k] = {**ax[k], **v}
        else:
            ax[k] = v
    return fig


def ref_line(fig: dict, *, x: float | None = None, y: float | None = None, color="black", width=2, dash="dot",
             text: str | None = None, yref: str = "y") -> dict:
    """A vertical (x=…) or horizontal (y=…) reference line across the plot, with an optional label."""
    line = dict(color=color, width=width, dash=dash)
    if x is not None:
        shape = dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=line)
        note = dict(x=x, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False)
    else:
        shape = dict(type="line", xref="paper", yref=yref, x0=0, x1=1, y0=y, y1=y, line=line)
        note = dict(x=1, y=y, xref="paper", yref=yref, xanchor="right", yanchor="bottom", showarrow=False)
    fig["layout"].setdefault("shapes", []).append(shape)
    if text:
        fig["layout"].setdefault("annotations", []).append({**note, "text": text})
    return fig


def style(fig: dict, *, title: str | None = None, x: str | None = None, y: str | None = None,
          height: int = 430, projector: bool = False, legend: bool = True) -> dict:
    base = 21 if projector else 17
    lay = fig["layout"]
    lay.update(template=_TEMPLATES[bool(projector)], height=height + (60 if projector else 0),
               margin={"l": 80, "r": 30, "t": 60 if title else 25, "b": 70, **lay.get("margin", {})},
               showlegend=legend)
    if title:
        lay["title"] = dict(text=title, font=dict(size=base + 4), x=0.0, xanchor="left")
    if x:
        axis(fig, "xaxis", title={"text": x})
    if y:
        axis(fig, "yaxis", title={"text": y})
    if projector:                                     # thicker lines and bigger markers on the big screen
        for t in fig["data"]:
            if t.get("type") == "scatter":
                if "line" in t and t["line"].get("width"):
                    t["line"] = {**t["line"], "width": t["line"]["width"] + 1}
    return fig


def log_axis(fig: dict, values, *, name: str = "yaxis") -> dict:
    """Make an axis logarithmic with a tick every k decades (k chosen for ≤ 7 ticks), labels as powers of 10."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    span = float(np.log10(v.max()) - np.log10(v.min())) if v.size else 1.0
    return axis(fig, name, type="log", exponentformat="power", dtick=max(1, int(np.ceil(span / 6))),
                minor=dict(showgrid=False))


def log_ticks(lo: float, hi: float, step: int | None = None):
    """Tick values and '1e±k' labels for a colour bar or axis that shows log10 of a quantity from lo to hi (log10
    units). At least two ticks fall inside [lo, hi]: decades when the data spans two or more of them, else the
    1–2–5 values of each decade ('2e-3'), else the two ends with two significant digits."""
    if not np.isfinite(lo) or not np.isfinite(hi):
        lo, hi = -1.0, 1.0
    if np.floor(hi) - np.ceil(lo) >= 1:                       # two decades or more inside
        a, b = np.floor(lo), np.ceil(hi)
        if step is None:
            step = max(1, int(np.ceil((b - a) / 6)))
        vals = np.arange(a, b + 1, step)
        return vals, [f"1e{int(v)}" if v != 0 else "1" for v in vals]
    eps = 1e-9 * max(1.0, abs(hi - lo))
    cand = [(d + np.log10(m), m, d) for d in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in (1, 2, 5)]
    inside = [(v, m, d) for v, m, d in cand if lo - eps <= v <= hi + eps]
    if len(inside) >= 2:
        return np.array([v for v, _, _ in inside]), [f"{m}e{d}" if d else f"{m}" for _, m, d in inside]
    vals = np.array([lo, hi])
    return vals, [f"{10 ** v:.2g}" for v in vals]


def safe_log10(x) -> np.ndarray:
    """log10 with zeros, negatives and non-finite values as NaN (so they leave gaps, not ±inf)."""
    x = np.asarray(x, dtype=float)
    ok = (x > 0) & np.isfinite(x)
    return np.where(ok, np.log10(np.where(ok, x, 1.0)), np.nan)


def gaps(x) -> np.ndarray:
    """The values with ±inf turned into NaN: Plotly draws a gap instead of breaking its axis range."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x), x, np.nan)


PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2},
                 "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
