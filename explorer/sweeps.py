"""Knob sweeps: for every value on a knob's grid, exactly the numbers the linked charts draw, so that a view in the
browser can redraw on every input event while the knob is dragged (ui/scrub.py ships them as JSON).

`scale_sweep(sc, scales, lags)` runs the Scenario at every W_hh scale s of the grid (the same network draw, inputs
and targets, only the scale changes); `truncation_sweep(sc, knob, values)` at every k2 of TBPTT(k1, k2) or every
keep probability π of randomized truncation (the same network and sequence, only the scheme changes). Per value:
    per step t (T,)    ‖δ_t‖, its parts ‖W_hyᵀ ∂ℓ_t/∂y_t‖ and ‖J_{t+1}ᵀ δ_{t+1}‖ (explorer.bptt.step_norms), ℓ_t, and
                       for the LSTM ‖f_{t+1} ⊙ δc_{t+1}‖ (the gradient the cell-state edge carries back);
    per lag ℓ (L,)     log10 ‖∂h_t/∂h_(t−ℓ)‖₂ from the last step (explorer.jacobians.jacobian_products);
    W_hh's spectrum    eigenvalues, ρ, σ₁ and the activation's γ (the bound (σ₁γ)^ℓ and ρ^ℓ lines are drawn from
                       these two numbers).
For a stack of L layers (Scenario.layers) every number above is the top layer's, the one the readout reads, and
every layer's W_hh is scaled alike (as build_model does); with `by_layer` the sweep also keeps, per value, the
layers × time grid of `layer_grid` (each node's ‖δ_t^(l)‖ and what each time and depth edge carries back), the
numbers the static grid (explorer.figures.unrolled.stacked_graph) draws. Cost per scale: one forward and backward
pass and max(lags) step Jacobians with one SVD per lag — `sweep_cost` counts it (explorer.work_budget) so the app
can refuse a sweep that would hold a core too long.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from . import work_budget as wb
from .bptt import backward, bptt, step_norms
from .depth_paths import layer_step_norms
from .forward import forward
from .init import largest_singular_value, spectral_radius
from .jacobians import jacobian_products, weight_spectrum
from .model import Model, layer_key
from .scenario import Scenario

STEP_FIELDS = ("norm_delta", "norm_direct", "norm_through_J", "norm_term", "norm_h", "loss")
STEP_OVERHEAD = 5e4      # multiply-add equivalents of one step's fixed cost at B = 1 (≈ 5 µs of Python here)
B1_FACTOR = 3.0          # one sequence's matrix–vector products run ~3× below the GEMM rate work_budget assumes


@dataclass
class Sweep:
    """Every chart number of one Scenario at each value (n,) of one knob. Arrays are (n, T) per step, (n, L) per
    lag, (n,) or (n, H) per value; NaN where a value does not exist (after an overflow)."""

    scenario: Scenario            # the sweep's Scenario (its own value of the knob is irrelevant: all are run)
    knob: str                     # the Scenario field swept: "scale", "k2" or "keep_prob"
    values: np.ndarray            # (n,)
    steps: dict                   # STEP_FIELDS (+ "norm_c" for the LSTM) → (n, T)
    target: np.ndarray            # (T,) bool: which steps carry a loss
    overflow_step: np.ndarray     # (n,) int: the forward pass's first overflowing step, −1 for none
    lags: np.ndarray              # (L,) lags ℓ of the lag profile
    log10_lag_norm: np.ndarray    # (n, L) log10 ‖∂h_t/∂h_(t−ℓ)‖₂ (−inf where exactly 0, NaN past an overflow)
    rho: np.ndarray               # (n,)
    sigma1: np.ndarray            # (n,)
    gamma: float
    eigenvalues: np.ndarray       # (n, H) complex
    cuts: list                    # per value: positions between steps where the scheme cuts a path (t + ½)
    xi: np.ndarray | None = None  # (n, T) randomized truncation's ξ_t ∈ {0, 1/π} per value, else None
    units: np.ndarray | None = None   # (n, T, H) δ_{t,i} per unit (sequence 0), when asked for
    grid: dict | None = None      # a stack's layer_grid per value: node (n, L, T), time (n, L, T−1), depth (n, L−1, T)

    def index(self, value: float) -> int:
        """The grid point nearest to `value`."""
        return int(np.argmin(np.abs(self.values - value)))


def sweep_cost(sc: Scenario, n_scales: int, max_lag: int, n_lags: int, spectrum: bool = True,
               by_layer: bool = False) -> float:
    """Multiply-adds of scale_sweep: per scale a forward and backward pass at B = 1 (with each step's fixed cost,
    which dominates at small H), the lag profile (max_lag step Jacobians, n_lags SVDs) and, with spectrum, W_hh's
    eigenvalues (≈ 10 H³). A stack of L layers passes L times forward and back; the lag profile and the spectrum
    are its top layer's; with `by_layer`, grid_cost more."""
    D = 3
    per_scale = (sc.layers * (B1_FACTOR * wb.update_cost(sc.cell, sc.hidden, D, sc.T, 1) + 2 * sc.T * STEP_OVERHEAD)
                 + max_lag * (B1_FACTOR * wb.step_jacobian_cost(sc.cell, sc.hidden) + STEP_OVERHEAD)
                 + n_lags * wb.svd_cost(sc.hidden) + (10.0 * sc.hidden ** 3 if spectrum else 0.0)
                 + (grid_cost(sc) if by_layer else 0.0))
    return float(n_scales) * per_scale


