"""The store for classroom "predict, then reveal" questions: what the teacher asks, what each student predicts.

Plain SQL through the DB-API, one code path for both backends (no ORM: four small tables read more directly as
SQL than through a mapping layer, sqlite3 ships with Python, and nothing beyond psycopg is needed). The SQL is written once with `?` placeholders and
portable types (TEXT, INTEGER, DOUBLE PRECISION, ON CONFLICT upserts, RETURNING); the PostgreSQL backend only
swaps `?` for `%s`. No Streamlit here: usable from a notebook, a test or a script.

Where the data lives (`open_store(url=None)`):
- `url`, else the environment variable BPTT_DB_URL: `sqlite:///ABSOLUTE/PATH` (optionally `?mode=ro`) or
  `postgresql://user:password@host:port/dbname` (psycopg 3, imported only then);
- else SQLite at BPTT_DB_PATH, else at `<system temp dir>/bptt-explorer/questions.sqlite3`.

SQLite (the default; every server process on one machine shares the file): WAL mode (readers never wait for the
writer), synchronous=FULL (a commit is on disk before `submit` returns), busy_timeout (a writer waits that long for
another process's lock, then StoreUnavailable), one connection per call (safe from Streamlit's threads and from
several processes). Each write is one `BEGIN IMMEDIATE` transaction, so it takes the write lock up front and can
never fail half-way with a lock upgrade. PostgreSQL (several machines): a few idle connections kept per store
object (no extra pool dependency), lock_timeout = the same busy timeout, the question row read `FOR SHARE` by a
submission so a concurrent close/reveal waits for it; a pooled connection the server dropped is replaced once.

Schema (MIGRATIONS, applied in order on open, recorded in schema_version; a second open only reads the version;
two processes opening at once are serialised by SQLite's write lock / a PostgreSQL advisory lock):
- questions: id (secrets.token_urlsafe(8)), preset, kind ('number' | 'choice'), prompt, options (JSON list),
  lo/hi/log_scale (number questions), true_answer (JSON, computed by the caller), state ('open' | 'closed' |
  'revealed'), secret_hash ('sha256:<hex>', never the secret), created_at, expires_at (unix seconds);
- answers: PRIMARY KEY (question_id, student_id): one prediction per student; a resubmission while the question
  is open replaces it. value (JSON), reason, nickname (cleaned text, stored verbatim: never HTML-interpreted),
  updated_at;
- submission_counts: per (question, student) a fixed one-minute window and its count, for the rate limit (in the
  store, so it holds across server processes).

Errors: StoreUnavailable (locked, read-only, disk full, unreachable; `.reason` says which, the message says what
to do; nothing was written); ValueError naming the field for bad input, with the subclasses QuestionUnavailable
(no such question, or expired), QuestionNotOpen and RateLimited; WrongSecret (a PermissionError) for a teacher
action without the question's secret.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import hashlib
import hmac
import io
import json
import math
import numbers
import os
import re
import secrets
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

KINDS = ("number", "choice")
STATES = ("open", "closed", "revealed")
RATE_LIMIT = 10                 # submissions per student per question ...
RATE_WINDOW_S = 60.0            # ... per window
MAX_REASON = 200
MAX_NICKNAME = 30
MAX_PROMPT = 500
MAX_OPTION = 80
MAX_OPTIONS = 12
MAX_TTL_HOURS = 24 * 31
BUSY_TIMEOUT_S = 5.0
PG_IDLE_CONNECTIONS = 4
_PG_MIGRATION_LOCK = 0x42505454  # "BPTT": the advisory lock key that serialises migrations

STUDENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
QUESTION_ID = re.compile(r"[A-Za-z0-9_-]{6,64}")
PRESET = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# C0/C1 controls, zero-width space, LRM/RLM, bidi embeddings/overrides/isolates, BOM (ZWJ/ZWNJ stay: emoji need them)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (1, (
        """CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            preset TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('number', 'choice')),
            prompt TEXT NOT NULL,
            options TEXT NOT NULL,
            lo DOUBLE PRECISION,
            hi DOUBLE PRECISION,
            log_scale INTEGER NOT NULL DEFAULT 0,
            true_answer TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'revealed')),
            secret_hash TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX questions_expires_at ON questions (expires_at)",
        """CREATE TABLE answers (
            question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
            student_id TEXT NOT NULL,
            value TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            nickname TEXT NOT NULL DEFAULT '',
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (question_id, student_id))""",
        """CREATE TABLE submission_counts (
            question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
            student_id TEXT NOT NULL,
            window_start DOUBLE PRECISION NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (question_id, student_id))""",
    )),
]


