"""The training lab's run: its task and TrainConfig from the settings, its live state (a ui.live.LiveRun: the
trainer, its records, play/pause), where it is kept across a reload (ui.lab_store), and its files (history CSV,
model .npz, a start from uploaded weights)."""
from __future__ import annotations

import logging
import time
from dataclasses import astuple, dataclass, field, fields

import streamlit as st

from explorer import tasks
from explorer import work_budget as wb
from explorer.figures import training_figs
from explorer.persistence import CONFIG_KEY, load_model, model_bytes
from explorer.scenario import Scenario
from explorer.torch_names import read_weight_file, recurrent_weights
from explorer.training import TrainConfig, Trainer, reach

from . import lab_store, live, params, url_state
from .plain_text import plain

log = logging.getLogger("bptt_explorer")
MAX_UPDATES = 20_000
UPDATE_MEMORY = 200e6         # bytes one update may hold (forward cache + backward), whatever the sliders say …
UPDATE_WORK = 5e9             # … and multiply-adds (~0.5 s here): the batch size gives way first
SLOW_UPDATE_S = 0.25          # above this, the status line says how long an update takes and why
# An update that estimates K again (adaptive truncation: three forward passes and one backward on a batch of its own)
# takes ≈ 3.6× a plain update's time and ≈ 2.4× its peak memory (measured: LSTM H = 64, RNN H = 128, B = 32).
ESTIMATE_TIME, ESTIMATE_MEMORY = 3.6, 2.4

# What the lab takes from the sidebar's Scenario: every field TrainConfig has under the same name, and these
# under another; the rest is the task's to set (its sequence, inputs and loss).
RENAMED = {"hidden": "hidden_size", "layers": "num_layers"}
SAME_NAME = tuple(f.name for f in fields(Scenario) if f.name in {g.name for g in fields(TrainConfig)})
NOT_USED = ("T", "input_scale", "target")
# … and from the lab's own settings (ui.params.LAB; lr is a choice of strings, the batch is batch_size()'s).
FROM_LAB = {"opt": "optimizer", "clip": "clip", "theta": "clip_threshold"}


def stack_factors(H: int, D: int, layers: int) -> tuple[float, float]:
    """(memory, work) of one update of an L-layer stack, as multiples of one layer's (explorer.work_budget counts
    one): L for memory, every layer keeping its forward cache and adjoints; 1 + (L − 1)·2H/(H + D) for work, since
    a layer above the first reads an H-wide input, G·H·(H + H) multiply-adds a step where layer 0 takes G·H·(H + D).
    (1, 1) for one layer."""
    return float(layers), 1.0 + (layers - 1) * 2.0 * H / (H + D)


def batch_size(cell: str, H: int, D: int, T: int, requested: int, adaptive: bool = False, layers: int = 1) -> int:
    """The batch the lab trains with: the requested one, or less when an update would pass UPDATE_MEMORY or
    UPDATE_WORK (explorer.work_budget's counts, × stack_factors for L layers) — for adaptive truncation, an update
    that estimates K."""
    m, w = (ESTIMATE_MEMORY, ESTIMATE_TIME) if adaptive else (1.0, 1.0)
    sm, sw = stack_factors(H, D, layers)
    return min(requested, wb.batch_limit(cell, H, D, T, memory=UPDATE_MEMORY / m / sm, work=UPDATE_WORK / w / sw))


@dataclass(frozen=True)
class LabTask:
    """The task as the lab's settings name it: a key of explorer.tasks.TASKS or "text", its size (the copy task's
    lag, the others' length) and, for the text task, its corpus's id (a built-in's name, or upload:<file>:<bytes>)."""
    name: str
    size: int
    corpus: str | None = None

    def build(self, corpus=None):
        """The task object (`corpus`: the text task's explorer.tasks.Corpus)."""
        if self.name == "copy":
            return tasks.CopyTask(lag=self.size)
        if self.name == "text":
            return tasks.TextTask(corpus, T=max(self.size, 2))
        if self.name == "reber":
            return tasks.ReberTask(max_len=max(self.size, 20))
        return tasks.TASKS[self.name](T=self.size)


def sequence_length(task) -> int:
    """The steps one sequence of the task has (the Reber task's longest)."""
    return getattr(task, "T", None) or task.max_len


def adaptive_fits(task) -> bool:
    """Whether the lab's adaptive truncation can run on `task`: K is estimated from the loss at step T − 1, which
    every sequence must reach (the Reber task's strings end at different steps)."""
    return bool(reach(task))


def k_refs(task) -> dict[str, int]:
    """The K chart's reference lines, labelled (explorer.training.reach): T (from there on TBPTT(K, K) is full BPTT)
    and, for the copy task, lag + symbols + 1 (below it no symbol shares a backward window with its recall)."""
    r = reach(task)
    refs = {f"T = {r['T']} (full BPTT)": r["T"]} if "T" in r else {}
    if "link" in r:
        refs[f"lag + symbols + 1 = {r['link'] + 1}"] = r["link"] + 1
    return refs


