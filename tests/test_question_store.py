"""The classroom question store (ui/question_store.py) on both backends: SQLite always, PostgreSQL from
BPTT_TEST_PG_URL (scripts/test.sh installs, starts and sets it in CI; locally `BPTT_TEST_PG=1 bash scripts/test.sh`,
or set the URL yourself). Without the URL the PostgreSQL half skips locally and fails in CI (CI=true)."""
import csv
import hashlib
import io
import math
import multiprocessing
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import closing
from pathlib import Path

import pytest
from optional import needs

import ui.question_store as qs
from ui.question_store import (
    QuestionNotOpen,
    QuestionUnavailable,
    RateLimited,
    StoreUnavailable,
    WrongSecret,
    open_store,
)

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BPTT_TEST_PG_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SPAWN = multiprocessing.get_context("spawn")   # each worker a fresh interpreter, like a separate server process


def _pg_base_url() -> str:
    if not PG_URL:
        if IN_CI:
            pytest.fail("BPTT_TEST_PG_URL is required in CI: scripts/test.sh installs and starts PostgreSQL and sets "
                        "it when CI=true")
        pytest.skip("BPTT_TEST_PG_URL not set (BPTT_TEST_PG=1 bash scripts/test.sh starts a local PostgreSQL)")
    needs("psycopg")
    return PG_URL


