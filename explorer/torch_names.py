"""Interoperate with PyTorch without importing it: map parameters to and from the state_dict names and gate
order of torch.nn.RNN / nn.LSTM / nn.GRU (single layer, unidirectional) plus a readout nn.Linear.

    ours        torch                      notes
    W_xh        weight_ih_l0               same gate order: LSTM (i, f, g, o), GRU (r, z, n)
    W_hh        weight_hh_l0
    b_h         bias_ih_l0 (+ bias_hh_l0)  torch keeps two biases; their sum is what matters …
    b_hn        bias_hh_l0[2H:3H]          … except the GRU's candidate part, which r multiplies
    W_hy, b_y   {prefix}.weight, .bias     the readout Linear (prefix "readout" by default)

ours → torch → ours is lossless (bias_hh is written as 0, or [0, 0, b_hn] for the GRU). A torch model's
weights saved with `np.savez(path, **{k: v.numpy() for k, v in sd.items()})` load with `load_torch_npz`, which
never unpickles (allow_pickle=False) and names any missing key or wrong shape.
"""
from __future__ import annotations

import numpy as np

from .model import Model, model_from_params
from .npz_files import read_npz
from .validation import choice

TORCH_CELLS = ("rnn", "lstm", "gru")


def to_torch_state_dict(model: Model, readout_prefix: str = "readout") -> dict[str, np.ndarray]:
    """Our parameters under torch's names (arrays; wrap with torch.from_numpy to load_state_dict)."""
    kind = model.cell.kind
    if kind not in TORCH_CELLS:
        raise ValueError(f"cell {kind!r} has no torch.nn equivalent; exportable cells: {TORCH_CELLS}")
    p = model.params
    bias_hh = np.zeros_like(p["b_h"])
    if kind == "gru":
        H = model.hidden_size
        bias_hh[2 * H:] = p["b_hn"]
    return {
        "weight_ih_l0": p["W_xh"].copy(),
        "weight_hh_l0": p["W_hh"].copy(),
        "bias_ih_l0": p["b_h"].copy(),
        "bias_hh_l0": bias_hh,
        f"{readout_prefix}.weight": p["W_hy"].copy(),
        f"{readout_prefix}.bias": p["b_y"].copy(),
    }


def from_torch_state_dict(state_dict: dict, cell: str, *, activation: str = "tanh",
                          readout_prefix: str = "readout", dtype: str = "float64") -> Model:
    """A model from torch-named arrays (torch tensors are accepted too, via np.asarray)."""
    choice("cell", cell, TORCH_CELLS)
    needed = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
              f"{readout_prefix}.weight", f"{readout_prefix}.bias"]
    missing = [k for k in needed if k not in state_dict]
    if missing:
        raise ValueError(f"a torch {cell.upper()} state_dict needs keys {needed}; missing {missing} "
                         f"(found {sorted(state_dict)[:12]})")
    sd = {k: np.asarray(state_dict[k]) for k in needed}
    for k, v in sd.items():
        if v.dtype.kind != "f":
            raise ValueError(f"{k} must hold floats, got dtype {v.dtype}")
    w_ih = sd["weight_ih_l0"]
    if w_ih.ndim != 2:
        raise ValueError(f"weight_ih_l0 must be 2-D, got shape {w_ih.shape}")
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    if w_ih.shape[0] % G:
        raise ValueError(f"weight_ih_l0 of a {cell.upper()} must have {G}·H rows, got {w_ih.shape[0]}")
    H = w_ih.shape[0] // G
    for k in ("bias_ih_l0", "bias_hh_l0"):
        if sd[k].shape != (G * H,):
            raise ValueError(f"{k} must have shape ({G * H},) for H={H}, got {sd[k].shape}")
    params = {"W_xh": w_ih, "W_hh": sd["weight_hh_l0"], "W_hy": sd[f"{readout_prefix}.weight"],
              "b_y": sd[f"{readout_prefix}.bias"]}
    b_ih, b_hh = sd["bias_ih_l0"].astype(np.float64), sd["bias_hh_l0"].astype(np.float64)
    if cell == "gru":
        params["b_h"] = b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H)])
        params["b_hn"] = b_hh[2 * H:]
    else:
        params["b_h"] = b_ih + b_hh
    return model_from_params(cell, params, activation=activation, dtype=dtype)


def load_torch_npz(file, cell: str, *, activation: str = "tanh", readout_prefix: str = "readout",
                   dtype: str = "float64") -> Model:
    """Load a model from an .npz of torch-named arrays (a path, a file object or bytes). Never unpickles."""
    arrays = read_npz(file, "not a readable .npz of torch weights (save them with "
                            "np.savez(path, **{name: tensor.numpy()}))")
    return from_torch_state_dict(arrays, cell, activation=activation, readout_prefix=readout_prefix, dtype=dtype)
