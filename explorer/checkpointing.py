"""Memory-efficient BPTT by checkpointing (Chen et al. 2016; Gruslys et al. 2016 for the optimal policy).

Forward once keeping only the state at the start of every segment of L steps (the checkpoints), then for each
segment from the last to the first: recompute its forward from its checkpoint, and backpropagate through it
with the adjoint carried in from the segment after it. The gradient is the same as plain BPTT's (it differs
only by floating-point summation order, ~1e-15 relative), the peak number of stored steps drops from T to about
T/L + L (≈ 2√T at best), and the price is recomputing every segment but the last: T − L_last extra forward steps.

A stacked model (num_layers L > 1, unidirectional) checkpoints all L states s_a^{(l)} at every segment start a and
backpropagates each recomputed segment through time and depth, carrying all L adjoints ∂L/∂s_a^{(l)} into the
segment before it; the floats counted are all layers'.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import losses as L
from .bptt import run_backward
from .forward import QUIET, check_inputs, check_state
from .truncation import Window
from .validation import choice, positive_int


@dataclass
class CheckpointResult:
    grads: dict[str, np.ndarray]
    loss: float
    segment_length: int
    checkpoints: int                 # states kept through the whole backward pass
    peak_stored_steps: int           # checkpoints + the largest recomputed segment
    extra_forward_steps: int         # steps computed twice
    peak_floats: int                 # floats held at the peak: checkpoints + one segment's cache
    plain_floats: int                # floats plain BPTT keeps for the same sequence (its whole cache)
    overflow_step: int | None


def min_budget(T: int) -> int:
    """Smallest budget (stored steps) any single-level checkpointing can meet: min_L ⌈T/L⌉ + L."""
    return min(math.ceil(T / L_) + L_ for L_ in range(1, T + 1))


def segment_for_budget(T: int, budget: int) -> int:
    """The longest segment L whose peak ⌈T/L⌉ + L fits the budget (longest = least recomputation)."""
    T, budget = positive_int("T", T), positive_int("budget", budget)
    fits = [L_ for L_ in range(1, T + 1) if math.ceil(T / L_) + L_ <= budget]
    if not fits:
        raise ValueError(f"budget must be ≥ {min_budget(T)} stored steps for T={T} (about 2√T), got {budget}")
    return max(fits)


def _cache_floats(cache) -> int:
    return cache.states.size + cache.pre.size + sum(v.size for v in cache.extras.values())


def checkpointed_bptt(model, X, targets, *, loss: str = "cross_entropy", mask=None, s0=None,
                      budget: int | None = None, segment: int | None = None) -> CheckpointResult:
    """Full-BPTT gradient with at most `budget` stored steps (or with a given `segment` length; default √T)."""
    choice("loss", loss, L.LOSSES)
    X = check_inputs(model, X)
    T, B, _ = X.shape
    H, S = model.hidden_size, model.cell.state_size
    if budget is not None and segment is not None:
        raise ValueError("give either budget or segment, not both")
    if budget is not None:
        seg = segment_for_budget(T, budget)
    else:
        seg = positive_int("segment", segment) if segment is not None else max(1, math.isqrt(T))
        seg = min(seg, T)
    targets = L.check_targets(loss, targets, T, B, model.output_size, model.dtype)
    m = L.check_mask(mask, T, B, model.dtype)
    if model.stacked:
        return _checkpointed_stack(model, X, targets, loss, m, s0, seg)
    p, cell = model.params, model.cell
    starts = list(range(0, T, seg))
    ckpt = {}
    total = 0.0
    overflow = None
    peak_floats = 0
    with np.errstate(**QUIET):
        s = check_state(model, s0, B)
        last = None
        for a in starts:                                   # forward: keep only the checkpoints
            b = min(a + seg, T)
            ckpt[a] = s.copy()
            cache = cell.forward(p, X[a:b], s)
            Y = cache.states[1:, :, :H] @ p["W_hy"].T + p["b_y"]
            ell, _ = L.per_step(loss, Y, targets[a:b], m[a:b])
            bad = ~(np.all(np.isfinite(cache.states[1:]), axis=(1, 2)) & np.all(np.isfinite(ell), axis=1))
            if bad.any():
                overflow = a + int(np.argmax(bad))
                break
            total += float(ell.sum()) / B
            s = cache.states[-1]
            last = (a, b, cache)
            peak_floats = max(peak_floats, _cache_floats(cache) + len(ckpt) * B * S)
        n = T if overflow is None else overflow
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        ds = np.zeros((B, S), dtype=model.dtype)
        extra = 0
        for a in reversed([a for a in starts if a < n]):  # backward: recompute each segment, then backprop it
            b = min(a + seg, n)
            if last is not None and last[0] == a and last[1] == b:
                cache = last[2]
            else:
                cache = cell.forward(p, X[a:b], ckpt[a])
                extra += b - a
            peak_floats = max(peak_floats, _cache_floats(cache) + len(ckpt) * B * S)
            hseg = cache.states[1:, :, :H]
            Y = hseg @ p["W_hy"].T + p["b_y"]
            _, dY = L.per_step(loss, Y, targets[a:b], m[a:b])
            inject = np.zeros((b - a, B, S), dtype=model.dtype)
            inject[..., :H] = dY @ p["W_hy"]
            _, dA_ih, dA_hh, ds = run_backward(cell, p, cache, inject, [Window(0, b - a - 1, 0)], ds_in=ds)
            g = cell.param_grads(p, X[a:b], cache.states[:-1, :, :H], dA_ih, dA_hh)
            for k, v in g.items():
                grads[k] += v
            dY2 = dY.reshape(-1, dY.shape[-1])
            grads["W_hy"] += dY2.T @ hseg.reshape(-1, H)
            grads["b_y"] += dY2.sum(axis=0)
    plain = cell.forward(p, X[:1], check_state(model, s0, B))
    plain_floats = _cache_floats(plain) * T - (T - 1) * B * S   # T steps of cache (+ s_0 once)
    return CheckpointResult({k: grads[k] for k in model.param_shapes()}, total, seg, len(ckpt),
                            len(ckpt) + seg, extra, peak_floats, plain_floats, overflow)


def _checkpointed_stack(model, X, targets, loss, m, s0, seg) -> CheckpointResult:
    """checkpointed_bptt for a unidirectional stack: checkpoints hold every layer's state (L, B, S)."""
    from .stacked import assemble_stack_grads, backward_layers, check_stack_state, run_layers
    if model.bidirectional:
        raise ValueError("checkpointing needs a unidirectional model: a reverse direction's segments would run "
                         "from the end of the sequence; use explorer.backward for a bidirectional one")
    T, B, _ = X.shape
    nl, S = model.num_layers, model.cell.state_size
    p = model.params
    starts = list(range(0, T, seg))
    ckpt = {}
    total, overflow, peak_floats, last = 0.0, None, 0, None

    def floats(caches):
        return sum(_cache_floats(c) for cs in caches for c in cs) + len(ckpt) * nl * B * S

    with np.errstate(**QUIET):
        s = check_stack_state(model, s0, B)
        for a in starts:                                   # forward: keep only the checkpoints (all layers)
            b = min(a + seg, T)
            ckpt[a] = np.array(s)
            caches, inputs, top = run_layers(model, X[a:b], s)
            Y = top @ p["W_hy"].T + p["b_y"]
            ell, _ = L.per_step(loss, Y, targets[a:b], m[a:b])
            fin = np.all(np.isfinite(ell), axis=1)
            for cs in caches:
                fin &= np.all(np.isfinite(cs[0].states[1:]), axis=(1, 2))
            if not fin.all():
                overflow = a + int(np.argmax(~fin))
                break
            total += float(ell.sum()) / B
            s = np.stack([cs[0].states[-1] for cs in caches])
            last = (a, b, caches, inputs, top)
            peak_floats = max(peak_floats, floats(caches))
        n = T if overflow is None else overflow
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        ds = np.zeros((nl, B, S), dtype=model.dtype)
        extra = 0
        for a in reversed([a for a in starts if a < n]):  # backward: recompute each segment, then backprop it
            b = min(a + seg, n)
            if last is not None and last[0] == a and last[1] == b:
                caches, inputs, top = last[2:]
            else:
                caches, inputs, top = run_layers(model, X[a:b], ckpt[a])
                extra += b - a
            peak_floats = max(peak_floats, floats(caches))
            Y = top @ p["W_hy"].T + p["b_y"]
            _, dY = L.per_step(loss, Y, targets[a:b], m[a:b])
            runs = backward_layers(model, caches, dY @ p["W_hy"], [Window(0, b - a - 1, 0)], ds_in=ds)
            adjoints = [[(r.dA_ih, r.dA_hh) for r in rs] for rs in runs]
            for k, v in assemble_stack_grads(model, caches, inputs, adjoints, dY, top, b - a).items():
                grads[k] += v
            ds = np.stack([rs[0].d_s0 for rs in runs])
    one = run_layers(model, X[:1], check_stack_state(model, s0, B))[0]
    plain_floats = sum(_cache_floats(c) for cs in one for c in cs) * T - (T - 1) * nl * B * S
    return CheckpointResult({k: grads[k] for k in model.param_shapes()}, total, seg, len(ckpt),
                            len(ckpt) + seg, extra, peak_floats, plain_floats, overflow)
