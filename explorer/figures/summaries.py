"""One sentence per chart, generated from the DataFrame the chart draws (the table and the CSV under it), for a
reader who cannot see the chart: a screen reader reads it, and a sighted reader checks it against the picture.

Every number in a sentence comes from that DataFrame; nothing is typed in. A decay rate is the least-squares
slope of log10 of the values against the step: "falls by 10× every n steps" means slope −1/n decades per step.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd


def quiet(f):
    """Overflowed data (inf, 1e308) is described, not warned about: its sentence says what is finite."""
    @functools.wraps(f)
    def run(*args, **kw):
        with np.errstate(all="ignore"):
            return f(*args, **kw)
    return run


@quiet
def num(v: float) -> str:
    """A number as the sentences write it: whole numbers below 10⁶ as integers, else 3 significant digits, in
    e-notation outside 10⁻³ … 10⁴."""
    v = float(v)
    if not np.isfinite(v):
        return "∞" if v > 0 else ("−∞" if v < 0 else "not a number")
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}" if abs(v) >= 1e3 else f"{v:.3g}"
    return f"{v:.2e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


@quiet
def decades_per_step(x, values) -> float:
    """The least-squares slope of log10(values) against x, over the positive finite values (NaN if < 2)."""
    x, v = np.asarray(x, dtype=float), np.asarray(values, dtype=float)
    ok = np.isfinite(v) & (v > 0) & np.isfinite(x)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return float("nan")
    return float(np.polyfit(x[ok], np.log10(v[ok]), 1)[0])


@quiet
def rate(slope: float, unit: str = "steps", back: bool = True) -> str:
    """A log10 slope per step (x increasing) in words, read going back (x decreasing) when `back`."""
    if not np.isfinite(slope) or abs(slope) < 1e-3:
        return "stays about level"
    s = -slope if back else slope
    n = 1 / abs(s)
    return f"{'grows' if s > 0 else 'falls'} by 10× every {n:.3g} {unit}" + (" back" if back else "")


def _at(df: pd.DataFrame, x: str, col: str, how: str):
    d = df[np.isfinite(df[col].astype(float))]
    if d.empty:
        return None
    i = d[col].astype(float).idxmax() if how == "max" else d[col].astype(float).idxmin()
    return d.loc[i, x], d.loc[i, col]


@quiet
def series(df: pd.DataFrame, x: str, col: str, name: str, x_name: str | None = None) -> str:
    """"name goes from a at x = … to b at x = … (largest …)" for one drawn column."""
    d = df[np.isfinite(df[col].astype(float))]
    if d.empty:
        return f"{name}: nothing finite to draw"
    xn = x_name or x
    first, last = d.iloc[0], d.iloc[-1]
    hi = _at(d, x, col, "max")
    return (f"{name} goes from {num(first[col])} at {xn} = {num(first[x])} to {num(last[col])} at {xn} = "
            f"{num(last[x])} (largest {num(hi[1])} at {xn} = {num(hi[0])})")


@quiet
def lines(df: pd.DataFrame, x: str, cols: dict, x_name: str | None = None) -> str:
    """One clause per drawn line (cols: column → its name), joined into one sentence."""
    parts = [series(df, x, c, n, x_name) for c, n in cols.items() if c in df]
    return "; ".join(parts) + "." if parts else "Nothing is drawn yet."


# ---- the lessons' charts ---------------------------------------------------------------------------------------

@quiet
def delta_curve(df: pd.DataFrame, col: str = "norm_dL_dh", name: str = "‖δ_t‖") -> str:
    """‖δ_t‖ against t: its rate going back, its value at the last and the first drawn step."""
    d = df[np.isfinite(df[col].astype(float)) & (df[col].astype(float) > 0)]
    if d.empty:
        return f"{name} is zero or not finite at every drawn step: no gradient reaches them."
    first, last = d.iloc[0], d.iloc[-1]
    hi = _at(d, "t", col, "max")
    return (f"{name} {rate(decades_per_step(d['t'], d[col]))}: {num(last[col])} at t = {int(last['t'])}, "
            f"{num(first[col])} at t = {int(first['t'])} (largest {num(hi[1])} at t = {int(hi[0])}).")


@quiet
def unit_spread(df: pd.DataFrame) -> tuple[int, float, int]:
    """|δ_t,i| per unit (index t, one column per unit): at the earliest step where any unit is non-zero, the unit
    with the largest value, how many times the median unit's value it is, and that step."""
    a = df.to_numpy(dtype=float)
    rows = np.flatnonzero(np.nanmax(np.abs(np.nan_to_num(a, nan=0.0)), axis=1) > 0)
    if not len(rows):
        return -1, float("nan"), -1
    r = rows[0]
    v = np.abs(a[r])
    med = float(np.nanmedian(v))
    return int(np.nanargmax(v)), float(np.nanmax(v) / med) if med > 0 else float("inf"), int(df.index[r])


