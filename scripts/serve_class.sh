#!/usr/bin/env bash
# Serve a class from one machine: N Streamlit replicas of BPTT Explorer behind HAProxy.
#
#   scripts/serve_class.sh N [PORT]        # e.g. scripts/serve_class.sh 2   -> students open http://<LAN address>:8501
#
# - N replicas (`streamlit run streamlit_app.py`) on 127.0.0.1 only, ports BPTT_REPLICA_PORT, +1, … (default PORT+100,
#   i.e. 8601, 8602, …) or exactly the ports in BPTT_REPLICA_PORTS ("8601 8602"), headless, no file watcher;
# - the same cookie secret on every replica: $BPTT_COOKIE_SECRET, else one generated once into
#   $BPTT_COOKIE_SECRET_FILE (default artifacts/class/cookie_secret, mode 600; artifacts/ is not committed). It is
#   passed as STREAMLIT_SERVER_COOKIE_SECRET (= --server.cookieSecret) so that it does not show in `ps`;
# - the shared store's settings (BPTT_DB_URL, BPTT_DB_PATH) and BPTT_RUN_DIR passed to every replica when set, so a
#   class question and its predictions are the same on every replica (several machines: BPTT_DB_URL=postgresql://…);
# - HAProxy (Debian's haproxy, installed with apt-get as root or with sudo when missing) on BPTT_PROXY_ADDRESS:PORT
#   (default 0.0.0.0:8501, the classroom LAN), config from scripts/haproxy.cfg.tmpl: cookie stickiness, websocket
#   pass-through, health checks on /_stcore/health, redispatch when a replica dies, security headers;
# - a replica that dies is started again after BPTT_RESTART_DELAY seconds (default 5; BPTT_RESTART=0: never), while
#   HAProxy has already sent its students to the others;
# - Ctrl+C or SIGTERM stops HAProxy and every replica (SIGTERM, SIGKILL after 10 s).
# Logs, pid files, the generated haproxy.cfg and HAProxy's admin socket: $BPTT_CLASS_DIR (default artifacts/class).
# Python: $PYTHON, else .venv/bin/python when it has streamlit, else python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

usage() { echo "usage: $0 N [PORT]   (N replicas behind HAProxy on PORT, default 8501)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
N="$1"; PORT="${2:-8501}"
[[ "$N" =~ ^[1-9][0-9]?$ ]] || usage
[[ "$PORT" =~ ^[0-9]+$ ]] || usage
BIND="${BPTT_PROXY_ADDRESS:-0.0.0.0}"
CLASS_DIR="${BPTT_CLASS_DIR:-$ROOT/artifacts/class}"
RESTART="${BPTT_RESTART:-1}"
RESTART_DELAY="${BPTT_RESTART_DELAY:-5}"

if [ -n "${BPTT_REPLICA_PORTS:-}" ]; then
  read -r -a PORTS <<< "${BPTT_REPLICA_PORTS//,/ }"
  [ "${#PORTS[@]}" -eq "$N" ] || { echo "serve_class: BPTT_REPLICA_PORTS lists ${#PORTS[@]} ports for $N replicas" >&2; exit 2; }
else
  base="${BPTT_REPLICA_PORT:-$((PORT + 100))}"
  PORTS=(); for ((i = 0; i < N; i++)); do PORTS+=("$((base + i))"); done
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" "${PORTS[@]}"; do
  if listening "$p"; then echo "serve_class: port $p is already in use" >&2; exit 1; fi
done

# HAProxy: Debian's package.
if ! command -v haproxy >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=none; fi
  if [ "$SUDO" != none ] && command -v apt-get >/dev/null; then
    echo "serve_class: installing Debian's haproxy with apt-get" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq haproxy >/dev/null
  fi
  command -v haproxy >/dev/null || { echo "serve_class: haproxy is missing (sudo apt-get install haproxy)" >&2; exit 1; }
fi

if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x .venv/bin/python ] && .venv/bin/python -c "import streamlit" 2>/dev/null; then PY=.venv/bin/python
else PY=python3; fi
"$PY" -c "import streamlit" 2>/dev/null || { echo "serve_class: $PY has no streamlit (pip install -r requirements.txt)" >&2; exit 1; }

(umask 077; mkdir -p "$CLASS_DIR")                 # made private if it is new (never chmod an existing one)

# One cookie secret for every replica.
if [ -z "${BPTT_COOKIE_SECRET:-}" ]; then
  SECRET_FILE="${BPTT_COOKIE_SECRET_FILE:-$ROOT/artifacts/class/cookie_secret}"
  if [ ! -s "$SECRET_FILE" ]; then
    mkdir -p "$(dirname "$SECRET_FILE")"
    (umask 077; "$PY" -c "import secrets; print(secrets.token_hex(32))" > "$SECRET_FILE")
  fi
  chmod 600 "$SECRET_FILE"
  BPTT_COOKIE_SECRET="$(cat "$SECRET_FILE")"
fi
export STREAMLIT_SERVER_COOKIE_SECRET="$BPTT_COOKIE_SECRET"
unset BPTT_COOKIE_SECRET
# The shared store and the lab's run directory: the same on every replica (exported, so every replica inherits them).
for v in BPTT_DB_URL BPTT_DB_PATH BPTT_RUN_DIR; do
  if [ -n "${!v:-}" ]; then export "${v?}"; fi
