"""Temporal order (Hochreiter & Schmidhuber 1997; as in Pascanu et al. 2013's code): a sequence of random
distractor symbols {c, d, e, f} with an A or B placed at one step in [0.1T, 0.2T) and another in [0.5T, 0.6T);
the class, at the last step, is which pair appeared (AA, AB, BA, BB). Chance: cross-entropy ln 4 ≈ 1.386.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import positive_int
from .base import Batch, one_hot


@dataclass(frozen=True)
class TemporalOrderTask:
    T: int = 50
    name = "temporal_order"
    loss = "cross_entropy"
    input_size = 6                  # A, B, c, d, e, f
    output_size = 4

    def __post_init__(self):
        positive_int("T", self.T, maximum=10_000)
        if self.T < 10:
            raise ValueError(f"T must be ≥ 10 (the two marked windows need room), got {self.T}")

    @property
    def baseline(self) -> float:
        return float(np.log(4.0))

    def batch(self, B: int, rng: np.random.Generator) -> Batch:
        T = self.T
        x = rng.integers(2, 6, size=(T, B))
        cols = np.arange(B)
        p0 = rng.integers(int(0.1 * T), max(int(0.2 * T), int(0.1 * T) + 1), B)
        p1 = rng.integers(int(0.5 * T), max(int(0.6 * T), int(0.5 * T) + 1), B)
        v0, v1 = rng.integers(0, 2, B), rng.integers(0, 2, B)
        x[p0, cols] = v0
        x[p1, cols] = v1
        y = np.zeros((T, B), dtype=np.int64)
        y[-1] = v0 + 2 * v1
        mask = np.zeros((T, B))
        mask[-1] = 1.0
        return Batch(one_hot(x, 6), y, mask, "cross_entropy")

    def describe(self) -> str:
        return f"which of A/B came first and second in {self.T} steps; chance {self.baseline:.3f} nats"
