"""Adding problem (Le et al. 2015; Arjovsky et al. 2016 form): two input channels over T steps — values U[0, 1]
and a marker that is 1 at one step in each half — and the target, at the last step only, is the sum of the two
marked values. Squared error. Constant predictor 1: MSE = Var(U₁ + U₂) = 1/6 ≈ 0.167.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import positive_int
from .base import Batch


@dataclass(frozen=True)
class AddingTask:
    T: int = 50
    name = "adding"
    loss = "squared_error"
    input_size = 2
    output_size = 1

    def __post_init__(self):
        positive_int("T", self.T, maximum=10_000)
        if self.T < 2:
            raise ValueError(f"T must be ≥ 2 (one marker in each half), got {self.T}")

    @property
    def baseline(self) -> float:
        return 1.0 / 6.0

    def batch(self, B: int, rng: np.random.Generator) -> Batch:
        T = self.T
        vals = rng.random((T, B))
        half = T // 2
        i1 = rng.integers(0, half, B)
        i2 = rng.integers(half, T, B)
        marks = np.zeros((T, B))
        cols = np.arange(B)
        marks[i1, cols] = 1.0
        marks[i2, cols] = 1.0
        X = np.stack([vals, marks], axis=-1)
        y = np.zeros((T, B, 1))
        y[-1, :, 0] = vals[i1, cols] + vals[i2, cols]
        mask = np.zeros((T, B))
        mask[-1] = 1.0
        return Batch(X, y, mask, "squared_error")

    def describe(self) -> str:
        return f"add the two marked numbers of {self.T}; constant-1 baseline MSE {self.baseline:.3f}"
