"""The live views in headless Chromium: dragging the scale redraws in the browser on every input event with the
sweep's numbers for that grid point, the server runs no script while it is dragged, the release syncs the sidebar
and the URL (and a reload shows the same view), the step-through and its keys work, and the recurrent edges are
drawn where nodes do not cover them."""
import re

import numpy as np
import pytest
from conftest import ROOT
from test_browser import assert_no_problem, shot, slider_value, wait_idle

import explorer as ex
from explorer.bptt import step_norms
from explorer.scenario import Scenario
from explorer.sweeps import scale_sweep, truncation_sweep
from ui.scrub import LAG_POINTS, max_lag, scale_grid

# Counts the script runs the server starts (stApp's state attribute turning to "running") from install on.
COUNT_RUNS = """() => { window.__runs = 0; const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runs++; })
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
SET = """([i, kind]) => { const r = document.querySelector('.bptt-scrub input.scale')
  || [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
       .map(s => s.querySelector('.bptt-scrub input.scale')).find(Boolean);
  r.value = String(i); r.dispatchEvent(new Event(kind, {bubbles: true})); }"""
DRAWN = "() => { const s = window.__bpttScrub.live_unrolled; return [s.index, s.redraws, s.graph, s.delta.y]; }"


def test_dragging_the_scale_redraws_live_and_syncs_on_release(server, page):
    page.goto(f"{server}/Unrolled_graph?T=40&target=every_squared")
    wait_idle(page)
    assert_no_problem(page)
    sc = Scenario(T=40, target="every_squared")
    grid = scale_grid()
    sweep = scale_sweep(sc, grid, [0], spectrum=False)
    page.evaluate(COUNT_RUNS)
    index0, redraws0, _, _ = page.evaluate(DRAWN)
    assert grid[index0] == 0.9
    for n, i in enumerate([10, 11, 25, 40, 58, 3]):          # input events as a drag sends them
        page.evaluate(SET, [i, "input"])
        index, redraws, graph, ylog = page.evaluate(DRAWN)
        assert index == i and redraws == redraws0 + n + 1     # one redraw per input event
        want = sweep.steps["norm_delta"][i]
        window = want[graph["start"]:graph["start"] + graph["window"]]
        np.testing.assert_allclose(graph["delta"], window, rtol=1e-6)           # what the graph colours by
        np.testing.assert_allclose(graph["through"], sweep.steps["norm_through_J"][i][graph["start"]:
                                   graph["start"] + graph["window"] - 1], rtol=1e-6)   # what the edges carry
        got = np.array([v if v is not None else np.nan for v in ylog], dtype=float)
        np.testing.assert_allclose(got, np.log10(want), rtol=1e-6, atol=1e-9)  # the ‖δ_t‖ line
    assert page.evaluate("() => window.__runs") == 0, "the server ran the script during the drag"
    # the DOM holds the same numbers: each h_t circle's data-delta
    circles = page.locator(".bptt-scrub circle.h")
    assert circles.count() == 30
    d_dom = [float(circles.nth(k).get_attribute("data-delta")) for k in range(circles.count())]
    start = page.evaluate(DRAWN)[2]["start"]
    np.testing.assert_allclose(d_dom, sweep.steps["norm_delta"][3][start:start + 30], rtol=1e-6)
    # release: the value goes back; the sidebar, the URL and the other charts follow
    page.evaluate(SET, [25, "input"])
    page.evaluate(SET, [25, "change"])
    page.wait_for_function("() => window.__runs >= 1", timeout=20_000)
    wait_idle(page)
    assert re.search(r"[?&]scale=1\.35\b", page.url), page.url
    assert slider_value(page, "Scale (ρ or σ₁)") == "1.35"
    assert page.evaluate(DRAWN)[0] == 25
    page.reload()
    wait_idle(page)
    assert page.evaluate(DRAWN)[0] == 25 and slider_value(page, "Scale (ρ or σ₁)") == "1.35"
    assert page.external_requests == [], page.external_requests
    assert_no_problem(page)
    shot(page, "50-live-unrolled-after-release")


EDGES = """() => { const out = [];
  for (const e of document.querySelectorAll('.bptt-scrub line.edge.h')) {
    const b = e.getBoundingClientRect(), x = b.left + b.width / 2, y = b.top + b.height / 2;
    const top = document.elementFromPoint(x, y);
    out.push([b.width, top === e]);
  } return out; }"""
PHASE = "() => { const g = window.__bpttScrub.live_unrolled.graph; return [g.phase, g.window]; }"


def test_edges_are_visible_and_both_passes_step_through(server, page):
    page.goto(f"{server}/Unrolled_graph?T=30")
    wait_idle(page)
    view = page.locator(".bptt-scrub")
    view.scroll_into_view_if_needed()
    edges = page.evaluate(EDGES)
    assert len(edges) == 29
    assert all(w >= 4 and on_top for w, on_top in edges), edges      # drawn, and no node covers its middle
    phase, W = page.evaluate(PHASE)
    assert phase == 2 * W                                       # both passes done when the page opens
    view.focus()
    page.keyboard.press("Home")
    assert page.evaluate(PHASE)[0] == 0
    for k in range(1, 4):
        page.keyboard.press("ArrowRight")
        assert page.evaluate(PHASE)[0] == k
    assert page.locator(".bptt-scrub circle.h[fill='#f4f4f4']").count() == 3   # forward: 3 states computed
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(PHASE)[0] == 2 * W - 1                  # backward: all but the first step's δ
    page.keyboard.press("Home")
    page.keyboard.press(" ")                                     # play
    page.wait_for_function("() => window.__bpttScrub.live_unrolled.graph.phase >= 4", timeout=10_000)
    page.keyboard.press(" ")                                     # pause
    p1 = page.evaluate(PHASE)[0]
    page.wait_for_timeout(800)
    assert page.evaluate(PHASE)[0] == p1                         # paused: nothing moves
    page.get_by_role("button", name="to the end").click()
    assert page.evaluate(PHASE)[0] == 2 * W
    # the backward pass, one step at a time: the equation is the active step's, with its ∂L/∂W_hh term
    page.keyboard.press("Home")
    for _ in range(W + 3):
        page.keyboard.press("ArrowRight")
    assert page.locator(".bptt-scrub .eqline").inner_text().startswith(f"backward step {30 - 3}:")
    assert page.locator(".bptt-scrub line.active-edge").count() == 1
    # focus on one unit: the nodes show |δ_t,3| (shipped as centi-log10: within 1.2 %)
    page.locator(".bptt-scrub select").select_option("3")
    sweep = scale_sweep(Scenario(T=30), scale_grid(), [0], spectrum=False, units=True)
    i = page.evaluate("() => window.__bpttScrub.live_unrolled.index")
    got = [float(v) for v in page.locator(".bptt-scrub circle.h").evaluate_all(
        "els => els.map(e => e.getAttribute('data-value'))")]
    np.testing.assert_allclose(got, np.abs(sweep.units[i, :, 3]), rtol=0.012)
    page.keyboard.press("End")
    # clicking an h_t reads its step's equation, and the step goes to the URL
    page.locator(".bptt-scrub circle.h").nth(5).click()
    wait_idle(page)
    assert "step 5:" in page.locator(".bptt-scrub .eqline").inner_text()
    assert re.search(r"[?&]step=5\b", page.url), page.url
    assert_no_problem(page)
    shot(page, "51-live-unrolled-step-through")


TRUNC = "() => { const s = window.__bpttScrub.live_truncation; return [s.index, s.value, s.graph, s.delta.y]; }"


def test_dragging_k2_moves_the_cuts_live_and_syncs_on_release(server, page):
    page.goto(f"{server}/Truncation?scheme=tbptt&k1=5&k2=10&T=60&target=every_squared")
    wait_idle(page)
    sc = Scenario(T=60, scheme="tbptt", k1=5, k2=10, target="every_squared")
    values = list(range(5, 61))
    sweep = truncation_sweep(sc, "k2", values)
    page.evaluate(COUNT_RUNS)
    assert page.evaluate(TRUNC)[1] == 10
    cuts_seen = []
    for k2 in (6, 12, 25, 60):
        page.evaluate(SET, [values.index(k2), "input"])
        index, value, graph, ylog = page.evaluate(TRUNC)
        assert value == k2
        i = values.index(k2)
        got = np.array([v if v is not None else np.nan for v in ylog], dtype=float)
        np.testing.assert_allclose(got, np.log10(sweep.steps["norm_delta"][i]), rtol=1e-6, atol=1e-9)
        cut = page.evaluate("() => [...document.querySelectorAll('.bptt-scrub line.edge.h')]"
                            ".filter(e => e.getAttribute('stroke') === '#d62728').map(e => +e.dataset.t + 0.5)")
        want = [c for c in sweep.cuts[i] if graph["start"] - 0.5 < c < graph["start"] + graph["window"] - 1]
        assert cut == want                                      # the dashed red cuts are the scheme's
        cuts_seen.append(tuple(cut))
    assert cuts_seen[-1] == () and len(set(cuts_seen)) > 1      # k2 = T keeps every path in the window
    assert page.evaluate("() => window.__runs") == 0
    page.evaluate(SET, [values.index(25), "input"])
    page.evaluate(SET, [values.index(25), "change"])
    page.wait_for_function("() => window.__runs >= 1", timeout=20_000)
    wait_idle(page)
    assert re.search(r"[?&]k2=25\b", page.url), page.url
    assert page.evaluate(TRUNC)[1] == 25
    assert_no_problem(page)
    shot(page, "52-live-truncation-k2")


def test_a_broken_payload_shows_a_message_not_an_error(server, page):
    """The view's own guard: data it cannot read gives one sentence where the view would be, no exception."""
    page.goto(f"{server}/Unrolled_graph?T=20")
    wait_idle(page)
    js = (ROOT / "ui" / "assets" / "scrub.js").read_text()
    text = page.evaluate("""async (src) => {
        const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
        const mod = await import(url);
        const host = document.createElement('div'); document.body.appendChild(host);
        const out = [];
        for (const data of ['{"values": [1, 2', '{"values": []}', null]) {
          mod.default({data, parentElement: host, setStateValue: () => {}, key: 'bad'});
          out.push(host.textContent);
        }
        return out; }""", js)
    assert all("could not read its data" in t for t in text), text
    assert not page.js_errors, page.js_errors


def test_after_release_the_server_charts_draw_the_live_views_numbers(server, page):
    page.goto(f"{server}/Gradient_flow?T=50")
    wait_idle(page)
    page.evaluate(COUNT_RUNS)
    page.evaluate(SET, [36, "input"])                        # scale 1.9
    live = page.evaluate("() => window.__bpttScrub.live_flow.delta.y")
    page.evaluate(SET, [36, "change"])
    page.wait_for_function("() => window.__runs >= 1", timeout=20_000)
    wait_idle(page)
    assert re.search(r"[?&]scale=1\.9\b", page.url), page.url
    plotly = page.get_by_test_id("stPlotlyChart").first.locator(".js-plotly-plot").first.evaluate(
        "gd => gd.data[0].y")                                # lesson 2's ‖δ_t‖ chart, redrawn by the server
    got = np.log10(np.array([v if v is not None else np.nan for v in plotly], dtype=float))
    want = np.array([v if v is not None else np.nan for v in live], dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_teacher_mode_hiding_the_scale_also_locks_the_live_knob(server, page):
    page.goto(f"{server}/Unrolled_graph?T=30&hide=scale")
    wait_idle(page)
    knob = page.locator(".bptt-scrub input.scale")
    assert knob.is_disabled() and not knob.is_visible()
    assert "set by your teacher" in page.locator(".bptt-scrub .live").inner_text()
    assert page.locator(".bptt-scrub circle.h").count() == 30          # the view itself is still drawn


# ---- readable without sight, without colour, without a mouse -------------------------------------------------------
SUMMARIES = "(k) => window.__bpttScrub[k].summaries"
DELTA_SENTENCE = re.compile(r"At ρ = ([\d.]+), ‖δ_t‖ falls by a factor of 10 every ([\d.]+) steps back; "
                            r"at t = 0 it is ([-\d.e+]+) \(largest ([-\d.e+]+) at t = (\d+)\)\.")


def delta_expected(sc: Scenario):
    """What the ‖δ_t‖ sentence says, from the engine: the steps per factor of 10 of the least-squares line of
    log10 ‖δ_t‖ on t (over the steps where it is positive), ‖δ_0‖, the largest and where."""
    model, X, y, mask, loss = sc.build()
    d = step_norms(ex.bptt(model, X, y, loss=loss, mask=mask))["norm_delta"]
    t = np.flatnonzero(np.isfinite(d) & (d > 0))
    slope = np.polyfit(t, np.log10(d[t]), 1)[0]
    return 1 / slope, d[0], d.max(), int(np.argmax(d))


def check_delta_sentence(text: str, sc: Scenario):
    m = DELTA_SENTENCE.fullmatch(text)
    assert m, text
    n, d0, top, at = delta_expected(sc)
    assert float(m[1]) == sc.scale
    assert float(m[2]) == pytest.approx(round(n) if n >= 10 else n, rel=0.05, abs=0.5)
    assert float(m[3]) == pytest.approx(d0, rel=0.05) and float(m[4]) == pytest.approx(top, rel=0.05)
    assert int(m[5]) == at


def test_the_delta_summary_says_the_engines_numbers_and_follows_the_keyboard(server, page):
    page.goto(f"{server}/Gradient_flow")
    wait_idle(page)
    said = page.evaluate(SUMMARIES, "live_flow")
    assert list(said) == ["delta"]
    check_delta_sentence(said["delta"], Scenario())
    p = page.locator(".bptt-scrub .view.delta p.summary")
    assert p.inner_text() == said["delta"] and p.get_attribute("aria-live") == "polite"
    knob = page.locator(".bptt-scrub input.scale")
    assert knob.get_attribute("aria-valuetext") == "ρ = 0.90"      # the input's own value is the grid index
    knob.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__bpttScrub.live_flow.summaries.delta.startsWith('At ρ = 1.05,')",
                           timeout=5_000)
    page.wait_for_function("() => /[?&]scale=1\\.05\\b/.test(location.search)", timeout=20_000)   # one release
    wait_idle(page)
    check_delta_sentence(page.evaluate(SUMMARIES, "live_flow")["delta"], Scenario(scale=1.05))
    # the release reran the page and remounted the view: the knob kept the keyboard
    assert page.evaluate("() => document.activeElement.classList.contains('scale')")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => window.__bpttScrub.live_flow.summaries.delta.startsWith('At ρ = 1.00,')",
                           timeout=5_000)
    assert_no_problem(page)


