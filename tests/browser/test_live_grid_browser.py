"""Lesson 1's live layers × time grid in headless Chromium (issue #17): at ?layers=3 the live SVG has one row of
nodes per layer and both kinds of edge; every node's colour and every edge's width is what the engine's numbers
give on the drawn log scales, at each knob value a drag or the keyboard reaches (sampled from the DOM), with no
server run during the drag; the release writes the value to the URL; the per-layer sentences say the engine's
numbers; the truncation's cuts are drawn in every layer; axe finds nothing blocking; no JavaScript error."""
import re
from dataclasses import replace

import numpy as np
import pytest
from optional import needs
from test_axe_browser import BLOCKING, describe, run_axe
from test_browser import assert_no_problem, shot, wait_idle
from test_scrub_browser import COUNT_RUNS, SET

import explorer as ex
from explorer.scenario import Scenario
from explorer.sweeps import cut_positions, layer_grid, scale_sweep
from ui.scrub import scale_grid

VIRIDIS = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"]
BLUES = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]
GRAPH = "() => window.__bpttScrub.live_unrolled.graph"
# every node and edge of the live graph as drawn: [kind, layer, t, value, fill or stroke, stroke-width, cy or y1]
DRAWN = """() => [...document.querySelectorAll('.bptt-scrub .view.graph svg:not(.overview) circle.h, ' +
                                           '.bptt-scrub .view.graph line.edge')].map(e => [
  e.tagName === 'circle' ? 'node' : (e.classList.contains('depth') ? 'depth' : 'time'), +e.dataset.layer, +e.dataset.t,
  +e.dataset.value, e.getAttribute(e.tagName === 'circle' ? 'fill' : 'stroke'), +e.getAttribute('stroke-width'),
  +e.getAttribute(e.tagName === 'circle' ? 'cy' : 'y1')])"""


def rgb(colors, u):
    """scrub.js's ramp(): the colour at u ∈ [0, 1] of a piecewise-linear colour scale, as (r, g, b)."""
    u = min(1.0, max(0.0, u)) * (len(colors) - 1)
    i = min(len(colors) - 2, int(np.floor(u)))
    f = u - i
    a, b = colors[i], colors[i + 1]
    return tuple(round(int(a[k:k + 2], 16) * (1 - f) + int(b[k:k + 2], 16) * f) for k in (1, 3, 5))


def viridis_place(fill: str) -> float:
    """Where on the node colour scale (0 … 1) a drawn fill sits: the nearest of 1001 points of the ramp."""
    got = np.array(parse_rgb(fill))
    us = np.linspace(0, 1, 1001)
    return float(us[np.argmin([np.abs(np.array(rgb(VIRIDIS, u)) - got).sum() for u in us])])