@quiet
def unit_heatmap(df: pd.DataFrame) -> str:
    """δ_t per hidden unit."""
    unit, ratio, t = unit_spread(df)
    if unit < 0:
        return "Every |δ_t,i| is zero: no gradient reaches these steps."
    return (f"{df.shape[1]} units over steps {int(df.index[0])}–{int(df.index[-1])}; at t = {t}, unit {unit} holds "
            f"the most gradient, {num(ratio)}× the median unit's.")


@quiet
def unit_notice(df: pd.DataFrame) -> str:
    """What to notice in δ_t per unit, from the data: whether some units carry the gradient further back."""
    unit, ratio, t = unit_spread(df)
    if unit < 0:
        return "no gradient reaches these steps at all."
    if ratio >= 10:
        return (f"some units carry the gradient much further back than others: at t = {t}, unit {unit} holds "
                f"{num(ratio)}× the median unit's |δ_t,i| (the directions W_hh's largest singular vectors keep).")
    return (f"the units fade together: at t = {t} the largest |δ_t,i| is only {num(ratio)}× the median unit's, so "
            "the decay is shared by every direction, not carried by a few units.")


@quiet
def contribution_grid(df: pd.DataFrame, kept: np.ndarray | None = None) -> str:
    """G[t, k] (index t, columns k): how fast it falls with the lag t − k, and what the mask keeps."""
    G = df.to_numpy(dtype=float)
    t = np.asarray(df.index, dtype=int)
    k = np.array([int(str(c).lstrip("k")) for c in df.columns])
    lag = t[:, None] - k[None, :]
    ok = np.isfinite(G) & (G > 0) & (lag >= 0)
    rows = int(np.any(ok, axis=1).sum())
    if not ok.any():
        return "No (loss, step) pair contributes: every drawn G[t, k] is zero or cut."
    lags = np.unique(lag[ok])
    med = np.array([np.median(G[ok & (lag == ell)]) for ell in lags])
    text = (f"{rows} losses contribute; the median G on the diagonal is {num(med[0])}, and it "
            f"{rate(decades_per_step(lags, med), 'steps', back=False)} away from the diagonal")
    if kept is not None:                     # the (T, T) mask, sampled at the drawn rows and columns
        text += f"; the truncation keeps {np.mean(kept[np.ix_(t, k)][lag >= 0] > 0):.0%} of the lower triangle's cells"
    return text + "."


@quiet
def lower_triangle_filled(df: pd.DataFrame, kept: np.ndarray | None = None) -> float:
    """The share of G[t, k]'s lower triangle (k ≤ t) that is finite, non-zero and (with the (T, T) mask `kept`)
    not cut."""
    G = df.to_numpy(dtype=float)
    t = np.asarray(df.index, dtype=int)
    k = np.array([int(str(c).lstrip("k")) for c in df.columns])
    tri = t[:, None] >= k[None, :]
    shown = np.isfinite(G) & (G > 0) & (True if kept is None else kept[np.ix_(t, k)] > 0)
    return float(np.mean(shown[tri]))


@quiet
def step_terms(df: pd.DataFrame) -> str:
    """What each step adds to the recurrent weights' gradient (the column after t: norm_term_W_hh, or the IndRNN's
    norm_term_u): how many of the last steps carry 90 % of the summed term norms."""
    v = np.nan_to_num(df[df.columns[1]].to_numpy(dtype=float))
    total = v.sum()
    if total <= 0:
        return "Every step's term is zero."
    back = np.cumsum(v[::-1]) / total
    n = int(np.searchsorted(back, 0.9) + 1)
    i = int(np.argmax(v))
    return (f"The last {n} of {len(v)} steps carry 90 % of Σ‖term_t‖; the largest term is {num(v[i])} at "
            f"t = {int(df['t'].iloc[i])}.")


