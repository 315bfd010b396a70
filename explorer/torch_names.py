"""Interoperate with PyTorch without importing it: map parameters to and from the state_dict names and gate
order of torch.nn.RNN / nn.LSTM / nn.GRU (any num_layers, bidirectional or not) plus a readout nn.Linear.

    ours        torch                      notes
    W_xh        weight_ih_l0               same gate order: LSTM (i, f, g, o), GRU (r, z, n)
    W_hh        weight_hh_l0
    b_h         bias_ih_l0 (+ bias_hh_l0)  torch keeps two biases; their sum is what matters …
    b_hn        bias_hh_l0[2H:3H]          … except the GRU's candidate part, which r multiplies
    W_hy, b_y   {prefix}.weight, .bias     the readout Linear (prefix "readout" by default)

Layer l > 0 and reverse directions follow torch's suffixes both ways: our W_xh_l1 ↔ weight_ih_l1, W_hh_reverse ↔
weight_hh_l0_reverse, W_hh_l2_reverse ↔ weight_hh_l2_reverse (explorer.model.layer_key).

ours → torch → ours is lossless (bias_hh is written as 0, or [0, 0, b_hn] for the GRU). A torch model's
weights saved with `np.savez(path, **{k: v.numpy() for k, v in sd.items()})` load with `load_torch_npz`, which
never unpickles (allow_pickle=False) and names any missing key or wrong shape.

`load_torch_model` reads such a state_dict (stacked or not) from .npz or .safetensors bytes.
`load_recurrent_weights` takes what a PyTorch user actually has: the .npz or .safetensors of a bare
nn.RNN/LSTM/GRU state_dict or of a whole module's (keys such as `encoder.lstm.weight_ih_l0`), with or without
biases, with or without a readout Linear, the cell told by the shapes. It returns `RecurrentWeights`, which
`Trainer.from_weights` starts a run from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .cells import CELLS
from .model import Model, layer_key, model_from_params
from .npz_files import MAX_BYTES, read_npz
from .safetensors_files import is_safetensors, read_safetensors
from .validation import choice

TORCH_CELLS = ("rnn", "lstm", "gru")
GATES = {c: CELLS[c].n_gates for c in TORCH_CELLS}           # rows of weight_hh_l0 per hidden unit (the cell's G)
_CELL_OF_GATES = {g: c for c, g in GATES.items()}
_NAMES = {"rnn": "an RNN", "lstm": "an LSTM", "gru": "a GRU"}
_MODULES = {"rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}
_LAYER_KEY = re.compile(r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$")


def _torch_suffix(layer: int, reverse: bool) -> str:
    return f"_l{layer}" + ("_reverse" if reverse else "")


def to_torch_state_dict(model: Model, readout_prefix: str = "readout") -> dict[str, np.ndarray]:
    """Our parameters under torch's names (arrays; wrap with torch.from_numpy to load_state_dict), every layer
    and direction in torch's order (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, …_l0_reverse, …_l1 …)."""
    kind = model.cell.kind
    if kind not in TORCH_CELLS:
        raise ValueError(f"cell {kind!r} has no torch.nn equivalent; exportable cells: {TORCH_CELLS}")
    out = {}
    for l in range(model.num_layers):
        for r in (False, True)[:model.directions]:
            p, sfx = model.layer_params(l, r), _torch_suffix(l, r)
            bias_hh = np.zeros_like(p["b_h"])
            if kind == "gru":
                bias_hh[model.cell.gate_slice("n", model.hidden_size)] = p["b_hn"]
            out.update({f"weight_ih{sfx}": p["W_xh"].copy(), f"weight_hh{sfx}": p["W_hh"].copy(),
                        f"bias_ih{sfx}": p["b_h"].copy(), f"bias_hh{sfx}": bias_hh})
    out[f"{readout_prefix}.weight"] = model.params["W_hy"].copy()
    out[f"{readout_prefix}.bias"] = model.params["b_y"].copy()
    return out


def torch_layers(state_dict: dict, prefix: str = "") -> tuple[int, bool]:
    """(num_layers, bidirectional) of the torch recurrent module whose keys start with `prefix`."""
    matches = [_LAYER_KEY.match(key[len(prefix):]) for key in state_dict if key.startswith(prefix)]
    matches = [m for m in matches if m]
    if not matches:
        return 1, False
    return 1 + max(int(m.group(3)) for m in matches), any(m.group(4) for m in matches)


