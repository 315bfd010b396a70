"""What the browser draws is what the caption says: rendered pixels of colour-coded charts at known cells."""
import io

from PIL import Image
from test_browser import assert_no_problem, wait_idle

from explorer.figures.style import DIVERGING_HIGH, DIVERGING_LOW, SEQ

# The page position of data point (x, y) on a Plotly chart: its axes' data → pixel maps plus the plot's offset.
AT = """([gd_index, x, y]) => { const gd = document.querySelectorAll('.js-plotly-plot')[gd_index];
  const L = gd._fullLayout, r = gd.getBoundingClientRect();
  return [r.left + L._size.l + L.xaxis.d2p(x), r.top + L._size.t + L.yaxis.d2p(y)]; }"""


def pixel(page, xy):
    img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    return img.getpixel((round(xy[0]), round(xy[1])))


def test_the_phase_maps_colours_are_its_captions(server, page):
    page.goto(f"{server}/Vanishing_and_exploding")
    wait_idle(page)
    assert_no_problem(page)
    plots = page.locator(".js-plotly-plot")
    k = next(i for i in range(plots.count()) if plots.nth(i).evaluate("gd => gd.data[0].type") == "heatmap")
    phase = plots.nth(k)
    phase.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    data = phase.evaluate("gd => [gd.data[0].x, gd.data[0].y, gd.data[0].z]")
    xs, ys, z = data
    j = len(ys) - 1                                        # the longest lag
    vanish, explode = (0, j), (len(xs) - 1, j)              # smallest and largest scale there
    assert z[vanish[1]][vanish[0]] < -1 and z[explode[1]][explode[0]] > 1      # the data: tiny and huge norms
    r, g, b = pixel(page, page.evaluate(AT, [k, xs[vanish[0]], ys[vanish[1]]]))
    assert b > r + 60, f"a vanishing cell is drawn {(r, g, b)}, not {DIVERGING_LOW}"
    r, g, b = pixel(page, page.evaluate(AT, [k, xs[explode[0]], ys[explode[1]]]))
    assert r > b + 60, f"an exploding cell is drawn {(r, g, b)}, not {DIVERGING_HIGH}"
    caption = page.get_by_text("is vanishing (norm below 1)").first.inner_text()
    assert caption.startswith(f"What to notice: {DIVERGING_LOW} is vanishing") and DIVERGING_HIGH in caption


TICK_STYLE = """() => [...document.querySelectorAll('.js-plotly-plot .xtick text')].slice(0, 3).map(t => {
  const s = getComputedStyle(t); return [parseFloat(s.fontSize), s.fill]; })"""


def test_charts_keep_their_own_fonts_in_the_browser(server, page):
    """The figure's template sets tick labels at 15 px #222 (17 − 2), 19 px in projector mode; Streamlit's theme
    must not replace them with its 12 px grey, so the live chart matches its PNG and HTML export."""
    for proj, size in (("0", 15), ("1", 19)):
        page.goto(f"{server}/Gradient_flow?proj={proj}")
        wait_idle(page)
        ticks = page.evaluate(TICK_STYLE)
        assert ticks, "no tick labels found"
        for font, fill in ticks:
            assert font == size, (proj, ticks)
            assert fill in ("rgb(34, 34, 34)", "#222222"), (proj, ticks)


# The sequential scale's ends as the builders declare them (explorer.figures.style.SEQ: viridis, dark → yellow).
def rgb(hex_colour: str) -> tuple:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


SEQ_LOW, SEQ_HIGH = rgb(SEQ[0][1]), rgb(SEQ[-1][1])


def near(rgb, want, tol=60):
    return max(abs(a - b) for a, b in zip(rgb, want)) <= tol


def heatmaps(page):
    """(index, plot) of every Plotly heatmap on the page, scrolled into view one by one by the caller."""
    plots = page.locator(".js-plotly-plot")
    return [(i, plots.nth(i)) for i in range(plots.count())
            if plots.nth(i).evaluate("gd => gd.data[0].type") == "heatmap"]


