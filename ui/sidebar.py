"""The sidebar every page shares: the page links, the model and sequence settings, the truncation scheme,
projector mode. `sidebar()` draws them and returns the Scenario they describe."""
from __future__ import annotations

import streamlit as st

from explorer.scenario import CELL_ACTIVATIONS, Scenario
from explorer.truncation import fit_truncation

from .page_registry import PAGE_DEFAULT_KEYS, PAGES
from .params import BY_KEY, HIDE, PROJECTOR, SCENARIO, Param
from .plain_text import plain
from .url_state import follow_page, from_link, hidden, link_change, meta, quote, state, valid, widget

_TRUNCATION = ("scheme", "k1", "k2", "keep")          # drawn in their own expander, in this order


def _follow_cell(act: Param, cell: str) -> tuple:
    """The activations `cell` allows; φ follows the cell (an LSTM or a GRU has tanh only), said if φ was the link's."""
    allowed = CELL_ACTIVATIONS[cell]
    old = state(act)
    if old not in allowed:                       # e.g. switched to an LSTM while φ was ReLU
        st.session_state["cfg_" + act.key] = allowed[0]
        link_change(act.key, f"{act.key}={quote(old)} was changed to {allowed[0]}: the {cell} cell uses "
                             f"{' or '.join(allowed)} only")
    return allowed


def _truncation_fits(T: int) -> list[str]:
    """Make the canonical k1, k2 the ones the Scenario runs (explorer.truncation.fit_truncation), so the sliders
    show them. A link's value that changed is named in the notice; a change that follows the user's own move (k1
    dragged above k2, T below them) is returned, for a caption under the controls."""
    k1, k2 = valid(BY_KEY["k1"]), valid(BY_KEY["k2"])
    moved = st.session_state.get("_moved")
    n1, n2 = fit_truncation(k1, k2, T, moved="k2" if moved == "k2" and not from_link("k2") else None)
    quiet = []
    for key, old, new in (("k1", k1, n1), ("k2", k2, n2)):
        if new == old:
            continue
        st.session_state["cfg_" + key] = new
        if new < old and new == T and old > T:
            why = f"lowered to T = {T}: it cannot exceed the sequence length"
        elif new < old:
            why = f"lowered to k2 = {new}: TBPTT needs k1 ≤ k2"
        else:
            why = f"raised to k1 = {new}: TBPTT needs k2 ≥ k1"
        if not link_change(key, f"{key}={plain(old)} was {why}"):
            quiet.append(f"{key} was {why}.")
    return quiet


def sidebar(defaults: tuple = ()) -> Scenario:
    """Draw the shared settings and return the Scenario they describe (`defaults`: the open page's own, see
    ui.page_registry.Page.defaults)."""
    st.session_state["_params_used"] = {}
    follow_page(dict(defaults), PAGE_DEFAULT_KEYS, BY_KEY)
    hide = meta(HIDE)                                  # (the tour's stop is read by classroom.tour_box)
    with st.sidebar:
        if "nav" not in hidden():
            for page in PAGES:
                st.page_link(page.path, label=page.label, icon=page.icon)
            st.divider()
        if hide:
            st.caption(":material/school: Some controls are hidden for this lesson.")
        st.markdown("## Model and sequence")
        for p in SCENARIO:
            if p.key == "act":
                allowed = _follow_cell(p, st.session_state["cfg_cell"])
                widget(p, st, options=allowed, disabled=len(allowed) == 1)
            elif p.key not in _TRUNCATION:
                widget(p, st)
        with st.expander("Truncation", expanded=state(BY_KEY["scheme"]) != "full"):
            widget(BY_KEY["scheme"], st)
            followed = _truncation_fits(st.session_state["cfg_T"])
            for key in _TRUNCATION[1:]:
                widget(BY_KEY[key], st)
            if followed and not {"k1", "k2"} <= hidden():
                st.caption(" ".join(followed))
        widget(PROJECTOR, st)
        st.caption("Every setting is in the page's address: copy it to share this exact view.")
        st.session_state["_sidebar_end"] = st.container()       # filled at the end of the run (teacher mode)
    st.session_state.pop("_moved", None)
    return Scenario.from_settings({p.key: st.session_state["cfg_" + p.key] for p in SCENARIO})
