"""The live views in headless Chromium: dragging the scale redraws in the browser on every input event with the
sweep's numbers for that grid point, the server runs no script while it is dragged, the release syncs the sidebar
and the URL (and a reload shows the same view), the step-through and its keys work, and the recurrent edges are
drawn where nodes do not cover them."""
import re

import numpy as np
from conftest import ROOT
from test_browser import assert_no_problem, shot, slider_value, wait_idle

from explorer.scenario import Scenario
from explorer.sweeps import scale_sweep, truncation_sweep
from ui.scrub import scale_grid

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
    page.get_by_role("button", name="⇥").click()
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
