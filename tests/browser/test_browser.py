"""End to end, in headless Chromium: deep links on a fresh server, every page, slider moves, the animation."""
import re

from conftest import ARTIFACTS
from playwright.sync_api import expect


def shot(pg, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

LESSONS = ["1 · Unrolled graph", "2 · Gradient flow", "3 · Vanishing and exploding", "4 · Truncation",
           "6 · Architectures"]


def wait_idle(pg, timeout=60_000):
    """The wait Streamlit's own e2e tests use: connected, script not running, no skeletons, charts drawn."""
    pg.wait_for_timeout(300)
    pg.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached",
                                                                                         timeout=timeout)
    pg.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached",
                                                                                      timeout=timeout)
    expect(pg.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)
    n = pg.get_by_test_id("stPlotlyChart").count()
    for i in range(n):                 # (attached: a chart in a closed expander is drawn but hidden)
        pg.get_by_test_id("stPlotlyChart").nth(i).locator(".main-svg").first.wait_for(state="attached",
                                                                                      timeout=timeout)
    for i in range(pg.locator(".bptt-scrub").count()):                   # the live views (ui/scrub)
        pg.locator(".bptt-scrub").nth(i).locator("svg").first.wait_for(timeout=timeout)
    pg.wait_for_timeout(200)


def assert_no_problem(pg):
    assert pg.get_by_test_id("stException").count() == 0, pg.get_by_test_id("stException").first.inner_text()
    errs = [e.inner_text() for e in pg.get_by_test_id("stAlertContentError").all()]
    assert not errs, errs
    assert not pg.js_errors, pg.js_errors


_DATA_HASH = """gd => { const s = JSON.stringify(gd.data); let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return s.length + ':' + h; }"""


def chart_signature(pg):
    """What the charts currently draw: the text of every plot (tick labels, titles) and a hash of the data the
    browser's Plotly holds (gd.data), so a redraw with new numbers but the same ticks still counts as a change."""
    return [c.inner_text() + c.locator(".js-plotly-plot").first.evaluate(_DATA_HASH)
            for c in pg.get_by_test_id("stPlotlyChart").all()] + \
        [v.evaluate("e => e.innerHTML.length + ':' + e.textContent") for v in pg.locator(".bptt-scrub").all()]


def slider_value(pg, label):
    return slider(pg, label).input_value()


def slider(pg, label):
    """The slider's range input (Streamlit 1.67 renders a native <input type=range>)."""
    return pg.get_by_test_id("stSlider").filter(has_text=label).locator("input[type=range]")


def test_first_request_is_a_deep_link_with_parameters(server, page):
    """The very first request to this fresh server: a lesson URL with settings in it."""
    page.goto(f"{server}/Gradient_flow?T=40&scale=1.2&cell=gru")
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_test_id("stSidebar")).to_be_visible()
    expect(page.get_by_role("heading", name="Gradient flow")).to_be_visible()
    assert page.get_by_test_id("stPlotlyChart").count() == 5
    assert slider_value(page, "Sequence length T") == "40"
    assert slider_value(page, "Scale (ρ or σ₁)") == "1.2"
    shot(page, "00-deep-link-gradient-flow")


def test_every_page_draws_and_redraws_when_a_slider_moves(server, page):
    page.goto(server)
    wait_idle(page)
    assert_no_problem(page)
    shot(page, "01-home")
    for i, label in enumerate(LESSONS):
        page.get_by_test_id("stSidebar").get_by_role("link", name=label).click()
        wait_idle(page)
        assert_no_problem(page)
        assert page.get_by_test_id("stPlotlyChart").count() >= 1
        before = chart_signature(page)
        t_before = int(slider_value(page, "Sequence length T"))
        slider(page, "Sequence length T").focus()
        page.keyboard.press("ArrowRight")
        wait_idle(page)
        assert_no_problem(page)
        assert int(slider_value(page, "Sequence length T")) == t_before + 1
        assert chart_signature(page) != before, f"{label}: the charts did not change"
        assert re.search(rf"[?&]T={t_before + 1}\b", page.url), page.url       # the URL holds the new setting
        shot(page, f"{i + 2:02d}-{label.split(' · ')[1].lower().replace(' ', '-')}")
    assert page.external_requests == [], page.external_requests     # no CDN: fonts, icons, favicon all local
    icons = page.get_by_test_id("stSidebar").get_by_test_id("stIconMaterial")
    assert icons.count() >= len(LESSONS)                              # every page link has its Material icon …
    assert page.evaluate("() => document.fonts.check('24px \"Material Symbols Rounded\"')")   # … in the shipped font
    widths = icons.evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert all(12 <= w <= 40 for w in widths), widths                 # one glyph each, not the icon name as text