# ---------------------------------------------------------------------------------------------------- errors
class StoreUnavailable(Exception):
    """The database cannot be used right now. Nothing was written by the call that raised it. `reason` is one of
    'locked', 'read-only', 'full', 'cannot open', 'unreachable', 'corrupt', 'schema', 'error'."""

    def __init__(self, message: str, reason: str = "error"):
        super().__init__(message)
        self.reason = reason


class QuestionUnavailable(ValueError):
    """No such question, or it has expired."""


class QuestionNotOpen(ValueError):
    """The question exists but takes no predictions now (closed or revealed)."""

    def __init__(self, message: str, state: str):
        super().__init__(message)
        self.state = state


class RateLimited(ValueError):
    """Too many submissions from one student to one question in the current window."""

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class WrongSecret(PermissionError):
    """A teacher action without the question's teacher secret."""


# ---------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Question:
    id: str
    preset: str
    kind: str                      # "number" | "choice"
    prompt: str
    options: tuple[str, ...]       # the choices; () for a number question
    lo: float | None               # number questions: the accepted range [lo, hi]
    hi: float | None
    log: bool                      # number questions: the scale is logarithmic
    true_answer: Any               # as the caller computed it (JSON round trip); the UI shows it only once revealed
    state: str                     # "open" | "closed" | "revealed"
    created_at: float              # unix seconds
    expires_at: float


@dataclass(frozen=True)
class Answer:
    question_id: str
    student_id: str
    value: float | str             # a float for number questions, the option for choice questions
    reason: str
    nickname: str
    updated_at: float


@dataclass(frozen=True)
class Bin:
    label: str                     # the option, or the range "lo–hi"
    lo: float | None               # number questions: the bin's edges (the last bin includes hi)
    hi: float | None
    count: int


# ---------------------------------------------------------------------------------------------------- backends
class _Tx:
    """One transaction's statements: SQL written with `?` (so no literal ? or % in it), rows as tuples."""

    def __init__(self, conn, param: str):
        self._conn, self._param = conn, param

    def execute(self, sql: str, params: tuple = ()):
        if self._param != "?":
            sql = sql.replace("?", self._param)
        return self._conn.execute(sql, params)

    def one(self, sql: str, params: tuple = ()):
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list:
        return self.execute(sql, params).fetchall()


