#!/usr/bin/env bash
# Runs every test tier, after installing whatever is missing. CI runs this.
#   1. format and lints
#   2. host tests: consent-core (table-driven and property tests) and consent-host (axum), the
#      host on SQLite and again on a throwaway PostgreSQL cluster (several instances, kill -9)
#   3. architecture invariant: consent-core depends on no web crate
#   4. browser tests: the Yew components in headless Chromium (wasm-bindgen-test)
#   5. release build of the widget, and the size report
#   6. end-to-end: Playwright + system Chromium against the real host on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "toolchain"
bash scripts/setup.sh

step "format and lints"
cargo fmt --all --check
cargo clippy -q -p consent-core -p consent-host --all-targets -- -D warnings
cargo clippy -q -p consent-prompt --target wasm32-unknown-unknown --all-targets -- -D warnings
# The widget's server rendering compiles natively (the host uses it).
cargo clippy -q -p consent-prompt --features ssr --lib -- -D warnings

step "host tests: consent-core and consent-host (SQLite)"
# CONSENT_TEST_DATABASE_URL unset: the SQLite run is exactly as before (the
# PostgreSQL-only tests print that they are skipped).
env -u CONSENT_TEST_DATABASE_URL cargo test -p consent-core -p consent-host

step "host tests: consent-host on PostgreSQL"
# A throwaway cluster in a temporary directory on a free loopback port,
# stopped by an EXIT trap even when a test fails; every test makes its own
# database on it.
source scripts/pg-throwaway.sh
pg_throwaway_start
CONSENT_TEST_DATABASE_URL="$PG_THROWAWAY_URL" cargo test -p consent-host
pg_throwaway_stop

step "invariant: consent-core does no IO and depends on no web crate"
if cargo tree -p consent-core -e normal --prefix none | grep -E '^(yew|web-sys|gloo[a-z-]*|wasm-bindgen|js-sys) '; then
  echo "consent-core must not depend on the crates above" >&2
  exit 1
fi
cargo build -q -p consent-core --target wasm32-unknown-unknown
echo "ok: consent-core is pure and builds for wasm32"

step "browser tests: components in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p consent-prompt --target wasm32-unknown-unknown

step "release build and size"
trunk build --release --offline
bash scripts/size.sh

step "npm package (from dist/) and the React example that installs it"
node scripts/package.mjs
(cd examples/react && npm ci --no-audit --no-fund && npm run build)
tests/e2e/node_modules/.bin/tsc -p examples/react/tsconfig.json
echo "ok: the React example type-checks against consent-prompt.d.ts"

step "types: consent-prompt.d.ts against the examples (tsc --noEmit)"
tests/e2e/node_modules/.bin/tsc -p examples/tsconfig.json
echo "ok: the examples type-check against consent-prompt.d.ts"

step "end-to-end: the demo checkout and the reference host"
cargo build -q -p consent-host --profile host
(cd tests/e2e && node --test --test-concurrency=1 --test-timeout=180000 ./*.test.mjs)

step "all tiers passed"
