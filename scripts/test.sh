#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   formatting and lints, the vendored front-end files against npm, every Rust test on
#   SQLite and again on PostgreSQL, and the browser tests in headless Chromium.
# It installs what it needs (Chromium from Debian, npm packages) and starts PostgreSQL if
# it is installed but stopped. Set TEST_PG_URL to use another PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
PG_URL="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

step() { printf '\n=== %s\n' "$*"; }

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

step "PostgreSQL at ${PG_URL%%@*}@…"
if ! pg_isready -d "$PG_URL" -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -d "$PG_URL" -q 2>/dev/null && break; sleep 1; done
fi
pg_isready -d "$PG_URL" || { echo "PostgreSQL is not reachable at $PG_URL (set TEST_PG_URL)"; exit 1; }

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "vendored front-end files match their pinned npm packages"
scripts/vendor-assets.sh --check

step "Rust tests on SQLite"
cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee "$LOGS/sqlite.log"

step "Rust tests on PostgreSQL"
TEST_DATABASE_URL="$PG_URL" cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee "$LOGS/postgres.log"

step "browser tests (headless Chromium)"
cargo build -p mulin --locked
MULIN_BIN="$PWD/target/debug/mulin" e2e/run.sh 2>&1 | tee "$LOGS/e2e.log"

# One closing line for the whole run.
passed=0
failed=0
for log in "$LOGS/sqlite.log" "$LOGS/postgres.log"; do
  line=$(grep -E '^\s*Summary .* tests run: ' "$log" | tail -n1)
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
  passed=$((passed + p)); failed=$((failed + f))
done
p=$(grep -E '^[^ ]+ pass [0-9]+$' "$LOGS/e2e.log" | tail -n1 | grep -oE '[0-9]+$' || echo 0)
f=$(grep -E '^[^ ]+ fail [0-9]+$' "$LOGS/e2e.log" | tail -n1 | grep -oE '[0-9]+$' || echo 0)
passed=$((passed + p)); failed=$((failed + f))
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
