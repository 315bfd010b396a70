#!/usr/bin/env bash
# The whole test suite, from a fresh machine, in the project's virtual environment .venv (the same one the README's
# first command makes). Distribution pythons refuse `pip install` outside a venv (PEP 668), so nothing is installed
# into python3 itself:
#   1. Debian's python3-venv (the venv module's ensurepip), with apt-get as root or with sudo, when `python3 -m venv`
#      cannot work;
#   2. .venv: made with `python3 -m venv .venv` when missing or broken, reused otherwise;
#   3. Debian's chromium for the browser tests (apt-get, as root or with sudo); never a browser download of its own;
#      and Debian's haproxy for the replica test (scripts/serve_class.sh puts it in front of the replicas);
#   4. requirements-dev.txt into .venv with its pip, plus $TEST_EXTRA_PACKAGES (space-separated pip requirements:
#      .ci/run puts torch==2.13.0 there, so the torch parity tests run in the same environment);
#   5. PostgreSQL for the question store's tests, in CI (CI=true) or when BPTT_TEST_PG=1, unless BPTT_TEST_PG_URL
#      is set already: Debian's postgresql (apt-get, as root or with sudo) when missing, its newest cluster made if
#      there is none and started, a test role and database, then BPTT_TEST_PG_URL for pytest. Without it the
#      PostgreSQL half of tests/test_question_store.py skips locally and fails in CI;
#   6. ruff, then pytest in .venv (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=none; fi
APT_UPDATED=""
apt_install() {  # apt_install PACKAGE...: Debian's packages as root or with sudo; fails when that is not possible
  if [ "$SUDO" = none ] || ! command -v apt-get >/dev/null; then return 1; fi
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

venv_works() { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }

# 1 + 2: the virtual environment.
if ! venv_works; then
  if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    # Debian/Ubuntu ship the venv module's ensurepip in python3-venv (python3.X-venv for a non-default python3).
    pyver="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    echo "scripts/test.sh: python3 -m venv needs python3-venv: installing it with apt-get" >&2
    apt_install python3-venv || true
    python3 -c "import venv, ensurepip" 2>/dev/null || apt_install "python${pyver}-venv" || {
      echo "scripts/test.sh: python3 -m venv cannot work here and apt-get is not available (as root or with sudo):" \
           "install python3-venv (Debian/Ubuntu: sudo apt-get install python3-venv), then run this again" >&2
      exit 1
    }
  fi
  rm -rf .venv                                     # a half-made or stale one (e.g. a venv made without ensurepip)
  python3 -m venv .venv
fi

# 3: Debian's Chromium for the browser tests.
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium || echo "note: /usr/bin/chromium is missing and apt-get is not available" \
                               "(as root or with sudo): browser tests will be skipped" >&2
fi
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  apt_install haproxy || echo "note: haproxy is missing and apt-get is not available" \
                              "(as root or with sudo): the replica test will be skipped" >&2
fi

# 4: the test requirements (and CI's extras) into .venv.
read -r -a extra <<< "${TEST_EXTRA_PACKAGES:-}"
.venv/bin/python -m pip install -q -r requirements-dev.txt ${extra[@]+"${extra[@]}"}

# 5: PostgreSQL for the question store's tests (tests/test_question_store.py runs every store test on both backends).
as_postgres() {  # as_postgres CMD...: as the clusters' owner, who may use the local socket (peer authentication)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres -- "$@"; fi
}
start_postgres() {  # set -e is off inside a function called with ||, so every step checks itself
  [ "$SUDO" != none ] || return 1
  command -v pg_lsclusters >/dev/null || apt_install postgresql || return 1
  local ver port pw="${BPTT_TEST_PG_PASSWORD:-bptt-test-only}"
  ver="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$ver" ] || return 1
  if [ -z "$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"')" ]; then
    $SUDO pg_createcluster "$ver" main >/dev/null || return 1
  fi
  if [ -z "$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" && $4 ~ /^online/')" ]; then
    $SUDO pg_ctlcluster "$ver" main start || return 1
  fi
  port="$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $3}')"
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
  as_postgres psql -q -X -p "$port" -v ON_ERROR_STOP=1 -v pw="$pw" >/dev/null <<'SQL' || return 1
SELECT 'CREATE ROLE bptt LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bptt') \gexec
ALTER ROLE bptt LOGIN PASSWORD :'pw';
SELECT 'CREATE DATABASE bptt_test OWNER bptt'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bptt_test') \gexec
SQL
  export BPTT_TEST_PG_URL="postgresql://bptt:${pw}@127.0.0.1:${port}/bptt_test"
  echo "scripts/test.sh: PostgreSQL $ver on port $port for the store's tests (BPTT_TEST_PG_URL)" >&2
}
if [ -z "${BPTT_TEST_PG_URL:-}" ] && { [ "${CI:-}" = true ] || [ "${BPTT_TEST_PG:-}" = 1 ]; }; then
  start_postgres || echo "note: PostgreSQL could not be installed or started (apt-get as root or with sudo):" \
                         "the store's PostgreSQL tests will fail in CI and skip locally" >&2
fi

# 6: the linter (ruff, configured in pyproject.toml), then the tests.
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
