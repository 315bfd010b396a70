"""Reading .safetensors files from users safely, without torch or the safetensors package.

The format: an 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}, then the data,
with offsets counted from the end of the header. Everything the header declares is checked before any tensor
is read: its size, the dtypes, that each tensor's offsets lie inside the file, do not overlap and span exactly
shape × itemsize bytes, and that the total is under npz_files.MAX_ARRAY_BYTES. Half-precision tensors (F16,
BF16) are returned as float32 (NumPy has no bfloat16). Every refusal is one ValueError that says what was wrong.
"""
from __future__ import annotations

import json
from math import prod

import numpy as np

from .npz_files import MAX_ARRAY_BYTES, human_bytes

MAX_HEADER_BYTES = 1024 * 1024        # ~10 000 tensors' worth of JSON
# safetensors dtype → (NumPy dtype of the stored bytes, itemsize). Integers and booleans are read too (a whole
# module's state_dict may hold counters such as BatchNorm's num_batches_tracked); callers check what they use.
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


_WRITE = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
          np.dtype("<i4"): "I32"}


def write_safetensors(arrays: dict[str, np.ndarray]) -> bytes:
    """The .safetensors bytes of name → array (float64/32/16, int64/32), as safetensors.numpy.save writes them
    (names sorted, the JSON header padded with spaces to a multiple of 8): torch reads them with
    safetensors.torch.load_file, e.g. to_torch_state_dict(model) of a stacked model."""
    header, chunks, pos = {}, [], 0
    for k in sorted(arrays):
        v = np.ascontiguousarray(arrays[k])
        v = v.astype(v.dtype.newbyteorder("<"))
        if v.dtype not in _WRITE:
            raise ValueError(f"array {k!r} has dtype {v.dtype}; writable dtypes are float64/32/16 and int64/32")
        header[k] = {"dtype": _WRITE[v.dtype], "shape": list(v.shape), "data_offsets": [pos, pos + v.nbytes]}
        chunks.append(v.tobytes())
        pos += v.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + b"".join(chunks)


def is_safetensors(data: bytes) -> bool:
    """Whether `data` starts like a .safetensors file: a plausible header length, then a JSON object."""
    return len(data) >= 10 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= len(data) - 8


def read_safetensors(data: bytes, what: str = "not a readable .safetensors file", *,
                     max_bytes: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """All tensors of a .safetensors file's bytes as NumPy arrays (F16/BF16 → float32), checked first.
    `what` starts the error message; `max_bytes` bounds the tensors' total size."""
    try:
        header, body = _split(bytes(data))
        specs = [_spec(name, entry, len(body)) for name, entry in header.items() if name != "__metadata__"]
        _check_layout(specs, max_bytes)
        return {name: _tensor(body, dtype, shape, begin) for name, dtype, shape, begin, _ in specs}
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None


def _split(data: bytes) -> tuple[dict, bytes]:
    """(the parsed JSON header, the data section after it)."""
    if len(data) < 8:
        raise ValueError(f"the file is {len(data)} bytes; a .safetensors file starts with an 8-byte header length")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise ValueError(f"it declares a JSON header of {human_bytes(n)}; the limit is "
                         f"{human_bytes(MAX_HEADER_BYTES)}")
    if 8 + n > len(data):
        raise ValueError(f"the file is truncated: its header should be {n} bytes but only {len(data) - 8} "
                         "follow the length")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"its header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"its header is a JSON {type(header).__name__}, not an object of tensors")
    return header, data[8 + n:]


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"its header names a tensor twice ({sorted(k for k in keys if keys.count(k) > 1)[0]!r})")
    return dict(pairs)


def _spec(name: str, entry, body_size: int):
    """(name, dtype, shape, begin, end) of one header entry, with its dtype, shape and offsets checked."""
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise ValueError(f"tensor {name!r} has no dtype, shape and data_offsets in the header")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise ValueError(f"tensor {name!r} has dtype {dtype!r}; readable dtypes are {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ValueError(f"tensor {name!r} has shape {shape!r}; a shape is a list of whole numbers ≥ 0")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise ValueError(f"tensor {name!r} has data_offsets {offsets!r}; they must be [begin, end] with "
                         "0 ≤ begin ≤ end")
    begin, end = offsets
    if end > body_size:
        raise ValueError(f"tensor {name!r} lies at bytes [{begin}, {end}) of the data, past its end "
                         f"({body_size} bytes): the file is truncated or corrupt")
    nbytes = prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if nbytes != end - begin:
        raise ValueError(f"tensor {name!r} declares shape {tuple(shape)} of {dtype} = {nbytes} bytes but its "
                         f"offsets span {end - begin} bytes")
    return name, dtype, tuple(shape), begin, end


def _check_layout(specs: list, max_bytes: int) -> None:
    """Tensors do not share bytes (else a small file could declare many big tensors) and fit the limit."""
    spans = sorted((begin, end, name) for name, _, _, begin, end in specs if end > begin)
    for (_, end_a, a), (begin_b, _, b) in zip(spans, spans[1:]):
        if begin_b < end_a:
            raise ValueError(f"tensors {a!r} and {b!r} overlap in the data")
    total = sum(end - begin for _, _, _, begin, end in specs)
    if total > max_bytes:
        raise ValueError(f"its tensors hold {human_bytes(total)} together; the limit is {human_bytes(max_bytes)}")


def _tensor(body: bytes, dtype: str, shape: tuple[int, ...], begin: int) -> np.ndarray:
    """One tensor, copied out of the file's bytes (writable, native byte order); F16/BF16 → float32."""
    raw = np.frombuffer(body, dtype=DTYPES[dtype], count=prod(shape), offset=begin).reshape(shape)
    if dtype == "BF16":                   # bfloat16 is the top half of a float32
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return raw.astype(np.float32)
    return raw.astype(raw.dtype.newbyteorder("="))
