"""Online learning rules for a (leaky) vanilla RNN: per-step gradient estimates that need no stored past.

The network (α = 1 is the engine's RNN, explorer.cells.vanilla, with the same parameters and layout):
    a_t = W_xh x_t + W_hh h_{t−1} + b_h,     h_t = (1 − α) h_{t−1} + α φ(a_t),     y_t = W_hy h_t + b_y
The recurrent parameters are taken together as one n × m matrix W = [W_hh | W_xh | b_h] (n = H hidden units,
m = n + D + 1) acting on â_t = [h_{t−1}; x_t; 1], so a_t = W â_t. With d_t = α φ'(a_t) (n,):
    J_t = ∂h_t/∂h_{t−1} = (1 − α) I + diag(d_t) W_hh                          (n × n)
    M_t = ∂h_t/∂W (n × n·m, entry [i, (k, j)]),  M_t = J_t M_{t−1} + M̄_t,  M̄_t[i, (k, j)] = δ_ik d_t,i â_t,j
    q_t = ∂ℓ_t/∂h_t = W_hyᵀ ∂ℓ_t/∂y_t  (through the readout only),   ∂ℓ_t/∂W = q_t M_t
Every rule keeps an approximation M̃_t of the influence matrix M_t and estimates ∂ℓ_t/∂W by q_t M̃_t, at step t,
from what it carries forward (per sequence; shapes below are for one sequence, the engine adds a batch axis):

    rule     state                                   update at step t                                 cost/step
    rtrl     M (n, n, m)                              M ← J_t M + M̄_t (exact: Williams & Zipser 1989)   n³m
    uoro     A (n,), B (n, m)                         ν ∈ {±1}ⁿ;  A ← ρ₀ J_t A + ρ₁ ν,                   n² + 4nm
                                                      B ← B/ρ₀ + (ν ⊙ d_t) â_tᵀ/ρ₁;  M̃ = A ⊗ B
                                                      ρ₀ = √(‖B‖/‖J_t A‖), ρ₁ = √(‖d_t‖‖â_t‖/√n)
                                                      (Tallec & Ollivier 2017: unbiased, rank one)
    kf_rtrl  u (m,), A (n, n)                         c₀, c₁ ∈ {±1};  u ← c₀ p₀ u + c₁ p₁ â_t,           n³ + 3n² + nm
                                                      A ← c₀ J_t A/p₀ + c₁ diag(d_t)/p₁;  M̃[i,(k,j)] = A_ik u_j
                                                      p₀ = √(‖J_t A‖/‖u‖), p₁ = √(‖d_t‖/‖â_t‖)
                                                      (Mujika, Meier & Steger 2018: unbiased, Kronecker)
    rflo     E (n, m)                                 E ← (1 − α) E + d_t â_tᵀ;  M̃[i,(i,j)] = E_ij       3nm
                                                      (Murray 2019: J_t replaced by (1 − α) I)
    snap1    S (n, m)                                 S ← diag(J_t) ⊙ S + d_t â_tᵀ;  M̃[i,(i,j)] = S_ij    3nm + n
                                                      (Menick et al. 2020: each unit's own row only)
    tbptt    the last k (â_s, d_s)                    ∂ℓ_t/∂W with paths longer than k steps cut:        k(n² + nm)
                                                      δ ← q_t, then for s = t … t−k+1: add (d_s ⊙ δ) â_sᵀ,
                                                      δ ← J_sᵀ δ (per-step TBPTT(1, k) of explorer.truncation)

Costs are multiply-adds of the rule's own work per step and sequence (`step_ops`), on top of the forward step's
n·m; ‖·‖ is the Frobenius norm, and a ρ or p whose norms are 0 is taken as 1 (any positive value keeps the rule
unbiased; A = B = 0, u = A = 0 start exactly at M_0 = 0). UORO and KF-RTRL draw fresh signs every step, so at fixed
weights E[M̃_t] = M_t: their per-step estimates are unbiased; RFLO and SnAp-1 are biased, and exact when
J_t is (1 − α) I (W_hh = 0) or diagonal (W_hh diagonal) respectively. Murray's RFLO also sends the error back by
a fixed random matrix; here every rule uses the true q_t, so only the influence approximation differs.
The readout's gradient, ∂ℓ_t/∂W_hy = (∂ℓ_t/∂y_t) h_tᵀ and ∂ℓ_t/∂b_y = ∂ℓ_t/∂y_t, is exact and immediate in
every rule: y_t depends on W_hy only through this step.

Loss convention as the engine's: L = (1/B) Σ_b Σ_t m_{t,b} ℓ_t (explorer.losses), so the per-step estimates are
summed over the batch with the 1/B in ∂ℓ/∂y. `online_gradients` runs one rule; `online_compare` runs several on
one forward pass with one exact RTRL; `OnlineTrainer` trains with a rule (weights updated once per sequence
batch from the summed per-step estimates); `time_per_step` measures a rule's step.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import activations
from . import losses as L
from .cells import VanillaRNN
from .clipping import clip_by_global_norm
from .forward import QUIET, check_inputs, check_state
from .model import Model, build_model
from .optim import Optimizer
from .validation import choice, finite_float, positive_int

RULES = ("rtrl", "uoro", "kf_rtrl", "rflo", "snap1", "tbptt")
READOUT = "readout"                       # the race's floor: no recurrent learning at all, only W_hy and b_y
_STREAM = {r: i for i, r in enumerate(RULES + (READOUT,))}      # each rule's stream of random signs of a seed
STOCHASTIC = ("uoro", "kf_rtrl")          # random signs: unbiased estimates that differ from seed to seed
RECURRENT = ("W_xh", "W_hh", "b_h")       # the parameters the rules estimate (the model's order)
K_DEFAULT = 10                            # TBPTT(k)'s window when none is given
CLOCK = time.thread_time                  # the timing policy of explorer.cost: this thread's CPU seconds


def label(rule: str, k: int = K_DEFAULT) -> str:
    """The name charts and tables use: "RTRL (exact)", "UORO", …, "TBPTT(10)"."""
    return {"rtrl": "RTRL (exact)", "uoro": "UORO", "kf_rtrl": "KF-RTRL", "rflo": "RFLO", "snap1": "SnAp-1",
            "tbptt": f"TBPTT({k})", READOUT: "readout only"}[choice("rule", rule, RULES + (READOUT,))]


# ---- the op-count model ------------------------------------------------------------------------------------

def step_ops(rule: str, n: int, D: int, k: int = K_DEFAULT) -> float:
    """Multiply-adds of one step of `rule`'s own work for one sequence (n hidden units, D inputs, m = n + D + 1),
    as the module's table: the products that update its state and the one that reads the estimate out."""
    m = n + D + 1
    choice("rule", rule, RULES + (READOUT,))
    return float({READOUT: 0, "rtrl": n ** 3 * m + n * n * m,             # W_hh M (n × n)(n × nm), then q M
                  "uoro": n * n + 4 * n * m + n,              # J A; ν M̄; B/ρ₀ + …; (q·A) B
                  "kf_rtrl": n ** 3 + 3 * n * n + n * m + 2 * m,   # W_hh A; q A; the rescaled sums; (qA) uᵀ
                  "rflo": 3 * n * m,                          # the trace's decay and d âᵀ; q ⊙ E
                  "snap1": 3 * n * m + n,
                  "tbptt": k * (n * n + n * m)}[rule])        # k steps of δ back and their outer products


