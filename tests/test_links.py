"""Links in AppTest: whatever a link holds (known keys, near misses, random unicode, markdown / HTML / LaTeX
payloads), the app runs, every setting ends valid, everything it dropped or changed is named in the 🔗 notice,
and the notice — whose words come partly from the link — renders as plain text: no link, image, bold, HTML or math.
"""
import importlib.util
import math
import re
import string

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest
from test_app import APP, assert_clean

from ui import params as app_params
from ui.link_notice import LINK_ICON, suggest
from ui.page_registry import LESSONS
from ui.plain_text import _WJ, _visible, plain
from ui.presets import TOUR

PAYLOADS = ["[a](http://e.x)", "![](http://e.x/p.png)", "**b**", "__u__", "*i*", "<b>x</b>",
            "<img src=x onerror=alert(1)>", "$\\frac{1}{2}$", "$$x$$", "\\(x\\)", ":red[x]", ":smile:",
            ":material/home:", "`code`", "```", "~~s~~", "|a|b|", "&amp;", "a\nb", "\n# h", "> q", "- li", "1. x",
            "http://e.x", "www.e.x", "a@b.co", "\\", "\u202e", "\x00", "x" * 60]
KNOWN = [p.key for p in app_params.SHARED] + ["tour", "hide", "w0", "cliff_lr", "task", "size", "race_n", "at",
                                             "costH", "budget", "step", "end"]
NEAR = ["rho", "t", "Scale", "SEED", "sead", "K1", "k3", "Tour", "pi", "foo", ""]
KEYS = hs.one_of(hs.sampled_from(KNOWN), hs.sampled_from(NEAR), hs.sampled_from(PAYLOADS), hs.text(max_size=8))
VALUES = hs.one_of(hs.sampled_from(PAYLOADS),
                   hs.sampled_from(["5", "30", "99", "100", "2", "1000", "0.5", "1.3", "nan", "tbptt", "lstm", "gru",
                                    "relu", "copy", "1", "true", "nav,scale", "Scale", ""]),
                   hs.integers(-5, 1200).map(str), hs.text(max_size=12))
NUMS = ["1", "2", "5", "10", "30", "99", "100", "500", "1000"]
LIKELY = {"k1": NUMS, "k2": NUMS, "T": NUMS, "step": NUMS, "tour": ["1", "12", "13", "99"],
          "act": ["relu", "sigmoid", "linear"], "cell": ["lstm", "gru", "indrnn"], "scheme": ["tbptt", "randomized"],
          "hide": ["nav,scale", "Scale", "T,foo", "k1,k2"], "scale": ["0.5", "1.3"], "race_n": ["50", "3000"]}
# A link: pairs of any key with any value (or several), and of a setting with a value it may accept, which
# exercises the values the app changes to fit (k2 < k1, k1 > T, tour beyond its stops, φ an LSTM cannot use).
PAIRS = hs.one_of(hs.tuples(KEYS, hs.one_of(VALUES, hs.lists(VALUES, min_size=2, max_size=3))),
                  hs.sampled_from(sorted(LIKELY)).flatmap(lambda k: hs.tuples(hs.just(k), hs.sampled_from(LIKELY[k]))))
LINKS = hs.lists(PAIRS, max_size=6).map(dict)

# What markdown can act on when it is not backslash-escaped: links and images ([ ] !), emphasis (* _), code (`),
# strikethrough (~), tables (|), HTML (< >), entities (&), math ($), a bare backslash (line break / escape).
ACTIVE = set("[]!*_`~|<>&$\\")


def open_link(page, params: dict) -> AppTest:
    """A fresh session whose very first run is `page` opened with `params` (a deep link, as in the browser)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    return at.run()


def link_notice(at) -> str:
    """The 🔗 notice's markdown source ("" when there is none)."""
    notes = [i.value for i in at.info if i.icon == LINK_ICON]
    assert len(notes) <= 1, notes
    return notes[0] if notes else ""


def scan(src: str) -> tuple[str, str]:
    """(the characters markdown sees unescaped, the text once escapes are resolved — what Streamlit's text
    rewrites such as autolinks and emoji shortcodes see)."""
    bare, text, i = [], [], 0
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src) and src[i + 1] in string.punctuation:
            text.append(src[i + 1])
            i += 2
            continue
        bare.append(src[i])
        text.append(src[i])
        i += 1
    return "".join(bare), "".join(text)


