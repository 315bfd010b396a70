"""Page building blocks: the page frame (sidebar, notices, URL, an error guard) and the chart block."""
from __future__ import annotations

import contextlib
import html
import logging
import re
from pathlib import Path

import numpy as np
import plotly.io as pio
import streamlit as st
from plotly.basedatatypes import BaseFigure

from explorer.figures import PLOTLY_CONFIG
from explorer.persistence import model_bytes
from explorer.scenario import Scenario

from . import classroom, link_notice, page_style, predict, url_state
from .page_registry import page_of
from .sidebar import sidebar

log = logging.getLogger("bptt_explorer")
# The browser tab's icon, shipped with the app: a Material icon as page_icon makes the browser fetch an SVG from
# fonts.gstatic.com (no internet in a classroom), and an emoji needs an emoji font.
FAVICON = str(Path(__file__).parent / "assets" / "favicon.png")


@contextlib.contextmanager
def lesson(file: str, idea: str):
    """Set up a page from its entry in ui.page_registry (`file`: the page's __file__): tab title and icon, heading,
    idea, shared sidebar (and the tour's box); yields the Scenario. Any error inside becomes a short message (never
    a traceback); then teacher mode's panel, and the URL is written back."""
    page = page_of(file)
    title = page.title
    st.set_page_config(page_title=title if page.slug == "" else f"{title} · BPTT Explorer", page_icon=FAVICON,
                       layout="wide")
    predict.run_mark("start")               # on a class question's page only: see run_mark
    st.title(title)
    st.markdown(idea)
    # The link's notice is placed here but filled at the end: pages read their own settings (lab, race, cliff,
    # budget …) only as they draw them.
    notes = st.container()
    complete = True
    try:
        sc = sidebar(page.defaults)
        model_download(sc)
        page_style.page_css()
        classroom.projector_css()
        classroom.tour_box()
        if predict.question_box():         # a student's view of a class question, before the reveal
            st.info("The lesson's charts appear here when your teacher reveals the answer.",
                    icon=":material/visibility_off:")
            link_notice.notices(notes, complete=True)
            classroom.teacher_panel()      # as after the reveal (its code box's script loads now, not then)
            predict.run_mark("end")
            # the URL is left as the link wrote it: the page's own settings (not read while hidden) stay in it
            st.stop()
        yield sc
    except Exception as e:  # the user sees a message, the log keeps the traceback
        complete = False             # the settings after the failure were never drawn: none is "unknown"
        log.exception("lesson %s failed", title)
        st.error(f"This view could not be drawn with these settings ({type(e).__name__}: {str(e)[:200]}). "
                 "Your settings are kept: try other values, or reset them from the sidebar.", icon=":material/error:")
    except BaseException:            # st.rerun / st.switch_page: the next run draws the panel and writes the URL
        st.session_state.pop("_sidebar_end", None)
        raise
    link_notice.notices(notes, complete=complete)
    classroom.teacher_panel()
    url_state.write_url()
    predict.run_mark("end")


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


class _Checked(BaseFigure):
    """A figure dict from `explorer.figures`, handed to st.plotly_chart as-is. Streamlit re-validates a plain dict
    by building a go.Figure from it (tens of ms per chart); the builders' dicts are validated by the test suite
    instead (tests/test_figures.py turns every one into a go.Figure)."""

    def __init__(self, spec: dict):          # deliberately skips BaseFigure.__init__: no object tree is built
        object.__setattr__(self, "_spec", spec)

    def to_dict(self):
        return self._spec


def standalone_html(fig, title: str) -> str:
    """The figure as one self-contained HTML file (plotly.js inlined: it opens offline, e.g. in a slide deck)."""
    spec = fig if isinstance(fig, dict) else fig.to_dict()
    layout = dict(spec.get("layout", {}))
    layout.setdefault("title", {"text": title})
    margin = dict(layout.get("margin", {}))                  # room for the title above whatever sits on top
    margin["t"] = max(margin.get("t", 0), 60) + 50
    layout["margin"] = margin
    layout["height"] = layout.get("height", 450) + 50
    return pio.to_html({"data": spec.get("data", []), "layout": layout, "frames": spec.get("frames", [])},
                       include_plotlyjs=True, full_html=True, config=PLOTLY_CONFIG)