def _with_schema(url: str, schema: str) -> str:
    """The URL with search_path set to `schema` (libpq's options parameter): each test gets empty tables."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + [("options", f"-c search_path={schema}")]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote)))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/questions.sqlite3"
        return
    base = _pg_base_url()
    psycopg = needs("psycopg")
    schema = "test_" + secrets.token_hex(6)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _with_schema(base, schema)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(url):
    s = open_store(url)
    yield s
    s.close()


@pytest.fixture
def pg_url():
    """PostgreSQL only (an empty schema of its own)."""
    base = _pg_base_url()
    psycopg = needs("psycopg")
    schema = "test_" + secrets.token_hex(6)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _with_schema(base, schema)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _rows(url: str, sql: str, params: tuple = ()) -> list:
    """Read the tables directly, past the store."""
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(url[len("sqlite://"):])) as conn:
            return conn.execute(sql, params).fetchall()
    psycopg = needs("psycopg")
    with psycopg.connect(url) as conn:
        return conn.execute(sql.replace("?", "%s"), params).fetchall()


def _number_question(store, **kw):
    args = dict(preset="lesson3-vanishing", kind="number", prompt="At which lag does the norm fall below 1e-3?",
                options=None, true_answer=37, lo=0, hi=1000)
    args.update(kw)
    return store.create_question(**args)


def _choice_question(store, **kw):
    args = dict(preset="lesson4-tbptt", kind="choice", prompt="Will TBPTT(10, 10) learn the copy task at lag 15?",
                options=["yes", "no", "only sometimes"], true_answer="no")
    args.update(kw)
    return store.create_question(**args)


def _sid(i: int) -> str:
    return f"student-{i:05d}"


# ------------------------------------------------------------------------------------------------ basics
def test_create_get_submit_and_resubmit(store):
    q, secret = _number_question(store)
    assert len(secret) >= 20 and q.state == "open" and qs.QUESTION_ID.fullmatch(q.id)
    got = store.get(q.id)
    assert got == q and got.true_answer == 37 and got.lo == 0 and got.hi == 1000 and not got.log
    assert store.get("nosuchquestion") is None and store.get("bad id!") is None and store.get(None) is None

    a = store.submit(q.id, _sid(1), 12, reason="short memory", nickname="Ann")
    assert (a.value, a.reason, a.nickname) == (12.0, "short memory", "Ann")
    b = store.submit(q.id, _sid(1), 40.5, reason="changed my mind")     # the same student: replaced, not added
    assert store.count(q.id) == 1
    [only] = store.answers(q.id)
    assert (only.value, only.reason, only.nickname, only.updated_at) == (40.5, "changed my mind", "", b.updated_at)

    c, _ = _choice_question(store)
    store.submit(c.id, _sid(1), "yes")
    store.submit(c.id, _sid(2), "no")
    assert [(x.student_id, x.value) for x in store.answers(c.id)] == [(_sid(1), "yes"), (_sid(2), "no")]
    assert store.count(q.id) == 1 and store.count(c.id) == 2 and store.count("nosuchquestion") == 0
    assert store.answers("nosuchquestion") == []
    # one student's own prediction, by lookup (what a student's page shows above the form)
    assert store.answer(q.id, _sid(1)) == only and store.answer(c.id, _sid(2)).value == "no"
    assert store.answer(q.id, _sid(2)) is None and store.answer("nosuchquestion", _sid(1)) is None
    assert store.answer(q.id, "bad id!") is None and store.answer(q.id, None) is None


def test_histograms(store):
    c, _ = _choice_question(store)
    for i, v in enumerate(["no", "no", "yes"]):
        store.submit(c.id, _sid(i), v)
    assert [(b.label, b.count) for b in store.histogram(c.id)] == [("yes", 1), ("no", 2), ("only sometimes", 0)]

    q, _ = _number_question(store, lo=0, hi=10)
    for i, v in enumerate([0, 0.99, 1, 5, 10, 10]):
        store.submit(q.id, _sid(i), v)
    bins = store.histogram(q.id, bins=10)
    assert [b.count for b in bins] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert bins[0].lo == 0 and bins[-1].hi == 10 and sum(b.count for b in bins) == store.count(q.id)

    g, _ = _number_question(store, lo=1e-6, hi=1, log=True, true_answer=1e-3)
    for i, v in enumerate([1e-6, 2e-6, 1e-3, 1]):
        store.submit(g.id, _sid(i), v)
    bins = store.histogram(g.id, bins=6)
    assert [b.count for b in bins] == [2, 0, 0, 1, 0, 1]
    assert math.isclose(bins[3].lo, 1e-3) and bins[-1].hi == 1
    with pytest.raises(ValueError, match="bins"):
        store.histogram(q.id, bins=0)
    with pytest.raises(QuestionUnavailable):
        store.histogram("nosuchquestion")


def test_create_question_checks_its_fields(store):
    for kw, field in [(dict(preset="Bad Slug"), "preset"), (dict(kind="essay"), "kind"), (dict(prompt=" "), "prompt"),
                      (dict(lo=5, hi=5), "lo, hi"), (dict(lo=float("nan")), "lo"), (dict(hi=math.inf), "hi"),
                      (dict(lo=0, log=True), "lo"), (dict(true_answer=math.nan), "true_answer"),
                      (dict(true_answer="37"), "true_answer"), (dict(options=["a"]), "options"),
                      (dict(ttl_hours=0), "ttl_hours"), (dict(ttl_hours=10 ** 6), "ttl_hours")]:
        with pytest.raises(ValueError, match=field):
            _number_question(store, **kw)
    for kw, field in [(dict(options=["yes"]), "options"), (dict(options=["a", "a"], true_answer="a"), "options"),
                      (dict(options=["a", ""], true_answer="a"), "options"), (dict(true_answer="maybe"), "true_answer"),
                      (dict(options=[str(i) for i in range(13)], true_answer="1"), "options")]:
        with pytest.raises(ValueError, match=field):
            _choice_question(store, **kw)
    assert _rows(store_url(store), "SELECT COUNT(*) FROM questions")[0][0] == 0


def store_url(store) -> str:
    b = store._b
    return f"sqlite://{b.path}" if store.backend == "SQLite" else b.url


# ------------------------------------------------------------------------------------------------ concurrency
def _submit_many(url, qid, students, offset, barrier, out):
    store = open_store(url)
    barrier.wait(timeout=120)
    errors = []
    for i in students:
        try:
            store.submit(qid, _sid(i), float(i) + offset, reason=f"round {offset}")
        except Exception as e:  # reported to the parent, which fails the test
            errors.append(repr(e))
    store.close()
    out.put((len(students) - len(errors), errors))


def _run_processes(target, args_per_process, timeout=180):
    out = SPAWN.Queue()
    barrier = SPAWN.Barrier(len(args_per_process))
    procs = [SPAWN.Process(target=target, args=(*args, barrier, out)) for args in args_per_process]
    for p in procs:
        p.start()
    results = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


def test_200_concurrent_submissions_from_8_processes(store, url):
    q, _ = _number_question(store)
    chunks = [list(range(k, 200, 8)) for k in range(8)]
    for offset in (0.0, 0.5):            # the second round: the same 200 students change their predictions
        results = _run_processes(_submit_many, [(url, q.id, chunk, offset) for chunk in chunks])
        assert [e for _, errs in results for e in errs] == []
        assert sum(n for n, _ in results) == 200
        rows = _rows(url, "SELECT student_id, value, reason FROM answers WHERE question_id = ?", (q.id,))
        assert len(rows) == 200 and len({r[0] for r in rows}) == 200
        assert sorted((r[0], float(r[1]), r[2]) for r in rows) == [(_sid(i), i + offset, f"round {offset}")
                                                                  for i in range(200)]
        assert store.count(q.id) == 200


def _open_at_once(url, barrier, out):
    barrier.wait(timeout=120)
    try:
        s = open_store(url)
        out.put((s.schema_version(), None))
        s.close()
    except Exception as e:
        out.put((None, repr(e)))


def test_8_processes_opening_a_new_database_at_once_migrate_it_once(url):
    results = _run_processes(_open_at_once, [(url,)] * 8)
    assert results == [(1, None)] * 8
    assert [r[0] for r in _rows(url, "SELECT version FROM schema_version")] == [1]


def test_threads_share_one_store(store):
    """Streamlit runs each session in its own thread, all with the one cached store."""
    q, _ = _choice_question(store)
    errors = []

    def work(k):
        for i in range(k, 200, 8):
            try:
                store.submit(q.id, _sid(i), ["yes", "no"][i % 2])
            except Exception as e:
                errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and store.count(q.id) == 200
    assert [b.count for b in store.histogram(q.id)] == [100, 100, 0]


def _submit_then_die(url, qid, conn):
    store = open_store(url)
    store.submit(qid, _sid(7), 123.0, reason="acknowledged")
    conn.send("acknowledged")
    os.kill(os.getpid(), signal.SIGKILL)   # no clean shutdown: the commit must already be durable


def test_an_acknowledged_prediction_survives_its_process_being_killed(store, url):
    q, _ = _number_question(store)
    parent, child = SPAWN.Pipe()
    p = SPAWN.Process(target=_submit_then_die, args=(url, q.id, child))
    p.start()
    assert parent.poll(60) and parent.recv() == "acknowledged"
    p.join(30)
    assert p.exitcode == -signal.SIGKILL
    with open_store(url) as fresh:
        [a] = fresh.answers(q.id)
    assert (a.student_id, a.value, a.reason) == (_sid(7), 123.0, "acknowledged")


# ------------------------------------------------------------------------------------------------ the teacher
def test_every_teacher_action_needs_the_questions_secret(store, url):
    q, secret = _choice_question(store)
    other_q, other_secret = _choice_question(store)
    store.submit(q.id, _sid(1), "yes")
    wrong = [None, "", secret[:-1], secret + "x", secret.upper() if secret.upper() != secret else "X" + secret,
             other_secret, 12345, _sid(1), q.id]
    for bad in wrong:
        for state in ("open", "closed", "revealed"):
            with pytest.raises(WrongSecret):
                store.set_state(q.id, bad, state)
        with pytest.raises(PermissionError):
            store.export_csv(q.id, bad)
        assert not store.verify_secret(q.id, bad)
    assert store.get(q.id).state == "open"
    with pytest.raises(QuestionUnavailable):
        store.set_state("nosuchquestion", secret, "revealed")

    assert store.verify_secret(q.id, secret) and store.verify_secret(other_q.id, other_secret)
    assert store.set_state(q.id, secret, "closed").state == "closed"
    assert store.set_state(q.id, secret, "revealed").state == "revealed"
    assert store.set_state(q.id, secret, "open").state == "open"       # reopen
    assert store.get(q.id).state == "open"
    with pytest.raises(ValueError, match="state"):
        store.set_state(q.id, secret, "deleted")
    assert "student_id" in store.export_csv(q.id, secret).splitlines()[0]

    # the secret is not stored, only its SHA-256
    stored = _rows(url, "SELECT * FROM questions WHERE id = ?", (q.id,))
    assert stored and not any(secret in str(cell) for cell in stored[0])
    [(h,)] = _rows(url, "SELECT secret_hash FROM questions WHERE id = ?", (q.id,))
    assert h == "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ bad input
def test_bad_values_are_refused_and_nothing_is_stored(store):
    q, _ = _number_question(store, lo=0, hi=100)
    for bad in [math.nan, math.inf, -math.inf, -0.5, 100.01, 1e308, True, "50", None, [50]]:
        with pytest.raises(ValueError, match="value"):
            store.submit(q.id, _sid(1), bad)
    c, _ = _choice_question(store)
    for bad in ["YES", "maybe", "", 1, None, "yes "]:
        with pytest.raises(ValueError, match="value"):
            store.submit(c.id, _sid(1), bad)
    for bad in ["short", "has space1", "x" * 65, "../../etc/passwd", "", None, 12345678, "émile-0001", "a;b=c-1234"]:
        with pytest.raises(ValueError, match="student_id"):
            store.submit(q.id, bad, 50)
    with pytest.raises(ValueError, match="reason"):
        store.submit(q.id, _sid(1), 50, reason="x" * 201)
    with pytest.raises(ValueError, match="reason"):
        store.submit(q.id, _sid(1), 50, reason=b"bytes")
    with pytest.raises(ValueError, match="nickname"):
        store.submit(q.id, _sid(1), 50, nickname="n" * 31)
    with pytest.raises(QuestionUnavailable, match="question_id"):
        store.submit("nosuchquestion", _sid(1), 50)
    with pytest.raises(QuestionUnavailable, match="question_id"):
        store.submit("'; DROP TABLE answers; --", _sid(1), 50)
    assert store.count(q.id) == 0 and store.count(c.id) == 0

    # the limits themselves are accepted; control and bidi characters become spaces
    a = store.submit(q.id, _sid(1), 100, reason="r" * 200, nickname="n" * 30)
    assert len(a.reason) == 200 and len(a.nickname) == 30
    a = store.submit(q.id, _sid(2), 0, reason="line one\nline\ttwo\x00\u202e!\x1b[31m", nickname="\u200bAnn\r\n")
    assert (a.reason, a.nickname) == ("line one line two ! [31m", "Ann")
    assert store.answers(q.id)[1].reason == a.reason


def test_html_in_reasons_is_stored_verbatim_and_the_csv_is_formula_safe(store, url):
    q, secret = _choice_question(store, options=["yes", "no", "-1"], true_answer="no")
    html = '<script>alert("x")</script> <b>bold</b> &amp; <img src=x onerror=alert(1)>'
    store.submit(q.id, _sid(1), "yes", reason=html, nickname="<i>Ann</i>")
    store.submit(q.id, _sid(2), "no", reason='=HYPERLINK("http://evil.example","click")', nickname="@SUM(A1)")
    store.submit(q.id, _sid(3), "-1", reason="+1+1", nickname="-2")
    store.submit(q.id, "-student-4", "no", reason="fine, = inside is harmless")

    assert _rows(url, "SELECT reason, nickname FROM answers WHERE student_id = ?", (_sid(1),)) == [
        (html, "<i>Ann</i>")]
    assert store.answers(q.id)[0].reason == html

    table = list(csv.reader(io.StringIO(store.export_csv(q.id, secret))))
    assert table[0] == ["question_id", "preset", "student_id", "nickname", "value", "reason", "updated_at_utc"]
    by_student = {row[2]: row for row in table[1:]}
    assert len(by_student) == 4
    assert by_student[_sid(1)][3:6] == ["<i>Ann</i>", "yes", html]
    assert by_student[_sid(2)][3:6] == ["'@SUM(A1)", "no", '\'=HYPERLINK("http://evil.example","click")']
    assert by_student[_sid(3)][3:6] == ["'-2", "'-1", "'+1+1"]
    assert by_student["'-student-4"][5] == "fine, = inside is harmless"
    assert not any(cell[:1] in ("=", "+", "-", "@") for row in table for cell in row)


def test_closed_revealed_and_expired_questions_take_no_predictions(store, url):
    q, secret = _number_question(store, ttl_hours=1)
    store.submit(q.id, _sid(1), 10)
    for state in ("closed", "revealed"):
        store.set_state(q.id, secret, state)
        with pytest.raises(QuestionNotOpen) as err:
            store.submit(q.id, _sid(1), 20)
        assert err.value.state == state and state in str(err.value)
        with pytest.raises(QuestionNotOpen):
            store.submit(q.id, _sid(2), 20)
    assert [a.value for a in store.answers(q.id)] == [10.0]
    store.set_state(q.id, secret, "open")
    store.submit(q.id, _sid(1), 20)
    assert [a.value for a in store.answers(q.id)] == [20.0]

    keep, _ = _number_question(store, ttl_hours=48)
    store.submit(keep.id, _sid(1), 1)
    real = store.clock
    store.clock = lambda: real() + 3601                 # an hour and a second later
    assert store.get(q.id) is None and store.get(keep.id) is not None
    with pytest.raises(QuestionUnavailable):
        store.submit(q.id, _sid(1), 30)
    with pytest.raises(QuestionUnavailable):
        store.set_state(q.id, secret, "revealed")
    with pytest.raises(QuestionUnavailable):
        store.export_csv(q.id, secret)
    assert store.answers(q.id) == []
    assert store.purge_expired() == 1
    assert _rows(url, "SELECT COUNT(*) FROM answers WHERE question_id = ?", (q.id,)) == [(0,)]
    assert _rows(url, "SELECT COUNT(*) FROM submission_counts WHERE question_id = ?", (q.id,)) == [(0,)]
    assert _rows(url, "SELECT id FROM questions") == [(keep.id,)]
    assert store.purge_expired() == 0
    assert store.purge_expired(now=real() + 49 * 3600) == 1
    assert _rows(url, "SELECT COUNT(*) FROM answers") == [(0,)]


def test_making_a_question_purges_expired_ones(store, url):
    old, _ = _number_question(store, ttl_hours=1)
    store.submit(old.id, _sid(1), 5)
    real = store.clock
    store.clock = lambda: real() + 7200
    new, _ = _choice_question(store)
    assert _rows(url, "SELECT id FROM questions") == [(new.id,)]
    assert _rows(url, "SELECT COUNT(*) FROM answers") == [(0,)]


def test_rate_limit(store):
    q, _ = _number_question(store)
    t0 = time.time()
    store.clock = lambda: t0
    for i in range(qs.RATE_LIMIT):
        store.submit(q.id, _sid(1), i)
    with pytest.raises(RateLimited) as err:
        store.submit(q.id, _sid(1), 999)
    assert 59 <= err.value.retry_after_s <= 60 and "student_id" in str(err.value)
    assert isinstance(err.value, ValueError)
    assert store.answers(q.id)[0].value == qs.RATE_LIMIT - 1        # the refused one changed nothing
    store.submit(q.id, _sid(2), 5)                                   # another student is not affected
    store.clock = lambda: t0 + 30
    with pytest.raises(RateLimited):                                  # refusals do not reset the window ...
        store.submit(q.id, _sid(1), 999)
    store.clock = lambda: t0 + qs.RATE_WINDOW_S + 0.1                 # ... the minute does
    store.submit(q.id, _sid(1), 42)
    assert {a.student_id: a.value for a in store.answers(q.id)} == {_sid(1): 42.0, _sid(2): 5.0}


# ------------------------------------------------------------------------------------------------ faults
def test_a_locked_sqlite_file_gives_a_clear_message_then_works(tmp_path):
    path = tmp_path / "questions.sqlite3"
    store = open_store(f"sqlite://{path}", busy_timeout_s=1.0)
    q, _ = _number_question(store)
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE questions SET prompt = prompt")
        assert open_store(f"sqlite://{path}", busy_timeout_s=1.0).get(q.id) == q   # readers are not blocked (WAL)
        t = time.monotonic()
        with pytest.raises(StoreUnavailable) as err:
            store.submit(q.id, _sid(1), 5)
        waited = time.monotonic() - t
        assert err.value.reason == "locked"
        assert "locked by another process" in str(err.value) and "Nothing was saved" in str(err.value)
        assert 0.8 <= waited <= 5.0, waited   # busy_timeout_s=1 (slack for a loaded CI machine)
        other.execute("ROLLBACK")
    assert store.submit(q.id, _sid(1), 5).value == 5.0
    assert store.count(q.id) == 1


def test_a_locked_postgres_table_gives_a_clear_message_then_works(pg_url):
    psycopg = needs("psycopg")
    store = open_store(pg_url, busy_timeout_s=1.0)
    q, _ = _number_question(store)
    with psycopg.connect(pg_url) as other:
        other.execute("LOCK TABLE answers IN ACCESS EXCLUSIVE MODE")
        t = time.monotonic()
        with pytest.raises(StoreUnavailable) as err:
            store.submit(q.id, _sid(1), 5)
        waited = time.monotonic() - t
        assert err.value.reason == "locked" and "locked by another session" in str(err.value)
        assert 0.8 <= waited <= 5.0, waited   # busy_timeout_s=1 (slack for a loaded CI machine)
        other.rollback()
    assert store.submit(q.id, _sid(1), 5).value == 5.0
    store.close()


def test_a_read_only_sqlite_database(tmp_path):
    path = tmp_path / "questions.sqlite3"
    q, _ = _number_question(open_store(f"sqlite://{path}"))
    ro = open_store(f"sqlite://{path}?mode=ro")
    assert ro.get(q.id) == q and ro.count(q.id) == 0
    with pytest.raises(StoreUnavailable) as err:
        ro.submit(q.id, _sid(1), 5)
    assert err.value.reason == "read-only" and "read-only" in str(err.value)
    with pytest.raises(StoreUnavailable):
        _number_question(ro)
    assert open_store(f"sqlite://{path}").count(q.id) == 0


def _as_unprivileged(fn):
    """fn() in a forked child that is not root when we are (root ignores file modes); returns what it returns."""
    if os.geteuid() != 0:
        return fn()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                           # the child: never returns into pytest
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out = repr(fn())
        except BaseException as e:
            out = repr(("child failed", repr(e)))
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r) as f:
        return eval(f.read())   # our own child's repr of a tuple of str


@pytest.mark.parametrize("folder_writable", [True, False])
def test_a_sqlite_file_without_write_permission(folder_writable):
    folder = Path(tempfile.mkdtemp(prefix="bptt-readonly-"))       # not under pytest's 0700 tmp dirs
    path = folder / "questions.sqlite3"
    try:
        q, _ = _number_question(open_store(f"sqlite://{path}"))
        path.chmod(0o444)
        folder.chmod(0o777 if folder_writable else 0o555)

        def attempt():
            try:
                store = open_store(f"sqlite://{path}")
            except StoreUnavailable as e:
                return ("open", e.reason, str(e))
            try:
                store.submit(q.id, _sid(1), 5)
            except StoreUnavailable as e:
                return ("submit", e.reason, str(e))
            return ("saved", "", "")
        where, reason, message = _as_unprivileged(attempt)
        assert where == ("submit" if folder_writable else "open")
        assert reason == "read-only" and "read-only" in message and "BPTT_DB_PATH" in message
    finally:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


def test_a_full_disk(tmp_path, monkeypatch):
    """SQLite's max_page_count makes the file full exactly as a full disk does (SQLITE_FULL)."""
    store = open_store(f"sqlite://{tmp_path}/questions.sqlite3")
    q, _ = _number_question(store)
    connect = store._b.connect

    def full_connect():
        conn = connect()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn
    monkeypatch.setattr(store._b, "connect", full_connect)
    with pytest.raises(StoreUnavailable) as err:
        for i in range(2000):
            store.submit(q.id, _sid(i), 5, reason="x" * 200)
    assert err.value.reason == "full" and "full" in str(err.value)
    saved = store.count(q.id)
    monkeypatch.undo()
    assert store.count(q.id) == saved and store.submit(q.id, _sid(99999), 5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_postgres_gives_a_clear_message(pg_url):
    needs("psycopg")
    port = _closed_port()
    t = time.monotonic()
    with pytest.raises(StoreUnavailable) as err:
        open_store(f"postgresql://bptt:secret-password@127.0.0.1:{port}/bptt_test")
    assert time.monotonic() - t < 10
    assert err.value.reason == "unreachable" and f"127.0.0.1:{port}" in str(err.value)
    assert "secret-password" not in str(err.value)

    store = open_store(pg_url)                         # reachable at first, then the server goes away
    q, _ = _number_question(store)
    store.close()
    store._b.url = f"postgresql://bptt:secret-password@127.0.0.1:{port}/bptt_test"
    with pytest.raises(StoreUnavailable) as err:
        store.submit(q.id, _sid(1), 5)
    assert err.value.reason == "unreachable" and "secret-password" not in str(err.value)


def test_a_dropped_postgres_connection_is_replaced(pg_url):
    psycopg = needs("psycopg")
    store = open_store(pg_url)
    q, _ = _number_question(store)
    assert store._b._idle, "a connection is kept for the next call"
    pids = [c.info.backend_pid for c in store._b._idle]
    with psycopg.connect(pg_url, autocommit=True) as admin:    # what a server restart does to idle connections
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    assert store.submit(q.id, _sid(1), 5).value == 5.0
    assert store.count(q.id) == 1
    store.close()


# ------------------------------------------------------------------------------------------------ schema, config
def test_migrations_are_recorded_and_a_second_open_is_a_no_op(store, url, monkeypatch):
    first = _rows(url, "SELECT version, applied_at FROM schema_version")
    assert [v for v, _ in first] == [1] and store.schema_version() == 1
    for name in ("questions", "answers", "submission_counts"):
        assert _rows(url, f"SELECT COUNT(*) FROM {name}") == [(0,)]
    again = open_store(url)
    assert again.migrate() == 1 and _rows(url, "SELECT version, applied_at FROM schema_version") == first
    again.close()

    monkeypatch.setattr(qs, "MIGRATIONS", qs.MIGRATIONS + [(2, ("CREATE TABLE extra_for_test (x INTEGER)",))])
    newer = open_store(url)
    assert newer.schema_version() == 2
    assert [v for (v,) in _rows(url, "SELECT version FROM schema_version ORDER BY version")] == [1, 2]
    assert _rows(url, "SELECT COUNT(*) FROM extra_for_test") == [(0,)]
    assert open_store(url).migrate() == 2
    assert len(_rows(url, "SELECT version FROM schema_version")) == 2
    newer.close()

    monkeypatch.undo()                                      # older code meets the newer schema
    with pytest.raises(StoreUnavailable) as err:
        open_store(url)
    assert err.value.reason == "schema" and "newer" in str(err.value)


def test_opening_an_up_to_date_sqlite_store_only_reads(tmp_path):
    path = tmp_path / "q.sqlite3"
    open_store(f"sqlite://{path}")
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("CREATE TABLE held (x)")
        assert open_store(f"sqlite://{path}", busy_timeout_s=0.2).schema_version() == 1
        other.execute("ROLLBACK")


def test_configuration_by_url_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("BPTT_DB_URL", raising=False)
    monkeypatch.delenv("BPTT_DB_PATH", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    default = open_store()
    assert default.backend == "SQLite" and default._b.path == str(tmp_path / "tmp/bptt-explorer/questions.sqlite3")
    assert Path(default._b.path).is_file()
    with closing(sqlite3.connect(default._b.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    monkeypatch.setenv("BPTT_DB_PATH", str(tmp_path / "by-path.sqlite3"))
    assert open_store()._b.path == str(tmp_path / "by-path.sqlite3")
    monkeypatch.setenv("BPTT_DB_URL", f"sqlite:///{tmp_path}/by-url.sqlite3")       # the URL wins over the path
    s = open_store()
    assert s._b.path == str(tmp_path / "by-url.sqlite3") and s.describe().startswith("SQLite ")
    assert open_store(f"sqlite:////{tmp_path}/four-slashes.sqlite3")._b.path == str(tmp_path / "four-slashes.sqlite3")
    for bad in ["mysql://x/y", "sqlite://", f"sqlite:///{tmp_path}/x?journal=off", f"sqlite:///{tmp_path}/x?mode=w",
                "just/a/path.sqlite3"]:
        with pytest.raises(ValueError, match="BPTT_DB_URL"):
            open_store(bad)
    with pytest.raises(StoreUnavailable) as err:
        open_store(f"sqlite:///{tmp_path}/missing/x.sqlite3?mode=ro")
    assert err.value.reason == "cannot open"
    (tmp_path / "not-a-db.sqlite3").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreUnavailable) as err:
        open_store(f"sqlite:///{tmp_path}/not-a-db.sqlite3")
    assert err.value.reason == "corrupt"


def test_postgres_url_and_description_hide_the_password(pg_url):
    store = open_store(pg_url)
    assert store.backend == "PostgreSQL" and store.describe().startswith("PostgreSQL ")
    password = urllib.parse.urlsplit(pg_url).password
    assert password and password not in store.describe()
    store.close()


def test_the_store_does_not_import_streamlit():
    code = "import sys, ui.question_store; print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
