"""The cost lesson: the four algorithms give one gradient, memory counts match their formulas and independent
counts, slopes and the checkpointing trade-off; its charts as valid Plotly; the page in AppTest. No timing is
asserted beyond being positive and finite (the machine is shared and noisy)."""
import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from test_app import assert_clean, charts, open_app

import explorer as ex
from explorer import cost
from explorer.figures import cost_figs as cf

PAGE = "pages/7_Cost_of_a_gradient.py"


@pytest.mark.parametrize("T,H", [(2, 3), (40, 8), (120, 16)])
def test_exact_algorithms_agree_with_bptt_and_truncation_does_not(T, H):
    rows = cost.agreement(T, H, seed=3)
    assert [r.must_agree for r in rows] == [True, True, True, False]
    for r in rows[:3]:
        assert r.max_rel_diff <= cost.AGREE_TOL, r
    assert rows[3].max_rel_diff > 1e-6, "TBPTT with k2 < T cuts paths: its gradient must differ"
    assert all(r.ok for r in rows)
    assert "TBPTT(" in rows[2].algorithm and f", {T})" in rows[2].algorithm


def test_tbptt_with_k2_at_least_T_is_full_bptt():
    model, X, y = cost.problem(30, 6, seed=1)
    full = ex.bptt(model, X, y, loss=cost.LOSS).grads
    for k1, k2 in [(1, 30), (7, 30), (30, 45)]:
        g = ex.bptt(model, X, y, loss=cost.LOSS, scheme=ex.TBPTT(k1, k2)).grads
        assert max(ex.relative_error(g[k], full[k]) for k in full) <= 1e-12, (k1, k2)


@pytest.mark.parametrize("T,H", [(7, 5), (50, 16), (64, 3)])
def test_peak_floats_match_the_formulas_and_independent_counts(T, H):
    model, X, y = cost.problem(T, H, seed=0)
    D = model.input_size
    tr = ex.forward(model, X, y, loss=cost.LOSS)
    c = tr.cache
    bptt_count = c.states.size + c.pre.size + sum(v.size for v in c.extras.values())     # the arrays it keeps
    L = math.isqrt(T)
    independent = {"bptt": bptt_count,
                   "tbptt": (min(cost.K2, T) + 1) * H + 2 * min(cost.K2, T) * H,       # h, a, φ' of the window
                   "checkpointed": math.ceil(T / L) * H + (L + 1) * H + 2 * L * H,     # checkpoints + a segment
                   "rtrl": H * H * D + H * H * H + H * H + H}                         # P_x, P_h, P_b and h_t
    assert bptt_count == (3 * T + 1) * H
    for a in cost.ALGORITHMS:
        m = cost.measure(a, T, H, repeats=1)
        assert m.peak_floats == cost.stored_floats(a, T, H) == independent[a], a
        assert np.isfinite(m.seconds) and m.seconds > 0 and m.repeats == 1
    ck = ex.checkpointed_bptt(model, X, y, loss=cost.LOSS)
    assert ck.plain_floats == cost.stored_floats("bptt", T, H)


def test_memory_slopes_are_the_textbook_exponents():
    ms = cost.sweep("T", (25, 100, 400, 1600), fixed=4, repeats=1)
    df = cf.frame(ms)
    assert len(ms) == 16 and df["ran"].all()                   # at H = 4, RTRL runs everywhere
    s = {a: f.slope for a, f in cost.slopes(ms, "T", "peak_floats").items()}
    assert s["bptt"] == pytest.approx(1.0, abs=0.01)
    assert s["tbptt"] == pytest.approx(0.0, abs=1e-9) and s["rtrl"] == pytest.approx(0.0, abs=1e-9)
    assert s["checkpointed"] == pytest.approx(0.5, abs=0.06)
    assert np.all(np.isfinite(df["seconds"])) and np.all(df["seconds"] > 0)


def test_rtrl_beyond_its_cap_is_counted_not_run():
    assert cost.rtrl_max_T(cost.RTRL_MAX_H + 1) == 0
    H = 48
    cap = cost.rtrl_max_T(H)
    assert 10 < cap < 1000
    ms = cost.sweep("T", (10, 1000), fixed=H, algorithms=("rtrl",), repeats=1)
    assert ms[0].repeats == 1 and np.isfinite(ms[0].seconds)
    assert ms[1].repeats == 0 and math.isnan(ms[1].seconds)
    assert ms[1].peak_floats == ms[0].peak_floats == cost.stored_floats("rtrl", 1000, H)
    hs = cost.sweep("H", (8, 64), fixed=500, algorithms=("rtrl",), repeats=1)
    assert [m.T for m in hs] == [500, cost.rtrl_max_T(64)]         # over H, RTRL runs a shorter prefix
    with pytest.raises(ValueError, match="RTRL"):
        cost.measure("rtrl", 1000, 64)
    with pytest.raises(ValueError, match="algorithm"):
        cost.measure("adjoint", 10, 4)
    with pytest.raises(ValueError, match="over"):
        cost.sweep("B", (1, 2), fixed=4)


