"""Charts for architectures side by side: ‖∂h_t/∂h_(t−ℓ)‖ against lag for every contender on one log chart, the LSTM's
cell-state path, gate activations over time, the race's loss curves and a bidirectional network's two gradients.
Each builder returns (figure dict, DataFrame of exactly what is drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .style import COLORS, axis, figure, gaps, log_axis, log_ticks, ref_line, style, trace

CONTENDER_COLORS = [COLORS["red"], COLORS["orange"], COLORS["blue"], COLORS["green"], COLORS["purple"]]
CONTENDER_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]     # told apart without colour, too
FLOOR = -60.0            # lags whose norm fell below 1e-60 are drawn at the floor (a gradient that is gone)


def _log10_axis(fig: dict, values) -> None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (-1.0, 1.0)
    tv, tt = log_ticks(lo, max(hi, lo + 1))
    axis(fig, "yaxis", tickvals=tv, ticktext=tt, range=[lo - 0.5, max(hi, lo + 1) + 0.5])


def lag_profiles(profiles, *, projector=False):
    """log10 ‖∂h_t/∂h_(t−ℓ)‖₂ (t the last step) against lag ℓ, one line per architecture."""
    fig, cols = figure(), {}
    for p, color, dash in zip(profiles, CONTENDER_COLORS, CONTENDER_DASHES):
        y = np.maximum(gaps(p.log10_norm), FLOOR)
        fig["data"].append(trace("scatter", x=p.lags, y=y, mode="lines", name=p.name,
                                 line=dict(width=4, color=color, dash=dash)))
        cols[p.name] = y
        zero = np.flatnonzero(np.isneginf(p.log10_norm))
        if zero.size and zero[0] > 0:           # the gradient became exactly 0: say so where the line ends
            i = zero[0] - 1
            fig["data"].append(trace("scatter", x=[p.lags[i]], y=[y[i]], mode="markers+text", text=["→ 0"],
                                     textposition="middle right", showlegend=False, hoverinfo="skip",
                                     marker=dict(size=12, symbol="x", color=color), textfont=dict(color=color)))
    _log10_axis(fig, np.concatenate(list(cols.values())) if cols else [0.0])
    df = pd.DataFrame({"lag": profiles[0].lags, **{f"log10 {k}": v for k, v in cols.items()}}) if profiles \
        else pd.DataFrame()
    return style(fig, x="lag ℓ (steps back from the last step t)", y="‖∂h_t/∂h_(t−ℓ)‖₂ (log scale)", projector=projector), df


def cell_state_path(h_profile, c_profile, carousel, *, projector=False):
    """The LSTM's three views of memory: ‖∂h_t/∂h_(t−ℓ)‖, ‖∂c_t/∂c_(t−ℓ)‖ and the carousel alone (max_n Π f_{t,n})."""
    lines = [(h_profile, COLORS["blue"], "solid", "‖∂h_t/∂h_(t−ℓ)‖₂"), (c_profile, COLORS["green"], "dash",
             "‖∂c_t/∂c_(t−ℓ)‖₂ (cell state)"), (carousel, COLORS["black"], "dot", "carousel alone: max_n Π f_t,n")]
    fig, cols = figure(), {}
    for p, color, dash, name in lines:
        y = np.maximum(gaps(p.log10_norm), FLOOR)
        fig["data"].append(trace("scatter", x=p.lags, y=y, mode="lines", name=name,
                                 line=dict(width=4 if dash != "dot" else 3, color=color, dash=dash)))
        cols[name] = y
    _log10_axis(fig, np.concatenate(list(cols.values())))
    df = pd.DataFrame({"lag": c_profile.lags, **{f"log10 {k}": v for k, v in cols.items()}})
    return style(fig, x="lag ℓ (steps back from the last step t)", y="norm (log scale)", projector=projector), df


GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g (tanh)", "o": "output gate o",
              "r": "reset gate r", "z": "update gate z", "n": "candidate n (tanh)"}


