"""The lessons' shared configuration: one frozen, hashable description of a model and its input sequence, from
which every chart's numbers are rebuilt deterministically (the app caches on it; a notebook reproduces a chart
with `Scenario(...).build()`).

The sequence: D = 3 input channels x_t ∼ N(0, input_scale²); targets y*_t ∼ N(0, 1) in O = 2 channels (squared
error) or classes uniform over O = 4 (cross-entropy); the loss at every step or at the last step only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .init import INITS, SCALE_KINDS
from .model import build_model
from .truncation import TBPTT, Full, Randomized
from .validation import choice, finite_float, positive_int

TARGETS = ("last step, squared error", "every step, squared error", "every step, cross-entropy")
SCHEMES = ("full", "tbptt", "randomized")
CELL_ACTIVATIONS = {"rnn": ("tanh", "relu", "sigmoid", "linear"), "indrnn": ("relu", "tanh", "sigmoid", "linear"),
                    "lstm": ("tanh",), "gru": ("tanh",)}


@dataclass(frozen=True)
class Scenario:
    cell: str = "rnn"
    activation: str = "tanh"
    hidden: int = 32
    T: int = 100
    init: str = "orthogonal"
    scale_kind: str = "rho"
    scale: float = 0.9
    input_scale: float = 1.0
    seed: int = 0
    target: str = TARGETS[0]
    scheme: str = "full"
    k1: int = 10
    k2: int = 20
    keep_prob: float = 0.8

    def __post_init__(self):
        choice("cell", self.cell, tuple(CELL_ACTIVATIONS))
        choice("activation", self.activation, CELL_ACTIVATIONS[self.cell])
        positive_int("hidden", self.hidden, maximum=512)
        positive_int("T", self.T, maximum=5000)
        choice("init", self.init, INITS)
        choice("scale_kind", self.scale_kind, SCALE_KINDS)
        finite_float("scale", self.scale, low=0.0, high=100.0)
        finite_float("input_scale", self.input_scale, low=0.0, high=100.0)
        choice("target", self.target, TARGETS)
        choice("scheme", self.scheme, SCHEMES)
        positive_int("k1", self.k1)
        positive_int("k2", self.k2)
        finite_float("keep_prob", self.keep_prob, low=0.0, high=1.0, low_open=True)

    @property
    def loss(self) -> str:
        return "cross_entropy" if "cross-entropy" in self.target else "squared_error"

    def truncation(self):
        """The scheme object; TBPTT's k2 is raised to k1 if it was set below it."""
        if self.scheme == "tbptt":
            return TBPTT(self.k1, max(self.k1, self.k2))
        if self.scheme == "randomized":
            return Randomized(self.keep_prob, self.seed)
        return Full()

    def model(self, **overrides):
        kw = dict(activation=self.activation, init=self.init, scale=self.scale, scale_kind=self.scale_kind,
                  seed=self.seed)
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
        if self.target.startswith("last"):
            mask[:-1] = 0.0
        return X, y, mask

    def build(self):
        """(model, X, targets, mask, loss)."""
        X, y, mask = self.data()
        return self.model(), X, y, mask, self.loss

    def as_dict(self) -> dict:
        return asdict(self)
