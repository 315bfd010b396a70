"""Backpropagation through time with per-timestep records.

The adjoint of the state, δ_t = ∂L/∂h_t, obeys  δ_t = ∂ℓ_t/∂h_t + J_{t+1}ᵀ δ_{t+1},  δ_T = 0 (steps t = 0 … T − 1,
J_t = ∂h_t/∂h_{t−1}: the index convention of explorer.jacobians),
where ∂ℓ_t/∂h_t = W_hyᵀ ∂ℓ_t/∂y_t. Each step's cell backward turns δ_t into the adjoints of its input and
recurrent pre-activations (dA_ih, dA_hh); parameter gradients are then Σ_t of per-step terms, computed as one
GEMM each after the loop. Cost: O(T) cell steps, O(T·B·S) memory for the records.

Truncated schemes run the same loop over windows (TBPTT) or with per-transition multipliers ξ (randomized);
`all_losses_backward` backpropagates every loss separately (O(T²)) for the temporal-contribution map G[t,k],
absolute connectivity ‖∂ℓ_t/∂x_k‖ and the gradient under an arbitrary mask.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .forward import QUIET, Trace, forward
from .norms import frobenius, outer_sum_norm
from .truncation import Full, Scheme, Window


@dataclass
class LayerBackward:
    """One layer's (one direction's) backward records, in that direction's own step order (a reverse direction's
    step t reads x_{T−1−t})."""

    delta: np.ndarray            # (T, B, S) ∂L/∂s_t^{(l)} after step t, as seen by the scheme
    dA_ih: np.ndarray            # (T, B, G·H)
    dA_hh: np.ndarray            # (T, B, G·H)
    d_s0: np.ndarray             # (B, S) ∂L/∂s_0^{(l)}


@dataclass
class GradientRecord:
    """One backward pass: exact gradients (of the loss up to any overflow) and what happened at every step.

    For a stacked model (explorer.stacked) delta, dA_ih, dA_hh and d_s0 are the TOP layer's forward direction's,
    and `runs[l][d]` holds every layer's; `delta_by_layer` is δ_t^{(l)} = ∂L/∂h_t^{(l)} (L, T, B, H·dirs) in
    time order, `delta_norms_by_layer` its norms (L, T)."""

    grads: dict[str, np.ndarray]
    delta: np.ndarray            # (T, B, S) δ_t = ∂L/∂s_t after step t (as seen by the scheme); NaN after overflow
    dA_ih: np.ndarray            # (T, B, G·H) adjoint of W_xh x_t + b at step t
    dA_hh: np.ndarray            # (T, B, G·H) adjoint of the recurrent pre-activation part at step t
    d_s0: np.ndarray             # (B, S) ∂L/∂s_0
    scheme: Scheme
    trace: Trace = field(repr=False)
    backward_overflow_step: int | None = None   # latest step whose δ is not finite (δ overflowed going back)
    layer_runs: tuple | None = None             # stacked: runs[l][d] (LayerBackward); None for one layer

    @property
    def runs(self) -> tuple:
        """runs[l][d]: the LayerBackward of layer l, direction d."""
        if self.layer_runs is None:
            return ((LayerBackward(self.delta, self.dA_ih, self.dA_hh, self.d_s0),),)
        return self.layer_runs

    @property
    def num_layers(self) -> int:
        return len(self.runs)

    def layer_delta(self, layer: int, block: str = "h") -> np.ndarray | None:
        """∂L/∂h_t^{(l)} (block "h") or ∂L/∂c_t^{(l)} ("c", LSTM; None otherwise) for every t, (T, B, H·dirs):
        the forward and (time-reversed) reverse directions side by side."""
        H = self.hidden_size
        if block == "c" and self.delta.shape[-1] != 2 * H:
            return None
        sl = slice(0, H) if block == "h" else slice(H, 2 * H)
        parts = [r.delta[..., sl] if d == 0 else r.delta[::-1, :, sl] for d, r in enumerate(self.runs[layer])]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)

    @property
    def delta_by_layer(self) -> np.ndarray:
        """δ_t^{(l)} = ∂L/∂h_t^{(l)} for every layer, (L, T, B, H·dirs)."""
        return np.stack([self.layer_delta(l) for l in range(self.num_layers)])

    @property
    def delta_norms_by_layer(self) -> np.ndarray:
        """‖δ_t^{(l)}‖ (Frobenius over the batch and both directions), (L, T); row L − 1 is delta_norms."""
        return frobenius(self.delta_by_layer, axis=(2, 3))

    @property
    def delta_c_norms_by_layer(self) -> np.ndarray | None:
        """‖∂L/∂c_t^{(l)}‖ for an LSTM, (L, T); None otherwise."""
        if self.delta_c is None:
            return None
        return np.stack([frobenius(self.layer_delta(l, "c"), axis=(1, 2)) for l in range(self.num_layers)])

    @property
    def d_s0_by_layer(self) -> np.ndarray:
        """∂L/∂s_0 of every layer and direction, (L·dirs, B, S), in torch's h_0 order."""
        return np.stack([r.d_s0 for runs in self.runs for r in runs])

    @property
    def T(self) -> int:
        return self.delta.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.trace.model.hidden_size

    @property
    def delta_h(self) -> np.ndarray:
        """∂L/∂h_t, (T, B, H)."""
        return self.delta[..., : self.hidden_size]

    @property
    def delta_c(self) -> np.ndarray | None:
        """∂L/∂c_t for an LSTM, (T, B, H); None otherwise."""
        return self.delta[..., self.hidden_size:] if self.delta.shape[-1] == 2 * self.hidden_size else None

    @property
    def delta_norms(self) -> np.ndarray:
        """‖δ_t‖ = ‖∂L/∂h_t‖ (Frobenius over the batch), (T,)."""
        return frobenius(self.delta_h, axis=(1, 2))

    @property
    def delta_c_norms(self) -> np.ndarray | None:
        dc = self.delta_c
        return None if dc is None else frobenius(dc, axis=(1, 2))

    @cached_property
    def term_norms(self) -> dict[str, np.ndarray]:
        """name → (T,) Frobenius norm of the per-step term of ∂L/∂name, for the recurrent weight (W_hh, or u
        for IndRNN) and W_xh: ‖dA_hh,tᵀ h_{t−1}‖ and ‖dA_ih,tᵀ x_t‖. Computed on first use (O(T·B²·G·H)).
        The top layer's (forward direction's) for a stacked model: `layer_term_norms` for the others."""
        return self.layer_term_norms(self.num_layers - 1)

    def layer_term_norms(self, layer: int, reverse: bool = False) -> dict[str, np.ndarray]:
        """`term_norms` of layer l (direction reverse, in its own step order): ‖dA_hh,tᵀ h_{t−1}^{(l)}‖ and
        ‖dA_ih,tᵀ x_t^{(l)}‖, x^{(l)} being what the layer reads."""
        tr = self.trace
        cell = tr.model.layer_cell(layer)
        run, cache, x = self.runs[layer][int(reverse)], tr.caches[layer][int(reverse)], tr.inputs[layer]
        x = x[::-1] if reverse else x
        n, H = tr.valid_T, self.hidden_size
        rec_name = cell.recurrent_term_name()
        out = {rec_name: np.full(self.T, np.nan), "W_xh": np.full(self.T, np.nan)}
        out[rec_name][:n] = cell.recurrent_term_norms(run.dA_hh[:n], cache.states[:n, :, :H])
        out["W_xh"][:n] = outer_sum_norm(run.dA_ih[:n], x[:n])
        return out

    @property
    def finite(self) -> bool:
        return all(bool(np.all(np.isfinite(g))) for g in self.grads.values())

    @property
    def overflow_step(self) -> int | None:
        return self.trace.overflow_step

    def mask(self) -> np.ndarray:
        """The (T, T) mask M[t, k] this scheme applied (see explorer.truncation)."""
        return self.scheme.mask(self.T)

    def per_step_term(self, t: int) -> np.ndarray:
        """The step-t term of ∂L/∂W_hh (or ∂L/∂u for IndRNN); the gradient is their sum over t."""
        h_prev = self.trace.states[t, :, : self.hidden_size]
        return self.trace.model.cell.per_step_term(self.dA_hh[t], h_prev)

    def input_gradients(self) -> np.ndarray:
        """∂L/∂x_t for every step, (T, B, D) (of the network's input: layer 0, both directions)."""
        model = self.trace.model
        if not model.stacked:
            return self.dA_ih @ model.params["W_xh"]
        out = 0
        for d, r in enumerate(self.runs[0]):
            g = r.dA_ih @ model.layer_params(0, d == 1)["W_xh"]
            out = out + (g[::-1] if d else g)
        return out


