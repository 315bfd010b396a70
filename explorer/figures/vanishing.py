"""Charts for vanishing and exploding gradients: the spectrum of W_hh, ‖∂h_t/∂h_(t−ℓ)‖ against the lag with Pascanu's
bound, a phase map over the W_hh scale, and the one-unit cliff."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..jacobians import bound_crossing
from .style import COLORS, DIVERGING, SEQ, axis, figure, log_ticks, ref_line, safe_log10, style, trace


def eigen_plane(spectrum, *, projector=False):
    """Eigenvalues of W_hh in the complex plane, the unit circle and the 1/γ circle."""
    ev = spectrum.eigenvalues
    th = np.linspace(0, 2 * np.pi, 256)
    fig = figure(trace("scatter", x=np.cos(th), y=np.sin(th), mode="lines", name="|λ| = 1",
                       line=dict(color=COLORS["black"], width=2)))
    if spectrum.gamma != 1.0:
        r = 1.0 / spectrum.gamma
        fig["data"].append(trace("scatter", x=r * np.cos(th), y=r * np.sin(th), mode="lines",
                                 name=f"|λ| = 1/γ = {r:g}", line=dict(color=COLORS["orange"], width=2, dash="dash")))
    fig["data"].append(trace("scatter", x=ev.real, y=ev.imag, mode="markers", name="eigenvalues λ_i",
                             marker=dict(size=10, color=COLORS["blue"], line=dict(width=1, color="white"))))
    lim = max(1.15, 1.1 * float(np.max(np.abs(ev))) if ev.size else 1.15)
    if spectrum.gamma != 1.0:
        lim = max(lim, 1.1 / spectrum.gamma)
    axis(fig, "xaxis", range=[-lim, lim], zeroline=True)
    axis(fig, "yaxis", range=[-lim, lim], scaleanchor="x", scaleratio=1, zeroline=True)
    df = pd.DataFrame({"real": ev.real, "imag": ev.imag, "abs": np.abs(ev)})
    return style(fig, x="Re λ", y="Im λ", height=470, projector=projector), df


def singular_values(spectrum, *, projector=False):
    sv = spectrum.singular_values
    i = np.arange(1, sv.size + 1)
    fig = figure(trace("bar", x=i, y=sv, marker=dict(color=COLORS["sky"]), name="σ_i(W_hh)"))
    ref_line(fig, y=1.0, color=COLORS["black"], text="σ = 1")
    if spectrum.gamma != 1.0:
        ref_line(fig, y=1 / spectrum.gamma, color=COLORS["orange"], dash="dash", text=f"1/γ = {1 / spectrum.gamma:g}")
    return style(fig, x="index i (largest first)", y="singular value σ_i", projector=projector, legend=False), \
        pd.DataFrame({"i": i, "sigma": sv})


def jacobian_norms(jp, spectrum, *, linear: bool, projector=False):
    """log10 ‖∂h_t/∂h_(t−ℓ)‖₂ (t the last step) against lag ℓ, with the bound (σ₁γ)^lag, ρ^lag and the spread of singular values."""
    lag = jp.lags
    y = jp.log10_norm
    fig = figure()
    if jp.log_sv is not None and jp.log_sv.shape[1] > 1:
        sv = np.where(np.isfinite(jp.log10_sv), jp.log10_sv, np.inf)
        # a lag where every singular value is exactly 0 (a ReLU gradient that died) has no band: a gap, no warning
        lo = np.where(np.isfinite(sv).any(axis=1), sv.min(axis=1), np.nan)
        with np.errstate(invalid="ignore"):
            lo = np.maximum(lo, y + np.log10(jp.rel_floor))    # below this, rounding noise
        fig["data"] += [trace("scatter", x=lag, y=lo, mode="lines", line=dict(width=0), showlegend=False,
                              hoverinfo="skip"),
                        trace("scatter", x=lag, y=y, mode="lines", line=dict(width=0), fill="tonexty",
                              fillcolor="rgba(0,114,178,0.15)", name="all singular values of ∂h_t/∂h_(t−ℓ)")]
    fig["data"].append(trace("scatter", x=lag, y=y, mode="lines", name="‖∂h_t/∂h_(t−ℓ)‖₂",
                             line=dict(width=4, color=COLORS["blue"])))
    bound = lag * np.log10(spectrum.sigma1 * spectrum.gamma) if spectrum.sigma1 > 0 else np.full(lag.shape, np.nan)
    fig["data"].append(trace("scatter", x=lag, y=bound, mode="lines",
                             name=f"bound (σ₁γ)^lag, σ₁γ = {spectrum.sigma1 * spectrum.gamma:.3g}",
                             line=dict(width=3, dash="dash", color=COLORS["red"])))
    rate = lag * np.log10(spectrum.rho) if spectrum.rho > 0 else np.full(lag.shape, np.nan)
    fig["data"].append(trace("scatter", x=lag, y=rate, mode="lines",
                             name=f"ρ^lag, ρ = {spectrum.rho:.3g}" + ("" if linear else " (linear case)"),
                             line=dict(width=3, dash="dot", color=COLORS["green"])))
    lo_all = np.nanmin(np.concatenate([y, bound, rate])) if lag.size else -1
    hi_all = np.nanmax(np.concatenate([y, bound, rate])) if lag.size else 1
    tv, tt = log_ticks(max(lo_all, np.nanmin(y) - 20), hi_all)
    axis(fig, "yaxis", tickvals=tv, ticktext=tt, range=[max(lo_all, np.nanmin(y) - 20) - 0.5, hi_all + 0.5])
    df = pd.DataFrame({"lag": lag, "log10_norm": y, "log10_bound_sigma1_gamma": bound, "log10_rho_power": rate})
    return style(fig, x="lag ℓ (steps back from the last step t)", y="‖∂h_t/∂h_(t−ℓ)‖₂ (log scale)", projector=projector), df


def jacobian_norms_notice(jp, spectrum, cell: str) -> str:
    """The lag chart's 'what to notice', read from its data: whether the measured norm stays under the bound
    (explorer.jacobians.bound_crossing), and whether the bound and the ρ^ℓ line coincide."""
    crossing = bound_crossing(jp, spectrum)
    same = abs(spectrum.sigma1 * spectrum.gamma - spectrum.rho) < 1e-9 * max(1.0, spectrum.rho)
    if crossing is None:
        head = "the measured norm stays under the red bound at every lag drawn"
    else:
        head = (f"the measured norm crosses the red bound at lag {crossing}: (σ₁γ)^ℓ bounds a vanilla RNN, whose "
                f"step Jacobian is diag(φ'(a_t)) W_hh, not the {cell.upper()}'s")
    return (head + (" (here σ₁γ = ρ, so the red bound and the ρ^ℓ line coincide)" if same else "")
            + "; the band shows that some directions die much faster than the norm suggests.")


def phase_map(scales: np.ndarray, lags: np.ndarray, log10_norms: np.ndarray, current: float, *, kind="ρ",
              projector=False):
    """log10 ‖∂h_t/∂h_(t−ℓ)‖ over (W_hh scale × lag ℓ): the boundary between vanishing and exploding. Colours:
    DIVERGING around 0 (norm 1), its low end (DIVERGING_LOW) vanishing, its high end (DIVERGING_HIGH) exploding."""
    z = np.clip(log10_norms, -30, 30).astype(np.float32)
    tv, tt = log_ticks(np.nanmin(z) if np.isfinite(z).any() else -1, np.nanmax(z) if np.isfinite(z).any() else 1)
    fig = figure(trace("heatmap", z=z.T, x=scales, y=lags, colorscale=DIVERGING, zmid=0,
                       colorbar=dict(title=dict(text="‖∂h_t/∂h_(t−ℓ)‖"), tickvals=tv, ticktext=tt),
                       hovertemplate=f"{kind}=%{{x:.2f}}<br>lag=%{{y}}<br>log10 norm=%{{z:.1f}}<extra></extra>"))
    ref_line(fig, x=current, width=3, dash="dash", text=f"now {kind} = {current:g}")
    df = pd.DataFrame(log10_norms, index=pd.Index(scales, name=kind), columns=[f"lag{int(l)}" for l in lags])
    return style(fig, x=f"recurrent scale {kind} of W_hh", y="lag ℓ (steps)", projector=projector, legend=False), df


def cliff(w, b, E, paths: dict, *, projector=False):
    """log10 E(w, b) of the one-unit RNN, with gradient-descent paths drawn on it."""
    z = safe_log10(E).astype(np.float32)
    tv, tt = log_ticks(np.nanmin(z), np.nanmax(z))
    fig = figure(trace("heatmap", z=z, x=w, y=b, colorscale=SEQ,
                       colorbar=dict(title=dict(text="E"), tickvals=tv, ticktext=tt),
                       hovertemplate="w=%{x:.2f}<br>b=%{y:.2f}<br>log10 E=%{z:.2f}<extra></extra>"))
    colors = {"plain gradient descent": COLORS["red"], "clipped": COLORS["orange"]}
    dashes = {"plain gradient descent": "solid", "clipped": "dash"}          # told apart without colour too
    rows = []
    for name, p in paths.items():
        fig["data"].append(trace("scatter", x=p.w, y=p.b, mode="lines+markers", name=name,
                                 line=dict(width=4, color=colors.get(name, COLORS["sky"]),
                                           dash=dashes.get(name, "dot")),
                                 marker=dict(size=7, line=dict(width=1, color="white"))))
        rows += [dict(path=name, step=i, w=wi, b=bi) for i, (wi, bi) in enumerate(zip(p.w, p.b))]
    axis(fig, "xaxis", range=[float(w[0]), float(w[-1])])
    axis(fig, "yaxis", range=[float(b[0]), float(b[-1])])
    fig = style(fig, x="recurrent weight w", y="bias b", height=540, projector=projector)
    # the legend above the plot: at its default place it covered the colour bar's title
    fig["layout"]["legend"] = {**fig["layout"].get("legend", {}), "orientation": "h", "x": 0.0, "y": 1.02,
                               "xanchor": "left", "yanchor": "bottom"}
    fig["layout"]["margin"] = {**fig["layout"]["margin"], "t": 70}
    return fig, pd.DataFrame(rows)
