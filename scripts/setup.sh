#!/usr/bin/env bash
# Installs every tool the build and the tests need, skipping what is already
# present at the right version. Safe to run again; CI runs it on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# mdBook builds the docs site (docs/, the docs tier); 0.5.4 needs rustc 1.88.
MDBOOK_VERSION=0.5.4
BINARYEN_VERSION=132

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

export PATH="$HOME/.cargo/bin:$PATH"

# --no-browser: only what building and serving needs (the demo command).
WANT_BROWSER=1
[ "${1:-}" = "--no-browser" ] && WANT_BROWSER=0

# 1. The wasm32 target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen-cli, at exactly the version in Cargo.lock.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ -z "$WB_VERSION" ]; then echo "setup: no wasm-bindgen in Cargo.lock" >&2; exit 1; fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "installing wasm-bindgen-cli $WB_VERSION (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" --force
fi

# 3. trunk.
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  log "installing trunk $TRUNK_VERSION (about 8 minutes)"
  cargo install trunk --version "=$TRUNK_VERSION" --locked --force
fi

# 3b. mdBook, for the docs site (docs/book.toml). Search only: the book is
# built, never served by mdBook, so its server and watcher are left out.
if [ "$(mdbook --version 2>/dev/null | awk '{print $2}')" != "v$MDBOOK_VERSION" ]; then
  log "installing mdbook $MDBOOK_VERSION (about 3 minutes)"
  cargo install mdbook --version "=$MDBOOK_VERSION" --locked --force --no-default-features --features search
fi

# 4. wasm-opt, from the binaryen npm package (trunk finds it on PATH).
if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
  log "installing binaryen@$BINARYEN_VERSION (wasm-opt)"
  npm install -g --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
fi

# 4b. Build-time JS tools (terser, for the release build's glue).
if [ ! -d tools/build/node_modules ] || [ tools/build/package-lock.json -nt tools/build/node_modules ]; then
  log "installing build tools (tools/build)"
  (cd tools/build && npm ci --no-audit --no-fund)
fi

# 5. Chromium and chromedriver from Debian, for browser and end-to-end tests.
if [ "$WANT_BROWSER" = 1 ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  log "installing chromium and chromium-driver"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
fi

# 5b. PostgreSQL from Debian, for the host's tests on its second backend
# (scripts/test.sh starts a throwaway cluster; the package's own cluster
# is not used).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  log "installing postgresql"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi

# 6. End-to-end test packages (playwright-core drives the system Chromium; no browser download).
if [ "$WANT_BROWSER" = 1 ] && [ -f tests/e2e/package.json ]; then
  if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
    log "installing end-to-end test packages"
    (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
fi
log "toolchain ready"
