"""IndRNN (Li et al. 2018): h_t = φ(W_xh x_t + u ⊙ h_{t−1} + b_h), one recurrent weight u_n per unit.

Per unit, ∂h_{n,T}/∂h_{n,k} = u_n^{T−k} Π φ'(a_{n,j}); bounding it by γ over T steps needs |u_n| ≤ γ^{1/T}
(`constrain_recurrent`). Step Jacobian J_t = diag(φ'(a_t) ⊙ u).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations
from ..norms import frobenius
from ..validation import choice, finite_float, positive_int
from .base import Cell, CellCache


@dataclass(frozen=True)
class IndRNN(Cell):
    kind = "indrnn"
    diagonal_recurrence = True      # u (H,) in place of W_hh: A_hh = u ⊙ h_{t−1}

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        return {"W_xh": (H, D), "u": (H,), "b_h": (H,)}

    def init_recurrent(self, rng, init, sigma):
        choice("init", init, ("gaussian", "xavier", "orthogonal", "identity"))
        if init == "identity":
            return {"u": np.ones(self.hidden_size)}
        return {"u": rng.uniform(0.0, 1.0, size=self.hidden_size)}   # the IndRNN paper's U(0, 1)

    def recurrent_blocks(self, p):
        return {"W_hh": np.diag(p["u"])}

    def forward(self, p, X, s0):
        pre = self.input_projection(p, X)
        T, B = pre.shape[:2]
        states = np.empty((T + 1, B, self.hidden_size), dtype=pre.dtype)
        states[0] = s0
        u = p["u"]
        for t in range(T):
            a = pre[t]
            a += u * states[t]
            activations.apply(self.activation, a, out=states[t + 1])
        return CellCache(states, pre, {"dphi": activations.derivative(self.activation, states[1:])})

    def step_backward(self, p, cache, t, ds):
        g = ds * cache.extras["dphi"][t]
        return g, g, g * p["u"]

    def step_jacobians(self, p, cache, n, start=0):
        J = np.zeros((n - start, self.hidden_size, self.hidden_size), dtype=cache.pre.dtype)
        idx = np.arange(self.hidden_size)
        J[:, idx, idx] = cache.extras["dphi"][start:n, 0] * p["u"]               # diag(φ'(a_t) ⊙ u)
        return J

    def param_grads(self, p, X, h_prev, dA_ih, dA_hh):
        H, D = h_prev.shape[-1], X.shape[-1]
        return {
            "W_xh": dA_ih.reshape(-1, H).T @ X.reshape(-1, D),
            "u": np.einsum("tbh,tbh->h", dA_hh, h_prev),
            "b_h": dA_ih.reshape(-1, H).sum(axis=0),
        }

    def recurrent_term_name(self):
        return "u"

    def recurrent_term_norms(self, dA_hh, h_prev):
        # the per-step term of ∂L/∂u is Σ_b dA_hh ⊙ h_{t−1}, a vector of length H
        return frobenius(np.sum(dA_hh * h_prev, axis=-2), axis=-1)

    def per_step_term(self, dA_hh_t, h_prev_t):
        return np.sum(dA_hh_t * h_prev_t, axis=0)


def constrain_recurrent(u: np.ndarray, gamma: float, T: int) -> np.ndarray:
    """Clip |u_n| to γ^{1/T}, so no unit's gradient can grow by more than γ over T steps (ReLU, active units)."""
    gamma = finite_float("gamma", gamma, low=0.0, low_open=True)
    T = positive_int("T", T)
    bound = gamma ** (1.0 / T)
    return np.clip(u, -bound, bound)
