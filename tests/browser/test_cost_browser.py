"""The cost page in headless Chromium: it draws its four charts and the agreement table, and the checkpoint
memory-budget slider moves the highlighted point and the numbers above it."""
from test_browser import assert_no_problem, chart_signature, shot, slider, slider_value, wait_idle


def test_cost_page_and_its_budget_slider(server, page):
    page.goto(f"{server}/Cost_of_a_gradient")
    wait_idle(page, timeout=120_000)
    assert_no_problem(page)
    assert page.get_by_test_id("stPlotlyChart").count() == 7         # 4 + optimal checkpointing's 3
    assert page.get_by_test_id("stDataFrame").count() == 9            # agreement, each chart's, the budget table
    saved = page.get_by_test_id("stMetric").first.inner_text()
    before = chart_signature(page)
    budget = int(slider_value(page, "Memory budget"))
    for _ in range(3):                   # one key per run: a key pressed while a run redraws may be re-seeded away
        slider(page, "Memory budget").focus()
        page.keyboard.press("ArrowRight")
        wait_idle(page, timeout=120_000)
    assert_no_problem(page)
    assert int(slider_value(page, "Memory budget")) == budget + 3
    assert chart_signature(page) != before, "the trade-off chart did not move"
    assert page.get_by_test_id("stMetric").first.inner_text() != saved, "memory saved did not change"
    assert "budget=" in page.url
    shot(page, "40-cost-of-a-gradient")
