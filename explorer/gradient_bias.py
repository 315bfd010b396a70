"""How far an approximate gradient ĝ (truncated, randomized, clipped) is from the exact one g:
cosine similarity ⟨ĝ, g⟩ / (‖ĝ‖‖g‖) and relative error ‖ĝ − g‖ / ‖g‖, per parameter and over all of them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .norms import frobenius


@dataclass(frozen=True)
class Bias:
    cosine: float           # NaN if either gradient is zero
    relative_error: float   # ‖ĝ − g‖ / ‖g‖ (inf if g = 0 ≠ ĝ, 0 if both are 0)


def compare(approx: np.ndarray, exact: np.ndarray) -> Bias:
    a, e = np.ravel(approx).astype(np.float64), np.ravel(exact).astype(np.float64)
    na, ne = frobenius(a), frobenius(e)
    with np.errstate(over="ignore", invalid="ignore"):
        diff = frobenius(a - e)
        cos = float(np.dot(a / na, e / ne)) if na > 0 and ne > 0 else float("nan")
    rel = float(diff / ne) if ne > 0 else (0.0 if diff == 0 else float("inf"))
    return Bias(cos, rel)


def gradient_bias(approx: dict[str, np.ndarray], exact: dict[str, np.ndarray]) -> dict[str, Bias]:
    """Bias per parameter name, plus "all" for the concatenation of every parameter."""
    missing = set(exact) - set(approx)
    if missing:
        raise ValueError(f"approximate gradient is missing parameters {sorted(missing)}")
    out = {k: compare(approx[k], exact[k]) for k in exact}
    out["all"] = compare(np.concatenate([np.ravel(approx[k]) for k in exact]),
                         np.concatenate([np.ravel(exact[k]) for k in exact]))
    return out
