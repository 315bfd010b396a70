"""What every task gives the trainer: seeded batches and a trivial baseline.

A task produces `Batch(X (T, B, D), targets, mask (T, B), loss)`. The loss the trainer reports is the mean loss
per supervised step, L_step = Σ_{t,b} m_{t,b} ℓ_{t,b} / Σ m — the unit every baseline below is quoted in.

`memoryless_baseline` measures, on a large sample, the loss of the best predictor that sees only the time index
(not the inputs): for cross-entropy the entropy of each step's target distribution, for squared error each
step's target variance. It is the loss a network sits at when its gradient cannot reach the information.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Batch:
    X: np.ndarray            # (T, B, D) float64
    targets: np.ndarray      # (T, B) class indices, or (T, B, O) floats
    mask: np.ndarray         # (T, B): 1 where the step has a target
    loss: str                # "cross_entropy" | "squared_error"


def one_hot(idx: np.ndarray, n: int) -> np.ndarray:
    """(…) int → (…, n) float64 one-hot."""
    out = np.zeros(idx.shape + (n,))
    np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
    return out


def memoryless_baseline(task, n: int = 20_000, seed: int = 0) -> float:
    """Loss per supervised step of the best predictor that knows only the time index (measured on n sequences)."""
    b = task.batch(n, np.random.default_rng(seed))
    m = b.mask
    if b.loss == "cross_entropy":
        O = task.output_size
        total = 0.0
        for t in range(b.targets.shape[0]):
            w = m[t]
            if w.sum() == 0:
                continue
            counts = np.bincount(b.targets[t], weights=w, minlength=O)
            p = counts / counts.sum()
            nz = counts > 0
            total += -np.sum(counts[nz] * np.log(p[nz]))
        return float(total / m.sum())
    w = m[..., None]
    mean = (b.targets * w).sum(axis=1, keepdims=True) / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    return float((((b.targets - mean) ** 2) * w).sum() / m.sum())