def grid_cost(sc: Scenario) -> float:
    """Multiply-adds of one layer_grid: what each layer above sends down, W_xh^(l+1)ᵀ dA_ih^(l+1), again for the
    L − 1 layers below the top (T · G·H · H each, at the B = 1 rate)."""
    return (sc.layers - 1) * B1_FACTOR * wb.update_cost(sc.cell, sc.hidden, 0, sc.T, 1) / 3


def _rescaler(sc: Scenario):
    """A function scale → the Scenario's model at that scale, drawn once: each gate block of W_hh (u for the
    IndRNN) of every layer is multiplied by scale / ρ (or σ₁) of the unscaled block — the same product build_model
    computes, so the models are identical, without one eigen-decomposition per block and scale."""
    base = sc.model(scale=None)
    H, cell = sc.hidden, base.cell
    size = spectral_radius if sc.scale_kind == "rho" else largest_singular_value
    rec_name = "u" if cell.diagonal_recurrence else "W_hh"
    names = [layer_key(rec_name, l, r) for l in range(base.num_layers) for r in (False, True)[:base.directions]]
    if cell.diagonal_recurrence:
        blocks = {k: [base.params[k]] for k in names}
        nows = {k: [float(np.max(np.abs(base.params[k])))] for k in names}
    else:
        blocks = {k: [base.params[k][g * H:(g + 1) * H] for g in range(cell.n_gates)] for k in names}
        nows = {k: [size(b) for b in bs] for k, bs in blocks.items()}

    def at(scale: float) -> Model:
        p = dict(base.params)
        for k in names:
            p[k] = np.ascontiguousarray(np.concatenate(
                [b * (scale / n) if n != 0.0 else b.copy() for b, n in zip(blocks[k], nows[k], strict=True)]))
        return Model(cell, p, base.output_size, base.dtype, {**base.config, "scale": scale}, base.num_layers,
                     base.bidirectional)
    return at


