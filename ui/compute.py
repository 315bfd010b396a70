"""Engine calls the lessons share, cached on the (hashable) Scenario: 30 students on the same settings compute
once. Every cache is bounded by entries and by bytes (max_size counts the pickled result), so a long class does
not grow the server's memory; every computation a request can trigger is sized to a work budget first
(explorer.work_budget), and the page says what it left out."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

import explorer as ex
from explorer import work_budget as wb
from explorer.cliff import descent, surface
from explorer.norms import frobenius
from explorer.scenario import Scenario

WORK = 2e9             # multiply-adds one O(T²) chart may cost (~1 s here)
JACOBIAN_WORK = 1.5e10  # the long-range products and their SVDs (lesson 3): ~1.5 s here
PHASE_WORK = 1.2e10    # the phase map's products over all its scales: ~1.5 s here
BIG = "256MB"           # byte budget of each cache that holds whole traces or records


def quadratic_cost(sc: Scenario) -> float:
    """Work of one all-losses pass: T² steps of an (S × G·H) product."""
    return wb.quadratic_cost(sc.cell, sc.hidden, sc.T)


def quadratic_ok(sc: Scenario) -> bool:
    return quadratic_cost(sc) <= WORK


@st.cache_data(max_entries=64, max_size=BIG, show_spinner=False)
def record(sc: Scenario, scheme: str | None = None):
    """BPTT under the scenario's truncation scheme (or 'full')."""
    if scheme == "full":
        sc = replace(sc, scheme="full")
    model, X, y, mask, loss = sc.build()
    return ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation())


@st.cache_data(max_entries=32, max_size=BIG, show_spinner=False)
def all_losses(sc: Scenario):
    """G[t, k] and connectivity, or None when the O(T²) pass is over budget (the page says so)."""
    if not quadratic_ok(sc):
        return None
    return ex.all_losses_backward(record(sc).trace)


def svd_count(T: int, H: int) -> int:
    """How many lags of a lag profile get an SVD: all T + 1 while that stays cheap, else about 2·10⁵ / H² (≥ 24)."""
    return int(np.clip(2e5 / H ** 2, 24, T + 1))


def lag_budget(sc: Scenario) -> np.ndarray | None:
    """Which lags get an SVD (None: all of them), spread evenly over 0 … T."""
    n = svd_count(sc.T, sc.hidden)
    return None if n >= sc.T + 1 else np.unique(np.linspace(0, sc.T, n).astype(int))


def jacobian_lags(sc: Scenario) -> int:
    """The longest lag lesson 3's products reach within JACOBIAN_WORK (T when everything fits)."""
    return wb.jacobian_lags(sc.cell, sc.hidden, sc.T, JACOBIAN_WORK, svd_count(sc.T, sc.hidden))


@st.cache_data(max_entries=64, max_size="64MB", show_spinner=False)
def jacobians(sc: Scenario):
    """‖∂h_T/∂h_k‖ with its singular values for lags 0 … jacobian_lags(sc) (svd_count of them, evenly spread),
    and W_hh's spectrum."""
    rec = record(sc, "full")
    L = jacobian_lags(sc)
    lags = np.unique(np.linspace(0, L, min(L + 1, svd_count(sc.T, sc.hidden))).astype(int))
    return ex.jacobian_products(rec.trace, lags=lags), ex.weight_spectrum(rec.trace.model)


PHASE_T = 200          # the phase map uses the first 200 steps at most
PHASE_SCALES = (10, 28)  # it sweeps this many W_hh scales (fewer when H is large)
PHASE_LAGS = (8, 60)   # and takes ‖∂h_T/∂h_k‖ (one SVD each) at this many lags per scale
PHASE_MIN_T = 10       # below this many steps the map says nothing: it is skipped


