"""Optimizers and learning-rate schedules. Each step updates the parameter arrays in place; the optimizer's
state (moment estimates, step count) lives in a plain dict of arrays so a training run can be saved and resumed.

    SGD       θ ← θ − η g
    momentum  v ← μ v − η g;  θ ← θ + v                                      (μ = 0.9)
    adagrad   m ← m + g²;  θ ← θ − η g / √(m + 1e-8)                         (min-char-rnn's, exactly)
    rmsprop   m ← ρ m + (1 − ρ) g²;  θ ← θ − η g / (√m + ε)                   (ρ = 0.9, ε = 1e-8)
    adam      m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
              θ ← θ − η m̂ / (√v̂ + ε),  m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)   (β₁ = 0.9, β₂ = 0.999, ε = 1e-8)

Schedules for η at update t (t = 0, 1, …): constant η₀; step η₀ γ^⌊t / s⌋; inverse ("1/t") η₀ / (1 + t / τ).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import choice, finite_float, positive_int

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
SCHEDULES = ("constant", "step", "inverse")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    step_size: int = 1000     # s, for "step"
    gamma: float = 0.5        # γ, for "step"
    tau: float = 1000.0       # τ, for "inverse"

    def __post_init__(self):
        choice("schedule", self.kind, SCHEDULES)
        positive_int("step_size", self.step_size)
        finite_float("gamma", self.gamma, low=0.0, high=1.0, low_open=True)
        finite_float("tau", self.tau, low=0.0, low_open=True)

    def __call__(self, lr0: float, t: int) -> float:
        if self.kind == "step":
            return lr0 * self.gamma ** (t // self.step_size)
        if self.kind == "inverse":
            return lr0 / (1.0 + t / self.tau)
        return lr0


@dataclass
class Optimizer:
    kind: str = "adam"
    lr: float = 1e-3
    schedule: Schedule = field(default_factory=Schedule)
    momentum: float = 0.9
    rho: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    state: dict = field(default_factory=dict)    # name → array, plus "t"

    def __post_init__(self):
        choice("optimizer", self.kind, OPTIMIZERS)
        finite_float("lr", self.lr, low=0.0, low_open=True, high=100.0)
        for name in ("momentum", "rho", "beta1", "beta2"):
            finite_float(name, getattr(self, name), low=0.0, high=1.0)
        finite_float("eps", self.eps, low=0.0, low_open=True)
        self.state.setdefault("t", 0)

    @property
    def t(self) -> int:
        return int(self.state["t"])

    def current_lr(self) -> float:
        return self.schedule(self.lr, self.t)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> float:
        """Update params in place with grads; returns the learning rate used."""
        lr = self.current_lr()
        t = self.t + 1
        for k, g in grads.items():
            p = params[k]
            if self.kind == "sgd":
                p -= lr * g
            elif self.kind == "momentum":
                v = self.state.setdefault(f"v.{k}", np.zeros_like(p))
                v *= self.momentum
                v -= lr * g
                p += v
            elif self.kind == "adagrad":
                m = self.state.setdefault(f"m.{k}", np.zeros_like(p))
                m += g * g
                p += -lr * g / np.sqrt(m + 1e-8)
            elif self.kind == "rmsprop":
                m = self.state.setdefault(f"m.{k}", np.zeros_like(p))
                m *= self.rho
                m += (1.0 - self.rho) * g * g
                p -= lr * g / (np.sqrt(m) + self.eps)
            else:
                m = self.state.setdefault(f"m.{k}", np.zeros_like(p))
                v = self.state.setdefault(f"v.{k}", np.zeros_like(p))
                m *= self.beta1
                m += (1.0 - self.beta1) * g
                v *= self.beta2
                v += (1.0 - self.beta2) * g * g
                mhat = m / (1.0 - self.beta1 ** t)
                vhat = v / (1.0 - self.beta2 ** t)
                p -= lr * mhat / (np.sqrt(vhat) + self.eps)
        self.state["t"] = t
        return lr
