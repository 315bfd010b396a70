"""Embedded Reber grammar (Cleeremans et al. 1989; the classic LSTM long-dependency test, Hochreiter &
Schmidhuber 1997): strings B c <Reber string> c E with c ∈ {T, P}; the network predicts the next symbol.

Inside the Reber string every symbol after its B is a fair two-way choice (ln 2 nats at best); the only long
dependency is the second-to-last symbol, which repeats the c chosen at step 1. So, per string:
- floor (a perfect model):                ln 2 · (1 + number of inner choices)
- baseline (perfect grammar, no memory):  floor + ln 2 (it must guess the final c)
Both are exact per batch; `baseline` / `floor` report them per supervised step over a large seeded sample.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..validation import positive_int
from .base import Batch, one_hot

SYMBOLS = "BTPSXVE"
_EDGES = {1: (("T", 2), ("P", 3)), 2: (("S", 2), ("X", 4)), 3: (("T", 3), ("V", 5)),
          4: (("X", 3), ("S", 6)), 5: (("P", 4), ("V", 6))}


def reber_string(rng: np.random.Generator) -> str:
    """One (plain) Reber string: B, fair choices along the graph, E."""
    s, state = ["B"], 1
    while state != 6:
        sym, state = _EDGES[state][rng.integers(0, 2)]
        s.append(sym)
    s.append("E")
    return "".join(s)


def embedded_reber_string(rng: np.random.Generator, max_len: int = 60) -> str:
    """B c <Reber string> c E, redrawn until it has at most max_len symbols."""
    while True:
        c = "TP"[rng.integers(0, 2)]
        s = "B" + c + reber_string(rng) + c + "E"
        if len(s) <= max_len:
            return s


@dataclass(frozen=True)
class ReberTask:
    max_len: int = 30
    name = "reber"
    loss = "cross_entropy"
    input_size = len(SYMBOLS)
    output_size = len(SYMBOLS)

    def __post_init__(self):
        positive_int("max_len", self.max_len, maximum=1000)
        if self.max_len < 9:
            raise ValueError(f"max_len must be ≥ 9 (the shortest embedded Reber string), got {self.max_len}")

    def strings(self, B: int, rng: np.random.Generator) -> list[str]:
        return [embedded_reber_string(rng, self.max_len) for _ in range(B)]

    def batch(self, B: int, rng: np.random.Generator) -> Batch:
        strs = self.strings(B, rng)
        T = max(len(s) for s in strs) - 1
        idx = np.zeros((T + 1, B), dtype=np.int64)
        mask = np.zeros((T, B))
        for b, s in enumerate(strs):
            idx[: len(s), b] = [SYMBOLS.index(ch) for ch in s]
            mask[: len(s) - 1, b] = 1.0
        return Batch(one_hot(idx[:-1], len(SYMBOLS)), idx[1:], mask, "cross_entropy")

    @staticmethod
    def floor_and_baseline(strs: list[str]) -> tuple[float, float]:
        """(floor, no-memory baseline) in nats per predicted symbol for these strings."""
        steps = sum(len(s) - 1 for s in strs)
        choices = sum(1 + (len(s) - 6) for s in strs)      # the first c, and every inner symbol after inner B but E
        floor = np.log(2.0) * choices
        return floor / steps, (floor + np.log(2.0) * len(strs)) / steps

    @property
    def floor(self) -> float:
        return _reber_stats(self.max_len)[0]

    @property
    def baseline(self) -> float:
        return _reber_stats(self.max_len)[1]

    def describe(self) -> str:
        return (f"embedded Reber grammar (≤ {self.max_len} symbols): floor {self.floor:.3f}, "
                f"no-memory baseline {self.baseline:.3f} nats/symbol")


@lru_cache(maxsize=32)
def _reber_stats(max_len: int) -> tuple[float, float]:
    t = ReberTask(max_len)
    return ReberTask.floor_and_baseline(t.strings(20_000, np.random.default_rng(0)))
