"""Architectures side by side: the same input sequence through a vanilla RNN, an IRNN, an LSTM, a GRU and an
IndRNN, and how much of the gradient each lets through a lag of ℓ steps.

For each contender, ‖∂h_t/∂h_(t−ℓ)‖₂ for every lag (the h-block of the full state Jacobian product, so the LSTM's
cell-state route is included); for the LSTM also ‖∂c_T/∂c_k‖₂ and the carousel alone, max_n Π_{t=k+1}^{T} f_{t,n}
(the direct path c_t = f_t ⊙ c_{t−1} + …, Hochreiter & Schmidhuber's constant error carousel when f ≈ 1).
Gate activations over time (LSTM i, f, g, o; GRU r, z, n) and a bidirectional view complete the page's data;
`same_budget` sets one layer of H₁ units against stacks of 2, 3 … layers with (nearly) as many parameters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bidirectional import bidirectional_bptt, build_bidirectional
from .bptt import loss_connectivity
from .depth_paths import matched_hidden
from .forward import Trace, forward
from .jacobians import jacobian_products
from .model import build_model


@dataclass(frozen=True)
class Contender:
    """One architecture: a name, how it is built, and one line on why it is in the race."""
    name: str
    cell: str
    activation: str = "tanh"
    init: str = "orthogonal"
    scale: float | None = None          # ρ of W_hh (None: the init's own)
    note: str = ""

    def build(self, input_size: int, hidden_size: int, output_size: int, seed: int, **kw):
        return build_model(self.cell, input_size, hidden_size, output_size, activation=self.activation,
                           init=self.init, scale=self.scale, seed=seed, **kw)

    def train_kwargs(self) -> dict:
        """The TrainConfig fields that make this contender."""
        return dict(cell=self.cell, activation=self.activation, init=self.init, scale=self.scale)


def contenders(rho: float = 0.9) -> tuple[Contender, ...]:
    """The five architectures compared; the vanilla RNN's spectral radius is ρ = `rho`."""
    return (
        Contender("RNN (tanh)", "rnn", "tanh", "orthogonal", rho, f"orthogonal W_hh scaled to ρ = {rho:g}"),
        Contender("IRNN", "rnn", "relu", "identity", None, "ReLU with W_hh = I (Le, Jaitly & Hinton 2015)"),
        Contender("LSTM", "lstm", note="orthogonal blocks, forget-gate bias 1"),
        Contender("GRU", "gru", note="orthogonal blocks"),
        Contender("IndRNN", "indrnn", "relu", "gaussian", None, "ReLU, u ∼ U(0, 1) per unit (Li et al. 2018)"),
    )


@dataclass
class LagProfile:
    """log10 of a Jacobian-product norm against lag ℓ (lags: (K,), log10_norm: (K,); −inf where it is 0)."""
    name: str
    lags: np.ndarray
    log10_norm: np.ndarray


@dataclass
class Comparison:
    profiles: list[LagProfile]          # ‖∂h_t/∂h_(t−ℓ)‖ per contender
    cell_state: LagProfile              # LSTM ‖∂c_T/∂c_k‖
    carousel: LagProfile                # LSTM max_n Π f_{t,n}: the direct c-path alone
    gates: dict[str, dict[str, np.ndarray]]   # {"LSTM": {"i": (T, H), …}, "GRU": {"r": …}}
    T: int

    def at_longest_lag(self) -> dict[str, float]:
        """log10 ‖∂h_t/∂h_(t−ℓ)‖ at the longest lag, per contender (−inf: exactly zero)."""
        return {p.name: float(p.log10_norm[-1]) for p in self.profiles}

    def zero_after(self) -> dict[str, int]:
        """For contenders whose gradient became exactly 0 (every ReLU unit off at some step): the first such lag."""
        out = {}
        for p in self.profiles:
            dead = np.flatnonzero(np.isneginf(p.log10_norm))
            if dead.size:
                out[p.name] = int(p.lags[dead[0]])
        return out


def _trace(model, X) -> Trace:
    T, B, _ = X.shape
    return forward(model, X, np.zeros((T, B, model.output_size)), loss="squared_error", mask=np.zeros((T, B)))


def gate_activations(trace: Trace) -> dict[str, np.ndarray]:
    """The gates of sequence 0 over time, each (T, H), named and ordered by the cell's `gate_names` (LSTM i, f, g,
    o; GRU r, z, n); {} for a one-block cell, which has no gates."""
    H, cell = trace.model.hidden_size, trace.model.cell
    if cell.n_gates == 1:
        return {}
    g = trace.cache.extras["gates"][:, 0]
    return {name: g[:, cell.gate_slice(name, H)] for name in cell.gate_names}


def carousel_log10(trace: Trace, lags: np.ndarray) -> np.ndarray:
    """log10 max_n Π_{t=T−lag+1}^{T} f_{t,n} — the LSTM's direct cell-state path alone, for each lag."""
    f = gate_activations(trace)["f"][: trace.valid_T]
    with np.errstate(divide="ignore"):
        logf = np.log10(f)
    # suffix sums: S[lag] = Σ of the last `lag` steps' log f, per unit
    suffix = np.concatenate([np.zeros((1, f.shape[1])), np.cumsum(logf[::-1], axis=0)])
    return suffix[np.clip(lags, 0, f.shape[0])].max(axis=1)


