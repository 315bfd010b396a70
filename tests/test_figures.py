"""The figure builders are pure: engine results in, (figure, data) out — checked without a browser."""
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import explorer as ex
from explorer import cliff
from explorer.figures import gradient_flow as gf
from explorer.figures import training_figs as trf
from explorer.figures import truncation_figs as tf
from explorer.figures import unrolled
from explorer.figures import vanishing as vf
from explorer.figures.style import COLORS, DIVERGING_HIGH, DIVERGING_LOW, log_ticks
from explorer.scenario import Scenario


def fig_of(f):
    return go.Figure(f) if isinstance(f, dict) else f


def axis_titles(fig):
    lay = fig.layout
    return lay.xaxis.title.text, lay.yaxis.title.text


@pytest.fixture(scope="module")
def rec():
    sc = Scenario(T=50, scheme="tbptt", k1=5, k2=8)
    model, X, y, mask, loss = sc.build()
    return ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation())


def assert_explicit_colour_scales(d):
    """Every colour scale in a figure dict is written out as [position, colour] stops (plotly.js and plotly.py
    read some named scales in opposite directions), and none is reversed by a flag."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k == "colorscale":
                assert isinstance(v, list) and all(isinstance(s, list) and len(s) == 2 for s in v), v
                assert v[0][0] == 0 and v[-1][0] == 1
            assert k != "reversescale", "reversed scale: spell the stops out in the order meant"
            assert_explicit_colour_scales(v)
    elif isinstance(d, list):
        for v in d:
            assert_explicit_colour_scales(v)


def test_the_phase_maps_low_end_is_its_vanishing_colour():
    f, _ = vf.phase_map(np.array([0.5, 2.0]), np.array([1, 8]), np.array([[-3.0, -8.0], [1.0, 8.0]]), 1.0)
    scale = f["data"][0]["colorscale"]
    assert scale[0][1] == "#08306b" and scale[-1][1] == COLORS["red"]       # low blue, high orange-red
    assert (DIVERGING_LOW, DIVERGING_HIGH) == ("blue", "orange-red")
    assert f["data"][0]["zmid"] == 0


def assert_told_apart_without_colour(d: dict, name: str = ""):
    """Series a legend names are distinguishable without colour: no two visible line traces share both their
    dash and their marker symbol (Okabe–Ito colours alone do not survive greyscale printing or every deficiency)."""
    looks = []
    for t in d.get("data", []):
        if t.get("type", "scatter") != "scatter" or t.get("showlegend") is False or not t.get("name"):
            continue
        mode = t.get("mode", "lines")
        line = t.get("line", {})
        if "lines" in mode and line.get("width", 2) > 0:
            marker = t.get("marker", {}).get("symbol", "circle") if "markers" in mode else None
            looks.append((t["name"], line.get("dash", "solid"), marker))
        elif "markers" in mode:
            looks.append((t["name"], "markers", t.get("marker", {}).get("symbol", "circle")))
    seen = {}
    for n, dash, marker in looks:
        assert (dash, marker) not in seen, f"{name}: {n!r} and {seen[(dash, marker)]!r} differ by colour only"
        seen[(dash, marker)] = n


@pytest.mark.parametrize("projector", [False, True])
def test_every_chart_has_labelled_axes_and_its_data(rec, projector):
    al = ex.all_losses_backward(rec.trace)
    sp = ex.weight_spectrum(rec.trace.model)
    jp = ex.jacobian_products(rec.trace)
    p = dict(projector=projector)
    scales, lags = np.array([0.5, 1.0, 1.5]), np.array([1, 2, 4])
    built = [gf.delta_norms(rec, **p), gf.delta_heatmap(rec, **p), gf.contribution_map(al.G, rec.mask(), **p), gf.contribution_map(al.G, rec.mask(), lag=7, **p),
             gf.step_terms(rec, **p), gf.connectivity(al.connectivity[-1], **p), vf.eigen_plane(sp, **p),
             vf.singular_values(sp, **p), vf.jacobian_norms(jp, sp, linear=False, **p),
             vf.phase_map(scales, lags, np.outer(np.log10(scales), lags), 1.0, **p),
             tf.bias_vs_k2(np.array([2, 4]), np.array([0.5, 0.9]), np.array([0.8, 0.1]), current=2, **p),
             unrolled.unrolled_graph(rec, start=20, stop=50, animate=False, **p),
             unrolled.unrolled_graph(rec, start=20, stop=50, **p)]
    for f, df in built:
        assert isinstance(f, dict)                          # plain dicts: the app sends them unvalidated ...
        assert_explicit_colour_scales(f)
        assert_told_apart_without_colour(f)
        fig = fig_of(f)                                     # ... so every property is validated here
        x, y = axis_titles(fig)
        assert x, "x axis needs a title"
        assert len(df) > 0
        assert fig.layout.font.size is None or fig.layout.font.size >= 16     # projector-legible (template)
        assert fig.layout.template.layout.font.size >= 17
        json.loads(pio.to_json(fig))                                           # serialisable as sent to the browser
    # log scales where values span decades
    assert fig_of(gf.delta_norms(rec)[0]).layout.yaxis.type == "log"
    assert fig_of(gf.connectivity(al.connectivity[-1])[0]).layout.yaxis.type == "log"


@pytest.fixture(scope="module")
def training_history():
    """A short run that clips some updates (norm, θ = 8: ‖g‖ falls from 11.5 to 5) and snapshots ‖δ_t‖."""
    from explorer.tasks import CopyTask
    from explorer.training import TrainConfig, Trainer
    cfg = TrainConfig(cell="rnn", hidden_size=8, batch_size=4, clip="norm", clip_threshold=8.0, snapshot_every=3)
    recs = list(Trainer(CopyTask(5, n_symbols=2, alphabet=3), cfg).run(12))
    assert any(r.clipped for r in recs) and not all(r.clipped for r in recs)
    return recs


@pytest.mark.parametrize("projector", [False, True])
def test_every_training_chart_is_a_valid_figure_with_its_data(training_history, projector):
    """The four live charts of the training lab, validated as Plotly figures like every other builder."""
    recs = training_history
    df = trf.history(recs)
    snaps = [(r.step, r.delta_norms) for r in recs if r.delta_norms is not None]
    p = dict(projector=projector)
    built = {"loss": trf.loss_curve(df, task_label="copy", **p),
             **{f"grad norms, clip {c}": trf.grad_norms(df, clip=c, threshold=8.0, **p)
                for c in ("off", "norm", "value")},
             "delta": trf.delta_over_training(np.array([s for s, _ in snaps]), [v for _, v in snaps], **p),
             "delta, ragged": trf.delta_over_training(np.array([3, 6]), [np.ones(4), np.ones(6)], **p),
             "spectrum": trf.spectrum_over_training(df, **p)}
    for name, (f, data) in built.items():
        assert isinstance(f, dict), name                    # plain dicts: the app sends them unvalidated ...
        assert_explicit_colour_scales(f)
        assert_told_apart_without_colour(f, name)
        fig = go.Figure(f)                                  # ... so every property is validated here
        x, y = axis_titles(fig)
        assert x == "update" and y, name
        assert len(data) > 0, name
        assert fig.layout.template.layout.font.size == (21 if projector else 17), name
        json.loads(pio.to_json(fig))                        # serialisable as sent to the browser
    assert len(built["loss"][1]) == len(recs)
    np.testing.assert_array_equal(built["loss"][1]["loss"], [r.loss for r in recs])
    assert [len(built[f"grad norms, clip {c}"][0]["data"]) for c in ("off", "value")] == [1, 3]   # + after, marks
    assert built["delta"][1].shape == (len(snaps), len(snaps[0][1]))
    assert np.isnan(built["delta, ragged"][1].iloc[0, 4:]).all()    # shorter snapshots padded with gaps


def test_chart_data_is_what_the_engine_computed(rec):
    fig, df = gf.delta_norms(rec)
    fig = fig_of(fig)
    np.testing.assert_array_equal(df["norm_dL_dh"], rec.delta_norms)
    np.testing.assert_array_equal(fig.data[0].y, rec.delta_norms)          # finite here: drawn as computed
    al = ex.all_losses_backward(rec.trace)
    fig, df = gf.contribution_map(al.G, rec.mask())
    fig = fig_of(fig)
    assert len(fig.data) == 2                                # the map and the grey "cut" overlay
    cut = np.asarray(fig.data[1].z, dtype=float)
    M = rec.mask()
    lower = np.tril(np.ones_like(M, dtype=bool))
    has_loss = (al.G > 0).any(axis=1, keepdims=True)
    assert np.array_equal(np.isfinite(cut), (M == 0) & lower & has_loss)
    T = al.G.shape[0]
    line = fig_of(gf.contribution_map(al.G, rec.mask(), lag=7)[0]).data[2]     # the lag-K diagonal k = t − 7
    assert list(line.x) == [0, T - 8] and list(line.y) == [7, T - 1] and line.text[-1] == "lag K = 7"
    assert line.line.dash == "longdash"
    assert len(gf.contribution_map(al.G, rec.mask(), lag=T)[0]["data"]) == 2      # no line outside the map


def test_unrolled_graph_animates_backward_and_marks_the_cuts(rec):
    d, df = unrolled.unrolled_graph(rec, start=20, stop=50)
    assert isinstance(d, dict) and len(d["frames"]) == 31               # 0 … 30 backward steps
    fig = go.Figure(d)                                                   # frames/sliders are valid Plotly
    assert fig.layout.updatemenus[0].buttons[0].label.startswith("▶")
    first, last = d["frames"][0]["data"][0]["marker"]["opacity"], d["frames"][-1]["data"][0]["marker"]["opacity"]
    assert np.all(np.asarray(first) < 1) and np.all(np.asarray(last) == 1)
    cuts = unrolled.cut_positions(rec.scheme, rec.T)
    # TBPTT(5, 8): updates at τ = 5, 10, …, 50 each reach back to τ − 8, so the chain is cut just before it
    assert cuts == [tau - 8 - 0.5 for tau in range(5, 51, 5) if tau - 8 > 0]
    shapes = [s for s in fig.layout.shapes if s.type == "line"]
    assert {round(s.x0, 1) for s in shapes} == {c for c in cuts if 19.5 <= c <= 49.5}
    # the hover text holds the equation with this step's numbers
    h = [t for t in d["data"] if t.get("marker", {}).get("colorscale")][-1]
    assert "δ_49 = W_hyᵀ ∂ℓ_49/∂y_49" in h["text"][-1]
    row = df.iloc[-1]
    assert row.norm_delta == pytest.approx(rec.delta_norms[49])


def test_bias_and_randomized_charts():
    k2s = np.array([2, 4, 8])
    fig, df = tf.bias_vs_k2(k2s, np.array([0.5, 0.9, 1.0]), np.array([0.8, 0.3, 1e-12]), current=4)
    assert list(df["k2"]) == [2, 4, 8] and fig_of(fig).layout.yaxis2.type == "log"
    fig, df = tf.randomized_spread(np.array([0.5, 0.6, 0.4]), np.array([0.5, 0.3, 0.2]))
    assert fig_of(fig).layout.xaxis.type == "log" and len(df) == 3


def test_cliff_surface_and_clipping():
    w, b = np.linspace(0, 10, 41), np.linspace(-6, 1, 29)
    E = cliff.surface(w, b)
    assert E.shape == (29, 41) and np.all((E >= 0) & (E <= 0.49))
    for w0, b0 in [(5.0, -2.5), (3.0, -1.0), (8.0, -4.9)]:
        _, dw, db = cliff.loss_and_grad(w0, b0)
        e = 1e-6
        fw = (cliff.loss_and_grad(w0 + e, b0)[0] - cliff.loss_and_grad(w0 - e, b0)[0]) / (2 * e)
        fb = (cliff.loss_and_grad(w0, b0 + e)[0] - cliff.loss_and_grad(w0, b0 - e)[0]) / (2 * e)
        assert dw == pytest.approx(fw, rel=1e-5, abs=1e-9) and db == pytest.approx(fb, rel=1e-5, abs=1e-9)
    plain = cliff.descent(4.5, -2.6, lr=0.5, n=40)
    clipped = cliff.descent(4.5, -2.6, lr=0.5, n=40, clip=1.0)
    assert plain.grad_norm.max() > 5 and len(plain.w) < 41                 # thrown off the map by the wall
    steps = np.hypot(np.diff(clipped.w), np.diff(clipped.b))
    assert np.all(steps <= 0.5 * 1.0 + 1e-12) and clipped.clipped.any()     # clipped steps never exceed lr·θ
    fig, df = vf.cliff(w, b, E, {"plain gradient descent": plain, "clipped": clipped})
    fig_of(fig)
    assert set(df["path"]) == {"plain gradient descent", "clipped"}


def test_scenario_is_deterministic_and_validated():
    a, b = Scenario(seed=3).build(), Scenario(seed=3).build()
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0].params["W_hh"], b[0].params["W_hh"])
    assert ex.weight_spectrum(a[0]).rho == pytest.approx(0.9)
    with pytest.raises(ValueError, match="activation"):
        Scenario(cell="lstm", activation="relu")
    with pytest.raises(ValueError, match="T"):
        Scenario(T=0)


@pytest.mark.parametrize("sc", [Scenario(), Scenario(cell="lstm", scale=1.8, T=60), Scenario(cell="gru", scale=2.5),
                                Scenario(activation="relu", init="gaussian", scale_kind="sigma1", scale=1.2),
                                Scenario(cell="lstm", init="gaussian", scale=3.0, T=80),
                                Scenario(cell="lstm", scale=0.4, T=60)])          # (this one crosses, at lag 3)
def test_the_lag_charts_sentence_is_true_of_its_data(sc):
    """'Stays under the red bound' or 'crosses it at lag L' is what the drawn numbers do; the coincidence remark
    appears exactly when the two lines are the same."""
    model, X, y, mask, loss = sc.build()
    jp = ex.jacobian_products(ex.forward(model, X, y, loss=loss, mask=mask))
    sp = ex.weight_spectrum(model)
    text = vf.jacobian_norms_notice(jp, sp, sc.cell)
    bound = jp.lags * np.log10(sp.sigma1 * sp.gamma)
    over = jp.log10_norm > bound + 1e-9 * np.maximum(1, np.abs(bound))
    if over.any():
        L = int(jp.lags[np.argmax(over)])
        assert f"crosses the red bound at lag {L}:" in text and not over[:np.argmax(over)].any()
    else:
        assert "stays under the red bound at every lag drawn" in text
    assert ("coincide" in text) == bool(np.isclose(sp.sigma1 * sp.gamma, sp.rho, rtol=1e-9))
    if sc.cell == "rnn":
        assert not over.any()                                 # Pascanu's bound holds for the vanilla RNN


@pytest.mark.parametrize("lo,hi", [(-12.0, 0.5), (0.2, 0.6), (-2.3, -1.5), (0.31, 0.35), (2.1, 2.9), (-0.5, 0.5)])
def test_a_log_colour_bar_always_has_two_numbers_in_its_range(lo, hi):
    vals, labels = log_ticks(lo, hi)
    inside = [(v, t) for v, t in zip(vals, labels, strict=True) if lo - 1e-9 <= v <= hi + 1e-9]
    assert len(inside) >= 2, (vals, labels)
    for v, t in inside:                                      # each label is the value it sits at
        assert float(t) == pytest.approx(10 ** v, rel=0.03), (v, t)


def test_what_lesson_4_says_a_cut_means_is_what_the_masks_do():
    """TBPTT: a cut at lo − ½ stops that update's losses (M = 0 below lo) while an earlier update's losses cross it;
    randomized: a transition with ξ = 0 is crossed by no later loss."""
    T = 40
    tb = ex.TBPTT(5, 10)
    M = tb.mask(T)
    crossed_by_earlier = 0
    for w in tb.windows(T):
        if w.lo == 0:
            continue
        assert not M[w.loss_lo:w.hi + 1, :w.lo].any()               # this update's losses stop at the cut
        crossed_by_earlier += bool(M[:w.loss_lo, :w.lo].any() and M[w.lo - 1:w.loss_lo, w.lo - 1].any())
    assert crossed_by_earlier > 0                                  # "earlier updates' losses still do"
    rnd = ex.Randomized(0.5, seed=3)
    Mr, xi = rnd.mask(T), rnd.xi(T)
    for j in range(1, T):
        if xi[j] == 0:                                              # the transition into step j is cut …
            assert not Mr[j:, :j].any()                             # … for every loss at or after it


def test_the_gate_charts_sentence_is_read_from_the_gates():
    from explorer.figures import architecture_figs as af
    rng = np.random.default_rng(0)
    lstm = {"i": rng.uniform(0.4, 0.6, (20, 4)), "f": rng.uniform(0.7, 0.75, (20, 4)),
            "g": rng.uniform(-0.1, 0.1, (20, 4)), "o": rng.uniform(0.45, 0.55, (20, 4))}
    text = af.gate_notice(lstm, 1.0)
    for k in ("i", "f", "o"):
        assert f"{k} = {lstm[k].mean():.2f}" in text
    assert "forget gate higher, from its bias of 1" in text and f"candidate g near {lstm['g'].mean():.2f}" in text
    gru = {"r": np.full((5, 3), 0.3), "z": np.full((5, 3), 0.6), "n": np.zeros((5, 3))}
    text = af.gate_notice(gru, 1.0)
    assert "r = 0.30, z = 0.60" in text and "forget" not in text
    fig, df = af.gate_activations(gru)
    assert [t["line"]["dash"] for t in fig["data"] if t.get("name")] == ["solid", "dash", "dot"]   # not by colour alone
    assert df["t"].iloc[0] == 0                                      # steps counted as everywhere else


def test_the_cliffs_legend_and_an_exports_title_have_their_own_room():
    import re

    from ui.blocks import standalone_html
    w, b = np.linspace(0, 10, 21), np.linspace(-6, 1, 15)
    paths = {"plain gradient descent": cliff.descent(4.5, -2.6, lr=0.5, n=5),
             "clipped": cliff.descent(4.5, -2.6, lr=0.5, n=5, clip=1.0)}
    f, _ = vf.cliff(w, b, cliff.surface(w, b), paths)
    legend = f["layout"]["legend"]
    assert legend["orientation"] == "h" and legend["y"] > 1          # above the plot, not on the colour bar
    assert [t["line"]["dash"] for t in f["data"][1:]] == ["solid", "dash"]
    html = standalone_html(f, "A title")
    layout = json.loads(re.search(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{', html, re.S)
                        .group(2))
    assert layout["title"]["text"] == "A title" and layout["margin"]["t"] >= f["layout"]["margin"]["t"] + 50
