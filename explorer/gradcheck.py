"""Central-difference gradients, for checking any gradient the engine produces (float64 only).

∂L/∂θ_i ≈ (L(θ + ε e_i) − L(θ − ε e_i)) / 2ε, one pair of forward passes per parameter entry: slow, exact to
O(ε²) — use small models. Any model `explorer.forward` runs (stacked and bidirectional ones too); for a deep stack
ε = 1e-5 keeps more digits than the default 1e-6 (the rounding of the loss, ~1e-16 · |L| / ε, swamps the small
gradients of the lowest layers otherwise).
"""
from __future__ import annotations

import numpy as np

from .forward import forward
from .norms import frobenius


def numerical_gradient(model, X, targets, *, loss="cross_entropy", mask=None, s0=None, eps=1e-6,
                       names=None) -> dict[str, np.ndarray]:
    """Finite-difference ∂L/∂θ for every parameter (or only `names`)."""
    if model.dtype != np.float64:
        raise ValueError("numerical_gradient needs a float64 model (float32 has too few digits for ε = 1e-6)")
    out = {}
    for name in names or list(model.params):
        w = model.params[name]
        g = np.zeros_like(w)
        flat, gflat = w.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            lp = forward(model, X, targets, loss=loss, mask=mask, s0=s0).loss
            flat[i] = old - eps
            lm = forward(model, X, targets, loss=loss, mask=mask, s0=s0).loss
            flat[i] = old
            gflat[i] = (lp - lm) / (2 * eps)
        out[name] = g
    return out


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / max(‖a‖, ‖b‖) (0 when both are 0)."""
    den = max(frobenius(a), frobenius(b))
    return 0.0 if den == 0 else float(frobenius(np.asarray(a) - np.asarray(b)) / den)
