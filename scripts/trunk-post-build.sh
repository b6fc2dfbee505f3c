#!/usr/bin/env bash
# Trunk post-build hook. wasm-bindgen's glue is named after the crate
# (consent-prompt.js); the public entry module must own that stable name.
# So: glue → consent_prompt.js, entry.js → consent-prompt.js.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "${TRUNK_STAGING_DIR:?run by trunk}"
mv consent-prompt.js consent_prompt.js
mv consent-prompt_bg.wasm consent_prompt_bg.wasm
mv entry.js consent-prompt.js
# Trunk's minifier does not reach wasm-bindgen's glue; terser (tools/build,
# installed by scripts/setup.sh) takes it from 9.1 to 6.5 KB gzip. Exported
# names are kept; only locals are renamed.
if [ "${TRUNK_PROFILE:-}" = "release" ]; then
  TERSER="$ROOT/tools/build/node_modules/.bin/terser"
  if [ ! -x "$TERSER" ]; then
    echo "terser is missing: run scripts/setup.sh (it installs tools/build)" >&2
    exit 1
  fi
  # Trunk's wasm-opt pass once more, run until it changes nothing
  # (--converge): about 1 KB gzip smaller (bench/doc/size-analysis.md).
  if ! command -v wasm-opt >/dev/null; then
    echo "wasm-opt is missing: run scripts/setup.sh" >&2
    exit 1
  fi
  wasm-opt -Oz --converge consent_prompt_bg.wasm -o consent_prompt_bg.opt.wasm
  mv consent_prompt_bg.opt.wasm consent_prompt_bg.wasm
  "$TERSER" consent_prompt.js --module --compress --mangle --output consent_prompt.min.js
  mv consent_prompt.min.js consent_prompt.js
  # The entries a page loads first, minified too (their sources, with
  # their comments, are static/entry.js and static/embed.js). The module
  # entry keeps its exported names; the classic one is a script.
  "$TERSER" consent-prompt.js --module --compress --mangle --output consent-prompt.min.js
  mv consent-prompt.min.js consent-prompt.js
  "$TERSER" embed.js --compress --mangle --output embed.min.js
  mv embed.min.js embed.js
fi
# Drop the preload links Trunk adds for the old names; the entry loads the wasm itself.
sed -i -e '/consent-prompt_bg.wasm/d' -e '/rel="modulepreload" href="\/consent-prompt.js"/d' index.html
sed -i '/data-trunk rel="rust"/d' index.html
# Brotli and gzip copies of every asset, and the manifest with the version
# and the Subresource Integrity hashes (the host serves them precompressed).
node "$ROOT/scripts/compress.mjs" .
