"""A model = one recurrent cell (or a stack of L layers of it) + a linear readout y_t = W_hy h_t + b_y, with its
parameters in a plain dict.

Stacked (num_layers = L > 1) and bidirectional models stack as torch.nn.RNN/LSTM/GRU(num_layers=L,
bidirectional=…) do, without inter-layer dropout: layer l reads x_t^{(0)} = x_t for l = 0, else the output of
layer l − 1, h_t^{(l−1)} (H wide), or [h→_t^{(l−1)}; h←_t^{(l−1)}] (2H wide) when the layers are bidirectional;
the readout reads the top layer, y_t = W_hy h_t^{(L−1)} + b_y. Layer l's parameters carry the suffix of
`layer_key` ("W_xh_l1", "W_hh_l1_reverse"); layer 0's forward direction keeps the plain names, so a one-layer
model is exactly the model it always was.

`build_model` draws seeded parameters: input and readout weights Xavier-uniform, biases 0 (LSTM forget-gate bias
`forget_bias`), recurrent weights by `init` and optionally rescaled to spectral radius ρ or largest singular
value σ₁ (`scale`, `scale_kind`) — per H×H gate block for the LSTM and GRU, max|u| for IndRNN.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import init as inits
from .cells import CELLS, Cell, IndRNN
from .validation import choice, finite_float, positive_int

DTYPES = {"float64": np.float64, "float32": np.float32}
MAX_LAYERS = 16


@dataclass
class Model:
    """cell: the recurrent cell (layer 0's); params: name → array (every layer's cell parameters under
    `layer_key` names, plus W_hy (O × H·dirs) and b_y (O)); num_layers L; bidirectional: every layer has a
    reverse direction too (dirs = 2)."""

    cell: Cell
    params: dict[str, np.ndarray]
    output_size: int
    dtype: type = np.float64
    config: dict = field(default_factory=dict)   # how it was built (for saving and for the app)
    num_layers: int = 1
    bidirectional: bool = False

    def __post_init__(self):
        # Parameters named for another layer count (W_hh_l1 in a model told it has one layer) would be silently
        # ignored by every pass: refuse them here, where a caller that rebuilds a Model forgets num_layers.
        if self.params:
            found = layers_in(self.params)
            if found != (self.num_layers, self.bidirectional):
                raise ValueError(f"the parameters' names are those of {_layers_words(*found)}, but the model is told "
                                 f"it has {_layers_words(self.num_layers, self.bidirectional)}: pass num_layers= "
                                 "and bidirectional= (or copy the model with Model.copy)")

    def require_single_layer(self, what: str) -> None:
        """ValueError unless this is one unidirectional layer: for passes written for a single cell (RTRL, online
        learning, optimal checkpointing, …) to call first, rather than silently run layer 0 alone."""
        if self.stacked:
            raise ValueError(f"{what} works on one unidirectional layer; this model has "
                             f"{_layers_words(self.num_layers, self.bidirectional)}")

    @property
    def directions(self) -> int:
        """dirs: 2 for a bidirectional model, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def stacked(self) -> bool:
        """Whether this model needs the layered passes (L > 1 or bidirectional); False: the single-layer engine."""
        return self.num_layers > 1 or self.bidirectional

    @property
    def output_width(self) -> int:
        """Width of what the readout reads: H·dirs."""
        return self.hidden_size * self.directions

    def layer_cell(self, layer: int) -> Cell:
        """The cell of layer l: input size D for l = 0, H·dirs above it."""
        if layer == 0:
            return self.cell
        c = self.cell
        return type(c)(self.output_width, c.hidden_size, c.activation)

    def layer_params(self, layer: int, reverse: bool = False) -> dict[str, np.ndarray]:
        """Layer l's (direction's) parameters under the cell's own names (W_xh, W_hh, …): views, not copies."""
        if not self.stacked:
            return self.params
        return {k: self.params[layer_key(k, layer, reverse)] for k in self.cell.param_shapes()}

    @property
    def hidden_size(self) -> int:
        return self.cell.hidden_size

    @property
    def input_size(self) -> int:
        return self.cell.input_size

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape, in torch's order: layer 0 (forward, then reverse), layer 1, …, then W_hy and b_y."""
        if not self.stacked:
            shapes = dict(self.cell.param_shapes())
        else:
            shapes = {layer_key(k, l, r): v for l in range(self.num_layers) for r in (False, True)[:self.directions]
                      for k, v in self.layer_cell(l).param_shapes().items()}
        shapes["W_hy"] = (self.output_size, self.output_width)
        shapes["b_y"] = (self.output_size,)
        return shapes

    def copy(self) -> "Model":
        return Model(self.cell, {k: v.copy() for k, v in self.params.items()}, self.output_size, self.dtype,
                     dict(self.config), self.num_layers, self.bidirectional)

    def recurrent_matrix(self, layer: int | None = None, reverse: bool = False) -> np.ndarray:
        """The H×H matrix whose spectrum the lessons draw: W_hh (RNN), diag(u) (IndRNN), the candidate block
        W_hg (LSTM) or W_hn (GRU) — of layer `layer` (default the top one, the one the readout reads)."""
        layer = self.num_layers - 1 if layer is None else layer
        blocks = self.cell.recurrent_blocks(self.layer_params(layer, reverse))
        for name in ("W_hh", "W_hg", "W_hn"):
            if name in blocks:
                return blocks[name]
        raise AssertionError("cell has no recurrent block")


