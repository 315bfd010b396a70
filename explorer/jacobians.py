"""Jacobian diagnostics: step Jacobians, the long-range products ∂s_T/∂s_k with their singular values, the
spectrum of W_hh and the bounds the vanishing/exploding lessons draw.

The index convention, used by the engine and by every equation the app shows: steps are t = 0 … T − 1, as the
arrays are; step t reads h_{t−1} (h_{−1} is the initial state) and writes h_t. In the cells' state notation the
state entering step t is s_t, so s_0 = h_{−1} and s_{t+1} = h_t (the LSTM's s_t holds [h; c]).
    Step Jacobian J_t = ∂h_t/∂h_{t−1} = ∂s_{t+1}/∂s_t (vanilla RNN: diag(φ'(a_t)) W_hh); row t of
    `step_jacobians` is J_t.
    Long-range product at lag ℓ, from the last step t = T − 1:  ∂h_t/∂h_(t−ℓ) = J_t J_{t−1} ⋯ J_(t−ℓ+1).
Products are accumulated once, backwards (T matmuls, not T²), and stored as P̃_k · e^{λ_k} with max|P̃_k| = 1:
the log-scale λ_k is carried separately, so nothing overflows or underflows (or turns subnormal, which is 6×
slower) even at T = 1000. Singular values come back as logs; those below ~1e-15 × σ_max of the same product
are at rounding level (float64) and flagged as such by `rel_floor`.

Bounds (Pascanu et al. 2013): ‖∂h_t/∂h_(t−ℓ)‖₂ ≤ (σ₁ γ)^ℓ with γ = sup|φ'| (1 tanh/ReLU/linear, ¼ sigmoid);
for a linear RNN the product behaves like ρ^ℓ.

Phase map (lesson 3): log10 ‖∂h_t/∂h_(t−ℓ)‖₂ over a grid of W_hh scales × lags, the same network (seed) and the same
inputs at every scale: `phase_map`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import QUIET, Trace, forward
from .validation import choice

BLOCKS = ("h", "c", "state")


def _layer(trace: Trace, layer: int | None, reverse: bool):
    """(cell, params, cache) of one layer and direction of the trace (default: the top layer, forward)."""
    model = trace.model
    if layer is None and not reverse:
        return model.layer_cell(model.num_layers - 1), model.layer_params(model.num_layers - 1), trace.cache
    layer = model.num_layers - 1 if layer is None else layer
    if not 0 <= layer < model.num_layers:
        raise ValueError(f"layer must be in [0, {model.num_layers - 1}], got {layer}")
    if reverse and not model.bidirectional:
        raise ValueError("reverse=True needs a bidirectional model")
    return model.layer_cell(layer), model.layer_params(layer, reverse), trace.caches[layer][int(reverse)]


def step_jacobians(trace: Trace, b: int = 0, *, layer: int | None = None, reverse: bool = False) -> np.ndarray:
    """J_t = ∂h_t/∂h_{t−1} (= ∂s_{t+1}/∂s_t) for t = 0 … valid_T−1 of sequence b, shape (valid_T, S, S); of a
    stacked model's layer `layer` (default the top), J_t^{(l)} = ∂s_{t+1}^{(l)}/∂s_t^{(l)} within the layer
    (reverse: the reverse direction's, in its own step order).

    Built from each cell's own backward (row i of J_t = J_tᵀ e_i), so it can never disagree with the gradients."""
    if not 0 <= b < trace.B:
        raise ValueError(f"b (sequence index) must be in [0, {trace.B - 1}], got {b}")
    cell, p, cache = _layer(trace, layer, reverse)
    with np.errstate(**QUIET):
        return cell.step_jacobians(p, cache.batch_slice(b), trace.valid_T)


def layer_jacobians(trace: Trace, layer: int, b: int = 0) -> np.ndarray:
    """The layer-to-layer Jacobians ∂s_{t+1}^{(l)}/∂h_t^{(l−1)} of a stacked model for t = 0 … valid_T−1 of
    sequence b, shape (valid_T, dirs·S, H·dirs_below): how layer l's new state (rows: forward direction's S
    entries, then the reverse direction's) moves with what it reads from layer l − 1 at the same step (columns).
    h_t^{(l)} depends on h_t^{(l−1)} only through step t's input x_t^{(l)} = h_t^{(l−1)}, so this direct partial
    is the total one; its rows [:H] are ∂h_t^{(l)}/∂h_t^{(l−1)} = diag(φ'(a_t^{(l)})) W_xh^{(l)} for a vanilla RNN.
    Row i is e_iᵀ ∂s/∂x = (dA_ih for ds = e_i) W_xh^{(l)}, from the cell's own step_backward."""
    model = trace.model
    if not 1 <= layer < model.num_layers:
        raise ValueError(f"layer must be in [1, {model.num_layers - 1}] (layer 0 reads the inputs), got {layer}")
    if not 0 <= b < trace.B:
        raise ValueError(f"b (sequence index) must be in [0, {trace.B - 1}], got {b}")
    cell, S, n, T = model.layer_cell(layer), model.cell.state_size, trace.valid_T, trace.T
    eye = np.eye(S, dtype=model.dtype)[:, None, :]
    out = np.empty((n, model.directions * S, cell.input_size), dtype=model.dtype)
    with np.errstate(**QUIET):
        for d in range(model.directions):
            p, cache = model.layer_params(layer, d == 1), trace.caches[layer][d].batch_slice(b)
            for t in range(n):
                a_ih = cell.step_backward(p, cache, T - 1 - t if d else t, eye)[0]
                out[t, d * S:(d + 1) * S] = a_ih[:, 0, :] @ p["W_xh"]
    return out


@dataclass
class JacobianProducts:
    """‖∂x_t/∂x_(t−ℓ)‖₂ and the singular values of ∂x_t/∂x_(t−ℓ) at the last step t, for the block x ∈ {h, c,
    state}, by lag ℓ."""

    lags: np.ndarray          # (K,) lags ℓ (0 = identity)
    log_norm: np.ndarray      # (K,) ln ‖∂x_T/∂x_k‖₂
    log_sv: np.ndarray | None  # (K, n) ln σ_i, descending; None when spectrum=False
    block: str
    T_end: int                # the T of ∂x_T/∂x_k (valid_T: the last finite step)

    @property
    def norm(self) -> np.ndarray:
        """‖∂x_T/∂x_k‖₂ (may under/overflow to 0 or inf where the log does not)."""
        with np.errstate(over="ignore", under="ignore"):
            return np.exp(self.log_norm)

    @property
    def log10_norm(self) -> np.ndarray:
        return self.log_norm / np.log(10.0)

    @property
    def log10_sv(self) -> np.ndarray | None:
        return None if self.log_sv is None else self.log_sv / np.log(10.0)

    @property
    def rel_floor(self) -> float:
        """Singular values below exp(log_norm) × rel_floor are at float64 rounding level."""
        return 1e-15


def jacobian_products(trace: Trace, *, b: int = 0, block: str = "h", spectrum: bool = True,
                      lags=None, layer: int | None = None, reverse: bool = False) -> JacobianProducts:
    """Log-norms (and, with spectrum, all singular values) of ∂x_t/∂x_(t−ℓ) (t the last valid step) for every lag
    ℓ, or only `lags` — within layer `layer` of a stacked model (default the top one; reverse: its reverse
    direction, lags counted in that direction's own step order).

    Cost: one step Jacobian and one S×S matmul per lag up to the largest requested one (the product stops
    there), plus one SVD per requested lag: explorer.work_budget.step_jacobian_cost and svd_cost."""
    choice("block", block, BLOCKS)
    H = trace.model.hidden_size
    S = trace.model.cell.state_size
    if block == "c" and "c" not in trace.model.cell.state_names:
        raise ValueError("block 'c' (cell state) exists only for the LSTM; use 'h' or 'state'")
    if not 0 <= b < trace.B:
        raise ValueError(f"b (sequence index) must be in [0, {trace.B - 1}], got {b}")
    n = trace.valid_T
    cell, p, cache = _layer(trace, layer, reverse)
    cache = cache.batch_slice(b)
    block_len = max(1, (4 << 20) // (8 * S * S))           # J_t built ≤ 4 MB at a time, not all T of them at once
    J, J_lo = None, n
    if block == "state":
        sl = slice(0, S)
    else:                                                   # the cell's state is [h; c] for the LSTM, [h] else
        i = trace.model.cell.state_names.index(block)
        sl = slice(i * H, (i + 1) * H)
    want = np.arange(n + 1) if lags is None else np.unique(np.clip(np.asarray(lags, dtype=int), 0, n))
    wanted = np.zeros(n + 1, dtype=bool)
    wanted[want] = True
    m = sl.stop - sl.start
    K = want.size
    log_norm = np.empty(K)
    log_sv = np.empty((K, m)) if spectrum else None
    chunk = max(1, min(K, (32 << 20) // (8 * m * m)))      # SVD in batches of ≤ 32 MB
    store = np.empty((chunk, m, m))
    scales = np.empty(chunk)
    filled = done = 0

    def flush():
        nonlocal filled, done
        if filled:
            with np.errstate(divide="ignore"):
                lsv = np.log(np.linalg.svd(store[:filled], compute_uv=False)) + scales[:filled, None]
            log_norm[done:done + filled] = lsv[:, 0]
            if spectrum:
                log_sv[done:done + filled] = lsv
            done += filled
            filled = 0

    P = np.eye(S)
    absP = np.empty_like(P)
    log_scale = 0.0
    with np.errstate(**QUIET):
        for lag in range(int(want[-1]) + 1):          # no product beyond the largest lag asked for
            if lag > 0:
                t = n - lag
                if t < J_lo:
                    J_lo = max(0, t + 1 - block_len)
                    J = cell.step_jacobians(p, cache, t + 1, J_lo)
                P = P @ J[t - J_lo]              # ∂s_n/∂s_{n−lag} = (∂s_n/∂s_{n−lag+1}) ∂s_{n−lag+1}/∂s_{n−lag}
                mx = np.abs(P, out=absP).max()
                if 0 < mx < np.inf:
                    P *= 1.0 / mx
                    log_scale += np.log(mx)
            if wanted[lag]:
                store[filled] = P[sl, sl]
                scales[filled] = log_scale
                filled += 1
                if filled == chunk:
                    flush()
        flush()
    return JacobianProducts(want, log_norm, log_sv, block, n)


def even_lags(L: int, n: int) -> np.ndarray:
    """n lags spread evenly over 0 … L (integers, sorted, no repeats: all L + 1 of them when n ≥ L + 1)."""
    return np.unique(np.linspace(0, L, min(L + 1, n)).astype(int))


def phase_map(build, X, targets, mask=None, *, scales, lags, loss: str = "cross_entropy", b: int = 0):
    """log10 ‖∂h_t/∂h_(t−ℓ)‖₂ (t the last step) for every W_hh scale s × lag ℓ: (scales (n,), lags (K,), z (n, K)).

    build(scale=s) returns the network at scale s (e.g. `Scenario.model`, or functools.partial(build_model, …)
    with everything but the scale fixed); each is run forward on the same X (T, B, D), targets and mask, and
    `jacobian_products` (h block, sequence b, no spectrum) measures the requested lags. After an overflow the
    products end at the last finite step (valid_T < T) and reach only lags ≤ valid_T: the lag valid_T itself is
    measured and fills the slot of the first requested lag ≥ it (np.searchsorted), and z[i] stays NaN past that
    slot. Cost per scale: a forward pass, max(lags) step Jacobians and products, and K SVDs
    (explorer.work_budget.step_jacobian_cost, svd_cost)."""
    lags = np.asarray(lags)
    out = np.full((len(scales), lags.size), np.nan)
    for i, s in enumerate(scales):
        tr = forward(build(scale=float(s)), X, targets, loss=loss, mask=mask)
        jp = jacobian_products(tr, b=b, spectrum=False, lags=lags)
        vals = np.full(lags.size, np.nan)
        vals[np.searchsorted(lags, jp.lags)] = jp.log10_norm
        out[i] = vals
    return scales, lags, out


@dataclass
class Spectrum:
    """Eigenvalues and singular values of a recurrent matrix, with ρ, σ₁ and the activation's γ."""

    eigenvalues: np.ndarray       # complex (H,)
    singular_values: np.ndarray   # (H,), descending
    gamma: float

    @property
    def rho(self) -> float:
        return float(np.max(np.abs(self.eigenvalues)))

    @property
    def sigma1(self) -> float:
        return float(self.singular_values[0])


def weight_spectrum(model) -> Spectrum:
    """Spectrum of the model's recurrent matrix (W_hh; diag(u) for IndRNN; the candidate block for LSTM/GRU)."""
    W = model.recurrent_matrix().astype(np.float64)
    return Spectrum(np.linalg.eigvals(W), np.linalg.svd(W, compute_uv=False), model.cell.gamma)


def bound_crossing(jp: JacobianProducts, spectrum: Spectrum, rtol: float = 1e-9) -> int | None:
    """The first lag at which the measured ‖∂h_t/∂h_(t−ℓ)‖₂ exceeds Pascanu's (σ₁γ)^ℓ (beyond rounding), or None.
    For a vanilla RNN it never does; for gated cells the bound does not apply (their state Jacobian is not
    diag(φ') W_hh) and the measured norm may cross it."""
    bound = log_pascanu_bound(spectrum.sigma1, spectrum.gamma, jp.lags) / np.log(10)
    over = np.isfinite(jp.log10_norm) & (jp.log10_norm > bound + rtol * np.maximum(1.0, np.abs(bound)))
    return int(jp.lags[np.argmax(over)]) if over.any() else None


def log_pascanu_bound(sigma1: float, gamma: float, lags) -> np.ndarray:
    """ln of (σ₁ γ)^ℓ: an upper bound on ‖∂h_t/∂h_(t−ℓ)‖₂ for a vanilla RNN (ℓ = `lags`)."""
    with np.errstate(divide="ignore"):
        return np.asarray(lags, dtype=float) * np.log(sigma1 * gamma)


def log_linear_rate(rho: float, lags) -> np.ndarray:
    """ln of ρ^lag: the growth rate of (W_hh)^lag, exact in norm for a normal W_hh and a linear RNN."""
    with np.errstate(divide="ignore"):
        return np.asarray(lags, dtype=float) * np.log(rho)
