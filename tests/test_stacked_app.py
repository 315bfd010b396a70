"""Stacked networks in the app (issue #17): the Layers setting (URL, sidebar, link notice), lesson 1's layers × time
grid, lesson 2's heatmap and per-layer lag chart, the architectures page's same-parameter-count comparison, and
the shortest-path formula — each chart's data checked against the engine's numbers."""
import json
import re
from collections import deque

import numpy as np
import pandas as pd
import pytest
from plotly.utils import PlotlyJSONEncoder
from test_app import assert_clean, charts, open_app
from test_links import link_notice, open_link

import explorer as ex
from explorer.architectures import same_budget
from explorer.bptt import step_norms
from explorer.depth_paths import lag_by_layer, layer_step_norms, matched_hidden, parameter_count, shortest_path_length
from explorer.figures import depth_figs as dfg
from explorer.figures import gradient_flow as gf
from explorer.figures import summaries, unrolled
from explorer.model import build_model
from explorer.scenario import Scenario
from explorer.sweeps import _rescaler, scale_sweep
from ui import compute
from ui.params import BY_KEY
from ui.presets import BY_SLUG

L1, L2, L6 = "pages/1_Unrolled_graph.py", "pages/2_Gradient_flow.py", "pages/6_Architectures.py"


def same(a: dict, b: dict) -> bool:
    """Two figure dicts are equal, every number included (arrays as Plotly serialises them)."""
    return json.dumps(a, cls=PlotlyJSONEncoder, sort_keys=True) == json.dumps(b, cls=PlotlyJSONEncoder, sort_keys=True)


def rec_of(sc: Scenario, **kw):
    model, X, y, mask, loss = sc.build()
    return ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation(), **kw)


