"""Engine calls the lessons share, cached on the (hashable) Scenario: 30 students on the same settings compute
once. Every cache is bounded by entries and by bytes (max_size counts the pickled result), so a long class does
not grow the server's memory; every computation a request can trigger is sized to a work budget first (the
budgets below are the app's policy; the arithmetic is explorer.work_budget's), and the page says what it left out.
Each cached function below is one engine call (after its sizing), so every chart's numbers can be reproduced from
a notebook with the same call on the same `Scenario(...)` (`sc.build()`, `sc.data()`, `sc.model(scale=…)`).

Chart index: chart key (the `key=` of the page's `chart(...)`) → ui call (this module unless named; cc =
ui.cost_compute) → engine call (ex = `import explorer as ex`) → figure builder (explorer.figures.…)
  pages/1_Unrolled_graph.py
    unrolled        record(sc)            ex.bptt under sc.truncation()          unrolled.unrolled_graph
    stacked_grid    record(sc)            … → explorer.depth_paths               unrolled.stacked_graph
                                          .layer_step_norms (L > 1)
  pages/2_Gradient_flow.py
    layer_time      record(sc)            ex.bptt → .delta_norms_by_layer        depth_figs.layer_time_heatmap
    layer_lags      last_loss_record(sc)  ex.bptt (mask: last step) →            depth_figs.layer_lag_lines
                                          explorer.depth_paths.lag_by_layer
    delta_norms     record(sc)            ex.bptt → .delta_norms                 gradient_flow.delta_norms
    delta_heatmap   record(sc)            ex.bptt → .delta_h                     gradient_flow.delta_heatmap
    g_map           all_losses(sc)        ex.all_losses_backward → .G            gradient_flow.contribution_map
    step_terms      record(sc)            ex.bptt → per-step ∂L/∂W_hh terms      gradient_flow.step_terms
    connectivity    all_losses(sc)        … → .connectivity[-1]; over budget     gradient_flow.connectivity
                                          the page calls ex.loss_connectivity
  pages/3_Vanishing_and_exploding.py
    eigen           jacobians(sc)[1]      ex.weight_spectrum                     vanishing.eigen_plane
    singular        jacobians(sc)[1]      ex.weight_spectrum                     vanishing.singular_values
    jacobian_norms  jacobians(sc)         ex.jacobian_products, weight_spectrum  vanishing.jacobian_norms
    phase           phase(sc) → _phase    ex.phase_map                           vanishing.phase_map
    cliff           cliff_surface(),      explorer.cliff.surface, descent        vanishing.cliff
                    cliff_paths(…)
  pages/4_Truncation.py
    cut_graph       record(sc)            ex.bptt under sc.truncation()          unrolled.unrolled_graph
    g_mask          all_losses(sc)        ex.all_losses_backward → .G            gradient_flow.contribution_map
    bias            bias_sweep(sc)        ex.tbptt_bias_sweep                    truncation_figs.bias_vs_k2
    randomized      randomized_draws(sc)  ex.randomized_error_curve              truncation_figs.randomized_spread
    adaptive_phi    adaptive_truncation(  ex.adaptive_truncation → .phi,         adaptive_figs.phi_chart
                    sc, delta)            .fitted, .tau, .K
    adaptive_bound  adaptive_truncation(  … → .relative_bound, .bias_last,       adaptive_figs.bound_chart
                    sc, delta)            .bias_trace
    adaptive_cut_graph  record(sk)        ex.bptt under TBPTT(K, K), sk = sc with   unrolled.unrolled_graph
                                          layers=1, k1 = k2 = the chosen K
    adaptive_g_mask  all_losses(sk)       ex.all_losses_backward → .G, mask of sk  gradient_flow.contribution_map
  pages/5_Training_lab.py (a live run: not cached here)
    lab_loss        ui.training_lab.Lab   explorer.training.Trainer.step         training_figs.loss_curve
    lab_grad                              → StepRecord, tabled by                training_figs.grad_norms
    lab_delta                             training_figs.history                  training_figs.delta_over_training
    lab_spec                                                                     training_figs.spectrum_over_training
    lab_k           (adaptive (δ) runs)   StepRecord's K, tabled by history      training_figs.k_over_updates
    krace_loss      ui.race.k_race_state  explorer.training.Trainer.step         architecture_figs.race_curves
    krace_k         (live)                … → each contender's K                 training_figs.k_over_updates
  pages/6_Architectures.py
    arch_lag        architectures(sc)     explorer.architectures.compare         architecture_figs.lag_profiles
    arch_cec        architectures(sc)     compare → .cell_state, .carousel       architecture_figs.cell_state_path
    gates_LSTM      architectures(sc)     compare → .gates                       architecture_figs.gate_activations
    gates_GRU       architectures(sc)     compare → .gates                       architecture_figs.gate_activations
    race            ui.race.Race (live)   explorer.training.Trainer.step         architecture_figs.race_curves
    race_lag        architectures_steps   explorer.architectures.lag_profiles    architecture_figs.lag_profiles
                    (ui.race.trained_     (ui.race.trained_profiles calls it on
                    profiles' guard)      the race's trained models)
    bidir           two_ways(sc, at)      explorer.architectures.two_ways        architecture_figs.two_ways
    same_budget     stacked_same_budget   explorer.architectures.same_budget     depth_figs.same_budget_lines
                    (sc)                  (→ ex.loss_connectivity per network)
  pages/7_Cost_of_a_gradient.py (ui.cost_compute)
    time_T          cc.t_sweep(H)         explorer.cost.sweep                    cost_figs.time_vs_T
    memory_T        cc.t_sweep(H)         explorer.cost.sweep                    cost_figs.memory_vs_T
    time_H          cc.h_sweep(T)         explorer.cost.sweep_H                  cost_figs.time_vs_H
    tradeoff        cc.tradeoff_curve,    explorer.cost.checkpoint_tradeoff      cost_figs.tradeoff
                    cc.tradeoff_point
    optimal_curve   cc.optimal_curve(T)   explorer.optimal_checkpointing         cost_figs.optimal_memory_curve
                                          .forward_steps_curve
    optimal_schedule  cc.schedule(T, m)   explorer.optimal_checkpointing         cost_figs.schedule_chart
                                          .schedule
    state_bytes     cc.state_memory(H)    explorer.optimal_checkpointing         cost_figs.state_bytes_chart
                                          .state_memory
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

import explorer as ex
from explorer import work_budget as wb
from explorer.architectures import compare, contenders, same_budget
from explorer.architectures import two_ways as architectures_two_ways
from explorer.cliff import descent, surface
from explorer.scenario import Scenario

WORK = 2e9             # multiply-adds one O(T²) chart may cost (~1 s here)
JACOBIAN_WORK = 1.5e10  # the long-range products and their SVDs (lesson 3): ~1.5 s here
PHASE_WORK = 1.2e10    # the phase map's products over all its scales: ~1.5 s here
BIG = "160MB"           # byte budget of each cache that holds whole traces or records (3–14 heavy ones)


def quadratic_cost(sc: Scenario) -> float:
    """Work of one all-losses pass: T² steps of an (S × G·H) product, in each of the L layers."""
    return sc.layers * wb.quadratic_cost(sc.cell, sc.hidden, sc.T)


def quadratic_ok(sc: Scenario) -> bool:
    return quadratic_cost(sc) <= WORK


@st.cache_data(max_entries=64, max_size=BIG, show_spinner=False)
def record(sc: Scenario, full: bool = False):
    """BPTT under the scenario's truncation scheme, or with full=True under full BPTT whatever the scheme."""
    if full:
        sc = replace(sc, scheme="full")
    model, X, y, mask, loss = sc.build()
    return ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation())


