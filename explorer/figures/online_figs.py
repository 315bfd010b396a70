"""Charts for the online-learning lesson, each with the one-sentence summary of the DataFrame it draws:

- `cosine_over_time`: the per-step cosine between each rule's estimate of ∂ℓ_t/∂[W_hh | W_xh | b_h] and the exact
  one, its median over seeds and the seeds' 25–75 % band (`cosine_summary`);
- `cost_vs_n`: measured seconds per step against n on log–log axes, and the op-count model's multiply-adds turned
  into seconds at a stated rate, with the fitted slopes (`slopes`) in the legend (`cost_summary`);
- `race_curves`: the loss of a copy task trained with each rule for the same number of updates (`race_summary`).
Inputs are explorer.online results. Every series differs by dash (and marker) as well as by colour."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..cost import fit_slope, slope_text
from ..online import READOUT, RULES, label
from .style import COLORS, axis, figure, log_axis, ref_line, style, trace
from .summaries import num

LOOK = {"rtrl": (COLORS["black"], "solid", "circle"), "uoro": (COLORS["orange"], "dash", "square"),
        "kf_rtrl": (COLORS["blue"], "dashdot", "diamond"), "rflo": (COLORS["red"], "dot", "triangle-up"),
        "snap1": (COLORS["green"], "longdash", "x"), "tbptt": (COLORS["purple"], "longdashdot", "cross"),
        READOUT: (COLORS["grey"], "dot", "circle-open")}
BAND = (25, 75)                      # the seeds' percentiles the band spans
FIT_FROM = 32                        # slopes against n are fitted over n ≥ this (below it call overhead rules)
SOLVED = 0.8                         # a race loss below SOLVED × baseline has used the long-range dependency


def _rgba(hex_color: str, a: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{a})"


def _legend_above(fig: dict) -> dict:
    fig["layout"]["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left")
    return fig


# ---- per-step cosine -------------------------------------------------------------------------------------------

def cosine_over_time(spread: dict[str, np.ndarray], *, k: int, projector=False):
    """spread: {rule: (S, T) per-step cosines} (explorer.online.cosine_spread). One median line per rule and the
    seeds' BAND percentiles as a shaded band; steps where the cosine is undefined (no loss) are gaps."""
    fig, rows = figure(), []
    for r, c in spread.items():
        c = np.asarray(c, dtype=float)
        t = np.arange(c.shape[1])
        with warnings.catch_warnings():              # a step without a loss is all NaN: a gap, on purpose
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(c, axis=0)
            lo, hi = np.nanpercentile(c, BAND[0], axis=0), np.nanpercentile(c, BAND[1], axis=0)
        color, dash, _ = LOOK[r]
        name = label(r, k)
        if c.shape[0] > 1 and r != "rtrl":
            fig["data"] += [trace("scatter", x=t, y=lo, mode="lines", line=dict(width=0), showlegend=False,
                                  hoverinfo="skip", legendgroup=r),
                            trace("scatter", x=t, y=hi, mode="lines", line=dict(width=0), fill="tonexty",
                                  fillcolor=_rgba(color, 0.15), showlegend=False, hoverinfo="skip", legendgroup=r)]
        fig["data"].append(trace("scatter", x=t, y=med, mode="lines", name=name, legendgroup=r,
                                 line=dict(width=4 if r != "rtrl" else 3, color=color, dash=dash),
                                 hovertemplate="step %{x}<br>median cosine %{y:.3f}<extra>" + name + "</extra>"))
        rows.append(pd.DataFrame({"step": t, "rule": name, "median_cosine": med, f"q{BAND[0]}": lo,
                                  f"q{BAND[1]}": hi, "seeds": c.shape[0]}))
    ref_line(fig, y=0.0, color=COLORS["grey"], width=1, dash="solid")
    style(fig, x="step t", y="cosine(estimate, exact ∂ℓ_t/∂W)", height=480, projector=projector)
    axis(fig, "yaxis", range=[-0.45, 1.05])
    return _legend_above(fig), pd.concat(rows, ignore_index=True)


