"""Predict, then reveal, in a real browser: a teacher and three students in separate browser contexts. The
teacher opens a question from the classroom page; students open its link (without the teacher key), see the
question and not the charts, predict, and one changes their mind; the teacher's count follows live; the reveal
shows every student the charts, the class histogram and the true value; the CSV export holds every prediction."""
import base64
import csv
import io
import re

from test_browser import assert_no_problem, shot, wait_idle

from ui.class_questions import BY_SLUG_Q

Q = BY_SLUG_Q["lag-1e-3"]                     # a number question on lesson 3: the true answer is a lag


def open_as_teacher(page, server) -> str:
    """Open Q from the classroom page as its teacher; the students' link."""
    page.goto(f"{server}/Classroom")
    wait_idle(page)
    page.locator(f".st-key-question_{Q.slug} button").click()
    page.wait_for_url(re.compile(r"Vanishing_and_exploding\?.*q=.*qt="), timeout=60_000)
    wait_idle(page)
    link = page.locator("[data-testid=stCode]").filter(has_text="q=").last.inner_text().strip()
    assert "qt=" not in link and "q=" in link
    return link if link.startswith("http") else server + "/" + link.lstrip("/")


def student(browser, link, init_script: str | None = None):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    if init_script:
        ctx.add_init_script(init_script)
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.js_errors = errors
    pg.goto(link)
    wait_idle(pg)
    pg.get_by_text("Save my prediction").wait_for(timeout=30_000)        # its browser id has arrived
    try:
        pg.locator(".st-key-class_scale_mine .main-svg").first.wait_for(timeout=30_000)   # the answer's scale
    except Exception:
        shot(pg, "43-class-question-no-scale")
        raise
    return ctx, pg


def predict(pg, value, reason=""):
    box = pg.get_by_label(re.compile("Your prediction"))
    box.fill(str(value))
    if reason:
        pg.get_by_label("Why? (optional, one line)").fill(reason)
    pg.get_by_role("button", name="Save my prediction").click()
    try:
        pg.get_by_text(re.compile(rf"Saved: {value} steps")).wait_for(timeout=30_000)
    except Exception:
        shot(pg, "42-class-question-not-saved")
        raise


def teacher_count(pg) -> int:
    text = pg.locator(".st-key-class_question").inner_text()
    return int(re.search(r"(\d+) predictions?\b", text).group(1))