class _SQLite:
    name = "SQLite"
    guard_suffix = ""   # BEGIN IMMEDIATE already holds the write lock for the whole transaction
    table_exists_sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"

    def __init__(self, path: str, mode: str | None, busy_timeout_s: float):
        self.path, self.mode, self.busy_timeout_s = path, mode, busy_timeout_s

    def describe(self) -> str:
        return f"SQLite {self.path}" + (f" (mode={self.mode})" if self.mode else "")

    def connect(self) -> sqlite3.Connection:
        uri = "file:" + urllib.parse.quote(self.path) + (f"?mode={self.mode}" if self.mode else "")
        conn = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def prepare(self) -> None:
        if self.mode != "ro":
            try:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            except OSError as e:
                raise StoreUnavailable(f"cannot create the folder for the question store ({self.path}): "
                                       f"{e.strerror}. Set BPTT_DB_PATH to a writable place.", "cannot open") from e

        # WAL is persistent in the file. Switching to it needs the file to itself, and SQLite answers SQLITE_BUSY
        # at once (no busy handler) when another process has it open, e.g. several servers starting together.
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                self.run(lambda tx: tx.one("PRAGMA journal_mode = WAL"), write=False, begin=False)
                return
            except StoreUnavailable as e:
                if e.reason != "locked" or time.monotonic() > deadline:
                    raise
                time.sleep(0.01 + 0.04 * secrets.randbelow(100) / 100)

    def migration_lock(self, tx: _Tx) -> None:
        pass

    def run(self, fn: Callable[[_Tx], Any], write: bool, begin: bool = True):
        conn = None
        try:
            conn = self.connect()
            if begin:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                out = fn(_Tx(conn, "?"))
                if begin:
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return out
        except sqlite3.DatabaseError as e:
            mapped = self.unavailable(e)
            if mapped is None:
                raise
            raise mapped from e
        finally:
            if conn is not None:
                conn.close()

    def unavailable(self, e: sqlite3.DatabaseError) -> StoreUnavailable | None:
        if not (isinstance(e, sqlite3.OperationalError) or type(e) is sqlite3.DatabaseError):
            return None        # integrity/programming errors are bugs: let them show
        code = getattr(e, "sqlite_errorname", "") or ""
        msg = str(e)
        where = f"the question store ({self.path})"
        if code.startswith("SQLITE_BUSY") or code.startswith("SQLITE_LOCKED") or "locked" in msg:
            return StoreUnavailable(f"{where} is locked by another process (waited {self.busy_timeout_s:g} s). "
                                    "Nothing was saved: try again in a moment.", "locked")
        if code.startswith("SQLITE_READONLY") or "readonly" in msg or "read-only" in msg:
            return StoreUnavailable(f"{where} is read-only: predictions cannot be saved. Make the file and its "
                                    "folder writable for the server, or set BPTT_DB_PATH to a writable file.",
                                    "read-only")
        if code.startswith("SQLITE_FULL") or "full" in msg:
            return StoreUnavailable(f"the disk holding {where} is full: predictions cannot be saved. Free some "
                                    "space, or set BPTT_DB_PATH to another disk.", "full")
        if code.startswith("SQLITE_CANTOPEN") or "unable to open" in msg:
            return StoreUnavailable(f"cannot open {where}: its folder is missing or not accessible to the server. "
                                    "Set BPTT_DB_PATH to a file the server can write.", "cannot open")
        if code.startswith("SQLITE_NOTADB") or code.startswith("SQLITE_CORRUPT") or type(e) is sqlite3.DatabaseError:
            return StoreUnavailable(f"{where} is not a valid database ({msg}). Move it aside or set BPTT_DB_PATH "
                                    "to a new file.", "corrupt")
        return StoreUnavailable(f"{where} failed: {msg}.", "error")