def median_cosines(df: pd.DataFrame) -> dict[str, float]:
    """rule label → the median over steps of its per-step median cosine (NaN when no step has a loss)."""
    out = {}
    for name, d in df.groupby("rule", sort=False):
        m = d["median_cosine"].astype(float)
        out[name] = float(np.median(m[np.isfinite(m)])) if np.isfinite(m).any() else float("nan")
    return out


def cosine_summary(df: pd.DataFrame) -> str:
    """"Median cosine with the exact per-step gradient over all steps and seeds: RTRL 1, …; the widest band …"."""
    parts, widths = [], {}
    for name, m in median_cosines(df).items():
        if not np.isfinite(m):
            parts.append(f"{name} undefined (no step has a loss)")
            continue
        parts.append(f"{name} {num(round(m, 3))}")
        d = df[df["rule"] == name]
        w = (d[f"q{BAND[1]}"] - d[f"q{BAND[0]}"]).astype(float)
        if int(d["seeds"].iloc[0]) > 1 and np.isfinite(w).any():
            widths[name] = float(np.nanmean(w))
    seeds = int(df["seeds"].iloc[0]) if len(df) else 0
    text = (f"Median over the {df['step'].nunique()} steps of each rule's median cosine with the exact per-step "
            f"gradient over {seeds} seed{'s' if seeds != 1 else ''}: " + ", ".join(parts))
    if widths:
        wide = max(widths, key=widths.get)
        text += (f"; the widest {BAND[0]}–{BAND[1]} % band over seeds is {wide}'s, {num(round(widths[wide], 3))} "
                 "wide on average")
    return text + "."


# ---- cost per step ---------------------------------------------------------------------------------------------

def cost_frame(times, rate: float) -> pd.DataFrame:
    """One row per (rule, n) of explorer.online.StepTime, with the op count in seconds at `rate` multiply-adds/s."""
    return pd.DataFrame([dict(rule=t.rule, label=label(t.rule, t.k), n=t.n, seconds_per_step=t.seconds,
                              ops_per_step=t.ops, ops_seconds=t.ops / rate, steps_timed=t.steps) for t in times])


def slopes(df: pd.DataFrame, col: str, fit_from: int = FIT_FROM) -> dict[str, float]:
    """rule → the least-squares log–log slope of `col` against n over n ≥ fit_from (explorer.cost.fit_slope)."""
    out = {}
    for r, d in df.groupby("rule", sort=False):
        d = d[d["n"] >= fit_from]
        out[r] = fit_slope(d["n"], d[col])[0]
    return out


def cost_vs_n(times, *, rate: float, fit_from: int = FIT_FROM, projector=False):
    """Measured seconds per step (solid, markers) and the op count at `rate` (thin, same colour, no markers)
    against n, log–log, the fitted slopes (n ≥ fit_from) in the legend."""
    df = cost_frame(times, rate)
    s_meas, s_ops = slopes(df, "seconds_per_step", fit_from), slopes(df, "ops_seconds", fit_from)
    fig = figure()
    for r in [r for r in RULES if r in set(df["rule"])]:
        d = df[df["rule"] == r].sort_values("n")
        color, dash, symbol = LOOK[r]
        name = d["label"].iloc[0]
        fig["data"].append(trace("scatter", x=d["n"].to_numpy(float), y=d["seconds_per_step"].to_numpy(float),
                                 mode="lines+markers", name=f"{name}: measured, slope {slope_text(s_meas[r])}",
                                 legendgroup=r, line=dict(width=4, color=color, dash=dash),
                                 marker=dict(size=10, symbol=symbol, color=color),
                                 hovertemplate="n = %{x}<br>%{y:.3g} s per step<extra>" + label(r) + "</extra>"))
        fig["data"].append(trace("scatter", x=d["n"].to_numpy(float), y=d["ops_seconds"].to_numpy(float),
                                 mode="lines", name=f"{name}: op count, slope {slope_text(s_ops[r])}",
                                 legendgroup=r, line=dict(width=2, color=color, dash=dash), opacity=0.6,
                                 hovertemplate="n = %{x}<br>%{y:.3g} s by op count<extra>" + name + "</extra>"))
    log_axis(fig, df["n"], name="xaxis")
    log_axis(fig, np.concatenate([df["seconds_per_step"], df["ops_seconds"]]))
    style(fig, x="hidden units n", y="seconds per step (log scale)", height=560, projector=projector)
    fig["layout"]["legend"] = dict(x=1.02, xanchor="left", y=1.0, yanchor="top")
    fig["layout"]["margin"] = {**fig["layout"]["margin"], "r": 20}
    return fig, df