def chart_by_key(at, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
    assert len(found) == 1, (key, [c.proto.id for c in at.get("plotly_chart")])
    return json.loads(found[0].proto.spec)


def assert_equations_clean(at):
    assert at.latex and not [x.value for x in at.latex if re.search(r"[\x00-\x09\x0b-\x1f]", x.value)], \
        "no equation holds a control character (a '\\t' or '\\f' that lost its backslash)"


def summary_of(at, key: str) -> str:
    found = [m.value for m in at.markdown if f'data-chart="{key}"' in m.value]
    assert len(found) == 1, key
    return found[0]


# ---- the shortest path ----------------------------------------------------------------------------------------

def bfs_lengths(T: int, L: int) -> np.ndarray:
    """Edges of the unrolled stack, walked backwards from ℓ_{T−1}'s node h_{T−1}^{(L−1)}: h_t^{(l)} → h_{t−1}^{(l)}
    (a temporal Jacobian) and h_t^{(l)} → h_t^{(l−1)} (a depth Jacobian); dist[l, t] in Jacobians."""
    dist = np.full((L, T), -1)
    dist[L - 1, T - 1] = 0
    q = deque([(L - 1, T - 1)])
    while q:
        l, t = q.popleft()
        for nl, nt in ((l, t - 1), (l - 1, t)):
            if nl >= 0 and nt >= 0 and dist[nl, nt] < 0:
                dist[nl, nt] = dist[l, t] + 1
                q.append((nl, nt))
    return dist


@pytest.mark.parametrize("T", [1, 2, 5, 17])
@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_the_shortest_path_formula_is_a_bfs_over_the_grid(T, L):
    t, l = np.meshgrid(np.arange(T), np.arange(L))
    assert np.array_equal(shortest_path_length(t, l, T, L), bfs_lengths(T, L))
    with pytest.raises(ValueError):
        shortest_path_length(T, 0, T, L)


@pytest.mark.parametrize("L", [1, 2, 3])
def test_the_heatmap_draws_the_iso_path_lines_at_their_lengths(L):
    sc = Scenario(layers=L, T=40)
    fig, df = dfg.layer_time_heatmap(rec_of(sc))
    line = fig["data"][1]
    xs, ys = np.array(line["x"], dtype=float), np.array(line["y"], dtype=float)
    labels = [int(a["text"][2:]) for a in fig["layout"]["annotations"]]
    assert 0 in labels and len(labels) >= 3
    for (x0, x1, _), (y0, y1, _), d in zip(xs.reshape(-1, 3), ys.reshape(-1, 3), labels, strict=True):
        for l in range(L):                         # where the line crosses row l's centre: a cell d Jacobians away
            t = x0 + (x1 - x0) * (l - y0) / (y1 - y0)
            assert t == round(t)
            if 0 <= t < sc.T:                      # (the line n = 0 leaves the plot right after the top row)
                assert shortest_path_length(int(t), l, sc.T, L) == d
        assert 0 <= x1 + 0.5 < sc.T, "every drawn line crosses the top row inside the plot"


# ---- the engine's split of δ and the charts' data -------------------------------------------------------------

@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("L", [1, 2, 3])
def test_delta_is_what_comes_from_above_plus_what_comes_through_time(cell, L):
    sc = Scenario(cell=cell, layers=L, T=25, target="every_squared", scheme="tbptt", k1=4, k2=7)
    rec = rec_of(sc)
    n = layer_step_norms(rec)
    assert np.allclose(n["norm_delta"], rec.delta_norms_by_layer)
    top = step_norms(rec)
    for k in ("norm_delta", "norm_direct", "norm_through_J"):
        assert np.allclose(n[k][-1], top[k])
    if L > 1:                    # what layer l + 1 sends down is W_xh^(l+1)ᵀ dA_ih^(l+1), the depth edge's gradient
        p = rec.trace.model.layer_params(1)
        assert np.allclose(n["norm_direct"][0], np.linalg.norm(rec.runs[1][0].dA_ih[:, 0] @ p["W_xh"], axis=-1))
        # with no loss below the top, the bottom layer's δ at the last step is exactly what came from above
        assert n["norm_through_J"][0, -1] == 0


@pytest.mark.parametrize("L", [2, 3])
def test_the_grid_draws_every_node_with_its_delta(L):
    sc = Scenario(layers=L, T=30, scheme="tbptt", k1=5, k2=8)
    rec = rec_of(sc)
    fig, df = unrolled.stacked_graph(rec, start=10, stop=30)
    h = fig["data"][-1]
    assert len(h["x"]) == L * 20 and set(h["y"]) == {1.0 + l for l in range(L)}
    norms = rec.delta_norms_by_layer[:, 10:30].ravel()
    fin = norms > 0                                  # TBPTT(5, 8) on the last loss: earlier nodes get no gradient
    assert 0 < fin.sum() < norms.size
    got = np.array(h["marker"]["color"], dtype=float)
    assert np.allclose(got[fin], np.log10(norms[fin]))
    assert np.allclose(df["norm_delta"], norms, rtol=1e-13, atol=0)
    ticks = fig["layout"]["yaxis"]["ticktext"]
    assert ticks[1] == "h_t^(0)" and ticks[L] == f"h_t^({L - 1})" and ticks[-2:] == ["y_t", "ℓ_t"]
    # vertical (depth) and horizontal (time) edges are both drawn
    segs = [(x0, x1) for t in fig["data"][1:-4] for x0, x1 in zip(t["x"][::3], t["x"][1::3])]
    assert any(x0 == x1 for x0, x1 in segs) and any(x1 > x0 for x0, x1 in segs)
    assert fig["layout"]["shapes"], "the truncation's cuts are marked"
    text = summaries.stacked_grid(df)
    assert f"{L} layers × 20 steps" in text


def test_the_lag_lines_differ_by_dash_and_marker_and_are_the_engines():
    sc = Scenario(layers=3, T=30, target="every_squared")
    last = compute.last_loss_record(sc)
    assert np.all(last.trace.mask[:-1] == 0) and last.trace.mask[-1, 0] == 1
    fig, df = dfg.layer_lag_lines(lag_by_layer(last))
    looks = {(t["line"]["dash"], t["marker"]["symbol"]) for t in fig["data"]}
    assert len(looks) == 3 and fig["layout"]["yaxis"]["type"] == "log"
    for l in range(3):
        assert np.allclose(df[f"norm_layer{l}"], last.delta_norms_by_layer[l, ::-1])
    text = summaries.layer_lags(df)
    assert text.count("layer ") == 3 and "at lag 0" in text


# ---- the Layers setting ---------------------------------------------------------------------------------------

def test_layers_is_a_scenario_field_with_its_url_name_and_range():
    p = BY_KEY["layers"]
    assert (p.default, p.lo, p.hi, p.kind) == (1, 1, 4, "int")
    assert p.parse("3") == 3 and p.parse("5") is None and p.parse("0") is None and p.parse("two") is None
    assert Scenario.from_settings({"layers": 3}).model().num_layers == 3
    with pytest.raises(ValueError):
        Scenario(layers=5)


def test_one_layer_builds_the_model_it_always_built():
    sc = Scenario(T=40, target="every_squared")
    old = build_model(sc.cell, 3, sc.hidden, 2, activation=sc.activation, init=sc.init, scale=sc.scale,
                      scale_kind=sc.scale_kind, seed=sc.seed)
    new = sc.model()
    assert not new.stacked and new.params.keys() == old.params.keys()
    assert all(np.array_equal(new.params[k], old.params[k]) for k in old.params)
    X, y, mask = sc.data()
    before = ex.bptt(old, X, y, loss=sc.loss, mask=mask)
    after = compute.record(sc)
    for f in (gf.delta_norms, gf.delta_heatmap, gf.step_terms):
        assert same(f(before)[0], f(after)[0]), f.__name__       # the figures are the same, bit for bit
    assert same(unrolled.unrolled_graph(before)[0], unrolled.unrolled_graph(after)[0])


def test_the_sweeps_rescale_every_layer_as_build_model_does():
    for cell in ("rnn", "lstm", "indrnn"):
        sc = Scenario(cell=cell, layers=3, activation="relu" if cell == "indrnn" else "tanh", T=20)
        at = _rescaler(sc)
        for s in (0.5, 1.7):
            a, b = at(s).params, sc.model(scale=s).params
            assert all(np.allclose(a[k], b[k], rtol=1e-13, atol=0) for k in b)
    sc = Scenario(layers=2, T=20)
    sw = scale_sweep(sc, [0.9], [0, 5], spectrum=False)
    assert np.allclose(sw.steps["norm_delta"][0], rec_of(sc).delta_norms)     # the live view: the top layer


@pytest.mark.parametrize("value", ["3"])
def test_layers_round_trips_through_the_url(value):
    at = open_link(L2, {"layers": value})
    assert_clean(at)
    assert at.slider(key="w_layers").value == int(value)
    assert at.query_params["layers"] == [value] or at.query_params["layers"] == value
    assert not link_notice(at)
    home = open_app()
    assert "layers" not in home.query_params, "the default is left out of the link"
    home.slider(key="w_layers").set_value(2).run()
    assert home.query_params["layers"] in ("2", ["2"])


@pytest.mark.parametrize("bad", ["7", "0", "two"])
def test_a_nonsense_layers_value_gives_the_link_notice(bad):
    at = open_link(L2, {"layers": bad})
    assert_clean(at)
    assert at.slider(key="w_layers").value == 1
    assert f"layers='{bad}'" in link_notice(at)


# ---- the pages at L = 2 and 3 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("L", [2, 3])
def test_lesson_1_draws_the_grid(L):
    at = open_app(L1, layers=str(L), T="40")
    assert_clean(at)
    assert_equations_clean(at)
    sc = Scenario(layers=L, T=40)
    spec = chart_by_key(at, "stacked_grid")
    rec = compute.record(sc)
    h = spec["data"][-1]
    assert len(h["x"]) == L * 30
    got = np.array(h["marker"]["color"], dtype=float)
    assert np.allclose(got, np.log10(rec.delta_norms_by_layer[:, 10:40]).ravel())
    assert "δ_t^(l)" in summary_of(at, "stacked_grid") or "layers ×" in summary_of(at, "stacked_grid")
    assert not any("draws the top layer" in c.value for c in at.caption)     # the live view draws the whole grid
    assert not any(c.proto.id.endswith("unrolled") for c in at.get("plotly_chart"))   # (tests/test_live_grid.py)


@pytest.mark.parametrize("L", [2, 3])
def test_lesson_2_draws_the_layer_heatmap_and_the_lag_lines(L):
    at = open_app(L2, layers=str(L), T="60")
    assert_clean(at)
    assert_equations_clean(at)
    sc = Scenario(layers=L, T=60)
    spec = chart_by_key(at, "layer_time")
    z = np.array(spec["data"][0]["z"], dtype=float)
    assert z.shape == (L, 60)
    assert np.allclose(z, np.log10(compute.record(sc).delta_norms_by_layer))
    lines = chart_by_key(at, "layer_lags")
    last = compute.last_loss_record(sc)
    assert len(lines["data"]) == L
    for t in lines["data"]:
        l = int(t["name"].split()[1])
        assert np.allclose(np.array(t["y"], dtype=float), last.delta_norms_by_layer[l, ::-1])
    assert any(r"\ell_{T-1}" in x.value and "(L - 1 - l)" in x.value for x in at.latex)
    assert summaries.layer_heatmap(pd.DataFrame(compute.record(sc).delta_norms_by_layer, index=pd.Index(
        range(L), name="layer"), columns=[f"t{k}" for k in range(60)])) in summary_of(at, "layer_time")
    assert len(charts(at)) == 5 + 2


def test_lesson_2_at_one_layer_has_no_depth_charts():
    at = open_app(L2)
    assert_clean(at)
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith(("layer_time", "layer_lags"))]
    assert len(charts(at)) == 5