@quiet
def first_below(x, values, level: float):
    """The first x whose value is below `level` (None if none is)."""
    v = np.asarray(values, dtype=float)
    hit = np.flatnonzero(np.isfinite(v) & (v < level))
    return None if not len(hit) else np.asarray(x)[hit[0]]


@quiet
def connectivity(df: pd.DataFrame) -> str:
    """‖∂ℓ_t/∂x_(t−ℓ)‖ against the lag."""
    d = df.sort_values("lag")
    lag = first_below(d["lag"], d["norm_dlT_dxk"], 1e-8)
    where = (f"below 1e-8 from lag {int(lag)}" if lag is not None else
             f"above 1e-8 up to lag {int(d['lag'].max())}")
    slope = decades_per_step(d["lag"], d["norm_dlT_dxk"])
    return (f"The last loss's sensitivity to its input is {num(d['norm_dlT_dxk'].iloc[0])} at lag 0 and "
            f"{rate(slope, 'lags', back=False)}, {where}.")


@quiet
def eigenvalues(df: pd.DataFrame) -> str:
    out = int((df["abs"] > 1 + 1e-12).sum())
    return (f"{len(df)} eigenvalues; the largest modulus ρ = {num(df['abs'].max())}; {out} lie outside the unit "
            "circle.")


@quiet
def singular(df: pd.DataFrame, gamma: float) -> str:
    s = df["sigma"].astype(float)
    spread = (f"all {len(s)} singular values are {num(s.max())}" if np.ptp(s) <= 1e-9 * s.max() else
              f"σ₁ = {num(s.max())} down to {num(s.min())}")
    return (f"{spread}; σ₁γ = {num(s.max() * gamma)} with γ = {gamma:g}, so the "
            f"gradient {'must vanish' if s.max() * gamma < 1 else 'is not bound to vanish'} (σ₁γ "
            f"{'<' if s.max() * gamma < 1 else '≥'} 1).")


@quiet
def jacobian_curve(df: pd.DataFrame) -> str:
    """‖∂h_t/∂h_(t−ℓ)‖ against the lag, and whether it stays under the bound (σ₁γ)^ℓ."""
    d = df[np.isfinite(df["log10_norm"])]
    if d.empty:
        return "No finite product norm to draw."
    norm = 10.0 ** d["log10_norm"].to_numpy(float)
    last = d.iloc[-1]
    over = d[d["log10_norm"] > d["log10_bound_sigma1_gamma"] + 1e-9]
    lag3 = first_below(d["lag"], norm, 1e-3)
    text = (f"The product norm {rate(decades_per_step(d['lag'], norm), 'lags', back=False)}: "
            f"{num(10 ** last['log10_norm'])} at lag {int(last['lag'])}, "
            + (f"below 1e-3 from lag {int(lag3)}" if lag3 is not None else "never below 1e-3"))
    if "log10_bound_sigma1_gamma" in d:
        text += ("; it stays under the bound (σ₁γ)^ℓ at every lag" if over.empty else
                 f"; it is above the bound at {len(over)} lags (first at lag {int(over['lag'].iloc[0])})")
    return text + "."


@quiet
def phase(df: pd.DataFrame, current: float, kind: str = "ρ") -> str:
    """The phase map (index: scale, columns lag…): the border where the longest lag's norm crosses 1."""
    z = df.to_numpy(dtype=float)
    scales = np.asarray(df.index, dtype=float)
    lags = [int(str(c).lstrip("lag")) for c in df.columns]
    end = z[:, -1]
    above = scales[np.isfinite(end) & (end > 0)]
    i = int(np.argmin(np.abs(scales - current)))
    border = (f"the norm at lag {lags[-1]} is above 1 from {kind} = {num(above.min())}" if len(above) else
              f"the norm at lag {lags[-1]} stays below 1 for every {kind} up to {num(scales.max())}")
    return (f"{kind} from {num(scales.min())} to {num(scales.max())}, lags 0–{lags[-1]}: {border}; on the row "
            f"nearest the current {kind} = {num(current)} ({kind} = {num(scales[i])}) it is {num(10 ** end[i])}.")


