"""The app's pages, once: file, URL slug, navigation label, icon, one-line blurb and heading. The sidebar's links,
the home page's lesson list, every page's browser-tab title and icon, the presets' links and the tests read it.

Icons are Streamlit's Material Symbols (`:material/name:`): the font ships inside Streamlit, so they render on a
classroom LAN with no internet and in a browser without an emoji font. (The browser tab shows the app's own
favicon, ui/assets/favicon.png, on every page: a Material page_icon would be fetched from Google's servers.)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Page:
    path: str                  # relative to the app's root, as st.page_link wants it
    slug: str                  # the URL path ("" for home)
    label: str                 # the navigation link
    icon: str
    blurb: str                 # one line under the home page's link
    title: str                 # the page's heading (and, with the app's name, its browser-tab title)
    # Shared settings this lesson opens with instead of the Scenario's defaults, so that its charts show their
    # phenomenon at first open; they apply while the user (a widget, a link, a preset) has not chosen a value.
    defaults: tuple = ()       # ((setting key, value), …)


HOME = Page("streamlit_app.py", "", "Home", ":material/home:", "", "BPTT Explorer")
LESSONS = (
    Page("pages/1_Unrolled_graph.py", "Unrolled_graph", "1 · Unrolled graph", ":material/account_tree:",
         "Watch δ_t travel back through time, step by step, with the numbers of each step.", "The unrolled graph"),
    Page("pages/2_Gradient_flow.py", "Gradient_flow", "2 · Gradient flow", ":material/waves:",
         "‖δ_t‖ over time, per unit, Pascanu's G[t, k] map and what each step adds to ∂L/∂W_hh.", "Gradient flow"),
    Page("pages/3_Vanishing_and_exploding.py", "Vanishing_and_exploding", "3 · Vanishing and exploding",
         ":material/trending_down:", "Eigenvalues, the (σ₁γ)^ℓ bound, a phase map, and the cliff that clipping "
         "tames.", "Vanishing and exploding gradients"),
    Page("pages/4_Truncation.py", "Truncation", "4 · Truncation", ":material/content_cut:",
         "What TBPTT(k1, k2) and randomized truncation cut, and what it costs the gradient.", "Truncation",
         # full BPTT cuts nothing, and TBPTT on a loss at the last step only is one update: open on what it cuts
         (("scheme", "tbptt"), ("target", "every_squared"))),
    Page("pages/5_Training_lab.py", "Training_lab", "5 · Training lab", ":material/model_training:",
         "Train it live: play, pause, step; watch the loss, clipping and ‖δ_t‖ over training.", "Training lab"),
    Page("pages/6_Architectures.py", "Architectures", "6 · Architectures", ":material/compare:",
         "RNN, LSTM, GRU, IndRNN and IRNN on one input: whose gradient survives the lag, and a race.",
         "Architectures side by side"),
    Page("pages/7_Cost_of_a_gradient.py", "Cost_of_a_gradient", "7 · Cost of a gradient", ":material/timer:",
         "BPTT, TBPTT, RTRL and checkpointing: measured time and memory, and proof they agree.",
         "The cost of a gradient"),
    Page("pages/9_Online_learning.py", "Online_learning", "8 · Online learning", ":material/bolt:",
         "RTRL, UORO, KF-RTRL, RFLO, SnAp-1 and TBPTT: how close each online estimate is, what it costs, and a race.",
         "Online learning without the past",
         # a per-step comparison needs a loss at every step
         (("target", "every_squared"),)),
)
CLASSROOM = Page("pages/8_Classroom.py", "Classroom", "For the classroom", ":material/school:",
                 "{n} one-click scenarios with links, a guided tour through the lessons, and teacher mode (hidden "
                 "controls for a lecture).", "For the classroom")
PAGES = (HOME,) + LESSONS + (CLASSROOM,)
PAGE_DEFAULT_KEYS = frozenset(k for page in PAGES for k, _ in page.defaults)
BY_PATH = {p.path: p for p in PAGES}


def page_of(file: str) -> Page:
    """The entry of a page script, from its __file__ (or its path relative to the app's root)."""
    p = Path(file)
    rel = p.name if p.parent.name != "pages" else f"pages/{p.name}"
    return BY_PATH[rel]
