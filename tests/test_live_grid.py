"""Lesson 1's live layers × time grid (issue #17): the sweep's per-layer numbers at the knob's current value are the
engine's own (explorer.bptt on the stacked model), each edge carries what the backward pass sends along it (checked
against the cell's own step_backward, not against the code that computes it), the static grid draws the same edge
values, the payload ships them within its size budget (or the page falls back to the top layer and says so), and
one layer's payload is what it always was."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from test_app import assert_clean, open_app

import explorer as ex
from explorer.depth_paths import layer_step_norms
from explorer.figures import unrolled
from explorer.scenario import Scenario
from explorer.sweeps import layer_grid, scale_sweep, truncation_sweep
from ui import scrub

L1 = "pages/1_Unrolled_graph.py"
STACKS = [Scenario(layers=3, T=30, scale=1.35, target="every_squared"),
          Scenario(cell="lstm", layers=2, T=20, hidden=6, scale=0.6),
          Scenario(cell="gru", layers=4, T=16, hidden=5, scale=2.0, scheme="tbptt", k1=3, k2=5,
                   target="every_cross_entropy"),
          Scenario(layers=2, T=18, hidden=4, scheme="randomized", keep_prob=0.5, seed=2, target="every_squared")]


def engine(sc: Scenario):
    model, X, y, mask, loss = sc.build()
    return ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation())


@pytest.mark.parametrize("sc", STACKS, ids=lambda s: f"{s.cell}-L{s.layers}-{s.scheme}")
def test_the_sweep_at_the_sliders_value_is_the_engines_grid(sc):
    """At the grid point the slider sits on, every node and edge value equals the engine's, bit for bit."""
    key = scrub._key_scenario(sc, "scale")
    sw = scale_sweep(key, scrub.scale_grid(), [0], spectrum=False, by_layer=True)
    i = sw.index(sc.scale)
    assert sw.values[i] == sc.scale
    rec = engine(sc)
    np.testing.assert_array_equal(sw.grid["node"][i], rec.delta_norms_by_layer)
    want = layer_step_norms(rec)
    np.testing.assert_array_equal(sw.grid["time"][i], want["norm_through_J"][:, :-1])
    np.testing.assert_array_equal(sw.grid["depth"][i], want["norm_direct"][:-1])
    np.testing.assert_array_equal(sw.grid["node"][i][-1], sw.steps["norm_delta"][i])   # the top row: the 1-layer view's
    L, T = sc.layers, sc.T
    assert sw.grid["node"].shape == (sw.values.size, L, T)
    assert sw.grid["time"].shape == (sw.values.size, L, T - 1)
    assert sw.grid["depth"].shape == (sw.values.size, L - 1, T)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_each_edge_carries_what_the_backward_pass_sends_along_it(cell):
    """Time edge (l, t → t+1): the h-part of J_{t+1}ᵀ δ_{t+1}^(l), from the cell's own step_backward at step t+1.
    Depth edge (l → l+1, t): W_xh^(l+1)ᵀ applied to layer l+1's dA_ih at step t. (An edge read off by one step —
    as the static grid once did — fails the first check.)"""
    sc = Scenario(cell=cell, layers=3, T=12, hidden=4, scale=1.2, target="every_squared")
    rec = engine(sc)
    g = layer_grid(rec)
    model, trace, H = rec.trace.model, rec.trace, sc.hidden
    for l in range(sc.layers):
        p, cache, delta = model.layer_params(l), trace.caches[l][0], rec.runs[l][0].delta
        for t in range(sc.T - 1):
            _, _, back = model.layer_cell(l).step_backward(p, cache, t + 1, delta[t + 1])
            assert g["time"][l, t] == pytest.approx(np.linalg.norm(back[0, :H]), rel=1e-12, abs=1e-300)
        if l + 1 < sc.layers:
            down = rec.runs[l + 1][0].dA_ih[:, 0] @ model.layer_params(l + 1)["W_xh"]
            np.testing.assert_allclose(g["depth"][l], np.linalg.norm(down, axis=-1), rtol=1e-12)
    # δ = d + Jᵀδ as vectors, so its norm is at most the sum of the two edges' (the triangle inequality)
    assert np.all(g["node"][:-1, :-1] <= g["time"][:-1] + g["depth"][:, :-1] + 1e-12)


def test_the_static_grid_draws_the_same_edges_including_the_last_step():
    """stacked_graph bins layer_grid's values: every finite time edge of the window in every layer (the one into
    the last step included) and every depth edge is drawn, at the place its value belongs to."""
    sc = Scenario(layers=3, T=40, target="every_squared")
    rec = engine(sc)
    fig, _ = unrolled.stacked_graph(rec, start=10, stop=40)
    g = layer_grid(rec)
    segs = [(x0, x1, y0, y1) for tr in fig["data"][1:1 + unrolled.N_BINS]
            for x0, x1, y0, y1 in zip(tr["x"][::3], tr["x"][1::3], tr["y"][::3], tr["y"][1::3])]
    time_edges = {(round(x0 - 0.18), int(y0) - 1) for x0, x1, y0, y1 in segs if y0 == y1}
    depth_edges = {(int(x0), round(y0 - 1.2)) for x0, x1, y0, y1 in segs if x0 == x1}
    assert time_edges == {(t, l) for l in range(3) for t in range(10, 39)}
    assert (38, 0) in time_edges and (38, 2) in time_edges           # the edge into t = 39, in every layer
    assert depth_edges == {(t, l) for l in range(2) for t in range(10, 40)}
    # the widest time edges are the largest values: bins follow layer_grid, not a neighbour's value
    widest = max(fig["data"][1:1 + unrolled.N_BINS], key=lambda tr: tr["line"]["width"] if tr["x"] else 0)
    both = np.concatenate([np.log10(g["time"][:, 10:39]).ravel(), np.log10(g["depth"][:, 10:40]).ravel()])
    both = both[np.isfinite(both)]
    top = both.max()
    xs = [(x0, y0) for x0, y0, y1 in zip(widest["x"][::3], widest["y"][::3], widest["y"][1::3]) if y0 == y1]
    for x0, y0 in xs:
        t, l = round(x0 - 0.18), int(y0) - 1
        assert np.log10(g["time"][l, t]) >= top - (top - both.min()) / unrolled.N_BINS - 1e-9


