"""Elman RNN: h_t = φ(W_xh x_t + W_hh h_{t−1} + b_h), φ ∈ {tanh, relu, sigmoid, linear}.

Step Jacobian J_t = diag(φ'(a_t)) W_hh; backward: g_t = φ'(a_t) ⊙ δ_t, δ_{t−1} ← W_hhᵀ g_t.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations
from .base import Cell, CellCache


@dataclass(frozen=True)
class VanillaRNN(Cell):
    kind = "rnn"

    def forward(self, p, X, s0):
        pre = self.input_projection(p, X)
        T, B = pre.shape[:2]
        states = np.empty((T + 1, B, self.hidden_size), dtype=pre.dtype)
        states[0] = s0
        w_t = p["W_hh"].T
        phi = activations.resolve(self.activation)
        for t in range(T):
            a = pre[t]
            a += states[t] @ w_t
            phi(a, out=states[t + 1])
        dphi = activations.derivative(self.activation, states[1:])
        return CellCache(states, pre, {"dphi": dphi})

    def step_backward(self, p, cache, t, ds):
        g = ds * cache.extras["dphi"][t]
        return g, g, g @ p["W_hh"]

    def step_jacobians(self, p, cache, n, start=0):
        return cache.extras["dphi"][start:n, 0, :, None] * p["W_hh"]          # diag(φ'(a_t)) W_hh, all t at once
