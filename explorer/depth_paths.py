"""Gradients through time and depth in a stacked network (issue #17): what each edge of the layers × time grid
carries back, the shortest path from the last loss to every node, and stacks that match a single layer's
parameter count.

In an L-layer stack (explorer.stacked) the backward pass reaches h_t^{(l)} along two kinds of edge:

    δ_t^{(l)} = d_t^{(l)} + J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)},
    d_t^{(L−1)} = W_hyᵀ ∂ℓ_t/∂y_t (the readout),   d_t^{(l)} = W_xh^{(l+1)ᵀ} dA_ih,t^{(l+1)} for l < L − 1 (from above)

so the edge h_t^{(l)} → h_{t+1}^{(l)} carries ‖J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)}‖ back in time and the edge
h_t^{(l)} → h_t^{(l+1)} carries ‖d_t^{(l)}‖ down. Every edge multiplies by one Jacobian (J_{t+1}^{(l)} or
∂h_t^{(l+1)}/∂h_t^{(l)}), so the shortest path from the loss ℓ_{T−1} at the top layer's last step to h_t^{(l)}
crosses (T − 1 − t) + (L − 1 − l) Jacobians (0-based t and l): `shortest_path_length`.
"""
from __future__ import annotations

import numpy as np

from .bptt import GradientRecord
from .cells import CELLS
from .norms import frobenius


def shortest_path_length(t, layer, T: int, L: int):
    """Jacobians on the shortest path from ℓ_{T−1} (top layer L − 1, last step T − 1) back to h_t^{(l)}:
    (T − 1 − t) + (L − 1 − l), for 0 ≤ t < T and 0 ≤ l < L (arrays broadcast)."""
    t, layer = np.asarray(t), np.asarray(layer)
    if np.any((t < 0) | (t >= T)) or np.any((layer < 0) | (layer >= L)):
        raise ValueError(f"t must be in [0, {T - 1}] and l in [0, {L - 1}]")
    return (T - 1 - t) + (L - 1 - layer)


def layer_step_norms(rec: GradientRecord, b: int = 0) -> dict[str, np.ndarray]:
    """Per layer and step, (L, T) each, of sequence b of a unidirectional stack (or one layer):
        norm_delta      ‖δ_t^{(l)}‖ = ‖∂L/∂h_t^{(l)}‖
        norm_direct     ‖d_t^{(l)}‖: the readout's W_hyᵀ ∂ℓ_t/∂y_t at the top layer, what layer l + 1 sends down
                        (W_xh^{(l+1)ᵀ} dA_ih,t^{(l+1)}) below it — the gradient the edge h_t^{(l)} → h_t^{(l+1)} carries
        norm_through_J  ‖J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)}‖: what the edge h_t^{(l)} → h_{t+1}^{(l)} carries back
    with δ_t^{(l)} = d_t^{(l)} + J_{t+1}^{(l)ᵀ} δ_{t+1}^{(l)} exactly; the top row equals explorer.bptt.step_norms'."""
    model, tr = rec.trace.model, rec.trace
    if model.bidirectional:
        raise ValueError("layer_step_norms is written for a unidirectional stack (a reverse direction's δ runs the "
                         "other way in time)")
    nl = rec.num_layers
    sl = slice(b, b + 1)
    dh = rec.delta_by_layer[:, :, sl]                              # (L, T, 1, H)
    direct = np.empty_like(dh)
    direct[-1] = tr.dY[:, sl] @ model.params["W_hy"]
    for l in range(nl - 1):
        direct[l] = rec.runs[l + 1][0].dA_ih[:, sl] @ model.layer_params(l + 1)["W_xh"]
    with np.errstate(invalid="ignore", over="ignore"):
        through = dh - direct
    return {"norm_delta": frobenius(dh, axis=(2, 3)), "norm_direct": frobenius(direct, axis=(2, 3)),
            "norm_through_J": frobenius(through, axis=(2, 3))}


def lag_by_layer(rec: GradientRecord) -> np.ndarray:
    """‖δ_{T−1−ℓ}^{(l)}‖ against the lag ℓ = 0 … T − 1 for every layer, (L, T): row l is layer l's δ read
    backwards from the last step (rec should be the last-step loss's, so that the lag is measured from it)."""
    return rec.delta_norms_by_layer[:, ::-1]


def parameter_count(cell: str, input_size: int, hidden_size: int, output_size: int, layers: int) -> int:
    """Every parameter of an L-layer stack of `cell` with H units per layer (readout included)."""
    def size(c) -> int:
        return sum(int(np.prod(s)) for s in c.param_shapes().values())
    H = hidden_size
    first, above = CELLS[cell](input_size, H, "tanh"), CELLS[cell](H, H, "tanh")
    return size(first) + (layers - 1) * size(above) + output_size * H + output_size


def matched_hidden(cell: str, input_size: int, hidden_size: int, output_size: int, layers: int) -> tuple[int, int]:
    """(H_L, its parameter count): the width per layer of an L-layer stack whose parameter count is closest to
    a single layer of `hidden_size` units (ties: the smaller width). Counts are those of parameter_count."""
    target = parameter_count(cell, input_size, hidden_size, output_size, 1)
    if layers == 1:
        return hidden_size, target
    best = None
    for h in range(1, hidden_size + 1):
        n = parameter_count(cell, input_size, h, output_size, layers)
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (h, n)
        if n > target:
            break
    return best