ACTIVE = """() => { const a = document.activeElement, s = getComputedStyle(a);
  return [a.dataset.k || a.tagName, a.getAttribute('aria-pressed'), s.outlineStyle, parseFloat(s.outlineWidth)]; }"""


def test_tab_reaches_the_knob_and_play_and_the_keyboard_plays_and_pauses(server, page):
    page.goto(f"{server}/Unrolled_graph?T=30")
    wait_idle(page)
    page.get_by_role("heading", name="The unrolled graph").first.click()    # Tab starts from the page's top
    seen = []
    for _ in range(80):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(ACTIVE))
        if seen[-1][0] == "play":
            break
    keys = [k for k, *_ in seen]
    assert "range" in keys and keys[-1] == "play", keys
    assert keys[keys.index("range"):] == ["range", "first", "back", "play"], keys   # the view's controls, in order
    for k, _, style, width in seen[keys.index("range") + 1:]:
        assert style != "none" and width >= 2, (k, style, width)      # a focus ring the eye can find
    phase, W = page.evaluate(PHASE)
    assert phase == 2 * W and seen[-1][1] == "false"
    for key in ("Enter", " "):
        page.keyboard.press(key)                                          # play (from the start: it was done)
        page.wait_for_function("() => window.__bpttScrub.live_unrolled.graph.phase >= 3", timeout=10_000)
        assert page.evaluate(ACTIVE)[:2] == ["play", "true"]
        assert page.locator(".bptt-scrub .view.graph p.summary").get_attribute("aria-live") == "off"   # no flood
        page.keyboard.press(key)                                          # pause
        p1 = page.evaluate(PHASE)[0]
        page.wait_for_timeout(800)
        assert page.evaluate(PHASE)[0] == p1 and page.evaluate(ACTIVE)[:2] == ["play", "false"]
        text = page.evaluate(SUMMARIES, "live_unrolled")["graph"]
        want = (f"Forward pass at ρ = 0.90: h_t, y_t and ℓ_t computed for steps 0–{p1 - 1} ({p1} of {W})."
                if p1 < W else "forward pass done for steps 0–29; the backward pass has not started" if p1 == W
                else f"δ_t known for steps {W - 1} down to {2 * W - p1}")
        assert want in text, (p1, text)                                  # where it paused, in words
        assert page.locator(".bptt-scrub .view.graph p.summary").get_attribute("aria-live") == "polite"
        page.keyboard.press("End")                                        # shortcuts still work from a button
        assert page.evaluate(PHASE)[0] == 2 * W
    assert not page.js_errors, page.js_errors