def assert_plain_markdown(src: str):
    """src renders as text: nothing that makes a link, image, emphasis, code, HTML, math, a block or an emoji."""
    bare, text = scan(src)
    assert not set(bare) & ACTIVE, (sorted(set(bare) & ACTIVE), src)
    for line in src.split("\n"):
        assert not re.match(r"\s*([#>+*=|-]|\d+[.)]|```|~~~)|    ", line), line       # no heading, list, quote …
    assert not re.search(r"(?i)https?://|www\.|[\w.+-]@[\w-]", text), text                # no GFM autolink
    assert not re.search(r":[\w+-]+:|:material/", text), text                            # no emoji or icon
    if importlib.util.find_spec("markdown_it"):               # a real CommonMark parser, when one is installed
        from markdown_it import MarkdownIt
        html = MarkdownIt("commonmark").render(src)
        assert set(re.findall(r"<\s*/?\s*([A-Za-z]+)", html)) <= {"p"}, html


def named(key: str) -> str:
    """How the notice names a key."""
    return plain(key, 40) or "an empty name"


def expected_mentions(at, params: dict) -> list[str]:
    """What the notice must contain for this link: every key the page does not know, every value that was reset
    or changed, every key given more than once, every name of hide= that is no control here."""
    used = at.session_state["_params_used"]
    want = []
    for k, vs in params.items():
        vs = vs if isinstance(vs, list) else [vs]
        if len(vs) > 1:
            want.append(f"{named(k)} was given {len(vs)} times")
        if k not in used:
            if k not in ("tour", "hide"):
                want.append(f"{named(k)} is not a setting of this page")
            continue
        parsed = used[k].parse(vs[-1])
        if parsed is None or at.session_state["cfg_" + k] != parsed:
            want.append(f"{plain(k, 40)}=")                        # reset (k='…') or changed (k=… was …)
        elif k == "hide" and set(filter(None, parsed.split(","))) - set(used) - {"nav"}:
            want.append("hide names ")
    return want


def assert_valid_settings(at):
    for p in app_params.SHARED:                      # every canonical value is valid for its setting
        v = at.session_state["cfg_" + p.key]
        if p.kind in ("int", "float"):
            assert p.lo <= v <= p.hi and not (isinstance(v, float) and math.isnan(v)), (p.key, v)
        elif p.kind == "choice":
            assert v in p.options, (p.key, v)
    k1, k2, T = (at.session_state[k] for k in ("cfg_k1", "cfg_k2", "cfg_T"))
    assert k1 <= k2 <= T, (k1, k2, T)             # the canonical values are the ones that run


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=hs.sampled_from([None] + [q.path for q in LESSONS]), params=LINKS)
def test_fuzzed_links_are_valid_named_and_plain(page, params):
    at = open_link(page, params)
    assert_clean(at)                                # no traceback, and no "could not be drawn" either
    assert_valid_settings(at)
    note = link_notice(at)
    want = expected_mentions(at, params)
    for w in want:
        assert w in note, (w, note)
    assert bool(note) == bool(want), note           # and nothing is said when nothing happened
    assert_plain_markdown(note)


def test_k2_below_k1_in_a_link_is_raised_once_and_said():
    at = open_link("pages/4_Truncation.py", {"scheme": "tbptt", "k1": "30", "k2": "5"})
    assert not at.exception
    assert (at.slider(key="w_k1").value, at.slider(key="w_k2").value) == (30, 30)       # the slider shows it
    assert (at.session_state["cfg_k1"], at.session_state["cfg_k2"]) == (30, 30)         # … and so it runs
    assert "k2=5 was raised to k1 = 30: TBPTT needs k2 ≥ k1." in link_notice(at)
    at2 = open_link("pages/4_Truncation.py", {"scheme": "tbptt", "k1": "500", "k2": "900", "T": "40"})
    assert (at2.session_state["cfg_k1"], at2.session_state["cfg_k2"]) == (40, 40)
    note = link_notice(at2)
    assert "k1=500 was lowered to T = 40" in note and "k2=900 was lowered to T = 40" in note, note
    at2.run()
    assert not link_notice(at2), "said once"