def state_floats(rule: str, n: int, D: int, k: int = K_DEFAULT) -> int:
    """Floats the rule carries from step to step for one sequence (besides h_t)."""
    m = n + D + 1
    choice("rule", rule, RULES + (READOUT,))
    return {READOUT: 0, "rtrl": n * n * m, "uoro": n + n * m, "kf_rtrl": m + n * n, "rflo": n * m, "snap1": n * m,
            "tbptt": k * (m + n)}[rule]


# ---- the rules: state, one step, the readout -----------------------------------------------------------------

class _Rule:
    """One rule's state for B sequences. `advance(s)` folds step s (an `_Step`) into the state; `estimate(q)`
    returns Σ_b q_b M̃_b, the (n, m) estimate of Σ_b ∂ℓ_t,b/∂W."""

    def __init__(self, n: int, m: int, B: int, dtype, W_hh: np.ndarray, leak: float, rng, k: int):
        self.n, self.m, self.B, self.dt = n, m, B, dtype
        self.W_hh, self.leak, self.rng, self.k = W_hh, leak, rng, k

    def jv(self, s, v):
        """J_t v for v (B, n)."""
        out = s.d * (v @ self.W_hh.T)
        return out if self.leak == 1.0 else out + (1.0 - self.leak) * v

    def jm(self, s, V):
        """J_t V for V (B, n, K)."""
        out = s.d[:, :, None] * (self.W_hh @ V)
        return out if self.leak == 1.0 else out + (1.0 - self.leak) * V


