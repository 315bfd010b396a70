"""The training lab in headless Chromium: ▶ play trains live (the loss chart grows while the page stays idle
between timer runs), ❚❚ pause stops it (the chart stops growing), and the page shows what happened."""
import re

from playwright.sync_api import expect

from test_browser import assert_no_problem, shot, wait_idle


def loss_points(pg) -> int:
    chart = pg.get_by_test_id("stPlotlyChart").first.locator(".js-plotly-plot").first
    return chart.evaluate("gd => gd.data[0].x.length")


def updates_done(pg) -> int:
    m = re.search(r"update (\d+)", pg.get_by_text(re.compile(r"update \d+")).first.inner_text())
    return int(m.group(1))


def test_play_trains_live_and_pause_stops_it(server, page):
    page.goto(f"{server}/Training_lab")
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_text("Ready.")).to_be_visible()
    page.get_by_role("button", name="▶ play").click()
    page.wait_for_timeout(4000)                                    # trains on the fragment's timer
    expect(page.get_by_text("▶ training")).to_be_visible()
    n_playing = updates_done(page)
    assert n_playing >= 10, f"only {n_playing} updates in 4 s"
    page.wait_for_timeout(1500)
    assert updates_done(page) > n_playing, "still training"
    page.get_by_role("button", name="❚❚ pause").click()
    wait_idle(page)
    page.wait_for_timeout(500)
    n_paused, pts = updates_done(page), loss_points(page)
    assert pts >= 10                                               # the loss chart grew ...
    page.wait_for_timeout(2000)
    assert updates_done(page) == n_paused and loss_points(page) == pts      # ... and stopped
    expect(page.get_by_text("❚❚ paused")).to_be_visible()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("updates")    # one sentence on the run
    assert_no_problem(page)
    shot(page, "20-training-lab-paused")
