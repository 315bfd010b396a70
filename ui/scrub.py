"""Live views: a knob's whole grid precomputed on the server (explorer.sweeps), shipped to the browser once as JSON,
and redrawn there on every input event while the knob is dragged (ui/assets/scrub.js, a Streamlit components-v2
component: no iframe, nothing fetched). On release the value comes back through the component's state and is
written to the setting, so the sidebar, the URL, the other charts and the exports follow.

Budgets: a sweep is computed only when its work (explorer.sweeps.sweep_cost) fits SCRUB_WORK and its JSON fits
MAX_PAYLOAD_BYTES; otherwise the page keeps its release-to-redraw charts and says so in one line.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

import explorer as ex
from explorer.figures.unrolled import cut_positions
from explorer.scenario import Scenario
from explorer.sweeps import ScaleSweep, grid, scale_sweep, sweep_cost

from .params import BY_KEY
from .url_state import projector

ASSETS = Path(__file__).parent / "assets"
SCRUB_WORK = 2.5e10        # multiply-adds of one sweep (≈ 2 s of one core, once, shared); above it, release-to-redraw
MAX_PAYLOAD_BYTES = 6e6    # the JSON a page ships once (a classroom LAN carries it in well under a second)
LAG_POINTS = 60            # lags of the live lag profile (evenly spread)
SIGNIFICANT = 7            # digits kept in the JSON: the drawn values equal the sweep's to 1e-7 relative

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
    """The longest lag the live lag profile reaches within SCRUB_WORK (0: none fits)."""
    base = sweep_cost(sc, n_scales, 0, 0)
    per_lag = sweep_cost(sc, n_scales, 1, 0) - base
    svds = sweep_cost(sc, n_scales, 0, LAG_POINTS) - base
    return int(max(0, min(sc.T, (SCRUB_WORK - base - svds) // per_lag)))


def _key_scenario(sc: Scenario) -> Scenario:
    """The sweep runs every scale: key its cache without the current one."""
    return replace(sc, scale=1.0)


@st.cache_data(max_entries=16, max_size="96MB", show_spinner=False)
def scale_payload(sc: Scenario, with_lags: bool) -> tuple[str | None, str, ScaleSweep | None]:
    """(JSON, note, sweep): the sweep over the scale grid as the browser view reads it, or (None, why, None)."""
    scales = scale_grid()
    reach = max_lag(sc, scales.size) if with_lags else 0
    if sweep_cost(sc, scales.size, 0, 0, spectrum=with_lags) > SCRUB_WORK or (with_lags and reach < 2):
        return None, (f"Live scrubbing is off at T = {sc.T}, H = {sc.hidden}: the sweep over all {scales.size} "
                      f"scales would pass its work budget; the charts below redraw when you release a slider."), None
    lags = ex.even_lags(reach, LAG_POINTS) if with_lags else np.array([0])
    sw = scale_sweep(sc, scales, lags, spectrum=with_lags)
    kind = "ρ" if sc.scale_kind == "rho" else "σ₁"
    payload = {
        "label": f"Scale W_hh to {kind}", "scales": sw.scales.tolist(), "T": sc.T, "gamma": sw.gamma,
        "steps": {k: _enc(v) for k, v in sw.steps.items()}, "target": sw.target.astype(int).tolist(),
        "overflow": sw.overflow_step.tolist(), "rho": _enc(sw.rho), "sigma1": _enc(sw.sigma1),
        "cuts": cut_positions(sc.truncation(), sc.T), "cell": sc.cell,
    }
    if with_lags:
        payload.update(lags=sw.lags.tolist(), lag=_enc(sw.log10_lag_norm), eig_re=_enc(sw.eigenvalues.real),
                       eig_im=_enc(sw.eigenvalues.imag))
    text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    if len(text) > MAX_PAYLOAD_BYTES:
        return None, (f"Live scrubbing is off at T = {sc.T}, H = {sc.hidden}: its data ({len(text) / 1e6:.1f} MB) "
                      f"would pass {MAX_PAYLOAD_BYTES / 1e6:.0f} MB; the charts below redraw on release."), None
    note = (f"The live lag profile reaches lag {reach} of {sc.T} (the sweep's work budget)."
            if with_lags and reach < sc.T else "")
    return text, note, sw


def _take(key: str, name: str, setting: str, cast):
    """A value the view sent back on release: written to the setting it shows (so the URL and sidebar follow)."""
    v = (st.session_state.get(key) or {}).get(name)
    if isinstance(v, dict):
        v = v.get("value")
    if v is None:
        return
    p = BY_KEY.get(setting)
    try:
        v = cast(v)
    except (TypeError, ValueError):
        return
    if p is not None and not p.lo <= v <= p.hi:
        return
    st.session_state["cfg_" + setting] = v
    st.session_state["_moved"] = setting


def _take_page(key: str, name: str, setting: str):
    """The same for a page-own setting (lesson 1's step and window end): its own range is checked where drawn."""
    v = (st.session_state.get(key) or {}).get(name)
    if isinstance(v, dict):
        v = v.get("value")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        st.session_state["cfg_" + setting] = int(v)


def live_view(sc: Scenario, views: tuple[str, ...], *, key: str, step: int | None = None, end: int | None = None,
              window: int = 30) -> ScaleSweep | None:
    """Mount the live view of `views` ("graph", "delta", "lags", "eigen") for the scale knob; returns the sweep it
    draws (None, with a one-line note, when it does not fit its budget)."""
    text, note, sw = scale_payload(_key_scenario(sc), with_lags=bool({"lags", "eigen"} & set(views)))
    if text is None:
        st.caption(note)
        return None
    if note:
        st.caption(note)
    index = sw.index(sc.scale)
    end = sc.T if end is None else end
    head = {"name": key, "index": index, "views": list(views), "projector": projector(), "window": window,
            "start": max(0, end - window), "step": sc.T - 1 if step is None else step}
    data = text[:-1] + "," + json.dumps(head)[1:]          # the cached sweep plus this view's place in it
    _component(key=key, data=data, default={"scale": None, "step": None, "end": None},
               on_scale_change=lambda: _take(key, "scale", "scale", float),
               on_step_change=lambda: _take_page(key, "step", "step"),
               on_end_change=lambda: _take_page(key, "end", "end"))
    return sw