@dataclass
class _Step:
    a_hat: np.ndarray        # (B, m) [h_{t−1}; x_t; 1]
    d: np.ndarray            # (B, n) α φ'(a_t)


def _signs(rng, shape, dtype) -> np.ndarray:
    return (2 * rng.integers(0, 2, size=shape) - 1).astype(dtype)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """√(num/den) per sequence, 1 where either is 0 (a zero factor: any positive scale is exact)."""
    ok = (num > 0) & (den > 0)
    return np.where(ok, np.sqrt(np.where(ok, num, 1.0) / np.where(ok, den, 1.0)), 1.0)


class _RTRL(_Rule):
    def __init__(self, *a):
        super().__init__(*a)
        self.M = np.zeros((self.B, self.n, self.n, self.m), dtype=self.dt)     # M[b, i, k, j] = ∂h_i/∂W[k, j]
        self.idx = np.arange(self.n)

    def advance(self, s):
        B, n, m = self.B, self.n, self.m
        self.M = self.jm(s, self.M.reshape(B, n, n * m)).reshape(B, n, n, m)
        self.M[:, self.idx, self.idx, :] += s.d[:, :, None] * s.a_hat[:, None, :]

    def estimate(self, q):
        return np.tensordot(q, self.M, axes=([0, 1], [0, 1]))


class _UORO(_Rule):
    def __init__(self, *a):
        super().__init__(*a)
        self.A = np.zeros((self.B, self.n), dtype=self.dt)
        self.Bm = np.zeros((self.B, self.n, self.m), dtype=self.dt)

    def advance(self, s):
        JA = self.jv(s, self.A)
        nu = _signs(self.rng, (self.B, self.n), self.dt)
        rho0 = _ratio(np.sqrt(np.einsum("bij,bij->b", self.Bm, self.Bm)), np.sqrt(np.einsum("bi,bi->b", JA, JA)))
        rho1 = _ratio(np.linalg.norm(s.d, axis=1) * np.linalg.norm(s.a_hat, axis=1), np.full(self.B, math.sqrt(self.n)))
        self.A = rho0[:, None] * JA + rho1[:, None] * nu
        self.Bm = self.Bm / rho0[:, None, None] + ((nu * s.d) / rho1[:, None])[:, :, None] * s.a_hat[:, None, :]

    def estimate(self, q):
        return np.tensordot(np.einsum("bi,bi->b", q, self.A), self.Bm, axes=(0, 0))


class _KF(_Rule):
    def __init__(self, *a):
        super().__init__(*a)
        self.u = np.zeros((self.B, self.m), dtype=self.dt)
        self.A = np.zeros((self.B, self.n, self.n), dtype=self.dt)
        self.eye = np.eye(self.n, dtype=self.dt)

    def advance(self, s):
        JA = self.jm(s, self.A)
        c = _signs(self.rng, (2, self.B), self.dt)
        p0 = _ratio(np.sqrt(np.einsum("bij,bij->b", JA, JA)), np.linalg.norm(self.u, axis=1))
        p1 = _ratio(np.linalg.norm(s.d, axis=1), np.linalg.norm(s.a_hat, axis=1))
        self.u = (c[0] * p0)[:, None] * self.u + (c[1] * p1)[:, None] * s.a_hat
        self.A = (c[0] / p0)[:, None, None] * JA + ((c[1] / p1)[:, None] * s.d)[:, :, None] * self.eye

    def estimate(self, q):
        qA = np.einsum("bi,bik->bk", q, self.A)
        return qA.T @ self.u


class _Diagonal(_Rule):
    """RFLO and SnAp-1: one trace E (B, n, m) of each unit's influence on its own row of W, decayed by the
    diagonal of an approximate Jacobian: (1 − α) for RFLO, diag(J_t) for SnAp-1."""

    def __init__(self, *a):
        super().__init__(*a)
        self.E = np.zeros((self.B, self.n, self.m), dtype=self.dt)

    def decay(self, s):
        raise NotImplementedError

    def advance(self, s):
        self.E *= self.decay(s)
        self.E += s.d[:, :, None] * s.a_hat[:, None, :]

    def estimate(self, q):
        return np.einsum("bi,bij->ij", q, self.E)