def test_a_teacher_and_three_students_predict_then_reveal(server, page, browser):
    true = Q.true_answer()
    page.goto(f"{server}/Classroom")
    wait_idle(page)
    page.locator(f".st-key-question_{Q.slug} button").click()
    page.wait_for_url(re.compile(r"Vanishing_and_exploding\?.*q=.*qt="), timeout=60_000)
    wait_idle(page)
    assert_no_problem(page)
    link = page.locator("[data-testid=stCode]").filter(has_text="q=").last.inner_text().strip()
    assert "qt=" not in link and "q=" in link
    if not link.startswith("http"):
        link = server + "/" + link.lstrip("/")
    assert teacher_count(page) == 0
    students = [student(browser, link) for _ in range(3)]
    for _, pg in students:                                               # the question, not the charts
        assert pg.get_by_text(Q.prompt).count() == 1
        # no lesson chart: only the answer's scale in the question box (so the chart code loads before the reveal)
        assert pg.get_by_test_id("stPlotlyChart").count() == 1 and pg.locator(".bptt-scrub").count() == 0
        assert pg.locator(".st-key-class_scale_mine .js-plotly-plot").count() == 1
        assert pg.locator(".st-key-class_scale_mine .chart-summary").inner_text().startswith("No prediction yet")
        assert pg.get_by_role("button", name="Reveal").count() == 0
        # the scripts of the lesson's element kinds are fetched now, while the class answers, not all at the reveal
        fetched = pg.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
        for chunk in ("PlotlyChart", "DataFrame", "rehype-katex", "StreamlitSyntaxHighlighter"):
            assert any(f"/{chunk}." in u for u in fetched), (chunk, " ".join(u.split("/")[-1] for u in fetched if "/static/js/" in u))
    for (_, pg), v in zip(students, (10, 30, 60)):
        predict(pg, v, reason="<b>html?</b>" if v == 10 else "")
    predict(students[2][1], 40)                                          # a change of mind: still one row
    scale = students[2][1].locator(".st-key-class_scale_mine")            # the saved value, not the one before
    assert scale.locator(".chart-summary").inner_text().startswith("Your prediction, 40 steps,")
    assert scale.locator(".js-plotly-plot").evaluate("gd => gd.data.map(t => t.name)") == ["scale", "your prediction"]
    assert scale.locator(".textpoint text").text_content() == "you: 40"      # drawn by the browser, not only in the dict
    shot(students[2][1], "39-class-question-student-saved")
    page.wait_for_function("() => /\\b3 predictions\\b/.test(document.querySelector('.st-key-class_question')"
                           ".innerText)", timeout=30_000)               # the teacher's count, live
    shot(page, "40-class-question-teacher")
    with page.expect_download() as d:
        page.get_by_role("button", name="Answers (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(d.value.path().read_text())))
    assert sorted(float(r["value"]) for r in rows) == [10, 30, 40] and len(rows) == 3
    assert any(r["reason"] == "<b>html?</b>" for r in rows)
    page.get_by_role("button", name="Reveal").click()
    for _, pg in students:                                               # each student's page follows by itself
        pg.get_by_text(re.compile(r"^Revealed:")).wait_for(timeout=30_000)
        wait_idle(pg)
        assert pg.get_by_test_id("stPlotlyChart").count() >= 5           # the lesson's charts and the histogram
        summary = pg.locator(".st-key-class_question .chart-summary").inner_text()
        assert summary.startswith("3 predictions") and f"The true answer is {int(true)} steps" in summary
        notes = pg.locator(".st-key-class_question .js-plotly-plot").evaluate(
            "gd => gd.layout.annotations.map(a => a.text)")
        assert notes == [f"true: {true:.3g}"], notes                     # the true value drawn on the histogram
        assert pg.locator("b", has_text="html?").count() == 0
        assert_no_problem(pg)
        assert not pg.js_errors, pg.js_errors
    shot(students[0][1], "41-class-question-revealed")
    for ctx, _ in students:
        ctx.close()



# Keeps every message the server sends the page (the protobuf bytes, base64), for the test below to decode.
RECORD_FORWARD_MSGS = r"""(() => {
  const Native = window.WebSocket;
  window.__in = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes('_stcore/stream')) return;
      this.addEventListener('message', (ev) => {
        if (ev.data instanceof ArrayBuffer && ev.data.byteLength < 20000)
          window.__in.push(btoa(String.fromCharCode(...new Uint8Array(ev.data))));
      });
    }
  };
})();"""


def fragment_places(pg) -> set[tuple[str, tuple[int, ...]]]:
    """(fragment id, delta path) of every fragment block the server has drawn on the page."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    places = set()
    for b64 in pg.evaluate("window.__in"):
        m = ForwardMsg()
        m.ParseFromString(base64.b64decode(b64))
        if m.WhichOneof("type") == "delta" and m.delta.fragment_id and m.delta.WhichOneof("type") == "add_block":
            places.add((m.delta.fragment_id, tuple(m.metadata.delta_path)))
    return places


def test_the_reveal_watch_keeps_its_place_whatever_the_panel_draws(server, page, browser):
    """A student's page watches for the reveal with a timer fragment. A timer run that was queued before a full run
    (a save) is applied at the place the fragment had before that run: when the panel above it drew one element
    more or less (the "Saved" box, "Connecting…"), that place held the "Saved" box or the form, and the timer's run
    replaced it (on a busy server, 2 to 5 of 16 pages saving at once: benchmarks/probe_class_saves.py). So the
    fragment must have one place, and one id, in every state of the panel."""
    link = open_as_teacher(page, server)
    ctx, pg = student(browser, link, RECORD_FORWARD_MSGS)
    pg.get_by_role("button", name="Save my prediction").click()     # nothing chosen: a warning instead
    pg.get_by_text("Choose or type a prediction first.").wait_for(timeout=30_000)
    for value in (25, 35):                                            # a save, and a change of mind
        pg.get_by_label(re.compile("Your prediction")).fill(str(value))
        pg.get_by_role("button", name="Save my prediction").click()
        saved = pg.get_by_text(re.compile(rf"Saved: {value} steps"))
        saved.wait_for(timeout=30_000)
        pg.wait_for_timeout(3_500)                                    # one tick of the timer at least
        assert saved.count() == 1 and pg.get_by_role("button", name="Save my prediction").count() == 1
    places = fragment_places(pg)
    assert len(places) == 1, places
    ctx.close()


# Drops the end of one full run as the Streamlit race does under load: a timer's fragment run that starts as a full
# run finishes takes its place, and the full run's last messages (its end, and the message that restarts the
# reveal watch's timer among them) never reach the page; the fragment run's do. Once armed, the next message that
# holds the text window.__cutAfter passes, every later one of that run is dropped, and in place of its end the page
# gets the messages of its last timer run again. The page is left as the race leaves it: idle, half of the new run
# drawn over the last one, and no timer.
CUT_A_RUN = r"""(() => {
  const Native = window.WebSocket;
  window.__cut = null; window.__dropped = 0; window.__sent = 0; window.__replayed = 0;
  const fields = (b) => { let i = 0; const out = [];
    const varint = () => { let x = 0, sh = 0, c; do { c = b[i++]; x += (c & 0x7f) * 2 ** sh; sh += 7; } while (c & 0x80); return x; };
    while (i < b.length && out.length < 4) { const tag = varint(), f = Math.floor(tag / 8), w = tag % 8;
      if (w === 0) varint(); else if (w === 2) { const n = varint(); i += n; } else if (w === 1) i += 8; else if (w === 5) i += 4; else break;
      out.push(f); }
    return out; };
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.__stream = String(url).includes('_stcore/stream');
      this.__handlers = []; this.__run = [];            // the messages since the page last sent one: its last run
      if (!this.__stream) return;
      const send = this.send.bind(this);
      this.send = (data) => { send(data); if (!window.__cut) { this.__run = []; window.__sent += 1; } };
    }
    __drop(ev) {
      if (!(ev.data instanceof ArrayBuffer)) return false;
      const b = new Uint8Array(ev.data);
      if (!window.__cut) { this.__run.push(ev.data); return false; }
      if (window.__cut === 'armed') {
        if (new TextDecoder('latin1').decode(b).includes(window.__cutAfter)) window.__cut = 'cutting';
        return false;
      }
      window.__dropped += 1;
      if (fields(b).includes(6)) {                     // the run's end (ForwardMsg.script_finished): the timer run's instead
        const replay = this.__run;
        window.__cut = 'replaying';
        setTimeout(() => {
          for (const data of replay) for (const fn of this.__handlers) fn.call(this, new MessageEvent('message', {data}));
          window.__replayed = replay.length; window.__cut = null;
        }, 0);
      }
      return true;
    }
    addEventListener(type, fn, opts) {
      if (type !== 'message' || !this.__stream) return super.addEventListener(type, fn, opts);
      this.__handlers.push(fn);
      return super.addEventListener(type, (ev) => { if (!this.__drop(ev)) fn.call(this, ev); }, opts);
    }
    set onmessage(fn) {
      if (this.__stream && fn) this.__handlers.push(fn);
      super.onmessage = this.__stream && fn ? (ev) => { if (!this.__drop(ev)) fn.call(this, ev); } : fn;
    }
    get onmessage() { return super.onmessage; }
  };
})();"""


def test_a_page_whose_run_lost_its_end_asks_for_it_again(server, page, browser):
    """The end of a save's run is lost (CUT_A_RUN), once early (the whole panel) and once after the student-id
    component (the form): the page notices within seconds that its last run has a start and no end, and asks for
    the run again; the panel comes back whole, with the saved prediction."""
    link = open_as_teacher(page, server)
    ctx, pg = student(browser, link, CUT_A_RUN)
    # cut after the run's start mark (the whole panel lost), then after the student-id component (the form lost)
    for value, after in ((25, "bptt-run-start-"), (35, "bptt_student_id")):
        sent = pg.evaluate("window.__sent")
        pg.wait_for_function(f"window.__sent > {sent}", timeout=15_000)   # the timer has sent: its message is last
        pg.get_by_label(re.compile("Your prediction")).fill(str(value))
        pg.evaluate(f"window.__cutAfter = {after!r}; window.__cut = 'armed'; window.__dropped = window.__replayed = 0")
        pg.get_by_role("button", name="Save my prediction").click()
        pg.wait_for_function("window.__cut === null && window.__dropped > 0 && window.__replayed > 0",
                             timeout=30_000)                          # the save's run, cut
        marks = pg.evaluate("() => [...document.querySelectorAll('.bptt-run-start, .bptt-run-end')].map(e => e.className)"
                            " + ' ' + [window.__dropped, window.__replayed, window.__sent]")
        start = re.search(r"bptt-run-start-(\d+)", marks).group(1)
        assert f"bptt-run-end-{start}" not in marks, marks                # a start without its end
        try:   # its browser notices within seconds and asks for the run again: the panel is whole, with the save
            pg.get_by_text(re.compile(rf"Your prediction:\s*{value} steps")).wait_for(timeout=20_000)
            pg.get_by_role("button", name="Save my prediction").wait_for(timeout=5_000)
        except Exception:
            shot(pg, "45-class-question-run-cut")
            raise
        wait_idle(pg)
    assert pg.locator(".bptt-run-end").count() == 1
    ctx.close()