def test_every_symbol_button_has_a_name_and_every_control_a_label(server, page):
    page.goto(f"{server}/Unrolled_graph?T=120")                # T > window: the overview strip is a slider too
    wait_idle(page)
    buttons = page.locator(".bptt-scrub button").evaluate_all(
        "bs => bs.map(b => [b.textContent, b.getAttribute('aria-label'), b.title])")
    assert len(buttons) == 5
    for text, name, title in buttons:
        assert name and title, (text, name)                     # a name for a screen reader, a tooltip for a mouse
        if not re.search(r"[A-Za-z]", text):
            assert re.search(r"[a-z]{3}", name), (text, name)   # symbols only: the name says it in words
    for name in ("to the start", "one step back", "play both passes", "one step on", "to the end"):
        assert page.get_by_role("button", name=name).count() == 1
    assert page.locator(".bptt-scrub select").get_attribute("aria-label")
    strip = page.get_by_role("slider", name="window of steps shown")
    assert strip.get_attribute("aria-valuetext") == "steps 90 to 119 of 120"
    strip.focus()
    page.keyboard.press("Home")
    assert strip.get_attribute("aria-valuetext") == "steps 0 to 29 of 120"
    assert "steps 29 down to 0" in page.evaluate(SUMMARIES, "live_unrolled")["graph"]
    page.wait_for_function("() => /[?&]end=30\\b/.test(location.search)", timeout=20_000)   # the page follows
    wait_idle(page)
    assert page.evaluate("() => document.activeElement.dataset.k") == "window"
    assert_no_problem(page)