def from_torch_state_dict(state_dict: dict, cell: str, *, activation: str = "tanh",
                          readout_prefix: str = "readout", dtype: str = "float64", num_layers: int | None = None,
                          bidirectional: bool | None = None) -> Model:
    """A model from torch-named arrays (torch tensors are accepted too, via np.asarray). num_layers and
    bidirectional default to what the keys say (weight_ih_l{k}, …_reverse)."""
    choice("cell", cell, TORCH_CELLS)
    found_layers, found_bidi = torch_layers(state_dict)
    num_layers = found_layers if num_layers is None else num_layers
    bidirectional = found_bidi if bidirectional is None else bool(bidirectional)
    slots = [(l, r) for l in range(num_layers) for r in (False, True)[:1 + bidirectional]]
    needed = [f"{w}{_torch_suffix(l, r)}" for l, r in slots
              for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    needed += [f"{readout_prefix}.weight", f"{readout_prefix}.bias"]
    missing = [k for k in needed if k not in state_dict]
    if missing:
        raise ValueError(f"a torch {cell.upper()} state_dict needs keys {needed}; missing {missing} "
                         f"(found {sorted(state_dict)[:12]})")
    sd = _float_arrays(state_dict, needed)
    w_ih = sd["weight_ih_l0"]
    if w_ih.ndim != 2:
        raise ValueError(f"weight_ih_l0 must be 2-D, got shape {w_ih.shape}")
    G = GATES[cell]
    if w_ih.shape[0] % G:
        raise ValueError(f"weight_ih_l0 of a {cell.upper()} must have {G}·H rows, got {w_ih.shape[0]}")
    H = w_ih.shape[0] // G
    params = {}
    for l, r in slots:
        sfx = _torch_suffix(l, r)
        _check_bias_shapes(sd, (f"bias_ih{sfx}", f"bias_hh{sfx}"), G, H)
        ours = _our_params(cell, H, sd[f"weight_ih{sfx}"], sd[f"weight_hh{sfx}"], sd[f"bias_ih{sfx}"],
                           sd[f"bias_hh{sfx}"])
        params.update({layer_key(k, l, r): v for k, v in ours.items()})
    params.update(W_hy=sd[f"{readout_prefix}.weight"], b_y=sd[f"{readout_prefix}.bias"])
    return model_from_params(cell, params, activation=activation, dtype=dtype, num_layers=num_layers,
                             bidirectional=bidirectional)


def load_torch_npz(file, cell: str, *, activation: str = "tanh", readout_prefix: str = "readout",
                   dtype: str = "float64") -> Model:
    """Load a model from an .npz of torch-named arrays (a path, a file object or bytes). Never unpickles."""
    arrays = read_npz(file, "not a readable .npz of torch weights (save them with "
                            "np.savez(path, **{name: tensor.numpy()}))")
    return from_torch_state_dict(arrays, cell, activation=activation, readout_prefix=readout_prefix, dtype=dtype)


def load_torch_model(data: bytes, filename: str, cell: str, *, activation: str = "tanh",
                     readout_prefix: str = "readout", dtype: str = "float64") -> Model:
    """A model (any num_layers, bidirectional or not) from the .npz or .safetensors bytes of a torch
    nn.RNN/LSTM/GRU state_dict with a readout Linear under `readout_prefix` (as `to_torch_state_dict` writes).
    Never unpickles; ValueError saying what is wrong otherwise."""
    return from_torch_state_dict(read_weight_file(data, filename), cell, activation=activation,
                                 readout_prefix=readout_prefix, dtype=dtype)


def _float_arrays(state_dict: dict, keys) -> dict[str, np.ndarray]:
    """The arrays under `keys`, each checked to hold floats (torch tensors are taken through np.asarray)."""
    out = {k: np.asarray(state_dict[k]) for k in keys}
    for k, v in out.items():
        if v.dtype.kind != "f":
            raise ValueError(f"{k} must hold floats, got dtype {v.dtype}")
    return out


def _check_bias_shapes(arrays: dict, keys, G: int, H: int) -> None:
    for k in keys:
        if arrays[k].shape != (G * H,):
            raise ValueError(f"{k} must have shape ({G * H},) for H={H}, got {arrays[k].shape}")


def _our_params(cell: str, H: int, w_ih, w_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    """W_xh (G·H, D), W_hh (G·H, H), b_h (G·H,) and for the GRU b_hn (H,) from torch's two weights and two
    biases (G·H,): b_h = bias_ih + bias_hh, except the GRU's candidate part of bias_hh, which r multiplies."""
    b_ih, b_hh = np.asarray(b_ih, dtype=np.float64), np.asarray(b_hh, dtype=np.float64)
    params = {"W_xh": w_ih, "W_hh": w_hh}
    if cell == "gru":
        n = CELLS[cell].gate_slice("n", H)             # the candidate block
        merged = b_hh.copy()
        merged[n] = 0.0
        params["b_h"] = b_ih + merged
        params["b_hn"] = b_hh[n]
    else:
        params["b_h"] = b_ih + b_hh
    return params


# --- weights of a real torch module -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RecurrentWeights:
    """One torch recurrent layer in our names. params: W_xh (G·H, D), W_hh (G·H, H), b_h (G·H,), and b_hn (H,)
    for the GRU (float64); readout: (W_hy (O, H), b_y (O,)) when the file had one, else None."""
    cell: str
    hidden_size: int
    input_size: int
    params: dict[str, np.ndarray]
    readout: tuple[np.ndarray, np.ndarray] | None
    description: str                   # one sentence: what was loaded from which keys
    activation: str = "tanh"

    def to_model(self, readout: tuple[np.ndarray, np.ndarray] | None = None, dtype: str = "float64") -> Model:
        """A model of these weights with `readout` (W_hy (O, H), b_y (O,)), by default the file's own."""
        readout = self.readout if readout is None else readout
        if readout is None:
            raise ValueError("these weights have no readout: pass readout=(W_hy, b_y), or start a run with "
                             "Trainer.from_weights, which makes a fresh one")
        # copies: training the model must not change these weights (model_from_params keeps float64 arrays as-is)
        params = {k: np.array(v) for k, v in dict(self.params, W_hy=readout[0], b_y=readout[1]).items()}
        return model_from_params(self.cell, params, activation=self.activation, dtype=dtype)


def load_recurrent_weights(data: bytes, filename: str, *, cell: str | None = None,
                           activation: str = "tanh") -> RecurrentWeights:
    """The recurrent layer in a PyTorch state_dict saved as .npz or .safetensors (told apart by content).
    `cell` ("rnn", "lstm", "gru") is inferred from the shapes when None; `activation` is nn.RNN's nonlinearity.
    Never unpickles; ValueError saying what is wrong otherwise."""
    return recurrent_weights(read_weight_file(data, filename), cell=cell, activation=activation)


def read_weight_file(data: bytes, filename: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz or .safetensors file's bytes: by its first bytes, then by its name's extension."""
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise ValueError(f"“{filename}” is {len(data) / 2 ** 20:.1f} MB; the limit is {MAX_BYTES // 2 ** 20} MB")
    name = filename.lower()
    as_npz = f"“{filename}” is not a readable .npz of weights"
    as_safetensors = f"“{filename}” is not a readable .safetensors file"
    # safetensors first: its 8-byte length may begin with b"PK", while a zip never has "{" at byte 8
    if is_safetensors(data):
        return read_safetensors(data, as_safetensors)
    if data.startswith(b"PK"):
        return read_npz(data, as_npz)
    if name.endswith(".safetensors"):
        return read_safetensors(data, as_safetensors)
    if name.endswith(".npz"):
        return read_npz(data, as_npz)
    pickle = " (it looks like a pickle, as old torch.save files are: those are never loaded)" \
        if data[:1] == b"\x80" else ""
    raise ValueError(f"“{filename}” is neither an .npz (a zip of .npy arrays) nor a .safetensors file{pickle}. "
                     "Save the state_dict with safetensors.torch.save_file(sd, path) or "
                     "np.savez(path, **{k: v.numpy() for k, v in sd.items()})")


def recurrent_weights(state_dict: dict, *, cell: str | None = None, activation: str = "tanh") -> RecurrentWeights:
    """RecurrentWeights from torch-named arrays (or tensors): the one nn.RNN/LSTM/GRU layer among the keys,
    bare (weight_ih_l0 …) or under a prefix (rnn.weight_ih_l0 …), and a readout Linear when one fits."""
    sd = dict(state_dict)
    prefix = _layer_prefix(sd)
    k = {n: f"{prefix}{n}" for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0")}
    if k["weight_hr_l0"] in sd:
        P = np.shape(sd[k["weight_hr_l0"]])[0]
        raise ValueError(f"{k['weight_hr_l0']} is present: an LSTM with proj_size={P} projects h_t down to {P} "
                         "units, which this engine's LSTM does not; only proj_size=0 layers can be loaded")
    w = _float_arrays(sd, (k["weight_ih_l0"], k["weight_hh_l0"]))
    found, H, D = _infer_cell(w[k["weight_ih_l0"]], w[k["weight_hh_l0"]], k["weight_ih_l0"], k["weight_hh_l0"])
    if cell is not None:
        choice("cell", cell, TORCH_CELLS)
        if cell != found:
            raise ValueError(f"cell={cell!r} was asked for, but these are {_NAMES[found]}'s weights: "
                             f"{k['weight_hh_l0']} has {GATES[found]}·H = {GATES[found] * H} rows for H = {H}")
    _refuse_other_layers(sd, prefix, found)
    _check_activation(found, activation)
    used = [k["weight_ih_l0"], k["weight_hh_l0"]]
    b_ih, b_hh = _biases(sd, k["bias_ih_l0"], k["bias_hh_l0"], GATES[found], H)
    if k["bias_ih_l0"] in sd:
        used += [k["bias_ih_l0"], k["bias_hh_l0"]]
    _check_finite({key: sd[key] for key in used})
    params = _our_params(found, H, w[k["weight_ih_l0"]], w[k["weight_hh_l0"]], b_ih, b_hh)
    params = {n: np.array(v, dtype=np.float64) for n, v in params.items()}
    rest = {key: v for key, v in sd.items() if key not in used}
    readout, readout_words, readout_keys = _find_readout(rest, H)
    layer = f"{_NAMES[found]} layer ({activation + ', ' if found == 'rnn' else ''}H = {H}, D = {D})"
    source = f"from {used[0]} … {used[-1]}" + ("" if len(used) == 4 else ", without biases (bias=False: zeros)")
    ignored = len(rest) - len(readout_keys)
    tail = f"; {ignored} other entr{'y' if ignored == 1 else 'ies'} ignored" if ignored else ""
    return RecurrentWeights(found, H, D, params, readout, f"{layer} {source}; {readout_words}{tail}", activation)


def _layer_prefix(sd: dict) -> str:
    """The prefix ("", "rnn.", "encoder.lstm.") of the one key naming a first layer's input weights."""
    prefixes = sorted(key[:-len("weight_ih_l0")] for key in sd if key.endswith("weight_ih_l0"))
    prefixes = [p for p in prefixes if p == "" or p.endswith(".")]
    if not prefixes:
        raise ValueError("no recurrent layer found: nn.RNN, nn.LSTM and nn.GRU name their weights weight_ih_l0, "
                         f"weight_hh_l0 … (after a prefix such as rnn. in a whole module); found {sorted(sd)[:12]}")
    if len(prefixes) > 1:
        listed = ", ".join(p + "weight_ih_l0" for p in prefixes)
        raise ValueError(f"found {len(prefixes)} recurrent layers ({listed}); only a file with one can be loaded")
    return prefixes[0]


def _infer_cell(w_ih: np.ndarray, w_hh: np.ndarray, ih: str, hh: str) -> tuple[str, int, int]:
    """(cell, H, D) from weight_ih_l0 (G·H, D) and weight_hh_l0 (G·H, H), G telling the cell (GATES)."""
    for key, v in ((ih, w_ih), (hh, w_hh)):
        if v.ndim != 2:
            raise ValueError(f"{key} must be 2-D, got shape {v.shape}")
    rows, H = w_hh.shape
    if H == 0 or rows % H or rows // H not in _CELL_OF_GATES:
        kinds = sorted(GATES, key=GATES.get)
        modules = ", ".join(_MODULES[c] for c in kinds[:-1]) + f" and {_MODULES[kinds[-1]]}"
        counts = ", ".join(str(GATES[c]) for c in kinds[:-1]) + f" or {GATES[kinds[-1]]}"
        raise ValueError(f"{hh} has shape {w_hh.shape}: {modules} have {counts} × H rows for their H columns")
    if w_ih.shape[0] != rows:
        raise ValueError(f"{ih} has {w_ih.shape[0]} rows but {hh} has {rows}: both must have G·H rows")
    return _CELL_OF_GATES[rows // H], H, w_ih.shape[1]


def _refuse_other_layers(sd: dict, prefix: str, cell: str) -> None:
    """Stacked (…_l1) and bidirectional (…_reverse) layers: say so rather than load part of them silently (the
    reader returns one layer's weights; `load_torch_model` reads a whole stack into a Model)."""
    n_layers, bidi = torch_layers(sd, prefix)
    kind = _MODULES[cell]
    if n_layers > 1:
        raise ValueError(f"only the first layer of a stacked {kind} can be loaded; this one has {n_layers} layers "
                         f"({prefix}weight_ih_l0 … {prefix}weight_ih_l{n_layers - 1}): save one with num_layers=1")
    if bidi:
        raise ValueError(f"{prefix}weight_ih_l0_reverse is present: this {kind} is bidirectional, and only a "
                         "one-direction layer can be loaded (bidirectional=False)")


def _check_activation(cell: str, activation: str) -> None:
    if cell == "rnn":
        choice("activation", activation, ("tanh", "relu"))     # nn.RNN's two nonlinearities
    elif activation != "tanh":
        raise ValueError(f"activation for {_NAMES[cell]} must be 'tanh' (its gates fix the nonlinearities), "
                         f"got {activation!r}")


def _biases(sd: dict, ih: str, hh: str, G: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """bias_ih_l0, bias_hh_l0 (G·H,), or zeros for a layer made with bias=False (neither key present)."""
    present = [key for key in (ih, hh) if key in sd]
    if not present:
        return np.zeros(G * H), np.zeros(G * H)
    if len(present) == 1:
        raise ValueError(f"{present[0]} is present but {({ih, hh} - set(present)).pop()} is not: a torch layer "
                         "has both biases or neither (bias=False)")
    b = _float_arrays(sd, (ih, hh))
    _check_bias_shapes(b, (ih, hh), G, H)
    return b[ih], b[hh]


def _find_readout(rest: dict, H: int):
    """(readout or None, words for the description, keys used): `readout.weight`/`.bias`, else the one
    remaining `*.weight` of shape (O, H) with its `*.bias` (O,) (zeros if that Linear had bias=False)."""
    fresh = "a fresh one is made for the task"
    names = ["readout"] if "readout.weight" in rest else [
        key[:-len(".weight")] for key in rest if key.endswith(".weight") and _fits_readout(rest, key, H)]
    if not names:
        return None, f"no readout found: {fresh}", []
    if len(names) > 1:
        listed = ", ".join(f"{n}.weight" for n in names)
        return None, f"{len(names)} possible readouts ({listed}), none used: {fresh}", []
    n = names[0]
    keys = [f"{n}.weight"] + ([f"{n}.bias"] if f"{n}.bias" in rest else [])
    arrays = _float_arrays(rest, keys)
    W = arrays[keys[0]]
    O = W.shape[0] if W.ndim == 2 else -1
    if W.shape != (O, H):
        raise ValueError(f"{keys[0]} has shape {W.shape}; a readout of the layer's H = {H} units is (O, {H})")
    b = arrays[keys[1]] if len(keys) == 2 else np.zeros(O)
    if b.shape != (O,):
        raise ValueError(f"{keys[1]} has shape {b.shape}; it must be ({O},) to match {keys[0]}")
    _check_finite(arrays)
    readout = (np.array(W, dtype=np.float64), np.array(b, dtype=np.float64))
    words = f"readout {keys[0]} (O = {O})" + (f" and {keys[1]}" if len(keys) == 2 else ", no bias (zeros)")
    return readout, words, keys


def _fits_readout(rest: dict, weight_key: str, H: int) -> bool:
    """Whether `weight_key` (O, H) and its bias (O,), if any, look like a Linear reading the layer's h_t."""
    W = rest[weight_key]
    if np.ndim(W) != 2 or np.shape(W)[1] != H:
        return False
    bias = rest.get(weight_key[:-len(".weight")] + ".bias")
    return bias is None or np.shape(bias) == (np.shape(W)[0],)


def _check_finite(arrays: dict) -> None:
    for key, v in arrays.items():
        if not np.all(np.isfinite(np.asarray(v, dtype=np.float64))):
            raise ValueError(f"{key} holds NaN or infinite values")
