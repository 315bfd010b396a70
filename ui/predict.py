"""Predict, then reveal: a class question on its lesson page.

The teacher opens a question from the classroom page (`open_question`): the store (ui.question_store) keeps it with
its true answer, computed by the engine (ui.class_questions), and a teacher key shown only in the teacher's link
(`?q=<id>&qt=<key>`). Students open the link without the key (`?q=<id>`): the lesson's charts stay hidden behind
the question until the reveal; each student (a per-browser id, ui/assets/student_id.js) submits one prediction and
may change it while the question is open. The teacher's panel shows the count and the histogram live, and reveals,
closes, reopens and exports. A store that cannot be reached says so and leaves the lesson usable; a prediction is
said to be saved only after the store has committed it.
"""
from __future__ import annotations

import html
import logging
import math
from pathlib import Path

import streamlit as st

from explorer.figures import PLOTLY_CONFIG
from explorer.figures.prediction_figs import prediction_histogram, prediction_on_scale

from . import url_state
from .class_questions import BY_SLUG_Q, ClassQuestion, answer_text
from .classroom import open_preset, share_link
from .params import QUESTION, TEACHER_KEY
from .question_store import QuestionNotOpen, QuestionUnavailable, RateLimited, StoreUnavailable, WrongSecret, open_store

log = logging.getLogger("bptt_explorer")
TEACHER_EVERY_S = 2.0          # the teacher's count and histogram refresh
STUDENT_EVERY_S = 3.0          # a student's page looks for the reveal
REVEALED_EVERY_S = 15.0       # ... and, once revealed, only for the teacher's "Hide again" (each look is a
                              # server run: 60 students every 3 s are 20 runs a second, and in the bench
                              # with 60 browsers on 2 cores they kept the charts from ever settling)
_student_id = st.components.v2.component(
    "bptt_student_id", js=(Path(__file__).parent / "assets" / "student_id.js").read_text())


@st.cache_resource(show_spinner=False)
def store():
    """One store per server process (its backend from BPTT_DB_URL / BPTT_DB_PATH: ui.question_store)."""
    return open_store()


def _unavailable(e: StoreUnavailable, teacher: bool):
    if teacher:
        st.error(f"**The class's database cannot be used right now:** {e}", icon=":material/database:")
    else:
        st.warning("The class question cannot be reached right now; the lesson below works as usual. Try again "
                   "in a moment.", icon=":material/cloud_off:")


def student_id() -> str | None:
    """This browser's id (None on the very first run of a page, until the browser has sent it). The component also
    watches that each run of the page arrives to its end (`run_mark`; ui/assets/student_id.js)."""
    known = (st.session_state.get("student_id_box") or {}).get("id")
    _student_id(key="student_id_box", data=known or "", default={"id": None}, on_id_change=lambda: None,
                on_redraw_change=_redraw_asked)
    return known


def _redraw_asked():
    log.info("a student's page asked for its view again: the end of its last run did not arrive")


def run_mark(where: str):
    """An empty mark, first ("start") and last ("end") on a class question's page, with the run's number. Under
    load a Streamlit race can drop the end of a full run: a timer's fragment run that starts as the full run ends
    takes its place, and the full run's last messages never reach the page (its form half drawn, nothing to redraw
    it: 1 of 16 students saving at once, benchmarks/probe_class_saves.py). A student's browser that sees a run's
    start without its end asks for the run again (ui/assets/student_id.js)."""
    if not url_state.meta(QUESTION):
        return
    ss = st.session_state
    if where == "start":
        ss["class_page_run"] = ss.get("class_page_run", 0) + 1
        # the marks take no room (an empty element still gets the column's gap); a <style>-only st.html takes none
        st.html('<style>div[data-testid="stElementContainer"]:has(> div .bptt-run-start, > div .bptt-run-end) '
                '{display: none;}</style>')
    st.markdown(f'<span class="bptt-run-{where} bptt-run-{where}-{ss.get("class_page_run", 0)}"></span>',
                unsafe_allow_html=True)


def question_box() -> bool:
    """On a page opened with ?q=…: the question (students) or its panel (the teacher, with ?qt=…). True when the
    lesson's charts must stay hidden: a student's view before the reveal."""
    qid, key = url_state.meta(QUESTION), url_state.meta(TEACHER_KEY)
    if not qid:
        return False
    try:
        q = store().get(qid)
        teacher = bool(key) and q is not None and store().verify_secret(qid, key)
    except StoreUnavailable as e:
        _unavailable(e, bool(key))
        return False
    spec = BY_SLUG_Q.get(q.preset) if q is not None else None
    if q is None or spec is None:
        st.info("This class question has ended (questions expire after two days) or its link is incomplete. The "
                "lesson works as usual.", icon=":material/quiz:")
        return False
    if key and not teacher:
        st.warning("This link's teacher key does not belong to this question: you see a student's view.",
                   icon=":material/key_off:")
    with st.container(border=True, key="class_question"):
        st.markdown(f"## :material/quiz: Class question\n{q.prompt}")
        if spec.latex:
            st.latex(spec.latex)
        if teacher:
            st.fragment(run_every=TEACHER_EVERY_S)(_teacher_panel)(qid, key, spec)
        else:
            # the form is drawn in the page's run, so no timer redraws it while a student types; a small fragment
            # only watches for the teacher's reveal, close or reopen and then reruns the page. The panel is one
            # container, so the fragment keeps its place whatever the panel draws: a timer run queued before a
            # full run is still applied at the fragment's old place, and there it replaced the "Saved" box or
            # the form (benchmarks/probe_class_saves.py).
            with st.container(key="class_student_panel"):
                _student_panel(q, spec)
            every = REVEALED_EVERY_S if q.state == "revealed" else STUDENT_EVERY_S
            st.fragment(run_every=every)(_watch)(qid, q.state)
    return not teacher and q.state != "revealed"