class _RFLO(_Diagonal):
    def decay(self, s):
        return 1.0 - self.leak


class _SnAp1(_Diagonal):
    def decay(self, s):
        return ((1.0 - self.leak) + s.d * self.W_diag)[:, :, None]

    def __init__(self, *a):
        super().__init__(*a)
        self.W_diag = np.diagonal(self.W_hh).copy()


class _TBPTT(_Rule):
    """Keeps the last k steps' (â_s, d_s); the estimate backpropagates q_t through them (no further)."""

    def __init__(self, *a):
        super().__init__(*a)
        self.window: list[_Step] = []

    def advance(self, s):
        self.window.append(s)
        if len(self.window) > self.k:
            self.window.pop(0)

    def estimate(self, q):
        g = np.zeros((self.n, self.m), dtype=self.dt)
        delta = q
        for i, s in enumerate(reversed(self.window)):
            e = s.d * delta                                    # ∂ℓ_t/∂a_s along paths inside the window
            g += e.T @ s.a_hat
            if i + 1 < len(self.window):
                back = e @ self.W_hh
                delta = back if self.leak == 1.0 else back + (1.0 - self.leak) * delta
        return g


class _Readout(_Rule):
    """No recurrent learning: the estimate is 0, so only the (exact) readout gradient is applied."""

    def advance(self, s):
        pass

    def estimate(self, q):
        return np.zeros((self.n, self.m), dtype=self.dt)


_CLASSES = {READOUT: _Readout, "rtrl": _RTRL, "uoro": _UORO, "kf_rtrl": _KF, "rflo": _RFLO, "snap1": _SnAp1, "tbptt": _TBPTT}


# ---- results ---------------------------------------------------------------------------------------------------

@dataclass
class OnlineRun:
    """One rule on one batch of sequences at fixed weights.

    estimates[t] is the rule's estimate, at step t, of ∂ℓ_t/∂W for W = [W_hh | W_xh | b_h] (n × m, summed over the
    batch); exact[t] the exact one (RTRL's), when computed. Their sum over t plus the readout's (exact) gradient
    is the update the rule makes (`grads`); exact's is the BPTT gradient (`exact_grads`)."""

    rule: str
    leak: float
    k: int                        # TBPTT's window (kept for every rule: the label reads it)
    estimates: np.ndarray         # (T, n, m)
    exact: np.ndarray | None      # (T, n, m), or None when not asked for
    readout: dict[str, np.ndarray]   # ∂L/∂W_hy, ∂L/∂b_y: Σ_t of the exact, immediate per-step terms
    losses: np.ndarray            # (T,) ℓ_t summed over the batch / B (masked)
    input_size: int

    @property
    def T(self) -> int:
        return self.estimates.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.estimates.shape[1]

    @property
    def loss(self) -> float:
        return float(self.losses.sum())

    @property
    def ops_per_step(self) -> float:
        """The op-count model's multiply-adds per step for one sequence (`step_ops`)."""
        return step_ops(self.rule, self.hidden_size, self.input_size, self.k)

    @property
    def state_floats(self) -> int:
        return state_floats(self.rule, self.hidden_size, self.input_size, self.k)

    def split(self, W: np.ndarray) -> dict[str, np.ndarray]:
        """[W_hh | W_xh | b_h] (…, n, m) → the engine's parameter arrays."""
        n, D = self.hidden_size, self.input_size
        return {"W_xh": W[..., :, n:n + D], "W_hh": W[..., :, :n], "b_h": W[..., :, n + D]}

    def grads(self) -> dict[str, np.ndarray]:
        """The rule's gradient of L (Σ_t of its per-step estimates, and the exact readout), in the model's order."""
        return {**{k: np.ascontiguousarray(v) for k, v in self.split(self.estimates.sum(axis=0)).items()},
                **self.readout}

    def exact_grads(self) -> dict[str, np.ndarray]:
        if self.exact is None:
            raise ValueError("this run did not compute the exact gradient (exact=False)")
        return {**{k: np.ascontiguousarray(v) for k, v in self.split(self.exact.sum(axis=0)).items()},
                **self.readout}

    def cosines(self) -> np.ndarray:
        """(T,) cosine between the estimate of ∂ℓ_t/∂[W_hh | W_xh | b_h] and the exact one at every step (NaN where
        either is 0, e.g. a step without a loss). The readout, exact in every rule, is left out."""
        if self.exact is None:
            raise ValueError("this run did not compute the exact gradient (exact=False)")
        a = self.estimates.reshape(self.T, -1)
        e = self.exact.reshape(self.T, -1)
        na, ne = np.linalg.norm(a, axis=1), np.linalg.norm(e, axis=1)
        ok = (na > 0) & (ne > 0)
        with np.errstate(**QUIET):
            return np.where(ok, np.einsum("ti,ti->t", a, e) / np.where(ok, na * ne, 1.0), np.nan)


