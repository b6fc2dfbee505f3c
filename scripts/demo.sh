#!/usr/bin/env bash
# Builds the release widget, starts the reference host on 127.0.0.1 in demo
# mode (it mints checkout tokens for its own pages; never in production) and
# prints the demo URL. Ctrl-C stops it. PORT and DATABASE_PATH override the
# defaults (8080, ./data/consent.db).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh --no-browser
echo "[demo] building the widget (release)"
trunk build --release --offline
echo "[demo] building the reference host"
cargo build -p consent-host --profile host
echo "[demo] starting; open the URL below (Ctrl-C to stop)"
exec target/host/consent-host --demo --dist dist --examples examples "$@"
