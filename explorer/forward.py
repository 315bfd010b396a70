"""The forward pass over a sequence, returning a `Trace` of every intermediate the lessons draw.

Overflow never raises: NumPy's floating-point warnings are silenced inside the engine, and the trace records
`overflow_step`, the first step whose state or loss is not finite. Everything before it is valid, and the
backward pass then differentiates the loss of the steps before it (so a page can draw "overflow at step k"
and everything up to it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses as L
from .cells import CellCache
from .model import Model
from .validation import choice, finite_array

QUIET = dict(over="ignore", invalid="ignore", divide="ignore", under="ignore")


@dataclass
class Trace:
    """Forward values of one batch. Step t (0-based) reads X[t] and states[t], writes states[t+1].

    For a stacked or bidirectional model (explorer.stacked) the single-layer fields — cache, states, h, c, pre,
    gates — are those of the TOP layer's forward direction, and every layer's are in `caches` / `layer_output`:
    caches[l][d] is layer l's direction d (0 forward, 1 reverse, whose arrays run in its own order x_T … x_1),
    inputs[l] is what layer l reads, x_t^{(l)} (T, B, D_l), in time order."""

    model: Model
    X: np.ndarray               # (T, B, D)
    cache: CellCache            # states (T+1, B, S), pre-activations (T, B, G·H), gates …
    Y: np.ndarray               # (T, B, O) readout
    loss_name: str | None
    targets: np.ndarray | None
    mask: np.ndarray            # (T, B)
    losses: np.ndarray          # (T, B) per-step losses ℓ_t (masked); NaN where there are no targets
    dY: np.ndarray              # (T, B, O) ∂L/∂y_t (masked, with the 1/B), zero from overflow_step on
    overflow_step: int | None   # first step with a non-finite state or loss; None if all finite
    layer_caches: tuple | None = None   # stacked: caches[l][d]; None for one unidirectional layer
    layer_inputs: tuple | None = None   # stacked: inputs[l] (T, B, D_l); None for one unidirectional layer

    @property
    def num_layers(self) -> int:
        return self.model.num_layers

    @property
    def caches(self) -> tuple:
        """caches[l][d]: the CellCache of layer l, direction d (d = 1 runs backwards in time)."""
        return ((self.cache,),) if self.layer_caches is None else self.layer_caches

    @property
    def inputs(self) -> tuple:
        """inputs[l] = x^{(l)} (T, B, D_l): X for layer 0, layer l − 1's output above it."""
        return (self.X,) if self.layer_inputs is None else self.layer_inputs

    def layer_output(self, layer: int) -> np.ndarray:
        """h_t^{(l)} for every t, (T, B, H·dirs): [h→_t; h←_t] for a bidirectional layer, in time order."""
        H = self.model.hidden_size
        c = self.caches[layer]
        hs = [c[0].states[1:, :, :H]] + [cc.states[1:, :, :H][::-1] for cc in c[1:]]
        return hs[0] if len(hs) == 1 else np.concatenate(hs, axis=-1)

    def state_at(self, t: int) -> np.ndarray:
        """The state entering step t, in the shape `forward`'s s0 takes: states[t] (B, S) for one layer,
        (L, B, S) for a unidirectional stack (to carry a stream on from step t, as online TBPTT does)."""
        if self.layer_caches is None:
            return self.cache.states[t]
        if self.model.bidirectional:
            raise ValueError("a bidirectional model's reverse direction has no state to carry forward in time")
        return np.stack([cs[0].states[t] for cs in self.layer_caches])

    @property
    def h_by_layer(self) -> np.ndarray:
        """h_t^{(l)} of every layer, (L, T, B, H·dirs)."""
        return np.stack([self.layer_output(l) for l in range(self.num_layers)])

    @property
    def T(self) -> int:
        return self.X.shape[0]

    @property
    def B(self) -> int:
        return self.X.shape[1]

    @property
    def valid_T(self) -> int:
        """Number of leading steps whose values are all finite."""
        return self.T if self.overflow_step is None else self.overflow_step

    @property
    def states(self) -> np.ndarray:
        return self.cache.states

    @property
    def h(self) -> np.ndarray:
        """Hidden states h_1 … h_T, shape (T, B, H)."""
        return self.cache.states[1:, :, : self.model.hidden_size]

    @property
    def c(self) -> np.ndarray | None:
        """LSTM cell states (T, B, H), c of each step; None for a cell without one."""
        H, names = self.model.hidden_size, self.model.cell.state_names
        return self.cache.states[1:, :, H * names.index("c"):H * (names.index("c") + 1)] if "c" in names else None

    @property
    def pre(self) -> np.ndarray:
        return self.cache.pre

    @property
    def gates(self) -> np.ndarray | None:
        return self.cache.extras.get("gates")

    @property
    def step_loss(self) -> np.ndarray:
        """Per-step loss averaged over the batch, (T,)."""
        return self.losses.sum(axis=1) / self.B

    @property
    def loss(self) -> float:
        """L = (1/B) Σ_b Σ_t ℓ_{t,b}."""
        return float(self.losses.sum() / self.B)

    def dl_ds(self) -> np.ndarray:
        """∂L/∂s_t through the readout only (T, B, S): W_hyᵀ ∂L/∂y_t in the h part, 0 in an LSTM's c part."""
        H = self.model.hidden_size
        out = np.zeros((self.T, self.B, self.cache.states.shape[-1]), dtype=self.Y.dtype)
        if self.model.stacked:        # the top layer's forward direction: W_hy's first H columns
            out[..., :H] = self.dY @ self.model.params["W_hy"][:, :H]
        else:
            out[..., :H] = self.dY @ self.model.params["W_hy"]
        return out