def test_fit_slope_recovers_a_known_exponent():
    x = np.array([8, 16, 32, 64, 128], dtype=float)
    rng = np.random.default_rng(0)
    y = 3e-9 * x ** 3.7 * np.exp(rng.normal(0, 0.01, x.size))
    slope, c = cost.fit_slope(x, y)
    assert slope == pytest.approx(3.7, abs=0.03) and 10 ** c == pytest.approx(3e-9, rel=0.2)
    assert cost.fit_slope(np.r_[x, 256.0], np.r_[y, np.nan])[0] == pytest.approx(slope)   # NaN points ignored
    assert math.isnan(cost.fit_slope([10.0], [1.0])[0]) and math.isnan(cost.fit_slope([5, 5], [1, 2])[0])


def power_law(a, xs, p, C=1e-9, *, over="T", flat_below=0):
    """Measurements of `a` with y = C·x^p for x ≥ flat_below and a flat y = C·flat_below^p below it."""
    y = [C * max(x, flat_below) ** p for x in xs]
    if over == "T":
        return [cost.Measurement(a, x, 8, v, 0, 1) for x, v in zip(xs, y)]
    return [cost.Measurement(a, 10, x, 10 * v, 0, 1) for x, v in zip(xs, y)]     # seconds_per_step = v


def test_slopes_give_a_power_laws_exponent_over_the_points_above_the_threshold():
    xs = (16, 32, 64, 128, 256, 512, 1024)
    ms = power_law("rtrl", xs, 4.0, over="H", flat_below=128) + power_law("bptt", xs, 2.0, over="H")
    fits = cost.slopes(ms, "H", "seconds_per_step", {"rtrl": 128})
    assert list(fits) == ["bptt", "rtrl"]                      # ALGORITHMS order; no measurements, no entry
    assert fits["rtrl"].slope == pytest.approx(4.0) and 10 ** fits["rtrl"].log10_c == pytest.approx(1e-9)
    assert fits["rtrl"].x_from == 128 and fits["bptt"].x_from == 0
    assert fits["bptt"].slope == pytest.approx(2.0)
    below = cost.slopes(ms, "H", "seconds_per_step")["rtrl"].slope       # the flat points, fitted too: shallower
    assert 1.0 < below < 3.5
    assert cost.slopes(ms, "H", "seconds_per_step", {"rtrl": 129})["rtrl"].slope == pytest.approx(4.0)
    assert math.isnan(cost.slopes(ms, "H", "seconds_per_step", {"rtrl": 1024})["rtrl"].slope)    # one point
    ts = power_law("tbptt", (10, 20, 50, 100), 1.0) + [cost.Measurement("tbptt", 200, 8, math.nan, 1, 0)]
    t = cost.slopes(ts, "T", "seconds", {"tbptt": 20})["tbptt"]           # a point not run (NaN) is ignored
    assert t.slope == pytest.approx(1.0) and t.x_from == 20


def test_slope_text_and_the_headline_in_words():
    assert cost.slope_text(-1e-17) == "0.00" and cost.slope_text(-0.004) == "0.00"     # never "-0.00"
    assert cost.slope_text(1.996) == "2.00" and cost.slope_text(-0.5) == "-0.50"
    assert cost.slope_text(math.nan) == "n/a"
    g = cost.GRUSLYS_2016
    assert (g.memory_saved, g.extra_time) == (pytest.approx(0.95), pytest.approx(1 / 3))
    assert g.summary() == "memory −95%, time +33%"


def test_checkpointing_at_T1000_stores_ceil_T_over_L_plus_L_steps():
    T = 1000
    model, X, y = cost.problem(T, 8, seed=0)
    for budget in (ex.min_budget(T), 100, 400):
        ck = ex.checkpointed_bptt(model, X, y, loss=cost.LOSS, budget=budget)
        L = ck.segment_length
        assert ck.peak_stored_steps == math.ceil(T / L) + L <= budget
        assert ck.peak_floats == cost.stored_floats("checkpointed", T, 8, segment=L)
        # floats: ⌈T/L⌉ states + L steps of (h, a, φ') + one state, against T steps of them + h_0
        assert ck.peak_floats / ck.plain_floats == pytest.approx((math.ceil(T / L) + 3 * L + 1) / (3 * T + 1))
    ck = ex.checkpointed_bptt(model, X, y, loss=cost.LOSS, budget=ex.min_budget(T))
    assert (math.ceil(T / ck.segment_length) + ck.segment_length) / T <= 0.064        # 2√1000 ≈ 63.2 of 1000
    assert ck.peak_floats / ck.plain_floats < 0.05                                    # ≥ 95 % less, as Gruslys
    g = cost.GRUSLYS_2016
    assert (g.T, g.memory_ratio, g.time_ratio) == (1000, 0.05, pytest.approx(4 / 3)) and "1606.03401" in g.source


