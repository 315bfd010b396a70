"""Adaptive truncation length (Aicher, Foti & Fox, UAI 2019, "Adaptively truncating backpropagation through time to
control gradient bias"): choose the TBPTT length K from a tolerable relative bias δ instead of guessing it.

Steps t = 0 … S − 1 of a window (explorer.jacobians' convention); the last step is t = S − 1 and its loss ℓ_t is
the only one backpropagated. Lag k = 0 … S − 1 is the state h_{t−k} = s_{t−k+1} (the full state [h; c] for an
LSTM, as the authors' code does). The paper writes the same quantities 1-based, ‖∂ℓ_S/∂h_{S−k}‖.

1. One backward pass of ℓ_t gives, for every lag k, the batch-mean adjoint and its norm
       v_k = (1/B) Σ_b ∂ℓ_{t,b}/∂s_{t−k+1,b}      (S_state,)         φ_k = (1/B) Σ_b ‖∂ℓ_{t,b}/∂s_{t−k+1,b}‖
   and the norm of the kept part  c_K = ‖Σ_{k<K} v_k‖  for K = 1 … S. The vector summed is the state adjoint, not
   the parameter gradient: that is what the authors' code sums (`cum_grad` in calculate_gradient_norms), so c_K and
   φ_k share their units (∂ℓ per unit of state); the parameter gradient only enters the *measured* bias below.
2. β, the decay rate of φ_k: least squares of ln φ_k = a + k ln β over k ≥ τ (zero φ_k left out). τ is the
   authors' rule from their experiments (window S = 100, τ = S − 20): the fit uses the last TAIL = 20 lags of the
   window, τ = max(0, S − 20) — their assumption is that the geometric regime has started by then. (Their "ols"
   estimator in fact fits every lag and their "max" one k > τ; this fits k ≥ τ, as the paper describes.)
   A fit with β ≥ 1 (φ_k not decaying), fewer than two positive φ_k to fit, or a non-finite φ_k means no finite
   bound exists: bound = ∞ and the chosen K is the largest, S. (β = 0 only when every φ_k, k ≥ τ, is exactly 0.)
3. Absolute-bias bound of truncating at K (what the lags k ≥ K would add), for K = 1 … S:
       bound(K) = φ_τ β^{K−τ} / (1 − β)                         K ≥ τ
       bound(K) = Σ_{k=K}^{τ−1} φ_k + φ_τ / (1 − β)             K < τ
   (the authors' code adds φ_τ twice in the second line; this follows the paper). Non-increasing in K.
4. Lower bound on the gradient's norm  L = max_K (c_K − bound(K)); relative bound rel(K) = bound(K) / L
   (∞ when L ≤ 0: the window cannot certify any K).
5. K = the smallest K with rel(K) < δ, else S.

Beside the bound, the *measured* relative bias ‖ĝ_K − g‖ / ‖g‖ (explorer.gradient_bias, all parameters, the
untruncated readout included) of TBPTT(K, K) against full BPTT on the same window:
- `bias_last`, for every K = 1 … S, on ℓ_t alone: the loss the bound is about. TBPTT(K, K) of a loss at the last
  step only is its full backward pass with the adjoints of steps < S − K dropped (its earlier windows carry no
  loss), so it is assembled from one backward pass, O(S² · G·H · (H + D)) in all; tests check every K against
  explorer.backward(trace, TBPTT(K, K)).
- `bias_trace`, on the window's own loss when it has targets before the last step (a loss at every step), from
  explorer.backward(trace, TBPTT(K, K)) for each K of `trace_ks`: O(len(trace_ks) · S) cell steps. There a loss
  early in a chunk keeps fewer than K lags, so its bias can exceed the bound, which assumes each loss keeps K.

Where the bound holds: it bounds state adjoints, the bias is measured on parameters, so it is an estimate, not a
theorem. In tests (tests/test_adaptive_truncation.py) it held on ℓ_t at every K for tanh RNNs with ρ < 1 (and, in
the seeds tried, for tanh RNNs up to ρ = 3 whenever a finite bound existed: saturated Jacobians still contract).
It does not hold, or gives nothing:
- when φ_k does not decay: a linear RNN with ρ ≥ 1 fits β ≥ 1 (no finite bound), a tanh RNN at ρ = 1.5 keeps φ_k
  level (β ≈ 0.999, L ≤ 0); either way K = S;
- for GRU and LSTM windows with ρ < 1, where the measured bias exceeds the bound at some K by up to ~1.5×, and for
  an occasional ReLU window (ρ = 0.7, seed 1: ~16 % at K = 6);
- for TBPTT(K, K) on a loss at every step (`bias_trace`), at nearly every K.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bptt import backward
from .forward import QUIET, Trace, forward
from .gradient_bias import compare, flat_gradient, gradient_bias
from .norms import frobenius
from .truncation import TBPTT
from .validation import finite_float

TAIL = 20              # β is fitted on the window's last TAIL lags: τ = max(0, S − TAIL) (Aicher et al.: S − 20)
ROUNDING = 1e-13       # a relative bias below this is float64 rounding, not truncation
TRACE_STEPS = 12_000   # cell steps the window-loss sweep may take by default: len(trace_ks) · S ≤ this


@dataclass(frozen=True)
class AdaptiveTruncation:
    """Aicher et al.'s estimate on one window of S steps (shapes below; K indexes truncation lengths 1 … S)."""

    lags: np.ndarray             # (S,) k = 0 … S − 1, steps back from the last step t = S − 1
    phi: np.ndarray              # (S,) φ_k = (1/B) Σ_b ‖∂ℓ_{t,b}/∂s_{t−k+1,b}‖
    cum_norm: np.ndarray         # (S,) c_K = ‖Σ_{k<K} v_k‖ for K = 1 … S
    tau: int                     # where the fit starts: β from k ≥ τ
    beta: float                  # fitted decay per lag, exp(slope) (may be ≥ 1; NaN if nothing to fit)
    log_phi0: float              # the fit's intercept: ln φ_k ≈ log_phi0 + k ln β for k ≥ τ
    bounded: bool                # 0 ≤ β < 1 and every φ_k finite: bound(K) is finite
    Ks: np.ndarray               # (S,) truncation lengths K = 1 … S
    bound: np.ndarray            # (S,) bound(K) on ‖what the lags k ≥ K add‖ (∞ when not bounded)
    lower_bound: float           # L = max_K (c_K − bound(K)) (−∞ when not bounded)
    relative_bound: np.ndarray   # (S,) bound(K) / L (∞ where L ≤ 0)
    delta: float                 # δ, the tolerable relative bias
    K: int                       # the smallest K with relative_bound < δ, else S
    measured_K: np.ndarray | None = None    # (S,) the K of bias_last (every K), None when not measured
    bias_last: np.ndarray | None = None     # (S,) ‖ĝ_K − g‖/‖g‖ of TBPTT(K, K) on ℓ_t alone
    trace_K: np.ndarray | None = None       # (m,) the K of bias_trace
    bias_trace: np.ndarray | None = None    # (m,) the same for the window's own loss (None: last step only)
    loss_name: str = field(default="")

    @property
    def S(self) -> int:
        return int(self.lags.size)

    @property
    def fitted(self) -> np.ndarray:
        """(S,) the fitted line exp(log_phi0 + k ln β) for k ≥ τ, NaN before τ (and everywhere without a fit)."""
        out = np.full(self.S, np.nan)
        if np.isfinite(self.log_phi0) and np.isfinite(self.beta) and self.beta > 0:
            with np.errstate(**QUIET):
                out[self.tau:] = np.exp(self.log_phi0 + self.lags[self.tau:] * np.log(self.beta))
        return out

    def choose(self, delta: float) -> int:
        """The K the rule picks for another δ (same window, no recomputation)."""
        return choose_K(self.relative_bound, finite_float("delta", delta, low=0.0, low_open=True))

    def violations(self) -> np.ndarray:
        """The K at which the measured bias on ℓ_t exceeds the relative bound (beyond rounding), (n,)."""
        if self.bias_last is None:
            return np.zeros(0, dtype=int)
        rel = self.relative_bound[self.measured_K - 1]
        return self.measured_K[self.bias_last > rel + ROUNDING]