@quiet
def cliff(df: pd.DataFrame, bounds: tuple[float, float, float, float]) -> str:
    """The two descents on the cliff: where each ends, its largest jump, and whether it left the map
    (bounds: w_lo, w_hi, b_lo, b_hi)."""
    parts = []
    for name, d in df.groupby("path", sort=False):
        w, b = d["w"].to_numpy(float), d["b"].to_numpy(float)
        jumps = np.hypot(np.diff(w), np.diff(b))
        off = not (bounds[0] <= w[-1] <= bounds[1] and bounds[2] <= b[-1] <= bounds[3])
        parts.append(f"{name}: {len(w) - 1} steps, largest jump {num(jumps.max() if len(jumps) else 0)}, ends at "
                     f"w = {num(w[-1])}, b = {num(b[-1])}" + (" (off the map)" if off else ""))
    return "; ".join(parts) + "."


@quiet
def cliff_descents_differ(df: pd.DataFrame) -> float:
    """The distance between the two descents' end points."""
    ends = [d[["w", "b"]].to_numpy(float)[-1] for _, d in df.groupby("path", sort=False)]
    return float(np.hypot(*(ends[0] - ends[1]))) if len(ends) == 2 else 0.0


@quiet
def bias(df: pd.DataFrame) -> str:
    """cos(ĝ, g) and the relative error of TBPTT against k2."""
    d = df[np.isfinite(df["relative_error"])]
    if d.empty:
        return "No finite comparison: the full gradient is zero or overflowed."
    k = first_below(d["k2"], d["relative_error"], 0.01)
    return (f"At k2 = {int(d['k2'].iloc[0])} the cosine with the full gradient is {num(d['cosine'].iloc[0])} and "
            f"the relative error {d['relative_error'].iloc[0]:.1%}; "
            + (f"the error is below 1 % from k2 = {int(k)}" if k is not None else "the error stays above 1 %")
            + f"; at k2 = {int(d['k2'].iloc[-1])} it is {d['relative_error'].iloc[-1]:.2%}.")


@quiet
def randomized(df: pd.DataFrame) -> str:
    one = df["rel_error_one_draw"].astype(float)
    last = df.iloc[-1]
    if not np.isfinite(one).all() or not np.isfinite(last["rel_error_mean_of_n"]):
        return (f"{int((~np.isfinite(one)).sum())} of {len(one)} draws overflowed or have no finite error (the full "
                "gradient itself may be zero or infinite): their points are left out.")
    return (f"One draw is off by {one.mean():.1%} of ‖g‖ on average; the mean of {int(last['n'])} draws by "
            f"{last['rel_error_mean_of_n']:.1%} (1/√n of one draw would be {one.mean() / np.sqrt(last['n']):.1%}).")


@quiet
def heatmap_over_updates(df: pd.DataFrame) -> str:
    """The lab's ‖δ_t‖ over training (index update, columns t…)."""
    if df.empty:
        return "No update has run yet."
    last = df.iloc[-1].to_numpy(float)
    t = np.arange(len(last))
    return (f"{len(df)} updates drawn; at update {df.index[-1]}, ‖δ_t‖ {rate(decades_per_step(t, last))}: "
            f"{num(last[np.isfinite(last)][-1]) if np.isfinite(last).any() else '—'} at the last step, "
            f"{num(last[0])} at t = 0.")


@quiet
def log_profiles(df: pd.DataFrame, x: str = "lag") -> str:
    """Lines stored as log10 columns ("log10 <name>", e.g. per architecture): each one's value at the longest x
    it is drawn to, the first x where it is below 1e-3, and where it stops being drawn (exactly 0 or overflowed)."""
    parts = []
    xs = df[x].to_numpy()
    for c in [c for c in df.columns if str(c).startswith("log10 ")]:
        lv = df[c].to_numpy(dtype=float)
        ok = np.flatnonzero(np.isfinite(lv))
        if not len(ok):
            parts.append(f"{c[6:]}: nothing finite to draw")
            continue
        last = ok[-1]
        v = 10.0 ** lv
        below = first_below(xs, v, 1e-3)
        text = f"{c[6:]} {num(v[last])} at {x} {int(xs[last])}"
        text += f" (below 1e-3 from {x} {int(below)})" if below is not None else " (never below 1e-3)"
        if last < len(lv) - 1:
            text += ", not drawn after it (exactly 0 or not finite)"
        parts.append(text)
    return "; ".join(parts) + "." if parts else "Nothing is drawn."