# ---- the driver ------------------------------------------------------------------------------------------------

def _check_model(model: Model):
    if not isinstance(model.cell, VanillaRNN):
        raise ValueError(f"the online rules are written for the vanilla RNN (cell 'rnn'), got {model.cell.kind!r}")


def _check_leak(leak) -> float:
    return finite_float("leak", leak, low=0.0, high=1.0, low_open=True)


def _prepare(model, X, targets, loss, mask, s0):
    _check_model(model)
    choice("loss", loss, L.LOSSES)
    X = check_inputs(model, X)
    T, B, _ = X.shape
    targets = L.check_targets(loss, targets, T, B, model.output_size, model.dtype)
    return X, targets, L.check_mask(mask, T, B, model.dtype), check_state(model, s0, B).copy()


def _run(model, X, targets, loss, mask, h, leak, rules, seed, k, exact):
    """Run the forward pass once, advancing every rule in `rules` (and RTRL for the exact gradient when `exact`)
    at every step. Returns ({rule: (T, n, m) estimates}, exact estimates or None, readout grads, losses (T,))."""
    p, act, dt = model.params, model.cell.activation, model.dtype
    W_xh, W_hh, b_h, W_hy, b_y = p["W_xh"], p["W_hh"], p["b_h"], p["W_hy"], p["b_y"]
    T, B, D = X.shape
    n = model.hidden_size
    m = n + D + 1
    pre = (X.reshape(T * B, D) @ W_xh.T).reshape(T, B, n) + b_h           # the input part, hoisted
    run = {r: _CLASSES[r](n, m, B, dt, W_hh, leak, np.random.default_rng([seed, _STREAM[r]]), k)
           for r in rules}                                   # each rule's signs: its own stream of the seed
    ref = _RTRL(n, m, B, dt, W_hh, leak, None, k) if exact and "rtrl" not in run else None
    est = {r: np.zeros((T, n, m), dtype=dt) for r in rules}
    ex_est = np.zeros((T, n, m), dtype=dt) if ref is not None else None
    states = np.empty((T, B, n), dtype=dt)
    losses = np.zeros(T)
    dY = np.empty((T, B, model.output_size), dtype=dt)
    ones = np.ones((B, 1), dtype=dt)
    with np.errstate(**QUIET):
        for t in range(T):
            a = pre[t] + h @ W_hh.T
            u = activations.apply(act, a)
            d = activations.derivative(act, u)
            a_hat = np.concatenate([h, X[t], ones], axis=1)
            h = u if leak == 1.0 else (1.0 - leak) * h + leak * u
            s = _Step(a_hat, d if leak == 1.0 else leak * d)
            states[t] = h
            y = h @ W_hy.T + b_y
            ell, dy = L.per_step(loss, y[None], targets[t:t + 1], mask[t:t + 1])
            losses[t] = float(ell.sum()) / B
            dY[t] = dy[0]
            q = dy[0] @ W_hy                                                 # (B, n) ∂ℓ_t/∂h_t
            for r, rule in run.items():
                rule.advance(s)
                est[r][t] = rule.estimate(q)
            if ref is not None:
                ref.advance(s)
                ex_est[t] = ref.estimate(q)
    if exact and "rtrl" in run:
        ex_est = est["rtrl"]
    O = model.output_size
    readout = {"W_hy": dY.reshape(-1, O).T @ states.reshape(-1, n), "b_y": dY.reshape(-1, O).sum(axis=0)}
    return est, ex_est, readout, losses


