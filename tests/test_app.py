"""The app, run headless with Streamlit's AppTest: every page at defaults and at extreme settings, shared
settings across page switches, and links with nonsense parameters."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PAGES = {"pages/1_Unrolled_graph.py": 1, "pages/2_Gradient_flow.py": 5, "pages/3_Vanishing_and_exploding.py": 5,
         "pages/4_Truncation.py": 8}


def open_app(page=None, **params):
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page,n", [(None, 0)] + list(PAGES.items()))
def test_every_page_runs_at_defaults(page, n):
    at = open_app(page)
    assert_clean(at)
    assert len(charts(at)) == n
    if page:
        assert at.get("download_button"), "every chart offers its data as CSV"
        assert at.latex, "every lesson shows its equations"


EXTREMES = [
    dict(cell="rnn", act="relu", scale="3", T="1000", H="64", init="identity"),     # overflows
    dict(cell="lstm", T="2", H="2", scale="0.1"),
    dict(cell="gru", T="400", H="16", scheme="tbptt", k1="1", k2="1000"),
    dict(cell="indrnn", act="linear", scale="3", T="300", H="256", scheme="randomized", keep="0.05",
         input="5"),
    dict(cell="rnn", act="sigmoid", scale_kind="sigma1", scale="0.1", T="1000", H="128", target="every_cross_entropy"),
]


@pytest.mark.parametrize("params", EXTREMES, ids=lambda p: "-".join(f"{k}{v}" for k, v in list(p.items())[:4]))
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_runs_at_extreme_settings(page, params):
    at = open_app(page, **params)
    assert_clean(at)
    assert at.slider(key="w_T").value == int(params["T"])


def test_overflow_is_reported_with_its_step():
    at = open_app("pages/2_Gradient_flow.py", cell="rnn", act="relu", scale="3", T="1000", H="64", init="identity")
    assert_clean(at)
    warn = " ".join(w.value for w in at.warning)
    assert "Overflow at step" in warn and "no gradient to draw" in warn     # the only target is after it
    at2 = open_app("pages/2_Gradient_flow.py", cell="rnn", act="relu", scale="3", T="1000", H="64",
                   init="identity", target="every_squared")
    assert_clean(at2)
    warn2 = " ".join(w.value for w in at2.warning)
    assert "Overflow at step" in warn2 and "The charts show steps 0" in warn2
    assert len(charts(at2)) >= 4


def test_shared_settings_survive_page_switches():
    at = open_app()
    at.selectbox(key="w_cell").set_value("lstm").run()
    at.slider(key="w_T").set_value(37).run()
    at.slider(key="w_scale").set_value(1.3).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
        assert at.selectbox(key="w_cell").value == "lstm"
        assert at.slider(key="w_T").value == 37
        assert at.slider(key="w_scale").value == pytest.approx(1.3)
    at.switch_page("pages/2_Gradient_flow.py").run()
    norms = charts(at)[0]
    assert norms["layout"]["xaxis"]["title"]["text"] == "timestep t"


def test_link_values_are_used_and_nonsense_falls_back_with_a_notice():
    at = open_app("pages/3_Vanishing_and_exploding.py", T="55", scale="1.25", cell="gru")
    assert_clean(at)
    assert (at.slider(key="w_T").value, at.slider(key="w_scale").value, at.selectbox(key="w_cell").value) == \
        (55, 1.25, "gru")
    assert not at.info or "reset to their defaults" not in at.info[0].value
    bad = open_app(None, T="abc", H="-5", scale="nan", cell="transformer", seed="1e99", act="gelu", k1="")
    assert_clean(bad)
    notes = " ".join(i.value for i in bad.info)          # shown on the session's first run
    assert "reset to their defaults" in notes
    for k in ("T=", "H=", "scale=", "cell=", "seed=", "act="):
        assert k in notes, k
    bad.switch_page("pages/1_Unrolled_graph.py").run()
    assert_clean(bad)
    assert bad.slider(key="w_T").value == 100 and bad.slider(key="w_H").value == 32
    assert bad.selectbox(key="w_cell").value == "rnn"


def test_lesson_sliders_follow_a_shrinking_T():
    at = open_app("pages/1_Unrolled_graph.py")          # step and end are the live view's (kept in the URL)
    assert at.session_state["cfg_step"] == 98
    at.slider(key="w_T").set_value(12).run()
    assert_clean(at)
    assert at.session_state["cfg_step"] <= 11
    at.slider(key="w_T").set_value(300).run()
    assert_clean(at)
    assert 30 <= at.session_state["cfg_end"] <= 300


def test_activation_follows_the_cell():
    at = open_app("pages/2_Gradient_flow.py", act="relu")
    assert at.selectbox(key="w_act").value == "relu"
    at.selectbox(key="w_cell").set_value("lstm").run()
    assert_clean(at)
    assert at.selectbox(key="w_act").value == "tanh"


def test_truncation_page_with_tbptt_shows_the_cut():
    at = open_app("pages/4_Truncation.py", scheme="tbptt", k1="5", k2="10", T="60")
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 8                 # and the adaptive-truncation section's two, and its chosen K's two
    graph = figs[0]
    assert any(s.get("line", {}).get("dash") == "dash" for s in graph["layout"].get("shapes", []))
    g_map = figs[1]
    assert len(g_map["data"]) == 2                        # the map and the "cut" overlay


def test_a_setting_of_another_type_under_the_same_key_falls_back_to_the_default():
    """Pages may share a key with another type (a stale link, an old preset): the widget resets, never crashes."""
    at = open_app("pages/3_Vanishing_and_exploding.py")
    at.session_state["cfg_cliff_lr"] = "0.01"        # a string where a float belongs
    at.session_state["cfg_cliff_n"] = 2.5            # a float where an int belongs
    at.session_state["cfg_scale"] = 1                # an int for a float slider is fine: it becomes 1.0
    at.run()
    assert_clean(at)
    assert at.slider(key="w_cliff_lr").value == 0.5 and at.slider(key="w_cliff_n").value == 40
    assert at.slider(key="w_scale").value == 1.0


def test_vectorised_bias_and_draw_errors_equal_the_engine_functions():
    """ui.compute computes the truncation page's curves in one vectorised pass; they must equal
    explorer.gradient_bias / explorer.relative_error applied one gradient at a time."""
    import numpy as np

    import explorer as ex
    from explorer.gradient_bias import flat_gradient
    from explorer.scenario import Scenario
    from ui import compute
    for sc in [Scenario(T=40, scale=0.95), Scenario(cell="lstm", T=30, hidden=8, scheme="tbptt", k1=5),
               Scenario(T=30, scale=1.4, target="every_squared")]:
        k2s, cos, rel = compute.bias_sweep.__wrapped__(sc)
        full = compute.record.__wrapped__(sc, full=True)
        masks = np.stack([ex.TBPTT(min(sc.k1, sc.T), int(k2)).mask(sc.T) for k2 in k2s])
        grads = ex.all_losses_backward(full.trace, masks, contributions=False, connectivity=False).grads
        want = [ex.gradient_bias(g, full.grads)["all"] for g in grads]
        np.testing.assert_allclose(cos, [b.cosine for b in want], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(rel, [b.relative_error for b in want], rtol=1e-12, atol=1e-14)
        one, mean = compute.randomized_draws.__wrapped__(sc)
        draws = ex.randomized_draws(full.trace, sc.keep_prob, one.size, seed=sc.seed * 1000)
        names = list(full.grads)
        np.testing.assert_allclose(one, [ex.relative_error(flat_gradient(d, names), flat_gradient(full.grads)) for d in draws], rtol=1e-12)
        running = np.cumsum([flat_gradient(d, names) for d in draws], axis=0) / np.arange(1, one.size + 1)[:, None]
        np.testing.assert_allclose(mean, [ex.relative_error(r, flat_gradient(full.grads)) for r in running], rtol=1e-12)
