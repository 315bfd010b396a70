"""Live views: a knob's whole grid precomputed on the server (explorer.sweeps), shipped to the browser once as JSON,
and redrawn there on every input event while the knob is dragged (ui/assets/scrub.js, a Streamlit components-v2
component: no iframe, nothing fetched). On release the value comes back through the component's state and is
written to the setting, so the sidebar, the URL, the other charts and the exports follow.

Budgets: a sweep is computed only when its work (explorer.sweeps.sweep_cost) fits SCRUB_WORK and its JSON fits
MAX_PAYLOAD_BYTES; otherwise the page keeps its release-to-redraw charts and says so in one line. A stack's graph
(L > 1 layers) is the layers × time grid, whose sweep ships L·(3T − 1) − T numbers per knob value more than the
top layer's; when that does not fit, the view draws the top layer alone and says so.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

import explorer as ex
from explorer.bptt import step_norms
from explorer.scenario import Scenario
from explorer.sweeps import Sweep, grid, scale_sweep, sweep_cost, truncation_sweep, truncation_sweep_cost

from .params import BY_KEY
from .url_state import choose, hidden, projector

ASSETS = Path(__file__).parent / "assets"
SCRUB_WORK = 2.5e10        # multiply-adds of one sweep (≈ 2 s of one core, once, shared); above it, release-to-redraw
MAX_PAYLOAD_BYTES = 6e6    # the JSON a page ships once (a classroom LAN carries it in well under a second)
LAG_POINTS = 60            # lags of the live lag profile (evenly spread)
SIGNIFICANT = 7            # digits kept in the JSON: the drawn values equal the sweep's to 1e-7 relative
UNIT_VALUES = 2.5e5        # grid × window × H: up to this, |δ_{t,i}| of every unit in the graph's window is shipped
                           # too (its unit focus), as round(100 · log10 |δ_{t,i}|): a colour needs no more

# Mounted in the page's DOM, not a shadow root: its CSS is all under .bptt-scrub, and the page's tests and tools
# (elementFromPoint, selectors) see the view like any other element.
_component = st.components.v2.component(
    "bptt_scrub", css=(ASSETS / "scrub.css").read_text(), js=(ASSETS / "scrub.js").read_text(),
    isolate_styles=False)


def scale_grid() -> np.ndarray:
    """The sidebar's scale slider's values: the sweep runs exactly these."""
    p = BY_KEY["scale"]
    return grid(p.lo, p.hi, p.step)


def _enc(a) -> list:
    """Numbers for JSON: SIGNIFICANT digits, NaN as null, ±inf as "inf" / "-inf" (JSON has neither)."""
    a = np.asarray(a, dtype=float)
    out = np.array([float(f"{v:.{SIGNIFICANT}g}") for v in a.ravel()], dtype=object).reshape(a.shape) \
        if a.size else a.astype(object)
    out[np.isnan(a)] = None
    out[np.isposinf(a)] = "inf"
    out[np.isneginf(a)] = "-inf"
    return out.tolist()


def max_lag(sc: Scenario, n_scales: int) -> int:
    """The longest lag the live lag profile reaches within SCRUB_WORK, with one SVD per drawn lag (at most
    LAG_POINTS of them); 0 when not even two lags fit."""
    base = sweep_cost(sc, n_scales, 0, 0)
    per_lag = sweep_cost(sc, n_scales, 1, 0) - base
    per_svd = sweep_cost(sc, n_scales, 0, 1) - base
    reach = int(min(sc.T, max(0, (SCRUB_WORK - base - LAG_POINTS * per_svd) // per_lag)))
    while reach >= 2 and base + reach * per_lag + min(LAG_POINTS, reach + 1) * per_svd > SCRUB_WORK:
        reach -= 1
    if reach < LAG_POINTS:                              # few lags: fewer SVDs leave room for more of them
        reach = int(min(sc.T, max(0, (SCRUB_WORK - base) // (per_lag + per_svd)) - 1))
    return max(0, reach)


MAX_VALUES_X_T = 3e5       # a truncation knob's grid × T: beyond it, k2 takes evenly spread values


def knob_values(sc: Scenario, knob: str) -> np.ndarray:
    """The values the live view's knob runs: the scale slider's grid; k2 from k1 to T — every one while the grid
    times T stays under MAX_VALUES_X_T and the sweep under SCRUB_WORK, else fewer, evenly spread, ends included
    (at least 2: the view is refused when even those do not fit); π on the keep slider's grid."""
    if knob == "scale":
        return scale_grid()
    if knob == "k2":
        n = int(min(sc.T - sc.k1 + 1, max(2, MAX_VALUES_X_T // sc.T)))
        while True:
            values = np.unique(np.linspace(sc.k1, sc.T, n).round().astype(int))
            if n <= 2 or truncation_sweep_cost(sc, knob, values) <= SCRUB_WORK:
                return values
            n = max(2, n // 2)
    p = BY_KEY["keep"]
    return grid(p.lo, p.hi, p.step)


def _cost(sc: Scenario, knob: str, values, with_lags: bool, by_layer: bool) -> float:
    if knob == "scale":
        return sweep_cost(sc, values.size, 0, 0, spectrum=with_lags, by_layer=by_layer)
    return truncation_sweep_cost(sc, knob, values, by_layer=by_layer)


_KNOBS = {"scale": ("scale", "Scale W_hh to {kind}", 2), "k2": ("k2", "k2 (steps each update goes back)", 0),
          "keep_prob": ("keep", "π (keep probability)", 2)}


def _key_scenario(sc: Scenario, knob: str) -> Scenario:
    """A sweep runs every value of its knob: key its cache without the current one."""
    return replace(sc, **{knob: {"scale": 1.0, "k2": sc.k1, "keep_prob": 1.0}[knob]})


def _centi_log10(a) -> list:
    """|a| as round(100 · log10 |a|) (ints), null where a is 0 or not finite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.round(100 * np.log10(np.abs(a)))
    out = q.astype(object)
    out[~np.isfinite(q)] = None
    return [[[None if v is None else int(v) for v in row] for row in m] for m in out]


def _off(sc: Scenario, why: str, then: str, by_layer: bool) -> str:
    """The one line a refused view leaves: at which sizes, why, and what the page shows instead (for a refused
    grid: the top layer's live view, which live_view tries next)."""
    if by_layer:
        return (f"The live layers × time grid is off at T = {sc.T}, H = {sc.hidden}, {sc.layers} layers: {why}. "
                f"The live view below draws the top layer, h_t^({sc.layers - 1}), only; the static grid below draws "
                f"every layer.")
    return f"Live scrubbing is off at T = {sc.T}, H = {sc.hidden}: {why}; {then}."


@st.cache_data(max_entries=16, max_size="96MB", show_spinner=False)
def payload(sc: Scenario, knob: str, with_lags: bool, window: tuple[int, int] | None = None, by_layer: bool = False
            ) -> tuple[str | None, str, Sweep | None]:
    """(JSON, note, sweep): the sweep over the knob's grid as the browser view reads it, or (None, why, None);
    `window` (start, width): the graph's steps whose per-unit δ it ships for the unit focus; `by_layer` (a stack):
    the layers × time grid of every value instead (explorer.sweeps.layer_grid — no unit focus then)."""
    values = knob_values(sc, knob)
    reach = max_lag(sc, values.size) if with_lags else 0
    by_layer = by_layer and sc.layers > 1
    if _cost(sc, knob, values, with_lags, by_layer) > SCRUB_WORK or (with_lags and reach < 2):
        return None, _off(sc, f"the sweep over all {values.size} values would pass its work budget",
                          "the charts below redraw when you release a slider", by_layer), None
    units = window is not None and not by_layer and values.size * window[1] * sc.hidden <= UNIT_VALUES
    if knob == "scale":
        lags = ex.even_lags(reach, LAG_POINTS) if with_lags else np.array([0])
        sw = scale_sweep(sc, values, lags, spectrum=with_lags, units=units, by_layer=by_layer)
    else:
        sw = truncation_sweep(sc, knob, values, units=units, by_layer=by_layer)
    setting, label, digits = _KNOBS[knob]
    out = {
        "label": label.format(kind="ρ" if sc.scale_kind == "rho" else "σ₁"), "knob": setting, "digits": digits,
        "values": sw.values.tolist(), "T": sc.T, "gamma": sw.gamma, "cell": sc.cell,
        "steps": {k: _enc(v) for k, v in sw.steps.items()}, "target": sw.target.astype(int).tolist(),
        "overflow": sw.overflow_step.tolist(), "rho": _enc(sw.rho), "sigma1": _enc(sw.sigma1), "cuts": sw.cuts,
    }
    if sw.xi is not None:
        out["xi"] = _enc(sw.xi)
    if sw.units is not None:
        out["units"] = _centi_log10(sw.units[:, window[0]:window[0] + window[1]])
        out["units_start"] = window[0]
    if sw.grid is not None:                             # per value: node (L, T), time (L, T−1), depth (L−1, T)
        out["grid"] = {k: _enc(v) for k, v in sw.grid.items()}
    if knob != "scale":                                 # the full-BPTT gradient, for what the scheme keeps
        model, X, y, mask, loss = sc.build()
        out["reference"] = _enc(step_norms(ex.bptt(model, X, y, loss=loss, mask=mask))["norm_delta"])
    if with_lags:
        out.update(lags=sw.lags.tolist(), lag=_enc(sw.log10_lag_norm), eig_re=_enc(sw.eigenvalues.real),
                   eig_im=_enc(sw.eigenvalues.imag))
    text = json.dumps(out, allow_nan=False, separators=(",", ":"))
    if len(text) > MAX_PAYLOAD_BYTES:
        return None, _off(sc, f"its data ({len(text) / 1e6:.1f} MB) would pass {MAX_PAYLOAD_BYTES / 1e6:.0f} MB",
                          "the charts below redraw on release", by_layer), None
    note = (f"The live lag profile reaches lag {reach} of {sc.T} (the sweep's work budget)."
            if with_lags and reach < sc.T else "")
    if knob == "k2" and values.size < sc.T - sc.k1 + 1:
        note = (f"The live k2 knob steps through {values.size} of the {sc.T - sc.k1 + 1} values from k1 to T, evenly "
                "spread (the sweep's work budget); the sidebar's k2 slider takes any of them.")
    return text, note, sw


def _sent(key: str, name: str):
    """The value the view sent back on release (state values carry a nonce: {"value": v, "at": ms}), or None."""
    v = (st.session_state.get(key) or {}).get(name)
    return v.get("value") if isinstance(v, dict) else v


def _take(key: str, name: str, setting: str, cast):
    """Write the released value to the shared setting it shows (so the URL and the sidebar follow); a value out of
    the setting's range is dropped."""
    v, p = _sent(key, name), BY_KEY[setting]
    try:
        v = cast(v)
    except (TypeError, ValueError):
        return
    if p.lo <= v <= p.hi:
        choose(setting, v)
        st.session_state["_moved"] = setting


def _take_page(key: str, name: str, setting: str):
    """The same for a page-own setting (lesson 1's step and window end): its range is checked where it is read."""
    v = _sent(key, name)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        st.session_state["cfg_" + setting] = int(v)


def live_view(sc: Scenario, views: tuple[str, ...], *, key: str, knob: str = "scale", step: int | None = None,
              end: int | None = None, window: int = 30) -> Sweep | None:
    """Mount the live view of `views` ("graph", "delta", "lags", "eigen") for `knob` ("scale", "k2" or
    "keep_prob"); returns the sweep it draws (None, with a one-line note, when it does not fit its budget). For a
    stack (L > 1) the graph is the layers × time grid (the sweep's `grid`); when the grid's sweep does not fit,
    the view falls back to the top layer alone (sweep.grid is None) and says so."""
    end = sc.T if end is None else end
    unit_window = (max(0, end - window), min(window, sc.T)) if "graph" in views else None
    args = (_key_scenario(sc, knob), knob, bool({"lags", "eigen"} & set(views)), unit_window)
    by_layer = "graph" in views and sc.layers > 1
    text, note, sw = payload(*args, by_layer=by_layer)
    if text is None and by_layer:
        st.caption(note)
        text, note, sw = payload(*args)
    if text is None:
        st.caption(note)
        return None
    if note:
        st.caption(note)
    index = sw.index(getattr(sc, knob))
    setting = _KNOBS[knob][0]
    head = {"name": key, "index": index, "views": list(views), "projector": projector(), "window": window,
            "locked": setting in hidden(),                      # teacher mode hid this knob: show, do not offer
            "start": max(0, end - window), "step": sc.T - 1 if step is None else step}
    data = text[:-1] + "," + json.dumps(head)[1:]          # the cached sweep plus this view's place in it
    _component(key=key, data=data, default={"value": None, "step": None, "end": None},
               on_value_change=lambda: _take(key, "value", setting, int if knob == "k2" else float),
               on_step_change=lambda: _take_page(key, "step", "step"),
               on_end_change=lambda: _take_page(key, "end", "end"))
    return sw