@quiet
def gates(df: pd.DataFrame) -> str:
    """Each gate's mean activation over t and units, and its 10–90 % band at the last step."""
    names = [c[:-5] for c in df.columns if str(c).endswith("_mean")]
    return "Mean over steps and units: " + ", ".join(
        f"{n} = {df[n + '_mean'].mean():.2f} (10–90 % of units at the last step: {df[n + '_p10'].iloc[-1]:.2f}–"
        f"{df[n + '_p90'].iloc[-1]:.2f})" for n in names) + "."


@quiet
def by_group(df: pd.DataFrame, group: str, x: str, y: str, y_name: str, labels: dict | None = None) -> str:
    """One clause per group (e.g. per algorithm): y at its smallest and largest x."""
    parts = []
    for g, d in df[np.isfinite(df[y].astype(float))].groupby(group, sort=False):
        d = d.sort_values(x)
        parts.append(f"{(labels or {}).get(g, g)}: {num(d[y].iloc[0])} at {x} = {num(d[x].iloc[0])}, "
                     f"{num(d[y].iloc[-1])} at {x} = {num(d[x].iloc[-1])}")
    return (f"{y_name} — " + "; ".join(parts) + ".") if parts else "Nothing was measured."


@quiet
def tradeoff(df: pd.DataFrame) -> str:
    """Checkpointing's time against memory (one row per budget)."""
    d = df.sort_values("memory_ratio")
    lo, hi = d.iloc[0], d.iloc[-1]
    return (f"{len(d)} budgets from {int(lo['budget_steps'])} to {int(hi['budget_steps'])} stored steps: the "
            f"smallest keeps {lo['memory_ratio']:.1%} of plain BPTT's memory for {lo['time_ratio']:.2f}× its time "
            f"(counted {lo['counted_time_ratio']:.2f}×); the largest {hi['memory_ratio']:.1%} for "
            f"{hi['time_ratio']:.2f}×.")


@quiet
def k_over_updates(df: pd.DataFrame, refs: dict[str, float] | None = None) -> str:
    """The K-over-updates chart (columns run, update, K, estimated; K holds from a row to the next): per run, K at its
    first and last update, its range and the estimates drawn; then, per reference line, the share of each run's
    updates with K at or above it."""
    if df.empty:
        return "No update has run yet."
    parts, spans = [], {}
    for name, d in df.groupby("run", sort=False):
        d = d.sort_values("update")
        u, k = d["update"].to_numpy(int), d["K"].to_numpy(int)
        held = np.r_[np.diff(u), 1]                       # updates each row's K holds for
        spans[name] = (k, held)
        n_est = int(d["estimated"].sum())
        if k.min() == k.max():
            text = f"{name}: K = {k[0]} at every update {u[0]}–{u[-1]}"
        else:
            text = (f"{name}: K = {k[0]} at update {u[0]}, {k[-1]} at update {u[-1]} (between {k.min()} and "
                    f"{k.max()})")
        parts.append(text + (f", {n_est} estimate{'s' if n_est > 1 else ''} drawn" if n_est else ""))
    out = "; ".join(parts) + "."
    for label, v in (refs or {}).items():
        share = [f"{name} {100 * held[k >= v].sum() / held.sum():.0f}%" for name, (k, held) in spans.items()]
        out += f" Updates with K ≥ {label}: " + ", ".join(share) + "."
    return out


# ---- stacked networks (issue #17) ------------------------------------------------------------------------------