def test_settings_survive_navigation_and_reload(server, page):
    page.goto(f"{server}/Truncation?scheme=tbptt&k1=5&k2=12&T=50")
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_text("Active scheme: TBPTT(k1=5, k2=12)")).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="1 · Unrolled graph").click()
    wait_idle(page)
    assert slider_value(page, "Sequence length T") == "50"
    assert "scheme=tbptt" in page.url and "k2=12" in page.url
    page.reload()
    wait_idle(page)
    assert slider_value(page, "Sequence length T") == "50"
    shot(page, "07-truncation-link-then-unrolled")


def test_nonsense_link_opens_with_defaults_and_a_notice(server, page):
    page.goto(f"{server}/Vanishing_and_exploding?T=banana&H=-1&scale=inf&cell=%3Cscript%3E")
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_text(re.compile("reset to their defaults"))).to_be_visible()
    assert slider_value(page, "Sequence length T") == "100"
    shot(page, "08-nonsense-link")


# What the animation shows, read in one go from the browser's Plotly: the slider's "backward steps done: j" label,
# and how many h_t nodes are at full opacity (the steps δ has reached; a frame's "traces" names the h_t trace),
# out of how many (null before the first frame: every node drawn plainly).
_FRAME_SHOWN = """gd => { const i = gd._transitionData._frames[0].traces[0];
  const label = gd.querySelector('g.slider-group > text.slider-label');
  const op = gd.data[i].marker.opacity;
  return [label ? label.textContent : null, op === undefined ? null : Array.from(op).filter(v => v === 1).length,
          gd.data[i].x.length]; }"""


def test_backward_pass_animation_plays_in_the_browser(server, page):
    page.goto(f"{server}/Unrolled_graph?T=30")
    wait_idle(page)
    page.get_by_text("The same graph as a static chart").click()         # the Plotly version, for slides
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.locator(".main-svg").first.wait_for()
    plot = chart.locator(".js-plotly-plot").first
    # The chart was laid out inside a closed expander: wait until Plotly has re-laid it out at its open width (a
    # relayout during the animation would restart it), then press play.
    last = None
    for _ in range(100):
        w = plot.evaluate("gd => Math.round(gd.getBoundingClientRect().width) + ':' + gd._fullLayout.width")
        if w == last and int(w.split(":")[0]) > 500:
            break
        last = w
        page.wait_for_timeout(150)
    # T = 30: the slider starts at the last frame (δ has travelled all the way back), nothing animated yet
    assert plot.evaluate(_FRAME_SHOWN) == ["backward steps done: 30", None, 30]
    chart.get_by_text("▶ play").click()
    seen = []                                     # (label's j, highlighted nodes) every 50 ms once it plays
    for _ in range(400):                          # ≥ 20 s: 31 frames of ≥ 80 ms, with room for a busy machine
        label, reached, n = plot.evaluate(_FRAME_SHOWN)
        m = re.fullmatch(r"backward steps done: (\d+)", label or "")
        assert m and n == 30, (label, n)
        if reached is not None:                   # the first frame has been drawn
            seen.append((int(m.group(1)), reached))
            if reached == 30:
                break
        page.wait_for_timeout(50)
    assert page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").count() == 1  # no rerun
    frames = [j for j, _ in seen]
    assert len({j for j in frames if 0 < j < 30}) >= 3, f"the frame counter did not advance step by step: {seen}"
    assert frames == sorted(frames), f"the frames did not play forwards: {seen}"
    assert seen[-1] == (30, 30), f"the animation did not reach the last frame: {seen}"
    # each highlighted frame is the one the label names: δ has reached exactly the last j steps
    assert all(reached == j for j, reached in seen), seen
    assert_no_problem(page)
    shot(page, "09-animation-playing")
