"""Norms that neither overflow nor underflow: ‖x‖ = m·√(Σ (x/m)²) with m = max|x|, so values up to 1e308 (and
down to subnormals) give the true norm instead of inf or 0. Non-finite entries give inf/NaN, silently."""
from __future__ import annotations

import numpy as np


def frobenius(x: np.ndarray, axis=None) -> np.ndarray:
    """√(Σ x²) over `axis`, computed with per-slice rescaling."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        m = np.max(np.abs(x), axis=axis, keepdims=True)
        safe = np.where((m > 0) & np.isfinite(m), m, 1.0)
        s = np.sqrt(np.sum((x / safe) ** 2, axis=axis, keepdims=True)) * safe
        s = np.where(np.isfinite(m), s, m)
        return np.squeeze(s, axis=axis) if axis is not None else s.reshape(())[()]


def outer_sum_norm(A: np.ndarray, Hm: np.ndarray) -> np.ndarray:
    """‖Aᵀ Hm‖_F for A (…, B, n) and Hm (…, B, m) without forming the n×m matrix:
    ‖AᵀHm‖²_F = Σ_{b,c} (AAᵀ)_{bc} (HmHmᵀ)_{bc}, with A and Hm rescaled first so nothing overflows."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        a = np.max(np.abs(A), axis=(-2, -1), keepdims=True)
        h = np.max(np.abs(Hm), axis=(-2, -1), keepdims=True)
        a_safe = np.where((a > 0) & np.isfinite(a), a, 1.0)
        h_safe = np.where((h > 0) & np.isfinite(h), h, 1.0)
        As, Hs = A / a_safe, Hm / h_safe
        if A.shape[-2] == 1:                        # one sequence: ‖a hᵀ‖_F = ‖a‖ ‖h‖
            core = np.sqrt(np.sum(As * As, axis=(-2, -1)) * np.sum(Hs * Hs, axis=(-2, -1)))
        else:
            aa = As @ np.swapaxes(As, -1, -2)      # batched BLAS Grams (B×B)
            hh = Hs @ np.swapaxes(Hs, -1, -2)
            core = np.sqrt(np.maximum(np.sum(aa * hh, axis=(-2, -1)), 0.0))
        scale = (a_safe * h_safe)[..., 0, 0]
        out = core * scale
        bad = ~np.isfinite(a[..., 0, 0]) | ~np.isfinite(h[..., 0, 0])
        return np.where(bad, np.inf, out) if np.any(bad) else out
