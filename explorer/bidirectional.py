"""Bidirectional RNN for sequence labelling: a forward cell reads x_1 … x_T, a backward cell reads x_T … x_1, and
the readout sees both: y_t = W_hy [h→_t; h←_t] + b_y. The gradient reaching step t arrives from the future
through the forward chain (δ→_t) and from the past through the backward chain (δ←_t).

Parameters are the cell's names prefixed "fwd." and "bwd.", plus W_hy (O × 2H) and b_y. Full BPTT only.
(`build_model(..., bidirectional=True, num_layers=L)` is the same network in torch's layout — one Model, names
W_hh / W_hh_reverse, L stacked layers — run by explorer.forward / explorer.backward; explorer.stacked.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses as L
from .bptt import run_backward
from .forward import QUIET, check_inputs
from .model import build_model
from .norms import frobenius
from .truncation import Full
from .validation import choice


@dataclass
class BidirectionalModel:
    fwd: object       # Model (its readout unused)
    bwd: object
    W_hy: np.ndarray  # (O, 2H)
    b_y: np.ndarray   # (O,)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every parameter under one flat name (views: editing them edits the model)."""
        out = {f"fwd.{k}": v for k, v in self.fwd.params.items() if k not in ("W_hy", "b_y")}
        out.update({f"bwd.{k}": v for k, v in self.bwd.params.items() if k not in ("W_hy", "b_y")})
        out["W_hy"], out["b_y"] = self.W_hy, self.b_y
        return out


def build_bidirectional(cell: str = "rnn", input_size: int = 1, hidden_size: int = 16, output_size: int = 1,
                        *, seed: int = 0, **kwargs) -> BidirectionalModel:
    f = build_model(cell, input_size, hidden_size, output_size, seed=seed, **kwargs)
    b = build_model(cell, input_size, hidden_size, output_size, seed=seed + 1, **kwargs)
    rng = np.random.default_rng(seed + 2)
    a = np.sqrt(6.0 / (2 * hidden_size + output_size))
    return BidirectionalModel(f, b, rng.uniform(-a, a, (output_size, 2 * hidden_size)).astype(f.dtype),
                              np.zeros(output_size, dtype=f.dtype))


@dataclass
class BidirectionalRecord:
    grads: dict[str, np.ndarray]
    loss: float
    delta_fwd: np.ndarray   # (T, B, S) ∂L/∂s→_t: gradient arriving at step t from later steps
    delta_bwd: np.ndarray   # (T, B, S) ∂L/∂s←_t in original time order: arriving from earlier steps
    Y: np.ndarray

    @property
    def delta_norms(self) -> tuple[np.ndarray, np.ndarray]:
        """(‖δ→_t‖, ‖δ←_t‖) over the whole state, (T,) each."""
        return frobenius(self.delta_fwd, axis=(1, 2)), frobenius(self.delta_bwd, axis=(1, 2))


def bidirectional_bptt(model: BidirectionalModel, X, targets, *, loss: str = "cross_entropy",
                       mask=None) -> BidirectionalRecord:
    choice("loss", loss, L.LOSSES)
    X = check_inputs(model.fwd, X)
    T, B, _ = X.shape
    H, O = model.fwd.hidden_size, model.W_hy.shape[0]
    targets = L.check_targets(loss, targets, T, B, O, model.fwd.dtype)
    m = L.check_mask(mask, T, B, model.fwd.dtype)
    cell = model.fwd.cell
    S = cell.state_size
    zeros = np.zeros((B, S), dtype=model.fwd.dtype)
    Xr = np.ascontiguousarray(X[::-1])
    with np.errstate(**QUIET):
        cf = cell.forward(model.fwd.params, X, zeros)
        cb = cell.forward(model.bwd.params, Xr, zeros)
        hf, hb = cf.states[1:, :, :H], cb.states[1:, :, :H][::-1]
        hcat = np.concatenate([hf, hb], axis=-1)
        Y = hcat @ model.W_hy.T + model.b_y
        ell, dY = L.per_step(loss, Y, targets, m)
        dh = dY @ model.W_hy
        inj_f = np.zeros((T, B, S), dtype=Y.dtype)
        inj_f[..., :H] = dh[..., :H]
        inj_b = np.zeros((T, B, S), dtype=Y.dtype)
        inj_b[..., :H] = dh[::-1, :, H:]
        win = Full().windows(T)
        df, fa_ih, fa_hh, _ = run_backward(cell, model.fwd.params, cf, inj_f, win)
        db, ba_ih, ba_hh, _ = run_backward(cell, model.bwd.params, cb, inj_b, win)
        gf = cell.param_grads(model.fwd.params, X, cf.states[:-1, :, :H], fa_ih, fa_hh)
        gb = cell.param_grads(model.bwd.params, Xr, cb.states[:-1, :, :H], ba_ih, ba_hh)
        grads = {f"fwd.{k}": v for k, v in gf.items()}
        grads.update({f"bwd.{k}": v for k, v in gb.items()})
        dY2 = dY.reshape(-1, O)
        grads["W_hy"] = dY2.T @ hcat.reshape(-1, 2 * H)
        grads["b_y"] = dY2.sum(axis=0)
    grads = {k: grads[k] for k in model.params}
    return BidirectionalRecord(grads, float(ell.sum() / B), df, db[::-1], Y)