def lab_config(sc: Scenario, lab: dict, task) -> TrainConfig:
    """What the lab trains with: the sidebar's network (its L layers too) and truncation (sc) — or, when the lab's
    own truncation (`lab["lab_scheme"]`) is "adaptive", TBPTT(K, K) with K from δ every adapt_every updates —, the
    optimizer and clipping of the lab's own settings (`lab`: their values by key, ui.params.LAB and LAB_ADAPTIVE),
    and the requested batch as far as the update budget allows it (batch_size)."""
    T = sequence_length(task)
    adaptive = (dict(scheme="adaptive", delta=float(lab["delta"]), adapt_every=int(lab["adapt_every"]))
                if lab.get("lab_scheme") == "adaptive" else {})
    sidebar = {f: getattr(sc, f) for f in SAME_NAME} | {c: getattr(sc, f) for f, c in RENAMED.items()}
    return TrainConfig(**(sidebar | adaptive), **{c: lab[k] for k, c in FROM_LAB.items()}, lr=float(lab["lr"]),
                       batch_size=batch_size(sc.cell, sc.hidden, task.input_size, T, lab["B"], bool(adaptive),
                                             sc.layers),
                       snapshot_every=1 if T <= 200 else 5)


def run_key(task: LabTask, config: TrainConfig) -> tuple:
    """A run's identity, (task, size, corpus id, config): a change to any of them starts a new run, and a run kept
    on the server is continued only under the same key (ui.lab_store compares its repr)."""
    return (*astuple(task), config)


def batch_notice(sc: Scenario, T: int, asked: int, B: int, adaptive: bool = False) -> str:
    """Why the batch is B and not the `asked` one: the memory one update would need (L layers: L times one's)."""
    need = wb.update_bytes(sc.cell, sc.hidden, T, asked) / 1e6 * (ESTIMATE_MEMORY if adaptive else 1.0) * sc.layers
    what = "one update that estimates K again" if adaptive else "one update"
    net = f"{sc.layers} stacked layers of {sc.cell.upper()}" if sc.layers > 1 else f"a {sc.cell.upper()}"
    return (f"Training with batch size **{B}**, not {asked}: {what} of {net} with H = {sc.hidden} "
            f"over T = {T} steps needs about {need:,.0f} MB at B = {asked}; the lab keeps an update under "
            f"{UPDATE_MEMORY / 1e6:.0f} MB and about {wb.seconds(UPDATE_WORK):.1g} s so the server stays responsive "
            "for everyone.")


@dataclass
class Lab(live.LiveRun):
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

    @property
    def over(self) -> bool:
        return bool(self.trainer.state.stopped)

    def step(self) -> bool:
        """One update while playing; at the end of the run (stopped, or MAX_UPDATES) none, and the run is kept."""
        if self.trainer.state.stopped or len(self.records) >= MAX_UPDATES:
            keep(self)
            return False
        t = time.perf_counter()
        self.records.append(self.trainer.step())
        self.last_update_s = time.perf_counter() - t
        return True

    def between(self) -> None:
        if time.perf_counter() - self.saved_at > lab_store.SAVE_EVERY_S:
            keep(self)

    def status(self) -> str:
        n = len(self.records)
        if not n:
            return "**Ready.** Press ▶ play, or ▶| step for one update."
        r = self.records[-1]
        rate = (n - self.base_n) / (time.perf_counter() - self.started) if self.playing and n > self.base_n else None
        state = "▶ training" if self.playing else "❚❚ paused"
        speed = f" · {rate:.0f} updates/s" if rate and rate >= 1 else ""
        if self.last_update_s > SLOW_UPDATE_S:
            speed = f" · {self.last_update_s:.1f} s per update ({self.size}: lower H, B or the length to go faster)"
        K = f" · K = {r.K}" if r.K is not None else ""
        return (f"**{state}** · update **{n}** · loss {r.loss:.4g} (baseline {r.baseline:.3g}) · "
                f"‖g‖ {r.grad_norm:.3g}{K}{speed}")


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


def lab_state(key: tuple, task, cfg: TrainConfig) -> Lab:
    """This session's run; on its first visit, the run the link's `run=` names (a reload), if it is still kept."""
    ss = st.session_state
    lab = ss.get("lab")
    run_id = url_state.meta(params.RUN)
    first = not ss.get("lab_reopened")                  # only a session's first visit reads the link's run
    ss["lab_reopened"] = True
    if lab is None and run_id and first:
        lab, note = reopen(run_id, key, task)
        ss["lab_note"] = note
        if lab is not None:
            ss["cfg_run"] = lab.run_id                 # continued under its own new id
    if lab is None or lab.key != key:
        lab = Lab(key, Trainer(task, cfg))
        ss["cfg_run"] = ""                             # nothing kept yet: a reload has nothing to find
    ss["lab"] = lab
    return lab