@quiet
def layer_heatmap(df: pd.DataFrame) -> str:
    """log10 ‖δ_t^{(l)}‖ over layers × time (index layer, columns t0 … t{T−1}): per layer, its value at the last
    and the first step and its rate going back."""
    t = np.array([int(str(c)[1:]) for c in df.columns])
    parts = []
    for layer, row in df.iterrows():
        v = row.to_numpy(dtype=float)
        ok = np.isfinite(v) & (v > 0)
        if not ok.any():
            parts.append(f"layer {layer}: no gradient reaches it")
            continue
        parts.append(f"layer {layer} {rate(decades_per_step(t[ok], v[ok]))}, {num(v[ok][-1])} at t = {t[ok][-1]} "
                     f"and {num(v[ok][0])} at t = {t[ok][0]}")
    return f"‖δ_t^(l)‖ over {len(df)} layers and {len(t)} steps: " + "; ".join(parts) + "."


@quiet
def layer_lags(df: pd.DataFrame) -> str:
    """‖δ^{(l)}‖ of the last loss against the lag (columns lag, norm_layer0 …): per layer, its value at lag 0, at
    the longest lag where it is finite and non-zero, and its rate."""
    parts = []
    for c in [c for c in df.columns if str(c).startswith("norm_layer")]:
        d = df[np.isfinite(df[c].astype(float)) & (df[c].astype(float) > 0)]
        if d.empty:
            parts.append(f"layer {c[10:]}: zero at every lag")
            continue
        first, last = d.iloc[0], d.iloc[-1]
        parts.append(f"layer {c[10:]} {rate(decades_per_step(d['lag'], d[c]), back=False)} of lag: "
                     f"{num(first[c])} at lag {int(first['lag'])}, {num(last[c])} at lag {int(last['lag'])}")
    return "; ".join(parts) + "." if parts else "Nothing is drawn."


@quiet
def stacked_grid(df: pd.DataFrame) -> str:
    """The layers × time grid (one row per node: layer, t, norm_delta, …, path_length): where ‖δ‖ is largest and
    smallest, and how far (in Jacobians) the smallest is from the last loss."""
    d = df[np.isfinite(df["norm_delta"].astype(float)) & (df["norm_delta"].astype(float) > 0)]
    L, W = df["layer"].nunique(), df["t"].nunique()
    if d.empty:
        return f"{L} layers × {W} steps: no gradient reaches any of them."
    hi, lo = d.loc[d["norm_delta"].idxmax()], d.loc[d["norm_delta"].idxmin()]
    zero = len(df) - len(d)
    return (f"{L} layers × {W} steps (t = {int(df['t'].min())}–{int(df['t'].max())}): ‖δ_t^(l)‖ is largest, "
            f"{num(hi['norm_delta'])}, at layer {int(hi['layer'])}, t = {int(hi['t'])} and smallest, "
            f"{num(lo['norm_delta'])}, at layer {int(lo['layer'])}, t = {int(lo['t'])}, {int(lo['path_length'])} "
            "Jacobians from the last loss" + (f"; {zero} nodes get no gradient at all" if zero else "") + ".")


@quiet
def same_budget(df: pd.DataFrame) -> str:
    """‖∂ℓ_{T−1}/∂x_{T−1−ℓ}‖ against the lag, one column per network: each one's value at lag 0 and at the
    longest lag, and how many times larger the best one is there than the worst."""
    cols = [c for c in df.columns if c != "lag"]
    ends = {}
    parts = []
    for c in cols:
        d = df[np.isfinite(df[c].astype(float)) & (df[c].astype(float) > 0)]
        if d.empty:
            parts.append(f"{c}: zero at every lag")
            continue
        ends[c] = (int(d["lag"].iloc[-1]), float(d[c].iloc[-1]))
        parts.append(f"{c}: {num(d[c].iloc[0])} at lag {int(d['lag'].iloc[0])}, {num(d[c].iloc[-1])} at lag "
                     f"{int(d['lag'].iloc[-1])}")
    out = "; ".join(parts) + "." if parts else "Nothing is drawn."
    same_end = {v[0] for v in ends.values()}
    if len(ends) >= 2 and len(same_end) == 1:
        best = max(ends, key=lambda c: ends[c][1])
        worst = min(ends, key=lambda c: ends[c][1])
        out += (f" At lag {same_end.pop()}, {best} keeps {num(ends[best][1] / ends[worst][1])}× what {worst} "
                "keeps.")
    return out
