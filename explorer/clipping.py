"""Gradient clipping.

- By global norm (Pascanu et al. 2013, Algorithm 1): ‖g‖ = √(Σ_θ ‖g_θ‖²) over all parameters jointly;
  if ‖g‖ > c then g ← (c / ‖g‖) g. Keeps the direction.
- By value (min-char-rnn's np.clip(dparam, −5, 5)): each entry clipped to [−c, c]. Changes the direction.
A non-finite gradient cannot be clipped meaningfully: it is returned unchanged with `finite=False`.
For a stacked model the global norm runs over every layer's parameters at once (one threshold for the whole
network, as torch.nn.utils.clip_grad_norm_ does); `norms_by_layer` says how much of it each layer holds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import finite_float


@dataclass
class ClipResult:
    grads: dict[str, np.ndarray]
    norm_before: float
    norm_after: float
    clipped: bool
    finite: bool


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """√(Σ_θ ‖g_θ‖²_F), with a rescaled second pass only when the plain sum of squares over- or underflows."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values())
    if np.isfinite(s) and (s > 1e-280 or s == 0.0 and not any(np.any(g) for g in grads.values())):
        return float(np.sqrt(s))
    mx = max((float(np.max(np.abs(g))) if g.size else 0.0) for g in grads.values())
    if mx == 0.0 or not np.isfinite(mx):
        return mx
    return mx * float(np.sqrt(sum(float(np.sum((g / mx) ** 2)) for g in grads.values())))


def norms_by_layer(grads: dict[str, np.ndarray]) -> dict:
    """layer l → ‖g^{(l)}‖ over that layer's parameters (both directions; names as explorer.model.layer_key),
    and "readout" → ‖(g_W_hy, g_b_y)‖: Σ of their squares is global_norm(grads)²."""
    from .model import layers_in
    groups: dict = {}
    for k, g in grads.items():
        if k in ("W_hy", "b_y"):
            key = "readout"
        else:
            key = layers_in([k])[0] - 1 if "_l" in k else 0
        groups.setdefault(key, {})[k] = g
    order = sorted(k for k in groups if k != "readout") + (["readout"] if "readout" in groups else [])
    return {k: global_norm(groups[k]) for k in order}


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> ClipResult:
    max_norm = finite_float("max_norm", max_norm, low=0.0, low_open=True)
    n = global_norm(grads)
    if not np.isfinite(n):
        return ClipResult(dict(grads), n, n, False, False)
    if n > max_norm:
        s = max_norm / n
        return ClipResult({k: g * s for k, g in grads.items()}, n, global_norm({k: g * s for k, g in grads.items()}),
                          True, True)
    return ClipResult(dict(grads), n, n, False, True)


def clip_by_value(grads: dict[str, np.ndarray], limit: float) -> ClipResult:
    limit = finite_float("limit", limit, low=0.0, low_open=True)
    n = global_norm(grads)
    finite = bool(np.isfinite(n))
    clipped = any(g.size and (g.max() > limit or g.min() < -limit) for g in grads.values())
    out = {k: np.clip(g, -limit, limit) for k, g in grads.items()} if clipped else dict(grads)
    return ClipResult(out, n, global_norm(out), clipped, finite)
