"""Architectures side by side: the engine's comparison (carousel, gates, zero gradients, both directions), its
charts, and the page in AppTest (defaults, extreme settings, the race through its buttons and its timer)."""
import numpy as np
import plotly.graph_objects as go
import pytest
from test_app import assert_clean, charts, open_app
from test_figures import assert_told_apart_without_colour

import explorer as ex
from explorer import architectures as arch
from explorer import tasks
from explorer.figures import architecture_figs as af
from explorer.training import TrainConfig, Trainer

PAGE = "pages/6_Architectures.py"


@pytest.fixture(scope="module")
def cmp():
    X = np.random.default_rng(0).standard_normal((40, 1, 3))
    return arch.compare(X, 8, rho=0.9, seed=1)


def test_every_contender_is_measured_on_every_lag(cmp):
    assert [p.name for p in cmp.profiles] == [c.name for c in arch.contenders(0.9)]
    for p in cmp.profiles:
        assert p.lags.tolist() == list(range(41))
        assert p.log10_norm[0] == pytest.approx(0.0, abs=1e-12)          # ∂h_t/∂h_t = I
    rnn = cmp.profiles[0]                                                # tanh, ρ = 0.9 < 1: must vanish
    assert rnn.log10_norm[-1] < -1


def test_profiles_match_an_explicit_jacobian_product():
    X = np.random.default_rng(2).standard_normal((12, 1, 3))
    for c in arch.contenders(0.9):
        model = c.build(3, 5, 1, 3)
        prof, = arch.lag_profiles({c.name: model}, X)
        tr = ex.forward(model, X, np.zeros((12, 1, 1)), loss="squared_error", mask=np.zeros((12, 1)))
        J = ex.step_jacobians(tr)                                        # (T, S, S): ∂s_t/∂s_{t−1}
        H = model.hidden_size
        P = np.eye(J.shape[1])
        for lag in range(1, 13):
            P = P @ J[12 - lag]
            want = np.linalg.norm(P[:H, :H], 2)
            got = 10 ** prof.log10_norm[lag]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-300), (c.name, lag)