@pytest.mark.parametrize("L", [2, 3])
def test_the_architectures_page_sets_a_stack_against_one_layer(L):
    at = open_app(L6, layers=str(L), T="60", H="24")
    assert_clean(at)
    assert_equations_clean(at)
    sc = Scenario(layers=L, T=60, hidden=24)
    spec = chart_by_key(at, "same_budget")
    X, y, _ = sc.data()
    sb = same_budget(X, y, 24, layers=(1, 2, 3), cell=sc.cell, loss=sc.loss, activation=sc.activation,
                     init=sc.init, scale=sc.scale, scale_kind=sc.scale_kind, seed=sc.seed)
    assert [t["name"] for t in spec["data"]] == sb.names()
    for t, v in zip(spec["data"], sb.lag_norms):
        assert np.allclose(np.array(t["y"], dtype=float), v)
    one = parameter_count("rnn", 3, 24, 2, 1)
    assert sb.counts[0] == one and sb.hidden[0] == 24
    for L_, h, n in zip(sb.layers[1:], sb.hidden[1:], sb.counts[1:]):
        assert n == parameter_count("rnn", 3, h, 2, L_)
        # no other width comes closer to the single layer's count
        assert all(abs(parameter_count("rnn", 3, k, 2, L_) - one) >= abs(n - one) for k in range(1, 25))
        assert build_model("rnn", 3, h, 2, num_layers=L_).param_shapes()    # a real network of that shape
    cap = " ".join(c.value for c in at.caption)
    assert all(f"{n}" in cap for n in sb.counts), "both (all) parameter counts are said"


