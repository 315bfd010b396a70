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


# ---- optimal checkpointing (explorer.optimal_checkpointing): builders and their one-sentence summaries ----------

CELL_LABEL = {"rnn": "RNN", "gru": "GRU", "indrnn": "IndRNN", "lstm": "LSTM"}


def optimal_memory_curve(T: int, ms, steps, tr, current, current_steps: int, *, projector=False):
    """Forward steps per time step, C(T, m)/T, against the memory m (stored states) on log–log axes: BPTT-HSM's
    optimal policy (its floor 2 − 1/T from m = T − 1) and the uniform scheme's points of the trade-off curve `tr`
    (explorer.cost.Tradeoff: its stored steps — checkpoints plus one segment's cached steps — and its count).
    Ringed: both at the page's budget (`current`: the uniform scheme's TradeoffPoint there; `current_steps`:
    C(T, budget))."""
    ms, steps = np.asarray(ms, dtype=float), np.asarray(steps, dtype=float)
    pts = sorted(tr.points, key=lambda p: p.peak_stored_steps)
    ux = np.array([p.peak_stored_steps for p in pts], dtype=float)
    uy = np.array([(T + p.extra_forward_steps) / T for p in pts])
    hov = "%{x} stored states<br>%{y:.3f} forward steps per step<extra>optimal</extra>"
    cx = [current.budget, current.peak_stored_steps]
    cy = [current_steps / T, (T + current.extra_forward_steps) / T]
    fig = figure(
        trace("scatter", x=ms, y=steps / T, mode="lines+markers", name="optimal BPTT-HSM (m hidden states)",
              line=dict(width=4, color=COLORS["blue"]), marker=dict(size=8), hovertemplate=hov),
        trace("scatter", x=ux, y=uy, mode="markers", name="uniform: every L-th state + one segment's caches",
              marker=dict(size=13, symbol="diamond", color=COLORS["green"], line=dict(width=1, color="white")),
              text=[p.segment for p in pts], hovertemplate="%{x} stored steps (L = %{text})<br>%{y:.3f} forward "
                                                          "steps per step<extra>uniform</extra>"),
        trace("scatter", x=cx, y=cy, mode="markers", name=f"your budget: {current.budget} stored states",
              hoverinfo="skip", marker=dict(size=22, symbol="circle-open", color=COLORS["orange"],
                                            line=dict(width=4))))
    for y, color, note in ((2.0, COLORS["grey"], "2 per step: +⅓ time (counted)"),
                           (1.0, COLORS["black"], "1 per step: plain BPTT")):
        ref_line(fig, y=y, color=color)         # (its label below: on a log axis an annotation's y is log10 y)
        fig["layout"].setdefault("annotations", []).append(dict(x=0.02, y=float(np.log10(y)), xref="paper",
                                                                yref="y", xanchor="left", yanchor="bottom",
                                                                showarrow=False, text=note))   # left: no data
    log_axis(fig, np.concatenate([ms, ux, cx]), name="xaxis")
    log_axis(fig, np.concatenate([steps / T, uy, cy, [1.0]]))
    style(fig, x=f"memory: stored states m (log scale; T = {T})", y="forward steps per time step, C(T, m)/T",
          height=500, projector=projector)
    fig["layout"]["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left")
    df = pd.DataFrame({"scheme": ["optimal"] * len(ms) + ["uniform"] * len(ux),
                       "stored_states": np.concatenate([ms, ux]).astype(int),
                       "forward_steps": np.concatenate([steps, [T + p.extra_forward_steps for p in pts]]).astype(int),
                       "segment_L": [None] * len(ms) + [p.segment for p in pts]})
    df["forward_steps_per_step"] = df["forward_steps"] / T
    df["counted_time_ratio"] = (df["forward_steps"] + 2 * T) / (3 * T)
    return fig, df