def controls(lab: Lab) -> None:
    """The run's buttons (ui.live.controls). ▶ play names the run in the address (a reload continues it); play,
    pause and step keep it on the server. A note on the link's run (reopened or not) is said above them."""
    ss = st.session_state

    def play():
        lab.started, lab.base_n = time.perf_counter(), len(lab.records)
        ss["cfg_run"] = lab.run_id
        keep(lab)

    def step():
        lab.records.append(lab.trainer.step())
        ss["cfg_run"] = lab.run_id
        keep(lab)

    if "lab_note" in ss:
        st.info(ss.pop("lab_note"), icon=":material/save:")
    live.controls("lab", lab, on_play=play, on_pause=lambda: keep(lab), on_step=step)


def corpus_choice(name: str, where=st):
    """(corpus, its id) for the text task: a built-in one, or the file uploaded (drawn in `where`); python-docs
    until a usable file comes, with a message saying why."""
    if name != "upload":
        return tasks.builtin_corpus(name), name
    with where:
        up = st.file_uploader("Your corpus: a UTF-8 text file (≤ 2 MB)", type=["txt", "md", "py", "csv"])
        if up is None:
            st.info("Upload a text file, or pick a built-in corpus; until then the lab uses python-docs.", icon=":material/description:")
            return tasks.builtin_corpus("python-docs"), "python-docs"
        try:
            return tasks.corpus_from_upload(up.getvalue(), up.name), f"upload:{up.name}:{up.size}"
        except tasks.CorpusError as e:
            st.error(plain(f"{e} The lab keeps using python-docs.", 600), icon=":material/description:")
            return tasks.builtin_corpus("python-docs"), "python-docs"


def trainer_from_file(data: bytes, name: str, task, config) -> tuple[Trainer, str]:
    """A fresh run from uploaded weights, and one sentence on what was loaded: a model .npz saved by this lab
    (explorer.persistence), or a PyTorch nn.RNN / nn.LSTM / nn.GRU state_dict as .npz or .safetensors (a fresh
    readout when it has none that fits the task). ValueError saying why not; nothing is ever unpickled."""
    arrays = read_weight_file(data, name)
    if CONFIG_KEY in arrays:
        model, extra = load_model(data)
        trainer = Trainer.from_model(task, config, model)
        done = f" after {extra['updates']} updates" if isinstance(extra.get("updates"), int) else ""
        layers = f", L = {model.num_layers}" if model.num_layers > 1 else ""
        return trainer, (f"Started from the model saved by this lab{done} ({model.cell.kind.upper()}{layers}, "
                         f"H = {model.hidden_size}).")
    trainer = Trainer.from_weights(task, config, recurrent_weights(arrays, activation=config.activation))
    return trainer, trainer.note + (" The lab's φ is used: a state_dict does not store nn.RNN's nonlinearity."
                                    if config.cell == "rnn" else "")


def start_from_file(lab: Lab, task, cfg: TrainConfig) -> None:
    """The uploader of saved weights: a usable file starts a new run from them (and the page again); a file that
    is not says why, once, while it stays there."""
    ss = st.session_state
    up = st.file_uploader("A model downloaded from this lab (.npz), or the weights of a PyTorch nn.RNN, nn.LSTM "
                          "or nn.GRU layer (its state_dict as .npz or .safetensors, ≤ 2 MB; a readout Linear "
                          "is used when it fits the task, else a fresh one is made). Training restarts from "
                          "those weights with the current settings.", type=["npz", "safetensors"],
                          key="lab_model_upload")
    if up is None:
        ss.pop("lab_model_from", None)             # no file, no message about an earlier one
    elif ss.get("lab_model_from", {}).get("file") != up.file_id:
        try:
            trainer, note = trainer_from_file(up.getvalue(), up.name, task, cfg)
        except ValueError as e:
            why = str(e).replace(f"“{up.name}” is", "it is", 1)       # the reader names the file too: once
            ss["lab_model_from"] = {"file": up.file_id, "key": lab.key, "ok": False,
                                    "text": f"“{up.name}” was not loaded — {why} The lab keeps its current run."}
        else:
            ss["lab"] = Lab(lab.key, trainer)
            ss["cfg_run"] = ""
            ss["lab_model_from"] = {"file": up.file_id, "key": lab.key, "ok": True, "text": f"“{up.name}”: {note}"}
            st.rerun()
    loaded = ss.get("lab_model_from")
    if loaded and not loaded["ok"]:
        st.error(plain(loaded["text"], 600), icon=":material/upload_file:")
    elif loaded and loaded["key"] == lab.key:
        st.caption(plain(loaded["text"], 600))


def history_csv(lab: Lab) -> str:
    """The run's history as CSV (one row per update: loss, baseline, ‖g‖ before/after clipping, ρ, σ₁ …)."""
    return training_figs.history(list(lab.records)).to_csv(index=False)


def trained_model_npz(lab: Lab, task_name: str) -> bytes:
    """The current weights as a model .npz (explorer.persistence), with the task and the number of updates."""
    return model_bytes(lab.trainer.model, {"task": task_name, "updates": len(lab.records)})
