"""The architectures page in headless Chromium: the race runs live on the fragment's timer (every contender's
loss curve grows together), pauses on request, and the bidirectional view follows its slider."""
import re

from playwright.sync_api import expect
from test_browser import assert_no_problem, chart_signature, shot, slider, slider_value, wait_idle


def race_done(pg) -> int:
    m = re.search(r"update (\d+) of", pg.get_by_text(re.compile(r"update \d+ of")).first.inner_text())
    return int(m.group(1))


_RACE_LENGTHS = """gd => {
  if (!gd.data || !gd.layout || !gd.layout.xaxis || !gd.layout.xaxis.title) return null;
  if (gd.layout.xaxis.title.text !== 'update' || !gd.data.some(t => t.name === 'LSTM')) return null;
  return gd.data.filter(t => t.name).map(t => t.x.length); }"""


def race_chart_lengths(pg) -> list[int]:
    """Points per contender on the race's loss chart (read in one guarded call: a redraw may be under way)."""
    charts = pg.get_by_test_id("stPlotlyChart")
    for i in range(charts.count()):
        got = charts.nth(i).locator(".js-plotly-plot").first.evaluate(_RACE_LENGTHS)
        if got:
            return got
    return []


def test_race_runs_live_then_pauses(server, page):
    page.goto(f"{server}/Architectures")
    wait_idle(page)
    assert_no_problem(page)
    assert page.get_by_test_id("stPlotlyChart").count() == 6       # 5 + stacked against one layer
    page.get_by_role("button", name="▶ start the race").click()
    page.wait_for_timeout(5000)
    expect(page.get_by_text("▶ racing")).to_be_visible()
    n = race_done(page)
    assert n >= 20, f"only {n} updates per contender in 5 s"
    page.get_by_role("button", name="❚❚ pause").click()
    wait_idle(page)
    page.wait_for_timeout(500)
    n_paused = race_done(page)
    lengths = race_chart_lengths(page)
    assert len(lengths) == 5 and max(lengths) - min(lengths) <= 1, lengths     # they advance together
    assert min(lengths) >= n - 20                        # running means of 20: the chart holds the whole race
    page.wait_for_timeout(1500)
    assert race_done(page) == n_paused
    expect(page.get_by_text("❚❚ paused")).to_be_visible()
    assert_no_problem(page)
    shot(page, "20-architectures-race-paused")
    before = chart_signature(page)
    slider(page, "Step carrying the loss").focus()
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    assert_no_problem(page)
    assert chart_signature(page) != before, "the bidirectional view did not follow its slider"


def test_nonsense_values_of_a_pages_own_settings_are_reported(server, page):
    """A page's own settings (read only when it draws them) are named in the link notice too, not reset silently."""
    page.goto(f"{server}/Architectures?race_n=abc&at=-5&T=nan")
    wait_idle(page)
    assert_no_problem(page)
    note = page.get_by_test_id("stAlertContentInfo").filter(has_text="not valid here").inner_text()
    assert "race_n='abc'" in note and "at='-5'" in note and "T='nan'" in note, note
    assert slider_value(page, "Updates per contender") == "400"