done

PIDS=(); HAPROXY_PID=""; STOPPING=""

start_replica() {  # start_replica I: replica I (0-based) on ${PORTS[I]}, its pid in PIDS[I] and r<I+1>.pid
  local i="$1" name="r$(($1 + 1))"
  "$PY" -m streamlit run "$ROOT/streamlit_app.py" \
    --server.port "${PORTS[$i]}" --server.address 127.0.0.1 --server.headless true \
    --server.fileWatcherType none --browser.gatherUsageStats false \
    >> "$CLASS_DIR/$name.log" 2>&1 &
  PIDS[i]=$!
  echo "${PIDS[$i]}" > "$CLASS_DIR/$name.pid"
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

stop_all() {
  [ -n "$STOPPING" ] && return
  STOPPING=1
  echo; echo "serve_class: stopping HAProxy and ${#PIDS[@]} replicas"
  local pid t
  for pid in "$HAPROXY_PID" "${PIDS[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  for ((t = 0; t < 100; t++)); do
    local any=""
    for pid in "$HAPROXY_PID" "${PIDS[@]}"; do alive "$pid" && any=1; done
    [ -z "$any" ] && break
    sleep 0.1
  done
  for pid in "$HAPROXY_PID" "${PIDS[@]}"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$CLASS_DIR"/r*.pid "$CLASS_DIR/haproxy.pid"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

healthy() { [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$1/_stcore/health" 2>/dev/null || true)" = ok ]; }
command -v curl >/dev/null || healthy() {
  "$PY" -c "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:$1/_stcore/health', timeout=2).read() != b'ok')" 2>/dev/null
}

for ((i = 0; i < N; i++)); do : > "$CLASS_DIR/r$((i + 1)).log"; start_replica "$i"; done
echo "serve_class: starting $N replicas on 127.0.0.1:${PORTS[*]} (logs in $CLASS_DIR)"
for ((i = 0; i < N; i++)); do
  for ((t = 0; t < 240; t++)); do
    healthy "${PORTS[$i]}" && break
    alive "${PIDS[$i]}" || { echo "serve_class: replica r$((i + 1)) exited; see $CLASS_DIR/r$((i + 1)).log" >&2; exit 1; }
    sleep 0.25
  done
  healthy "${PORTS[$i]}" || { echo "serve_class: replica r$((i + 1)) not healthy after 60 s" >&2; exit 1; }
done

# HAProxy's config from the template: one server line per replica, its cookie value = its name.
servers=""
for ((i = 0; i < N; i++)); do
  servers+="    server r$((i + 1)) 127.0.0.1:${PORTS[$i]} check cookie r$((i + 1))"$'\n'
done
cfg="$(cat "$ROOT/scripts/haproxy.cfg.tmpl")"
cfg="${cfg//@BIND@/$BIND}"; cfg="${cfg//@PORT@/$PORT}"; cfg="${cfg//@STATS_SOCKET@/$CLASS_DIR/haproxy.sock}"
cfg="${cfg//@SERVERS@/$servers}"
printf '%s\n' "$cfg" > "$CLASS_DIR/haproxy.cfg"
haproxy -c -q -f "$CLASS_DIR/haproxy.cfg" || { echo "serve_class: bad $CLASS_DIR/haproxy.cfg" >&2; exit 1; }
haproxy -db -f "$CLASS_DIR/haproxy.cfg" > "$CLASS_DIR/haproxy.log" 2>&1 &
HAPROXY_PID=$!
echo "$HAPROXY_PID" > "$CLASS_DIR/haproxy.pid"
for ((t = 0; t < 40; t++)); do healthy "$PORT" && break; sleep 0.25; done
healthy "$PORT" || { echo "serve_class: HAProxy does not answer on port $PORT; see $CLASS_DIR/haproxy.log" >&2; exit 1; }

if [ "$BIND" = 0.0.0.0 ]; then
  lan="$(hostname -I 2>/dev/null | awk '{print $1}')"
  url="http://${lan:-<LAN address>}:$PORT"
else
  url="http://$BIND:$PORT"
fi
store="${BPTT_DB_URL:+PostgreSQL (BPTT_DB_URL)}"; store="${store:-${BPTT_DB_PATH:+SQLite $BPTT_DB_PATH}}"
echo "serve_class: store: ${store:-the default of the store module, on this machine}"
echo "serve_class: ready — students open  $url"
echo "READY $url"

# Supervise: a replica that dies is started again (HAProxy has already moved its students); HAProxy dying ends all.
declare -A died=()
while :; do
  sleep 1 &
  wait $! || true
  alive "$HAPROXY_PID" || { echo "serve_class: HAProxy exited; see $CLASS_DIR/haproxy.log" >&2; exit 1; }
  for ((i = 0; i < N; i++)); do
    alive "${PIDS[$i]}" && continue
    now="$(date +%s)"
    if [ -z "${died[$i]:-}" ]; then
      died[$i]="$now"
      echo "serve_class: replica r$((i + 1)) (pid ${PIDS[$i]}) exited at $(date +%T); HAProxy sends its students to the others"
    fi
    if [ "$RESTART" != 0 ] && [ $((now - died[$i])) -ge "$RESTART_DELAY" ]; then
      echo "serve_class: starting replica r$((i + 1)) again"
      start_replica "$i"
      unset "died[$i]"
    fi
  done
done