@st.cache_data(max_entries=32, max_size=BIG, show_spinner=False)
def last_loss_record(sc: Scenario):
    """Full BPTT of the scenario's network and sequence with its loss at the last step only (mask 0 before T − 1,
    the same loss function): the record whose δ_t^{(l)} is measured from ℓ_{T−1}, for the lag-by-layer chart."""
    model, X, y, mask, loss = sc.build()
    last = np.zeros_like(mask)
    last[-1] = 1.0
    return ex.bptt(model, X, y, loss=loss, mask=last)


@st.cache_data(max_entries=32, max_size=BIG, show_spinner=False)
def all_losses(sc: Scenario):
    """G[t, k] and connectivity, or None when the O(T²) pass is over budget (the page says so)."""
    return ex.all_losses_backward(record(sc).trace) if quadratic_ok(sc) else None


def svd_count(T: int, H: int) -> int:
    """How many lags of a lag profile get an SVD: all T + 1 while that stays cheap, else about 2·10⁵ / H² (≥ 24)."""
    return int(np.clip(2e5 / H ** 2, 24, T + 1))


def lag_budget(sc: Scenario) -> np.ndarray | None:
    """Which lags get an SVD (None: all of them), spread evenly over 0 … T."""
    n = svd_count(sc.T, sc.hidden)
    return None if n >= sc.T + 1 else ex.even_lags(sc.T, n)


