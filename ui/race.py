"""The architectures race: one Trainer per contender on the same task, with the same settings (RACE_CONFIG), advanced
together as one ui.live.LiveRun."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import streamlit as st

from explorer import tasks
from explorer.architectures import contenders, lag_profiles
from explorer.scenario import Scenario
from explorer.training import TrainConfig, Trainer

from . import compute, live
from .training_lab import batch_size

# Every contender's settings but its cell and the sidebar's H and seed; the batch is the largest one an update of
# every contender fits the lab's budget with, up to this one's (batch_size).
RACE_CONFIG = TrainConfig(optimizer="adam", lr=0.01, clip="norm", clip_threshold=1.0, scheme="full",
                          batch_size=32, snapshot_every=0, spectrum_every=0)
SMOOTH = 20                   # the loss curves' running mean, and the summary's tail, in updates
OPTIMIZER_NAMES = {"adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad", "momentum": "SGD with momentum",
                   "sgd": "plain SGD"}


def race_rules(cfg: TrainConfig = RACE_CONFIG) -> str:
    """The race's settings in one sentence."""
    clip = {"off": "no clipping", "norm": f"global-norm clipping at {cfg.clip_threshold:g}",
            "value": f"clipping of each gradient component at ±{cfg.clip_threshold:g}"}[cfg.clip]
    return (f"Every contender is trained with {OPTIMIZER_NAMES[cfg.optimizer]} (learning rate {cfg.lr:g}), {clip}, "
            f"the same batches and {cfg.label()}, for the same number of updates; the curves are running means of "
            f"{SMOOTH} updates.")


def race_task(name: str, length: int):
    """The race's task: the adding problem over `length` steps, or the copy task with a lag of `length`."""
    return tasks.AddingTask(T=length) if name == "adding" else tasks.CopyTask(lag=length)


def race_configs(sc: Scenario, task) -> dict[str, TrainConfig]:
    """Each contender's TrainConfig: RACE_CONFIG with its cell, the sidebar's H and seed, and one batch size for
    all (the largest every contender's update fits the lab's memory and work budget with)."""
    cons = contenders(sc.scale)
    B = min(batch_size(c.cell, sc.hidden, task.input_size, task.T, RACE_CONFIG.batch_size) for c in cons)
    return {c.name: replace(RACE_CONFIG, hidden_size=sc.hidden, seed=sc.seed, batch_size=B, **c.train_kwargs())
            for c in cons}


@dataclass
class Race(live.LiveRun):
    key: tuple
    trainers: dict[str, Trainer]
    budget: int                                            # updates per contender
    losses: dict[str, list] = field(default_factory=dict)
    playing: bool = False

    def __post_init__(self):
        for name in self.trainers:
            self.losses.setdefault(name, [])

    @property
    def done(self) -> int:
        return min(len(v) for v in self.losses.values())

    @property
    def finished(self) -> bool:
        return all(len(self.losses[n]) >= self.budget or t.state.stopped for n, t in self.trainers.items())

    @property
    def over(self) -> bool:
        return self.finished

    @property
    def baseline(self) -> float:
        return next(iter(self.trainers.values())).baseline

    @property
    def task(self):
        return next(iter(self.trainers.values())).task

    @property
    def batch_size(self) -> int:
        return next(iter(self.trainers.values())).config.batch_size

    def step(self) -> bool:
        """One update of the contender furthest behind (so all of them move together: slow cells get the same
        number of updates, not the same time); none when every one is at the budget or stopped."""
        live_ = [n for n, t in self.trainers.items() if len(self.losses[n]) < self.budget and not t.state.stopped]
        if not live_:
            return False
        name = min(live_, key=lambda n: len(self.losses[n]))
        self.losses[name].append(self.trainers[name].step().loss)
        return True

    def status(self) -> str:
        state = "✓ finished" if self.finished else ("▶ racing" if self.playing else "❚❚ paused")
        return f"**{state}** · update **{self.done}** of {self.budget} for every contender"


def race_state(sc: Scenario, task_name: str, length: int, budget: int) -> Race:
    """This session's race: the same one while its task and its contenders' configs stay (a longer budget
    continues it), a new one otherwise."""
    task = race_task(task_name, length)
    configs = race_configs(sc, task)
    key = (task_name, length, *configs.values())
    race = st.session_state.get("race")
    if race is None or race.key != key:
        race = Race(key, {name: Trainer(task, cfg) for name, cfg in configs.items()}, budget)
        st.session_state["race"] = race
    race.budget = budget
    return race


def race_some(race: Race, status=None) -> None:
    """One time box of the race (what its fragment runs on every tick while it plays)."""
    live.advance_for(race, status=status)


def race_summary(race: Race, tail: int = SMOOTH) -> str:
    """Who won, then one entry per contender (best first): the mean loss of its last `tail` updates as a fraction
    of the baseline."""
    scores, parts = {}, []
    for name, t in race.trainers.items():
        v = race.losses[name]
        if t.state.stopped:
            parts.append(f"**{name}** stopped (non-finite) at update {len(v)}")
        elif v:
            scores[name] = float(np.mean(v[-tail:]))
    ranked = sorted(scores.items(), key=lambda kv: kv[1])
    parts = [f"**{n}** {m:.3g} ({100 * m / race.baseline:.0f}% of the baseline)" for n, m in ranked] + parts
    if not ranked:
        return " · ".join(parts)
    best, m = ranked[0]
    head = (f"After {race.done} updates, **{best}** leads" + (" and has solved the long-range part"
            if m < 0.2 * race.baseline else "") + ". ")
    return head + " · ".join(parts)


def trained_profiles(race: Race, H: int, seed: int):
    """How much gradient survives each lag in the contenders as trained so far, on one sequence of the race task;
    None when that is over the architectures chart's work budget (ui.compute.architectures_steps)."""
    X = race.task.batch(1, np.random.default_rng(seed)).X
    if compute.architectures_steps(X.shape[0], H) < X.shape[0]:
        return None
    return lag_profiles({n: t.model for n, t in race.trainers.items()}, X)
