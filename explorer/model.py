"""A model = one recurrent cell + a linear readout y_t = W_hy h_t + b_y, with its parameters in a plain dict.

`build_model` draws seeded parameters: input and readout weights Xavier-uniform, biases 0 (LSTM forget-gate bias
`forget_bias`), recurrent weights by `init` and optionally rescaled to spectral radius ρ or largest singular
value σ₁ (`scale`, `scale_kind`) — per H×H gate block for the LSTM and GRU, max|u| for IndRNN.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import init as inits
from .cells import CELLS, Cell, IndRNN
from .validation import choice, finite_float, positive_int

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass
class Model:
    """cell: the recurrent cell; params: name → array (the cell's, plus W_hy (O×H) and b_y (O))."""

    cell: Cell
    params: dict[str, np.ndarray]
    output_size: int
    dtype: type = np.float64
    config: dict = field(default_factory=dict)   # how it was built (for saving and for the app)

    @property
    def hidden_size(self) -> int:
        return self.cell.hidden_size

    @property
    def input_size(self) -> int:
        return self.cell.input_size

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = dict(self.cell.param_shapes())
        shapes["W_hy"] = (self.output_size, self.hidden_size)
        shapes["b_y"] = (self.output_size,)
        return shapes

    def copy(self) -> "Model":
        return Model(self.cell, {k: v.copy() for k, v in self.params.items()}, self.output_size, self.dtype,
                     dict(self.config))

    def recurrent_matrix(self) -> np.ndarray:
        """The H×H matrix whose spectrum the lessons draw: W_hh (RNN), diag(u) (IndRNN), the candidate block
        W_hg (LSTM) or W_hn (GRU)."""
        blocks = self.cell.recurrent_blocks(self.params)
        for name in ("W_hh", "W_hg", "W_hn"):
            if name in blocks:
                return blocks[name]
        raise AssertionError("cell has no recurrent block")


def build_model(cell: str = "rnn", input_size: int = 1, hidden_size: int = 32, output_size: int = 1, *,
                activation: str = "tanh", init: str = "orthogonal", scale: float | None = None,
                scale_kind: str = "rho", sigma: float | None = None, forget_bias: float = 1.0,
                input_gain: float = 1.0, seed: int = 0, dtype: str = "float64") -> Model:
    """Build a seeded model. `scale` rescales the recurrent weights to ρ = scale (or σ₁ = scale); None keeps
    the init's own scale. `sigma` is the Gaussian init's standard deviation (default 1/√H, so ρ ≈ 1).
    `input_gain` multiplies the Xavier input weights W_xh: a small gain means the network must *learn* to
    store its inputs, which only a gradient that reaches back to them can teach."""
    choice("cell", cell, tuple(CELLS))
    choice("dtype", dtype, tuple(DTYPES))
    choice("scale_kind", scale_kind, inits.SCALE_KINDS)
    positive_int("output_size", output_size, maximum=100_000)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}")
    if cell in ("lstm", "gru") and activation != "tanh":
        raise ValueError(f"activation for the {cell.upper()} must be 'tanh' (its gates fix the nonlinearities), "
                         f"got {activation!r}")
    c = CELLS[cell](input_size, hidden_size, activation)
    H, D = c.hidden_size, c.input_size
    sigma = 1.0 / np.sqrt(H) if sigma is None else finite_float("sigma", sigma, low=0.0)
    if scale is not None:
        scale = finite_float("scale", scale, low=0.0, high=1e6)
    forget_bias = finite_float("forget_bias", forget_bias, low=-100.0, high=100.0)
    input_gain = finite_float("input_gain", input_gain, low=0.0, high=100.0)
    rng = np.random.default_rng(int(seed))

    params: dict[str, np.ndarray] = {}
    G = c.n_gates
    params["W_xh"] = np.concatenate([inits.xavier(H, D, rng) for _ in range(G)]) * input_gain
    params.update(c.init_recurrent(rng, init, sigma))
    params["b_h"] = np.zeros(G * H)
    if "f" in c.gate_names:                                  # the LSTM's forget gate
        params["b_h"][c.gate_slice("f", H)] = forget_bias
    if "b_hn" in c.param_shapes():
        params["b_hn"] = np.zeros(H)
    params["W_hy"] = inits.xavier(output_size, H, rng)
    params["b_y"] = np.zeros(output_size)

    if scale is not None:
        if isinstance(c, IndRNN):
            m = np.max(np.abs(params["u"]))
            params["u"] = params["u"] * (scale / m) if m > 0 else params["u"]
        else:
            blocks = [inits.rescale(params["W_hh"][g * H:(g + 1) * H], scale, scale_kind) for g in range(G)]
            params["W_hh"] = np.concatenate(blocks)

    dt = DTYPES[dtype]
    params = {k: np.ascontiguousarray(v, dtype=dt) for k, v in params.items()}
    config = dict(cell=cell, input_size=D, hidden_size=H, output_size=output_size, activation=activation,
                  init=init, scale=scale, scale_kind=scale_kind, sigma=float(sigma), forget_bias=forget_bias,
                  input_gain=input_gain, seed=int(seed), dtype=dtype)
    return Model(c, params, output_size, dt, config)


def model_from_params(cell: str, params: dict[str, np.ndarray], *, activation: str = "tanh",
                      dtype: str = "float64") -> Model:
    """A model around given parameter arrays, with every name and shape checked (clear ValueError otherwise)."""
    choice("cell", cell, tuple(CELLS))
    choice("dtype", dtype, tuple(DTYPES))
    for key in ("W_xh", "W_hy"):
        if key not in params:
            raise ValueError(f"parameters for a {cell} model need {key!r}; got {sorted(params)}")
    H = np.shape(params["W_hy"])[-1] if np.ndim(params["W_hy"]) == 2 else None
    if H is None:
        raise ValueError(f"W_hy must be a 2-D array (O×H), got shape {np.shape(params['W_hy'])}")
    O = np.shape(params["W_hy"])[0]
    D = np.shape(params["W_xh"])[-1] if np.ndim(params["W_xh"]) == 2 else 0
    c = CELLS[cell](D, H, activation)
    m = Model(c, {}, O, DTYPES[dtype])
    expected = m.param_shapes()
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise ValueError(f"a {cell} model with H={H}, D={D}, O={O} needs parameters {sorted(expected)}; "
                         f"missing {missing}, unexpected {extra}")
    for k, shape in expected.items():
        a = np.asarray(params[k])
        if a.shape != shape:
            raise ValueError(f"parameter {k} must have shape {shape}, got {a.shape}")
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)):
            raise ValueError(f"parameter {k} must be finite floats, got dtype {a.dtype}")
        m.params[k] = np.ascontiguousarray(a, dtype=DTYPES[dtype])
    m.config = dict(cell=cell, input_size=D, hidden_size=H, output_size=O, activation=activation, dtype=dtype)
    return m