class _Postgres:
    name = "PostgreSQL"
    guard_suffix = " FOR SHARE"   # a close/reveal waits until a submission that saw 'open' has committed
    table_exists_sql = ("SELECT COUNT(*) FROM information_schema.tables "
                        "WHERE table_schema = current_schema() AND table_name = ?")

    def __init__(self, url: str, busy_timeout_s: float):
        import psycopg  # only when PostgreSQL is configured
        from psycopg.conninfo import conninfo_to_dict

        self._psycopg = psycopg
        self.url, self.busy_timeout_s = url, busy_timeout_s
        info = conninfo_to_dict(url)
        self._where = "{}@{}:{}/{}".format(info.get("user", "?"), info.get("host", "localhost"),
                                          info.get("port", 5432), info.get("dbname", "?"))
        self._connect_kw = {} if "connect_timeout" in info else {"connect_timeout": max(1, round(busy_timeout_s))}
        self._idle: list = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def describe(self) -> str:
        return f"PostgreSQL {self._where}"     # never the password

    def connect(self):
        conn = self._psycopg.connect(self.url, autocommit=True, **self._connect_kw)
        try:
            ms = f"{int(self.busy_timeout_s * 1000)}ms"
            conn.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                         (ms, "30s"))
        except BaseException:
            conn.close()
            raise
        return conn

    def prepare(self) -> None:
        pass

    def migration_lock(self, tx: _Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))

    def _get(self):
        with self._lock:
            if os.getpid() != self._pid:       # a forked child must not use (or close) the parent's sockets
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop(), True
        return self.connect(), False

    def _put(self, conn) -> None:
        ok = (not conn.closed and not conn.broken
              and conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE)
        with self._lock:
            if ok and os.getpid() == self._pid and len(self._idle) < PG_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def run(self, fn: Callable[[_Tx], Any], write: bool):
        pg = self._psycopg
        for attempt in (0, 1):
            reused = False
            try:
                conn, reused = self._get()
                try:
                    with conn.transaction():
                        out = fn(_Tx(conn, "%s"))
                finally:
                    self._put(conn)
                return out
            except (pg.OperationalError, pg.errors.ReadOnlySqlTransaction) as e:
                if attempt == 0 and reused and conn.broken:    # the server dropped an idle connection: once more
                    self.close()
                    continue
                raise self.unavailable(e) from e
        raise AssertionError("unreachable")

    def unavailable(self, e) -> StoreUnavailable:
        state = getattr(e, "sqlstate", None) or ""
        first = (str(e).strip().splitlines() or [""])[0]
        where = f"the question store (PostgreSQL {self._where})"
        if state in ("55P03", "40P01"):
            return StoreUnavailable(f"{where} is locked by another session (waited {self.busy_timeout_s:g} s). "
                                    "Nothing was saved: try again in a moment.", "locked")
        if state == "25006":
            return StoreUnavailable(f"{where} is read-only (a standby, or a read-only transaction): predictions "
                                    "cannot be saved. Point BPTT_DB_URL at the primary.", "read-only")
        if state.startswith("53"):
            return StoreUnavailable(f"{where} is out of disk or memory ({first}): predictions cannot be saved.",
                                    "full")
        if not state or state.startswith("08") or state.startswith("57P"):
            return StoreUnavailable(f"{where} is unreachable ({first}). Check that the server runs and that "
                                    "BPTT_DB_URL is right; nothing was saved.", "unreachable")
        return StoreUnavailable(f"{where} failed: {first}.", "error")


# ---------------------------------------------------------------------------------------------------- config
def default_sqlite_path() -> str:
    return os.environ.get("BPTT_DB_PATH") or os.path.join(tempfile.gettempdir(), "bptt-explorer",
                                                          "questions.sqlite3")


