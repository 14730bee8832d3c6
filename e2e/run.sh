#!/usr/bin/env bash
# Browser tests: starts `mulin serve --demo` on a free port with a fresh data folder and
# runs e2e/tests in Debian's headless Chromium. Installs Chromium and the npm packages.
#   MULIN_BIN  the binary to test (default: target/debug/mulin)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${MULIN_BIN:-$PWD/target/debug/mulin}"
[ -x "$BIN" ] || { echo "no binary at $BIN: build it with cargo build -p mulin" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then
  echo "installing Chromium and a CJK font from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
npm ci --prefix e2e --no-audit --no-fund --ignore-scripts --silent

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
export MULIN_DEMO_PASSWORD="e2e-demo-pass"
MULIN_DATA_DIR="$DATA" MULIN_LISTEN="127.0.0.1:$PORT" "$BIN" serve --demo --households 800 --activity-days 20 >"$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then echo "the server exited:" >&2; cat "$DATA/server.log" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "the server did not come up:" >&2; cat "$DATA/server.log" >&2; exit 1; }

cd e2e
MULIN_BASE_URL="http://127.0.0.1:$PORT" npm test
