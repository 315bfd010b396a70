"""Charts for adaptive truncation (Aicher, Foti & Fox 2019; explorer.adaptive_truncation): φ_k against the lag with
the fitted decay, and the bound on TBPTT(K, K)'s relative bias against K beside the measured bias, with δ and the
chosen K. Pure builders: an AdaptiveTruncation in, (figure dict, DataFrame of what is drawn) out; the sentences
below are generated from those DataFrames alone."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..adaptive_truncation import ROUNDING
from .style import COLORS, axis, figure, gaps, log_axis, ref_line, style, trace
from .summaries import num, quiet, rate

FLOOR = 1e-16      # the bias chart's y axis stops here: below it a relative bias is float64 rounding


def _log_range(fig: dict, values, name: str = "yaxis", floor: float | None = None) -> dict:
    """A log axis over the positive finite values (from `floor` up, when given), with a little room."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if floor is not None:
        v = v[v >= floor]
    if not v.size:
        v = np.array([floor or 1e-3, 1.0])
    log_axis(fig, v, name=name)
    return axis(fig, name, range=[float(np.log10(v.min())) - 0.3, float(np.log10(v.max())) + 0.3])


def _beside(at) -> dict:
    """Where the K line's label goes: right of the line, or left of it in the right half (so it stays inside)."""
    return dict(xanchor="left", xshift=4) if at.K <= at.S / 2 else dict(xanchor="right", xshift=-4)


def phi_chart(at, *, projector=False):
    """φ_k = ‖∂ℓ_t/∂h_(t−k)‖ against the lag k (log y), the least-squares line fitted for k ≥ τ, τ and the chosen K
    marked (TBPTT(K, K) keeps the lags left of K)."""
    fitted = at.fitted
    fig = figure(trace("scatter", x=at.lags, y=gaps(at.phi), mode="lines+markers", name="φ_k measured",
                       line=dict(width=3, color=COLORS["blue"]), marker=dict(size=5)))
    if np.isfinite(fitted).any():
        fig["data"].append(trace("scatter", x=at.lags[at.tau:], y=gaps(fitted[at.tau:]), mode="lines",
                                 name=f"fit for k ≥ τ: β = {num(at.beta)} per lag",
                                 line=dict(width=4, color=COLORS["orange"], dash="dash")))
    ref_line(fig, x=at.tau, color=COLORS["grey"], dash="dot", text=f"τ = {at.tau}")
    ref_line(fig, x=at.K, color=COLORS["purple"], width=3, dash="longdash", text=f"K = {at.K}")
    # the two labels sit inside the plot, τ's low and K's high, so they never cover each other or the legend
    notes = fig["layout"]["annotations"]
    notes[-2].update(y=0.04, yanchor="bottom", xanchor="right", xshift=-4, bgcolor="rgba(255,255,255,0.85)")
    notes[-1].update(y=0.96, yanchor="top", bgcolor="rgba(255,255,255,0.85)", **_beside(at))
    _log_range(fig, np.concatenate([at.phi, fitted]))
    fig["layout"]["legend"] = dict(orientation="h", x=0.0, y=1.02, xanchor="left", yanchor="bottom")
    fig["layout"]["margin"] = {"t": 60}
    df = pd.DataFrame({"lag": at.lags, "phi": at.phi, "fitted": fitted, "kept": at.lags < at.K})
    return style(fig, x="lag k (steps back from the last step t)",
                 y="φ_k (log scale)", projector=projector), df


