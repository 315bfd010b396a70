"""Class questions for predict, then reveal: each one is built on a preset (its lesson and settings), asks for a
number or a choice, and computes its true answer with the engine from that preset's settings, the same call the
lesson's chart makes (ui.compute), so the revealed value is the one the chart shows. Nothing is typed in.

A question's answer function gets the preset's Scenario (the lesson's own defaults, then the preset's values).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from explorer.architectures import contenders
from explorer.figures.summaries import num
from explorer.scenario import Scenario
from explorer.truncation import TBPTT

from . import compute
from .page_registry import BY_PATH
from .presets import BY_SLUG, Preset


@dataclass(frozen=True)
class ClassQuestion:
    slug: str
    preset: str                        # a preset's slug: the page and settings the question opens on
    prompt: str
    kind: str                          # "number" | "choice"
    answer: Callable[[Scenario], float | str]
    options: tuple = ()                # choice questions
    lo: float | None = None            # number questions: the range a prediction may take
    hi: float | None = None
    log: bool = False                  # a number spanning decades: predictions and the histogram on a log scale
    unit: str = ""                     # e.g. "steps", "×"
    explain: str = ""                  # one sentence after the reveal: where the chart shows it
    latex: str = ""                    # the quantity asked, in the lesson's symbols (shown with the question)

    @property
    def on(self) -> Preset:
        return BY_SLUG[self.preset]

    def scenario(self) -> Scenario:
        p = self.on
        return Scenario.from_settings({**dict(BY_PATH[p.page].defaults), **p.params})

    def true_answer(self) -> float | str:
        v = self.answer(self.scenario())
        return v if isinstance(v, str) else float(v)


def _shrink(sc: Scenario) -> float:
    """How many times smaller ‖δ_0‖ is than ‖δ_(T−1)‖."""
    d = compute.record(sc).delta_norms
    return float(d[-1] / d[0])


def _growth(sc: Scenario) -> float:
    """How many times larger ‖δ_0‖ is than ‖δ_(T−1)‖."""
    d = compute.record(sc).delta_norms
    return float(d[0] / d[-1])


def _lag_below(level: float) -> Callable[[Scenario], float]:
    def first(sc: Scenario) -> float:
        jp, _ = compute.jacobians(sc)
        hit = np.flatnonzero(jp.norm < level)
        return float(jp.lags[hit[0]]) if hit.size else float(jp.lags[-1])
    return first


def _k2_within(rel: float) -> Callable[[Scenario], float]:
    def first(sc: Scenario) -> float:
        k2s, _, errors = compute.bias_sweep(sc)
        hit = np.flatnonzero(errors < rel)
        return float(k2s[hit[0]]) if hit.size else float(k2s[-1])
    return first


def _tbptt_links_lag(sc: Scenario) -> str:
    """Whether any loss's gradient under the preset's TBPTT reaches an input `size` steps before it: the copy task
    needs exactly that link (the lab's task, T = lag + 2 · symbols)."""
    lag = BY_SLUG["tbptt-fails-copy"].params["size"]
    T = 4 * lag
    M = TBPTT(sc.k1, sc.k2).mask(T)
    return "yes" if any(M[t, t - lag] > 0 for t in range(lag, T)) else "no"


def _best_cell(sc: Scenario) -> str:
    ranked = compute.architectures(sc).at_longest_lag()
    return max(ranked, key=ranked.get)


QUESTIONS = (
    ClassQuestion("fade-20", "backward-pass",
                  "A tanh RNN with ρ = 0.9 and one loss, at the last of 20 steps: how many times smaller is ‖δ_0‖ "
                  "than ‖δ_19‖?", "number", _shrink, lo=1.0, hi=1e12, log=True, unit="×",
                  explain="Read ‖δ_t‖ at t = 19 and t = 0 on the live graph's colours or in its summary.",
                  latex=r"\|\delta_{19}\| \,/\, \|\delta_0\|"),
    ClassQuestion("explode-100", "exploding",
                  "A ReLU RNN with ρ = 1.5 and a loss at every step: how many times larger is ‖δ_0‖ than ‖δ_99‖?",
                  "number", _growth, lo=1.0, hi=1e30, log=True, unit="×",
                  explain="The ‖δ_t‖ chart rises towards t = 0; its summary gives both ends.",
                  latex=r"\|\delta_0\| \,/\, \|\delta_{99}\|"),
    ClassQuestion("lag-1e-3", "vanishing",
                  "tanh, ρ = 0.9: at which lag ℓ will ‖∂h_t/∂h_(t−ℓ)‖ first fall below 1e-3?", "number",
                  _lag_below(1e-3), lo=0, hi=100, unit="steps",
                  explain="Follow the blue line of the lag chart down to 10⁻³.",
                  latex=r"\min\,\{\ell : \|\partial h_t / \partial h_{t-\ell}\| < 10^{-3}\}"),
    ClassQuestion("k2-1pct", "tbptt-bias",
                  "TBPTT(5, k2) at ρ = 1: from which k2 on is the truncated gradient within 1 % of full BPTT's?",
                  "number", _k2_within(0.01), lo=5, hi=100, unit="steps",
                  explain="The dashed relative-error line of the bias chart crosses 1 % there (of the k2 it draws).",
                  latex=r"\min\,\{k_2 : \|\hat g_{k_2} - g\| \,/\, \|g\| \le 0.01\}"),
    ClassQuestion("copy-tbptt", "tbptt-fails-copy",
                  "An LSTM trained with TBPTT(10, 10) on the copy task with a lag of 15: will it learn to copy?",
                  "choice", _tbptt_links_lag, options=("yes", "no"),
                  explain="No backward pass reaches 15 steps back, so no gradient links an output to its symbol: "
                          "press ▶ play and watch the loss stay on the baseline.",
                  latex=r"\text{TBPTT}(k_1 = 10,\ k_2 = 10),\qquad y_t = x_{t-15}"),
    ClassQuestion("survives-100", "lstm-alive",
                  "At initialisation, whose gradient survives a lag of 100 steps best (largest ‖∂h_t/∂h_(t−100)‖)?",
                  "choice", _best_cell, options=tuple(c.name for c in contenders()),
                  explain="The first chart of the architectures page: the highest line at lag 100.",
                  latex=r"\arg\max_{\text{cell}}\ \|\partial h_t / \partial h_{t-100}\|"),
)
BY_SLUG_Q = {q.slug: q for q in QUESTIONS}


def answer_text(q: ClassQuestion, v) -> str:
    """A prediction or the true value as the page writes it."""
    if q.kind == "choice":
        return str(v)
    s = num(v)                                  # as the charts' sentences write numbers ("1000", not "1e+03")
    return f"{s} {q.unit}".strip() if q.unit != "×" else f"{s}×"


def same_scenario(q: ClassQuestion, sc: Scenario) -> bool:
    """Whether the lesson shows the question's settings (a student who moved a knob sees another network)."""
    return replace(sc) == q.scenario()