def test_dragging_k1_above_k2_or_t_below_them_moves_them_with_a_caption():
    at = open_link("pages/4_Truncation.py", {"scheme": "tbptt"})
    at.slider(key="w_k1").set_value(50).run()
    assert (at.slider(key="w_k1").value, at.slider(key="w_k2").value) == (50, 50)
    assert not link_notice(at), "a move in the sidebar is not a link problem"
    assert any("k2 was raised to k1 = 50" in c.value for c in at.sidebar.caption)
    at.slider(key="w_k2").set_value(8).run()                       # k2 dragged below k1: k1 follows it down
    assert (at.slider(key="w_k1").value, at.slider(key="w_k2").value) == (8, 8)
    assert any("k1 was lowered to k2 = 8" in c.value for c in at.sidebar.caption)
    at.slider(key="w_k2").set_value(60).run()
    at.slider(key="w_T").set_value(20).run()
    assert (at.session_state["cfg_k1"], at.session_state["cfg_k2"]) == (8, 20)
    assert any("k2 was lowered to T = 20" in c.value for c in at.sidebar.caption)
    at.run()
    assert not any("was lowered" in c.value for c in at.sidebar.caption), "the caption is for the move only"


def test_unknown_and_mistyped_keys_are_named_with_the_closest_setting():
    at = open_link("pages/3_Vanishing_and_exploding.py", {"rho": "0.5", "t": "5", "Scale": "1", "foo": "1",
                                                           "sead": "3", "w0": "5"})
    note = link_notice(at)
    for k, s in [("rho", "scale"), ("t", "T"), ("Scale", "scale"), ("sead", "seed")]:
        assert f"{k} is not a setting of this page and was ignored — did you mean {s}?" in note, (k, note)
    assert "foo is not a setting of this page and was ignored." in note
    assert "w0" not in note, "the cliff's own setting is known once the page has drawn it"
    assert at.session_state["cfg_w0"] == 5.0


def test_keys_the_app_wrote_for_another_page_are_not_reported():
    at = open_link("pages/6_Architectures.py", {"race_n": "100", "at": "7"})
    assert not link_notice(at)
    assert at.query_params["race_n"] == "100"                     # written by this page …
    at.switch_page("pages/1_Unrolled_graph.py").run()             # … and still in the address on the next page
    assert not at.exception and not link_notice(at)
    home = open_link(None, {"race_n": "100"})                      # typed into a link to a page without it
    assert "race\\_n is not a setting of this page" in link_notice(home)


def test_a_tour_stop_beyond_the_tour_and_repeated_keys_are_named():
    at = open_link("pages/2_Gradient_flow.py", {"tour": "99", "T": ["10", "20"]})
    note = link_notice(at)
    assert f"tour=99 was dropped: the tour has {len(TOUR)} stops." in note
    assert "T was given 2 times; only the last value counts." in note
    assert at.session_state["cfg_T"] == 20 and at.session_state["cfg_tour"] == 0


def test_a_link_activation_the_cell_cannot_use_is_named():
    at = open_link("pages/2_Gradient_flow.py", {"cell": "lstm", "act": "relu"})
    assert at.session_state["cfg_act"] == "tanh"
    assert "act='relu' was changed to tanh: the lstm cell uses tanh only." in link_notice(at)


def test_reset_values_keep_their_wording_as_plain_text():
    at = open_link(None, {"cell": "[a](http://e.x)", "H": "<img src=x onerror=alert(1)>", "seed": "$\\int$",
                          "init": "**b**", "scale": ":red[x]"})
    note = link_notice(at)
    assert note.startswith("This link had settings that are not valid here, so they were reset to their defaults: ")
    assert_plain_markdown(note)
    text = scan(note)[1].replace(_WJ, "")
    for shown in ("cell='[a](http://e.x)'", "H='<img src=x onerror=alert(1)>'", "seed='$\\int$'", "init='**b**'",
                  "scale=':red[x]'"):
        assert shown in text, (shown, text)


@hsettings(max_examples=300, deadline=None)
@given(hs.text(max_size=80) | hs.lists(hs.sampled_from(PAYLOADS)).map("".join))
def test_plain_text_renders_exactly_as_typed(s):
    src = plain(s, 1000)
    assert_plain_markdown(src)
    assert scan(src)[1].replace(_WJ, "") == "".join(map(_visible, " ".join(s.split())))


@pytest.mark.parametrize("key,want", [("t", "T"), ("Scale", "scale"), ("rho", "scale"), ("sigma", "scale"),
                                      ("pi", "keep"), ("phi", "act"), ("length", "T"), ("sead", "seed"),
                                      ("foo", None), ("zzz", None), ("", None)])
def test_suggestions_for_mistyped_keys(key, want):
    used = {p.key: p for p in app_params.SHARED + (app_params.TOUR_STOP, app_params.HIDE)}
    assert suggest(key, used) == want
