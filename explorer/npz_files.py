"""Reading .npz files from users safely.

An .npz is a zip archive of .npy arrays. Before any array data is read, every entry's .npy header is read on
its own and checked: a numeric dtype (never Python objects, so nothing is ever unpickled), a declared size
(shape × itemsize) that matches the bytes the zip says the entry holds, a total under `MAX_ARRAY_BYTES`, and a
compression ratio that trained weights can have. Only then are the arrays read. So a 6 kB file whose header
declares 10¹² floats, or a 255 kB file that inflates to 250 MB, is refused without allocating or inflating it.
Every refusal is one ValueError that says what was wrong.
"""
from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from math import prod

import numpy as np
from numpy.lib import format as npy

MAX_BYTES = 50 * 1024 * 1024          # the file itself
MAX_ARRAY_BYTES = 32 * 1024 * 1024    # all arrays together: models here are a few MB at most
MAX_ENTRIES = 4096                    # arrays in one file (each costs a header read)
MAX_RATIO = 100                       # inflated / compressed size of a large entry; float weights barely compress
RATIO_FROM_BYTES = 1024 * 1024        # … small entries (zero biases) may compress far more and are harmless
NUMERIC_KINDS = "biufc"               # bool, int, uint, float, complex: plain numbers, nothing to unpickle
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class _Entry:
    member: zipfile.ZipInfo
    key: str                          # the name np.load gives it ("W_hh" for "W_hh.npy")
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int                       # shape × itemsize, as declared by the header
    data_size: int                    # bytes the zip says follow the header


def human_bytes(n: float) -> str:
    """1536 → "1.5 kB", 8e12 → "7.3 TB" (binary multiples, as the limits are)."""
    if n < 1024:
        return f"{n:.0f} byte{'' if n == 1 else 's'}"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1024
        if n < 1024 or unit == "TB":
            break
    return f"{n:.0f} {unit}" if n >= 100 or n == int(n) else f"{n:.1f} {unit}"


def read_npz(file, what: str, *, max_bytes: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """All arrays of an .npz given as a path, a file object or bytes, checked before they are read.
    `what` starts the error message (e.g. "not a model file saved by BPTT Explorer"); `max_bytes` bounds the
    arrays' total declared size."""
    try:
        data = _file_bytes(file)
        with zipfile.ZipFile(io.BytesIO(_zip_bytes(data))) as zf:
            entries = [_checked_header(zf, m) for m in _members(zf, max_bytes)]
            _check_total(entries, max_bytes)
            return {e.key: _read_array(zf, e) for e in entries}
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, RuntimeError,
            NotImplementedError) as e:
        detail = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
        raise ValueError(f"{what} (an .npz of plain arrays): {detail}") from None