def lag_profiles(models: dict, X: np.ndarray, lags=None) -> list[LagProfile]:
    """‖∂h_t/∂h_(t−ℓ)‖ against lag for already-built (e.g. trained) models {name: Model} on inputs X (T, B, D)."""
    return [LagProfile(name, *_norms(jacobian_products(_trace(m, X), spectrum=False, lags=lags)))
            for name, m in models.items()]


def _norms(jp):
    return jp.lags, jp.log10_norm


def compare(X: np.ndarray, hidden_size: int = 32, *, rho: float = 0.9, seed: int = 0, lags=None) -> Comparison:
    """Run every contender on the same inputs X (T, B, D) and measure ‖∂h_t/∂h_(t−ℓ)‖ for each lag (or `lags`)."""
    T, _, D = X.shape
    profiles, gates = [], {}
    cell_state = carousel = None
    for c in contenders(rho):
        tr = _trace(c.build(D, hidden_size, 1, seed), X)
        jp = jacobian_products(tr, spectrum=False, lags=lags)
        profiles.append(LagProfile(c.name, jp.lags, jp.log10_norm))
        if tr.model.cell.n_gates > 1:
            gates[c.name] = gate_activations(tr)
        if c.cell == "lstm":
            jc = jacobian_products(tr, spectrum=False, lags=lags, block="c")
            cell_state = LagProfile("LSTM ‖∂c_T/∂c_k‖", jc.lags, jc.log10_norm)
            carousel = LagProfile("carousel alone: max_n Π f", jc.lags, carousel_log10(tr, jc.lags))
    return Comparison(profiles, cell_state, carousel, gates, T)


@dataclass
class TwoWays:
    """A bidirectional RNN with one loss at step `at`: ‖δ→_t‖ (the forward chain, fed by later steps) and
    ‖δ←_t‖ (the backward chain, fed by earlier steps, in original time order), each (T,)."""
    at: int
    forward_norms: np.ndarray
    backward_norms: np.ndarray


def two_ways(X: np.ndarray, at: int, *, cell: str = "rnn", activation: str = "tanh", hidden_size: int = 32,
             rho: float | None = 0.9, seed: int = 0) -> TwoWays:
    """δ in both directions of a bidirectional network whose only loss is a squared error at step `at`."""
    T, B, D = X.shape
    if not 0 <= at < T:
        raise ValueError(f"at (the step carrying the loss) must be in [0, {T - 1}], got {at}")
    model = build_bidirectional(cell, D, hidden_size, 1, seed=seed, activation=activation,
                                scale=rho if cell in ("rnn", "indrnn") else None)
    rng = np.random.default_rng(seed + 3)
    y = rng.standard_normal((T, B, 1))
    mask = np.zeros((T, B))
    mask[at] = 1.0
    rec = bidirectional_bptt(model, X, y, loss="squared_error", mask=mask)
    f, b = rec.delta_norms
    return TwoWays(at, f, b)


@dataclass
class SameBudget:
    """Networks of L = 1, 2, 3 … layers whose parameter counts match a single layer of H₁ units as closely as
    whole widths allow: per network its layers L, width H_L, parameter count, and ‖∂ℓ_{T−1}/∂x_{T−1−ℓ}‖ for every
    lag ℓ = 0 … T − 1 ((T,), the last loss's gradient with respect to each input, read from the last step back)."""
    layers: tuple[int, ...]
    hidden: tuple[int, ...]
    counts: tuple[int, ...]
    lag_norms: tuple[np.ndarray, ...]

    def names(self) -> list[str]:
        return [f"{L} layer{'s' if L > 1 else ''} × H = {h} ({n} parameters)"
                for L, h, n in zip(self.layers, self.hidden, self.counts)]


def same_budget(X: np.ndarray, y: np.ndarray, hidden_size: int, *, layers=(1, 2, 3), cell: str = "rnn",
                loss: str = "squared_error", output_size: int = 2, **build) -> SameBudget:
    """Single-layer against stacked networks of (nearly) the same parameter count on the same inputs X (T, B, D)
    and targets y, with a loss at the last step only: for each L in `layers`, H_L from
    explorer.depth_paths.matched_hidden, the network build_model(cell, D, H_L, output_size, num_layers=L,
    **build) and ‖∂ℓ_{T−1}/∂x_k‖ (explorer.bptt.loss_connectivity) against the lag T − 1 − k. Cost: one forward
    pass and one backward pass through time and depth per network."""
    T, B, D = X.shape
    mask = np.zeros((T, B))
    mask[-1] = 1.0
    hs, counts, norms = [], [], []
    for L in layers:
        h, n = matched_hidden(cell, D, hidden_size, output_size, L)
        model = build_model(cell, D, h, output_size, num_layers=L, **build)
        tr = forward(model, X, y, loss=loss, mask=mask)
        last = tr.valid_T - 1
        conn = np.full(T, np.nan)
        if last == T - 1:
            conn = loss_connectivity(tr, T - 1)
        hs.append(h)
        counts.append(n)
        norms.append(conn[::-1].copy())
    return SameBudget(tuple(layers), tuple(hs), tuple(counts), tuple(norms))
