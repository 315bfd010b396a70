#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Debian's Chromium for the browser tests (apt-get, as root or with
# sudo), the Python test requirements (pip), then pytest. Never downloads a browser of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=none; fi
  if [ "$SUDO" != none ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing and apt-get is not available: browser tests will be skipped" >&2
  fi
fi
python3 -m pip install -q -r requirements-dev.txt
python3 -m pytest "$@"
