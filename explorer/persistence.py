"""Save and load a model: one .npz holding the parameter arrays and a small JSON of its configuration (stored as
UTF-8 bytes under "__config__"). Loading goes through npz_files.read_npz (every array's header checked before
its data is read; pickled objects refused) and checks every name, shape and dtype, with a clear ValueError on
anything wrong. A stacked model's config holds num_layers and bidirectional, and its arrays of layers l > 0 and
reverse directions are named as explorer.model.layer_key says (W_hh_l1, W_hh_reverse, …).
"""
from __future__ import annotations

import io
import json

import numpy as np

from .model import Model, model_from_params
from .npz_files import read_npz

CONFIG_KEY = "__config__"


def model_bytes(model: Model, extra: dict | None = None) -> bytes:
    """The model as .npz bytes (for a download button or a file)."""
    cfg = dict(model.config, extra=extra or {})
    arrays = dict(model.params)
    arrays[CONFIG_KEY] = np.frombuffer(json.dumps(cfg).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save_model(model: Model, path, extra: dict | None = None) -> None:
    with open(path, "wb") as f:
        f.write(model_bytes(model, extra))


def load_model(file) -> tuple[Model, dict]:
    """(model, extra) from a path, a file object or bytes written by save_model / model_bytes."""
    arrays = read_npz(file, "not a model file saved by BPTT Explorer")
    if CONFIG_KEY not in arrays:
        raise ValueError(f"the .npz has no {CONFIG_KEY!r} entry: it was not saved by BPTT Explorer "
                         f"(found {sorted(arrays)[:10]}); a PyTorch state_dict loads with load_torch_npz")
    raw = arrays.pop(CONFIG_KEY)
    try:
        cfg = json.loads(raw.astype(np.uint8).tobytes().decode("utf-8"))
        cell, activation, dtype = cfg["cell"], cfg.get("activation", "tanh"), cfg.get("dtype", "float64")
        num_layers, bidirectional = cfg.get("num_layers"), cfg.get("bidirectional")   # None: from the names
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"the model's configuration is unreadable ({type(e).__name__}: {e})") from None
    for k, v in arrays.items():
        if v.dtype.kind != "f":
            raise ValueError(f"parameter {k} must be a float array, got dtype {v.dtype}")
    model = model_from_params(cell, arrays, activation=activation, dtype=dtype, num_layers=num_layers,
                              bidirectional=bidirectional)
    extra = cfg.pop("extra", {})
    model.config = cfg
    return model, extra
