"""Cached measurements for the cost lesson (explorer.cost). Timings vary from run to run, so each setting is
measured once and kept (global across sessions, bounded by max_entries): moving the budget slider times one
checkpointed run and one three-way comparison (plain, uniform, optimal) at most, never the sweeps. The weights do
not change the work, so timings are measured on TIMING_SEED's network whatever the sidebar's seed (a seed move
re-times nothing; the agreement table, whose numbers do depend on the weights, follows the seed). Large sizes get
fewer timed passes, so that opening the page at its sliders' maxima stays under ~5 s of server CPU."""
from __future__ import annotations

import streamlit as st

from explorer import cost
from explorer import optimal_checkpointing as ocp

TRADEOFF_T = cost.GRUSLYS_2016.T                 # the trade-off is drawn where the headline was measured
CURVE_BUDGETS = (64, 66, 70, 80, 100, 130, 180, 250, 350, 500, 700, 1001)     # 64 = min_budget(1000)
TIMING_SEED = 0
LARGE_H, LARGE_T, FEW = 128, 100, 2     # from these sizes on, FEW timed passes (median of 2) instead of REPEATS


def _repeats(large: bool) -> int:
    return FEW if large else cost.REPEATS


@st.cache_data(max_entries=16, show_spinner=False)
def t_sweep(H: int) -> list[cost.Measurement]:
    return cost.sweep("T", cost.T_SWEEP, fixed=H, seed=TIMING_SEED, repeats=_repeats(H >= LARGE_H))


@st.cache_data(max_entries=16, show_spinner=False)
def h_sweep(T: int) -> list[cost.Measurement]:
    """Each algorithm over its own H range (RTRL's stops at RTRL_MAX_H)."""
    return cost.sweep_H(T, seed=TIMING_SEED, repeats=_repeats(T >= LARGE_T))


@st.cache_data(max_entries=32, show_spinner=False)
def agreement(T: int, H: int, seed: int) -> list[cost.Agreement]:
    return cost.agreement(T, H, seed=seed)


@st.cache_data(max_entries=16, show_spinner=False)
def tradeoff_curve(H: int) -> cost.Tradeoff:
    return cost.checkpoint_tradeoff(TRADEOFF_T, H, CURVE_BUDGETS, seed=TIMING_SEED, repeats=_repeats(H >= LARGE_H))


@st.cache_data(max_entries=128, show_spinner=False)
def tradeoff_point(H: int, budget: int) -> cost.TradeoffPoint:
    """One budget: the curve's point when it has one, else timed on its own (with its own plain-BPTT reference,
    so it may sit a little off the curve: timings vary)."""
    for p in tradeoff_curve(H).points:
        if p.budget == budget:
            return p
    return cost.checkpoint_tradeoff(TRADEOFF_T, H, (budget,), seed=TIMING_SEED,
                                    repeats=_repeats(H >= LARGE_H)).points[0]


# ---- optimal checkpointing (explorer.optimal_checkpointing) ----------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def optimal_curve(T: int):
    """(m, C(T, m)) on a log grid of m, from the closed form."""
    return ocp.forward_steps_curve(T)


@st.cache_data(max_entries=64, show_spinner=False)
def schedule(T: int, m: int) -> list[ocp.Op]:
    return ocp.schedule(T, m)


@st.cache_data(max_entries=128, show_spinner=False)
def budget_comparison(H: int, budget: int) -> ocp.BudgetComparison:
    """Plain BPTT, the uniform scheme and the optimal policy at one budget, timed together (once per setting)."""
    return ocp.compare_at_budget(TRADEOFF_T, H, budget, seed=TIMING_SEED, repeats=_repeats(H >= LARGE_H))


@st.cache_data(max_entries=16, show_spinner=False)
def state_memory(H: int) -> list[ocp.StateMemory]:
    return ocp.state_memory(H)


@st.cache_data(max_entries=16, show_spinner=False)
def headline_check(H: int) -> ocp.HeadlineCheck:
    return ocp.headline_check(TRADEOFF_T, cost.GRUSLYS_2016.memory_saved, H)
