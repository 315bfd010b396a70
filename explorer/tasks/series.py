"""Time-series forecasting: from x_0 … x_t predict the next `horizon` values x_{t+1} … x_{t+h} (squared error,
every step supervised). Two generators, each seeded per sequence:
- "sines": x_t = Σ_{k=1..3} a_k sin(ω_k t + φ_k) + σ ε_t, a_k ∼ U[0.2, 0.6], ω_k ∼ U[0.05, 0.6];
- "oscillator": a damped oscillator, x_{t+1} = 2r cos(ω) x_t − r² x_{t−1} + σ ε_t, r ∼ U[0.95, 0.995],
  ω ∼ U[0.1, 0.5] (a discretised spring with friction, kicked by noise).
Trivial baseline: persistence, x̂_{t+j} = x_t (measured on a large seeded sample; in units of the summed squared
error over the horizon, as the loss is).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..validation import choice, finite_float, positive_int
from .base import Batch

KINDS = ("sines", "oscillator")


@dataclass(frozen=True)
class SeriesTask:
    kind: str = "sines"
    T: int = 100
    horizon: int = 1
    noise: float = 0.05
    name = "series"
    loss = "squared_error"
    input_size = 1

    def __post_init__(self):
        choice("kind", self.kind, KINDS)
        positive_int("T", self.T, maximum=10_000)
        positive_int("horizon", self.horizon, maximum=100)
        finite_float("noise", self.noise, low=0.0, high=10.0)

    @property
    def output_size(self) -> int:
        return self.horizon

    def series(self, B: int, rng: np.random.Generator) -> np.ndarray:
        """(T + horizon, B) values."""
        n = self.T + self.horizon
        t = np.arange(n)[:, None]
        if self.kind == "sines":
            a = rng.uniform(0.2, 0.6, (3, B))
            w = rng.uniform(0.05, 0.6, (3, B))
            ph = rng.uniform(0, 2 * np.pi, (3, B))
            x = sum(a[k] * np.sin(w[k] * t + ph[k]) for k in range(3))
            return x + self.noise * rng.standard_normal((n, B))
        r = rng.uniform(0.95, 0.995, B)
        w = rng.uniform(0.1, 0.5, B)
        x = np.zeros((n, B))
        x[0], x[1] = rng.standard_normal(B), rng.standard_normal(B)
        eps = rng.standard_normal((n, B)) * self.noise
        c1, c2 = 2 * r * np.cos(w), -r * r
        for i in range(2, n):
            x[i] = c1 * x[i - 1] + c2 * x[i - 2] + eps[i]
        return x

    def batch(self, B: int, rng: np.random.Generator) -> Batch:
        x = self.series(B, rng)
        T, h = self.T, self.horizon
        X = x[:T, :, None]
        y = np.stack([x[1 + j: T + 1 + j] for j in range(h)], axis=-1)
        return Batch(X, y, np.ones((T, B)), "squared_error")

    def persistence_loss(self, b: Batch) -> float:
        pred = np.repeat(b.X, self.horizon, axis=-1)
        return float(np.sum(((pred - b.targets) ** 2) * b.mask[..., None]) / b.mask.sum())

    @property
    def baseline(self) -> float:
        return _persistence(self)

    def describe(self) -> str:
        return (f"forecast {self.horizon} step(s) of a noisy {self.kind} series ({self.T} steps); "
                f"persistence baseline {self.baseline:.4f}")


@lru_cache(maxsize=64)
def _persistence(task: SeriesTask) -> float:
    return task.persistence_loss(task.batch(4000, np.random.default_rng(0)))
