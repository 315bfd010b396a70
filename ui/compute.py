"""Engine calls the lessons share, cached on the (hashable) Scenario: 30 students on the same settings compute
once. Bounded with max_entries so a long class does not grow the server's memory."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

import explorer as ex
from explorer.cliff import descent, surface
from explorer.scenario import Scenario

G_MAX_T = 400          # the G[t, k] map is O(T²): drawn up to this T


@st.cache_data(max_entries=64, show_spinner=False)
def record(sc: Scenario, scheme: str | None = None):
    """BPTT under the scenario's truncation scheme (or 'full')."""
    if scheme == "full":
        sc = replace(sc, scheme="full")
    model, X, y, mask, loss = sc.build()
    return ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation())


@st.cache_data(max_entries=32, show_spinner=False)
def all_losses(sc: Scenario):
    rec = record(sc)
    if sc.T > G_MAX_T:
        return None
    return ex.all_losses_backward(rec.trace)


def lag_budget(sc: Scenario) -> np.ndarray | None:
    """Which lags get an SVD: all of them while that stays cheap, else about 2·10⁵ / H² of them."""
    n = int(np.clip(2e5 / sc.hidden ** 2, 24, sc.T + 1))
    return None if n >= sc.T + 1 else np.unique(np.linspace(0, sc.T, n).astype(int))


@st.cache_data(max_entries=64, show_spinner=False)
def jacobians(sc: Scenario):
    rec = record(sc, "full")
    return ex.jacobian_products(rec.trace, lags=lag_budget(sc)), ex.weight_spectrum(rec.trace.model)


@st.cache_data(max_entries=32, show_spinner=False)
def phase(sc: Scenario, n_scales: int = 28):
    """log10 ‖∂h_T/∂h_k‖ for a range of W_hh scales around the current one (same seed, same inputs)."""
    scales = np.round(np.linspace(0.1, 3.0, n_scales), 3)
    lags = np.unique(np.linspace(0, sc.T, min(sc.T + 1, 60)).astype(int))
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
    """Cosine and relative error of TBPTT(k1, k2) against full BPTT, for k2 from k1 to T."""
    full = record(sc, "full")
    k1 = min(sc.k1, sc.T)
    k2s = np.unique(np.linspace(k1, sc.T, min(40, sc.T - k1 + 1)).astype(int))
    cos, rel = [], []
    for k2 in k2s:
        b = ex.gradient_bias(ex.backward(full.trace, ex.TBPTT(k1, int(k2))).grads, full.grads)["all"]
        cos.append(b.cosine)
        rel.append(b.relative_error)
    return k2s, np.array(cos), np.array(rel)


@st.cache_data(max_entries=32, show_spinner=False)
def randomized_draws(sc: Scenario, n: int = 200):
    full = record(sc, "full")
    g = full.grads
    flat = np.concatenate([v.ravel() for v in g.values()])
    acc = np.zeros_like(flat)
    one, mean = [], []
    for i in range(n):
        d = ex.backward(full.trace, ex.Randomized(sc.keep_prob, seed=sc.seed * 1000 + i)).grads
        v = np.concatenate([d[k].ravel() for k in g])
        acc += v
        one.append(ex.relative_error(v, flat))
        mean.append(ex.relative_error(acc / (i + 1), flat))
    return np.array(one), np.array(mean)