def optimal_curve_summary(df: pd.DataFrame) -> str:
    """C(T, m)/T of the optimal policy at its ends and middle, and the uniform scheme's range."""
    o = df[df["scheme"] == "optimal"].sort_values("stored_states")
    u = df[df["scheme"] == "uniform"].sort_values("stored_states")
    mid = o.iloc[len(o) // 2]
    first, last = o.iloc[0], o.iloc[-1]
    text = (f"The optimal policy needs {first['forward_steps_per_step']:.4g} forward steps per step with "
            f"{int(first['stored_states'])} stored state, {mid['forward_steps_per_step']:.3g} with "
            f"{int(mid['stored_states'])} and {last['forward_steps_per_step']:.4g} with {int(last['stored_states'])}")
    if len(u):
        text += (f"; the uniform scheme's {len(u)} budgets, from {int(u['stored_states'].min())} to "
                 f"{int(u['stored_states'].max())} stored steps, need {u['forward_steps_per_step'].max():.3g} "
                 f"down to {u['forward_steps_per_step'].min():.3g}")
    return text + "."


OP_STYLE = {"forward": ("forward sweep (keeps only the state reached)", COLORS["blue"]),
            "store": ("store s_t in a slot", COLORS["green"]), "free": ("free the slot", COLORS["grey"]),
            "backward": ("backward through step t (after running it forward)", COLORS["red"])}


def schedule_frame(ops) -> pd.DataFrame:
    """One row per operation (explorer.optimal_checkpointing.Op) with the stored count after it and the forward
    steps run so far."""
    rows, stored, fwd = [], 0, 0
    for i, op in enumerate(ops):
        stored += (op.kind == "store") - (op.kind == "free")
        fwd += op.forward_steps
        rows.append(dict(op=i, kind=op.kind, t=op.t, stop=op.stop if op.kind == "forward" else None,
                         stored_after=stored, forward_steps_so_far=fwd))
    return pd.DataFrame(rows)


def schedule_chart(ops, T: int, m: int, *, projector=False):
    """The schedule as a recursion over t: one row per operation (top to bottom), x = the time step / state index.
    A forward sweep is a line from the stored state it starts at to the state it reaches, a store a square, a
    backward step a triangle at t + ½ (between s_t and s_{t+1}), and a pale bar at t shows how long s_t holds a
    slot."""
    df = schedule_frame(ops)
    fig = figure()
    held = {}
    bx, by = [], []
    for r in df.itertuples():
        if r.kind == "store":
            held[r.t] = r.op
        elif r.kind == "free":
            bx += [r.t, r.t, None]
            by += [held.pop(r.t), r.op, None]
    fig["data"].append(trace("scatter", x=bx, y=by, mode="lines", name="s_t held in a slot", hoverinfo="skip",
                             line=dict(width=9, color=COLORS["green"]), opacity=0.25))
    f = df[df["kind"] == "forward"]
    fx = np.ravel([[a, b, None] for a, b in zip(f["t"], f["stop"])]).tolist()
    fy = np.ravel([[i, i, None] for i in f["op"]]).tolist()
    name, color = OP_STYLE["forward"]
    fig["data"].append(trace("scatter", x=fx, y=fy, mode="lines", name=name, line=dict(width=4, color=color),
                             hoverinfo="skip"))
    fig["data"].append(trace("scatter", x=f["stop"], y=f["op"], mode="markers", showlegend=False,
                             marker=dict(size=9, symbol="triangle-right", color=color),
                             customdata=np.stack([f["t"], f["stop"]], axis=1),
                             hovertemplate="op %{y}: forward s_%{customdata[0]} → s_%{customdata[1]}<extra></extra>"))
    for kind, symbol, dx in (("store", "square", 0.0), ("free", "x-thin-open", 0.0), ("backward", "triangle-left", 0.5)):
        d = df[df["kind"] == kind]
        name, color = OP_STYLE[kind]
        fig["data"].append(trace("scatter", x=d["t"] + dx, y=d["op"], mode="markers", name=name,
                                 marker=dict(size=11 if kind != "free" else 9, symbol=symbol, color=color,
                                             line=dict(width=2, color=color)),
                                 text=d["t"], hovertemplate=f"op %{{y}}: {kind} " + ("step" if kind == "backward"
                                                                                     else "s_") + "%{text}<extra></extra>"))
    style(fig, x=f"time step t (states s_0 … s_{T}); T = {T}, m = {m} slots",
          y="operation (in order, top to bottom)", height=int(min(1100, max(460, 7 * len(df) + 160))),
          projector=projector)
    axis(fig, "yaxis", autorange="reversed", zeroline=False)
    axis(fig, "xaxis", range=[-0.7, T + 0.7], dtick=5, zeroline=False)
    fig["layout"]["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left")
    return fig, df


def schedule_summary(df: pd.DataFrame) -> str:
    """How many operations, forward steps and stored states the drawn schedule has, and what its first sweep does."""
    T = int(df.loc[df["kind"] == "backward", "t"].max()) + 1
    fwd = int(df["forward_steps_so_far"].iloc[-1])
    first = df[(df["kind"] == "store") & (df["t"] > 0)]
    back = df[df["kind"] == "backward"]
    stores = ", ".join(f"s_{t}" for t in first["t"].head(6)) + ("…" if len(first) > 6 else "")
    return (f"{len(df)} operations for T = {T} steps: {fwd} forward steps ({fwd / T:.3g} per step), at most "
            f"{int(df['stored_after'].max())} states stored at once; besides s_0, {len(first)} states are stored "
            f"({stores if len(first) else 'none'}), and the backward steps run from step "
            f"{int(back['t'].iloc[0])} down to {int(back['t'].iloc[-1])}.")


def state_bytes_chart(rows, H: int, *, projector=False):
    """Bytes of one stored state (a slot: what BPTT-HSM keeps) and of one step's internal state (what plain BPTT
    keeps per step) per cell, at H hidden units, one sequence, float64 (explorer.optimal_checkpointing.StateMemory)."""
    labels = [CELL_LABEL.get(r.cell, r.cell) for r in rows]
    sb = np.array([r.bytes()[0] for r in rows])
    ib = np.array([r.bytes()[1] for r in rows])
    fig = figure(
        trace("bar", x=labels, y=sb, name="one stored state s_t (an HSM slot)", marker=dict(color=COLORS["blue"]),
              text=[f"{v:,} B" for v in sb], textposition="outside", hovertemplate="%{x}: %{y:,} B<extra></extra>"),
        trace("bar", x=labels, y=ib, name="one step's internal state (what plain BPTT keeps)",
              marker=dict(color=COLORS["orange"]), text=[f"{v:,} B" for v in ib], textposition="outside",
              hovertemplate="%{x}: %{y:,} B<extra></extra>"))
    fig["layout"]["barmode"] = "group"
    style(fig, x="cell", y=f"bytes per sequence (H = {H}, float64)", height=440, projector=projector)
    axis(fig, "yaxis", range=[0, float(ib.max()) * 1.2])
    fig["layout"]["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left")
    df = pd.DataFrame({"cell": labels, "stored_state_floats": [r.state_floats for r in rows],
                       "stored_state_bytes": sb, "internal_state_floats": [r.internal_floats for r in rows],
                       "internal_state_bytes": ib})
    df["internal_over_stored"] = df["internal_state_bytes"] / df["stored_state_bytes"]
    return fig, df


def state_bytes_summary(df: pd.DataFrame) -> str:
    """Each cell's two sizes, and the largest ratio of internal to stored state."""
    parts = [f"{r.cell} {r.stored_state_bytes:,} B stored, {r.internal_state_bytes:,} B internal"
             for r in df.itertuples()]
    top = df["internal_over_stored"].max()
    cells = " and ".join(df.loc[np.isclose(df["internal_over_stored"], top), "cell"])
    return f"Per sequence: {'; '.join(parts)} — largest for the {cells}: {top:.3g}× the stored state per step."