def phase_size(sc: Scenario) -> tuple[int, int, int]:
    """(scales, steps, lags) of the phase map within PHASE_WORK: per scale, `steps` step Jacobians and products
    and one SVD per lag; at most half the budget goes to SVDs. steps < PHASE_MIN_T means skipped."""
    step, svd = wb.step_jacobian_cost(sc.cell, sc.hidden), wb.svd_cost(sc.hidden)
    T = min(sc.T, PHASE_T)
    n_scales = int(np.clip(PHASE_WORK / (T * step + min(T + 1, PHASE_LAGS[1]) * svd), *PHASE_SCALES))
    n_lags = int(np.clip(PHASE_WORK / 2 / (n_scales * svd), *PHASE_LAGS))
    steps = int(min(T, (PHASE_WORK - n_scales * n_lags * svd) // (n_scales * step)))
    return n_scales, steps, min(n_lags, steps + 1)


def phase(sc: Scenario):
    """The phase map does not depend on the current scale (it sweeps all of them) nor on the truncation: key the
    cache without them, so moving the scale slider reuses it. None when it does not fit its budget."""
    if phase_size(sc)[1] < PHASE_MIN_T:
        return None
    return _phase(replace(sc, scale=1.0, scheme="full", k1=1, k2=1, keep_prob=1.0))


@st.cache_data(max_entries=32, max_size="16MB", show_spinner=False)
def _phase(sc: Scenario):
    """log10 ‖∂h_T/∂h_k‖ over W_hh scales 0.1 … 3 (same seed, same inputs), over the first phase_size(sc)[1]
    steps (≤ 200): fewer scales and steps when H is large, so it stays around a second at worst."""
    n_scales, T, n_lags = phase_size(sc)
    sc = replace(sc, T=T)
    scales = np.round(np.linspace(0.1, 3.0, n_scales), 3)
    lags = np.unique(np.linspace(0, sc.T, n_lags).astype(int))
    out = np.full((n_scales, lags.size), np.nan)
    X, y, mask = sc.data()
    for i, s in enumerate(scales):
        model = sc.model(scale=float(s))
        tr = ex.forward(model, X, y, loss=sc.loss, mask=mask)
        jp = ex.jacobian_products(tr, spectrum=False, lags=lags)
        vals = np.full(lags.size, np.nan)
        vals[np.searchsorted(lags, jp.lags)] = jp.log10_norm
        out[i] = vals
    return scales, lags, out


@st.cache_data(max_entries=4, show_spinner=False)
def cliff_surface():
    w = np.linspace(0.0, 10.0, 241)
    b = np.linspace(-6.0, 1.0, 169)
    return w, b, surface(w, b)


@st.cache_data(max_entries=64, show_spinner=False)
def cliff_paths(w0: float, b0: float, lr: float, n: int, clip: float):
    return {"plain gradient descent": descent(w0, b0, lr=lr, n=n),
            "clipped": descent(w0, b0, lr=lr, n=n, clip=clip)}


@st.cache_data(max_entries=32, show_spinner=False)
def bias_sweep(sc: Scenario):
    """Cosine and relative error of TBPTT(k1, k2) against full BPTT for k2 from k1 to T — every k2 from one
    all-losses pass with a stack of masks (≤ 24 values of k2). None when that pass is over budget."""
    if not quadratic_ok(sc):
        return None
    full = record(sc, "full")
    k1 = min(sc.k1, sc.T)
    k2s = np.unique(np.linspace(k1, sc.T, min(24, sc.T - k1 + 1)).astype(int))
    masks = np.stack([ex.TBPTT(k1, int(k2)).mask(sc.T) for k2 in k2s])
    grads = ex.all_losses_backward(full.trace, masks, contributions=False, connectivity=False).grads
    names = list(full.grads)
    g = np.concatenate([full.grads[k].ravel() for k in names])
    V = np.stack([np.concatenate([d[k].ravel() for k in names]) for d in grads])         # (k2 values, |θ|)
    # explorer.gradient_bias(·)["all"] for every row at once: cosine and ‖ĝ − g‖ / ‖g‖
    nv, ng = frobenius(V, axis=1), frobenius(g)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        cos = np.where((nv > 0) & (ng > 0), (V / np.where(nv > 0, nv, 1.0)[:, None]) @ (g / (ng or 1.0)), np.nan)
        rel = frobenius(V - g, axis=1) / ng if ng > 0 else np.where(nv == 0, 0.0, np.inf)
    return k2s, cos, rel


@st.cache_data(max_entries=32, show_spinner=False)
def randomized_draws(sc: Scenario):
    """Relative error of single randomized-truncation draws and of their running mean (20–100 draws, by cost:
    two decades of n are enough to see the 1/√n law, and this chart is recomputed on every slider move)."""
    S = 2 * sc.hidden if sc.cell == "lstm" else sc.hidden
    n = int(np.clip(1e8 / (sc.T * S * sc.hidden * {"lstm": 4, "gru": 3}.get(sc.cell, 1)), 20, 100))
    full = record(sc, "full")
    names = list(full.grads)
    flat = np.concatenate([full.grads[k].ravel() for k in names])
    draws = ex.randomized_draws(full.trace, sc.keep_prob, n, seed=sc.seed * 1000)
    V = np.stack([np.concatenate([d[k].ravel() for k in names]) for d in draws])          # (n, |θ|)
    running = np.cumsum(V, axis=0) / np.arange(1, n + 1)[:, None]
    return _relative_errors(V, flat), _relative_errors(running, flat)


def _relative_errors(V: np.ndarray, g: np.ndarray) -> np.ndarray:
    """explorer.relative_error(v, g) for every row v of V, in three vectorised norms (not 3n calls)."""
    den = np.maximum(frobenius(V, axis=1), frobenius(g))
    num = frobenius(V - g, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den == 0, 0.0, num / np.where(den == 0, 1.0, den))


ARCH_WORK = 1.2e10     # multiply-adds for the five cells' Jacobian products and SVDs (architectures page)
ARCH_CELLS = ("rnn", "rnn", "lstm", "gru", "indrnn")     # tanh RNN, IRNN, LSTM, GRU, IndRNN


def architectures_steps(T: int, H: int) -> int:
    """Steps the five cells' lag profiles can run over within ARCH_WORK (the LSTM's 2H × 2H state dominates),
    after the SVDs of the lags lag_budget picks for each of them."""
    per_step = sum(wb.step_jacobian_cost(c, H) for c in ARCH_CELLS)
    svds = len(ARCH_CELLS) * wb.svd_cost(H)                  # one SVD per cell at each lag drawn
    steps = (ARCH_WORK - svd_count(T, H) * svds) // per_step
    if steps + 1 < svd_count(T, H):                         # few steps: every one of their lags is drawn
        steps = (ARCH_WORK - svds) // (per_step + svds)
    return int(max(1, min(T, steps)))


def architectures_T(sc: Scenario) -> int:
    """Steps the architecture comparison runs over: all of T while the products fit ARCH_WORK."""
    return architectures_steps(sc.T, sc.hidden)


@st.cache_data(max_entries=32, show_spinner=False)
def architectures(sc: Scenario):
    """explorer.architectures.compare on the scenario's input sequence (first architectures_T steps)."""
    from explorer.architectures import compare
    T = architectures_T(sc)
    X = sc.data()[0][:T]
    return compare(X, sc.hidden, rho=sc.scale, seed=sc.seed, lags=lag_budget(replace(sc, T=T)))


@st.cache_data(max_entries=64, show_spinner=False)
def two_ways(sc: Scenario, at: int):
    from explorer.architectures import two_ways as tw
    return tw(sc.data()[0], at, cell=sc.cell, activation=sc.activation, hidden_size=sc.hidden,
              rho=sc.scale, seed=sc.seed)