def layer_grid(rec) -> dict[str, np.ndarray]:
    """The layers × time grid of a unidirectional stack's record (sequence 0), from
    explorer.depth_paths.layer_step_norms, where δ_t^(l) = d_t^(l) + J_{t+1}^(l)ᵀ δ_{t+1}^(l):
        node   (L, T)       ‖δ_t^(l)‖: the colour of h_t^(l)
        time   (L, T − 1)   [l, t]: the edge h_t^(l) → h_{t+1}^(l) carries ‖J_{t+1}^(l)ᵀ δ_{t+1}^(l)‖ back to step t
        depth  (L − 1, T)   [l, t]: the edge h_t^(l) → h_t^(l+1) carries ‖d_t^(l)‖ = ‖W_xh^(l+1)ᵀ dA_ih,t^(l+1)‖ down
    (the top layer's d_t is the readout's W_hyᵀ ∂ℓ_t/∂y_t: no edge of the grid). The live grid and the static one
    both draw these arrays, so their edges cannot disagree on which step a value belongs to."""
    n = layer_step_norms(rec)
    return {"node": n["norm_delta"], "time": n["norm_through_J"][:, :-1], "depth": n["norm_direct"][:-1]}


def _grid_arrays(sc: Scenario, n: int) -> dict[str, np.ndarray]:
    """NaN-filled room for n values' layer_grid."""
    L, T = sc.layers, sc.T
    return {"node": np.full((n, L, T), np.nan), "time": np.full((n, L, T - 1), np.nan),
            "depth": np.full((n, L - 1, T), np.nan)}


def scale_sweep(sc: Scenario, scales, lags, spectrum: bool = True, units: bool = False,
                by_layer: bool = False) -> Sweep:
    """Run `sc` at every scale of `scales` and keep what the scrubbed charts draw (see the module docstring);
    without `spectrum` the eigenvalues are left NaN (ρ and σ₁ are still given). The spectrum is that of the
    unscaled matrix times scale / (its ρ or σ₁): eigenvalues and singular values scale with the matrix. With
    `by_layer`, a stack (L > 1) also keeps every value's layer_grid (one layer has no grid: Sweep.grid stays None)."""
    scales = np.asarray(scales, dtype=float)
    lags = np.unique(np.clip(np.asarray(lags, dtype=int), 0, sc.T))
    n, T = scales.size, sc.T
    steps = {k: np.full((n, T), np.nan) for k in STEP_FIELDS + (("norm_c",) if sc.cell == "lstm" else ())}
    lag_norm = np.full((n, lags.size), np.nan)
    overflow = np.full(n, -1)
    per_unit = np.full((n, T, sc.hidden), np.nan) if units else None
    grids = _grid_arrays(sc, n) if by_layer and sc.layers > 1 else None
    model_at = _rescaler(sc)
    X, y, mask = sc.data()
    unit = weight_spectrum(model_at(1.0)) if spectrum else None
    W1 = model_at(1.0).recurrent_matrix()
    rho1 = unit.rho if spectrum else float(np.max(np.abs(np.linalg.eigvals(W1))))
    sigma1_1 = float(np.linalg.norm(W1, 2))
    target = mask[:, 0] > 0
    for i, s in enumerate(scales):
        model = model_at(float(s))
        rec = bptt(model, X, y, loss=sc.loss, mask=mask, scheme=replace(sc, scale=float(s)).truncation())
        norms = step_norms(rec)
        for k in steps:
            steps[k][i] = norms[k]
        if rec.trace.overflow_step is not None:
            overflow[i] = rec.trace.overflow_step
        if units:
            per_unit[i] = rec.delta_h[:, 0]
        if grids is not None:
            for k, v in layer_grid(rec).items():
                grids[k][i] = v
        jp = jacobian_products(rec.trace, spectrum=False, lags=lags)
        lag_norm[i, np.searchsorted(lags, jp.lags)] = jp.log10_norm
    eig = np.outer(scales, unit.eigenvalues) if spectrum else np.full((n, sc.hidden), np.nan, dtype=complex)
    cuts = [cut_positions(sc.truncation(), T)] * n
    return Sweep(sc, "scale", scales, steps, target, overflow, lags, lag_norm, scales * rho1, scales * sigma1_1,
                 model_at(1.0).cell.gamma, eig, cuts, None, per_unit, grids)


