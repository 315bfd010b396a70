"""Every lesson shows its phenomenon at first open and at every preset, and every sentence a chart or a preset
states about its data is true of that data (the same calls the pages make: ui.compute → explorer.figures).

Also: a lesson's own defaults (ui.page_registry's Page.defaults) apply until a widget, a link or a preset chooses
a value, and the link written for a page leaves out exactly that page's defaults."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, assert_clean

from explorer.depth_paths import lag_by_layer, shortest_path_length
from explorer.figures import gradient_flow as gf
from explorer.figures import summaries
from explorer.figures import truncation_figs as tf
from explorer.figures import vanishing as vf
from explorer.figures.unrolled import unrolled_graph
from explorer.scenario import TARGETS, Scenario
from ui import compute
from ui.page_registry import BY_PATH
from ui.params import CLIFF
from ui.presets import BY_SLUG, PRESETS

L1, L2, L3, L4 = (f"pages/{n}" for n in ("1_Unrolled_graph.py", "2_Gradient_flow.py",
                                         "3_Vanishing_and_exploding.py", "4_Truncation.py"))


def opened(page: str, values: dict | None = None) -> Scenario:
    """The Scenario a page opens on: its own defaults, then the link's (or preset's) values."""
    return Scenario.from_settings({**dict(BY_PATH[page].defaults), **(values or {})})


def preset(slug: str) -> Scenario:
    p = BY_SLUG[slug]
    return opened(p.page, p.params)


def decades(v) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.log10(v.max() / v.min()))


def g_map(sc: Scenario, every: bool):
    """Lesson 2's G map as the page draws it (by default for a loss at every step) and lesson 4's with its mask."""
    map_sc = replace(sc, target=sc.target.replace("last_", "every_")) if every else sc
    kept = compute.record(map_sc).mask() if sc.scheme != "full" else None
    return gf.contribution_map(compute.all_losses(map_sc).G, kept)[1], kept


def cliff_df(values: dict | None = None):
    v = {p.key: p.default for p in CLIFF} | (values or {})
    w, b, E = compute.cliff_surface()
    paths = compute.cliff_paths(v["w0"], v["b0"], v["cliff_lr"], v["cliff_n"], v["cliff_clip"])
    return vf.cliff(w, b, E, paths)[1], (w.min(), w.max(), b.min(), b.max()), paths


# ---- at first open --------------------------------------------------------------------------------------------

def test_lesson_1_graph_window_shows_the_gradient_fading():
    sc = opened(L1)
    df = unrolled_graph(compute.record(sc), start=sc.T - 30, stop=sc.T, animate=False)[1]
    assert decades(df["norm_delta"]) >= 2


def test_lesson_2_delta_spans_two_decades_and_the_g_map_is_filled():
    sc = opened(L2)
    assert decades(compute.record(sc).delta_norms) >= 2
    df, kept = g_map(sc, every=True)
    assert summaries.lower_triangle_filled(df, kept) >= 0.25
    # the sidebar's own loss (at the last step) would have given one row: that is why the map defaults to every step
    assert summaries.lower_triangle_filled(g_map(sc, every=False)[0]) < 0.05
    # "the sum is dominated by the largest bars: with vanishing gradients, by the last steps"
    text = summaries.step_terms(gf.step_terms(compute.record(sc))[1])
    assert int(text.split("The last ")[1].split(" of")[0]) <= sc.T // 5, text


def test_lesson_3_products_vanish_and_the_phase_map_has_both_regimes():
    sc = opened(L3)
    jp, sp = compute.jacobians(sc)
    assert decades(jp.norm) >= 2
    _, _, z = compute.phase(sc)
    assert np.nanmin(z) < -1 and np.nanmax(z) > 1          # blue and orange both drawn


def test_lesson_4_opens_on_tbptt_and_shows_what_it_cuts():
    sc = opened(L4)
    assert sc.scheme == "tbptt" and not sc.target.startswith("last_")
    df, kept = g_map(sc, every=False)
    assert summaries.lower_triangle_filled(df, kept) >= 0.25       # finite and not cut
    assert np.mean(kept[np.tril_indices(sc.T)] == 0) >= 0.25        # and a visible part is cut
    k2s, cos, rel = compute.bias_sweep(sc)
    assert cos[0] < 0.999 and rel[0] > 0.05 and rel[-1] < 1e-9      # the bias is visible and vanishes at k2 = T


def test_the_cliffs_two_descents_differ():
    df, bounds, _ = cliff_df()
    assert summaries.cliff_descents_differ(df) > 1.0
    assert "off the map" in summaries.cliff(df, bounds).split(";")[0]


# ---- every preset's sentence, on its data ---------------------------------------------------------------------

def test_every_preset_of_lessons_1_to_4_has_a_check_here():
    checked = {"backward-pass", "exploding", "irnn", "vanishing", "pascanu-bound", "clipping-cliff", "tbptt-bias",
               "randomized-truncation", "adaptive-k", "depth-and-time"}
    assert {p.slug for p in PRESETS if p.page in (L1, L2, L3, L4)} == checked


def test_backward_pass_fades_going_back():
    d = compute.record(preset("backward-pass")).delta_norms
    assert d[0] < d[-1] / 10 and decades(d) >= 2


def test_exploding_rises_by_well_over_10x_towards_t0():
    d = compute.record(preset("exploding")).delta_norms
    assert d[0] > 10 * d[-1] and np.all(np.isfinite(d))


def test_irnn_stays_within_a_factor_of_3():
    sc = preset("irnn")
    d = compute.record(sc).delta_norms
    assert sc.T == 100 and d.max() / d.min() <= 3


def test_depth_and_time_fades_in_every_layer_and_the_lag_lines_cross():
    p = BY_SLUG["depth-and-time"]
    sc = preset("depth-and-time")
    assert (sc.layers, sc.T) == (3, 50) and TARGETS[sc.target][1]          # a loss at the last step only
    assert shortest_path_length(0, 0, sc.T, sc.layers) == 51 and "(L − 1) = 51 Jacobians, only 2" in p.story
    n = compute.record(sc).delta_norms_by_layer                            # the heatmap's data
    assert np.all(np.log10(n[:, -1] / n[:, 0]) > 3) and "more than 3 decades" in p.notice
    lag = lag_by_layer(compute.last_loss_record(sc))                      # the lag chart's data
    assert np.argmax(lag[:, 0]) == sc.layers - 1 and np.argmax(lag[:, sc.T - 1]) == 0 and "lag 49" in p.notice


def test_vanishing_is_many_decades_down_after_100_steps():
    jp, _ = compute.jacobians(preset("vanishing"))
    assert jp.lags[-1] >= 100 and jp.norm[jp.lags == 100][0] < 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
def test_pascanu_bound_holds_at_every_lag_for_every_seed(seed):
    sc = replace(preset("pascanu-bound"), seed=seed)
    jp, sp = compute.jacobians(sc)
    df = vf.jacobian_norms(jp, sp, linear=False)[1]
    assert np.all(df["log10_norm"] <= df["log10_bound_sigma1_gamma"] + 1e-9)
    assert "stays under the bound" in summaries.jacobian_curve(df)


def test_clipping_cliff_plain_jumps_off_the_clipped_walks_down():
    p = BY_SLUG["clipping-cliff"]
    df, bounds, paths = cliff_df(p.params)
    text = summaries.cliff(df, bounds)
    plain_part, clipped_part = text.split(";")[:2]
    assert "off the map" in plain_part and "off the map" not in clipped_part
    clipped = paths["clipped"]
    assert clipped.E[-1] < clipped.E[0]


def test_tbptt_bias_cosine_rises_towards_1_with_k2():
    k2s, cos, rel = compute.bias_sweep(preset("tbptt-bias"))
    assert cos[0] < cos[-1] and cos[-1] > 1 - 1e-12 and rel[0] > 0.05


def test_randomized_mean_closes_in_while_single_draws_stay_off():
    one, mean = compute.randomized_draws(preset("randomized-truncation"))
    df = tf.randomized_spread(one, mean)[1]
    assert df["rel_error_mean_of_n"].iloc[-1] < 0.3 * df["rel_error_one_draw"].mean()


# ---- the summaries say what the data say ----------------------------------------------------------------------

def test_delta_summary_numbers_are_the_datas():
    sc = opened(L2)
    df = gf.delta_norms(compute.record(sc))[1]
    text = summaries.delta_curve(df)
    n = 1 / abs(np.polyfit(df["t"], np.log10(df["norm_dL_dh"]), 1)[0])
    assert f"every {n:.3g} steps back" in text and text.startswith("‖δ_t‖ falls")
    assert f"{summaries.num(df['norm_dL_dh'].iloc[0])} at t = 0" in text


def test_bound_sentence_flips_when_the_bound_is_crossed():
    lag = np.arange(5)
    df = {"lag": lag, "log10_norm": -0.1 * lag, "log10_bound_sigma1_gamma": -0.2 * lag, "log10_rho_power": -0.2 * lag}
    text = summaries.jacobian_curve(pd.DataFrame(df))
    assert "above the bound at 4 lags (first at lag 1)" in text


def test_unit_notice_says_which_units_carry_the_gradient_only_when_they_do():
    t = pd.Index(range(3), name="t")
    even = pd.DataFrame(np.ones((3, 4)), index=t, columns=[f"unit{i}" for i in range(4)])
    one = even.copy()
    one.iloc[0, 2] = 50.0
    assert summaries.unit_notice(even).startswith("the units fade together")
    assert "unit 2 holds 50×" in summaries.unit_notice(one)


# ---- a lesson's own defaults in the app -----------------------------------------------------------------------

def _sidebar(at, label):
    return next(s for s in at.selectbox if s.label == label)


def test_lesson_4_opens_on_its_defaults_and_lesson_2_on_the_shared_ones():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(L4).run()
    assert_clean(at)
    assert _sidebar(at, "Truncation").value == "tbptt" and _sidebar(at, "Loss").value == "every_squared"
    assert "scheme" not in at.query_params and "target" not in at.query_params    # its defaults: not in its link
    at.switch_page(L2).run()
    assert _sidebar(at, "Truncation").value == "full" and _sidebar(at, "Loss").value == "last_squared"
    assert "scheme" not in at.query_params


def test_a_chosen_value_stays_across_pages_and_is_written_where_it_differs():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(L4).run()
    _sidebar(at, "Truncation").set_value("full").run()
    assert at.query_params.get("scheme") in ("full", ["full"])          # not lesson 4's default: the link must say it
    at.switch_page(L2).run()
    assert _sidebar(at, "Truncation").value == "full" and "scheme" not in at.query_params
    at.switch_page(L4).run()
    assert _sidebar(at, "Truncation").value == "full"             # chosen: no longer follows the page


def test_a_link_to_lesson_4_with_full_bptt_keeps_it():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["scheme"] = "full"
    at.switch_page(L4).run()
    assert _sidebar(at, "Truncation").value == "full"


def test_a_profile_that_becomes_exactly_zero_is_said_to_stop_not_to_stay_high():
    df = pd.DataFrame({"lag": np.arange(4), "log10 A": [0.0, -1.0, np.nan, np.nan], "log10 B": [0.0, -2.0, -4.0, -6.0]})
    text = summaries.log_profiles(df)
    assert "A 0.1 at lag 1 (never below 1e-3), not drawn after it" in text
    assert "B 1.00e-6 at lag 3 (below 1e-3 from lag 2)" in text


def test_adaptive_k_bias_on_the_last_loss_stays_under_the_bound_and_can_cross_it_on_every_step():
    p = BY_SLUG["adaptive-k"]
    at = compute.adaptive_truncation(preset("adaptive-k"), p.params["delta"])
    assert at.bounded and np.all(at.bias_last <= at.relative_bound + 1e-12)     # "stays under the bound"
    assert at.bias_trace is not None                                           # (lesson 4: a loss at every step)