def bound_chart(at, *, trace_label: str = "the window's own loss", projector=False):
    """bound(K)/L and the measured relative bias of TBPTT(K, K) (on the last loss; on the window's own loss when it
    was measured) against K, log y from FLOOR up, δ as a dashed line and the chosen K marked."""
    K = at.Ks
    rel = gaps(at.relative_bound)
    fig = figure(trace("scatter", x=K, y=rel, mode="lines", name="bound(K) / L (Aicher et al.)",
                       line=dict(width=4, color=COLORS["blue"])))
    last = np.full(K.size, np.nan)
    if at.bias_last is not None:
        last[at.measured_K - 1] = at.bias_last
        fig["data"].append(trace("scatter", x=at.measured_K, y=np.where(at.bias_last > 0, at.bias_last, np.nan),
                                 mode="lines+markers", name="measured: TBPTT(K, K), last loss",
                                 line=dict(width=3, color=COLORS["green"], dash="dash"), marker=dict(size=5)))
    own = np.full(K.size, np.nan)
    if at.bias_trace is not None:
        own[at.trace_K - 1] = at.bias_trace
        fig["data"].append(trace("scatter", x=at.trace_K, y=np.where(at.bias_trace > 0, at.bias_trace, np.nan),
                                 mode="lines+markers", name=f"measured: TBPTT(K, K), {trace_label}",
                                 line=dict(width=3, color=COLORS["orange"], dash="dot"),
                                 marker=dict(size=6, symbol="diamond")))
    ref_line(fig, y=at.delta, color=COLORS["black"], dash="dash", text=f"δ = {num(at.delta)}")
    fig["layout"]["annotations"][-1]["y"] = float(np.log10(at.delta))   # a log axis places annotations in log10
    if at.K > at.S / 2:                         # the K label sits left of its line: δ's goes to the left end
        fig["layout"]["annotations"][-1].update(x=0, xanchor="left")
    ref_line(fig, x=at.K, color=COLORS["purple"], width=3, dash="longdash", text=f"K = {at.K}")
    # its label low in the plot: the curves start high on the left, and δ's label sits on its line
    fig["layout"]["annotations"][-1].update(y=0.04, yanchor="bottom", bgcolor="rgba(255,255,255,0.85)", **_beside(at))
    if not np.isfinite(rel).any():
        fig["layout"]["annotations"].append(dict(x=0.5, y=0.2, xref="paper", yref="paper", showarrow=False,
                                                 text="no finite bound:<br>φ_k does not decay enough<br>to certify "
                                                      "any K",
                                                 bgcolor="rgba(255,255,255,0.85)"))
    _log_range(fig, np.concatenate([rel, last, own, [at.delta]]), floor=FLOOR)
    fig["layout"]["legend"] = dict(orientation="h", x=0.0, y=1.02, xanchor="left", yanchor="bottom")
    fig["layout"]["margin"] = {"t": 90}
    df = pd.DataFrame({"K": K, "bound": at.bound, "relative_bound": at.relative_bound, "bias_last_loss": last,
                       "delta": at.delta, "chosen": K == at.K})
    if at.bias_trace is not None:
        df["bias_own_loss"] = own
    return style(fig, x="truncation length K (steps kept)", y="relative bias (log scale)",
                 projector=projector), df


# ---- sentences, from the DataFrames above ---------------------------------------------------------------------

def _fit(phi_df: pd.DataFrame) -> tuple[int | None, float]:
    """(τ, β) as the φ chart's table holds them: the first lag with a fitted value, and the fitted ratio per lag."""
    f = phi_df["fitted"].to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(f) & (f > 0))
    if not ok.size:
        return None, float("nan")
    tau = int(phi_df["lag"].iloc[ok[0]])
    beta = float(f[ok[1]] / f[ok[0]]) if ok.size > 1 else float("nan")
    return tau, beta


@quiet
def phi_summary(df: pd.DataFrame) -> str:
    """The φ_k chart in one sentence: its range, the fitted decay and what the chosen K keeps."""
    phi = df["phi"].to_numpy(dtype=float)
    lag = df["lag"].to_numpy()
    ok = np.isfinite(phi) & (phi > 0)
    if not ok.any():
        return "φ_k is zero or not finite at every lag: the last loss sends no gradient back."
    first, last = np.flatnonzero(ok)[[0, -1]]
    text = f"φ_k goes from {num(phi[first])} at lag {lag[first]} to {num(phi[last])} at lag {lag[last]}"
    tau, beta = _fit(df)
    if tau is None:
        text += "; there is nothing to fit (fewer than two positive values from τ on)"
    else:
        slope = np.log10(beta) if beta > 0 else float("nan")
        text += (f"; fitted on lags {tau}–{lag[-1]} it changes by a factor β = {num(beta)} per lag "
                 f"({rate(slope, 'lags', back=False)})")
        if beta >= 1:
            text += ", so it does not decay and no finite bound exists"
    n = int(df["kept"].sum())
    return text + f"; K = {n} keeps lags 0–{n - 1}."


def _violations(df: pd.DataFrame, col: str) -> pd.DataFrame:
    d = df[np.isfinite(df[col].astype(float))]
    return d[d[col] > d["relative_bound"] + ROUNDING]