def parse_rgb(s: str):
    return tuple(int(v) for v in re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", s).groups())


def span(logs):
    """scrub.js's extent() of log10 values: their finite range (widened when flat)."""
    f = logs[np.isfinite(logs)]
    lo, hi = f.min(), f.max()
    return (lo - 0.5, hi + 0.5) if hi - lo < 1e-9 else (lo, hi)


def check_drawn(page, sw, i):
    """The DOM against the sweep at grid point i: values, node colours on the node scale, edge widths and shades on
    the one scale shared by the time and the depth edges. Returns the drawn rows for further checks."""
    g = page.evaluate(GRAPH)
    a, W = g["start"], g["window"]
    node, time, depth = (sw.grid[k][i] for k in ("node", "time", "depth"))
    rows = page.evaluate(DRAWN)
    nodes = [r for r in rows if r[0] == "node"]
    edges = [r for r in rows if r[0] != "node"]
    L = node.shape[0]
    assert len(nodes) == L * W and sum(r[0] == "time" for r in rows) == L * (W - 1)
    assert sum(r[0] == "depth" for r in rows) == (L - 1) * W
    lo, hi = span(np.log10(node[:, a:a + W]))
    elo, ehi = span(np.concatenate([np.log10(time[:, a:a + W - 1]).ravel(), np.log10(depth[:, a:a + W]).ravel()]))
    for _, l, t, v, fill, _, _ in nodes:
        assert v == pytest.approx(node[l, t], rel=1e-6)
        want = rgb(VIRIDIS, (np.log10(node[l, t]) - lo) / (hi - lo))
        assert max(abs(p - q) for p, q in zip(parse_rgb(fill), want, strict=True)) <= 1, (l, t, fill, want)
    for kind, l, t, v, stroke, width, _ in edges:
        ref = time[l, t] if kind == "time" else depth[l, t]
        assert v == pytest.approx(ref, rel=1e-6)
        u = (np.log10(ref) - elo) / (ehi - elo)
        assert width == pytest.approx(2 + 7 * max(0.0, u), abs=1e-5), (kind, l, t)
        assert max(abs(p - q) for p, q in zip(parse_rgb(stroke), rgb(BLUES, u), strict=True)) <= 1
    return nodes, edges, g


def test_the_live_grid_draws_every_layer_and_follows_the_knob(server, page):
    page.goto(f"{server}/Unrolled_graph?layers=3")
    wait_idle(page)
    assert_no_problem(page)
    sc = Scenario(layers=3)
    sw = scale_sweep(replace(sc, scale=1.0), scale_grid(), [0], spectrum=False, by_layer=True)
    i0 = page.evaluate("() => window.__bpttScrub.live_unrolled.index")
    assert sw.values[i0] == sc.scale
    nodes, edges, g = check_drawn(page, sw, i0)
    assert g["layers"] == 3 and g["start"] == 70 and g["window"] == 30
    # one row per layer, layer 0 at the bottom (the largest y), the rows in order
    cy = {l: {r[6] for r in nodes if r[1] == l} for l in range(3)}
    assert all(len(v) == 1 for v in cy.values()) and cy[0].pop() > cy[1].pop() > cy[2].pop()
    assert {(r[0], r[6]) for r in edges if r[0] == "depth"} and {r[0] for r in edges} == {"time", "depth"}
    names = page.locator(".bptt-scrub .view.graph svg:not(.overview) text.rowname").evaluate_all(
        "ts => ts.map(t => t.textContent)")
    assert names == ["x_t", "h_t^(0)", "h_t^(1)", "h_t^(2)", "y_t", "ℓ_t"]
    # the engine at this value: ‖δ_t^(l)‖ of the stacked model, bit for bit in the sweep
    model, X, y, mask, loss = sc.build()
    np.testing.assert_array_equal(sw.grid["node"][i0], ex.bptt(model, X, y, loss=loss, mask=mask).delta_norms_by_layer)

    # a drag: input events only, each one redrawn from the sweep, no server run
    page.evaluate(COUNT_RUNS)
    for i in (4, 30, 50, 20):                                 # ρ = 0.3, 1.6, 2.6, 1.1
        page.evaluate(SET, [i, "input"])
        nodes_i, edges_i, _ = check_drawn(page, sw, i)
    assert page.evaluate("() => window.__runs") == 0, "the server ran the script during the drag"
    # the direction the engine says, from ρ = 0.9 to 1.1 at the window's earliest step in every layer: the drawn
    # value, the node's place on the colour scale (read back from its fill) and the time edge's width move as the
    # engine's numbers on the drawn log scales do
    node, time, depth = sw.grid["node"], sw.grid["time"], sw.grid["depth"]
    after = {(r[0], r[1], r[2]): r for r in nodes_i + edges_i}
    was = {(r[0], r[1], r[2]): r for r in nodes + edges}

    def on_scale(i, l, t):                                   # (node colour place, time-edge width place), engine
        lo, hi = span(np.log10(node[i][:, 70:100]))
        elo, ehi = span(np.concatenate([np.log10(time[i][:, 70:99]).ravel(), np.log10(depth[i][:, 70:100]).ravel()]))
        return (np.log10(node[i, l, t]) - lo) / (hi - lo), (np.log10(time[i, l, t]) - elo) / (ehi - elo)

    for l in range(3):
        (u0, w0), (u1, w1) = on_scale(i0, l, 70), on_scale(20, l, 70)
        assert (after[("node", l, 70)][3] > was[("node", l, 70)][3]) == (node[20, l, 70] > node[i0, l, 70])
        if abs(u1 - u0) > 0.02:                              # (a colour read back is good to ~0.005)
            assert np.sign(viridis_place(after[("node", l, 70)][4]) - viridis_place(was[("node", l, 70)][4])) == \
                np.sign(u1 - u0)
        assert np.sign(after[("time", l, 70)][5] - was[("time", l, 70)][5]) == np.sign(w1 - w0)
    assert np.log10(node[20, 2, 70] / node[20, 2, 99]) > np.log10(node[i0, 2, 70] / node[i0, 2, 99]), \
        "above ρ = 1 the top layer fades less going back"
    # the keyboard moves the same knob: three steps right of 0.9, then the release goes to the URL
    page.evaluate(SET, [i0, "input"])
    page.locator(".bptt-scrub input.scale").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("() => window.__bpttScrub.live_unrolled.index") == i0 + 3
    check_drawn(page, sw, i0 + 3)
    page.wait_for_function("() => /[?&]scale=1\\.05\\b/.test(location.search)", timeout=20_000)
    wait_idle(page)
    assert "layers=3" in page.url
    check_drawn(page, sw, i0 + 3)                            # the remounted view draws the released value
    # in words: one sentence per layer, with the engine's ‖δ‖ at the window's first and last steps
    said = page.evaluate("() => window.__bpttScrub.live_unrolled.summaries.graph")
    assert said.startswith("Both passes done at ρ = 1.05: δ_t^(l) known for steps 99 down to 70 in all 3 layers.")
    for l, role in ((2, " (top, feeds y_t)"), (1, ""), (0, " (bottom, reads x_t)")):
        m = re.search(rf"Layer {l}{re.escape(role)}: ‖δ_70‖ = ([-\d.e+]+), ‖δ_99‖ = ([-\d.e+]+)\.", said)
        assert m, said
        assert float(m[1]) == pytest.approx(node[i0 + 3, l, 70], rel=0.05)
        assert float(m[2]) == pytest.approx(node[i0 + 3, l, 99], rel=0.05)
    svg = page.locator(".bptt-scrub .view.graph svg[role=img]").first
    assert svg.get_attribute("aria-label") == said
    # the written-out node: ↑ and ↓ choose its layer, [ and ] its step; its numbers are the grid's
    page.locator(".bptt-scrub").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    g = page.evaluate(GRAPH)
    assert g["layer"] == 0
    eq = page.locator(".bptt-scrub .eqline").inner_text()
    assert eq.startswith(f"step {g['step']}, layer 0:")
    assert float(page.locator(".bptt-scrub .eqline").get_attribute("data-delta")) == pytest.approx(
        node[i0 + 3, 0, g["step"]], rel=1e-6)
    assert page.locator(".bptt-scrub circle.h.cursor").get_attribute("data-layer") == "0"
    assert "ArrowUp" in page.locator(".bptt-scrub").first.get_attribute("aria-keyshortcuts")
    # the ‖δ_t‖ chart draws every layer
    names = page.locator(".bptt-scrub .view.delta path.series").evaluate_all("ps => ps.map(p => p.dataset.name)")
    assert names == ["‖δ_t^(2)‖, top layer", "‖δ_t^(1)‖", "‖δ_t^(0)‖"]
    assert page.get_by_text("draws the top layer only").count() == 0
    assert_no_problem(page)
    page.locator(".bptt-scrub").first.scroll_into_view_if_needed()
    shot(page, "60-live-grid-layers-3")


def test_the_truncation_cuts_are_drawn_in_every_layer(server, page):
    page.goto(f"{server}/Unrolled_graph?layers=3&T=60&scheme=tbptt&k1=5&k2=10&target=every_squared")
    wait_idle(page)
    sc = Scenario(layers=3, T=60, scheme="tbptt", k1=5, k2=10, target="every_squared")
    g = page.evaluate(GRAPH)
    cut = page.evaluate("() => [...document.querySelectorAll('.bptt-scrub line.edge.h')]"
                        ".filter(e => e.getAttribute('stroke') === '#d62728').map(e => [+e.dataset.layer, +e.dataset.t])")
    want = [c for c in cut_positions(sc.truncation(), sc.T) if g["start"] < c < g["start"] + g["window"] - 1]
    assert want
    for l in range(3):
        assert sorted(t + 0.5 for k, t in cut if k == l) == want, (l, cut)
    assert page.locator(".bptt-scrub text.cut").count() == 3 * len(want)
    model, X, y, mask, loss = sc.build()
    rec = ex.bptt(model, X, y, loss=loss, mask=mask, scheme=sc.truncation())
    drawn = page.evaluate(DRAWN)
    for kind, l, t, v, *_ in drawn:
        ref = layer_grid(rec)["node" if kind == "node" else kind][l, t]
        assert v == pytest.approx(ref, rel=1e-6, abs=1e-300)
    assert "in every layer." in page.evaluate("() => window.__bpttScrub.live_unrolled.summaries.graph")
    assert_no_problem(page)


def test_one_layer_draws_the_chain_it_always_drew(server, page):
    page.goto(f"{server}/Unrolled_graph?T=30")
    wait_idle(page)
    g = page.evaluate(GRAPH)
    assert "layers" not in g and "grid" not in g
    assert page.locator(".bptt-scrub line.edge.depth").count() == 0
    assert page.locator(".bptt-scrub circle.h").count() == 30
    names = page.locator(".bptt-scrub .view.graph svg:not(.overview) text.rowname").evaluate_all(
        "ts => ts.map(t => t.textContent)")
    assert names == ["x_t", "h_t", "y_t", "ℓ_t"]
    assert_no_problem(page)


@pytest.fixture(scope="module")
def axe():
    return needs("axe_playwright_python.sync_playwright").Axe()


def test_axe_finds_nothing_blocking_on_the_live_grid(server, page, axe):
    """The grid's SVG is named by its summary, its nodes and edges add no unlabelled control, in projector mode too."""
    for query in ("layers=3", "layers=3&proj=1&scheme=tbptt"):
        page.goto(f"{server}/Unrolled_graph?{query}")
        wait_idle(page)
        found = [v for v in run_axe(page, axe) if v["impact"] in BLOCKING]
        assert not found, "\n".join(describe(v) for v in found)
    assert_no_problem(page)


def test_the_step_through_fills_whole_columns_of_the_grid(server, page):
    """← → step both passes on the grid as on one layer: a forward step computes column t in every layer, a backward
    step gives column t its δ in every layer (and the sentence says so)."""
    page.goto(f"{server}/Unrolled_graph?layers=3&T=30")
    wait_idle(page)
    view = page.locator(".bptt-scrub").first
    view.focus()
    page.keyboard.press("Home")
    assert page.locator(".bptt-scrub circle.h[fill='#ffffff']").count() == 90      # nothing computed
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.locator(".bptt-scrub circle.h[fill='#f4f4f4']").count() == 9         # 3 steps × 3 layers
    page.wait_for_function("() => window.__bpttScrub.live_unrolled.summaries.graph.includes("
                           "'h_t^(l) of all 3 layers, y_t and ℓ_t computed for steps 0–2 (3 of 30)')",
                           timeout=5_000)                 # (said at most 250 ms after the last redraw)
    page.keyboard.press("End")
    for _ in range(29):                                  # back to one backward step done: only column 29 has δ
        page.keyboard.press("ArrowLeft")
    coloured = page.locator(".bptt-scrub circle.h").evaluate_all(
        "cs => cs.filter(c => c.getAttribute('fill').startsWith('rgb')).map(c => +c.dataset.t)")
    assert sorted(coloured) == [29, 29, 29]
    page.wait_for_function("() => window.__bpttScrub.live_unrolled.summaries.graph.includes("
                           "'δ_t^(l) known for steps 29 down to 29 in every layer (1 of 30)')", timeout=5_000)
    assert page.locator(".bptt-scrub .eqline").inner_text().startswith("backward step 29, layer 2:")
    assert page.locator(".bptt-scrub line.active-edge").count() == 0      # the top's last step: only the readout
    page.keyboard.press("ArrowDown")                     # layer 1: its δ came down the depth edge from layer 2
    assert page.locator(".bptt-scrub .eqline").inner_text().startswith("backward step 29, layer 1:")
    assert page.locator(".bptt-scrub line.active-edge").count() == 1
    assert_no_problem(page)


OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.bptt-scrub .view.graph svg:not(.overview) text.legend')]
    .map(t => [t.textContent, t.getBoundingClientRect()]);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, p] = boxes[i], [b, q] = boxes[j];
    const w = Math.min(p.right, q.right) - Math.max(p.left, q.left), h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (w > 1 && h > 1) out.push([a, b, Math.round(h)]);
  }
  return [boxes.length, out];
}"""


@pytest.mark.parametrize("query", ["T=30", "T=30&proj=1", "layers=3", "layers=3&proj=1"])
def test_no_two_words_of_the_graphs_legend_overlap(server, page, query):
    """The legend beside the live graph (the colour bar's ticks, its title, the edge key's lines and values) in
    normal and projector mode, one layer and three: no two of its texts share pixels."""
    page.goto(f"{server}/Unrolled_graph?{query}")
    wait_idle(page)
    n, overlaps = page.evaluate(OVERLAPS)
    assert n >= 6, "the legend is drawn"
    assert not overlaps, overlaps
    if query.endswith("proj=1"):
        shot(page, f"live_legend_{query.replace('&', '_').replace('=', '')}")
    assert_no_problem(page)