def gate_activations(gates: dict[str, np.ndarray], *, projector=False):
    """Each gate's mean over the H units against t, with the band of units between the 10th and 90th
    percentile (gates: name → (T, H))."""
    fig, rows = figure(), {}
    colors = [COLORS["blue"], COLORS["green"], COLORS["grey"], COLORS["orange"]]
    dashes = ["solid", "dash", "dot", "dashdot"]             # told apart without colour (and r is not hidden by z)
    for (name, g), color, dash in zip(gates.items(), colors, dashes):
        t = np.arange(g.shape[0])
        lo, mid, hi = np.percentile(g, [10, 50, 90], axis=1)
        mean = g.mean(axis=1)
        rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
        fig["data"] += [trace("scatter", x=t, y=lo, mode="lines", line=dict(width=0), showlegend=False,
                              hoverinfo="skip", legendgroup=name),
                        trace("scatter", x=t, y=hi, mode="lines", line=dict(width=0), fill="tonexty",
                              fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.15)", showlegend=False,
                              hoverinfo="skip", legendgroup=name),
                        trace("scatter", x=t, y=mean, mode="lines", name=GATE_NAMES.get(name, name),
                              legendgroup=name, line=dict(width=3, color=color, dash=dash))]
        rows.update({f"{name}_mean": mean, f"{name}_p10": lo, f"{name}_median": mid, f"{name}_p90": hi})
    T = next(iter(gates.values())).shape[0] if gates else 0
    df = pd.DataFrame({"t": np.arange(T), **rows})
    return style(fig, x="timestep t", y="activation (mean over units, 10–90% band)", projector=projector,
                 height=400), df


def gate_notice(gates: dict[str, np.ndarray], forget_bias: float) -> str:
    """The gate chart's 'what to notice', from the drawn means: where each sigmoid gate sits, and the candidate."""
    means = {k: float(np.mean(v)) for k, v in gates.items()}
    candidate = next((k for k in ("g", "n") if k in means), None)
    sig = {k: m for k, m in means.items() if k != candidate}
    text = "at initialisation the sigmoid gates sit near ½ (" + ", ".join(f"{k} = {m:.2f}" for k, m in sig.items())
    if "f" in sig and sig["f"] > max(m for k, m in sig.items() if k != "f"):
        text += f"; the forget gate higher, from its bias of {forget_bias:g}"
    text += ")"
    if candidate:
        text += f" and the tanh candidate {candidate} near {means[candidate]:.2f}"
    return text + "; training moves the gates to 0 or 1 where the task needs a switch."


def race_curves(histories: dict[str, np.ndarray], baseline: float, *, smooth: int = 20, projector=False):
    """Loss against update for every contender (running mean over `smooth` updates), with the task's baseline."""
    fig, cols = figure(), {}
    n = max((len(v) for v in histories.values()), default=0)
    for (name, loss), color, dash in zip(histories.items(), CONTENDER_COLORS, CONTENDER_DASHES):
        loss = np.asarray(loss, dtype=float)
        k = max(1, min(smooth, loss.size))
        run = np.convolve(loss, np.ones(k) / k, mode="valid") if loss.size else loss
        x = np.arange(k, loss.size + 1)
        fig["data"].append(trace("scatter", x=x, y=gaps(run), mode="lines", name=name,
                                 line=dict(width=4, color=color, dash=dash)))
        col = np.full(n, np.nan)
        col[k - 1:loss.size] = run
        cols[name] = col
    ref_line(fig, y=baseline, color=COLORS["grey"], dash="dash", width=3, text=f"baseline {baseline:.3g}")
    # log y: an exploding start (IRNN: thousands) and a solved task (10⁻³) both stay readable
    log_axis(fig, np.concatenate([c[np.isfinite(c) & (c > 0)] for c in cols.values()] + [[baseline]]))
    df = pd.DataFrame({"update": np.arange(1, n + 1), **cols})
    return style(fig, x="update", y=f"loss (running mean of {smooth}, log scale)", projector=projector), df


def two_ways(tw, *, projector=False):
    """‖δ→_t‖ and ‖δ←_t‖ of a bidirectional RNN whose only loss is at step `at` (log y)."""
    t = np.arange(tw.forward_norms.size)
    f = np.where(tw.forward_norms > 0, tw.forward_norms, np.nan)
    b = np.where(tw.backward_norms > 0, tw.backward_norms, np.nan)
    fig = figure(trace("scatter", x=t, y=gaps(f), mode="lines+markers", name="forward RNN: ‖δ→_t‖ (from later)",
                       line=dict(width=4, color=COLORS["blue"]), marker=dict(size=5)),
                 trace("scatter", x=t, y=gaps(b), mode="lines+markers", name="backward RNN: ‖δ←_t‖ (from earlier)",
                       line=dict(width=4, color=COLORS["orange"], dash="dash"), marker=dict(size=6, symbol="square")))
    ref_line(fig, x=tw.at, color=COLORS["red"], width=3, dash="dash", text=f"loss at t = {tw.at}")
    log_axis(fig, np.concatenate([f[np.isfinite(f)], b[np.isfinite(b)], [1.0]]))
    df = pd.DataFrame({"t": t, "forward_delta_norm": tw.forward_norms, "backward_delta_norm": tw.backward_norms})
    return style(fig, x="timestep t", y="‖δ_t‖ (log scale)", projector=projector), df
