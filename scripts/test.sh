#!/usr/bin/env bash
# Runs every test tier, after installing whatever is missing. CI runs this.
#   1. format and lints
#   2. host tests: consent-core (table-driven and property tests) and consent-host (axum), the
#      host on SQLite and again on a throwaway PostgreSQL cluster (several instances, kill -9)
#   3. architecture invariant: consent-core depends on no web crate
#   4. browser tests: the Yew components in headless Chromium (wasm-bindgen-test)
#   5. release build of the widget, and the size report
#   6. end-to-end: Playwright + system Chromium against the real host on 127.0.0.1
#   7. figures: README's benchmark figures are the latest run's (docs/benchmarks.json)
#   8. docs: the docs site (mdBook, docs/) builds with no warning, every link found
#
#   ./scripts/test.sh [tier ...]
# With no argument every tier runs; otherwise only those named (toolchain
# always): lints host postgres invariant browser size package types e2e figures docs.
# Every check fails closed: a tool's output is captured and its exit status
# checked before the output is inspected.
#
# The PostgreSQL tier runs on a throwaway cluster, or on the server named by
# CONSENT_TEST_DATABASE_URL when it is set. It sets CONSENT_TEST_EXPECT_POSTGRES=1:
# then no host test may quietly fall back to SQLite, and the PostgreSQL-only
# tests (ignored in a plain `cargo test`, so never counted as passed there)
# run and fail without a reachable server.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

TIERS=(lints host postgres invariant browser size package types e2e figures docs)
if [ "$#" -gt 0 ]; then
  for t in "$@"; do
    [[ " ${TIERS[*]} " == *" $t "* ]] || { echo "unknown tier: $t (tiers: ${TIERS[*]})" >&2; exit 2; }
  done
  WANT=" $* "
else
  WANT=" ${TIERS[*]} "
