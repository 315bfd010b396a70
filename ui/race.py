"""The architectures race: one Trainer per contender on the same task, advanced together in a live fragment."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from explorer.training import Trainer

from .training_lab import update_slot

UPDATE_BUDGET_S = 0.15        # training time per live redraw (a pause lands between two updates)


@dataclass
class Race:
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
    def baseline(self) -> float:
        return next(iter(self.trainers.values())).baseline


def race_some(race: Race, status=None) -> None:
    """Advance the contender that is furthest behind, one update at a time, for about UPDATE_BUDGET_S seconds
    (so all of them move together; slow cells get the same number of updates, not the same time)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < UPDATE_BUDGET_S:
        live = [n for n, t in race.trainers.items() if len(race.losses[n]) < race.budget and not t.state.stopped]
        if not live:
            race.playing = False
            break
        name = min(live, key=lambda n: len(race.losses[n]))
        with update_slot(0.05) as got:
            if not got:                            # other sessions' updates hold the cores: try on the next tick
                break
            race.losses[name].append(race.trainers[name].step().loss)
        if status is not None:
            status.markdown(race_status(race))


def race_status(race: Race) -> str:
    state = "🏁 finished" if race.finished else ("▶ racing" if race.playing else "❚❚ paused")
    return f"**{state}** · update **{race.done}** of {race.budget} for every contender"


def race_summary(race: Race, tail: int = 20) -> str:
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