def test_tradeoff_memory_falls_as_the_budget_drops():
    budgets = (1001, 700, 350, 180, 100, 70, 64)
    tr = cost.checkpoint_tradeoff(1000, 8, budgets, repeats=1)
    mem = [p.memory_ratio for p in tr.points]
    assert all(a >= b for a, b in zip(mem, mem[1:])) and mem[0] > 3 * mem[-1]
    assert tr.points[0].extra_forward_steps == 0 and tr.points[0].memory_ratio == pytest.approx(1.0, abs=1e-3)
    assert tr.points[-1].memory_ratio < 0.05 and tr.points[-1].extra_forward_steps > 900
    for p in tr.points:
        assert p.peak_stored_steps <= p.budget
        assert 1.0 <= p.counted_time_ratio <= 4 / 3
        assert np.isfinite(p.time_ratio) and p.time_ratio > 0 and p.seconds > 0
    one = cost.checkpoint_tradeoff(1000, 8, (64,), repeats=1)
    assert one.points[0].memory_ratio == tr.points[-1].memory_ratio and one.plain_floats == tr.plain_floats
    with pytest.raises(ValueError, match="budget must be ≥ 64"):
        cost.checkpoint_tradeoff(1000, 8, (63,))


def synthetic():
    """Measurements with known exponents: time ∝ T·H² (∝ T·H⁴ for RTRL); floats from the formulas."""
    ms = []
    for a in cost.ALGORITHMS:
        p = 4 if a == "rtrl" else 2
        ms += [cost.Measurement(a, T, 32, 1e-9 * T * 32 ** p, cost.stored_floats(a, T, 32), 3) for T in (10, 100, 1000)]
        ms += [cost.Measurement(a, 50, H, 1e-9 * 50 * H ** p, cost.stored_floats(a, 50, H), 3)
               for H in cost.H_SWEEP[a]]
    return [m for m in ms if m.T != 50 or m.H != 32] + [cost.Measurement("rtrl", 5000, 32, math.nan, 1, 0)]


@pytest.mark.parametrize("projector", [False, True])
def test_every_cost_chart_is_valid_plotly_with_log_axes_and_units(projector):
    ms = synthetic()
    ts = [m for m in ms if m.H == 32]
    hs = [m for m in ms if m.T == 50]
    tr = cost.checkpoint_tradeoff(1000, 4, (64, 250, 1001), repeats=1)
    built = {"time_T": cf.time_vs_T(ts, projector=projector), "time_H": cf.time_vs_H(hs, projector=projector),
             "memory_T": cf.memory_vs_T(ts, projector=projector),
             "tradeoff": cf.tradeoff(tr, tr.points[1], cost.GRUSLYS_2016, projector=projector)}
    for key, (d, df) in built.items():
        assert isinstance(d, dict) and len(df) > 0
        fig = go.Figure(d)                                  # every property validated here, as in test_figures
        json.loads(pio.to_json(fig))
        assert fig.layout.xaxis.type == "log", key
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert fig.layout.template.layout.font.size >= 17
    assert "seconds)" in go.Figure(built["time_T"][0]).layout.yaxis.title.text
    assert "floats" in go.Figure(built["memory_T"][0]).layout.yaxis.title.text
    for key in ("time_T", "time_H", "memory_T"):
        assert go.Figure(built[key][0]).layout.yaxis.type == "log"


def test_legends_carry_the_fitted_slopes():
    ms = synthetic()
    names = [t["name"] for t in cf.time_vs_H([m for m in ms if m.T == 50])[0]["data"] if t.get("showlegend", True)]
    assert any(n.startswith("RTRL: slope 4.00") for n in names), names
    assert any(n.startswith("BPTT: slope 2.00") for n in names), names
    d, df = cf.time_vs_T([m for m in ms if m.H == 32])
    assert {t.get("name") for t in d["data"]} >= {"BPTT: slope 1.00 (T ≥ 50)", "RTRL: slope 1.00 (T ≥ 50)"}
    assert df["seconds"].isna().sum() == 1                     # the RTRL point that was not run is in the data ...
    rtrl = next(t for t in d["data"] if t.get("name", "").startswith("RTRL"))
    assert np.all(np.isfinite(rtrl["x"])) and rtrl["x"].max() == 1000      # ... but not drawn
    d, _ = cf.memory_vs_T([m for m in ms if m.H == 32 and m.repeats])
    s = {t["name"].split(":")[0]: float(t["name"].split("slope ")[1].split()[0]) for t in d["data"] if "name" in t}
    assert s["BPTT"] == pytest.approx(1.0, abs=0.011) and s["RTRL"] == 0.0          # (3T + 1)·H and H³: flat
    assert s["checkpointed (L = √T)"] == pytest.approx(0.5, abs=0.05)
    assert "RTRL: slope 0.00 (T ≥ 50)" in {t.get("name") for t in d["data"]}


