"""The live views' sweeps: at every grid point the numbers equal the engine's own run of that Scenario, overflowing
points are kept up to their overflow step, and the JSON the browser gets decodes to the sweep and stays under its
cap (or the view is refused with a note)."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest

import explorer as ex
from explorer.bptt import step_norms
from explorer.scenario import Scenario
from explorer.sweeps import _rescaler, grid, scale_sweep
from ui import scrub

CASES = [Scenario(T=14, hidden=5, target="every_squared"),
         Scenario(cell="lstm", T=12, hidden=4, scheme="tbptt", k1=3, k2=5, target="every_cross_entropy"),
         Scenario(cell="gru", T=10, hidden=4, scheme="randomized", keep_prob=0.6, seed=3),
         Scenario(cell="indrnn", activation="relu", T=10, hidden=4, scale_kind="sigma1"),
         Scenario(activation="relu", init="gaussian", T=12, hidden=6)]
SCALES = [0.1, 0.55, 1.0, 1.45, 3.0]


@pytest.mark.parametrize("sc", CASES, ids=lambda s: f"{s.cell}-{s.scheme}")
def test_every_grid_point_equals_the_engine(sc):
    lags = list(range(0, sc.T + 1, 2))
    sw = scale_sweep(sc, SCALES, lags)
    for i, s in enumerate(SCALES):
        one = replace(sc, scale=s)
        model, X, y, mask, loss = one.build()
        rec = ex.bptt(model, X, y, loss=loss, mask=mask, scheme=one.truncation())
        want = step_norms(rec)
        for k, v in sw.steps.items():
            np.testing.assert_allclose(v[i], want[k], rtol=1e-12, atol=0, equal_nan=True, err_msg=f"{k} at {s}")
        jp = ex.jacobian_products(rec.trace, spectrum=False, lags=lags)
        np.testing.assert_allclose(sw.log10_lag_norm[i, :jp.lags.size], jp.log10_norm, rtol=1e-12, atol=1e-12)
        spec = ex.weight_spectrum(model)
        assert sw.rho[i] == pytest.approx(spec.rho, rel=1e-12)
        assert sw.sigma1[i] == pytest.approx(spec.sigma1, rel=1e-12)
        np.testing.assert_allclose(np.sort_complex(sw.eigenvalues[i]), np.sort_complex(spec.eigenvalues),
                                   rtol=1e-10, atol=1e-12)
        assert sw.overflow_step[i] == (-1 if rec.trace.overflow_step is None else rec.trace.overflow_step)
    np.testing.assert_array_equal(sw.target, mask[:, 0] > 0)


def test_the_rescaled_models_are_the_engines_own():
    for sc in CASES:
        at = _rescaler(sc)
        for s in SCALES:
            got, want = at(s).params, sc.model(scale=s).params
            assert all(np.array_equal(got[k], want[k]) for k in want)


def test_an_overflowing_grid_point_is_kept_up_to_its_overflow_step():
    sc = Scenario(activation="relu", init="identity", T=800, hidden=4, target="every_squared")
    sw = scale_sweep(sc, [1.0, 3.0], [0])
    assert sw.overflow_step[0] == -1 and sw.overflow_step[1] > 0
    k = sw.overflow_step[1]
    d = sw.steps["norm_delta"][1]
    assert not np.any(np.isnan(d[:k])) and np.all(np.isnan(d[k:]))     # (a norm near 1e308 may read inf)


def test_the_grid_is_the_sliders():
    g = scrub.scale_grid()
    assert g[0] == 0.1 and g[-1] == 3.0 and g.size == 59 and np.allclose(np.diff(g), 0.05)
    assert list(grid(1, 5, 1)) == [1, 2, 3, 4, 5]


def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return {None: math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v) if not isinstance(v, float) else v


def test_the_payload_decodes_to_the_sweep():
    sc = Scenario(activation="relu", init="identity", T=700, hidden=4, target="every_squared")
    text, note, sw = scrub.payload.__wrapped__(sc, "scale", with_lags=True)
    assert text is not None
    data = json.loads(text)                                 # valid JSON: no NaN or Infinity tokens
    assert data["values"] == sw.values.tolist()
    for k, v in sw.steps.items():
        got = np.array(_decode(data["steps"][k]), dtype=float)
        np.testing.assert_allclose(got, v, rtol=1e-6, equal_nan=True)
    assert any(v is None for row in data["steps"]["norm_delta"] for v in row)     # an overflow, encoded
    lag = np.array(_decode(data["lag"]), dtype=float)
    np.testing.assert_allclose(lag, sw.log10_lag_norm, rtol=1e-6, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_at_the_maxima_the_payload_fits_or_the_view_says_why(cell):
    act = "relu" if cell == "indrnn" else "tanh"
    for with_lags in (False, True):
        sc = Scenario(cell=cell, activation=act, T=1000, hidden=256)
        cost = ex.sweeps.sweep_cost(sc, 59, 0, 0, spectrum=with_lags)
        if cost > scrub.SCRUB_WORK:                         # refused before any work
            text, note, sw = scrub.payload.__wrapped__(sc, "scale", with_lags=with_lags)
            assert text is None and sw is None and "Live scrubbing is off" in note
        else:                                               # accepted: runs, and the JSON stays under the cap
            text, note, sw = scrub.payload.__wrapped__(replace(sc, T=200), "scale", with_lags=with_lags)
            assert text is None or len(text) <= scrub.MAX_PAYLOAD_BYTES


def test_the_largest_accepted_payload_is_under_the_cap():
    sc = Scenario(T=1000, hidden=128)                       # lesson 1 at T = 1000, H = 128 is live
    assert ex.sweeps.sweep_cost(sc, 59, 0, 0, spectrum=False) <= scrub.SCRUB_WORK
    text, note, sw = scrub.payload.__wrapped__(sc, "scale", with_lags=False)
    assert text is not None and len(text) <= scrub.MAX_PAYLOAD_BYTES
    assert len(json.loads(text)["steps"]["norm_delta"][0]) == 1000


@pytest.mark.parametrize("sc,knob,values", [
    (Scenario(T=20, hidden=5, scheme="tbptt", k1=3, k2=4, target="every_squared"), "k2", [3, 4, 9, 20]),
    (Scenario(cell="lstm", T=16, hidden=4, scheme="tbptt", k1=4, k2=4), "k2", [4, 7, 16]),
    (Scenario(T=18, hidden=5, scheme="randomized", keep_prob=0.5, seed=2, target="every_squared"), "keep_prob",
     [0.05, 0.5, 0.95, 1.0])])
def test_every_truncation_value_equals_the_engine(sc, knob, values):
    sw = ex.sweeps.truncation_sweep(sc, knob, values)
    for i, v in enumerate(values):
        one = replace(sc, **{knob: v})
        model, X, y, mask, loss = one.build()
        rec = ex.bptt(model, X, y, loss=loss, mask=mask, scheme=one.truncation())
        want = step_norms(rec)
        for k, arr in sw.steps.items():
            np.testing.assert_allclose(arr[i], want[k], rtol=1e-12, atol=0, equal_nan=True, err_msg=f"{k} at {v}")
        assert sw.cuts[i] == ex.sweeps.cut_positions(one.truncation(), sc.T)
        if knob == "keep_prob":
            np.testing.assert_array_equal(sw.xi[i], one.truncation().xi(sc.T))
    assert ex.sweeps.backward_steps(sc, knob, values[-1]) > 0


def test_the_k2_grid_fits_its_budget_and_says_so():
    sc = Scenario(T=1000, hidden=128, scheme="tbptt")
    values = scrub.knob_values(sc, "k2")
    assert values[0] == sc.k1 and values[-1] == sc.T and values.size >= 2
    assert ex.sweeps.truncation_sweep_cost(sc, "k2", values) <= scrub.SCRUB_WORK or values.size == 2
    small = Scenario(T=60, scheme="tbptt", k1=5, k2=10)
    assert list(scrub.knob_values(small, "k2")) == list(range(5, 61))         # every k2 when it is cheap
