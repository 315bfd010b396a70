"""The training lab's live state: the trainer, its records, play/pause, and the loop the live fragment runs."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from explorer import work_budget as wb
from explorer.figures import training_figs
from explorer.persistence import CONFIG_KEY, load_model, model_bytes
from explorer.torch_names import read_weight_file, recurrent_weights
from explorer.training import Trainer

from . import lab_store

log = logging.getLogger("bptt_explorer")
UPDATE_BUDGET_S = 0.15        # training time per live redraw; a pause lands between two updates
MAX_UPDATES = 20_000
UPDATE_MEMORY = 200e6         # bytes one update may hold (forward cache + backward), whatever the sliders say …
UPDATE_WORK = 5e9             # … and multiply-adds (~0.5 s here): the batch size gives way first
SLOW_UPDATE_S = 0.25          # above this, the status line says how long an update takes and why
UPDATES_AT_ONCE = 2           # training updates running at once in this server process, over all sessions

# Process-wide, on purpose: 30 students pressing ▶ at the sliders' maxima would otherwise hold 30 updates of up to
# UPDATE_MEMORY each at once; on a 2-core machine more than two at once only queue for the cores anyway.
_UPDATE_SLOTS = threading.BoundedSemaphore(UPDATES_AT_ONCE)


@contextlib.contextmanager
def update_slot(wait_s: float):
    """Hold one of the UPDATES_AT_ONCE slots for a training update; yields False (and holds none) when no slot
    came free within wait_s seconds."""
    got = _UPDATE_SLOTS.acquire(timeout=wait_s)
    try:
        yield got
    finally:
        if got:
            _UPDATE_SLOTS.release()


def batch_size(cell: str, H: int, D: int, T: int, requested: int) -> int:
    """The batch the lab trains with: the requested one, or less when an update would pass UPDATE_MEMORY or
    UPDATE_WORK (explorer.work_budget's counts)."""
    return min(requested, wb.batch_limit(cell, H, D, T, memory=UPDATE_MEMORY, work=UPDATE_WORK))


@dataclass
class Lab:
    key: tuple
    trainer: Trainer
    records: list = field(default_factory=list)
    playing: bool = False
    started: float = 0.0             # when ▶ was pressed, and how many updates there were then (for updates/s)
    base_n: int = 0
    last_update_s: float = 0.0       # wall time of the latest update
    size: str = ""                   # "LSTM, H = 256, B = 17, T = 220": what an update's cost depends on
    run_id: str = field(default_factory=lab_store.new_id)      # where the run is kept on disk (ui.lab_store)
    saved_at: float = 0.0


def train_some(lab: Lab, status) -> None:
    """Updates for about UPDATE_BUDGET_S seconds. Each update writes the status line: a call into Streamlit
    between updates, where a click on pause interrupts this run (the stop lands within one update)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < UPDATE_BUDGET_S:
        if lab.trainer.state.stopped or len(lab.records) >= MAX_UPDATES:
            lab.playing = False
            break
        with update_slot(0.05) as got:
            if not got:                            # the server's cores are busy with other sessions' updates
                status.markdown(status_line(lab) + " · waiting for a free core (other sessions are training)")
                break
            t = time.perf_counter()
            lab.records.append(lab.trainer.step())
            lab.last_update_s = time.perf_counter() - t
        status.markdown(status_line(lab))
        if time.perf_counter() - lab.saved_at > lab_store.SAVE_EVERY_S:
            keep(lab)
    if not lab.playing:
        keep(lab)


def keep(lab: Lab) -> None:
    """Write the run to the server's disk (ui.lab_store), where a reload of the page finds it again."""
    try:
        lab_store.save(lab.run_id, lab.key, lab.trainer, lab.records)
    except OSError:                  # a full or read-only disk: training goes on, only a reload would lose it
        log.warning("could not keep training-lab run %s", lab.run_id, exc_info=True)
    lab.saved_at = time.perf_counter()


def reopen(run_id: str, key: tuple, task) -> tuple[Lab | None, str]:
    """The run kept under run_id, continued under a new id — or None, with one sentence saying why not."""
    data = lab_store.load(run_id)
    if data is None:
        return None, ("The training run in this link is no longer on this server (runs are kept for "
                      f"{lab_store.MAX_AGE_S // 3600} h): a new run starts.")
    try:
        trainer, records = lab_store.restore(data, key, task)
    except ValueError as e:
        return None, f"The training run in this link could not be continued ({e}): a new run starts."
    return Lab(key, trainer, records), (f"Continued the training run kept on this server: {len(records)} updates "
                                        "so far, paused. Press ▶ play to go on.")


def trainer_from_file(data: bytes, name: str, task, config) -> tuple[Trainer, str]:
    """A fresh run from uploaded weights, and one sentence on what was loaded: a model .npz saved by this lab
    (explorer.persistence), or a PyTorch nn.RNN / nn.LSTM / nn.GRU state_dict as .npz or .safetensors (a fresh
    readout when it has none that fits the task). ValueError saying why not; nothing is ever unpickled."""
    arrays = read_weight_file(data, name)
    if CONFIG_KEY in arrays:
        model, extra = load_model(data)
        trainer = Trainer.from_model(task, config, model)
        done = f" after {extra['updates']} updates" if isinstance(extra.get("updates"), int) else ""
        return trainer, f"Started from the model saved by this lab{done} ({model.cell.kind.upper()}, H = {model.hidden_size})."
    trainer = Trainer.from_weights(task, config, recurrent_weights(arrays, activation=config.activation))
    return trainer, trainer.note + (" The lab's φ is used: a state_dict does not store nn.RNN's nonlinearity."
                                    if config.cell == "rnn" else "")


def status_line(lab: Lab) -> str:
    n = len(lab.records)
    if not n:
        return "**Ready.** Press ▶ play, or ⏭ step for one update."
    r = lab.records[-1]
    rate = (n - lab.base_n) / (time.perf_counter() - lab.started) if lab.playing and n > lab.base_n else None
    state = "▶ training" if lab.playing else "❚❚ paused"
    speed = f" · {rate:.0f} updates/s" if rate and rate >= 1 else ""
    if lab.last_update_s > SLOW_UPDATE_S:
        speed = f" · {lab.last_update_s:.1f} s per update ({lab.size}: lower H, B or the length to go faster)"
    return (f"**{state}** · update **{n}** · loss {r.loss:.4g} (baseline {r.baseline:.3g}) · "
            f"‖g‖ {r.grad_norm:.3g}{speed}")


def history_csv(lab: Lab) -> str:
    """The run's history as CSV (one row per update: loss, baseline, ‖g‖ before/after clipping, ρ, σ₁ …)."""
    return training_figs.history(list(lab.records)).to_csv(index=False)


def trained_model_npz(lab: Lab, task_name: str) -> bytes:
    """The current weights as a model .npz (explorer.persistence), with the task and the number of updates."""
    return model_bytes(lab.trainer.model, {"task": task_name, "updates": len(lab.records)})