def online_compare(model: Model, X, targets, rules=RULES, *, seed: int = 0, leak: float = 1.0,
                   loss: str = "cross_entropy", mask=None, s0=None, k: int = K_DEFAULT,
                   exact: bool = True) -> dict[str, OnlineRun]:
    """Several rules on one forward pass, sharing one exact RTRL: {rule: OnlineRun}. `seed` seeds the random
    signs (each rule its own stream); `k` is TBPTT's window; X (T, B, D) as explorer.forward."""
    for r in rules:
        choice("rule", r, RULES + (READOUT,))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}")
    leak = _check_leak(leak)
    k = positive_int("k", k, maximum=100_000)
    X, targets, mask, h = _prepare(model, X, targets, loss, mask, s0)
    est, ex_est, readout, losses = _run(model, X, targets, loss, mask, h, leak, tuple(rules), seed, k, exact)
    D = X.shape[2]
    return {r: OnlineRun(r, leak, k, est[r], ex_est, readout, losses, D) for r in rules}


def online_gradients(model: Model, X, targets, rule: str, *, seed: int = 0, leak: float = 1.0,
                     loss: str = "cross_entropy", mask=None, s0=None, k: int = K_DEFAULT,
                     exact: bool = True) -> OnlineRun:
    """Per-step gradient estimates of the recurrent parameters by `rule` (one of RULES), with the exact per-step
    gradient beside them (RTRL, when `exact`), on a vanilla RNN with leak α (1 = the engine's RNN)."""
    return online_compare(model, X, targets, (rule,), seed=seed, leak=leak, loss=loss, mask=mask, s0=s0, k=k,
                          exact=exact)[rule]


def leaky_loss(model: Model, X, targets, *, leak: float = 1.0, loss: str = "cross_entropy", mask=None,
               s0=None) -> float:
    """L of the leaky network (the module's equations), forward only: what finite differences check against."""
    leak = _check_leak(leak)
    X, targets, mask, h = _prepare(model, X, targets, loss, mask, s0)
    p, act = model.params, model.cell.activation
    total = 0.0
    with np.errstate(**QUIET):
        for t in range(X.shape[0]):
            u = activations.apply(act, X[t] @ p["W_xh"].T + h @ p["W_hh"].T + p["b_h"])
            h = (1.0 - leak) * h + leak * u
            ell, _ = L.per_step(loss, (h @ p["W_hy"].T + p["b_y"])[None], targets[t:t + 1], mask[t:t + 1])
            total += float(ell.sum())
    return total / X.shape[1]


# ---- the lesson's charts: cosines over seeds, sized to a work budget -------------------------------------------

def compare_ops(n: int, D: int, k: int = K_DEFAULT, rules=RULES) -> float:
    """Multiply-adds of one step of `online_compare` for one sequence: every rule's own work, the exact RTRL once
    (shared) and the forward step (n·m)."""
    own = sum(step_ops(r, n, D, k) for r in rules if r != "rtrl")
    return own + step_ops("rtrl", n, D, k) + n * (n + D + 1)