fi
want() { [[ "$WANT" == *" $1 "* ]]; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "toolchain"
bash scripts/setup.sh

if want lints; then
  step "format and lints"
  cargo fmt --all --check
  cargo clippy -q -p consent-core -p consent-store -p consent-host --all-targets -- -D warnings
  cargo clippy -q -p consent-prompt --target wasm32-unknown-unknown --all-targets -- -D warnings
  # The widget's server rendering compiles natively (the host uses it).
  cargo clippy -q -p consent-prompt --features ssr --lib -- -D warnings
fi

if want host; then
  step "host tests: consent-core and consent-host (SQLite)"
  # No PostgreSQL: the PostgreSQL-only tests are #[ignore]d and reported as
  # ignored, never as passed.
  env -u CONSENT_TEST_DATABASE_URL -u CONSENT_TEST_EXPECT_POSTGRES cargo test -p consent-core -p consent-store -p consent-host
fi

if want postgres; then
  step "host tests: consent-host on PostgreSQL"
  # A throwaway cluster in a temporary directory on a free loopback port,
  # stopped by an EXIT trap even when a test fails; every test makes its own
  # database on it. CONSENT_TEST_DATABASE_URL already set names a server to
  # use instead.
  if [ -z "${CONSENT_TEST_DATABASE_URL:-}" ]; then
    source scripts/pg-throwaway.sh
    pg_throwaway_start
    pg_url="$PG_THROWAWAY_URL"
  else
    pg_url="$CONSENT_TEST_DATABASE_URL"
  fi
  # Expected: a test without a reachable server fails; --include-ignored
  # runs the PostgreSQL-only tests.
  CONSENT_TEST_EXPECT_POSTGRES=1 CONSENT_TEST_DATABASE_URL="$pg_url" \
    cargo test -p consent-host -- --include-ignored
  if [ -n "${PG_THROWAWAY_DIR:-}" ]; then pg_throwaway_stop; fi
fi

if want invariant; then
  step "invariant: consent-core does no IO and depends on no web crate"
  # Captured first: a failing `cargo tree` fails the tier, and so does an
  # output that does not even list consent-core itself.
  if ! tree=$(cargo tree -p consent-core -e normal --prefix none); then
    echo "cargo tree failed: the invariant could not be checked" >&2
    exit 1
  fi
  if ! grep -q '^consent-core ' <<<"$tree"; then
    echo "cargo tree did not list consent-core: the invariant could not be checked" >&2
    exit 1
  fi
  if web=$(grep -E '^(yew|web-sys|gloo[a-z-]*|wasm-bindgen|js-sys) ' <<<"$tree"); then
    printf '%s\n' "$web" >&2
    echo "consent-core must not depend on the crates above" >&2
    exit 1
  fi
  cargo build -q -p consent-core --target wasm32-unknown-unknown
  echo "ok: consent-core is pure and builds for wasm32 ($(wc -l <<<"$tree") crates checked)"

  # The storage is no web server: the HTTP layer sits on top of it, never
  # inside it (ARCHITECTURE.md, "Crates and what each may use").
  if ! store_tree=$(cargo tree -p consent-store -e normal --prefix none); then
    echo "cargo tree failed: the storage's boundary could not be checked" >&2
    exit 1
  fi
  if ! grep -q '^consent-store ' <<<"$store_tree"; then
    echo "cargo tree did not list consent-store: the boundary could not be checked" >&2
    exit 1
  fi
  if http=$(grep -E '^(axum|axum-core|hyper|hyper-util|tower|tower-http|yew|consent-prompt|consent-host) ' <<<"$store_tree"); then
    printf '%s\n' "$http" >&2
    echo "consent-store must not depend on the crates above" >&2
    exit 1
  fi
  echo "ok: consent-store depends on no HTTP or web crate ($(wc -l <<<"$store_tree") crates checked)"
fi

if want browser; then
  step "browser tests: components in headless Chromium"
  CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p consent-prompt --target wasm32-unknown-unknown
fi

if want size; then
  step "release build and size"
  trunk build --release --offline
  bash scripts/size.sh
fi

if want package; then
  step "npm package (from dist/) and the React example that installs it"
  node scripts/package.mjs
  (cd examples/react && npm ci --no-audit --no-fund && npm run build)
  tests/e2e/node_modules/.bin/tsc -p examples/react/tsconfig.json
  echo "ok: the React example type-checks against consent-prompt.d.ts"
fi

if want types; then
  step "types: consent-prompt.d.ts against the examples (tsc --noEmit)"
  tests/e2e/node_modules/.bin/tsc -p examples/tsconfig.json
  echo "ok: the examples type-check against consent-prompt.d.ts"
fi

if want e2e; then
  step "end-to-end: the demo checkout and the reference host"
  cargo build -q -p consent-host --profile host
  (cd tests/e2e && node --test --test-concurrency=1 --test-timeout=180000 ./*.test.mjs)
fi

if want figures; then
  step "figures: README's benchmark block is the latest run's"
  # No figure is typed: bench/report.mjs writes docs/benchmarks.md,
  # docs/benchmarks.json and README's block from one run of bench/run.sh;
  # this fails if the block differs from what that JSON gives.
  node bench/report.mjs --check
fi

if want docs; then
  step "docs: the docs site builds, with no warning and no broken link"
  # mdBook logs a missing {{#include}} or an unclosed HTML tag and still
  # exits 0, so its output is captured and any WARN or ERROR fails the
  # tier; it checks no links, so scripts/check-book.mjs reads the built
  # pages (target/book) for files, images and #fragments that are not there.
  if ! book_log=$(mdbook build docs 2>&1); then
    printf '%s\n' "$book_log" >&2
    echo "mdbook build docs failed" >&2
    exit 1
  fi
  printf '%s\n' "$book_log"
  if grep -E '\b(WARN|ERROR)\b' <<<"$book_log" >/dev/null; then
    echo "mdbook warned while building the docs site (above)" >&2
    exit 1
  fi
  node scripts/check-book.mjs target/book
fi

step "passed: $(echo $WANT)"
