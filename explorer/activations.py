"""Elementwise activations φ and their derivatives, written in terms of the *output* h = φ(a) where that is
cheaper (tanh' = 1 − h², σ' = h(1 − h)), so a backward pass needs no pre-activations for them.

γ = sup |φ'| is the constant in Pascanu's bound ‖∂h_t/∂h_k‖ ≤ (σ₁ γ)^(t−k).
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")

#: γ = sup_a |φ'(a)| per activation (Pascanu et al. 2013: 1 for tanh, 1/4 for sigmoid).
GAMMA = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25, "linear": 1.0}


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(a) = ½(1 + tanh(a/2)): same value as 1/(1+e^{−a}) but never overflows."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def apply(name: str, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """h = φ(a), written into `out` when given."""
    if name == "tanh":
        return np.tanh(a, out=out)
    if name == "relu":
        return np.maximum(a, 0.0, out=out)
    if name == "sigmoid":
        return sigmoid(a, out=out)
    if name == "linear":
        if out is None:
            return a.copy()
        out[...] = a
        return out
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def resolve(name: str):
    """The in-place form f(a, out) of φ, looked up once (cheaper than dispatching on the name every step)."""
    if name == "tanh":
        return np.tanh
    if name == "relu":
        return lambda a, out: np.maximum(a, 0.0, out=out)
    if name in ACTIVATIONS:
        return lambda a, out: apply(name, a, out=out)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def derivative(name: str, h: np.ndarray) -> np.ndarray:
    """φ'(a) from the output h = φ(a) (ReLU uses h > 0, which equals a > 0)."""
    if name == "tanh":
        return 1.0 - h * h
    if name == "relu":
        return (h > 0).astype(h.dtype)
    if name == "sigmoid":
        return h * (1.0 - h)
    if name == "linear":
        return np.ones_like(h)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")
