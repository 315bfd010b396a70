"""GRU in PyTorch's form (the reset gate multiplies W_hn h_{t−1} + b_hn, *after* the matmul), gate order (r, z, n):

    r = σ(W_xr x_t + b_r + W_hr h_{t−1}),   z = σ(W_xz x_t + b_z + W_hz h_{t−1})
    n = tanh(W_xn x_t + b_n + r ⊙ (W_hn h_{t−1} + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

b_h (3H) is the input-side bias (PyTorch's bias_ih plus the r, z parts of bias_hh); b_hn is the hidden-side
bias of the candidate, which cannot be merged because r multiplies it. This is not the Cho et al. / d2l form.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations
from .base import Cell, CellCache


@dataclass(frozen=True)
class GRU(Cell):
    kind = "gru"
    gate_names = ("r", "z", "n")
    activations_allowed = ("tanh",)
    distinct_adjoints = True        # dA_hh differs from dA_ih in the candidate block (r ⊙ …)

    def param_shapes(self):
        shapes = super().param_shapes()
        shapes["b_hn"] = (self.hidden_size,)
        return shapes

    def forward(self, p, X, s0):
        H = self.hidden_size
        pre = self.input_projection(p, X)
        T, B = pre.shape[:2]
        gates = np.empty_like(pre)
        ghn = np.empty((T, B, H), dtype=pre.dtype)      # W_hn h_{t−1} + b_hn, needed by ∂n/∂r
        states = np.empty((T + 1, B, H), dtype=pre.dtype)
        states[0] = s0
        w_t, b_hn = p["W_hh"].T, p["b_hn"]
        for t in range(T):
            h_prev = states[t]
            gh = h_prev @ w_t
            z = pre[t]
            z[:, :2 * H] += gh[:, :2 * H]
            gt = gates[t]
            activations.sigmoid(z[:, :2 * H], out=gt[:, :2 * H])
            np.add(gh[:, 2 * H:], b_hn, out=ghn[t])
            z[:, 2 * H:] += gt[:, :H] * ghn[t]
            n = np.tanh(z[:, 2 * H:], out=gt[:, 2 * H:])
            zg = gt[:, H:2 * H]
            np.subtract(h_prev, n, out=states[t + 1])
            states[t + 1] *= zg
            states[t + 1] += n
        return CellCache(states, pre, {"gates": gates, "ghn": ghn})

    def step_backward(self, p, cache, t, ds):
        H = self.hidden_size
        gt = cache.extras["gates"][t]
        r, z, n = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:]
        h_prev = cache.states[t]
        dan = ds * (1.0 - z) * (1.0 - n * n)
        dar = dan * cache.extras["ghn"][t] * r * (1.0 - r)
        daz = ds * (h_prev - n) * z * (1.0 - z)
        dA_ih = np.concatenate([dar, daz, dan], axis=-1)
        dA_hh = np.concatenate([dar, daz, dan * r], axis=-1)
        return dA_ih, dA_hh, ds * z + dA_hh @ p["W_hh"]

    def param_grads(self, p, X, h_prev, dA_ih, dA_hh):
        grads = super().param_grads(p, X, h_prev, dA_ih, dA_hh)
        grads["b_hn"] = dA_hh[..., 2 * self.hidden_size:].reshape(-1, self.hidden_size).sum(axis=0)
        return grads