def test_tradeoff_chart_marks_the_headline_and_the_current_budget():
    tr = cost.checkpoint_tradeoff(1000, 4, (64, 100, 1001), repeats=1)
    d, df = cf.tradeoff(tr, tr.points[1], cost.GRUSLYS_2016)
    star = next(t for t in d["data"] if "Gruslys" in t["name"])
    assert (star["x"], star["y"]) == ([0.05], [pytest.approx(4 / 3)])
    assert cost.GRUSLYS_2016.summary() in star["hovertemplate"]
    cur = next(t for t in d["data"] if t["name"].startswith("your budget"))
    assert "100" in cur["name"] and cur["x"] == [tr.points[1].memory_ratio]
    assert list(df["budget_steps"]) == [64, 100, 1001]


# ---- the page, headless --------------------------------------------------------------------------------------


def open_page(**params):
    at = open_app()
    for k, v in params.items():                             # page settings: read from the link when first drawn
        at.query_params[k] = v
    return at.switch_page(PAGE).run()


def test_page_runs_at_defaults_with_four_charts_and_an_agreeing_table():
    at = open_page()
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 7 and at.latex and at.get("download_button")     # 4 + optimal checkpointing's 3
    assert {f["layout"]["xaxis"]["type"] for f in figs[:5]} == {"log"}
    table = next(d.value for d in at.dataframe if "verdict" in d.value)     # (the others: each chart's table)
    assert len(table) == 4 and list(table["verdict"]).count("✓ agrees") == 3
    assert "truncated" in table["should equal full BPTT?"].iloc[3]
    rel = table["max relative difference"].astype(float)
    assert (rel.iloc[:3] <= cost.AGREE_TOL).all() and rel.iloc[3] > 1e-6
    assert at.slider(key="w_budget").value == ex.min_budget(1000)
    assert "95." in at.metric[0].value or "96." in at.metric[0].value          # ≈ 95 % memory saved at 64 steps
    prose = " ".join(c.value for c in at.caption)
    worst = max(rel.iloc[:3])                                  # the caption quotes the table's largest difference
    assert f"the three exact algorithms agree with BPTT to within {worst:.1e} —" in prose
    assert "1e-15" not in prose
    assert "Gruslys et al. report −95% for +33% at T = 1000" in prose         # GRUSLYS_2016's numbers
    # the fixed-segment scheme's counted point at the smallest budget: (28 + 3·36 + 1)/3001 of the floats,
    # 1 + 972/3000 of the work
    assert "smallest budget (64 stored steps) saves 95% of the memory for +32% time by operation count" in prose
    assert "against their 95% for +33%" in prose
    slopes = [t["name"] for f in figs[:3] for t in f["data"] if t.get("showlegend", True) and "slope" in t["name"]]
    for name in slopes:                                        # the notices quote the legends' slopes
        label, value = name.split(": slope ")
        assert f"{label} {value.split()[0]}" in prose, name


@pytest.mark.parametrize("budget", [64, 1001])
def test_page_at_the_extreme_budgets(budget):
    at = open_page()
    at.slider(key="w_budget").set_value(budget).run()
    assert_clean(at)
    assert len(charts(at)) == 7
    if budget == 1001:                                      # room for everything: no checkpointing, no extra work
        assert at.metric[2].value.endswith("· 0") and at.metric[0].value.startswith("-0.0")


def test_page_at_the_extreme_sweep_settings():
    at = open_page(costH="8", costT="200")
    assert_clean(at)
    assert (at.slider(key="w_costH").value, at.slider(key="w_costT").value) == (8, 200)
    at.slider(key="w_costH").set_value(256).run()               # RTRL is not run at H = 256: counted only
    assert_clean(at)
    assert "not at all" in " ".join(c.value for c in at.caption)


def test_nonsense_link_values_fall_back_with_a_notice():
    at = open_page(budget="abc", costH="7", costT="1e9")
    assert_clean(at)
    notes = " ".join(i.value for i in at.info)
    assert "reset to their defaults" in notes
    for k in ("budget=", "costH=", "costT="):
        assert k in notes, k
    assert (at.slider(key="w_budget").value, at.slider(key="w_costH").value, at.slider(key="w_costT").value) == \
        (64, 32, 50)
