"""A link full of markdown, HTML and LaTeX, in headless Chromium: the 🔗 notice shows it as text (no link, image,
bold, math, icon or emoji in the DOM) and names what was dropped or changed; the k2 slider shows what runs."""
from urllib.parse import urlencode

from conftest import ARTIFACTS
from playwright.sync_api import expect
from test_browser import assert_no_problem, slider_value, wait_idle

from ui.presets import TOUR

WORD_JOINER = "\u2060"          # ui.plain_text puts it after ":" / "@" and before "." (it breaks autolinks)
PAYLOADS = {"cell": "[a](http://e.x)", "act": "![](http://e.x/p.png)", "init": "**b** <b>x</b>",
            "H": "<img src=x onerror=alert(1)>", "seed": "$\\int_0^1 x$", "scale_kind": ":red[x] :smile:",
            "target": "www.e.x a@b.co http://e.x", "[k](http://e.x)": "1"}


def test_a_link_notice_is_plain_text_and_names_every_change(server, page):
    q = urlencode({**PAYLOADS, "rho": "0.5", "scheme": "tbptt", "k1": "30", "k2": "5", "tour": "99"})
    page.goto(f"{server}/Truncation?{q}")
    wait_idle(page)
    assert_no_problem(page)
    note = page.get_by_test_id("stAlert").filter(has_text="reset to their defaults")
    expect(note).to_have_count(1)
    body = note.get_by_test_id("stMarkdownContainer")
    for sel in ("a", "img", "strong", "em", "b", "code", ".katex", "[role=img]", "span"):
        assert body.locator(sel).count() == 0, f"the notice rendered a {sel}: {body.inner_html()}"
    text = note.inner_text().replace(WORD_JOINER, "")
    for key, value in PAYLOADS.items():
        shown = f"{key} is not a setting" if key.startswith("[") else f"{key}='{value}'"
        assert shown in text, (shown, text)
    assert "rho is not a setting of this page and was ignored — did you mean scale?" in text, text
    assert "k2=5 was raised to k1 = 30: TBPTT needs k2 ≥ k1." in text, text
    assert f"tour=99 was dropped: the tour has {len(TOUR)} stops." in text, text
    assert slider_value(page, "k2 (steps back") == "30" and slider_value(page, "k1 (steps per update)") == "30"
    assert "k2=30" in page.url and "rho" not in page.url and "tour" not in page.url, page.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "links-notice.png"))     # the notice sits at the top of the page
