"""LSTM in PyTorch's gate form, gate order (i, f, g, o) in the rows of W_xh and W_hh:

    [i, f, g, o] = [σ, σ, tanh, σ](W_xh x_t + W_hh h_{t−1} + b_h)
    c_t = f ⊙ c_{t−1} + i ⊙ g,     h_t = o ⊙ tanh(c_t)

The state is s_t = [h_t; c_t] (S = 2H). The direct cell path has ∂c_t/∂c_{t−1} = diag(f_t) (the constant error
carousel when f ≈ 1); the full step Jacobian also has the paths through h_{t−1} → gates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations, init as inits
from .base import Cell, CellCache


@dataclass(frozen=True)
class LSTM(Cell):
    kind = "lstm"
    n_gates = 4
    gate_names = ("i", "f", "g", "o")
    activations_allowed = ("tanh",)

    @property
    def state_size(self):
        return 2 * self.hidden_size

    def init_recurrent(self, rng, init, sigma):
        H = self.hidden_size
        return {"W_hh": np.concatenate([inits.square(init, H, rng, sigma=sigma) for _ in range(4)])}

    def forward(self, p, X, s0):
        T, B, D = X.shape
        H = self.hidden_size
        pre = (X.reshape(T * B, D) @ p["W_xh"].T).reshape(T, B, 4 * H)
        pre += p["b_h"]
        gates = np.empty_like(pre)
        tanh_c = np.empty((T, B, H), dtype=pre.dtype)
        states = np.empty((T + 1, B, 2 * H), dtype=pre.dtype)
        states[0] = s0
        w_t = p["W_hh"].T
        for t in range(T):
            z = pre[t]
            z += states[t, :, :H] @ w_t
            gt = gates[t]
            activations.sigmoid(z, out=gt)
            np.tanh(z[:, 2 * H:3 * H], out=gt[:, 2 * H:3 * H])
            c = states[t + 1, :, H:]
            np.multiply(gt[:, H:2 * H], states[t, :, H:], out=c)
            c += gt[:, :H] * gt[:, 2 * H:3 * H]
            np.tanh(c, out=tanh_c[t])
            np.multiply(gt[:, 3 * H:], tanh_c[t], out=states[t + 1, :, :H])
        return CellCache(states, pre, {"gates": gates, "tanh_c": tanh_c})

    def step_backward(self, p, cache, t, ds):
        H = self.hidden_size
        gt = cache.extras["gates"][t]
        i, f, g, o = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
        tc = cache.extras["tanh_c"][t]
        c_prev = cache.states[t, :, H:]
        dh, dc = ds[..., :H], ds[..., H:]
        dc = dc + dh * o * (1.0 - tc * tc)
        dz = np.concatenate([
            dc * g * i * (1.0 - i),          # input gate
            dc * c_prev * f * (1.0 - f),     # forget gate
            dc * i * (1.0 - g * g),          # candidate
            dh * tc * o * (1.0 - o),         # output gate
        ], axis=-1)
        ds_prev = np.concatenate([dz @ p["W_hh"], dc * f], axis=-1)
        return dz, dz, ds_prev
