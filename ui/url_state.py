"""The settings' state: one canonical value per setting in the session, kept in step with its widget and with the
page's address, so a view survives page switches and a link reproduces it exactly.

How state flows (this pattern is what survives page switches in classic `pages/` mode, checked in a browser):
- the canonical value of setting `k` lives in st.session_state["cfg_k"] (a plain key, never dropped);
- on the first run of a session it is read from the URL (?k=…), validated; nonsense gives a notice and the default;
- its widget has key "w_k", is re-seeded from "cfg_k" every run and writes back in on_change;
- at the end of every run the URL is rewritten from the canonical values (non-defaults only);
- a lesson may open with its own defaults for a few shared settings (ui.page_registry's Page.defaults): while the
  user has not chosen one (by its widget, a link or a preset: `_chosen`), it follows the page that is open;
- what the app did to the link is said in one link notice at the end of the run (ui.link_notice).
The settings themselves (names, types, defaults, ranges) are the table in ui.params.
"""
from __future__ import annotations

import math

import streamlit as st

from .params import HIDE, LABELS, Param
from .plain_text import plain


def quote(raw: object) -> str:
    """A link's value as the notice shows it: quoted, at most 40 characters, plain text."""
    return "'" + plain(raw, 40) + "'"


def default(p: Param):
    """p's default on the page that is open (its Page.defaults, else the table's)."""
    return st.session_state.get("_page_defaults", {}).get(p.key, p.default)


def choose(key: str, v):
    """Store a value the user chose (a widget, a live view's release): from now on it no longer follows a page's
    default."""
    st.session_state["cfg_" + key] = v
    st.session_state.setdefault("_chosen", set()).add(key)


def follow_page(defaults: dict, keys, table: dict):
    """At the start of a page's run: the settings in `keys` (those some page has a default for) that nobody chose
    take this page's default (`defaults`), or the table's."""
    st.session_state["_page_defaults"] = defaults
    chosen = st.session_state.get("_chosen", set())
    for k in keys:
        if k not in chosen and "cfg_" + k in st.session_state:
            st.session_state["cfg_" + k] = defaults.get(k, table[k].default)


def state(p: Param):
    """The canonical value, loaded from the URL the first time this session asks for it."""
    ck = "cfg_" + p.key
    if ck not in st.session_state:
        v = default(p)
        if p.key in st.query_params:
            raw = st.query_params.get_all(p.key)[-1]
            parsed = p.parse(raw)
            if parsed is None:
                st.session_state.setdefault("_url_notes", []).append(f"{plain(p.key, 40)}={quote(raw)}")
            else:
                v = parsed
                st.session_state.setdefault("_from_url", {})[p.key] = parsed
                st.session_state.setdefault("_chosen", set()).add(p.key)
        st.session_state[ck] = v
    return st.session_state[ck]


def from_link(key: str) -> bool:
    """Whether `key`'s value was read from the page's address in this run (so a change to it must be said)."""
    return key in st.session_state.get("_from_url", {})


def link_change(key: str, text: str) -> bool:
    """Name, in the link notice, a change the app made to a value that came from the link (`text`: one sentence of
    markdown whose user-derived parts went through plain()). False, and nothing said, for a value not from it."""
    if not from_link(key):
        return False
    st.session_state.setdefault("_url_changes", []).append(text)
    return True


def _sync(key: str):
    choose(key, st.session_state["w_" + key])
    st.session_state["_moved"] = key          # which control the user moved: the truncation clamp follows it


def _fits(p: Param, v) -> bool:
    """Whether v has the type p's widget needs (bool is not an int here)."""
    if p.kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if p.kind == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if p.kind == "bool":
        return isinstance(v, bool)
    return isinstance(v, str)


def hidden() -> set[str]:
    """Setting names teacher mode hides (plus "nav" for the page links)."""
    return set(filter(None, str(state(HIDE)).split(",")))


def meta(p: Param):
    """A setting that lives in the URL but has no widget of its own (tour, hide): its value, registered."""
    v = state(p)
    if not _fits(p, v) or (p.kind == "int" and not p.lo <= v <= p.hi):
        v = st.session_state["cfg_" + p.key] = p.default
    st.session_state.setdefault("_params_used", {})[p.key] = p
    return v


def valid(p: Param, options=None):
    """p's canonical value, made fit for its widget (and stored back): a value of another type (another page's
    setting under the same key, a stale preset) gives the default, a range that depends on T may have shrunk."""
    old = v = state(p)
    if not _fits(p, v):
        v = default(p)
    elif p.kind == "float" and isinstance(v, int):
        v = float(v)
    if p.kind in ("int", "float") and not p.lo <= v <= p.hi:
        v = min(max(v, p.lo), p.hi)
    elif p.kind == "choice" and v not in (options or p.options):
        v = default(p)
    if v != old:
        link_change(p.key, f"{plain(p.key, 40)}={quote(old)} was changed to {quote(v)}: not allowed here")
    st.session_state["cfg_" + p.key] = v
    return v


def widget(p: Param, where=st, **kw):
    """Draw p's widget (in `where`) and return the canonical value — or, if teacher mode hides it, only the
    value (kept in the URL, so the view stays exact)."""
    v = valid(p, kw.get("options"))
    st.session_state.setdefault("_params_used", {})[p.key] = p
    if p.key in hidden():
        return v
    wk = "w_" + p.key
    common = dict(key=wk, on_change=_sync, args=(p.key,), help=p.help, **kw)
    opts = common.pop("options", None) or p.options
    first = not st.session_state.get("_ran")
    if first:
        # This session's first run. If the browser already holds this widget (a replica died and Streamlit's client
        # reconnected to another one, which made a new session), the value it sends is the student's latest move and
        # wins over the URL, which was written before that move. Passed as the widget's value, not through
        # session_state, so that the browser's value can win; the key alone is the widget's identity.
        common["index" if p.kind == "choice" else "value"] = opts.index(v) if p.kind == "choice" else v
    else:
        st.session_state[wk] = v
    if p.kind == "int":
        got = where.slider(p.label, int(p.lo), int(p.hi), step=int(p.step or 1), **common)
    elif p.kind == "float":
        got = where.slider(p.label, float(p.lo), float(p.hi), step=float(p.step), **common)
    elif p.kind == "bool":
        got = where.toggle(p.label, **common)
    else:
        got = where.selectbox(p.label, opts, format_func=lambda o: LABELS.get(o, o), **common)
    if first and got != v:
        _sync(p.key)
    return st.session_state["cfg_" + p.key]


def projector() -> bool:
    """Whether projector mode (larger text) is on."""
    return bool(st.session_state.get("cfg_proj", False))


def url_values() -> dict[str, str]:
    """Every setting used in this run that differs from its default on this page, as the URL writes it."""
    used = st.session_state.get("_params_used", {})
    return {k: p.to_url(st.session_state["cfg_" + k]) for k, p in used.items()
            if st.session_state.get("cfg_" + k, default(p)) != default(p)}


def write_url():
    """Rewrite the address bar from the canonical values of every setting used in this run (and remember which
    keys the app wrote: on the next run they are not the user's)."""
    values = url_values()
    st.session_state["_wrote"] = set(values)
    st.session_state["_ran"] = True              # widgets are re-seeded from the canonical values from now on
    st.query_params.from_dict(values)