def check_inputs(model: Model, X) -> np.ndarray:
    shape = np.shape(X)
    if len(shape) == 3 and shape[0] < 1:
        raise ValueError(f"T (the sequence length, X.shape[0]) must be ≥ 1, got X of shape {shape}")
    X = finite_array("X", X, ndim=3, dtype=model.dtype)
    if X.shape[2] != model.input_size:
        raise ValueError(f"X must have shape (T, B, D) with D = input_size = {model.input_size}, got {X.shape}")
    if X.shape[0] > 100_000:
        raise ValueError(f"T (sequence length) must be ≤ 100000, got {X.shape[0]}")
    return X


def check_state(model: Model, s0, B: int) -> np.ndarray:
    """s0 as a (B, S) array (zeros when None); a stacked model's is (L·dirs, B, S) (explorer.stacked)."""
    if model.stacked:
        from .stacked import check_stack_state
        return check_stack_state(model, s0, B)
    S = model.cell.state_size
    if s0 is None:
        return np.zeros((B, S), dtype=model.dtype)
    s = np.asarray(s0, dtype=model.dtype)
    if s.shape == (S,):
        s = np.broadcast_to(s, (B, S))
    if s.shape != (B, S):
        raise ValueError(f"s0 must have shape (B, S) = {(B, S)} (S = {S}: [h; c] for an LSTM), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("s0 contains NaN or infinity")
    return s


def forward(model: Model, X, targets=None, *, loss: str = "cross_entropy", mask=None, s0=None) -> Trace:
    """Run the model over X (T, B, D) from state s0 (default zeros) and, if targets are given, the losses.
    A stacked model's s0 is (L·dirs, B, S), one row per layer and direction in torch's h_0 order."""
    if model.stacked:
        from .stacked import forward_stack
        return forward_stack(model, X, targets, loss=loss, mask=mask, s0=s0)
    X = check_inputs(model, X)
    T, B, _ = X.shape
    s0 = check_state(model, s0, B)
    if targets is not None:
        choice("loss", loss, L.LOSSES)
        targets = L.check_targets(loss, targets, T, B, model.output_size, model.dtype)
    m = L.check_mask(mask, T, B, model.dtype)
    p = model.params
    with np.errstate(**QUIET):
        cache = model.cell.forward(p, X, s0)
        h = cache.states[1:, :, : model.hidden_size]
        Y = h @ p["W_hy"].T
        Y += p["b_y"]
        if targets is not None:
            ell, dY = L.per_step(loss, Y, targets, m)
        else:
            ell, dY = np.full((T, B), np.nan, dtype=model.dtype), np.zeros_like(Y)
        bad_state = ~np.all(np.isfinite(cache.states[1:]), axis=(1, 2))
        bad = bad_state | (~np.all(np.isfinite(ell), axis=1) if targets is not None else False)
        overflow = int(np.argmax(bad)) if bad.any() else None
        if overflow is not None:
            dY[overflow:] = 0.0   # differentiate only the loss of the steps before the overflow
    return Trace(model, X, cache, Y, loss if targets is not None else None, targets, m, ell, dY, overflow)