def test_matched_widths_are_closest():
    for cell in ("rnn", "lstm", "gru"):
        for L in (2, 3, 4):
            h, n = matched_hidden(cell, 3, 40, 2, L)
            target = parameter_count(cell, 3, 40, 2, 1)
            assert n == parameter_count(cell, 3, h, 2, L) and h < 40
            assert all(abs(parameter_count(cell, 3, k, 2, L) - target) >= abs(n - target) for k in range(1, 41))


# ---- the preset -----------------------------------------------------------------------------------------------

def test_the_depth_and_time_presets_sentences_are_true_of_its_data():
    p = BY_SLUG["depth-and-time"]
    sc = Scenario.from_settings(p.params)
    assert (sc.layers, sc.T, sc.target) == (3, 50, "last_squared") and p.page == L2
    assert shortest_path_length(0, 0, sc.T, sc.layers) == 51 == (sc.T - 1) + (sc.layers - 1)
    assert "= 51 Jacobians, only 2 of them through depth" in p.story
    n = compute.record(sc).delta_norms_by_layer
    assert np.all(np.log10(n[:, -1] / n[:, 0]) > 3), "every layer fades by more than 3 decades to t = 0"
    lag = lag_by_layer(compute.last_loss_record(sc))
    assert np.argmax(lag[:, 0]) == sc.layers - 1, "the top layer holds the most at lag 0"
    assert np.argmax(lag[:, sc.T - 1]) == 0 and "lag 49" in p.notice, "the bottom layer the most at lag 49"
    at = open_app(p.page, **p.url_params())
    assert_clean(at)
    chart_by_key(at, "layer_time")


@pytest.mark.parametrize("page", ["pages/3_Vanishing_and_exploding.py", "pages/4_Truncation.py",
                                  "pages/5_Training_lab.py", "pages/7_Cost_of_a_gradient.py",
                                  "pages/9_Online_learning.py"])
def test_every_other_page_works_with_a_stack(page):
    """No page shows an error at Layers = 2 (lesson 4's adaptive K once failed on a stack's (L, B, S) state and
    lesson 8's rules on its layers); those that use one layer say so."""
    at = open_app(page, layers="2", T="40")
    assert_clean(at)
    if page.endswith("9_Online_learning.py"):
        shown = [m.value for kind in (at.markdown, at.caption, at.info, at.warning) for m in kind]
        assert any("one recurrent layer, not the sidebar's 2" in v for v in shown), shown