def layer_key(name: str, layer: int, reverse: bool = False) -> str:
    """The model's name for parameter `name` of layer l (direction reverse): "W_hh" for layer 0 forward,
    "W_hh_l1", "W_hh_reverse" (layer 0's reverse direction), "W_hh_l2_reverse" — torch's suffixes, where layer 0's
    is left out so a one-layer model keeps the names it always had."""
    return name + (f"_l{layer}" if layer else "") + ("_reverse" if reverse else "")


_SUFFIX = re.compile(r"_l(\d+)(?:_reverse)?$|_reverse$")


def layers_in(params) -> tuple[int, bool]:
    """(num_layers, bidirectional) that the names of `params` imply (`layer_key` suffixes)."""
    n, bidi = 1, False
    for k in params:
        m = _SUFFIX.search(k)
        if m:
            bidi |= k.endswith("_reverse")
            if m.group(1) is not None:
                n = max(n, int(m.group(1)) + 1)
    return n, bidi


def _layers_words(n: int, bidirectional: bool) -> str:
    return f"{n} layer{'s' if n > 1 else ''}" + (" (bidirectional)" if bidirectional else "")


def _draw_layer(c: Cell, rng, init: str, sigma: float, input_gain: float, forget_bias: float) -> dict:
    """One layer's seeded cell parameters: W_xh Xavier-uniform per gate block (× input_gain), the recurrent
    weights by `init`, b_h = 0 except the LSTM's forget gate (forget_bias), b_hn = 0 (GRU)."""
    H, D, G = c.hidden_size, c.input_size, c.n_gates
    params: dict[str, np.ndarray] = {}
    params["W_xh"] = np.concatenate([inits.xavier(H, D, rng) for _ in range(G)]) * input_gain
    params.update(c.init_recurrent(rng, init, sigma))
    params["b_h"] = np.zeros(G * H)
    if "f" in c.gate_names:                                  # the LSTM's forget gate
        params["b_h"][c.gate_slice("f", H)] = forget_bias
    if "b_hn" in c.param_shapes():
        params["b_hn"] = np.zeros(H)
    return params


def _rescale(c: Cell, params: dict, scale: float, scale_kind: str) -> None:
    """Recurrent weights rescaled in place to ρ (or σ₁) = scale per H×H gate block; max|u| = scale for IndRNN."""
    H, G = c.hidden_size, c.n_gates
    if isinstance(c, IndRNN):
        m = np.max(np.abs(params["u"]))
        params["u"] = params["u"] * (scale / m) if m > 0 else params["u"]
    else:
        blocks = [inits.rescale(params["W_hh"][g * H:(g + 1) * H], scale, scale_kind) for g in range(G)]
        params["W_hh"] = np.concatenate(blocks)