def test_carousel_is_the_product_of_forget_gates():
    X = np.random.default_rng(3).standard_normal((15, 1, 3))
    model = ex.build_model("lstm", 3, 4, 1, seed=0)
    tr = ex.forward(model, X, np.zeros((15, 1, 1)), loss="squared_error", mask=np.zeros((15, 1)))
    f = arch.gate_activations(tr)["f"]
    lags = np.arange(16)
    got = arch.carousel_log10(tr, lags)
    want = [np.log10(np.max(np.prod(f[15 - k:], axis=0))) for k in lags]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gates_are_the_cells_own_gates(cmp):
    lstm = cmp.gates["LSTM"]
    assert set(lstm) == set("ifgo") and set(cmp.gates["GRU"]) == set("rzn")
    for k in "ifo":
        assert np.all((lstm[k] > 0) & (lstm[k] < 1))
    assert np.all(np.abs(lstm["g"]) < 1)
    # step 1 from s_0 = 0: the forget gate is σ(W_xf x_1 + b_f), with the bias of 1
    X = np.random.default_rng(0).standard_normal((40, 1, 3))
    m = arch.contenders()[2].build(3, 8, 1, 1)
    H = 8
    pre_f = m.params["W_xh"][H:2 * H] @ X[0, 0] + m.params["b_h"][H:2 * H]
    np.testing.assert_allclose(lstm["f"][0], 1 / (1 + np.exp(-pre_f)), rtol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_gate_activations_are_named_and_ordered_by_the_cell(cell):
    model = ex.build_model(cell, 3, 4, 1, activation="relu" if cell == "indrnn" else "tanh", seed=0)
    tr = ex.forward(model, np.ones((5, 2, 3)), np.zeros((5, 2, 1)), loss="squared_error")
    got = arch.gate_activations(tr)
    if model.cell.n_gates == 1:
        assert got == {}
        return
    assert list(got) == list(model.cell.gate_names)
    np.testing.assert_array_equal(np.concatenate(list(got.values()), axis=1), tr.cache.extras["gates"][:, 0])


def test_relu_gradients_that_die_are_reported_as_zero():
    # IndRNN with ReLU and many steps: each unit is off at some step, so the product is exactly 0
    X = np.random.default_rng(0).standard_normal((200, 1, 3))
    c = arch.contenders()[4]
    prof, = arch.lag_profiles({c.name: c.build(3, 4, 1, 0)}, X)
    assert np.isneginf(prof.log10_norm[-1])
    fig, _ = af.lag_profiles([prof])
    assert any(t.get("text") == ["→ 0"] for t in fig["data"]), "the chart marks where the gradient became 0"


def test_two_ways_sends_gradient_back_and_forward_from_the_loss():
    X = np.random.default_rng(1).standard_normal((30, 1, 3))
    tw = arch.two_ways(X, 12, hidden_size=6, seed=2)
    assert np.all(tw.forward_norms[13:] == 0) and np.all(tw.forward_norms[:13] > 0)
    assert np.all(tw.backward_norms[:12] == 0) and np.all(tw.backward_norms[12:] > 0)
    assert tw.forward_norms[0] < tw.forward_norms[12] and tw.backward_norms[-1] < tw.backward_norms[12]
    with pytest.raises(ValueError, match="at"):
        arch.two_ways(X, 30)


@pytest.mark.parametrize("projector", [False, True])
def test_charts_validate_and_label_their_axes(cmp, projector):
    X = np.random.default_rng(1).standard_normal((30, 1, 3))
    built = [af.lag_profiles(cmp.profiles, projector=projector),
             af.cell_state_path(cmp.profiles[2], cmp.cell_state, cmp.carousel, projector=projector),
             af.gate_activations(cmp.gates["LSTM"], projector=projector),
             af.race_curves({"a": [1.0, 0.5, 0.2, 0.1], "b": [1.0, 1.0]}, 0.5, smooth=2, projector=projector),
             af.two_ways(arch.two_ways(X, 5, hidden_size=4), projector=projector)]
    for spec, df in built:
        fig = go.Figure(spec)
        assert_told_apart_without_colour(spec)
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert len(df) > 0
    _, race = built[3]
    np.testing.assert_allclose(race["a"].to_numpy(), [np.nan, 0.75, 0.35, 0.15])   # running means of 2


def test_race_advances_everyone_together_and_summarises():
    from ui.race import Race, race_some, race_summary
    task = tasks.AddingTask(T=10)
    r = Race("k", {c.name: Trainer(task, TrainConfig(hidden_size=4, batch_size=4, snapshot_every=0,
                                                     spectrum_every=0, **c.train_kwargs()))
                   for c in arch.contenders()}, budget=7)
    r.playing = True
    while not r.finished:
        race_some(r)
    assert {len(v) for v in r.losses.values()} == {7} and not r.playing
    text = race_summary(r)
    assert all(c.name in text for c in arch.contenders()) and "% of the baseline" in text


def button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def test_page_at_defaults_and_the_race_through_its_buttons():
    at = open_app(PAGE)
    assert_clean(at)
    assert len(charts(at)) == 6 and at.latex and at.get("download_button")     # 5 + stacked against one layer
    at.session_state["cfg_race_n"] = 50                      # the smallest budget
    at.session_state["cfg_race_len"] = 10
    at.run()
    button(at, "▶ start").click().run()
    race = at.session_state["race"]
    assert race.playing and race.done == 0          # a full rerun only draws; the fragment's timer trains
    from ui.race import race_some
    assert race.budget == 50
    while race.playing:
        race_some(race)
    at.run()
    assert_clean(at)
    assert race.finished
    figs = charts(at)
    assert len(figs) == 8                           # + the race's loss curves and the trained networks' profiles
    assert any("% of the baseline" in s.value for s in at.success)
    button(at, "↺ reset").click().run()
    assert_clean(at)
    assert at.session_state["race"].done == 0


@pytest.mark.parametrize("params,page_state", [
    (dict(T="1000", H="256", cell="lstm"), {}),
    (dict(T="2", H="2"), {"race_len": 5, "race_n": 50, "at": 1}),
    (dict(cell="rnn", act="relu", scale="3", T="300", init="identity"), {"race_task": "copy", "race_len": 200,
                                                                         "race_n": 3000}),
    (dict(T="20"), {"at": 99_999, "race_len": -4, "race_task": "nonsense"}),       # out of range: clamped
])
def test_page_at_extreme_settings(params, page_state):
    at = open_app(PAGE, **params)
    for k, v in page_state.items():          # the page's own settings (a link's are read when it is opened first)
        at.session_state["cfg_" + k] = v
    at.run()
    assert_clean(at)
    assert len(charts(at)) == 6
    if "at" in page_state:
        assert at.slider(key="w_at").value == min(page_state["at"], int(params["T"]) - 1)