def cost_summary(df: pd.DataFrame, fit_from: int = FIT_FROM) -> str:
    s_meas, s_ops = slopes(df, "seconds_per_step", fit_from), slopes(df, "ops_seconds", fit_from)
    names = df.groupby("rule", sort=False)["label"].first().to_dict()
    big = df[df["n"] == df["n"].max()].set_index("rule")["seconds_per_step"]
    fast, slow = big.idxmin(), big.idxmax()
    return (f"Fitted slopes of time per step against n (n ≥ {fit_from}), measured: "
            + ", ".join(f"{names[r]} {slope_text(s)}" for r, s in s_meas.items())
            + "; by operation count: " + ", ".join(f"{names[r]} {slope_text(s)}" for r, s in s_ops.items())
            + f". At n = {int(df['n'].max())} one step of {names[slow]} took {num(big[slow] * 1e3)} ms, "
              f"{num(round(big[slow] / big[fast]))}× {names[fast]}'s.")


# ---- the race --------------------------------------------------------------------------------------------------

def race_curves(histories: dict[str, list], baseline: float, *, k: int, smooth: int = 20, projector=False):
    """Loss per supervised step against update for each rule (running mean over `smooth`), with the baseline."""
    fig, cols = figure(), {}
    n = max((len(v) for v in histories.values()), default=0)
    for r, loss in histories.items():
        loss = np.asarray(loss, dtype=float)
        w = max(1, min(smooth, loss.size))
        run = np.convolve(loss, np.ones(w) / w, mode="valid") if loss.size else loss
        color, dash, _ = LOOK[r]
        name = label(r, k)
        fig["data"].append(trace("scatter", x=np.arange(w, loss.size + 1), y=np.where(np.isfinite(run), run, np.nan),
                                 mode="lines", name=name,
                                 line=dict(width=4 if r != READOUT else 3, color=color, dash=dash)))
        col = np.full(n, np.nan)
        col[w - 1:loss.size] = run
        cols[name] = col
    ref_line(fig, y=baseline, color=COLORS["grey"], dash="dash", width=3, text=f"memoryless baseline {baseline:.3g}")
    vals = np.concatenate([c[np.isfinite(c) & (c > 0)] for c in cols.values()] + [[baseline]])
    log_axis(fig, vals)
    df = pd.DataFrame({"update": np.arange(1, n + 1), **cols})
    style(fig, x="update", y=f"loss per step (running mean of {smooth}, log)", height=480, projector=projector)
    return _legend_above(fig), df


def race_verdict(df: pd.DataFrame, baseline: float) -> tuple[list[str], list[str]]:
    """(the rules whose last running-mean loss is below SOLVED × baseline, the others), in the table's order."""
    last = {c: df[c].dropna().iloc[-1] if df[c].notna().any() else np.nan for c in df.columns if c != "update"}
    below = [c for c, v in last.items() if np.isfinite(v) and v < SOLVED * baseline]
    return below, [c for c in last if c not in below]


def race_summary(df: pd.DataFrame, baseline: float) -> str:
    if df.empty or not any(df[c].notna().any() for c in df.columns if c != "update"):
        return "No update yet."
    last = {c: df[c].dropna().iloc[-1] for c in df.columns if c != "update" and df[c].notna().any()}
    below, rest = race_verdict(df, baseline)

    def say(cs):
        return ", ".join(f"{c} {num(last[c])}" for c in cs if c in last) or "none"
    return (f"After {int(df['update'].iloc[-1])} updates (last running means), below {SOLVED:g}× the memoryless "
            f"baseline {num(baseline)}: {say(below)}; not below it: {say(rest)}.")