def build_model(cell: str = "rnn", input_size: int = 1, hidden_size: int = 32, output_size: int = 1, *,
                activation: str = "tanh", init: str = "orthogonal", scale: float | None = None,
                scale_kind: str = "rho", sigma: float | None = None, forget_bias: float = 1.0,
                input_gain: float = 1.0, seed: int = 0, dtype: str = "float64", num_layers: int = 1,
                bidirectional: bool = False) -> Model:
    """Build a seeded model. `scale` rescales the recurrent weights to ρ = scale (or σ₁ = scale); None keeps
    the init's own scale. `sigma` is the Gaussian init's standard deviation (default 1/√H, so ρ ≈ 1).
    `input_gain` multiplies the Xavier input weights W_xh: a small gain means the network must *learn* to
    store its inputs, which only a gradient that reaches back to them can teach.

    `num_layers` L stacks L layers (layer l > 0 reads layer l − 1's h_t, or [h→_t; h←_t] when `bidirectional`);
    every layer is drawn and rescaled the same way, except that `input_gain` applies to layer 0's W_xh only (the
    one reading the inputs). Layer 0 (forward) and W_hy are drawn first, so for a unidirectional stack they equal
    the one-layer model of the same seed; the other layers are drawn after them."""
    choice("cell", cell, tuple(CELLS))
    choice("dtype", dtype, tuple(DTYPES))
    choice("scale_kind", scale_kind, inits.SCALE_KINDS)
    positive_int("output_size", output_size, maximum=100_000)
    num_layers = positive_int("num_layers", num_layers, maximum=MAX_LAYERS)
    if not isinstance(bidirectional, (bool, np.bool_)):
        raise ValueError(f"bidirectional must be True or False, got {bidirectional!r}")
    bidirectional = bool(bidirectional)
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
    model = Model(c, {}, output_size, DTYPES[dtype], {}, num_layers, bidirectional)
    dirs = model.directions

    params = _draw_layer(c, rng, init, sigma, input_gain, forget_bias)
    params["W_hy"] = inits.xavier(output_size, H * dirs, rng)
    params["b_y"] = np.zeros(output_size)
    layers = {(0, False): params}
    for l in range(num_layers):
        for r in (False, True)[:dirs]:
            if (l, r) != (0, False):
                layers[(l, r)] = _draw_layer(model.layer_cell(l), rng, init, sigma, 1.0, forget_bias)
    if scale is not None:
        for (l, _), p in layers.items():
            _rescale(model.layer_cell(l), p, scale, scale_kind)
    if model.stacked:
        flat = {layer_key(k, l, r): v for (l, r), p in layers.items() for k, v in p.items()
                if k not in ("W_hy", "b_y")}
        params = {k: params[k] if k in ("W_hy", "b_y") else flat[k] for k in model.param_shapes()}

    dt = DTYPES[dtype]
    model.params = {k: np.ascontiguousarray(v, dtype=dt) for k, v in params.items()}
    model.config = dict(cell=cell, input_size=D, hidden_size=H, output_size=output_size, activation=activation,
                        init=init, scale=scale, scale_kind=scale_kind, sigma=float(sigma), forget_bias=forget_bias,
                        input_gain=input_gain, seed=int(seed), dtype=dtype, num_layers=num_layers,
                        bidirectional=bidirectional)
    return model


def model_from_params(cell: str, params: dict[str, np.ndarray], *, activation: str = "tanh",
                      dtype: str = "float64", num_layers: int | None = None,
                      bidirectional: bool | None = None) -> Model:
    """A model around given parameter arrays, with every name and shape checked (clear ValueError otherwise).
    num_layers and bidirectional default to what the names imply (`layers_in`)."""
    choice("cell", cell, tuple(CELLS))
    choice("dtype", dtype, tuple(DTYPES))
    found_layers, found_bidi = layers_in(params)
    num_layers = found_layers if num_layers is None else positive_int("num_layers", num_layers, maximum=MAX_LAYERS)
    bidirectional = found_bidi if bidirectional is None else bool(bidirectional)
    dirs = 2 if bidirectional else 1
    for key in ("W_xh", "W_hy"):
        if key not in params:
            raise ValueError(f"parameters for a {cell} model need {key!r}; got {sorted(params)}")
    H = np.shape(params["W_hy"])[-1] if np.ndim(params["W_hy"]) == 2 else None
    if H is None:
        raise ValueError(f"W_hy must be a 2-D array (O×H), got shape {np.shape(params['W_hy'])}")
    if H % dirs:
        raise ValueError(f"W_hy of a bidirectional model reads [h→; h←], so it needs 2·H columns; got {H}")
    H //= dirs
    O = np.shape(params["W_hy"])[0]
    D = np.shape(params["W_xh"])[-1] if np.ndim(params["W_xh"]) == 2 else 0
    c = CELLS[cell](D, H, activation)
    m = Model(c, {}, O, DTYPES[dtype], {}, num_layers, bidirectional)
    expected = m.param_shapes()
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        layers = f", {num_layers} layers" if num_layers > 1 else ""
        layers += ", bidirectional" if bidirectional else ""
        raise ValueError(f"a {cell} model with H={H}, D={D}, O={O}{layers} needs parameters {sorted(expected)}; "
                         f"missing {missing}, unexpected {extra}")
    for k, shape in expected.items():
        a = np.asarray(params[k])
        if a.shape != shape:
            raise ValueError(f"parameter {k} must have shape {shape}, got {a.shape}")
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)):
            raise ValueError(f"parameter {k} must be finite floats, got dtype {a.dtype}")
        m.params[k] = np.ascontiguousarray(a, dtype=DTYPES[dtype])
    m.config = dict(cell=cell, input_size=D, hidden_size=H, output_size=O, activation=activation, dtype=dtype,
                    num_layers=num_layers, bidirectional=bidirectional)
    return m
