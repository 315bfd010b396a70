"""Deep (stacked) recurrent networks: the forward and backward passes through time and depth (issue #17).

A model with L = `num_layers` layers (explorer.model: `build_model(..., num_layers=L, bidirectional=…)`) stacks
as torch.nn.RNN/LSTM/GRU do, without inter-layer dropout. With x_t^{(0)} = x_t,

    s_{t+1}^{(l)} = f^{(l)}(s_t^{(l)}, x_t^{(l)}),   h_t^{(l)} = s_{t+1}^{(l)}[:H],   x_t^{(l+1)} = h_t^{(l)}
    y_t = W_hy h_t^{(L−1)} + b_y

and a bidirectional layer runs a second cell backwards in time, s←_{t}^{(l)} reading x_{T−1}^{(l)} … x_0^{(l)},
with output h_t^{(l)} = [h→_t^{(l)}; h←_t^{(l)}] (2H wide) — the next layer's input and, at the top, the readout's.

The backward pass carries δ_t^{(l)} = ∂L/∂h_t^{(l)} along two kinds of edges, through time within a layer and
up/down between layers at the same step:

    δ_t^{(l)} = [∂ℓ_t/∂h_t if l = L − 1, else W_xh^{(l+1)ᵀ} dA_ih,t^{(l+1)}] + J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)}

where J_t^{(l)} = ∂s_{t+1}^{(l)}/∂s_t^{(l)} is the layer's own step Jacobian and W_xh^{(l+1)ᵀ} dA_ih^{(l+1)} is
what crosses the layer-to-layer Jacobian ∂h_t^{(l+1)}/∂h_t^{(l)} (explorer.jacobians.layer_jacobians). Layers
are processed top to bottom: a layer's δ never depends on the layers under it.

Truncation acts on the temporal edges only, in every layer alike, so each scheme keeps exactly its mask's terms
of Pascanu's sum ∂L/∂θ = Σ_t Σ_k M[t,k] ∂ℓ_t/∂θ_k with θ_k the copy of *all* layers' parameters used at step k
(every path from step k to step t crosses t − k temporal edges, one into each step j ∈ (k, t]): TBPTT runs each
window through all layers before the next window; randomized truncation multiplies every layer's transition
into step j by the same ξ_j. Bidirectional stacks take full BPTT only (a reverse direction has no truncation
window that respects time).

Cost: L times the single layer's, plus one (T·B × G·H)·(G·H × D_l) GEMM per layer for the downward injections.
"""
from __future__ import annotations

import numpy as np

from . import losses as L
from .bptt import AllLosses, GradientRecord, LayerBackward
from .forward import QUIET, Trace, check_inputs
from .model import Model, layer_key
from .norms import frobenius
from .truncation import Full, Window
from .validation import choice