def steps_within(work: float, n: int, D: int, T: int, seeds: int, k: int = K_DEFAULT, least: int = 10) -> int:
    """The number of steps (least … T) whose `online_compare` over `seeds` sequences fits in `work` multiply-adds."""
    return int(max(min(least, T), min(T, work // (seeds * compare_ops(n, D, k)))))


def cosine_spread(problems, *, leak: float = 1.0, k: int = K_DEFAULT, rules=RULES) -> dict[str, np.ndarray]:
    """Per-step cosines of every rule against the exact gradient over several problems: {rule: (S, T)}, row s from
    problem s = (model, X, targets, mask, loss, seed) (one `online_compare` each, signs seeded by `seed`)."""
    out = {r: [] for r in rules}
    for model, X, targets, mask, loss, seed in problems:
        runs = online_compare(model, X, targets, rules, seed=seed, leak=leak, loss=loss, mask=mask, k=k)
        for r in rules:
            out[r].append(runs[r].cosines())
    return {r: np.array(v) for r, v in out.items()}


# ---- training with a rule --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnlineConfig:
    hidden_size: int = 16
    leak: float = 1.0
    scale: float | None = None          # ρ of W_hh at init (None: the orthogonal init's ρ = 1)
    input_gain: float = 1.0             # × the Xavier input weights (small: storing inputs must be learned)
    optimizer: str = "adam"
    lr: float = 0.01
    clip_threshold: float = 1.0         # global-norm clipping of each update
    batch_size: int = 16
    k: int = K_DEFAULT                  # TBPTT's window
    seed: int = 0                       # weights, batches and signs


class OnlineTrainer:
    """Training with one rule: each update draws a batch of sequences from the task, runs them forward once while
    the rule accumulates its per-step estimates, and applies their sum (and the exact readout gradient), clipped
    by global norm, with the optimizer. The weights change between sequences, not within one, so every rule sees
    the same fixed-weight problem its estimates are defined on. `step()` → the mean loss per supervised step."""

    def __init__(self, task, rule: str, config: OnlineConfig = OnlineConfig()):
        self.task, self.rule, self.config = task, choice("rule", rule, RULES + (READOUT,)), config
        self.model = build_model("rnn", task.input_size, config.hidden_size, task.output_size, scale=config.scale,
                                 input_gain=config.input_gain, seed=config.seed)
        self.optimizer = Optimizer(config.optimizer, config.lr)
        self.rng = np.random.default_rng(config.seed + 1)      # the same batches for every rule of one seed
        self.updates = 0
        self.stopped: str | None = None

    def step(self) -> float:
        b = self.task.batch(self.config.batch_size, self.rng)
        run = online_gradients(self.model, b.X, b.targets, self.rule, seed=self.config.seed * 100_003 + self.updates,
                               leak=self.config.leak, loss=b.loss, mask=b.mask, k=self.config.k, exact=False)
        self.updates += 1
        c = clip_by_global_norm(run.grads(), self.config.clip_threshold)
        sup = float(b.mask.sum())
        loss = run.loss * b.X.shape[1] / sup
        if not (c.finite and np.isfinite(loss)):
            self.stopped = f"stopped at update {self.updates}: the loss or gradient became non-finite"
            return float("nan")
        self.optimizer.step(self.model.params, c.grads)
        return loss


# ---- timing ----------------------------------------------------------------------------------------------------

def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits  # optional: `import explorer` needs only NumPy
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1)


def time_per_step(rule: str, n: int, *, D: int = 1, steps: int = 20, repeats: int = 3, k: int = K_DEFAULT,
                  seed: int = 0) -> float:
    """CPU seconds of one step of `rule`'s own work (advance + estimate, the forward step left out) for one
    sequence of a tanh RNN with n units and D inputs at ρ = 0.9: the median over `repeats` runs of `steps` steps,
    on one BLAS thread (explorer.cost's policy: other work on the machine barely moves it)."""
    choice("rule", rule, RULES)
    model = build_model("rnn", D, positive_int("n", n, maximum=4096), 1, scale=0.9, seed=seed)
    rng = np.random.default_rng(seed)
    m = n + D + 1
    h = np.zeros((1, n))
    seq = []
    for _ in range(steps):
        x = rng.standard_normal((1, D))
        a = x @ model.params["W_xh"].T + h @ model.params["W_hh"].T
        u = np.tanh(a)
        seq.append((_Step(np.concatenate([h, x, np.ones((1, 1))], axis=1), 1.0 - u * u), rng.standard_normal((1, n))))
        h = u
    times = []
    with _one_blas_thread():
        for r in range(max(1, repeats)):
            state = _CLASSES[rule](n, m, 1, np.float64, model.params["W_hh"], 1.0, np.random.default_rng(r), k)
            t0 = CLOCK()
            for s, q in seq:
                state.advance(s)
                state.estimate(q)
            times.append((CLOCK() - t0) / steps)
    return float(np.median(times))


@dataclass(frozen=True)
class StepTime:
    rule: str
    n: int
    seconds: float              # measured CPU seconds per step (median), the rule's own work
    ops: float                  # the op-count model's multiply-adds per step (step_ops)
    steps: int                  # steps per timed run
    k: int = K_DEFAULT          # TBPTT's window (its label and its work)


def cost_sweep(ns, *, rules=RULES, D: int = 1, k: int = K_DEFAULT, repeats: int = 3, work: float = 2e8,
               seed: int = 0) -> list[StepTime]:
    """Every rule's measured time per step against n (time_per_step), with as many steps per timed run as fit
    in `work` multiply-adds (3 … 20: RTRL at n = 128 gets the fewest)."""
    out = []
    for n in ns:
        for r in rules:
            steps = int(min(20, max(3, work // max(step_ops(r, n, D, k), 1.0))))
            out.append(StepTime(r, int(n), time_per_step(r, int(n), D=D, steps=steps, repeats=repeats, k=k,
                                                         seed=seed), step_ops(r, int(n), D, k), steps, k))
    return out