def extreme_cells(plot):
    """The data coordinates of the drawn heatmap's largest and smallest finite z that no grey 'cut' layer
    covers."""
    return plot.evaluate("""gd => { const t = gd.data[0], z = t.z; let hi = null, lo = null;
      const cut = gd.data[1] && gd.data[1].type === 'heatmap' ? gd.data[1].z : null;
      for (let r = 0; r < z.length; r++) for (let c = 0; c < z[r].length; c++) { const v = z[r][c];
        if (v === null || !isFinite(v) || (cut && cut[r][c] === 1)) continue;
        if (!hi || v > hi[0]) hi = [v, t.x[c], t.y[r]]; if (!lo || v < lo[0]) lo = [v, t.x[c], t.y[r]]; }
      const zmin = t.zmin, zmax = t.zmax; return {hi, lo, zmin, zmax}; }""")


def colorbar_ends(page, plot):
    """Pixels just inside the colour bar's top and bottom (its fill rectangle as the browser lays it out)."""
    box = plot.locator(".colorbar .cbfill").first.bounding_box()
    x = box["x"] + box["width"] / 2
    return pixel(page, (x, box["y"] + 3)), pixel(page, (x, box["y"] + box["height"] - 3))


def test_sequential_heatmaps_draw_high_values_yellow_and_low_values_dark(server, page):
    """Lesson 2's δ_t-per-unit and G[t, k] maps and lesson 4's masked G map: the cell with the largest value is the
    scale's yellow end, the smallest (when it is at the bottom of the range) its dark end, and so are the colour
    bar's ends; on lesson 4 a cell the truncation cuts is drawn grey, as its caption says."""
    for path, n_maps in (("Gradient_flow", 2), ("Truncation", 2)):
        page.goto(f"{server}/{path}")
        wait_idle(page)
        assert_no_problem(page)
        found = heatmaps(page)
        assert len(found) >= n_maps, (path, len(found))
        for k, plot in found:
            plot.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            cells = extreme_cells(plot)
            hi, lo = cells["hi"], cells["lo"]
            at_hi = pixel(page, page.evaluate(AT, [k, hi[1], hi[2]]))
            assert near(at_hi, SEQ_HIGH), (path, k, "largest cell", at_hi)
            if lo[0] <= cells["zmin"]:                  # at or below the range's floor: the dark end
                at_lo = pixel(page, page.evaluate(AT, [k, lo[1], lo[2]]))
                assert near(at_lo, SEQ_LOW), (path, k, "smallest cell", at_lo)
            top, bottom = colorbar_ends(page, plot)
            assert near(top, SEQ_HIGH) and near(bottom, SEQ_LOW), (path, k, top, bottom)
        if path == "Truncation":
            k, plot = found[0]                          # the lesson's G map (the chosen K's comes after it)
            plot.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            cut = plot.evaluate("""gd => { const c = gd.data[1]; if (!c) return null;
              for (let r = c.z.length - 1; r >= 0; r--) for (let j = 0; j < c.z[r].length; j++)
                if (c.z[r][j] === 1) return [c.x[j], c.y[r]]; return null; }""")
            assert cut is not None, "lesson 4 opens on TBPTT: some cells must be cut"
            r, g, b = pixel(page, page.evaluate(AT, [k, cut[0], cut[1]]))
            assert max(r, g, b) - min(r, g, b) < 40 and 60 < r < 200, f"a cut cell is drawn {(r, g, b)}, not grey"
            assert page.get_by_text("grey cells are terms the truncated gradient never sees").count() == 1


def test_the_labs_delta_heatmap_draws_its_values_on_the_declared_scale(server, page):
    """After a few updates, the training lab's ‖δ_t‖ over (timestep × update) map: its largest cell is the
    sequential scale's yellow end and its colour bar runs dark → yellow, with tick numbers."""
    page.goto(f"{server}/Training_lab?B=4")
    wait_idle(page)
    for _ in range(3):
        page.get_by_role("button", name="▶| step").click()
        wait_idle(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd.data && "
                           "gd.data[0].type === 'heatmap')", timeout=30_000)
    found = heatmaps(page)
    assert len(found) == 1
    k, plot = found[0]
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    cells = extreme_cells(plot)
    assert near(pixel(page, page.evaluate(AT, [k, cells["hi"][1], cells["hi"][2]])), SEQ_HIGH)
    top, bottom = colorbar_ends(page, plot)
    assert near(top, SEQ_HIGH) and near(bottom, SEQ_LOW), (top, bottom)
    ticks = plot.evaluate("gd => [...gd.querySelectorAll('.colorbar .cbaxis text')].map(t => t.textContent)")
    assert len([t for t in ticks if any(c.isdigit() for c in t)]) >= 2, ticks   # a log colour bar with numbers
    assert_no_problem(page)
