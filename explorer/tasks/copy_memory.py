"""Copy / memory task (Arjovsky et al. 2016): remember n symbols over a lag of blanks, recall them on a cue.

Input (length lag + 2n): n symbols drawn from {1 … A}, then lag − 1 blanks (0), a delimiter (A + 1), n blanks.
Target: blank for the first lag + n steps, then the n symbols. Cross-entropy at every step.
Memoryless baseline: predict blank until the recall, then uniform over A → n·ln A / (lag + 2n)
(= 10 ln 8 / (T + 20) in the paper's setting n = 10, A = 8).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import positive_int
from .base import Batch, one_hot


@dataclass(frozen=True)
class CopyTask:
    lag: int = 15
    n_symbols: int = 10
    alphabet: int = 8
    name = "copy"
    loss = "cross_entropy"

    def __post_init__(self):
        positive_int("lag", self.lag, maximum=10_000)
        positive_int("n_symbols", self.n_symbols, maximum=100)
        positive_int("alphabet", self.alphabet, maximum=64)
        if self.alphabet < 2:
            raise ValueError(f"alphabet must be ≥ 2, got {self.alphabet}")

    @property
    def T(self) -> int:
        return self.lag + 2 * self.n_symbols

    @property
    def input_size(self) -> int:
        return self.alphabet + 2          # blank, A symbols, delimiter

    @property
    def output_size(self) -> int:
        return self.alphabet + 1          # blank, A symbols

    @property
    def baseline(self) -> float:
        return self.n_symbols * np.log(self.alphabet) / self.T

    def batch(self, B: int, rng: np.random.Generator) -> Batch:
        n, A, lag, T = self.n_symbols, self.alphabet, self.lag, self.T
        sym = rng.integers(1, A + 1, size=(n, B))
        x = np.zeros((T, B), dtype=np.int64)
        x[:n] = sym
        x[n + lag - 1] = A + 1
        y = np.zeros((T, B), dtype=np.int64)
        y[lag + n:] = sym
        return Batch(one_hot(x, A + 2), y, np.ones((T, B)), "cross_entropy")

    def describe(self) -> str:
        return (f"copy {self.n_symbols} symbols (of {self.alphabet}) across a lag of {self.lag}; "
                f"memoryless baseline {self.baseline:.4f} nats/step")
