"""Seeded weight initialisations and the W_hh rescaling knob every vanishing/exploding lesson turns.

Schemes for a recurrent block W (H×H): Gaussian N(0, σ²), Xavier/Glorot uniform U(±√(6/(fan_in+fan_out))),
orthogonal (Saxe et al. 2014: Q of a QR of a Gaussian, sign-corrected so Q is Haar-distributed) and identity
(IRNN, Le et al. 2015). `rescale` then sets the spectral radius ρ(W) = max|λ| or the largest singular value σ₁.
"""
from __future__ import annotations

import numpy as np

from .validation import choice, finite_float

INITS = ("gaussian", "xavier", "orthogonal", "identity")
SCALE_KINDS = ("rho", "sigma1")


def square(kind: str, n: int, rng: np.random.Generator, *, sigma: float = 0.1) -> np.ndarray:
    """An n×n recurrent block drawn by `kind` (see module docstring)."""
    choice("init", kind, INITS)
    if kind == "gaussian":
        return rng.normal(0.0, sigma, size=(n, n))
    if kind == "xavier":
        return xavier(n, n, rng)
    if kind == "orthogonal":
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        return q * np.sign(np.diag(r))  # sign fix makes the distribution uniform (Haar)
    return np.eye(n)


def xavier(fan_out: int, fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot uniform: U(−a, a) with a = √(6 / (fan_in + fan_out)); shape (fan_out, fan_in)."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_out, fan_in))


def spectral_radius(w: np.ndarray) -> float:
    """ρ(W) = max |λ_i(W)| (W square)."""
    return float(np.max(np.abs(np.linalg.eigvals(w))))


def largest_singular_value(w: np.ndarray) -> float:
    """σ₁(W) = ‖W‖₂."""
    return float(np.linalg.norm(w, 2))


def rescale(w: np.ndarray, target: float, kind: str = "rho") -> np.ndarray:
    """W · target / ρ(W) (kind="rho") or W · target / σ₁(W) (kind="sigma1"). A zero matrix stays zero."""
    choice("scale_kind", kind, SCALE_KINDS)
    target = finite_float("scale", target, low=0.0)
    now = spectral_radius(w) if kind == "rho" else largest_singular_value(w)
    if now == 0.0:
        return w.copy()
    return w * (target / now)