def check_stack_state(model: Model, s0, B: int) -> np.ndarray:
    """s_0 of every layer and direction as (L·dirs, B, S) — torch's h_0 order: layer 0 forward, layer 0 reverse,
    layer 1 … — from None (zeros), (L·dirs, S) (the same for every sequence) or (L·dirs, B, S)."""
    n, S = model.num_layers * model.directions, model.cell.state_size
    if s0 is None:
        return np.zeros((n, B, S), dtype=model.dtype)
    s = np.asarray(s0, dtype=model.dtype)
    if s.shape == (n, S):
        s = np.broadcast_to(s[:, None, :], (n, B, S))
    if s.shape != (n, B, S):
        raise ValueError(f"s0 of a {model.num_layers}-layer{' bidirectional' if model.bidirectional else ''} "
                         f"model must have shape (L·dirs, B, S) = {(n, B, S)} (S = {S}), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("s0 contains NaN or infinity")
    return s


def _direction_input(x: np.ndarray, d: int) -> np.ndarray:
    """A layer's input in direction d's own step order (reversed in time for d = 1)."""
    return x if d == 0 else np.ascontiguousarray(x[::-1])


def run_layers(model: Model, X: np.ndarray, s0: np.ndarray) -> tuple[list, list, np.ndarray]:
    """The cells' forward passes, bottom to top: (caches[l][d], inputs[l] (T, B, D_l), top output (T, B, H·dirs))."""
    H, dirs = model.hidden_size, model.directions
    caches, inputs = [], []
    x = X
    for l in range(model.num_layers):
        inputs.append(x)
        cell = model.layer_cell(l)
        cs = tuple(cell.forward(model.layer_params(l, d == 1), _direction_input(x, d), s0[l * dirs + d])
                   for d in range(dirs))
        caches.append(cs)
        hs = [cs[0].states[1:, :, :H]] + [c.states[1:, :, :H][::-1] for c in cs[1:]]
        x = hs[0] if dirs == 1 else np.concatenate(hs, axis=-1)
    return caches, inputs, x


def forward_stack(model: Model, X, targets=None, *, loss: str = "cross_entropy", mask=None, s0=None) -> Trace:
    """explorer.forward for a stacked model: every layer's caches in the Trace (`caches`, `inputs`), the
    single-layer fields being the top layer's forward direction's."""
    X = check_inputs(model, X)
    T, B, _ = X.shape
    s0 = check_stack_state(model, s0, B)
    if targets is not None:
        choice("loss", loss, L.LOSSES)
        targets = L.check_targets(loss, targets, T, B, model.output_size, model.dtype)
    m = L.check_mask(mask, T, B, model.dtype)
    p = model.params
    with np.errstate(**QUIET):
        caches, inputs, top = run_layers(model, X, s0)
        Y = top @ p["W_hy"].T
        Y += p["b_y"]
        if targets is not None:
            ell, dY = L.per_step(loss, Y, targets, m)
        else:
            ell, dY = np.full((T, B), np.nan, dtype=model.dtype), np.zeros_like(Y)
        bad = np.zeros(T, dtype=bool)
        for cs in caches:
            for d, c in enumerate(cs):
                fin = np.all(np.isfinite(c.states[1:]), axis=(1, 2))
                bad |= ~(fin[::-1] if d else fin)
        if targets is not None:
            bad |= ~np.all(np.isfinite(ell), axis=1)
        overflow = int(np.argmax(bad)) if bad.any() else None
        if overflow is not None:
            dY[overflow:] = 0.0
    return Trace(model, X, caches[-1][0], Y, loss if targets is not None else None, targets, m, ell, dY, overflow,
                 tuple(caches), tuple(inputs))


def backward_layers(model: Model, caches, inject: np.ndarray, windows, xi=None, n: int | None = None,
                    ds_in=None) -> list[list[LayerBackward]]:
    """The BPTT loop through time and depth. inject (T, B, H·dirs): ∂ℓ_t/∂h_t^{(L−1)} through the readout, in
    time order. Each window runs every layer, top to bottom: the top layer starts from ds_in (or 0) after step hi
    and takes the losses of steps loss_lo … hi; each layer below takes, at every step of the window, what the
    layer above sends down, W_xh^{(l+1)ᵀ} dA_ih^{(l+1)}. ξ_t (if given) scales every layer's transition into
    step t. Returns runs[l][d] with arrays in direction d's own step order; d_s0 is the adjoint left at step lo = 0
    (ds_in: (L·dirs, B, S), the adjoints after step hi — as the next segment hands them on in checkpointing)."""
    T, B = inject.shape[:2]
    n = T if n is None else n
    H, dirs, nl = model.hidden_size, model.directions, model.num_layers
    cell0 = model.cell
    S, GH, dt = cell0.state_size, caches[0][0].pre.shape[-1], caches[0][0].pre.dtype
    distinct = getattr(cell0, "distinct_adjoints", False)

    def new_run():
        a_ih = np.zeros((T, B, GH), dtype=dt)
        return LayerBackward(np.zeros((T, B, S), dtype=dt), a_ih,
                             np.zeros((T, B, GH), dtype=dt) if distinct else a_ih, np.zeros((B, S), dtype=dt))

    runs = [[new_run() for _ in range(dirs)] for _ in range(nl)]
    for w in windows:
        lo, hi = w.lo, min(w.hi, n - 1)
        if dirs == 2 and (lo, hi) != (0, T - 1):
            raise ValueError("a bidirectional stack takes full BPTT only (one window over the whole sequence)")
        m = hi - lo + 1
        up = np.zeros((m, B, H * dirs), dtype=dt)
        first = max(w.loss_lo, lo)
        up[first - lo:] = inject[first:hi + 1]
        for l in range(nl - 1, -1, -1):
            cell = model.layer_cell(l)
            step = cell.step_backward
            down = None
            for d in range(dirs):
                p, cache, run = model.layer_params(l, d == 1), caches[l][d], runs[l][d]
                inj = np.zeros((m, B, S), dtype=dt)
                inj[..., :H] = up[..., :H] if d == 0 else up[::-1, :, H:]
                ds = np.zeros((B, S), dtype=dt) if ds_in is None else ds_in[l * dirs + d]
                a_win = np.empty((m, B, GH), dtype=dt) if l > 0 else None
                for t in range(hi, lo - 1, -1):
                    ds = ds + inj[t - lo]
                    run.delta[t] += ds
                    a_ih, a_hh, ds = step(p, cache, t, ds)
                    run.dA_ih[t] += a_ih
                    if distinct:
                        run.dA_hh[t] += a_hh
                    if a_win is not None:
                        a_win[t - lo] = a_ih
                    if xi is not None:
                        ds = ds * xi[t]
                if lo == 0:
                    run.d_s0 += ds
                if l > 0:                                  # what crosses ∂h_t^{(l)}/∂h_t^{(l−1)}, in time order
                    g = a_win @ p["W_xh"]
                    g = g[::-1] if d else g
                    down = g if down is None else down + g
            up = down
    return runs


def assemble_stack_grads(model: Model, caches, inputs, adjoints, dY: np.ndarray, top: np.ndarray,
                         n: int) -> dict[str, np.ndarray]:
    """Every layer's parameter gradients from its adjoints (adjoints[l][d] = (dA_ih, dA_hh), steps 0 … n−1 in
    direction d's order), each one GEMM over time as in the single layer, plus the readout's
    ∂L/∂W_hy = Σ_t ∂L/∂y_t h_t^{(L−1)ᵀ} and ∂L/∂b_y = Σ_t ∂L/∂y_t."""
    H, dirs = model.hidden_size, model.directions
    grads = {}
    for l in range(model.num_layers):
        cell = model.layer_cell(l)
        for d in range(dirs):
            dA_ih, dA_hh = adjoints[l][d]
            x = _direction_input(inputs[l], d)
            g = cell.param_grads(model.layer_params(l, d == 1), x[:n], caches[l][d].states[:n, :, :H],
                                 dA_ih[:n], dA_hh[:n])
            grads.update({layer_key(k, l, d == 1): v for k, v in g.items()})
    dY2 = dY[:n].reshape(-1, dY.shape[-1])
    grads["W_hy"] = dY2.T @ top[:n].reshape(-1, top.shape[-1])
    grads["b_y"] = dY2.sum(axis=0)
    return {k: grads[k] for k in model.param_shapes()}


def _readout_inject(trace: Trace) -> np.ndarray:
    """∂ℓ_t/∂h_t^{(L−1)} = W_hyᵀ ∂ℓ_t/∂y_t, (T, B, H·dirs)."""
    return trace.dY @ trace.model.params["W_hy"]


def backward_stack(trace: Trace, scheme=Full()) -> GradientRecord:
    """explorer.backward for a stacked model, under any scheme (full BPTT only when bidirectional)."""
    model = trace.model
    T, n = trace.T, trace.valid_T
    if model.bidirectional:
        if not isinstance(scheme, Full):
            raise ValueError(f"a bidirectional model takes full BPTT only (its reverse direction runs from the end "
                             f"of the sequence, so {scheme.label()} has no meaning for it); use Full()")
        n = T          # the reverse direction needs every step; an overflow shows as non-finite gradients
    windows = [w for w in scheme.windows(T) if w.lo < n]
    with np.errstate(**QUIET):
        runs = backward_layers(model, trace.caches, _readout_inject(trace), windows, scheme.xi(T), n)
        bad = np.zeros(n, dtype=bool)
        for rs in runs:
            for d, r in enumerate(rs):
                if n < T:
                    r.delta[n:] = np.nan
                fin = np.all(np.isfinite(r.delta[:n]), axis=(1, 2))
                bad |= ~(fin[::-1] if d else fin)
        back_overflow = int(n - 1 - np.argmax(bad[::-1])) if bad.any() else None
        adjoints = [[(r.dA_ih, r.dA_hh) for r in rs] for rs in runs]
        grads = assemble_stack_grads(model, trace.caches, trace.inputs, adjoints, trace.dY,
                                     trace.layer_output(model.num_layers - 1), n)
    top = runs[-1][0]
    return GradientRecord(grads, top.delta, top.dA_ih, top.dA_hh, top.d_s0, scheme, trace, back_overflow,
                          tuple(tuple(rs) for rs in runs))


def all_losses_stack(trace: Trace, mask=None, *, contributions: bool = True,
                     connectivity: bool = True) -> AllLosses:
    """explorer.all_losses_backward for a unidirectional stack: each ℓ_t backpropagated on its own through time
    and depth. G_by_layer[l][t, k] = ‖(∂ℓ_t/∂s_k^{(l)})(∂⁺s_k^{(l)}/∂W_hh^{(l)})‖_F (G is the top layer's),
    connectivity[t, k] = ‖∂ℓ_t/∂x_k‖_F to the network's inputs, and the gradient Σ_t Σ_k M[t,k] ∂ℓ_t/∂θ_k under
    each mask (θ_k: every layer's parameters at step k). Cost L × the single layer's O(T² · B · S · G·H)."""
    model = trace.model
    if model.bidirectional:
        raise ValueError("the per-loss maps G[t, k] need a causal network (k ≤ t); a bidirectional model's loss "
                         "ℓ_t depends on every step, so they are not defined for it")
    T, B, H, n, dt = trace.T, trace.B, model.hidden_size, trace.valid_T, model.dtype
    nl = model.num_layers
    G = np.full((nl, T, T), np.nan) if contributions else None
    conn = np.full((T, T), np.nan) if connectivity else None
    many = mask is not None and np.ndim(mask) == 3
    if mask is not None:
        mask = np.asarray(mask, dtype=dt)
        if mask.shape[-2:] != (T, T) or mask.ndim not in (2, 3):
            raise ValueError(f"mask must have shape (T, T) or (n, T, T) with T = {T}, got {mask.shape}")
        if not many:
            mask = mask[None]
    nm = 0 if mask is None else mask.shape[0]
    S, GH = model.cell.state_size, trace.cache.pre.shape[-1]
    with np.errstate(**QUIET):
        inject = _readout_inject(trace)
        V = [np.zeros((n, B, S), dtype=dt) for _ in range(nl)]
        dA = [(np.zeros((nm, n, B, GH), dtype=dt), np.zeros((nm, n, B, GH), dtype=dt)) for _ in range(nl)]
        if G is not None:
            G[:, :n, :n] = 0.0
        if conn is not None:
            conn[:n, :n] = 0.0
        cells = [model.layer_cell(l) for l in range(nl)]
        params = [model.layer_params(l) for l in range(nl)]
        for k in range(n - 1, -1, -1):
            from_above = None
            for l in range(nl - 1, -1, -1):
                cell, p, cache, Vl = cells[l], params[l], trace.caches[l][0], V[l]
                if from_above is None:
                    Vl[k, :, :H] = inject[k]                   # rows: losses t = k … n−1
                else:
                    Vl[k:, :, :H] += from_above
                a_ih, a_hh, V_prev = cell.step_backward(p, cache, k, Vl[k:])
                if G is not None:
                    G[l, k:n, k] = cell.recurrent_term_norms(a_hh, cache.states[k, :, :H])
                if conn is not None and l == 0:
                    conn[k:n, k] = frobenius(a_ih @ p["W_xh"], axis=(-2, -1))
                if nm:
                    wts = mask[:, k:n, k]
                    dA[l][0][:, k] = np.tensordot(wts, a_ih, axes=(1, 0))
                    dA[l][1][:, k] = np.tensordot(wts, a_hh, axes=(1, 0))
                if l > 0:
                    from_above = a_ih @ p["W_xh"]
                Vl[k:] = V_prev
        grads = None
        if nm:
            top = trace.layer_output(nl - 1)
            grads = [assemble_stack_grads(model, trace.caches, trace.inputs, [[(dA[l][0][i], dA[l][1][i])]
                                                                               for l in range(nl)], trace.dY, top, n)
                     for i in range(nm)]
            if not many:
                grads = grads[0]
    return AllLosses(None if G is None else G[-1], conn, grads, G)


def loss_connectivity_stack(trace: Trace, t: int) -> np.ndarray:
    """‖∂ℓ_t/∂x_k‖_F for every k through every layer (NaN for k > t unless the model is bidirectional)."""
    model = trace.model
    inject = np.zeros_like(_readout_inject(trace))
    with np.errstate(**QUIET):
        inject[t] = _readout_inject(trace)[t]
        T = trace.T
        last = T - 1 if model.bidirectional else t
        runs = backward_layers(model, trace.caches, inject, [Window(0, last, 0)])
        dx = 0
        for d, r in enumerate(runs[0]):
            g = r.dA_ih @ model.layer_params(0, d == 1)["W_xh"]
            dx = dx + (g[::-1] if d else g)
    out = np.full(T, np.nan)
    out[: last + 1] = frobenius(dx[: last + 1], axis=(1, 2))
    return out
