"""Real-time recurrent learning for the vanilla RNN: forward-mode gradients, the same numbers as BPTT.

Influence matrices P_t = ∂h_t/∂θ for θ = (W_xh, W_hh, b_h) are carried forward:
    P_t = diag(φ'(a_t)) (W_hh P_{t−1} + ∂⁺a_t/∂θ),      ∇_θ L = Σ_t (∂L/∂h_t)_direct P_t
with ∂⁺a_{t,i}/∂W_hh[i,j] = h_{t−1,j}, ∂⁺a_{t,i}/∂W_xh[i,j] = x_{t,j}, ∂⁺a_{t,i}/∂b_i = 1. No states are stored,
but P has H·(H² + HD + H) entries per sequence (O(n³)) and W_hh P costs O(n⁴) per step — the reason RTRL is
rarely used, and what the cost lesson times.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations
from . import losses as L
from .cells import VanillaRNN
from .forward import QUIET, check_inputs, check_state
from .validation import choice


@dataclass
class RTRLResult:
    grads: dict[str, np.ndarray]
    loss: float
    influence_floats: int     # entries of P kept at any time (B·H·|θ_rec|)
    flops_per_step: int       # multiply-adds of W_hh P per step (B·H²·|θ_rec|)


def rtrl(model, X, targets, *, loss: str = "cross_entropy", mask=None, s0=None) -> RTRLResult:
    """Gradient of L = (1/B) Σ_b Σ_t ℓ_t by RTRL (vanilla RNN only)."""
    if not isinstance(model.cell, VanillaRNN):
        raise ValueError(f"rtrl is implemented for the vanilla RNN (cell 'rnn'), got {model.cell.kind!r}")
    choice("loss", loss, L.LOSSES)
    X = check_inputs(model, X)
    T, B, D = X.shape
    H, O = model.hidden_size, model.output_size
    targets = L.check_targets(loss, targets, T, B, O, model.dtype)
    m = L.check_mask(mask, T, B, model.dtype)
    p, act, dt = model.params, model.cell.activation, model.dtype
    W_xh, W_hh, b_h, W_hy, b_y = p["W_xh"], p["W_hh"], p["b_h"], p["W_hy"], p["b_y"]
    h = check_state(model, s0, B).copy()
    P_x = np.zeros((B, H, H, D), dtype=dt)        # ∂h_i/∂W_xh[j, d]  (row index i, then j, d)
    P_h = np.zeros((B, H, H, H), dtype=dt)        # ∂h_i/∂W_hh[j, k]
    P_b = np.zeros((B, H, H), dtype=dt)           # ∂h_i/∂b_j
    g = {k: np.zeros_like(v) for k, v in p.items()}
    total, idx = 0.0, np.arange(H)
    with np.errstate(**QUIET):
        for t in range(T):
            a = X[t] @ W_xh.T + h @ W_hh.T + b_h
            h_new = activations.apply(act, a)
            d = activations.derivative(act, h_new)[:, :, None]
            # W_hh P_{t−1}: the O(n⁴) step (one GEMM per parameter block)
            P_x = (W_hh @ P_x.reshape(B, H, H * D)).reshape(B, H, H, D)
            P_h = (W_hh @ P_h.reshape(B, H, H * H)).reshape(B, H, H, H)
            P_b = W_hh @ P_b
            P_x[:, idx, idx, :] += X[t][:, None, :]
            P_h[:, idx, idx, :] += h[:, None, :]
            P_b[:, idx, idx] += 1.0
            P_x *= d[..., None]
            P_h *= d[..., None]
            P_b *= d
            h = h_new
            y = h @ W_hy.T + b_y
            ell, dy = L.per_step(loss, y[None], targets[t:t + 1], m[t:t + 1])
            total += float(ell.sum()) / B
            dy = dy[0]
            dh = dy @ W_hy                                          # (B, H) direct ∂L/∂h_t
            g["W_xh"] += np.einsum("bi,bijd->jd", dh, P_x)
            g["W_hh"] += np.einsum("bi,bijk->jk", dh, P_h)
            g["b_h"] += np.einsum("bi,bij->j", dh, P_b)
            g["W_hy"] += dy.T @ h
            g["b_y"] += dy.sum(axis=0)
    n_theta = H * D + H * H + H
    return RTRLResult({k: g[k] for k in model.param_shapes()}, total, B * H * n_theta, B * H * H * n_theta)
