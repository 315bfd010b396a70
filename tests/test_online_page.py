"""Lesson 8 (pages/9_Online_learning.py) in AppTest — at defaults, from a link that the page must cut down, with
nonsense in its own settings, and with a finished race — and its figure builders as valid Plotly figures whose
summaries are read from the data they draw."""
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, assert_clean, charts, open_app
from test_links import open_link

from explorer import online as ol
from explorer.figures import online_figs as of
from ui import online_compute as oc

PAGE = "pages/9_Online_learning.py"


def summaries(at) -> dict[str, str]:
    out = {}
    for m in at.markdown:
        if 'class="chart-summary"' in m.value:
            key = m.value.split('data-chart="')[1].split('"')[0]
            out[key] = m.value
    return out


def test_page_runs_clean_at_defaults():
    at = open_app(PAGE)
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 2                                   # cosines, cost; the race waits for ▶
    assert set(summaries(at)) == {"online_cos", "online_cost"}
    assert len(at.latex) >= 1 + 6                           # the network, and each rule's update beside the chart
    assert at.get("download_button")
    cos = figs[0]
    names = [t["name"] for t in cos["data"] if t.get("showlegend", True) is not False]
    assert names == [ol.label(r, 4) for r in ol.RULES]
    assert len({t["line"]["dash"] for t in cos["data"] if "name" in t}) == len(ol.RULES)   # not by colour alone
    assert at.session_state["cfg_target"] == "every_squared"                             # the page's default


def test_a_link_is_used_and_cut_to_the_budget():
    at = open_link(PAGE, dict(leak="0.5", seeds="3", window="6", copy_lag="5", online_n="200", H="100", cell="lstm",
                              T="400"))
    assert_clean(at)
    assert (at.slider(key="w_leak").value, at.slider(key="w_seeds").value, at.slider(key="w_window").value) == \
        (0.5, 3, 6)
    said = " ".join(i.value for i in at.info)
    assert "vanilla RNN" in said and f"H = {oc.MAX_H}" in said
    cos = charts(at)[0]
    T = len(cos["data"][-1]["x"]["bdata"]) if isinstance(cos["data"][-1]["x"], dict) else len(cos["data"][-1]["x"])
    assert 0 < T <= 400
    assert "TBPTT(6)" in summaries(at)["online_cos"]


def test_nonsense_in_the_pages_settings_falls_back_with_a_notice():
    at = open_link(PAGE, dict(leak="abc", seeds="0", window="-1"))
    assert_clean(at)
    notes = " ".join(i.value for i in at.info)
    assert "leak=" in notes and "seeds=" in notes and "window=" in notes
    assert at.slider(key="w_leak").value == 1.0 and at.slider(key="w_seeds").value == 8


def test_a_finished_race_draws_its_chart_and_verdict():
    lag, n = 3, 100
    cfg = replace(oc.RACE_CONFIG, leak=1.0, k=4, seed=0)
    task = oc.race_task(lag)
    race = oc.OnlineRace((lag, cfg), {r: ol.OnlineTrainer(task, r, cfg) for r in oc.RACE_RULES}, n)
    while race.step():
        pass
    assert race.finished and race.done == n and all(len(v) == n for v in race.losses.values())
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(copy_lag=str(lag), online_n=str(n))
    at.session_state["online_race"] = race                  # the race this link's settings make: it is kept
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert "online_race" in summaries(at)
    assert any("baseline" in s.value for s in at.success)


def spread_problem():
    problems = []
    for i in range(3):
        model = ol.build_model("rnn", 2, 5, 1, scale=0.9, seed=i)
        rng = np.random.default_rng(i)
        mask = np.ones((12, 1))
        mask[:2] = 0.0                                       # two steps without a loss: gaps
        problems.append((model, rng.standard_normal((12, 1, 2)), rng.standard_normal((12, 1, 1)), mask,
                         "squared_error", i))
    return ol.cosine_spread(problems, k=3)


def test_cosine_chart_is_a_valid_figure_with_gaps_and_a_summary_from_its_data():
    spread = spread_problem()
    assert all(v.shape == (3, 12) for v in spread.values())
    fig, df = of.cosine_over_time(spread, k=3)
    go.Figure(fig)
    assert set(df["rule"]) == {ol.label(r, 3) for r in ol.RULES}
    med = of.median_cosines(df)
    assert med["RTRL (exact)"] == pytest.approx(1.0)
    assert np.isnan(df[df["step"] < 2]["median_cosine"]).all()
    text = of.cosine_summary(df)
    assert "over 3 seeds" in text and f"UORO {of.num(round(med['UORO'], 3))}" in text


def test_cost_chart_slopes_are_the_legends_and_the_summarys():
    times = [ol.StepTime(r, n, 1e-6 * n ** p, ol.step_ops(r, n, 1), 5) for r, p in
             zip(ol.RULES, (4, 2, 3, 2, 2, 2)) for n in (16, 32, 64, 128)]
    fig, df = of.cost_vs_n(times, rate=1e10)
    go.Figure(fig)
    s = of.slopes(df, "seconds_per_step")
    assert s["rtrl"] == pytest.approx(4) and s["kf_rtrl"] == pytest.approx(3)
    assert any(t["name"] == "RTRL (exact): measured, slope 4.00" for t in fig["data"])
    assert "measured: RTRL (exact) 4.00" in of.cost_summary(df)


def test_race_chart_and_verdict():
    base = 0.2
    hist = {"rtrl": list(np.linspace(1, 0.01, 40)), "rflo": [0.2] * 40, ol.READOUT: [0.25] * 40}
    fig, df = of.race_curves(hist, base, k=4, smooth=10)
    go.Figure(fig)
    below, rest = of.race_verdict(df, base)
    assert below == ["RTRL (exact)"] and rest == ["RFLO", "readout only"]
    assert of.race_summary(df, base).startswith("After 40 updates")
