"""Training-lab runs kept on the server's disk, so a reload (a new Streamlit session) or a restarted browser finds
its run again: the page's address carries `run=<id>`, and the run's whole state — the trainer's (weights,
optimizer, random generator, position; Trainer.state_bytes) and its records — is written under that id when the
run pauses, steps, stops, and every few seconds while it plays.

One .npz per run in RUN_DIR (shared by every server process on this machine), never unpickled; the folder is
bounded (MAX_BYTES in all, oldest written first out) and entries older than MAX_AGE_S are dropped. A run opened
from an id is continued under a new id, so a link with someone's run gives each person their own copy.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from explorer.npz_files import read_npz
from explorer.training import StepRecord, Trainer

RUN_DIR = Path(os.environ.get("BPTT_RUN_DIR", Path(tempfile.gettempdir()) / "bptt-explorer-runs"))
MAX_BYTES = 512 * 2 ** 20         # all kept runs together
MAX_RUN_BYTES = 48 * 2 ** 20      # one run, under read_npz's 50 MB file limit (20 000 updates with snapshots: ~45 MB)
MAX_AGE_S = 24 * 3600
SAVE_EVERY_S = 5.0                # while playing
ID = re.compile(r"r[0-9a-f]{16}")
_SCALARS = [f.name for f in fields(StepRecord) if f.name not in ("delta_norms",)]


def new_id() -> str:
    return "r" + secrets.token_hex(8)


def valid_id(run_id: str) -> bool:
    return bool(ID.fullmatch(run_id or ""))


def _path(run_id: str) -> Path:
    if not valid_id(run_id):
        raise ValueError(f"not a run id: {run_id[:40]!r}")
    return RUN_DIR / f"{run_id}.npz"


def run_bytes(key: tuple, trainer: Trainer, records: list[StepRecord]) -> bytes:
    """One run as .npz bytes: the trainer's state, every record's numbers, and the ‖δ_t‖ snapshots (ragged,
    stored end to end with their lengths)."""
    snaps = [r.delta_norms for r in records if r.delta_norms is not None]
    rows = [{k: getattr(r, k) for k in _SCALARS} for r in records]
    header = {"key": repr(key), "rows": rows, "has_snapshot": [r.delta_norms is not None for r in records]}
    buf = io.BytesIO()
    np.savez(buf, trainer=np.frombuffer(trainer.state_bytes(), dtype=np.uint8),
             header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             snap_len=np.array([len(s) for s in snaps], dtype=np.int64),
             snaps=np.concatenate(snaps) if snaps else np.zeros(0))
    return buf.getvalue()


def same_key(saved: str, key: tuple) -> bool:
    """Whether a run saved under the key repr `saved` is the run of `key`. Runs kept before TrainConfig had
    num_layers (every one of them a single layer) have a key repr without the field: they are the run of the same
    key at num_layers = 1, the field's default."""
    now = repr(key)
    return saved == now or saved == now.replace(" num_layers=1,", "", 1)


def restore(data: bytes, key: tuple, task) -> tuple[Trainer, list[StepRecord]]:
    """(trainer, records) from run_bytes, if it was saved for `key` (ValueError saying why not)."""
    a = read_npz(data, "not a saved training-lab run", max_bytes=MAX_RUN_BYTES)
    try:
        header = json.loads(a["header"].tobytes().decode())
        if not same_key(header["key"], key):
            raise ValueError("it was saved with other lab settings")
        trainer = Trainer.from_state_bytes(task, a["trainer"].tobytes())
        lens, flat = a["snap_len"], a["snaps"]
        ends = np.cumsum(lens)
        snaps = iter(np.split(flat, ends[:-1]) if lens.size else [])
        records = [StepRecord(**row, delta_norms=next(snaps) if has else None)
                   for row, has in zip(header["rows"], header["has_snapshot"])]
    except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"the saved run is unreadable ({type(e).__name__})") from None
    return trainer, records


def save(run_id: str, key: tuple, trainer: Trainer, records: list[StepRecord]) -> None:
    """Write the run atomically (a reader never sees half a file), then keep the folder within its bounds."""
    path = _path(run_id)
    data = run_bytes(key, trainer, records)
    if len(data) > MAX_RUN_BYTES:
        return
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    prune()


def load(run_id: str) -> bytes | None:
    try:
        return _path(run_id).read_bytes()
    except (OSError, ValueError):
        return None


def prune(now: float | None = None) -> None:
    """Drop runs older than MAX_AGE_S, then the oldest until the folder holds at most MAX_BYTES."""
    now = time.time() if now is None else now
    try:
        files = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in RUN_DIR.glob("r*.npz")), reverse=True)
    except OSError:
        return
    total = 0
    for mtime, size, p in files:                 # newest first
        total += size
        if now - mtime > MAX_AGE_S or total > MAX_BYTES:
            p.unlink(missing_ok=True)
