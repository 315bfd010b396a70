"""Predict, then reveal: the ready questions (each built on a preset, its true answer computed by the engine and
equal to what its chart draws) and the lesson page's behaviour in AppTest (a student's view hides the charts until
the reveal, the teacher's key is needed for the panel, a database that cannot be reached leaves the lesson usable).
The store itself is tested in tests/test_question_store.py, the whole flow in a browser in
tests/browser/test_class_question_browser.py."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, assert_clean, charts

from explorer.architectures import contenders
from explorer.figures import summaries
from explorer.figures import vanishing as vf
from explorer.figures.prediction_figs import prediction_histogram, prediction_on_scale
from ui import compute, predict
from ui.class_questions import BY_SLUG_Q, QUESTIONS, answer_text
from ui.page_registry import LESSONS
from ui.question_store import StoreUnavailable, open_store


def test_at_least_six_questions_across_lessons_1_to_6_each_on_a_preset():
    assert len(QUESTIONS) >= 6 and len(BY_SLUG_Q) == len(QUESTIONS)
    pages = {q.on.page for q in QUESTIONS}
    assert pages <= {p.path for p in LESSONS[:6]} and len(pages) >= 5
    for q in QUESTIONS:
        assert q.kind in ("number", "choice") and q.prompt.endswith("?") and q.explain[0].isupper() and q.latex


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.slug)
def test_every_true_answer_is_computed_and_a_valid_prediction(q):
    v = q.true_answer()
    if q.kind == "choice":
        assert v in q.options
    else:
        assert np.isfinite(v) and q.lo <= v <= q.hi
    assert answer_text(q, v)


def test_values_are_written_as_the_charts_sentences_write_them():
    grow, lag = BY_SLUG_Q["explode-100"], BY_SLUG_Q["lag-1e-3"]
    assert [answer_text(grow, v) for v in (1000, 83.2, 1e12)] == ["1000×", "83.2×", "1.00e12×"]
    assert answer_text(lag, 25) == "25 steps" and answer_text(BY_SLUG_Q["copy-tbptt"], "no") == "no"


def test_true_answers_are_what_the_charts_draw():
    sc = BY_SLUG_Q["lag-1e-3"].scenario()
    jp, sp = compute.jacobians(sc)
    df = vf.jacobian_norms(jp, sp, linear=False)[1]
    lag = summaries.first_below(df["lag"], 10.0 ** df["log10_norm"], 1e-3)
    assert BY_SLUG_Q["lag-1e-3"].true_answer() == lag and f"below 1e-3 from lag {lag}" in summaries.jacobian_curve(df)
    d = compute.record(BY_SLUG_Q["fade-20"].scenario()).delta_norms
    assert BY_SLUG_Q["fade-20"].true_answer() == pytest.approx(d[-1] / d[0], rel=1e-12)
    k2s, cos, rel = compute.bias_sweep(BY_SLUG_Q["k2-1pct"].scenario())
    assert BY_SLUG_Q["k2-1pct"].true_answer() == k2s[np.argmax(rel < 0.01)]
    assert BY_SLUG_Q["survives-100"].options == tuple(c.name for c in contenders())
    ranked = compute.architectures(BY_SLUG_Q["survives-100"].scenario()).at_longest_lag()
    assert BY_SLUG_Q["survives-100"].true_answer() == max(ranked, key=ranked.get)
    assert BY_SLUG_Q["copy-tbptt"].true_answer() == "no"          # TBPTT(10, 10) never reaches 15 steps back


def test_copy_answer_follows_k2():
    """The copy question's answer is computed from the truncation, not typed: with k2 = 20 it would be yes."""
    from dataclasses import replace
    q = BY_SLUG_Q["copy-tbptt"]
    assert q.answer(replace(q.scenario(), k2=20)) == "yes" and q.answer(q.scenario()) == "no"


def test_the_histogram_marks_the_true_answer_without_colour_alone():
    fig, df = prediction_histogram(["yes", "no", "no"], kind="choice", options=("yes", "no"), truth="no")
    go.Figure(fig)                                                       # every property valid for plotly
    bar = fig["data"][0]
    assert list(df["predictions"]) == [1, 2] and bar["text"][1] == "2 · true answer"
    assert bar["marker"]["pattern"]["shape"] == ["", "/"]
    fig, df = prediction_histogram([3.0, 300.0, 5e4], kind="number", lo=1, hi=1e6, log=True, truth=280, unit="×")
    go.Figure(fig)
    assert fig["layout"]["xaxis"]["title"]["text"] == "prediction (×, log scale)"
    assert df["predictions"].sum() == 3 and fig["layout"]["annotations"][0]["text"] == "true: 280"
    assert fig["layout"]["shapes"][0]["x0"] == pytest.approx(np.log10(280))