def _histogram(q, spec: ClassQuestion, answers, reveal: bool, key: str):
    if not answers:
        st.caption("No predictions yet.")
        return
    fig, df = prediction_histogram([a.value for a in answers], kind=q.kind, options=q.options, lo=q.lo, hi=q.hi,
                                   log=q.log, truth=q.true_answer if reveal else None, unit=spec.unit,
                                   projector=url_state.projector())
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, width="stretch", theme=None)
    n = len(answers)
    if q.kind == "choice":
        parts = ", ".join(f"{o}: {c}" for o, c in zip(df["option"], df["predictions"]))
        text = f"{_count(n)} — {parts}."
    else:
        vals = sorted(float(a.value) for a in answers)
        med = vals[len(vals) // 2] if vals else math.nan
        text = _count(n) + (f"; the median is {answer_text(spec, med)}." if vals else ".")
    if reveal:
        text += f" The true answer is {answer_text(spec, q.true_answer)}."
    st.markdown(f'<p class="chart-summary">{html.escape(text)}</p>', unsafe_allow_html=True)


def _export(qid: str, key: str) -> str:
    """The answers as CSV, read when the button is clicked (not when the panel was last drawn)."""
    try:
        return store().export_csv(qid, key)
    except (StoreUnavailable, WrongSecret) as e:
        return f"export failed: {e}\n"


def _count(n: int) -> str:
    return f"{n} prediction" + ("" if n == 1 else "s")


def _watch(qid: str, state_at_load: str):
    """Rerun the page when the question's state changes (revealed: the lesson's charts follow)."""
    try:
        q = store().get(qid)
    except StoreUnavailable:
        return                                  # said by the panel; keep watching
    if q is None or q.state != state_at_load:
        st.rerun()


def _student_panel(q, spec: ClassQuestion):
    qid = q.id
    sid = student_id()
    if sid is None:
        st.caption("Connecting…")
        return
    try:
        mine = store().answer(qid, sid)
    except StoreUnavailable as e:
        _unavailable(e, False)
        return
    if q.state == "revealed":
        _histogram(q, spec, store().answers(qid), True, "class_hist_student")
        said = f" Your prediction was {answer_text(spec, mine.value)}." if mine else ""
        st.success(f"**Revealed:** {answer_text(spec, q.true_answer)}.{said} {spec.explain}",
                   icon=":material/visibility:")
        return
    scale = st.empty()                          # filled last: it shows the prediction this run has saved
    if q.state == "closed":
        _on_scale(scale, q, spec, mine)
        st.info("Your teacher has closed this question; the answer comes with the reveal.", icon=":material/lock:")
        return
    # Every parameter of these widgets is fixed for the question: a widget whose parameters change between runs
    # (a default that becomes the saved value, a label that becomes "Change …") is a new widget in the run that
    # submits it, and the submission is lost. The saved prediction is said above the form instead.
    with st.form("prediction", border=False, enter_to_submit=False):
        if q.kind == "choice":
            value = st.radio("Your prediction", q.options, index=None, key="pred_value")
        else:
            value = st.number_input(f"Your prediction ({spec.unit or 'a number'}, {q.lo:g} to {q.hi:g})",
                                    min_value=float(q.lo), max_value=float(q.hi), value=None,
                                    placeholder="type a number", format="%g", key="pred_value")
        c1, c2 = st.columns([3, 1])
        reason = c1.text_input("Why? (optional, one line)", max_chars=200, key="pred_reason")
        nickname = c2.text_input("Nickname (optional)", max_chars=30, key="pred_nick")
        sent = st.form_submit_button("Save my prediction", type="primary")
    if sent:
        if value is None:
            st.warning("Choose or type a prediction first.")
        else:
            mine = _submit(qid, spec, sid, value, reason, nickname) or mine
    _on_scale(scale, q, spec, mine)


def _submit(qid: str, spec: ClassQuestion, sid: str, value, reason: str, nickname: str):
    """Store one prediction; the stored answer, or None (said why) when it was not taken."""
    try:
        a = store().submit(qid, sid, value, reason, nickname)
    except RateLimited as e:
        st.warning(f"Too many changes in a minute: try again in {math.ceil(e.retry_after_s)} s.")
    except QuestionNotOpen:
        st.info("Your teacher closed the question just now: that prediction was not taken.")
    except (QuestionUnavailable, ValueError) as e:
        st.warning(f"That prediction was not taken: {e}")
    except StoreUnavailable as e:
        log.warning("prediction not saved: %s", e)
        st.error("**Not saved** — the class's database cannot be reached right now. Your answer is still in the "
                 "form: press the button again in a moment.", icon=":material/cloud_off:")
    else:
        st.success(f"Saved: {answer_text(spec, a.value)}.", icon=":material/check_circle:")
        return a


def _on_scale(where, q, spec: ClassQuestion, mine):
    """The student's prediction on the answer's scale, with its table. Besides showing the scale (a log one spans
    decades), it makes the page load the code of the lesson's elements while the class answers (the browser fetches
    each kind's script the first time one is drawn): fetched first at the reveal, on 60 pages at once, Plotly's
    4.7 MB and then the tables' and code boxes' scripts did not arrive on starved laptops
    (benchmarks/bench_class_scale.py). The question's formula (KaTeX) and the sidebar's teacher panel (a code box)
    do the same for theirs."""
    value = mine.value if mine else None
    fig, df = prediction_on_scale(value, kind=q.kind, options=q.options, lo=q.lo, hi=q.hi, log=q.log,
                                 unit=spec.unit, projector=url_state.projector())
    scale_text = (", ".join(q.options) if q.kind == "choice" else
                  f"{answer_text(spec, q.lo)} to {answer_text(spec, q.hi)}" + (", log scale" if q.log else ""))
    said = f"Your prediction, {answer_text(spec, value)}," if value is not None else "No prediction yet;"
    with where.container(key="class_scale_mine"):
        if mine:
            st.markdown(f"**Your prediction:** {answer_text(spec, value)}" + (
                " — you can change it until your teacher reveals the answer." if q.state == "open" else "."))
        st.plotly_chart(fig, key="class_scale_mine_fig", config=PLOTLY_CONFIG, width="stretch", theme=None)
        st.markdown(f'<p class="chart-summary">{html.escape(f"{said} on the answer scale ({scale_text}).")}</p>',
                    unsafe_allow_html=True)
        with st.expander("Table: your prediction", icon=":material/table:"):
            st.dataframe(df, hide_index=True, key="table_class_scale_mine")


def _teacher_panel(qid: str, key: str, spec: ClassQuestion):
    try:
        q = store().get(qid)
        answers = store().answers(qid) if q else []
    except StoreUnavailable as e:
        _unavailable(e, True)
        return
    if q is None:
        st.info("This question has expired.")
        return
    state = {"open": "open: students can predict", "closed": "closed: no new predictions",
             "revealed": "revealed: students see the answer and the charts"}[q.state]
    st.markdown(f"**{_count(len(answers))}** · {state} · true answer "
                f"**{answer_text(spec, q.true_answer)}** (students see it only after the reveal)")
    _histogram(q, spec, answers, q.state == "revealed", "class_hist_teacher")
    row = st.container(horizontal=True, gap="small")
    actions = [("Reveal", "revealed", ":material/visibility:")] if q.state != "revealed" else [
        ("Hide again", "open", ":material/visibility_off:")]
    actions += [("Close", "closed", ":material/lock:")] if q.state == "open" else [
        ("Reopen", "open", ":material/lock_open:")]
    for label, to, icon in actions:
        if row.button(label, key=f"q_{label}", icon=icon, type="primary" if to == "revealed" else "secondary"):
            try:
                store().set_state(qid, key, to)
            except (StoreUnavailable, WrongSecret) as e:
                st.error(f"Not done: {e}")
            st.rerun(scope="fragment")
    row.download_button("Answers (CSV)", lambda: _export(qid, key), file_name=f"class_question_{qid}.csv",
                        mime="text/csv", icon=":material/download:", key="q_csv", on_click="ignore")
    st.markdown("**Students' link** (no teacher key: it cannot reveal or close):")
    st.code(share_link(), language=None, wrap_lines=True)
    if answers:
        with st.expander(f"Reasons ({sum(1 for a in answers if a.reason)})", icon=":material/forum:"):
            st.dataframe([{"nickname": a.nickname, "prediction": answer_text(spec, a.value), "reason": a.reason}
                          for a in answers], hide_index=True, key="q_reasons")


def open_question(spec: ClassQuestion):
    """Create the question in the store (its true answer computed now) and open its lesson as the teacher."""
    store().purge_expired()
    q, key = store().create_question(spec.slug, spec.kind, spec.prompt, spec.options or None, spec.true_answer(),
                                     lo=spec.lo, hi=spec.hi, log=spec.log)
    open_preset(spec.on, extra={QUESTION.key: q.id, TEACHER_KEY.key: key})
