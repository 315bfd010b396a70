"""What the browser draws is what the caption says: rendered pixels of colour-coded charts at known cells."""
import io

from PIL import Image
from test_browser import assert_no_problem, wait_idle

from explorer.figures.style import DIVERGING_HIGH, DIVERGING_LOW

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