def jacobian_lags(sc: Scenario) -> int:
    """The longest lag lesson 3's products reach within JACOBIAN_WORK (T when everything fits)."""
    return wb.jacobian_lags(sc.cell, sc.hidden, sc.T, JACOBIAN_WORK, svd_count(sc.T, sc.hidden))


@st.cache_data(max_entries=64, max_size="64MB", show_spinner=False)
def jacobians(sc: Scenario):
    """‖∂h_t/∂h_(t−ℓ)‖ with its singular values for lags 0 … jacobian_lags(sc) (svd_count of them, evenly spread),
    and W_hh's spectrum."""
    tr = record(sc, full=True).trace
    lags = ex.even_lags(jacobian_lags(sc), svd_count(sc.T, sc.hidden))
    return ex.jacobian_products(tr, lags=lags), ex.weight_spectrum(tr.model)


PHASE_T = 200          # the phase map uses the first 200 steps at most
PHASE_SCALES = (10, 28)  # it sweeps this many W_hh scales (fewer when H is large)
PHASE_LAGS = (8, 60)   # and takes ‖∂h_t/∂h_(t−ℓ)‖ (one SVD each) at this many lags per scale
PHASE_MIN_T = 10       # below this many steps the map says nothing: it is skipped
PHASE_RANGE = (0.1, 3.0)  # the W_hh scales it sweeps (ρ or σ₁, as the sidebar's scale kind)


def phase_size(sc: Scenario) -> tuple[int, int, int]:
    """(scales, steps, lags) of the phase map within PHASE_WORK: per scale, `steps` step Jacobians and products
    and one SVD per lag; at most half the budget goes to SVDs. steps < PHASE_MIN_T means skipped."""
    return wb.phase_size(sc.cell, sc.hidden, min(sc.T, PHASE_T), PHASE_WORK, PHASE_SCALES, PHASE_LAGS)


def phase(sc: Scenario):
    """The phase map does not depend on the current scale (it sweeps all of them) nor on the truncation: key the
    cache without them, so moving the scale slider reuses it. None when it does not fit its budget."""
    if phase_size(sc)[1] < PHASE_MIN_T:
        return None
    return _phase(replace(sc, scale=1.0, scheme="full", k1=1, k2=1, keep_prob=1.0))


@st.cache_data(max_entries=32, max_size="16MB", show_spinner=False)
def _phase(sc: Scenario):
    """log10 ‖∂h_t/∂h_(t−ℓ)‖ over W_hh scales 0.1 … 3 (same seed, same inputs), over the first phase_size(sc)[1]
    steps (≤ 200): fewer scales and steps when H is large, so it stays around a second at worst."""
    n_scales, T, n_lags = phase_size(sc)
    sc = replace(sc, T=T)
    return ex.phase_map(sc.model, *sc.data(), scales=np.round(np.linspace(*PHASE_RANGE, n_scales), 3),
                        lags=ex.even_lags(T, n_lags), loss=sc.loss)


@st.cache_data(max_entries=4, show_spinner=False)
def cliff_surface():
    w = np.linspace(0.0, 10.0, 241)
    b = np.linspace(-6.0, 1.0, 169)
    return w, b, surface(w, b)


@st.cache_data(max_entries=64, show_spinner=False)
def cliff_paths(w0: float, b0: float, lr: float, n: int, clip: float):
    return {"plain gradient descent": descent(w0, b0, lr=lr, n=n),
            "clipped": descent(w0, b0, lr=lr, n=n, clip=clip)}


BIAS_K2S = 24          # the bias sweep's number of k2 values (k1 … T)
DRAW_WORK = 1e8        # multiply-adds of the randomized draws (recomputed on every slider move)
DRAWS = (20, 100)      # and their number: two decades of n are enough to see the 1/√n law


