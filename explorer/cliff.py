"""Pascanu et al. (2013)'s exploding-gradient cliff, on the one-unit RNN

    x_t = w σ(x_{t−1}) + b,   x_0 = 0.5,   E(w, b) = (σ(x_50) − 0.7)²

(no input; σ the logistic sigmoid). Where the unstable fixed point crosses x_0 the final state jumps between
two attractors and E has a near-vertical wall; gradients there are huge, and a plain gradient step is thrown far
away, while a clipped step (Algorithm 1) keeps its size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import sigmoid
from .validation import finite_float, positive_int


def surface(w: np.ndarray, b: np.ndarray, steps: int = 50, x0: float = 0.5, target: float = 0.7) -> np.ndarray:
    """E on a grid: w (nw,), b (nb,) → (nb, nw), vectorised over the grid."""
    W, Bm = np.meshgrid(np.asarray(w, float), np.asarray(b, float))
    x = np.full_like(W, x0)
    for _ in range(steps):
        x = W * sigmoid(x) + Bm
    return (sigmoid(x) - target) ** 2


def _sig(x: float) -> float:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def loss_and_grad(w: float, b: float, steps: int = 50, x0: float = 0.5, target: float = 0.7):
    """(E, ∂E/∂w, ∂E/∂b) by BPTT through the scalar recurrence."""
    xs = [x0]
    for _ in range(steps):
        xs.append(w * _sig(xs[-1]) + b)
    s = _sig(xs[-1])
    E = (s - target) ** 2
    dx = 2 * (s - target) * s * (1 - s)                 # ∂E/∂x_T
    dw = db = 0.0
    for t in range(steps, 0, -1):
        sp = _sig(xs[t - 1])
        dw += dx * sp                                   # ∂⁺x_t/∂w = σ(x_{t−1})
        db += dx
        dx = dx * w * sp * (1 - sp)                     # ∂x_t/∂x_{t−1} = w σ'(x_{t−1})
    return float(E), float(dw), float(db)


@dataclass
class Path:
    w: np.ndarray
    b: np.ndarray
    E: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray      # bool per step


def descent(w0: float, b0: float, *, lr: float = 0.5, n: int = 40, clip: float | None = None,
            steps: int = 50, bounds=((-1.0, 11.0), (-7.0, 2.0))) -> Path:
    """Gradient descent from (w0, b0), optionally with Pascanu's norm clipping; stops when it leaves `bounds`."""
    lr = finite_float("lr", lr, low=0.0, low_open=True, high=1e3)
    n = positive_int("n", n, maximum=10_000)
    if clip is not None:
        clip = finite_float("clip", clip, low=0.0, low_open=True)
    w, b = float(w0), float(b0)
    ws, bs, Es, gs, cs = [w], [b], [], [], []
    for _ in range(n):
        E, dw, db = loss_and_grad(w, b, steps)
        g = float(np.hypot(dw, db))
        c = clip is not None and g > clip
        if c:
            dw, db = dw * clip / g, db * clip / g
        Es.append(E)
        gs.append(g)
        cs.append(c)
        w, b = w - lr * dw, b - lr * db
        ws.append(w)
        bs.append(b)
        if not (bounds[0][0] <= w <= bounds[0][1] and bounds[1][0] <= b <= bounds[1][1]) or not np.isfinite(w + b):
            break
    Es.append(loss_and_grad(w, b, steps)[0] if np.isfinite(w + b) else np.nan)
    return Path(np.array(ws), np.array(bs), np.array(Es), np.array(gs), np.array(cs))
