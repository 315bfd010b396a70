"""For the classroom: preset scenarios (one click each, with a link), the guided tour, teacher mode, exports."""
import streamlit as st

from ui import classroom, predict
from ui.blocks import lesson
from ui.class_questions import QUESTIONS
from ui.page_registry import BY_PATH
from ui.presets import PRESETS, TOUR
from ui.question_store import StoreUnavailable

with lesson(__file__, f"{len(PRESETS)} short stories, one click each: every scenario opens a lesson with exact "
            "settings and says what to notice. Share one with its link, walk through them in order with the "
            "guided tour, or prepare a focused view in teacher mode.") as sc:
    st.markdown("## :material/explore: Guided tour")
    t1, t2 = st.columns([1, 3])
    if t1.button(f"Start the tour ({len(TOUR)} stops)", type="primary", width="stretch", key="tour_start"):
        classroom.open_preset(TOUR[0], 1)
    t2.markdown("For a student alone: the lessons in order, each stop with its settings already made, what to "
                "try and what to notice, and ◀ previous / next ▶ above the lesson.")

    st.markdown("## :material/menu_book: Scenarios")
    classroom.loopback_note()
    cols = st.columns(2, gap="large")
    for i, p in enumerate(PRESETS):
        with cols[i % 2].container(border=True):
            st.markdown(f"**{i + 1}. {p.title}**  \n{p.story}")
            st.caption(f"**What to notice:** {p.notice}")
            a, b = st.columns([1, 3], vertical_alignment="center")
            if a.button("Open ▶", key=f"preset_{p.slug}", width="stretch"):
                classroom.open_preset(p)
            b.code(classroom.site_root() + p.path(), language=None, wrap_lines=True)

    st.markdown("## :material/quiz: Class questions: predict, then reveal")
    st.markdown("Students learn most when they commit to a prediction before they see the result. Open a question: "
                "you get the lesson with your panel (live count and histogram, **Reveal**, **Close**, CSV export) "
                "and a link for students, which shows them the question with the lesson's charts hidden until you "
                "reveal. The true answer is computed by the engine from the question's settings.")
    qcols = st.columns(2, gap="large")
    for i, q in enumerate(QUESTIONS):
        with qcols[i % 2].container(border=True):
            st.markdown(f"**{BY_PATH[q.on.page].label}** · {q.prompt}")
            st.caption(("Choices: " + ", ".join(q.options)) if q.kind == "choice" else
                       f"A number from {q.lo:g} to {q.hi:g}" + (" (log scale)" if q.log else "") + ".")
            if st.button("Open for my class", key=f"question_{q.slug}", icon=":material/campaign:"):
                try:
                    predict.open_question(q)
                except StoreUnavailable as e:
                    st.error(f"The class's database cannot be used right now: {e}", icon=":material/database:")

    st.markdown("## :material/school: Teacher mode")
    st.markdown("Open any lesson, set it up, then open **Teacher mode** at the bottom of the sidebar: choose the "
                "controls students should not see (or the page links, to keep them on one page) and copy the link. "
                "It holds the view's full state; students who open it see exactly that view, with only the "
                "controls you left.")
    st.markdown("## ⬇ Exports")
    st.markdown("Every chart: **PNG** from the camera icon in its toolbar, **⬇ chart (HTML)** — a standalone file "
                "that opens offline (for slides) — and **⬇ data (CSV)**. The sidebar's **⬇ this model (.npz)** "
                "holds the current network; the training lab downloads the trained one and its history.")
    st.caption("Projector: switch on *Projector mode* in the sidebar, under the settings right after *Truncation*, "
                "for larger text and thicker lines; it stays on when you open scenarios. Serving a class from one "
                "machine: see the README, section “Run it for a classroom”.")
