"""Per-step losses ℓ_t on the readout y_t, with a per-step target mask m_t ∈ {0, 1} (or any weight ≥ 0).

Total loss (the one every gradient in the engine is of):  L = (1/B) Σ_b Σ_t m_{t,b} ℓ(y_{t,b}, target_{t,b})
— summed over time, averaged over the batch.

- "cross_entropy": softmax cross-entropy, targets are class indices (T, B); ∂ℓ/∂y = softmax(y) − onehot.
- "squared_error": ℓ = Σ_o (y_o − y*_o)² (no ½, so with one output ℓ is the squared error the adding-problem
  baseline 0.167 is quoted in); targets (T, B, O); ∂ℓ/∂y = 2(y − y*).
"""
from __future__ import annotations

import numpy as np

LOSSES = ("cross_entropy", "squared_error")


def check_targets(loss: str, targets, T: int, B: int, O: int, dtype) -> np.ndarray:
    """Validate targets for `loss` and return them as an array of the right dtype."""
    if loss == "cross_entropy":
        t = np.asarray(targets)
        if t.shape != (T, B):
            raise ValueError(f"targets for cross_entropy must be class indices of shape (T, B) = {(T, B)}, got {t.shape}")
        if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(np.isfinite(t)) and np.all(t == np.round(t))):
            raise ValueError("targets for cross_entropy must be whole numbers (class indices)")
        t = t.astype(np.int64)
        if t.size and (t.min() < 0 or t.max() >= O):
            raise ValueError(f"targets for cross_entropy must be class indices in [0, {O - 1}], "
                             f"got values in [{t.min()}, {t.max()}]")
        return t
    if loss == "squared_error":
        t = np.asarray(targets, dtype=dtype)
        if t.shape != (T, B, O):
            raise ValueError(f"targets for squared_error must have shape (T, B, O) = {(T, B, O)}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError("targets contain NaN or infinity")
        return t
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def check_mask(mask, T: int, B: int, dtype) -> np.ndarray:
    if mask is None:
        return np.ones((T, B), dtype=dtype)
    m = np.asarray(mask, dtype=dtype)
    if m.shape == (T,):
        m = np.repeat(m[:, None], B, axis=1)
    if m.shape != (T, B):
        raise ValueError(f"mask must have shape (T,) or (T, B) = {(T, B)}, got {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError("mask must be finite and ≥ 0 (1 = this step has a target, 0 = no loss here)")
    return m


def per_step(loss: str, Y: np.ndarray, targets: np.ndarray, mask: np.ndarray):
    """Return (ℓ (T, B) already multiplied by the mask, ∂L/∂Y (T, B, O) including the mask and the 1/B)."""
    B = Y.shape[1]
    if loss == "cross_entropy":
        z = Y - Y.max(axis=-1, keepdims=True)
        dY = np.exp(z)
        tot = dY.sum(axis=-1)
        T, B = targets.shape
        ti, bi = np.arange(T)[:, None], np.arange(B)[None, :]
        ell = np.log(tot) - z[ti, bi, targets]
        dY /= tot[..., None]                                   # softmax(y)
        dY[ti, bi, targets] -= 1.0
    else:
        diff = Y - targets
        ell = np.sum(diff * diff, axis=-1)
        dY = 2.0 * diff
    # A step without a target contributes exactly 0, even where its output overflowed (∞ · 0 would be NaN).
    on = mask > 0
    ell = np.where(on, ell * mask, 0.0)
    dY = np.where(on[..., None], dY * (mask / B)[..., None], 0.0)
    return ell, dY
