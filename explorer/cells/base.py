"""The interface every recurrent cell implements, and the cached forward values it hands to its backward.

Shapes (time-major, batched): X (T, B, D); state s_t (B, S) with S = H, or S = 2H for the LSTM whose state is
[h_t; c_t] (the output h_t is always s_t[:, :H]). `states` holds s_0 … s_T, so step t (0-based) reads X[t] and
states[t] and writes states[t+1].

Every cell splits its pre-activation into an input part A_ih = W_xh x_t + b and a recurrent part A_hh (W_hh h_{t−1}
for dense cells, u ⊙ h_{t−1} for IndRNN). `step_backward` returns the adjoints of both parts, so all parameter
gradients are one GEMM over time (∂L/∂W_xh = Σ_t dA_ih,tᵀ x_t, ∂L/∂W_hh = Σ_t dA_hh,tᵀ h_{t−1}), and the
per-timestep terms of those sums stay available as records.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import activations
from .. import init as inits
from ..norms import outer_sum_norm
from ..validation import choice, positive_int


@dataclass
class CellCache:
    """What a cell's forward pass keeps for its backward pass. `extras` arrays are (T, B, …)."""

    states: np.ndarray                 # (T+1, B, S): s_0 … s_T
    pre: np.ndarray                    # (T, B, G·H): pre-activations of every gate / unit
    extras: dict = field(default_factory=dict)

    @property
    def T(self) -> int:
        return self.pre.shape[0]

    def batch_slice(self, b: int) -> "CellCache":
        """The same cache for sequence b alone (B = 1)."""
        sl = slice(b, b + 1)
        return CellCache(self.states[:, sl], self.pre[:, sl], {k: v[:, sl] for k, v in self.extras.items()})