@st.cache_data(max_entries=32, show_spinner=False)
def bias_sweep(sc: Scenario):
    """Cosine and relative error of TBPTT(k1, k2) against full BPTT for k2 from k1 to T — every k2 from one
    all-losses pass with a stack of masks (≤ 24 values of k2). None when that pass is over budget."""
    if not quadratic_ok(sc):
        return None
    full = record(sc, full=True)
    return ex.tbptt_bias_sweep(full.trace, sc.k1, BIAS_K2S, exact=full.grads)


def draw_count(sc: Scenario) -> int:
    """How many randomized draws the truncation page averages: DRAWS, by cost (DRAW_WORK)."""
    return wb.draw_count(sc.cell, sc.hidden, sc.T, DRAW_WORK / sc.layers, *DRAWS)


@st.cache_data(max_entries=32, show_spinner=False)
def randomized_draws(sc: Scenario):
    """Relative error of single randomized-truncation draws and of their running mean (20–100 draws, by cost:
    two decades of n are enough to see the 1/√n law, and this chart is recomputed on every slider move)."""
    full = record(sc, full=True)
    return ex.randomized_error_curve(full.trace, sc.keep_prob, draw_count(sc), seed=sc.seed * 1000, exact=full.grads)


ARCH_WORK = 1.2e10     # multiply-adds for the five cells' Jacobian products and SVDs (architectures page)
ARCH_CELLS = tuple(c.cell for c in contenders())       # the cells of the five contenders compared


def architectures_steps(T: int, H: int) -> int:
    """Steps the five cells' lag profiles can run over within ARCH_WORK (the LSTM's 2H × 2H state dominates),
    after the SVDs of the lags lag_budget picks for each of them."""
    return wb.lag_profile_steps(ARCH_CELLS, H, T, ARCH_WORK, svd_count(T, H))


def architectures_T(sc: Scenario) -> int:
    """Steps the architecture comparison runs over: all of T while the products fit ARCH_WORK."""
    return architectures_steps(sc.T, sc.hidden)


@st.cache_data(max_entries=32, show_spinner=False)
def architectures(sc: Scenario):
    """explorer.architectures.compare on the scenario's input sequence (first architectures_T steps)."""
    T = architectures_T(sc)
    return compare(sc.data()[0][:T], sc.hidden, rho=sc.scale, seed=sc.seed, lags=lag_budget(replace(sc, T=T)))


SAME_BUDGET_LAYERS = (1, 2, 3)   # the depths the architectures page sets against each other at one parameter count


@st.cache_data(max_entries=32, show_spinner=False)
def stacked_same_budget(sc: Scenario):
    """explorer.architectures.same_budget on the scenario's sequence: one layer of H = sc.hidden against 2 and 3
    layers (and sc.layers, if 4) of the widths that match its parameter count; the loss at the last step only."""
    X, y, _ = sc.data()
    layers = tuple(sorted(set(SAME_BUDGET_LAYERS) | {sc.layers}))
    return same_budget(X, y, sc.hidden, layers=layers, cell=sc.cell, loss=sc.loss,
                       output_size=sc.model().output_size, activation=sc.activation, init=sc.init, scale=sc.scale,
                       scale_kind=sc.scale_kind, seed=sc.seed)


@st.cache_data(max_entries=64, show_spinner=False)
def two_ways(sc: Scenario, at: int):
    return architectures_two_ways(sc.data()[0], at, cell=sc.cell, activation=sc.activation, hidden_size=sc.hidden,
              rho=sc.scale, seed=sc.seed)


@st.cache_data(max_entries=64, show_spinner=False)
def adaptive_truncation(sc: Scenario, delta: float):
    """Lesson 4's adaptive truncation (charts adaptive_phi → adaptive_figs.phi_chart, adaptive_bound →
    adaptive_figs.bound_chart): ex.adaptive_truncation on the scenario's network and sequence with tolerance δ.
    φ_k, β and the bound cost one backward pass; the measured bias of TBPTT(K, K) (every K on the last loss, a grid
    on the sidebar's loss) is O(T²) like the bias sweep, so it is measured only while quadratic_ok(sc)."""
    model, X, y, mask, loss = replace(sc, layers=1).build()     # the rule is written for one layer (the page says so)
    return ex.adaptive_truncation(model, X, y, loss=loss, mask=mask, delta=delta, measure=quadratic_ok(sc))
