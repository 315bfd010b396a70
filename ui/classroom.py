"""Classroom features on every page: opening a preset, the guided tour's box, teacher mode's panel (which
controls students see, and the link that opens the app that way) and the projector theme's CSS."""
from __future__ import annotations

import socket
from urllib.parse import urlencode, urlsplit

import streamlit as st

from . import url_state
from .params import TEACHER_KEY, TOUR_STOP
from .presets import TOUR, Preset

KEEP = ("cfg_proj", "cfg_hide")          # survive opening a preset: how the room sees the app, not the lesson


def open_preset(p: Preset, tour: int = 0, extra: dict | None = None):
    """Reset every lesson setting, then open p's page with p's settings in the URL (read and validated there,
    exactly like a shared link). `tour` is the guided tour's stop number (0: not touring); `extra`: more of the
    URL (a class question's id and teacher key)."""
    for k in [k for k in st.session_state if str(k).startswith("cfg_") and k not in KEEP]:
        del st.session_state[k]
    st.session_state.pop("_chosen", None)          # the preset's page defaults apply to what it does not set
    q = p.url_params()
    if tour:
        q["tour"] = str(tour)
    q.update(extra or {})
    st.switch_page(p.page, query_params=q)


def tour_box():
    """The guided tour's stop, above the lesson: its story, what to try, and ◀ previous / next ▶."""
    n = url_state.meta(TOUR_STOP)
    if not n:
        return
    if n > len(TOUR):                    # only a link can ask for it: say so rather than drop it silently
        st.session_state["cfg_tour"] = 0
        url_state.link_change("tour", f"tour={n} was dropped: the tour has {len(TOUR)} stops")
        return
    p = TOUR[n - 1]
    with st.container(border=True):
        st.markdown(f"**:material/explore: Guided tour · stop {n} of {len(TOUR)}: {p.title}**")
        st.markdown(p.story)
        st.markdown(f"**Try this:** {p.try_this}  \n**What to notice:** {p.notice}")
        c = st.columns([1, 1, 1, 3])
        if c[0].button("◀ previous", key="tour_prev", disabled=n == 1, width="stretch"):
            open_preset(TOUR[n - 2], n - 1)
        if c[1].button("next ▶" if n < len(TOUR) else "finished", key="tour_next", disabled=n == len(TOUR),
                       type="primary", width="stretch"):
            open_preset(TOUR[n], n + 1)
        if c[2].button("↻ this stop again", key="tour_again", width="stretch",
                       help="reopen this stop's page with its settings"):
            open_preset(p, n)
        if c[3].button("✕ end the tour", key="tour_end"):
            st.session_state["cfg_tour"] = 0
            st.rerun()


def _sync_hide():
    st.session_state["cfg_hide"] = ",".join(sorted(st.session_state["w_hide"]))


def current_url() -> str:
    try:
        return st.context.url or ""
    except Exception:  # no browser context (AppTest): links stay relative
        return ""


LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def lan_address() -> str | None:
    """This machine's address on the local network (the interface its default route uses), or None. A UDP
    "connect" only picks a route: no packet is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


def _netloc() -> tuple[str, str, bool]:
    """(scheme, host:port, replaced): a teacher who opened the app as localhost gets links with the LAN address
    instead, since that is what students must type."""
    parts = urlsplit(current_url())
    if not parts.netloc:
        return "", "", False
    bound = st.get_option("server.address") or ""
    if parts.hostname in LOOPBACK and bound.strip("[]") not in LOOPBACK and (ip := lan_address()):
        return parts.scheme, f"{ip}:{parts.port}" if parts.port else ip, True
    return parts.scheme, parts.netloc, False


def site_root() -> str:
    """"scheme://host:port/" of the server as students reach it ("/" when unknown)."""
    scheme, netloc, _ = _netloc()
    return f"{scheme}://{netloc}/" if netloc else "/"


def share_link() -> str:
    """This page's address with every non-default setting (what write_url puts in the address bar), for others:
    never with a class question's teacher key."""
    q = urlencode({k: v for k, v in url_state.url_values().items() if k != TEACHER_KEY.key})
    scheme, netloc, _ = _netloc()
    base = f"{scheme}://{netloc}{urlsplit(current_url()).path}" if netloc else ""
    return base + (f"?{q}" if q else "")


def loopback_note(where=st):
    """Say so when links were rewritten from localhost to the LAN address, or when students cannot reach this
    server at all (bound to loopback)."""
    if (st.get_option("server.address") or "").strip("[]") in LOOPBACK:
        where.caption("This server listens on this machine only: start it with `--server.address 0.0.0.0` so "
                      "students can open these links (README: Run it for a classroom).")
    elif _netloc()[2]:
        where.caption("You opened the app as *localhost*; the links use this machine's network address instead, "
                      "which is what students type. Students must be on the same network.")


def teacher_panel():
    """At the bottom of the sidebar: choose the controls students do not see, and copy the link."""
    slot = st.session_state.pop("_sidebar_end", None)
    if slot is None:
        return
    used = st.session_state.get("_params_used", {})
    labels = {"nav": "page links (students stay on this page)"}
    # tour, hide and the lab's kept-run id live in the URL but are no controls a student sees
    labels.update({k: p.label for k, p in used.items() if k not in ("tour", "hide", "run")})
    hide = url_state.hidden()
    st.session_state["w_hide"] = [k for k in labels if k in hide]
    with slot.expander("Teacher mode", icon=":material/school:", expanded=bool(hide)):
        st.multiselect("Hide these controls from students", list(labels), format_func=labels.get, key="w_hide",
                       on_change=_sync_hide)
        st.markdown("Then share this link: it opens this page with **exactly these settings**, the chosen "
                    "controls hidden.")
        st.code(share_link(), language=None, wrap_lines=True)
        loopback_note()
        st.caption("Hidden controls keep their values from the link. Anyone can open this panel again to show "
                   "them: it is a way to focus a lesson, not a lock.")


def projector_css():
    """Larger text and widgets for the big screen (the charts have their own projector style)."""
    if url_state.projector():
        st.html("<style>html, .stMarkdown, .stCaption, [data-testid=stWidgetLabel] p {font-size: 1.25rem "
                "!important;} h1 {font-size: 3rem !important;} h2, h3 {font-size: 1.8rem !important;}"
                " .katex {font-size: 1.15em !important;}</style>")
