"""Cached engine calls and the live race of the online-learning lesson (pages/9_Online_learning.py). Each cached
function is one engine call after its sizing, so a chart's numbers come back from a notebook with the same call:

    chart key       ui call                       engine call                                figure builder
    online_cos      cosines(sc, leak, seeds, k)   explorer.online.cosine_spread over          online_figs.cosine_over_time
                                                  problem(sc, seeds, …)'s Scenario.build()s
    online_cost     step_times(k)                 explorer.online.cost_sweep(COST_NS, k=k)    online_figs.cost_vs_n
    online_race     OnlineRace (live)             explorer.online.OnlineTrainer.step          online_figs.race_curves

Sizes: the cosine chart runs RTRL (n³·m work per step) for every seed, so H is capped at MAX_H and T is cut to what
fits COSINE_WORK multiply-adds (explorer.online.steps_within); the page says when. Timings vary from run to run, so
the cost sweep is measured once per k and kept for everyone (the weights do not change the work)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import streamlit as st

from explorer import online as ol
from explorer import tasks
from explorer import work_budget as wb
from explorer.scenario import Scenario

from . import live

COSINE_WORK = 3e9            # multiply-adds of the cosine chart (~0.3 s of arithmetic here, plus call overhead)
MAX_H = 64                   # RTRL for the exact gradient: 64³·68 ≈ 1.8e7 multiply-adds per step and seed
COST_NS = (8, 16, 32, 64, 128)
RACE_CONFIG = ol.OnlineConfig(hidden_size=16, scale=0.8, input_gain=0.3, optimizer="adam", lr=0.01,
                              clip_threshold=1.0, batch_size=16)
RACE_RULES = ol.RULES + (ol.READOUT,)
RACE_SYMBOLS, RACE_ALPHABET = 1, 4
SMOOTH = 20                  # the race's running mean, in updates


def problem(sc: Scenario, seeds: int, k: int) -> tuple[Scenario, list[str]]:
    """The Scenario the cosine chart runs (the vanilla RNN, H ≤ MAX_H, a loss at every step, T within
    COSINE_WORK for `seeds` sequences), and what was changed from the sidebar's, in words."""
    said, kw = [], {}
    if sc.cell != "rnn":
        kw["cell"] = "rnn"                           # (every other cell's activation is one the RNN allows)
        said.append(f"the vanilla RNN (the rules are written for it), not the sidebar's {sc.cell.upper()}")
    if sc.layers > 1:
        kw["layers"] = 1
        said.append(f"one recurrent layer, not the sidebar's {sc.layers} (the online rules are written for one)")
    if sc.hidden > MAX_H:
        kw["hidden"] = MAX_H
        said.append(f"H = {MAX_H}, not {sc.hidden} (the exact gradient is RTRL: H³ per step)")
    if sc.target == "last_squared":
        kw["target"] = "every_squared"
        said.append("a squared-error loss at every step (a loss at the last step only has one step to compare)")
    H = kw.get("hidden", sc.hidden)
    T = ol.steps_within(COSINE_WORK, H, 3, sc.T, seeds, k)
    if T < sc.T:
        kw["T"] = T
        said.append(f"the first {T} of the {sc.T} steps (RTRL for {seeds} seeds within {COSINE_WORK:.0e} "
                    f"multiply-adds, about {wb.seconds(COSINE_WORK):.1g} s)")
    return replace(sc, **kw), said


@st.cache_data(max_entries=64, max_size="64MB", show_spinner=False)
def cosines(sc: Scenario, leak: float, seeds: int, k: int) -> dict[str, np.ndarray]:
    """{rule: (seeds, T) per-step cosines}: seed i is the network and sequence of the Scenario with seed
    sc.seed + i (mod 10 000), and the rules' random signs of seed i."""
    run, _ = problem(sc, seeds, k)
    problems = []
    for i in range(seeds):
        model, X, y, mask, loss = replace(run, seed=(run.seed + i) % 10_000).build()
        problems.append((model, X, y, mask, loss, i))
    return ol.cosine_spread(problems, leak=leak, k=k)


@st.cache_data(max_entries=8, show_spinner=False)
def step_times(k: int) -> list[ol.StepTime]:
    return ol.cost_sweep(COST_NS, k=k)


# ---- the race ----------------------------------------------------------------------------------------------------

def race_task(lag: int) -> tasks.CopyTask:
    return tasks.CopyTask(lag=lag, n_symbols=RACE_SYMBOLS, alphabet=RACE_ALPHABET)


def race_rules_text(cfg: ol.OnlineConfig = RACE_CONFIG) -> str:
    """The race's settings in one sentence (read from RACE_CONFIG, not typed twice)."""
    return (f"Every rule trains the same vanilla tanh RNN (H = {cfg.hidden_size}, W_hh orthogonal at ρ = {cfg.scale:g}, "
            f"input weights × {cfg.input_gain:g} so that storing a symbol must be learned) from the same initial "
            f"weights on the same batches of {cfg.batch_size} sequences, with Adam (learning rate {cfg.lr:g}) and "
            f"global-norm clipping at {cfg.clip_threshold:g}. Each update runs a batch forward once while the rule "
            "accumulates its per-step estimates, then applies their sum: the weights are fixed within a sequence. "
            f"The curves are running means of {SMOOTH} updates; “readout only” trains W_hy and b_y alone, a floor.")


@dataclass
class OnlineRace(live.LiveRun):
    key: tuple
    trainers: dict[str, ol.OnlineTrainer]
    budget: int
    losses: dict[str, list] = field(default_factory=dict)
    playing: bool = False

    def __post_init__(self):
        for r in self.trainers:
            self.losses.setdefault(r, [])

    @property
    def done(self) -> int:
        return min(len(v) for v in self.losses.values())

    @property
    def finished(self) -> bool:
        return all(len(self.losses[r]) >= self.budget or t.stopped for r, t in self.trainers.items())

    @property
    def over(self) -> bool:
        return self.finished

    @property
    def baseline(self) -> float:
        return float(next(iter(self.trainers.values())).task.baseline)

    def step(self) -> bool:
        """One update of the rule furthest behind (all move together: the same number of updates, not time)."""
        left = [r for r, t in self.trainers.items() if len(self.losses[r]) < self.budget and not t.stopped]
        if not left:
            return False
        r = min(left, key=lambda r: len(self.losses[r]))
        self.losses[r].append(self.trainers[r].step())
        return True

    def status(self) -> str:
        state = "✓ finished" if self.finished else ("▶ racing" if self.playing else "❚❚ paused")
        return f"**{state}** · update **{self.done}** of {self.budget} for every rule"


def race_state(lag: int, budget: int, leak: float, k: int, seed: int) -> OnlineRace:
    """This session's race: the same one while its task and configuration stay (a longer budget continues it)."""
    cfg = replace(RACE_CONFIG, leak=leak, k=k, seed=seed)
    key = (lag, cfg)
    race = st.session_state.get("online_race")
    if race is None or race.key != key:
        task = race_task(lag)
        race = OnlineRace(key, {r: ol.OnlineTrainer(task, r, cfg) for r in RACE_RULES}, budget)
        st.session_state["online_race"] = race
    race.budget = budget
    return race