def backward(trace: Trace, scheme: Scheme = Full()) -> GradientRecord:
    """Gradients of trace's loss under `scheme` (full BPTT by default)."""
    if trace.loss_name is None:
        raise ValueError("the trace has no loss: call forward(..., targets=...) first")
    if trace.model.stacked:
        from .stacked import backward_stack
        return backward_stack(trace, scheme)
    model, cache = trace.model, trace.cache
    cell, p = model.cell, model.params
    T = trace.T
    n = trace.valid_T
    windows = [w for w in scheme.windows(T) if w.lo < n]

    with np.errstate(**QUIET):
        inject = trace.dl_ds()
        delta, dA_ih, dA_hh, d_s0 = run_backward(cell, p, cache, inject, windows, scheme.xi(T), n)
        if n < T:
            delta[n:] = np.nan
        bad = ~np.all(np.isfinite(delta[:n]), axis=(1, 2))
        back_overflow = int(n - 1 - np.argmax(bad[::-1])) if bad.any() else None
        grads = assemble_grads(trace, n, dA_ih[:n], dA_hh[:n])
    return GradientRecord(grads, delta, dA_ih, dA_hh, d_s0, scheme, trace, back_overflow)


def assemble_grads(trace: Trace, n: int, dA_ih: np.ndarray, dA_hh: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter gradients from the per-step adjoints of steps 0 … n−1, plus the readout's
    ∂L/∂W_hy = Σ_t ∂L/∂y_t h_tᵀ and ∂L/∂b_y = Σ_t ∂L/∂y_t (immediate: never truncated)."""
    model = trace.model
    H = model.hidden_size
    states = trace.cache.states
    grads = model.cell.param_grads(model.params, trace.X[:n], states[:n, :, :H], dA_ih, dA_hh)
    dY = trace.dY[:n].reshape(-1, trace.dY.shape[-1])
    grads["W_hy"] = dY.T @ states[1:n + 1, :, :H].reshape(-1, H)
    grads["b_y"] = dY.sum(axis=0)
    return {k: grads[k] for k in model.param_shapes()}     # in the order the model lists its parameters


def run_backward(cell, p, cache, inject, windows, xi=None, n=None, ds_in=None):
    """The BPTT loop. For each window, start from ds_in (or 0) after step hi, walk back to lo injecting
    ∂ℓ_t/∂s_t for t ≥ loss_lo; δ_t, dA_ih, dA_hh accumulate over windows. ξ_t (if given) scales the transition
    into step t. Returns (delta, dA_ih, dA_hh, ∂L/∂s_0) with arrays (T, B, ·)."""
    T, B, S = inject.shape
    n = T if n is None else n
    GH, dt = cache.pre.shape[-1], cache.pre.dtype
    distinct = getattr(cell, "distinct_adjoints", False)
    delta = np.zeros((T, B, S), dtype=dt)
    dA_ih = np.zeros((T, B, GH), dtype=dt)
    dA_hh = np.zeros((T, B, GH), dtype=dt) if distinct else dA_ih
    d_s0 = np.zeros((B, S), dtype=dt)
    step = cell.step_backward
    for w in windows:
        hi = min(w.hi, n - 1)
        ds = np.zeros((B, S), dtype=dt) if ds_in is None else ds_in
        for t in range(hi, w.lo - 1, -1):
            if t >= w.loss_lo:
                ds = ds + inject[t]
            delta[t] += ds
            a_ih, a_hh, ds = step(p, cache, t, ds)
            dA_ih[t] += a_ih
            if distinct:
                dA_hh[t] += a_hh
            if xi is not None:
                ds = ds * xi[t]
        if w.lo == 0:
            d_s0 += ds
    return delta, dA_ih, dA_hh, d_s0


def step_norms(rec: GradientRecord, b: int = 0) -> dict[str, np.ndarray]:
    """What each step of sequence b adds to the backward pass, (T,) each:
        norm_delta     ‖δ_t‖ = ‖∂L/∂h_t‖
        norm_direct    ‖W_hyᵀ ∂ℓ_t/∂y_t‖, this step's own loss
        norm_through_J ‖J_{t+1}ᵀ δ_{t+1}‖, what arrives from step t + 1 (the gradient the edge h_t → h_{t+1}
                       carries back); δ_t = direct + through
        norm_c         ‖∂L/∂c_t‖ arriving along c_t → c_{t+1} (f_{t+1} ⊙ δc_{t+1}, the carousel), LSTM only
        norm_term      ‖(∂L/∂a_t) h_{t−1}ᵀ‖, the step's term of the recurrent weight's gradient (W_hh; u for the
                       IndRNN; all sequences: GradientRecord.term_norms)
    plus norm_h ‖h_t‖, loss ℓ_t and target (whether step t has one)."""
    tr = rec.trace
    H = tr.model.hidden_size
    sl = slice(b, b + 1)
    direct = tr.dl_ds()[:, sl, :H]
    dh = rec.delta_h[:, sl]
    with np.errstate(invalid="ignore", over="ignore"):
        through = dh - direct
    out = {"norm_h": frobenius(tr.h[:, sl], axis=(1, 2)), "loss": tr.step_loss, "target": tr.mask[:, b] > 0,
           "norm_delta": frobenius(dh, axis=(1, 2)), "norm_direct": frobenius(direct, axis=(1, 2)),
           "norm_through_J": frobenius(through, axis=(1, 2)),
           "norm_term": rec.term_norms[tr.model.cell.recurrent_term_name()]}
    if rec.delta_c is not None:
        out["norm_c"] = frobenius(rec.delta_c[:, sl], axis=(1, 2))
    return out


def bptt(model, X, targets, *, loss: str = "cross_entropy", mask=None, s0=None,
         scheme: Scheme = Full()) -> GradientRecord:
    """forward + backward in one call: the gradient of L = (1/B) Σ_b Σ_t ℓ_t under `scheme`."""
    return backward(forward(model, X, targets, loss=loss, mask=mask, s0=s0), scheme)


@dataclass
class AllLosses:
    """Results of backpropagating every loss ℓ_t on its own (O(T²) cell steps, vectorised over t)."""

    G: np.ndarray | None             # (T, T) G[t,k] = ‖(∂ℓ_t/∂s_t)(∂s_t/∂s_k)(∂⁺s_k/∂W_hh)‖_F, 0 above the diagonal
    connectivity: np.ndarray | None  # (T, T) ‖∂ℓ_t/∂x_k‖_F (absolute, not normalised per row)
    grads: dict | list | None        # gradient under the given mask (a list for a stack of masks)
    G_by_layer: np.ndarray | None = None   # (L, T, T) G of every layer's W_hh^{(l)} (G is the top layer's, G_by_layer[-1])


def all_losses_backward(trace: Trace, mask: np.ndarray | None = None, *, contributions: bool = True,
                        connectivity: bool = True) -> AllLosses:
    """Backpropagate each ℓ_t separately: the rows of V are v_{t,k} = (∂s_t/∂s_k)ᵀ ∂ℓ_t/∂s_t for all t ≥ k.

    With `mask` (T, T), also the gradient Σ_t Σ_k M[t,k] (∂ℓ_t/∂s_t)(∂s_t/∂s_k)(∂⁺s_k/∂θ) — the definition every
    truncation scheme's mask is checked against; with a stack of masks (n, T, T), a list of n gradients from the
    same single pass. Cost O(T² · B · S · G·H): ask for it only when it is drawn. A stacked model: G is the
    top layer's, G_by_layer every layer's, connectivity is to the network's inputs x_k (explorer.stacked)."""
    if trace.model.stacked:
        from .stacked import all_losses_stack
        return all_losses_stack(trace, mask, contributions=contributions, connectivity=connectivity)
    model, cache = trace.model, trace.cache
    cell, p = model.cell, model.params
    T, B, H = trace.T, trace.B, model.hidden_size
    n = trace.valid_T
    dt = model.dtype
    G = np.full((T, T), np.nan) if contributions else None
    conn = np.full((T, T), np.nan) if connectivity else None
    many = mask is not None and np.ndim(mask) == 3
    if mask is not None:
        mask = np.asarray(mask, dtype=dt)
        if mask.shape[-2:] != (T, T) or mask.ndim not in (2, 3):
            raise ValueError(f"mask must have shape (T, T) or (n, T, T) with T = {T}, got {mask.shape}")
        if not many:
            mask = mask[None]
    with np.errstate(**QUIET):
        inject = trace.dl_ds()
        S = cell.state_size
        V = np.zeros((n, B, S), dtype=dt)
        GH = cache.pre.shape[-1]
        nm = 0 if mask is None else mask.shape[0]
        dA_ih = np.zeros((nm, n, B, GH), dtype=dt)
        dA_hh = np.zeros((nm, n, B, GH), dtype=dt)
        if G is not None:
            G[:n, :n] = 0.0
        if conn is not None:
            conn[:n, :n] = 0.0
        for k in range(n - 1, -1, -1):
            V[k] = inject[k]
            a_ih, a_hh, V_prev = cell.step_backward(p, cache, k, V[k:])     # rows: losses t = k … n−1
            h_prev = cache.states[k, :, :H]
            if G is not None:
                G[k:n, k] = cell.recurrent_term_norms(a_hh, h_prev)
            if conn is not None:
                dx = a_ih @ p["W_xh"]
                conn[k:n, k] = frobenius(dx, axis=(-2, -1))
            if nm:
                wts = mask[:, k:n, k]                                       # (n_masks, losses)
                dA_ih[:, k] = np.tensordot(wts, a_ih, axes=(1, 0))
                dA_hh[:, k] = np.tensordot(wts, a_hh, axes=(1, 0))
            V[k:] = V_prev
        grads = [assemble_grads(trace, n, dA_ih[i], dA_hh[i]) for i in range(nm)] if nm else None
        if grads is not None and not many:
            grads = grads[0]
    return AllLosses(G, conn, grads)


def masked_gradient(trace: Trace, mask: np.ndarray) -> dict[str, np.ndarray]:
    """The gradient under an arbitrary (T, T) mask M[t, k] (O(T²); see `all_losses_backward`)."""
    return all_losses_backward(trace, mask, contributions=False, connectivity=False).grads


def randomized_draws(trace: Trace, keep_prob: float, n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """n randomized-truncation gradients (draw i uses Randomized(keep_prob, seed + i)) in ONE backward pass:
    the draws ride along as a leading batch dimension, each with its own multipliers ξ. Equal to n separate
    `backward(trace, Randomized(keep_prob, seed + i))` calls, ~n× cheaper in Python overhead (a stacked model
    makes the n calls)."""
    from .truncation import Randomized
    if trace.model.stacked:
        return [backward(trace, Randomized(keep_prob, seed + i)).grads for i in range(n)]
    model, cache = trace.model, trace.cache
    cell, p = model.cell, model.params
    T, B, nT = trace.T, trace.B, trace.valid_T
    xi = np.stack([Randomized(keep_prob, seed + i).xi(T) for i in range(n)])        # (n, T)
    S, GH, dt = cell.state_size, cache.pre.shape[-1], model.dtype
    with np.errstate(**QUIET):
        inject = trace.dl_ds()
        dA_ih = np.zeros((n, nT, B, GH), dtype=dt)
        dA_hh = np.zeros((n, nT, B, GH), dtype=dt)
        ds = np.zeros((n, B, S), dtype=dt)
        for t in range(nT - 1, -1, -1):
            ds = ds + inject[t]
            a_ih, a_hh, ds = cell.step_backward(p, cache, t, ds)
            dA_ih[:, t] = a_ih
            dA_hh[:, t] = a_hh
            ds = ds * xi[:, t, None, None]
        return [assemble_grads(trace, nT, dA_ih[i], dA_hh[i]) for i in range(n)]


def loss_connectivity(trace: Trace, t: int = -1) -> np.ndarray:
    """‖∂ℓ_t/∂x_k‖_F for every k (NaN for k > t): how strongly the loss at one step t (default the last) depends
    on each earlier input. One backward pass, O(t)."""
    n = trace.valid_T
    t = n - 1 if t == -1 else t
    if not 0 <= t < n:
        raise ValueError(f"t must be in [0, {n - 1}] (the last finite step), got {t}")
    model = trace.model
    if model.stacked:
        from .stacked import loss_connectivity_stack
        return loss_connectivity_stack(trace, t)
    inject = np.zeros((trace.T, trace.B, model.cell.state_size), dtype=model.dtype)
    with np.errstate(**QUIET):
        inject[t] = trace.dl_ds()[t]
        _, dA_ih, _, _ = run_backward(model.cell, model.params, trace.cache, inject, [Window(0, t, t)])
        dx = dA_ih[: t + 1] @ model.params["W_xh"]
    out = np.full(trace.T, np.nan)
    out[: t + 1] = frobenius(dx, axis=(1, 2))
    return out