@quiet
def bound_summary(df: pd.DataFrame) -> str:
    """The bias chart in one sentence: where bound/L crosses δ, and the measured curves beside it."""
    rel = df["relative_bound"].to_numpy(dtype=float)
    delta = float(df["delta"].iloc[0])
    fin = np.isfinite(rel)
    if fin.any():
        i, j = np.flatnonzero(fin)[[0, -1]]
        text = (f"bound(K)/L goes from {num(rel[i])} at K = {int(df['K'].iloc[i])} to {num(rel[j])} at K = "
                f"{int(df['K'].iloc[j])}")
        below = df[df["relative_bound"] < delta]
        text += (f" and is below δ = {num(delta)} from K = {int(below['K'].iloc[0])}" if len(below) else
                 f" and never falls below δ = {num(delta)}")
    else:
        text = f"bound(K)/L is infinite at every K (no finite bound), so no K meets δ = {num(delta)}"
    for col, name in (("bias_last_loss", "on the last loss"), ("bias_own_loss", "on the window's own loss")):
        if col in df and np.isfinite(df[col].astype(float)).any():
            d = df[np.isfinite(df[col].astype(float))]
            text += (f"; the measured bias {name} goes from {num(d[col].iloc[0])} at K = {int(d['K'].iloc[0])} to "
                     f"{num(d[col].iloc[-1])} at K = {int(d['K'].iloc[-1])}")
            if fin.any():
                text += f", above the bound at {len(_violations(df, col))} of {len(d)} K"
    return text + "."


@quiet
def chosen_sentence(bound_df: pd.DataFrame, phi_df: pd.DataFrame, own_name: str = "the window's own loss") -> str:
    """The page's sentence: which K the rule chose and why, and whether the measured bias stays under the bound
    (and where it does not)."""
    d = bound_df
    delta = float(d["delta"].iloc[0])
    row = d[d["chosen"]].iloc[0]
    K, S = int(row["K"]), int(d["K"].iloc[-1])
    tau, beta = _fit(phi_df)
    fit = f"lags {tau}–{int(phi_df['lag'].iloc[-1])}" if tau is not None else "the last lags"
    if not np.isfinite(d["bound"].astype(float)).any():
        text = (f"With δ = {num(delta)} no K can be certified: φ_k does not decay over {fit} (fitted β = {num(beta)}"
                f"{' ≥ 1' if beta >= 1 else ''}), so no finite bound exists and the rule falls back to the largest "
                f"K = S = {S} (full BPTT over the window).")
    elif not np.isfinite(d["relative_bound"].astype(float)).any():
        text = (f"With δ = {num(delta)} no K can be certified: φ_k decays too slowly (fitted β = {num(beta)} over "
                f"{fit}) for the bound to fall below the gradient's norm within the window (L ≤ 0), so the rule "
                f"falls back to the largest K = S = {S} (full BPTT over the window).")
    elif row["relative_bound"] < delta:
        text = (f"With δ = {num(delta)} the rule picks K = {K}: the smallest K whose bound(K)/L is below δ "
                f"({num(row['relative_bound'])} there; β = {num(beta)} fitted over {fit}).")
    else:
        text = (f"With δ = {num(delta)} no K has bound(K)/L below δ (the smallest is "
                f"{num(np.nanmin(d['relative_bound']))}), so the rule falls back to the largest K = S = {S}.")
    if np.isfinite(row["bias_last_loss"]):
        bad = _violations(d, "bias_last_loss")
        m = d[np.isfinite(d["bias_last_loss"].astype(float))]
        under = m[m["bias_last_loss"] < delta]
        first = int(under["K"].iloc[0]) if len(under) else None
        if K == S:
            text += " TBPTT(K, K) at K = S is full BPTT over the window, so it leaves no bias"
            text += (f"; measured, the last loss's bias is below δ from K = {first}, the K an exact measurement "
                     "would pick." if first is not None else ".")
        else:
            text += f" Measured, TBPTT({K}, {K}) on the last loss is off by {num(row['bias_last_loss'])}"
            if first is not None:
                text += f" (below δ {'already ' if first < K else ''}from K = {first})"
            if bad.empty:
                text += f", and it stays under the bound at all {len(m)} K measured."
            else:
                worst = bad.iloc[int(np.argmax(bad["bias_last_loss"] / bad["relative_bound"]))]
                text += (f". The bound does not hold everywhere: the measured bias exceeds it at {len(bad)} of "
                         f"{len(m)} K (most at K = {int(worst['K'])}: {num(worst['bias_last_loss'])} against "
                         f"{num(worst['relative_bound'])}) — the bound is on the state's gradient, and the "
                         "parameters' gradient can decay more slowly.")
    if "bias_own_loss" in d and np.isfinite(row.get("bias_own_loss", np.nan)):
        own = float(row["bias_own_loss"])
        if K == S:
            return text
        text += f" On {own_name}, TBPTT({K}, {K}) is off by {num(own)}"
        if np.isfinite(row["relative_bound"]) and own > row["relative_bound"] + ROUNDING:
            text += (f", above the bound ({num(row['relative_bound'])}): the bound assumes every loss keeps K lags, "
                     "and TBPTT(K, K) gives a loss early in a chunk fewer.")
        else:
            text += "."
    return text
