#!/usr/bin/env bash
# Runs every benchmark on this machine, on loopback only, and writes
# docs/benchmarks.md, docs/benchmarks.json and README's benchmark block
# (between <!-- bench:begin --> and <!-- bench:end -->). One command:
#
#   bash bench/run.sh [--build-widget] [--quick]
#
#   --build-widget  rebuild dist/ first (trunk build --release --offline);
#                   by default the dist/ already there is measured (built
#                   if missing), and the report says when it was built.
#   --quick         fewer runs and samples, to try the harness; the figures
#                   are then not worth writing down, so the report goes to
#                   bench/out/benchmarks.md and docs/ and README are left alone.
#
# Steps (builds one at a time, then the measurements one at a time):
#   1. peers from npm into bench/peers/ (exact versions, checked with npm view)
#   2. builds: the host (profile host), the ingest load generator (example of
#      consent-host), the wasm planner bench (bench/plan-wasm, its own
#      workspace and target dir), with wasm-bindgen and wasm-opt
#   3. time to first question (Playwright + /usr/bin/chromium)
#   4. planner in wasm in Chromium
#   5. host ingest against the real host on 127.0.0.1, and raw SQLite
#   6. the same on PostgreSQL: a throwaway cluster (scripts/pg-throwaway.sh),
#      ingest at 16 clients x 10 with 1 and 2 instances, and the reads
#   7. native planner (cargo bench, divan), and size (scripts/size.mjs)
#   8. bench/report.mjs writes the report
# Raw results stay in bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

BUILD_WIDGET=0
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --build-widget) BUILD_WIDGET=1 ;;
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

CC_VERSION=3.1.0
KLARO_VERSION=0.7.22
WASM_BINDGEN_VERSION=0.2.130
if [ "$QUICK" = 1 ]; then
  TTFQ_RUNS=3; TTFQ_MOBILE_RUNS=2; PLAN_SAMPLES=10; INGEST_ROUNDS=1; INGEST_RECORDS=4000; INGEST_SECS=3
  PG_ROUNDS=1; LEDGER_RECORDS=30000
else
  TTFQ_RUNS=20; TTFQ_MOBILE_RUNS=10; PLAN_SAMPLES=50; INGEST_ROUNDS=3; INGEST_RECORDS=20000; INGEST_SECS=5
  PG_ROUNDS=5; LEDGER_RECORDS=100000
fi

OUT=bench/out
rm -rf "$OUT"
mkdir -p "$OUT"
STARTED=$(date +%s)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
stamp() { # name: seconds since start and the load average, for the report
  printf '{"step":"%s","at":%s,"loadavg":"%s"}\n' "$1" "$(( $(date +%s) - STARTED ))" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/steps.jsonl"
}
stamp start
printf '{"quick":%s,"started":"%s","ttfqRuns":%s,"planSamples":%s,"ingestRounds":%s,"ingestRecords":%s,"ingestSecs":%s,"pgRounds":%s}\n' \
  "$([ "$QUICK" = 1 ] && echo true || echo false)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$TTFQ_RUNS" "$PLAN_SAMPLES" "$INGEST_ROUNDS" "$INGEST_RECORDS" "$INGEST_SECS" "$PG_ROUNDS" > "$OUT/run.json"

# ----------------------------------------------------------------- widget
step "widget build (dist/)"
if [ "$BUILD_WIDGET" = 1 ] || [ ! -f dist/consent_prompt_bg.wasm ]; then
  trunk build --release --offline
else
  echo "using the dist/ already built (--build-widget rebuilds it)"
fi
# Everything below measures one snapshot, even if dist/ is rebuilt meanwhile.
mkdir -p "$OUT/dist"
for f in embed.js consent-prompt.js early.js consent_prompt.js consent_prompt_bg.wasm consent-prompt.css element.js host.js frame.html frame.js frame.css asset-manifest.json; do
  cp "dist/$f" "$OUT/dist/$f"
done
{
  echo "{\"builtAt\":\"$(date -u -r dist/consent_prompt_bg.wasm +%Y-%m-%dT%H:%M:%SZ)\","
  echo "\"wasmSha256\":\"$(sha256sum "$OUT/dist/consent_prompt_bg.wasm" | cut -c1-16)\","
  echo "\"newerSources\":$(find src static crates/consent-core/src index.html Cargo.toml -newer dist/consent_prompt_bg.wasm -type f 2>/dev/null | wc -l)}"
} > "$OUT/dist.json"

