"""Truncation schemes. Each one is (a) a way to run the backward pass and (b) the mask M[t, k] it applies to
Pascanu's sum  ∂L/∂θ = Σ_t Σ_{k≤t} M[t,k] (∂ℓ_t/∂s_t)(∂s_t/∂s_k)(∂⁺s_k/∂θ)  — so the app can draw exactly what
is cut. Indices are 0-based steps; M is (T, T), lower triangular (t ≥ k).

- Full BPTT: M = 1 for every k ≤ t.
- TBPTT(k1, k2), Williams & Peng's BPTT(h = k2; h′ = k1): at τ = k1, 2k1, … and at the end T, the losses of the
  steps since the previous update are backpropagated to step τ − k2: loss t in window [τ_prev, τ) keeps k ≥ τ − k2,
  so every loss gets between k2 − k1 + 1 and k2 steps (fewer only near t = 0).
  TBPTT(K, K) is "detach every K steps" (a loss at chunk offset i gets exactly i+1 steps; when K does not divide
  T the final update at T still backpropagates K steps, into the previous chunk); TBPTT(1, k2) keeps t − k < k2;
  k2 ≥ T is full BPTT.
- Randomized (Tallec & Ollivier 2017; d2l §9.7): ξ_j = 1/π with probability π, else 0, one per transition;
  M[t,k] = Π_{j=k+1..t} ξ_j, so E[M] = 1 and the gradient is unbiased.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import finite_float, positive_int


@dataclass(frozen=True)
class Window:
    """Backpropagate steps hi → lo (inclusive), injecting the losses of steps loss_lo … hi."""

    lo: int
    hi: int
    loss_lo: int


@dataclass(frozen=True)
class Full:
    name = "full"

    def windows(self, T: int) -> list[Window]:
        return [Window(0, T - 1, 0)]

    def xi(self, T: int):
        return None

    def mask(self, T: int) -> np.ndarray:
        return np.tril(np.ones((T, T)))

    def label(self) -> str:
        return "full BPTT"


def fit_truncation(k1: int, k2: int, T: int, moved: str | None = None) -> tuple[int, int]:
    """(k1, k2) made to fit T and each other, k1 ≤ k2 ≤ T: both are cut to T; when k2 < k1, k2 follows k1 up,
    unless k2 is the one just `moved` ("k2"), which pulls k1 down. The one place the rule is written."""
    k1, k2 = min(k1, T), min(k2, T)
    if k2 < k1:
        if moved == "k2":
            k1 = k2
        else:
            k2 = k1
    return k1, k2


@dataclass(frozen=True)
class TBPTT:
    k1: int
    k2: int
    name = "tbptt"

    def __post_init__(self):
        positive_int("k1", self.k1)
        positive_int("k2", self.k2)
        if self.k2 < self.k1:
            raise ValueError(f"k2 must be ≥ k1 (each update backpropagates at least the k1 steps it covers), "
                             f"got k1={self.k1}, k2={self.k2}")

    def update_times(self, T: int) -> list[int]:
        """τ_j: the number of steps seen at each update (k1, 2k1, …, and a last one at T)."""
        return list(range(self.k1, T, self.k1)) + [T]

    def windows(self, T: int) -> list[Window]:
        out, prev = [], 0
        for tau in self.update_times(T):
            out.append(Window(max(0, tau - self.k2), tau - 1, prev))
            prev = tau
        return out

    def xi(self, T: int):
        return None

    def mask(self, T: int) -> np.ndarray:
        M = np.zeros((T, T))
        for w in self.windows(T):
            M[w.loss_lo:w.hi + 1, w.lo:w.hi + 1] = 1.0
        return np.tril(M)

    def label(self) -> str:
        return f"TBPTT(k1={self.k1}, k2={self.k2})"


@dataclass(frozen=True)
class Randomized:
    keep_prob: float = 0.9
    seed: int = 0
    name = "randomized"

    def __post_init__(self):
        finite_float("keep_prob", self.keep_prob, low=0.0, high=1.0, low_open=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a whole number ≥ 0, got {self.seed!r}")

    def xi(self, T: int) -> np.ndarray:
        """ξ_j for the transition into step j (j = 0 … T−1; ξ_0 only scales ∂L/∂s_0)."""
        rng = np.random.default_rng(self.seed)
        return (rng.random(T) < self.keep_prob) / self.keep_prob

    def windows(self, T: int) -> list[Window]:
        return [Window(0, T - 1, 0)]

    def mask(self, T: int) -> np.ndarray:
        xi = self.xi(T)
        M = np.zeros((T, T))
        for k in range(T):
            M[k, k] = 1.0
            M[k + 1:, k] = np.cumprod(xi[k + 1:])
        return M

    def label(self) -> str:
        return f"randomized truncation (π={self.keep_prob:g}, seed {self.seed})"


Scheme = Full | TBPTT | Randomized
