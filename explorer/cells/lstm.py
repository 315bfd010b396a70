"""LSTM in PyTorch's gate form, gate order (i, f, g, o) in the rows of W_xh and W_hh:

    [i, f, g, o] = [σ, σ, tanh, σ](W_xh x_t + W_hh h_{t−1} + b_h)
    c_t = f ⊙ c_{t−1} + i ⊙ g,     h_t = o ⊙ tanh(c_t)

The state is s_t = [h_t; c_t] (S = 2H). The direct cell path has ∂c_t/∂c_{t−1} = diag(f_t) (the constant error
carousel when f ≈ 1); the full step Jacobian also has the paths through h_{t−1} → gates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations
from .base import Cell, CellCache


@dataclass(frozen=True)
class LSTM(Cell):
    kind = "lstm"
    gate_names = ("i", "f", "g", "o")
    state_names = ("h", "c")
    activations_allowed = ("tanh",)

    def forward(self, p, X, s0):
        H = self.hidden_size
        pre = self.input_projection(p, X)
        T, B = pre.shape[:2]
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
        # Backward factors for all t at once (vectorised, so each backward step is a few block products):
        # D = [i(1−i), f(1−f), 1−g², o(1−o)] and o(1−tanh²c) = ∂h_t/∂c_t.
        D = gates * (1.0 - gates)
        g_all = gates[..., 2 * H:3 * H]
        np.subtract(1.0, g_all * g_all, out=D[..., 2 * H:3 * H])
        dh_dc = gates[..., 3 * H:] * (1.0 - tanh_c * tanh_c)
        return CellCache(states, pre, {"gates": gates, "tanh_c": tanh_c, "D": D, "dh_dc": dh_dc})

    def step_backward(self, p, cache, t, ds):
        H = self.hidden_size
        ex = cache.extras
        gt = ex["gates"][t]
        dh, dc = ds[..., :H], ds[..., H:]
        dc = dc + dh * ex["dh_dc"][t]                  # total ∂L/∂c_t: direct + through h_t = o ⊙ tanh(c_t)
        dz = np.empty(ds.shape[:-1] + (4 * H,), dtype=ds.dtype)
        np.multiply(dc, gt[:, 2 * H:3 * H], out=dz[..., :H])             # ∂c/∂i = g
        np.multiply(dc, cache.states[t, :, H:], out=dz[..., H:2 * H])    # ∂c/∂f = c_{t−1}
        np.multiply(dc, gt[:, :H], out=dz[..., 2 * H:3 * H])             # ∂c/∂g = i
        np.multiply(dh, ex["tanh_c"][t], out=dz[..., 3 * H:])             # ∂h/∂o = tanh(c_t)
        dz *= ex["D"][t]                                                  # through σ' and tanh'
        ds_prev = np.empty_like(ds)
        np.matmul(dz, p["W_hh"], out=ds_prev[..., :H])
        np.multiply(dc, gt[:, H:2 * H], out=ds_prev[..., H:])             # ∂c_t/∂c_{t−1} = f
        return dz, dz, ds_prev