def _file_bytes(file) -> bytes:
    """The file's bytes, refusing more than MAX_BYTES before reading them all."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
    elif isinstance(file, (str, os.PathLike)):
        size = os.path.getsize(file)
        if size > MAX_BYTES:
            raise ValueError(_too_big(size))
        with open(file, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    else:
        data = file.read(MAX_BYTES + 1)             # a file object (e.g. Streamlit's upload)
    if len(data) > MAX_BYTES:
        raise ValueError(_too_big(len(data)))
    return data


def _too_big(size: int) -> str:
    return f"the file is {size / 2 ** 20:.1f} MB; the limit is {MAX_BYTES // 2 ** 20} MB"


def _zip_bytes(data: bytes) -> bytes:
    """`data` if it is a zip archive; otherwise a message saying what it is instead."""
    if not data:
        raise ValueError("the file is empty")
    if data.startswith(npy.MAGIC_PREFIX):
        raise ValueError("this is a single .npy array (np.save), not an .npz archive; only .npz files are "
                         "accepted: save with np.savez(path, name=array, ...)")
    if not data.startswith(_ZIP_MAGIC):
        raise ValueError(f"it is not a zip archive (it starts with {data[:8]!r}); an .npz written by np.savez "
                         "starts with b'PK'")
    return data


def _members(zf: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    """The archive's entries, checked from the zip directory alone (nothing inflated yet)."""
    members = zf.infolist()
    if len(members) > MAX_ENTRIES:
        raise ValueError(f"it holds {len(members)} entries; the limit is {MAX_ENTRIES}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_bytes + 4096 * len(members):   # headers and padding aside
        raise ValueError(f"it would unpack to {human_bytes(unpacked)}; the limit is {human_bytes(max_bytes)}")
    seen = set()
    for m in members:
        if m.filename in seen:
            raise ValueError(f"entry {m.filename!r} appears twice")
        seen.add(m.filename)
        if m.filename.endswith(".pkl"):
            raise ValueError(f"entry {m.filename!r} is a pickle (this looks like a torch.save .pt/.pth file): "
                             "pickled objects are refused; save the tensors with safetensors or np.savez")
        if not m.filename.endswith(".npy"):
            raise ValueError(f"entry {m.filename!r} is not a .npy array")
        if m.flag_bits & 0x1:
            raise ValueError(f"entry {m.filename!r} is encrypted")
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"entry {m.filename!r} uses zip compression method {m.compress_type}; only stored "
                             "or deflated entries (what np.savez and np.savez_compressed write) are read")
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > RATIO_FROM_BYTES and ratio > MAX_RATIO:
            raise ValueError(f"entry {m.filename!r} inflates {ratio:.0f}× ({human_bytes(m.compress_size)} → "
                             f"{human_bytes(m.file_size)}); trained weights do not compress over {MAX_RATIO}×, "
                             "so it is refused as a possible zip bomb")
    return members


def _checked_header(zf: zipfile.ZipFile, member: zipfile.ZipInfo) -> _Entry:
    """Read one entry's .npy header only (a few hundred bytes inflated) and check what it declares."""
    key = member.filename[:-len(".npy")]
    with zf.open(member) as f:
        try:
            version = npy.read_magic(f)
        except ValueError:
            raise ValueError(f"entry {key} is not a .npy array (no .npy header)") from None
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(f)
        else:
            raise ValueError(f"entry {key} is a .npy of format version {version}, which only structured "
                             "arrays use; plain number arrays are version 1.0 or 2.0")
        header_size = f.tell()
    if dtype.hasobject:
        raise ValueError(f"entry {key} holds Python objects (dtype {dtype}), which would have to be unpickled: "
                         "pickled objects are refused")
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"entry {key} has dtype {dtype}, not plain numbers (floats, integers or booleans)")
    nbytes = prod(shape) * dtype.itemsize
    return _Entry(member, key, tuple(shape), dtype, nbytes, member.file_size - header_size)


def _check_total(entries: list[_Entry], max_bytes: int) -> None:
    """Each entry's declared size is what the zip holds for it, and all of them fit under max_bytes."""
    for e in entries:
        size = f"shape {e.shape} of {e.dtype} = {human_bytes(e.nbytes)}"
        if e.nbytes > max_bytes:
            raise ValueError(f"entry {e.key} declares {size}; the limit is {human_bytes(max_bytes)}")
        if e.data_size != e.nbytes:
            raise ValueError(f"entry {e.key} declares {size} ({e.nbytes} bytes) but holds {e.data_size} bytes "
                             "of data: the file is truncated or corrupt")
    total = sum(e.nbytes for e in entries)
    if total > max_bytes:
        raise ValueError(f"its arrays declare {human_bytes(total)} together; the limit is {human_bytes(max_bytes)}")


def _read_array(zf: zipfile.ZipFile, entry: _Entry) -> np.ndarray:
    """The entry's array, read now that its size is known to be within the limit."""
    with zf.open(entry.member) as f:
        return npy.read_array(f, allow_pickle=False)