def chart(fig, df, *, key: str, title: str, notice: str, summary: str, latex: str | None = None, where=st):
    """One chart: heading, the equation behind it, the figure (PNG from its toolbar), a sentence generated from its
    data (`summary`: explorer.figures.summaries, for a reader who cannot see it), what to notice, the table of what
    is drawn, and its exports: the data as CSV and the figure as a standalone HTML file (built only when clicked)."""
    where.markdown(f"### {title}")
    if latex:
        where.latex(latex)
    # theme=None: the figure's own template styles it (17 px #222 text, 21 px in projector mode), so the live chart,
    # its PNG and its HTML export look the same; Streamlit's theme would replace it with 12 px grey.
    where.plotly_chart(_Checked(fig) if isinstance(fig, dict) else fig, key=key, config=PLOTLY_CONFIG, width="stretch",
                       theme=None)
    where.markdown(f'<p class="chart-summary" data-chart="{key}">{html.escape(summary)}</p>', unsafe_allow_html=True)
    where.caption(f"**What to notice:** {notice}")
    table(df, key=key, title=title, where=where)
    row = where.container(horizontal=True, gap="small")
    keep_index = df.index.name is not None
    row.download_button("⬇ data (CSV)", lambda: df.to_csv(index=keep_index), file_name=f"{_slug(title)}.csv",
                        mime="text/csv", key=f"csv_{key}", on_click="ignore")
    row.download_button("⬇ chart (HTML)", lambda: standalone_html(fig, title), file_name=f"{_slug(title)}.html",
                        mime="text/html", key=f"html_{key}", on_click="ignore")


TABLE_ROWS = 2000          # a table longer than this shows its first rows; the CSV always has every row


def table(df, *, key: str, title: str, where=st):
    """What a chart draws, as a table in a closed expander (the same DataFrame as its CSV)."""
    with where.expander(f"Table: {title}", icon=":material/table:"):
        keep_index = df.index.name is not None
        shown = df if len(df) <= TABLE_ROWS else df.head(TABLE_ROWS)
        if shown is not df:
            st.caption(f"The first {TABLE_ROWS} of {len(df)} rows; the CSV has them all.")
        st.dataframe(shown, hide_index=not keep_index, key=f"table_{key}")


def csv_download(df, *, key: str, title: str, where=st):
    """The numbers a live (browser-drawn) view shows at the sidebar's settings, as CSV (built only when clicked)."""
    keep_index = df.index.name is not None
    where.download_button("⬇ data (CSV)", lambda: df.to_csv(index=keep_index), file_name=f"{_slug(title)}.csv",
                          mime="text/csv", key=f"csv_{key}", on_click="ignore")


def model_download(sc: Scenario, where=st.sidebar):
    """The sidebar's network (its initial weights) as an .npz with PyTorch-style names (built only when clicked)."""
    where.download_button("⬇ this model (.npz)", lambda: model_bytes(sc.model(), {"scenario": sc.as_dict()}),
                          file_name="bptt_explorer_model.npz", mime="application/octet-stream",
                          on_click="ignore", key="model_npz",
                          help="the sidebar's network (its initial weights) as NumPy arrays with their "
                               "PyTorch-style names; load it with explorer.persistence.load_model")


def quadratic_notice(cost: float, budget: float, what: str = "The G map"):
    """Say that an O(T²·H²) view was skipped: its work (`cost` multiply-adds) is over the page's `budget`."""
    st.info(f"{what} costs O(T²·H²) work ({cost:.1e} here); it is drawn up to {budget:.0e}. Lower T or H to see it.")


def overflow_notes(rec):
    """Say where values overflowed (forward or backward) — the charts show everything before it."""
    tr = rec.trace
    if tr.overflow_step is not None:
        k = tr.overflow_step
        if not np.any(tr.mask[:k] > 0):
            st.warning(f"**Overflow at step {k}:** the hidden state or the loss passed ±1.8·10³⁰⁸ there, and no "
                       f"target lies before it (the loss is at the last step only), so there is **no gradient to "
                       f"draw**. Pick a loss at every step, a smaller scale or a shorter T.", icon=":material/warning:")
        else:
            st.warning(f"**Overflow at step {k}:** the hidden state or the loss passed ±1.8·10³⁰⁸ there. The "
                       f"charts show steps 0 … {k - 1} and the gradient of their loss.", icon=":material/warning:")
    if rec.backward_overflow_step is not None:
        st.warning(f"**The backward pass overflowed at step {rec.backward_overflow_step}:** δ_t grew past "
                   f"float64's range going back; steps after it are valid.", icon=":material/warning:")
    elif not rec.finite:
        st.warning("**The gradient sums overflowed** (δ_t stayed finite, but Σ_t δ_t h_{t−1}ᵀ did not).", icon=":material/warning:")
