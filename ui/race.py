"""The races: one Trainer per contender on the same task, with the same settings, advanced together as one
ui.live.LiveRun (Race).

- The architectures race (lesson 6): one contender per cell, RACE_CONFIG.
- The truncation race (the training lab): adaptive (δ) truncation against two fixed TBPTT(K, K) on the copy task,
  K_RACE_CONFIG; only the truncation differs."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
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
    ks: dict[str, list] = field(default_factory=dict)     # per update: (K in force, estimated then) — adaptive only
    playing: bool = False
    paused_word: str = "❚❚ paused"                         # the status line's word when not racing

    def __post_init__(self):
        for name in self.trainers:
            self.losses.setdefault(name, [])
            self.ks.setdefault(name, [])

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
        rec = self.trainers[name].step()
        self.losses[name].append(rec.loss)
        self.ks[name].append((rec.K, rec.K_estimated))
        return True

    def status(self) -> str:
        state = "✓ finished" if self.finished else ("▶ racing" if self.playing else self.paused_word)
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


# ---- the truncation race (the training lab) ---------------------------------------------------------------------

# Every contender's settings but its truncation and the sidebar's H and seed: the copy task's test setting
# (tests/test_training.py), where full BPTT learns within a few hundred updates and TBPTT shorter than the lag cannot.
# Small input weights: storing the symbols must be learned, which only a gradient reaching back to them can teach.
K_RACE_CONFIG = TrainConfig(cell="lstm", optimizer="adam", lr=0.02, clip="norm", clip_threshold=1.0, input_gain=0.01,
                            batch_size=32, snapshot_every=0, spectrum_every=0)
K_RACE_SYMBOLS, K_RACE_ALPHABET = 3, 4


def k_race_task(lag: int):
    """The truncation race's task: copy K_RACE_SYMBOLS symbols of K_RACE_ALPHABET across `lag` steps."""
    return tasks.CopyTask(lag=lag, n_symbols=K_RACE_SYMBOLS, alphabet=K_RACE_ALPHABET)


def k_race_configs(sc: Scenario, task, *, delta: float, adapt_every: int, ks) -> dict[str, TrainConfig]:
    """The contenders: "adaptive (δ = …)" and one "TBPTT(K, K)" per distinct K in ks, each K_RACE_CONFIG with the
    sidebar's H and seed and one batch size (the lab's budget at this H and T for an update that estimates K)."""
    base = replace(K_RACE_CONFIG, hidden_size=sc.hidden, seed=sc.seed,
                   batch_size=batch_size(K_RACE_CONFIG.cell, sc.hidden, task.input_size, task.T,
                                         K_RACE_CONFIG.batch_size, adaptive=True))
    out = {f"adaptive (δ = {delta:g})": replace(base, scheme="adaptive", delta=delta, adapt_every=adapt_every)}
    out.update({f"TBPTT({k}, {k})": replace(base, scheme="tbptt", k1=k, k2=k) for k in sorted(set(ks))})
    return out


def k_race_rules(cfg: TrainConfig = K_RACE_CONFIG) -> str:
    """The truncation race's settings in one sentence."""
    return (f"Every contender is an {cfg.cell.upper()} (the sidebar's H and seed, input weights × {cfg.input_gain:g}) "
            f"trained with {OPTIMIZER_NAMES[cfg.optimizer]} (learning rate {cfg.lr:g}), global-norm clipping at "
            f"{cfg.clip_threshold:g} and the same batches, for the same number of updates; only the truncation "
            f"differs. The curves are running means of {SMOOTH} updates.")


def k_race_state(sc: Scenario, lag: int, ks, budget: int, *, delta: float, adapt_every: int) -> Race:
    """This session's truncation race (st.session_state["krace"]): the same one while its task and contenders stay
    (a longer budget continues it), a new one otherwise."""
    task = k_race_task(lag)
    configs = k_race_configs(sc, task, delta=delta, adapt_every=adapt_every, ks=ks)
    key = ("copy", lag, *configs.values())
    race = st.session_state.get("krace")
    if race is None or race.key != key:
        race = Race(key, {name: Trainer(task, cfg) for name, cfg in configs.items()}, budget,
                    paused_word="race paused")          # not the lab's "❚❚ paused" above it
        st.session_state["krace"] = race
    race.budget = budget
    return race


def k_histories(race: Race) -> dict[str, pd.DataFrame]:
    """Each contender's K per update (columns step, K, K_estimated), for training_figs.k_over_updates: the K an
    adaptive contender's records say, a fixed TBPTT(K, K)'s own K."""
    out = {}
    for name, t in race.trainers.items():
        n = len(race.ks[name])
        if t.config.scheme == "adaptive":
            k, est = zip(*race.ks[name]) if n else ((), ())
        else:
            k, est = [t.config.k2] * n, [False] * n
        out[name] = pd.DataFrame({"step": np.arange(1, n + 1), "K": np.asarray(k, dtype=float),
                                  "K_estimated": np.asarray(est, dtype=bool)})
    return out

