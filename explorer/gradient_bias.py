"""How far an approximate gradient ĝ (truncated, randomized, clipped) is from the exact one g:
cosine similarity ⟨ĝ, g⟩ / (‖ĝ‖‖g‖) and relative error ‖ĝ − g‖ / ‖g‖, per parameter and over all of them.

Lesson 4's two curves, each one call on a forward `Trace`:
    tbptt_bias_sweep(trace, k1, k2s)          cosine and ‖ĝ − g‖/‖g‖ of TBPTT(k1, k2) for many k2, one O(T²) pass
    randomized_error_curve(trace, π, n, seed) ‖ĝ − g‖/max(‖ĝ‖, ‖g‖) of n randomized draws and of their running mean
Row-wise helpers for a stack of flat gradients V (n, |θ|) against g (|θ|,): `compare_rows` (= `compare` per row)
and `relative_errors` (= `explorer.relative_error` per row); `flat_gradient` makes the flat vectors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bptt import all_losses_backward, backward, randomized_draws
from .forward import Trace
from .norms import frobenius
from .truncation import TBPTT, Full


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


def flat_gradient(grads: dict[str, np.ndarray], names=None) -> np.ndarray:
    """The parameters' gradients concatenated into one vector (|θ|,), in `names` order (default: the dict's order,
    which is the model's parameter order)."""
    return np.concatenate([np.ravel(grads[k]) for k in (names or list(grads))])


def _rows(grads: list[dict[str, np.ndarray]], names) -> np.ndarray:
    """(n, |θ|): one flat gradient per row."""
    return np.stack([flat_gradient(d, names) for d in grads])


def compare_rows(V: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`compare(v, g)` for every row v of V (n, |θ|) against g (|θ|,) in a few vectorised norms: (cosine (n,),
    relative error ‖v − g‖ / ‖g‖ (n,)), with compare's conventions (NaN cosine if v or g is 0; relative error inf
    if g = 0 ≠ v, 0 if both are 0)."""
    nv, ng = frobenius(V, axis=1), frobenius(g)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        cos = np.where((nv > 0) & (ng > 0), (V / np.where(nv > 0, nv, 1.0)[:, None]) @ (g / (ng or 1.0)), np.nan)
        rel = frobenius(V - g, axis=1) / ng if ng > 0 else np.where(nv == 0, 0.0, np.inf)
    return cos, rel


def relative_errors(V: np.ndarray, g: np.ndarray) -> np.ndarray:
    """`explorer.relative_error(v, g)` = ‖v − g‖ / max(‖v‖, ‖g‖) (0 when both are 0) for every row v of V
    (n, |θ|) against g (|θ|,): (n,), in three vectorised norms instead of 3n calls."""
    den = np.maximum(frobenius(V, axis=1), frobenius(g))
    num = frobenius(V - g, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den == 0, 0.0, num / np.where(den == 0, 1.0, den))


def tbptt_bias_sweep(trace: Trace, k1: int, k2s=24, exact: dict[str, np.ndarray] | None = None):
    """How biased TBPTT(k1, k2) is, for many k2 at once: (k2s (K,), cosine (K,), relative error (K,)), row i
    equal to `gradient_bias(TBPTT(k1, k2s[i]) gradient, exact)["all"]`.

    k1 is clamped to T (trace.T); k2s is the k2 values, or how many to spread evenly over k1 … T (default 24, fewer
    when T − k1 < 24). `exact` is the full-BPTT gradient of the same trace (computed when not given). Every k2
    comes from ONE all-losses pass with a stack of masks M_{k2}[t, k] (explorer.bptt.all_losses_backward):
    O(T² · B · S · G·H) work (explorer.work_budget.quadratic_cost)."""
    T = trace.T
    k1 = min(k1, T)
    if np.ndim(k2s) == 0:
        k2s = np.unique(np.linspace(k1, T, min(int(k2s), T - k1 + 1)).astype(int))
    exact = backward(trace, Full()).grads if exact is None else exact
    masks = np.stack([TBPTT(k1, int(k2)).mask(T) for k2 in k2s])
    grads = all_losses_backward(trace, masks, contributions=False, connectivity=False).grads
    names = list(exact)
    return (k2s, *compare_rows(_rows(grads, names), flat_gradient(exact, names)))


def randomized_error_curve(trace: Trace, keep_prob: float, n: int, seed: int = 0,
                           exact: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Randomized truncation's noise and its 1/√n cure: (relative error of each single draw ĝ_i (n,), relative
    error of the running mean ḡ_m = (1/m) Σ_{i ≤ m} ĝ_i for m = 1 … n (n,)), both `explorer.relative_error`
    against `exact` (the full-BPTT gradient of the same trace, computed when not given).

    Draw i is Randomized(keep_prob, seed + i); all n come from one batched pass (explorer.bptt.randomized_draws):
    O(n · T · B · S · G·H) work."""
    exact = backward(trace, Full()).grads if exact is None else exact
    names = list(exact)
    g = flat_gradient(exact, names)
    V = _rows(randomized_draws(trace, keep_prob, n, seed=seed), names)                  # (n, |θ|)
    with np.errstate(over="ignore", invalid="ignore"):      # an exploding draw's sum is inf: drawn as a gap
        running = np.cumsum(V, axis=0) / np.arange(1, n + 1)[:, None]
        return relative_errors(V, g), relative_errors(running, g)