# ------------------------------------------------------------------ peers
step "peer widgets from npm (vanilla-cookieconsent $CC_VERSION, klaro $KLARO_VERSION)"
PEER_WIDGETS="ours"
: > "$OUT/peers.jsonl"
peer() { # npm-name version widget-key
  local name="$1" version="$2" key="$3" installed="" view
  installed=$(node -p "try{require('./bench/peers/node_modules/$name/package.json').version}catch(e){''}" 2>/dev/null || true)
  view=$( (npm view --fetch-timeout=30000 --fetch-retries=1 "$name@$version" --json 2>/dev/null || true) | node bench/lib/npm-view.mjs)
  if [ "$installed" != "$version" ] && [ "$view" != null ]; then
    npm install --fetch-timeout=30000 --fetch-retries=1 --prefix bench/peers --save-exact --ignore-scripts --no-audit --no-fund --loglevel=error "$name@$version" >/dev/null 2>&1 || true
    installed=$(node -p "try{require('./bench/peers/node_modules/$name/package.json').version}catch(e){''}" 2>/dev/null || true)
  fi
  local ok=false
  if [ "$installed" = "$version" ]; then ok=true; PEER_WIDGETS="$PEER_WIDGETS,$key"; fi
  printf '{"name":"%s","version":"%s","key":"%s","installed":%s,"npmView":%s}\n' "$name" "$version" "$key" "$ok" "$view" >> "$OUT/peers.jsonl"
  echo "$name@$version: npm view: $view; installed: $ok"
}
peer vanilla-cookieconsent "$CC_VERSION" cookieconsent
peer klaro "$KLARO_VERSION" klaro

# ----------------------------------------------------------------- builds
step "builds: host, ingest load generator, wasm planner bench"
stamp builds
cargo build -q -p consent-host --profile host
cargo build -q -p consent-host --profile host --example ingest_bench
cargo build -q -p consent-host --profile host --example ledger_bench
if ! wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION\$"; then
  echo "wasm-bindgen $WASM_BINDGEN_VERSION is required (cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION)" >&2
  exit 1
fi
WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue)
rm -rf bench/plan-wasm/pkg
for variant in release speed; do
  (cd bench/plan-wasm && cargo build -q --profile "$variant" --target wasm32-unknown-unknown --target-dir target)
  wasm-bindgen --target web --out-dir "bench/plan-wasm/pkg/$variant" \
    "bench/plan-wasm/target/wasm32-unknown-unknown/$variant/consent_plan_wasm_bench.wasm"
  # As trunk does for the widget: -Oz for the shipped profile, -O3 for speed.
  level=$([ "$variant" = release ] && echo -Oz || echo -O3)
  wasm="bench/plan-wasm/pkg/$variant/consent_plan_wasm_bench_bg.wasm"
  wasm-opt "$level" "${WASM_FEATURES[@]}" "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
done

# ---------------------------------------------------------- measurements
step "time to first question ($TTFQ_RUNS runs each, interleaved; widgets: $PEER_WIDGETS)"
stamp ttfq
timeout 900 node bench/ttfq.mjs --runs "$TTFQ_RUNS" --widgets "$PEER_WIDGETS" --dist "$OUT/dist" --out "$OUT/ttfq.json"

step "time to first question on a phone (Lighthouse mobile throttling), cold and warm cache"
stamp ttfq-mobile
# The server-rendered checkout: the bench's page server asks the reference
# host (target/host/consent-host on 127.0.0.1) for the render on every page
# request, as a venue's server would, so the render is timed with the page.
for cache in cold warm; do
  timeout 1500 node bench/ttfq.mjs --profile mobile --cache "$cache" --runs "$TTFQ_MOBILE_RUNS" \
    --widgets "ssr,element,iframe,$PEER_WIDGETS" --host-bin target/host/consent-host \
    --dist "$OUT/dist" --out "$OUT/ttfq-mobile-$cache.json"
done

step "planner in wasm, in Chromium ($PLAN_SAMPLES samples per size)"
stamp plan-wasm
timeout 600 node bench/plan-wasm.mjs --samples "$PLAN_SAMPLES" --variants release,speed --out "$OUT/plan-wasm.json"

