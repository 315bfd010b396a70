"""Reading .npz files from users safely: np.load(allow_pickle=False), so a file holding pickled objects is
refused instead of executed, with one clear ValueError for anything unreadable."""
from __future__ import annotations

import io
import zipfile

import numpy as np

MAX_BYTES = 50 * 1024 * 1024
MAX_UNPACKED = 256 * 1024 * 1024      # a small zip can inflate to gigabytes: refuse before decompressing


def read_npz(file, what: str) -> dict[str, np.ndarray]:
    """All arrays of an .npz given as a path, a file object or bytes. `what` starts the error message
    (e.g. "not a model file saved by BPTT Explorer")."""
    if isinstance(file, (bytes, bytearray)):
        if len(file) > MAX_BYTES:
            raise ValueError(f"{what}: the file is {len(file) / 2 ** 20:.1f} MB; the limit is {MAX_BYTES // 2 ** 20} MB")
        file = io.BytesIO(file)
    try:
        if isinstance(file, io.BytesIO) and zipfile.is_zipfile(file):
            file.seek(0)
            with zipfile.ZipFile(file) as zf:
                unpacked = sum(i.file_size for i in zf.infolist())
            if unpacked > MAX_UNPACKED:
                raise ValueError(f"it would unpack to {unpacked / 2 ** 20:.0f} MB (limit "
                                 f"{MAX_UNPACKED // 2 ** 20} MB)")
            file.seek(0)
        with np.load(file, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, AttributeError) as e:
        raise ValueError(f"{what} (an .npz of plain arrays): {type(e).__name__}: {e}. "
                         "Files with pickled objects are refused.") from None