LABELS = """() => [...document.querySelectorAll('.bptt-scrub .view')].map(v => [v.className.split(' ')[1],
  v.querySelector('svg[role=img]').getAttribute('aria-label'), v.querySelector('p.summary').textContent])"""


def labels_match(page, key):
    said = page.evaluate(SUMMARIES, key)
    got = page.evaluate(LABELS)
    assert [v for v, _, _ in got] == list(said), (got, said)
    for view, label, text in got:
        assert label == text == said[view] and len(text) > 40, (view, label, text)
    return said


def test_the_svg_labels_are_the_summaries_and_say_what_is_drawn(server, page):
    page.goto(f"{server}/Vanishing_and_exploding")
    wait_idle(page)
    said = labels_match(page, "live_vanishing")
    sc = Scenario()
    lags = ex.even_lags(max_lag(sc, scale_grid().size), LAG_POINTS)
    sw = scale_sweep(sc, [0.9], lags)
    i = int(np.argmax(sw.log10_lag_norm[0] < -3))               # the first drawn lag below 1e-3
    word = "at" if i == 0 or sw.lags[i] - sw.lags[i - 1] == 1 else "by"   # "at" when the lag before it is drawn too
    assert f"first falls below 1e-3 {word} lag {sw.lags[i]};" in said["lags"], said["lags"]
    assert "stays under the dashed bound (σ₁γ)^ℓ = 0.900^ℓ" in said["lags"]
    assert said["eigen"].startswith("ρ = 0.900 and σ₁ = 0.900: none of the 32 eigenvalues of W_hh lie outside")
    page.evaluate(SET, [28, "input"])                          # scale 1.5: every eigenvalue outside, a drag's redraw
    page.wait_for_function("() => window.__bpttScrub.live_vanishing.summaries.eigen.includes('all 32')",
                           timeout=5_000)                      # (at most 250 ms later)
    said = labels_match(page, "live_vanishing")
    assert "never falls below 1e-3" in said["lags"]
    # a grid point that overflowed says where, in every view
    page.goto(f"{server}/Unrolled_graph?act=linear&scale=3&T=400&target=every_squared")
    wait_idle(page)
    sc = Scenario(activation="linear", scale=3.0, T=400, target="every_squared")
    model, X, y, mask, loss = sc.build()
    k = ex.bptt(model, X, y, loss=loss, mask=mask).trace.overflow_step
    assert k is not None
    said = labels_match(page, "live_unrolled")
    assert f"The forward pass overflowed at step {k} at this value" in said["graph"], said["graph"]
    assert said["delta"].startswith(f"At ρ = 3.00, the forward pass overflowed at step {k}, so ‖δ_t‖ exists for "
                                    f"steps 0–{k - 1} only;"), said["delta"]
    # truncation: where the cuts are, in words
    page.goto(f"{server}/Truncation?scheme=tbptt&k1=5&k2=10&T=60")
    wait_idle(page)
    said = labels_match(page, "live_truncation")
    cuts = truncation_sweep(Scenario(T=60, scheme="tbptt", k1=5, k2=10), "k2", [10]).cuts[0]
    shown = [c for c in cuts if 30 < c < 59]
    assert ("Truncation cuts the path back between steps " + ", ".join(f"{c - 0.5:.0f} and {c + 0.5:.0f}"
                                                                        for c in shown) + ".") in said["graph"]
    assert said["delta"].startswith("At k2 = 10, ") and "full BPTT gives" in said["delta"]
    assert_no_problem(page)
    page.get_by_role("heading", name="Truncation").first.scroll_into_view_if_needed()
    shot(page, "53-live-views-summaries")


def test_brackets_choose_the_written_out_step_as_a_click_does(server, page):
    """[ and ] move the step whose equation is written out (a click on an h_t does the same); the page follows
    once the keys rest, and the URL holds the step."""
    page.goto(f"{server}/Unrolled_graph?T=30")
    wait_idle(page)
    page.locator(".bptt-scrub").first.focus()
    before = page.evaluate("() => window.__bpttScrub.live_unrolled.graph.step")
    for _ in range(3):
        page.keyboard.press("[")
    assert page.evaluate("() => window.__bpttScrub.live_unrolled.graph.step") == before - 3
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('step') === '{before - 3}'",
                           timeout=20_000)
    wait_idle(page)
    assert f"step {before - 3}:" in page.locator(".bptt-scrub .view.graph").first.inner_text()
    page.keyboard.press("]")
    assert page.evaluate("() => window.__bpttScrub.live_unrolled.graph.step") == before - 2
    assert not page.js_errors, page.js_errors
