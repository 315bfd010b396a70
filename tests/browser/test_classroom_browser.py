"""Classroom features in headless Chromium: a preset opens its lesson with its settings in the URL, the guided tour
walks from stop to stop, teacher mode hides controls and its link opens the app that way, projector mode and the
HTML export."""
import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect
from test_browser import assert_no_problem, shot, slider_value, wait_idle


def test_a_preset_opens_its_lesson_with_its_settings(server, page):
    page.goto(f"{server}/Classroom")
    wait_idle(page)
    assert_no_problem(page)
    shot(page, "30-classroom")
    card = page.get_by_test_id("stVerticalBlock").filter(has_text="Exploding gradients: ReLU").last     # the card itself
    card.get_by_role("button", name="Open ▶").click()
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_role("heading", name="Gradient flow", exact=False).first).to_be_visible()
    q = parse_qs(urlsplit(page.url).query)
    assert q["act"] == ["relu"] and q["scale"] == ["1.5"], page.url
    assert slider_value(page, "Scale (ρ or σ₁)") == "1.5"


def test_the_guided_tour_goes_from_stop_to_stop(server, page):
    page.goto(f"{server}/Classroom")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start the tour")).click()
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_text(re.compile(r"Guided tour · stop 1 of \d+"))).to_be_visible()
    assert "/Unrolled_graph" in page.url and "tour=1" in page.url
    page.get_by_role("button", name="next ▶").click()
    wait_idle(page)
    assert_no_problem(page)
    expect(page.get_by_text(re.compile(r"Guided tour · stop 2 of \d+"))).to_be_visible()
    assert "/Gradient_flow" in page.url, page.url                  # stop 2: exploding with ReLU, ρ = 1.5
    assert slider_value(page, "Scale (ρ or σ₁)") == "1.5"
    assert slider_value(page, "Sequence length T") == "100"        # stop 1's T = 20 did not leak into stop 2
    shot(page, "31-tour-stop-2")
    page.get_by_role("button", name="◀ previous").click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Guided tour · stop 1 of \d+"))).to_be_visible()
    page.get_by_role("button", name="✕ end the tour").click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Guided tour · stop"))).to_have_count(0)


def test_teacher_mode_hides_controls_and_its_link_opens_the_app_that_way(server, page, browser):
    page.goto(f"{server}/Gradient_flow?scale=1.2&T=60")
    wait_idle(page)
    side = page.get_by_test_id("stSidebar")
    side.get_by_text("Teacher mode").click()
    box = side.get_by_test_id("stMultiSelect")
    for choice in ("Scale (ρ", "page links"):
        box.locator("input").first.click()
        box.locator("input").first.fill(choice)
        page.keyboard.press("Enter")
        wait_idle(page)
        page.keyboard.press("Escape")
    assert_no_problem(page)
    link = side.get_by_test_id("stCode").inner_text().strip()
    q = parse_qs(urlsplit(link).query)
    assert q["hide"] == ["nav,scale"] and q["scale"] == ["1.2"] and q["T"] == ["60"], link
    assert urlsplit(link).path == "/Gradient_flow", link
    shot(page, "32-teacher-mode")
    # a student opens the link in a fresh browser context: the same view, without those controls
    student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    student.js_errors = []
    student.goto(link)
    wait_idle(student)
    assert_no_problem(student)
    s_side = student.get_by_test_id("stSidebar")
    expect(s_side.get_by_test_id("stSlider").filter(has_text="Scale (ρ or σ₁)")).to_have_count(0)
    expect(s_side.get_by_role("link", name="3 · Vanishing and exploding")).to_have_count(0)
    assert slider_value(student, "Sequence length T") == "60"
    expect(student.get_by_text("Some controls are hidden")).to_be_visible()
    student.context.close()


def test_projector_mode_and_the_html_export(server, page):
    page.goto(f"{server}/Vanishing_and_exploding?proj=1")
    wait_idle(page)
    assert_no_problem(page)
    size = page.get_by_test_id("stMarkdown").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 19, size
    with page.expect_download() as dl:
        page.get_by_role("button", name="⬇ chart (HTML)").first.click()
    html = open(dl.value.path(), encoding="utf-8").read()
    assert "<html>" in html[:100] and "Plotly.newPlot" in html and len(html) > 1_000_000   # plotly.js inlined
