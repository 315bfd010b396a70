"""Classroom features in AppTest: every preset is valid on its page and opens clean, the tour is in lesson order,
teacher mode hides what it is told to (and keeps the values), and a fuzz over links never shows a traceback."""
import math
import string

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as hs
from test_app import assert_clean, charts, open_app

from ui import params as app_params
from ui.page_registry import BY_PATH, LESSONS
from ui.presets import PRESETS, TOUR


def page_params(page):
    """The settings a page uses (shared and its own), from a run of it."""
    at = open_app(page)
    assert_clean(at)
    return at, dict(at.session_state["_params_used"])


def test_there_are_enough_presets_and_each_tells_a_story():
    assert len(PRESETS) >= 10 and len({p.slug for p in PRESETS}) == len(PRESETS)
    for p in PRESETS:
        assert p.page in BY_PATH and len(p.story) > 80 and p.notice and p.try_this
    order = [[q.path for q in LESSONS].index(p.page) for p in TOUR]
    assert order == sorted(order), "the tour goes through the lessons in order"


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.slug)
def test_every_preset_is_valid_on_its_page_and_opens_clean(preset):
    at, used = page_params(preset.page)
    for k, raw in preset.url_params().items():
        assert k in used, f"{preset.slug}: {k!r} is not a setting of {preset.page}"
        assert used[k].parse(raw) is not None, f"{preset.slug}: {k}={raw!r} is not valid"
        assert used[k].parse(raw) == preset.params[k]
    for k, v in preset.params.items():
        at.session_state["cfg_" + k] = v
    at.session_state["_chosen"] = set(preset.params)      # as a link's values are: they no longer follow the page
    at.run()
    assert_clean(at)
    for k, v in preset.params.items():
        assert at.session_state["cfg_" + k] == v, k          # not reset: every value fits its widget
    assert not at.info or not any("not valid" in i.value for i in at.info)


def test_teacher_mode_hides_controls_but_keeps_their_values():
    at = open_app("pages/2_Gradient_flow.py", scale="1.3", T="40")
    assert at.slider(key="w_scale").value == 1.3
    at.session_state["cfg_hide"] = "nav,scale"
    at.run()
    assert_clean(at)
    assert not [s for s in at.sidebar.slider if s.key == "w_scale"], "the scale slider is hidden"
    assert at.session_state["cfg_scale"] == 1.3 and len(charts(at)) == 5
    assert at.query_params["hide"] == "nav,scale" and at.query_params["scale"] == "1.3"
    assert any("hidden" in c.value for c in at.sidebar.caption)
    assert not at.get("page_link"), "the page links are hidden"
    link = [c.value for c in at.sidebar.code][0]
    assert "hide=nav%2Cscale" in link and "scale=1.3" in link and "T=40" in link


@pytest.mark.parametrize("raw,parsed", [("scale,T", "T,scale"), ("", ""), ("nav", "nav"), ("a,,b", "a,b"),
                                        ("Sc-ale", None), ("x;y", None), ("a" * 500, None), ("1abc", None)])
def test_hidden_controls_in_a_link_are_checked(raw, parsed):
    assert app_params.HIDE.parse(raw) == parsed


JUNK = hs.one_of(hs.text(alphabet=string.printable + "éλ∂€\x00", max_size=40),
                 hs.sampled_from(["nan", "NaN", "inf", "-inf", "1e308", "-1", "0", "99999999999999999999", "1.5",
                                  "true", "", " ", "lstm", "relu", "%00", "../../etc/passwd", "<script>"]),
                 hs.integers(-10 ** 20, 10 ** 20).map(str), hs.floats(allow_nan=True).map(repr))
KEYS = hs.sampled_from([p.key for p in app_params.SHARED] + ["hide", "tour", "step", "end", "w0", "cliff_lr", "zzz",
                                                          "task", "race_n", "at", ""])


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=hs.sampled_from([None] + [q.path for q in LESSONS]), params=hs.dictionaries(KEYS, hs.lists(JUNK, min_size=1,
                                                                                          max_size=3), max_size=6))
def test_fuzzed_links_never_show_a_traceback(page, params):
    from streamlit.testing.v1 import AppTest
    from test_app import APP
    at = AppTest.from_file(APP, default_timeout=120)
    for k, vs in params.items():
        at.query_params[k] = vs                    # repeated keys: the last one counts
    at.run()
    if page:
        at.switch_page(page).run()
    assert_clean(at)
    for p in app_params.SHARED:                      # every canonical value is valid for its setting
        v = at.session_state["cfg_" + p.key]
        if p.kind in ("int", "float"):
            assert p.lo <= v <= p.hi and not (isinstance(v, float) and math.isnan(v))
        elif p.kind == "choice":
            assert v in p.options


@pytest.mark.parametrize("url,bound,lan,want", [
    ("http://localhost:8501/Truncation", "", "10.1.2.3", "http://10.1.2.3:8501/"),         # students need the LAN
    ("http://127.0.0.1:8501/", "0.0.0.0", "10.1.2.3", "http://10.1.2.3:8501/"),
    ("http://localhost:8501/", "127.0.0.1", "10.1.2.3", "http://localhost:8501/"),       # bound to loopback: keep
    ("http://localhost:8501/", "", None, "http://localhost:8501/"),                      # no network: keep
    ("http://teacher.school.lan:8501/x", "", "10.1.2.3", "http://teacher.school.lan:8501/"),
    ("", "", "10.1.2.3", "/"),                                                           # unknown (AppTest)
])
def test_links_use_the_address_students_can_reach(monkeypatch, url, bound, lan, want):
    from ui import classroom
    monkeypatch.setattr(classroom, "current_url", lambda: url)
    monkeypatch.setattr(classroom, "lan_address", lambda: lan)
    monkeypatch.setattr(classroom.st, "get_option", lambda k: bound if k == "server.address" else None)
    assert classroom.site_root() == want