def open_store(url: str | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> QuestionStore:
    """Open (and migrate) the store named by `url`, else BPTT_DB_URL, else SQLite at BPTT_DB_PATH or the default
    path (module docstring). Raises StoreUnavailable when it cannot be opened, ValueError for a malformed URL."""
    url = url or os.environ.get("BPTT_DB_URL") or ""
    if not url:
        backend: _SQLite | _Postgres = _SQLite(default_sqlite_path(), None, busy_timeout_s)
    else:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "sqlite":
            parts = urllib.parse.urlsplit(url)
            path = urllib.parse.unquote(parts.netloc + parts.path)
            if path.startswith("/"):
                path = "/" + path.lstrip("/")     # sqlite:///abs and SQLAlchemy's sqlite:////abs: the same file
            query = urllib.parse.parse_qs(parts.query)
            mode = query.pop("mode", [None])[0]
            if not path or query or mode not in (None, "ro", "rw", "rwc"):
                raise ValueError(f"BPTT_DB_URL: expected sqlite:///ABSOLUTE/PATH[?mode=ro|rw|rwc], got {url!r}")
            backend = _SQLite(path, mode, busy_timeout_s)
        elif scheme in ("postgresql", "postgres"):
            backend = _Postgres(url, busy_timeout_s)
        else:
            raise ValueError("BPTT_DB_URL: expected sqlite:///PATH or postgresql://user:password@host:port/db, got "
                             f"a URL starting with {scheme!r}")
    store = QuestionStore(backend)
    store.migrate()
    return store


# ---------------------------------------------------------------------------------------------------- helpers
def _hash_secret(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def clean_text(text: Any, field: str, max_len: int) -> str:
    """One line of plain text: control and bidi characters become spaces, runs of white space one space. Refuses
    (ValueError naming the field) what is not text or is longer than max_len. Markup is kept as typed."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError(f"{field}: text expected, got {type(text).__name__}")
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > max_len:
        raise ValueError(f"{field}: at most {max_len} characters (got {len(text)})")
    return text


def _finite(x: Any, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{field}: a number expected, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{field}: a finite number expected, got {v}")
    return v


def _cell(x: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or tab/CR) gets a leading apostrophe."""
    if isinstance(x, str) and x.startswith(_FORMULA_START):
        return "'" + x
    return x


def _utc(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="seconds")


_Q_COLUMNS = ("id, preset, kind, prompt, options, lo, hi, log_scale, true_answer, state, created_at, expires_at, "
              "secret_hash")


def _question(row) -> Question:
    return Question(id=row[0], preset=row[1], kind=row[2], prompt=row[3], options=tuple(json.loads(row[4])),
                    lo=row[5], hi=row[6], log=bool(row[7]), true_answer=json.loads(row[8]), state=row[9],
                    created_at=row[10], expires_at=row[11])


# ---------------------------------------------------------------------------------------------------- the store
class QuestionStore:
    """Questions and predictions in SQLite or PostgreSQL (open it with open_store). Thread-safe; each process
    opens its own. `clock` (unix seconds) can be replaced in tests."""

    def __init__(self, backend: _SQLite | _Postgres):
        self._b = backend
        self.clock: Callable[[], float] = time.time

    @property
    def backend(self) -> str:
        return self._b.name

    def describe(self) -> str:
        """Which database, for a message to the teacher (no password)."""
        return self._b.describe()

    def close(self) -> None:
        if isinstance(self._b, _Postgres):
            self._b.close()

    def __enter__(self) -> QuestionStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema
    def schema_version(self) -> int:
        def current(tx: _Tx) -> int:
            if not tx.one(self._b.table_exists_sql, ("schema_version",))[0]:
                return 0
            return int(tx.one("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0])
        return self._b.run(current, write=False)

    def migrate(self) -> int:
        """Apply the migrations this database lacks, in order; returns the schema version. A database already up
        to date is only read. Concurrent openers are serialised (SQLite write lock / PostgreSQL advisory lock)."""
        latest = MIGRATIONS[-1][0]
        self._b.prepare()
        have = self.schema_version()
        if have < latest:
            def apply(tx: _Tx) -> int:
                self._b.migration_lock(tx)
                tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                           "applied_at DOUBLE PRECISION NOT NULL)")
                done = int(tx.one("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0])
                for version, statements in MIGRATIONS:
                    if version > done:
                        for sql in statements:
                            tx.execute(sql)
                        tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                   (version, self.clock()))
                return max(done, latest)
            have = self._b.run(apply, write=True)
        if have > latest:
            raise StoreUnavailable(f"{self.describe()} has schema version {have}, newer than this code knows "
                                   f"({latest}): update BPTT Explorer on this server.", "schema")
        return have

    # -- questions
    def create_question(self, preset: str, kind: str, prompt: str, options: list | tuple | None, true_answer: Any,
                        lo: float | None = None, hi: float | None = None, log: bool = False,
                        ttl_hours: float = 48) -> tuple[Question, str]:
        """A new open question. Returns it and its teacher secret (secrets.token_urlsafe(16)): shown once, only its
        hash is stored."""
        if not isinstance(preset, str) or not PRESET.fullmatch(preset):
            raise ValueError(f"preset: a slug like 'lesson3-vanishing' expected, got {str(preset)[:40]!r}")
        if kind not in KINDS:
            raise ValueError(f"kind: one of {KINDS}, got {str(kind)[:20]!r}")
        prompt = clean_text(prompt, "prompt", MAX_PROMPT)
        if not prompt:
            raise ValueError("prompt: must not be empty")
        ttl = _finite(ttl_hours, "ttl_hours")
        if not 0 < ttl <= MAX_TTL_HOURS:
            raise ValueError(f"ttl_hours: between 0 and {MAX_TTL_HOURS}, got {ttl}")
        if kind == "choice":
            opts = tuple(clean_text(o, "options", MAX_OPTION) for o in (options or ()))
            if not 2 <= len(opts) <= MAX_OPTIONS or len(set(opts)) != len(opts) or not all(opts):
                raise ValueError(f"options: 2 to {MAX_OPTIONS} distinct, non-empty choices expected")
            if true_answer not in opts:
                raise ValueError("true_answer: must be one of the options")
            lo_v = hi_v = None
            log = False
        else:
            if options:
                raise ValueError("options: a number question has no options")
            opts = ()
            lo_v, hi_v = _finite(lo, "lo"), _finite(hi, "hi")
            if not lo_v < hi_v:
                raise ValueError(f"lo, hi: lo < hi expected, got [{lo_v}, {hi_v}]")
            if log and lo_v <= 0:
                raise ValueError(f"lo: a log-scale question needs lo > 0, got {lo_v}")
            _finite(true_answer, "true_answer")
        answer_json = json.dumps(true_answer)
        secret = secrets.token_urlsafe(16)
        now = self.clock()
        qid = secrets.token_urlsafe(8)
        while qid[0] in "-_":                 # an id never looks like an option or a formula
            qid = secrets.token_urlsafe(8)
        q = Question(id=qid, preset=preset, kind=kind, prompt=prompt, options=opts, lo=lo_v,
                     hi=hi_v, log=bool(log), true_answer=json.loads(answer_json), state="open", created_at=now,
                     expires_at=now + ttl * 3600.0)

        def insert(tx: _Tx) -> None:
            self._purge(tx, now)              # old questions go whenever a new one is made: no cron job needed
            tx.execute(f"INSERT INTO questions ({_Q_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (q.id, q.preset, q.kind, q.prompt, json.dumps(list(opts)), lo_v, hi_v, int(q.log),
                        answer_json, q.state, q.created_at, q.expires_at, _hash_secret(secret)))
        self._b.run(insert, write=True)
        return q, secret

    def _fetch(self, tx: _Tx, question_id: Any, guard: bool = False) -> tuple[Question, str] | None:
        if not isinstance(question_id, str) or not QUESTION_ID.fullmatch(question_id):
            return None
        row = tx.one(f"SELECT {_Q_COLUMNS} FROM questions WHERE id = ? AND expires_at > ?"
                     + (self._b.guard_suffix if guard else ""), (question_id, self.clock()))
        return (_question(row), row[12]) if row else None

    def _require(self, tx: _Tx, question_id: Any, guard: bool = False) -> tuple[Question, str]:
        found = self._fetch(tx, question_id, guard)
        if found is None:
            raise QuestionUnavailable(f"question_id: no question {str(question_id)[:40]!r} (or it has expired)")
        return found

    def get(self, question_id: str) -> Question | None:
        """The question, or None when there is none with this id or it has expired."""
        found = self._b.run(lambda tx: self._fetch(tx, question_id), write=False)
        return found[0] if found else None

    # -- teacher actions
    @staticmethod
    def _check_secret(stored_hash: str, teacher_secret: Any) -> None:
        given = _hash_secret(teacher_secret) if isinstance(teacher_secret, str) and teacher_secret else ""
        if not hmac.compare_digest(stored_hash.encode(), given.encode()):
            raise WrongSecret("teacher_secret: this action needs the question's teacher link")

    def verify_secret(self, question_id: str, teacher_secret: str) -> bool:
        """True when teacher_secret is this (unexpired) question's secret."""
        found = self._b.run(lambda tx: self._fetch(tx, question_id), write=False)
        if found is None:
            return False
        try:
            self._check_secret(found[1], teacher_secret)
        except WrongSecret:
            return False
        return True

    def set_state(self, question_id: str, teacher_secret: str, state: str) -> Question:
        """Open, close, reveal or reopen (any state to any other). WrongSecret without the question's secret."""
        if state not in STATES:
            raise ValueError(f"state: one of {STATES}, got {str(state)[:20]!r}")

        def update(tx: _Tx) -> Question:
            q, stored = self._require(tx, question_id)
            self._check_secret(stored, teacher_secret)
            tx.execute("UPDATE questions SET state = ? WHERE id = ?", (state, q.id))
            return dataclasses.replace(q, state=state)
        return self._b.run(update, write=True)

    def export_csv(self, question_id: str, teacher_secret: str) -> str:
        """Every answer as CSV (header first), text cells neutralised against spreadsheet formulas."""
        def read(tx: _Tx):
            q, stored = self._require(tx, question_id)
            self._check_secret(stored, teacher_secret)
            return q, self._answers(tx, q)
        q, rows = self._b.run(read, write=False)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["question_id", "preset", "student_id", "nickname", "value", "reason", "updated_at_utc"])
        for a in rows:
            w.writerow([_cell(q.id), _cell(q.preset), _cell(a.student_id), _cell(a.nickname), _cell(a.value),
                        _cell(a.reason), _utc(a.updated_at)])
        return out.getvalue()

    # -- students
    def submit(self, question_id: str, student_id: str, value: float | str, reason: str = "",
               nickname: str = "") -> Answer:
        """Save (or replace) this student's prediction. Returns only after the commit: an Answer returned is on
        disk. Raises QuestionUnavailable, QuestionNotOpen, RateLimited, ValueError (bad field) or StoreUnavailable."""
        if not isinstance(student_id, str) or not STUDENT_ID.fullmatch(student_id):
            raise ValueError("student_id: 8 to 64 characters from A-Z a-z 0-9 _ - expected")
        reason = clean_text(reason, "reason", MAX_REASON)
        nickname = clean_text(nickname, "nickname", MAX_NICKNAME)

        def write(tx: _Tx) -> Answer:
            q, _ = self._require(tx, question_id, guard=True)
            if q.state != "open":
                raise QuestionNotOpen(f"question_id: the question is {q.state}, it takes no predictions now",
                                      q.state)
            v = self._value(q, value)
            now = self.clock()
            n, start = tx.one(
                "INSERT INTO submission_counts (question_id, student_id, window_start, n) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (question_id, student_id) DO UPDATE SET "
                "n = CASE WHEN submission_counts.window_start <= ? THEN 1 ELSE submission_counts.n + 1 END, "
                "window_start = CASE WHEN submission_counts.window_start <= ? THEN excluded.window_start "
                "ELSE submission_counts.window_start END "
                "RETURNING n, window_start",
                (q.id, student_id, now, now - RATE_WINDOW_S, now - RATE_WINDOW_S))
            if n > RATE_LIMIT:     # raising rolls the count back too
                wait = max(0.0, start + RATE_WINDOW_S - now)
                raise RateLimited(f"student_id: more than {RATE_LIMIT} submissions in {RATE_WINDOW_S:g} s; "
                                  f"try again in {math.ceil(wait)} s", wait)
            tx.execute(
                "INSERT INTO answers (question_id, student_id, value, reason, nickname, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (question_id, student_id) DO UPDATE SET "
                "value = excluded.value, reason = excluded.reason, nickname = excluded.nickname, "
                "updated_at = excluded.updated_at",
                (q.id, student_id, json.dumps(v), reason, nickname, now))
            return Answer(q.id, student_id, v, reason, nickname, now)
        return self._b.run(write, write=True)

    @staticmethod
    def _value(q: Question, value: Any) -> float | str:
        if q.kind == "choice":
            if not isinstance(value, str) or value not in q.options:
                raise ValueError(f"value: one of the {len(q.options)} options expected")
            return value
        v = _finite(value, "value")
        if not q.lo <= v <= q.hi:
            raise ValueError(f"value: between {q.lo:g} and {q.hi:g} expected, got {v:g}")
        return v

    # -- reading answers
    @staticmethod
    def _answers(tx: _Tx, q: Question) -> list[Answer]:
        rows = tx.all("SELECT student_id, value, reason, nickname, updated_at FROM answers WHERE question_id = ? "
                      "ORDER BY updated_at, student_id", (q.id,))
        return [Answer(q.id, r[0], json.loads(r[1]), r[2], r[3], r[4]) for r in rows]

    def answers(self, question_id: str) -> list[Answer]:
        """Every prediction, oldest change first ([] for an unknown or expired question). Student ids identify
        browsers: show them to no one but the teacher."""
        def read(tx: _Tx) -> list[Answer]:
            found = self._fetch(tx, question_id)
            return self._answers(tx, found[0]) if found else []
        return self._b.run(read, write=False)

    def answer(self, question_id: str, student_id: str) -> Answer | None:
        """This student's prediction, or None (none yet, an unknown or expired question, a malformed id)."""
        if not isinstance(student_id, str) or not STUDENT_ID.fullmatch(student_id):
            return None

        def read(tx: _Tx) -> Answer | None:
            found = self._fetch(tx, question_id)
            if not found:
                return None
            r = tx.one("SELECT student_id, value, reason, nickname, updated_at FROM answers "
                       "WHERE question_id = ? AND student_id = ?", (found[0].id, student_id))
            return Answer(found[0].id, r[0], json.loads(r[1]), r[2], r[3], r[4]) if r else None
        return self._b.run(read, write=False)

    def count(self, question_id: str) -> int:
        if not isinstance(question_id, str) or not QUESTION_ID.fullmatch(question_id):
            return 0
        return int(self._b.run(lambda tx: tx.one("SELECT COUNT(*) FROM answers WHERE question_id = ?",
                                                 (question_id,))[0], write=False))

    def histogram(self, question_id: str, bins: int = 10) -> list[Bin]:
        """Counts per option (in the options' order, zeros included) for a choice question; for a number question
        `bins` equal bins over [lo, hi], equal in log10 when the scale is log."""
        def read(tx: _Tx):
            q, _ = self._require(tx, question_id)
            return q, self._answers(tx, q)
        q, rows = self._b.run(read, write=False)
        if q.kind == "choice":
            counts = {o: 0 for o in q.options}
            for a in rows:
                if a.value in counts:
                    counts[a.value] += 1
            return [Bin(o, None, None, c) for o, c in counts.items()]
        if not isinstance(bins, int) or not 1 <= bins <= 200:
            raise ValueError(f"bins: an integer from 1 to 200 expected, got {bins!r}")
        f, inv = (math.log10, lambda x: 10.0 ** x) if q.log else (float, float)
        a, b = f(q.lo), f(q.hi)
        edges = [inv(a + (b - a) * i / bins) for i in range(bins + 1)]
        edges[0], edges[-1] = q.lo, q.hi
        counts = [0] * bins
        for ans in rows:
            i = int((f(ans.value) - a) / (b - a) * bins)
            counts[min(max(i, 0), bins - 1)] += 1
        return [Bin(f"{edges[i]:.3g}–{edges[i + 1]:.3g}", edges[i], edges[i + 1], counts[i]) for i in range(bins)]

    # -- housekeeping
    def purge_expired(self, now: float | None = None) -> int:
        """Delete expired questions with their answers and counts; returns how many questions went. (Making a
        question does this too.)"""
        t = self.clock() if now is None else float(now)
        return int(self._b.run(lambda tx: self._purge(tx, t), write=True))

    @staticmethod
    def _purge(tx: _Tx, t: float) -> int:
        expired = "SELECT id FROM questions WHERE expires_at <= ?"
        tx.execute(f"DELETE FROM answers WHERE question_id IN ({expired})", (t,))
        tx.execute(f"DELETE FROM submission_counts WHERE question_id IN ({expired})", (t,))
        return tx.execute("DELETE FROM questions WHERE expires_at <= ?", (t,)).rowcount