def test_a_prediction_sits_on_the_answer_scale_and_no_prediction_draws_the_scale_alone():
    fig, df = prediction_on_scale(300.0, kind="number", lo=1, hi=1e6, log=True, unit="×")
    go.Figure(fig)
    you = fig["data"][-1]
    assert you["x"] == [pytest.approx(np.log10(300))] and you["text"] == ["you: 300"]
    assert fig["layout"]["xaxis"]["range"] == [0.0, 6.0] and fig["layout"]["xaxis"]["title"]["text"] == \
        "prediction (×, log scale)"
    fig, df = prediction_on_scale(5e9, kind="number", lo=1, hi=1e6, log=True)       # clipped onto the scale
    assert fig["data"][-1]["x"] == [pytest.approx(6.0)] and df["your_prediction"][0] == 5e9
    fig, _ = prediction_on_scale(None, kind="number", lo=0, hi=100)
    go.Figure(fig)                       # a trace even without a prediction: Streamlit refuses a figure with none
    assert [t["name"] for t in fig["data"]] == ["scale"]
    fig, df = prediction_on_scale("gru", kind="choice", options=("rnn", "lstm", "gru"))
    assert fig["data"][-1]["x"] == ["gru"] and list(df["your_prediction"]) == [False, False, True]
    fig, _ = prediction_on_scale(None, kind="choice", options=("rnn", "lstm"))
    assert [t["name"] for t in fig["data"]] == ["options"]


# ---- the lesson page with a question, in AppTest -------------------------------------------------------------

@pytest.fixture
def qstore(tmp_path, monkeypatch):
    monkeypatch.setenv("BPTT_DB_PATH", str(tmp_path / "questions.sqlite3"))
    monkeypatch.delenv("BPTT_DB_URL", raising=False)
    cached = predict.store                   # (a test may monkeypatch predict.store itself)
    cached.clear()
    yield open_store()
    cached.clear()


def opened(spec, key: str | None, qid: str, run=True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {**spec.on.url_params(), "q": qid, **({"qt": key} if key else {})}.items():
        at.query_params[k] = v
    at.switch_page(spec.on.page)
    return at.run() if run else at


def _create(store, spec):
    return store.create_question(spec.slug, spec.kind, spec.prompt, spec.options or None, spec.true_answer(),
                                 lo=spec.lo, hi=spec.hi, log=spec.log)


def test_a_student_sees_the_question_not_the_charts_until_the_reveal(qstore):
    spec = BY_SLUG_Q["lag-1e-3"]
    q, key = _create(qstore, spec)
    at = opened(spec, None, q.id)
    assert_clean(at)
    assert not charts(at) and any("when your teacher reveals" in i.value for i in at.info)
    assert any(spec.prompt in m.value for m in at.markdown)
    assert "25" not in " ".join(m.value for m in at.markdown)          # the true answer is not on the page
    qstore.set_state(q.id, key, "revealed")
    at = opened(spec, None, q.id)
    assert_clean(at)
    assert len(charts(at)) >= 4                                          # the lesson is back, with the histogram


def test_the_teacher_panel_needs_the_questions_key(qstore):
    spec = BY_SLUG_Q["copy-tbptt"]
    q, key = _create(qstore, spec)
    teacher = opened(spec, key, q.id)
    assert_clean(teacher)
    assert [b.label for b in teacher.button if b.label in ("Reveal", "Close")] == ["Reveal", "Close"]
    links = [c.value for c in teacher.code]                              # students' link, teacher mode's link
    assert any(f"q={q.id}" in c for c in links) and not any("qt=" in c or key in c for c in links)
    other, _ = _create(qstore, spec)
    wrong = opened(spec, key, other.id)                                  # a key of another question
    assert not [b for b in wrong.button if b.label == "Reveal"]
    assert any("does not belong to this question" in w.value for w in wrong.warning)
    teacher.button(key="q_Reveal").click().run()
    assert qstore.get(q.id).state == "revealed"


def test_an_unknown_or_expired_question_says_so_and_shows_the_lesson(qstore):
    spec = BY_SLUG_Q["lag-1e-3"]
    at = opened(spec, None, "nonexistent1")
    assert_clean(at)
    assert any("has ended" in i.value for i in at.info) and charts(at)


def test_a_database_that_cannot_be_reached_leaves_the_lesson_usable(qstore, monkeypatch):
    spec = BY_SLUG_Q["lag-1e-3"]
    q, key = _create(qstore, spec)

    class Down:
        def __getattr__(self, name):
            def fail(*a, **k):
                raise StoreUnavailable("the database at /x is locked by another program", "locked")
            return fail
    monkeypatch.setattr(predict, "store", lambda: Down())
    student = opened(spec, None, q.id)
    assert_clean(student)
    assert charts(student) and any("cannot be reached" in w.value for w in student.warning)
    teacher = opened(spec, key, q.id)
    assert not teacher.exception and any("database cannot be used" in e.value for e in teacher.error)


def test_answers_table_and_reasons_are_text(qstore):
    spec = BY_SLUG_Q["lag-1e-3"]
    q, key = _create(qstore, spec)
    qstore.submit(q.id, "student0001", 20, reason="<b>bold</b> =1+1", nickname="<i>x</i>")
    teacher = opened(spec, key, q.id)
    assert_clean(teacher)
    table = next(d.value for d in teacher.dataframe if "reason" in d.value)
    assert isinstance(table, pd.DataFrame) and table["reason"].iloc[0] == "<b>bold</b> =1+1"
    assert all("<b>" not in m.value for m in teacher.markdown)          # never rendered as HTML