step "host ingest on 127.0.0.1 and raw SQLite ($INGEST_ROUNDS round(s), each cell <= $INGEST_RECORDS records or <= ${INGEST_SECS} s)"
stamp ingest
mkdir -p "$OUT/tmp"
timeout 900 target/host/examples/ingest_bench \
  --host-bin target/host/consent-host --dist dist --tmp "$OUT/tmp" \
  --rounds "$INGEST_ROUNDS" --max-records "$INGEST_RECORDS" --max-secs "$INGEST_SECS" > "$OUT/ingest.json"
rm -rf "$OUT/tmp"

step "host reads: verify on $LEDGER_RECORDS records, preferences of a 20,000-record patron, a $LEDGER_RECORDS-contact export"
stamp ledger
timeout 900 target/host/examples/ledger_bench --records "$LEDGER_RECORDS" --runs 5 \
  --host-bin target/host/consent-host > "$OUT/ledger.json"

step "host on PostgreSQL: ingest at 16 clients x 10 with 1 and 2 instances ($PG_ROUNDS rounds), and the reads"
stamp postgres
# A throwaway cluster (initdb in a temporary directory, a free loopback
# port), stopped when this step ends or the script exits.
set +e
(
  set -e
  source scripts/pg-throwaway.sh
  pg_throwaway_start
  mkdir -p "$OUT/tmp"
  timeout 1200 target/host/examples/ingest_bench --host-bin target/host/consent-host --dist dist \
    --tmp "$OUT/tmp" --database-url "$PG_THROWAWAY_URL" --clients 16 --batches 10 --instances 1,2 \
    --rounds "$PG_ROUNDS" --max-records "$INGEST_RECORDS" --max-secs "$INGEST_SECS" > "$OUT/ingest-postgres.json"
  timeout 900 target/host/examples/ledger_bench --records "$LEDGER_RECORDS" --customer-records 20000 --runs 5 \
    --database-url "$PG_THROWAWAY_URL" > "$OUT/ledger-postgres.json"
  "$PG_THROWAWAY_BIN/postgres" --version > "$OUT/postgres-version.txt"
  pg_throwaway_stop
)
pg_rc=$?
set -e
if [ "$pg_rc" = 0 ]; then
  rm -rf "$OUT/tmp"
else
  # The report says it was not run and why; the other figures stand.
  echo "PostgreSQL benchmarks failed or PostgreSQL is not installed" | tee "$OUT/postgres-failed.txt" >&2
  rm -f "$OUT/ingest-postgres.json" "$OUT/ledger-postgres.json"
fi

step "native planner (cargo bench -p consent-core --bench plan)"
stamp divan
timeout 900 cargo bench -q -p consent-core --bench plan > "$OUT/divan.txt"
cat "$OUT/divan.txt"

step "size (node scripts/size.mjs on the dist snapshot)"
stamp size
node scripts/size.mjs "$OUT/dist" | tee "$OUT/size.txt"
grep -o 'BUDGET_KB="${SIZE_BUDGET_KB:-[0-9.]*' scripts/size.sh | grep -o '[0-9.]*$' > "$OUT/size-budget.txt" || true

# ---------------------------------------------------------------- report
stamp end
{
  echo "{\"cores\":$(nproc),"
  echo "\"memKiB\":$(awk '/MemTotal/ {print $2}' /proc/meminfo),"
  echo "\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/"/\\"/g')\","
  echo "\"os\":\"$(. /etc/os-release && echo "$PRETTY_NAME")\","
  echo "\"kernel\":\"$(uname -r)\","
  echo "\"rustc\":\"$(rustc --version)\","
  echo "\"node\":\"$(node --version)\","
  echo "\"wasmOpt\":\"$(wasm-opt --version)\","
  echo "\"disk\":\"$(df -T "$OUT" | awk 'NR==2 {print $2}')\"}"
} > "$OUT/machine.json"
if [ "$QUICK" = 1 ]; then
  node bench/report.mjs --out "$OUT/benchmarks.md" --json "$OUT/benchmarks.json" --no-readme
  echo
  echo "quick run: wrote $OUT/benchmarks.md in $(( $(date +%s) - STARTED )) s (docs/ and README untouched)"
else
  node bench/report.mjs --out docs/benchmarks.md --json docs/benchmarks.json --readme README.md
  echo
  echo "wrote docs/benchmarks.md, docs/benchmarks.json and README's figures in $(( $(date +%s) - STARTED )) s"
fi