def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return {None: math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v) if not isinstance(v, float) else v


def test_the_payload_at_three_layers_and_T_100_ships_the_grid_within_budget():
    sc = Scenario(layers=3, T=100)
    text, note, sw = scrub.payload.__wrapped__(scrub._key_scenario(sc, "scale"), "scale", False, (70, 30),
                                               by_layer=True)
    assert text is not None and note == ""
    assert len(text) <= scrub.MAX_PAYLOAD_BYTES
    assert len(text) < 1.2e6, len(text)                     # 59 values × 3 layers × 100 steps: well under 6 MB
    data = json.loads(text)
    assert "units" not in data                              # the unit focus is the one-layer view's
    for k, v in sw.grid.items():
        got = np.array(_decode(data["grid"][k]), dtype=float)
        assert got.shape == v.shape
        np.testing.assert_allclose(got, v, rtol=1e-6, equal_nan=True)
    i = sw.index(sc.scale)
    np.testing.assert_allclose(np.array(_decode(data["grid"]["node"][i]), dtype=float),
                               engine(sc).delta_norms_by_layer, rtol=1e-6)   # the slider's value, as the browser reads it


def test_a_grid_too_big_to_ship_falls_back_to_the_top_layer_and_says_so():
    sc = Scenario(layers=3, T=1000)
    key = scrub._key_scenario(sc, "scale")
    text, note, sw = scrub.payload.__wrapped__(key, "scale", False, (970, 30), by_layer=True)
    assert text is None and sw is None
    assert note.startswith("The live layers × time grid is off at T = 1000, H = 32, 3 layers: its data (")
    assert "would pass 6 MB" in note and "draws the top layer, h_t^(2), only" in note
    text, note, sw = scrub.payload.__wrapped__(key, "scale", False, (970, 30))
    assert text is not None and sw.grid is None and len(text) <= scrub.MAX_PAYLOAD_BYTES


@pytest.mark.parametrize("sc", [Scenario(T=100), Scenario(T=60, scheme="tbptt", k1=5, k2=10)])
def test_one_layer_ships_no_grid_and_the_same_payload(sc):
    knob = "scale" if sc.scheme == "full" else "k2"
    key = scrub._key_scenario(sc, knob)
    plain = scrub.payload.__wrapped__(key, knob, False, (sc.T - 30, 30))
    asked = scrub.payload.__wrapped__(key, knob, False, (sc.T - 30, 30), by_layer=True)
    assert plain[0] == asked[0] and "grid" not in json.loads(plain[0])
    assert plain[2].grid is None


def test_the_truncation_knobs_sweep_the_grid_too():
    sc = Scenario(layers=3, T=24, hidden=5, scheme="tbptt", k1=3, k2=4)          # the last step's loss only
    values = [3, 6, 24]
    sw = truncation_sweep(sc, "k2", values, by_layer=True)
    for i, v in enumerate(values):
        rec = engine(replace(sc, k2=v))
        np.testing.assert_array_equal(sw.grid["node"][i], rec.delta_norms_by_layer)
        np.testing.assert_array_equal(sw.grid["time"][i], layer_grid(rec)["time"])
    assert np.all(sw.grid["node"][0][:, :20] == 0) and np.all(sw.grid["node"][2] > 0)    # k2 = T reaches every node


@pytest.mark.parametrize("L", [2, 3])
def test_lesson_1_at_a_stack_has_the_live_grid_and_the_static_one_for_export(L):
    at = open_app(L1, layers=str(L), T="40")
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    assert "top layer only" not in captions and "draws the top layer" not in captions
    assert "along time within a layer and down from the layer above" in captions
    ids = [c.proto.id for c in at.get("plotly_chart")]
    assert any(i.endswith("stacked_grid") for i in ids) and not any(i.endswith("unrolled") for i in ids)
    assert at.expander[0].label == "The same grid as a static chart (PNG and HTML for slides)"


def test_lesson_1_at_one_layer_reads_as_before():
    at = open_app(L1, T="40")
    assert_clean(at)
    cap = [c.value for c in at.caption if c.value.startswith("**What to notice:**")]
    assert cap[0] == ("**What to notice:** each h_t's colour is ‖δ_t‖ and each recurrent arrow's width and colour the "
                   "gradient it carries back, both on log scales; they fade with every step back when the scale is "
                   "below 1 and bloom above it. The strip above the graph is ‖δ_t‖ over the whole sequence: drag it "
                   "to move the window.")
    ids = [c.proto.id for c in at.get("plotly_chart")]
    assert any(i.endswith("unrolled") for i in ids) and not any(i.endswith("stacked_grid") for i in ids)