def backward_steps(sc: Scenario, knob: str, value) -> int:
    """Cell steps one backward pass takes under `sc` with its truncation knob at `value`: Σ over TBPTT's windows of
    their lengths (each update goes back k2 steps), T for randomized truncation."""
    scheme = replace(sc, **{knob: value}).truncation()
    return int(sum(w.hi - w.lo + 1 for w in scheme.windows(sc.T)))


def truncation_sweep_cost(sc: Scenario, knob: str, values, by_layer: bool = False) -> float:
    """Multiply-adds of truncation_sweep: one forward pass, then per value a backward pass of backward_steps (× L
    for a stack of L layers), and with `by_layer` a grid_cost per value."""
    step = B1_FACTOR * wb.update_cost(sc.cell, sc.hidden, 3, 1, 1) / 3 + STEP_OVERHEAD    # one cell step
    return (sc.layers * step * (sc.T + sum(2 * backward_steps(sc, knob, v) for v in values))
            + (len(values) * grid_cost(sc) if by_layer else 0.0))


def truncation_sweep(sc: Scenario, knob: str, values, units: bool = False, by_layer: bool = False) -> Sweep:
    """Run `sc` under every value of its truncation knob ("k2" for TBPTT(k1, k2), "keep_prob" for randomized
    truncation's π): one forward pass, one backward pass per value; per step the same numbers as scale_sweep, plus
    each value's cut positions (and ξ for randomized truncation), and with `by_layer` a stack's layer_grid. No lag
    profile or spectrum: they do not depend on the scheme."""
    if knob not in ("k2", "keep_prob"):
        raise ValueError(f"knob must be 'k2' or 'keep_prob', got {knob!r}")
    values = np.asarray(values, dtype=int if knob == "k2" else float)
    n, T = values.size, sc.T
    steps = {k: np.full((n, T), np.nan) for k in STEP_FIELDS + (("norm_c",) if sc.cell == "lstm" else ())}
    model, X, y, mask, loss = sc.build()
    trace = forward(model, X, y, loss=loss, mask=mask)
    overflow = np.full(n, -1 if trace.overflow_step is None else trace.overflow_step)
    cuts, xi = [], np.full((n, T), np.nan) if knob == "keep_prob" else None
    per_unit = np.full((n, T, sc.hidden), np.nan) if units else None
    grids = _grid_arrays(sc, n) if by_layer and sc.layers > 1 else None
    for i, v in enumerate(values):
        one = replace(sc, **{knob: v.item()})
        scheme = one.truncation()
        rec = backward(trace, scheme)
        norms = step_norms(rec)
        if units:
            per_unit[i] = rec.delta_h[:, 0]
        if grids is not None:
            for k, g in layer_grid(rec).items():
                grids[k][i] = g
        for k in steps:
            steps[k][i] = norms[k]
        cuts.append(cut_positions(scheme, T))
        if xi is not None:
            xi[i] = scheme.xi(T)
    spec_nan = np.full(n, np.nan)
    return Sweep(sc, knob, values, steps, mask[:, 0] > 0, overflow, np.array([0]), np.full((n, 1), np.nan),
                 spec_nan, spec_nan, model.cell.gamma, np.full((n, sc.hidden), np.nan, dtype=complex), cuts, xi,
                 per_unit, grids)


def cut_positions(scheme, T: int) -> list[float]:
    """Positions between steps (t + ½) where `scheme` stops the backward pass for at least one loss."""
    cuts = set()
    for w in scheme.windows(T):
        if w.lo > 0:
            cuts.add(w.lo - 0.5)
    xi = scheme.xi(T)
    if xi is not None:
        cuts.update(float(t) + 0.5 for t in range(T - 1) if xi[t + 1] == 0)   # ξ scales the edge into step t+1
    return sorted(cuts)


def grid(lo: float, hi: float, step: float) -> np.ndarray:
    """The values a slider from lo to hi in steps of `step` can take (rounded as the slider rounds them)."""
    n = int(round((hi - lo) / step)) + 1
    digits = max(0, -int(math.floor(math.log10(step))) + 1)
    return np.round(lo + step * np.arange(n), digits)