def tau_rule(S: int) -> int:
    """τ = max(0, S − TAIL): the last TAIL lags of the window are fitted (Aicher et al.'s S − 20)."""
    return max(0, S - TAIL)


def last_loss_profile(trace: Trace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One backward pass of the last step's loss ℓ_t (t = S − 1, the trace's loss there): (φ_k (S,), c_K (S,),
    v (S, S_state) the batch-mean adjoints by lag). `trace` must hold ℓ_t only (see `window_traces`)."""
    rec = backward(trace)
    S = trace.valid_T
    with np.errstate(**QUIET):
        d = rec.delta[:S][::-1] * trace.B            # (S, B, S_state): ∂ℓ_{t,b}/∂s by lag (the engine has 1/B)
        phi = frobenius(d, axis=2).mean(axis=1)
        v = d.mean(axis=1)
        cum = frobenius(np.cumsum(v, axis=0), axis=1)
    return phi, cum, v


def fit_decay(phi: np.ndarray, tau: int) -> tuple[float, float]:
    """(β, intercept): least squares of ln φ_k = intercept + k ln β over k ≥ τ with φ_k > 0. β = 0 when every
    φ_k there is exactly 0 (a tail of exact zeros); NaN when fewer than two positive values remain."""
    k = np.arange(tau, phi.size, dtype=float)
    y = phi[tau:]
    ok = np.isfinite(y) & (y > 0)
    if np.all(y[np.isfinite(y)] == 0) and np.isfinite(y).all():
        return 0.0, float("-inf")
    if ok.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(k[ok], np.log(y[ok]), 1)
    with np.errstate(**QUIET):
        return float(np.exp(slope)), float(intercept)


def bias_bound(phi: np.ndarray, tau: int, beta: float) -> np.ndarray:
    """bound(K) for K = 1 … S (equations in the module docstring), (S,); ∞ everywhere when 0 ≤ β < 1 fails or a φ_k
    is not finite."""
    S = phi.size
    if not (np.isfinite(beta) and 0 <= beta < 1 and np.all(np.isfinite(phi))):
        return np.full(S, np.inf)
    K = np.arange(1, S + 1)
    tail = phi[tau] / (1.0 - beta)
    after = np.concatenate([np.cumsum(phi[::-1])[::-1], [0.0]])     # after[K] = Σ_{k ≥ K} φ_k within the window
    with np.errstate(**QUIET):
        geometric = phi[tau] * beta ** np.maximum(K - tau, 0) / (1.0 - beta)
        head = after[np.minimum(K, tau)] - after[tau] + tail               # Σ_{k=K}^{τ−1} φ_k + φ_τ/(1 − β)
    return np.where(K >= tau, geometric, head)


def lower_norm_bound(cum: np.ndarray, bound: np.ndarray) -> float:
    """L = max_K (c_K − bound(K)) (−∞ when every bound is infinite)."""
    with np.errstate(**QUIET):
        return float(np.max(cum - bound))


def relative_bound_of(bound: np.ndarray, L: float) -> np.ndarray:
    """bound(K) / L, ∞ where L ≤ 0 (no positive lower bound on the gradient's norm)."""
    if not L > 0:
        return np.full(bound.shape, np.inf)
    return bound / L


def choose_K(relative_bound: np.ndarray, delta: float) -> int:
    """The smallest K (1-based) with relative_bound < δ, else the largest, S."""
    hit = np.flatnonzero(relative_bound < delta)
    return int(hit[0] + 1) if hit.size else int(relative_bound.size)


def window_traces(trace: Trace) -> tuple[Trace, Trace]:
    """(the window's last loss ℓ_t alone, the window's own loss): the trace's first S = valid_T steps (an overflow
    ends the window), forwarded again from the same s_0 with the same targets."""
    if trace.targets is None:
        raise ValueError("the trace has no targets: call forward(..., targets=...) first")
    S = trace.valid_T
    if S < 1:
        raise ValueError("the trace overflows at its first step: there is no window to backpropagate")
    model, B = trace.model, trace.B
    X, y, s0 = trace.X[:S], trace.targets[:S], trace.state_at(0)      # (L, B, S) for a stack
    last = np.zeros((S, B))
    last[-1] = 1.0
    return (forward(model, X, y, loss=trace.loss_name, mask=last, s0=s0),
            forward(model, X, y, loss=trace.loss_name, mask=trace.mask[:S], s0=s0))


def measured_bias_last(trace: Trace) -> np.ndarray:
    """‖ĝ_K − g‖ / ‖g‖ (gradient_bias "all") of TBPTT(K, K) on a trace whose only loss is at its last step, for
    K = 1 … S, (S,). TBPTT(K, K)'s adjoints there are full BPTT's for steps ≥ S − K and zero before (module
    docstring), so its gradient is the cell's parameter GEMMs over steps S − K … S − 1 of one backward pass, plus the
    readout's (never truncated); at K = S this is explorer.backward's own sum, so the bias is exactly 0."""
    rec = backward(trace)
    model, S = trace.model, trace.valid_T
    H, cell, p = model.hidden_size, model.cell, model.params
    h_prev = trace.states[:S, :, :H]
    names = list(rec.grads)
    exact = flat_gradient(rec.grads, names)
    out = np.empty(S)
    with np.errstate(**QUIET):
        for K in range(1, S + 1):
            lo = S - K
            g = cell.param_grads(p, trace.X[lo:S], h_prev[lo:S], rec.dA_ih[lo:S], rec.dA_hh[lo:S])
            g.update(W_hy=rec.grads["W_hy"], b_y=rec.grads["b_y"])
            # gradient_bias(g, rec.grads)["all"], without the per-parameter comparisons it also makes
            out[K - 1] = compare(flat_gradient(g, names), exact).relative_error
    return out


def measured_bias_trace(trace: Trace, ks) -> np.ndarray:
    """‖ĝ_K − g‖ / ‖g‖ of explorer.backward(trace, TBPTT(K, K)) against full BPTT for each K in ks, (len(ks),)."""
    exact = backward(trace).grads
    return np.array([gradient_bias(backward(trace, TBPTT(int(K), int(K))).grads, exact)["all"].relative_error
                     for K in ks])


def trace_grid(S: int, K: int, steps: int = TRACE_STEPS) -> np.ndarray:
    """The K values the window-loss sweep measures: every K when S² ≤ steps, else steps // S of them (at least 6)
    spread evenly over 1 … S, always with the chosen K."""
    n = S if S * S <= steps else max(6, steps // S)
    return np.unique(np.concatenate([np.linspace(1, S, min(n, S)).round().astype(int), [K]]))


def adaptive_truncation(source, X=None, targets=None, *, loss: str = "cross_entropy", mask=None, s0=None,
                        delta: float = 0.1, tau: int | None = None, measure: bool = True,
                        trace_ks=None) -> AdaptiveTruncation:
    """Aicher et al.'s adaptive K on a window: `source` is a forward Trace with targets (the window is its first
    valid_T steps), or a Model with X (S, B, D), targets, loss, mask and s0 as for explorer.forward.

    delta: tolerable relative bias δ > 0; tau: where the fit of β starts (default tau_rule(S) = max(0, S − 20));
    measure: also measure TBPTT(K, K)'s relative bias (bias_last for every K; O(S²·G·H·(H + D))); trace_ks: the K at
    which to measure it on the window's own loss (default trace_grid(S, K); ignored when that loss is at the last
    step only)."""
    delta = finite_float("delta", delta, low=0.0, low_open=True)
    trace = source if isinstance(source, Trace) else forward(source, X, targets, loss=loss, mask=mask, s0=s0)
    last, own = window_traces(trace)
    S = last.valid_T
    if S < last.T:          # the last loss itself overflowed: the window is what stays finite
        last, own = window_traces(last)
        S = last.T
    tau = tau_rule(S) if tau is None else int(tau)
    if not 0 <= tau < S:
        raise ValueError(f"tau must be in [0, {S - 1}] (S = {S} lags), got {tau}")
    phi, cum, _ = last_loss_profile(last)
    beta, log_phi0 = fit_decay(phi, tau)
    bound = bias_bound(phi, tau, beta)
    bounded = bool(np.isfinite(bound).all())
    L = lower_norm_bound(cum, bound)
    rel = relative_bound_of(bound, L)
    K = choose_K(rel, delta)
    out = dict(lags=np.arange(S), phi=phi, cum_norm=cum, tau=tau, beta=beta, log_phi0=log_phi0, bounded=bounded,
               Ks=np.arange(1, S + 1), bound=bound, lower_bound=L, relative_bound=rel, delta=delta, K=K,
               loss_name=trace.loss_name)
    if measure:
        out.update(measured_K=np.arange(1, S + 1), bias_last=measured_bias_last(last))
        if np.any(own.mask[:-1] > 0):
            ks = trace_grid(S, K) if trace_ks is None else np.asarray(trace_ks, dtype=int)
            if ks.size and (ks.min() < 1 or ks.max() > S):
                raise ValueError(f"trace_ks must lie in [1, {S}], got {ks.min()} … {ks.max()}")
            out.update(trace_K=ks, bias_trace=measured_bias_trace(own, ks))
    return AdaptiveTruncation(**out)
