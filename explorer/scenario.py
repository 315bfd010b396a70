"""The lessons' shared configuration: one frozen, hashable description of a model and its input sequence, from
which every chart's numbers are rebuilt deterministically (the app caches on it; a notebook reproduces a chart
with `Scenario(...).build()`).

The sequence: D = 3 input channels x_t ∼ N(0, input_scale²); targets y*_t ∼ N(0, 1) in O = 2 channels (squared
error) or classes uniform over O = 4 (cross-entropy); the loss at every step or at the last step only.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .init import INITS, SCALE_KINDS
from .model import build_model
from .truncation import TBPTT, Full, Randomized, fit_truncation
from .validation import choice, finite_float

# The loss keys: where the loss sits (last step or every step) and which loss it is.
TARGETS = {"last_squared": ("squared_error", True), "every_squared": ("squared_error", False),
           "every_cross_entropy": ("cross_entropy", False)}
SCHEMES = ("full", "tbptt", "randomized")
CELL_ACTIVATIONS = {"rnn": ("tanh", "relu", "sigmoid", "linear"), "indrnn": ("relu", "tanh", "sigmoid", "linear"),
                    "lstm": ("tanh",), "gru": ("tanh",)}


def _setting(default, url: str | None = None, lo=None, hi=None, options=()):
    """A field of the settings table: its default, its URL name (if not the field's own), its range or options —
    the one place they are written (ui/params.py adds labels and slider steps, nothing else)."""
    return field(default=default, metadata=dict(url=url, lo=lo, hi=hi, options=tuple(options)))


@dataclass(frozen=True)
class Scenario:
    """A model and its input sequence. Every field is a setting of the app's sidebar (its URL name in `url`)."""
    cell: str = _setting("rnn", options=CELL_ACTIVATIONS)            # rnn | lstm | gru | indrnn
    activation: str = _setting("tanh", url="act", options=CELL_ACTIVATIONS["rnn"])   # φ, as the cell allows
    hidden: int = _setting(32, url="H", lo=2, hi=256)                # H: ≤ 256 keeps a move under the work budget
    layers: int = _setting(1, lo=1, hi=4)                            # L stacked layers (explorer.stacked); 1 = one cell
    T: int = _setting(100, lo=2, hi=1000)                            # sequence length
    init: str = _setting("orthogonal", options=INITS)               # W_hh before scaling
    scale_kind: str = _setting("rho", options=SCALE_KINDS)          # scale ρ = max|λ| or σ₁
    scale: float = _setting(0.9, lo=0.1, hi=3.0)                     # W_hh scaled to this ρ or σ₁
    input_scale: float = _setting(1.0, url="input", lo=0.0, hi=5.0)  # x_t ∼ N(0, input_scale²)
    seed: int = _setting(0, lo=0, hi=9999)                           # weights and sequence
    target: str = _setting("last_squared", options=TARGETS)          # a key of TARGETS
    scheme: str = _setting("full", options=SCHEMES)                  # truncation: see truncation()
    k1: int = _setting(10, lo=1, hi=1000)                            # TBPTT: steps per update (≤ T)
    k2: int = _setting(20, lo=1, hi=1000)                            # TBPTT: steps back (k1 ≤ k2 ≤ T)
    keep_prob: float = _setting(0.8, url="keep", lo=0.05, hi=1.0)   # randomized: π, keep probability per step

    def __post_init__(self):
        for f in fields(self):
            m, v = f.metadata, getattr(self, f.name)
            if m["options"]:
                choice(f.name, v, CELL_ACTIVATIONS[self.cell] if f.name == "activation" else m["options"])
            elif f.type == "int":
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not m["lo"] <= v <= m["hi"]:
                    raise ValueError(f"{f.name} must be a whole number in [{m['lo']}, {m['hi']}], got {v!r}")
            else:
                finite_float(f.name, v, low=m["lo"], high=m["hi"])
        k1, k2 = fit_truncation(self.k1, self.k2, self.T)        # the one rule: k1 ≤ T, k1 ≤ k2 ≤ T
        object.__setattr__(self, "k1", k1)
        object.__setattr__(self, "k2", k2)

    @classmethod
    def from_settings(cls, values: dict) -> Scenario:
        """The Scenario of a settings dict keyed by URL name (act, H, input, keep, the rest by field name); keys
        that are not its fields are ignored, missing ones take their defaults."""
        names = {url_name(f): f.name for f in fields(cls)}
        return cls(**{names[k]: v for k, v in values.items() if k in names})

    @property
    def loss(self) -> str:
        return TARGETS[self.target][0]

    def truncation(self):
        """The scheme object: Full(), TBPTT(k1, k2) or Randomized(keep_prob, seed)."""
        if self.scheme == "tbptt":
            return TBPTT(self.k1, self.k2)
        if self.scheme == "randomized":
            return Randomized(self.keep_prob, self.seed)
        return Full()

    def model(self, **overrides):
        kw = dict(activation=self.activation, init=self.init, scale=self.scale, scale_kind=self.scale_kind,
                  seed=self.seed, num_layers=self.layers)
        kw.update(overrides)
        O = 4 if self.loss == "cross_entropy" else 2
        return build_model(self.cell, 3, self.hidden, O, **kw)

    def data(self):
        """(X (T, 1, 3), targets, mask (T, 1)) for one sequence."""
        rng = np.random.default_rng(self.seed + 10_007)
        X = rng.standard_normal((self.T, 1, 3)) * self.input_scale
        if self.loss == "cross_entropy":
            y = rng.integers(0, 4, (self.T, 1))
        else:
            y = rng.standard_normal((self.T, 1, 2))
        mask = np.ones((self.T, 1))
        if TARGETS[self.target][1]:
            mask[:-1] = 0.0
        return X, y, mask

    def build(self):
        """(model, X, targets, mask, loss)."""
        X, y, mask = self.data()
        return self.model(), X, y, mask, self.loss

    def as_dict(self) -> dict:
        return asdict(self)


def url_name(f) -> str:
    """The URL name of a Scenario field (act, H, input, keep; the field's own name otherwise)."""
    return f.metadata["url"] or f.name