@dataclass(frozen=True)
class Cell:
    """Base class: sizes and activation, the layout facts of a cell kind, and what every cell does the same way
    (the recurrent init, the input projection, the gradient GEMMs); subclasses implement the equations.

    The layout facts are class attributes, so code outside the cells asks `CELLS[kind]` without building one:
    `gate_names` (and `n_gates`, its length), `state_names` (and `state_size_for(H)`), `diagonal_recurrence`."""

    input_size: int
    hidden_size: int
    activation: str = "tanh"

    kind = "base"
    # The G row blocks of W_xh, W_hh and b_h, in order (PyTorch's gate order for the LSTM and GRU). A one-block
    # cell's only block makes h itself, so its recurrent block W_h{name} is W_hh.
    gate_names = ("h",)
    n_gates = len(gate_names)       # G (set so for every subclass too): rows of W_xh and W_hh are G·H
    state_names = ("h",)            # the H-wide blocks of the state s_t, in order (the LSTM's is [h; c])
    diagonal_recurrence = False     # True when the recurrent weight is a vector u (A_hh = u ⊙ h_{t−1}, IndRNN)
    activations_allowed = activations.ACTIVATIONS

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.n_gates = len(cls.gate_names)

    def __post_init__(self):
        positive_int("input_size", self.input_size, maximum=100_000)
        positive_int("hidden_size", self.hidden_size, maximum=4096)
        choice("activation", self.activation, self.activations_allowed)

    # --- sizes -----------------------------------------------------------------------------------------------
    @classmethod
    def state_size_for(cls, H: int) -> int:
        """S, the width of s_t, for H hidden units: H per entry of `state_names` (2H for the LSTM, else H)."""
        return len(cls.state_names) * H

    @classmethod
    def gate_slice(cls, name: str, H: int) -> slice:
        """The rows of gate block `name` (one of `gate_names`) in W_xh, W_hh, b_h and the pre-activations."""
        i = cls.gate_names.index(name)
        return slice(i * H, (i + 1) * H)

    @property
    def state_size(self) -> int:
        return self.state_size_for(self.hidden_size)

    @property
    def gamma(self) -> float:
        """sup|φ'| of the recurrent nonlinearity (Pascanu's γ)."""
        return activations.GAMMA[self.activation]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        H, D, G = self.hidden_size, self.input_size, self.n_gates
        return {"W_xh": (G * H, D), "W_hh": (G * H, H), "b_h": (G * H,)}

    # --- shared by the dense cells (IndRNN overrides the recurrent ones) --------------------------------------
    def init_recurrent(self, rng, init: str, sigma: float) -> dict[str, np.ndarray]:
        """W_hh (G·H, H): one square H×H block per gate, drawn by `init` in gate order."""
        H = self.hidden_size
        return {"W_hh": np.concatenate([inits.square(init, H, rng, sigma=sigma) for _ in range(self.n_gates)])}

    def recurrent_blocks(self, p: dict) -> dict[str, np.ndarray]:
        """The square H×H recurrent matrices W_h{gate} (one per gate) whose spectra the lessons plot."""
        return {f"W_h{g}": p["W_hh"][self.gate_slice(g, self.hidden_size)] for g in self.gate_names}

    def input_projection(self, p: dict, X: np.ndarray) -> np.ndarray:
        """A_ih = W_xh x_t + b_h for every t at once, (T, B, G·H): one GEMM hoisted out of the time loop. `forward`
        adds the recurrent part into it step by step, in place, so it becomes the cache's `pre`."""
        T, B, D = X.shape
        pre = (X.reshape(T * B, D) @ p["W_xh"].T).reshape(T, B, -1)
        pre += p["b_h"]
        return pre

    # --- to implement ----------------------------------------------------------------------------------------
    def forward(self, p: dict, X: np.ndarray, s0: np.ndarray) -> CellCache:
        raise NotImplementedError

    def step_backward(self, p: dict, cache: CellCache, t: int, ds: np.ndarray):
        """Given ds = ∂L/∂s_{t+1} (shape (…, B, S), leading dims broadcast), return
        (dA_ih, dA_hh, ds_prev): adjoints of the input and recurrent pre-activation parts at step t, and
        ds_prev = J_tᵀ ds, the part of ∂L/∂s_t that flows through this step (J_t = ∂s_{t+1}/∂s_t = ∂h_t/∂h_{t−1}: explorer.jacobians states the convention)."""
        raise NotImplementedError

    def step_jacobians(self, p: dict, cache: CellCache, n: int, start: int = 0) -> np.ndarray:
        """J_t = ∂s_{t+1}/∂s_t (= ∂h_t/∂h_{t−1}) for start ≤ t < n of a B = 1 cache, (n − start, S, S). Row i of J_t is J_tᵀ e_i,
        so the Jacobians come from the same step_backward as the gradients; cells may override with a closed
        form."""
        S = self.state_size
        eye = np.eye(S, dtype=cache.pre.dtype)[:, None, :]          # S unit rows as a batch
        J = np.empty((n - start, S, S), dtype=cache.pre.dtype)
        for t in range(start, n):
            J[t - start] = self.step_backward(p, cache, t, eye)[2][:, 0, :]
        return J

    def param_grads(self, p: dict, X: np.ndarray, h_prev: np.ndarray, dA_ih: np.ndarray,
                    dA_hh: np.ndarray) -> dict[str, np.ndarray]:
        """Σ over time and batch of the per-step terms, as GEMMs. X (T,B,D), h_prev (T,B,H), dA_* (T,B,G·H)."""
        GH, D, H = dA_ih.shape[-1], X.shape[-1], h_prev.shape[-1]
        a_ih = dA_ih.reshape(-1, GH)
        a_hh = dA_hh.reshape(-1, GH)
        return {
            "W_xh": a_ih.T @ X.reshape(-1, D),
            "W_hh": a_hh.T @ h_prev.reshape(-1, H),
            "b_h": a_ih.sum(axis=0),
        }

    def recurrent_term_name(self) -> str:
        """The parameter whose per-step terms the G map uses (∂⁺h_k/∂W_hh)."""
        return "W_hh"

    def recurrent_term_norms(self, dA_hh: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
        """‖dA_hh,tᵀ h_{t−1}‖_F for every t (and any leading dims): the per-step terms of ∂L/∂W_hh.

        Uses ‖AᵀH‖²_F = Σ (AAᵀ) ⊙ (HHᵀ) over the batch, so no G·H×H matrix is formed. dA_hh (…, B, GH)."""
        return outer_sum_norm(dA_hh, np.broadcast_to(h_prev, dA_hh.shape[:-1] + h_prev.shape[-1:]))

    def per_step_term(self, dA_hh_t: np.ndarray, h_prev_t: np.ndarray) -> np.ndarray:
        """The full per-step term of ∂L/∂W_hh at one step: dA_hh,tᵀ h_{t−1} (G·H × H)."""
        return dA_hh_t.T @ h_prev_t
