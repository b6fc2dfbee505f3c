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
  # Trunk's wasm-opt pass once more, with the control flow flattened and
  # rebuilt (--flatten --rereloop) before a last -Oz, run until it changes
  # nothing (--converge): about 1.5 KB gzip smaller in all, for about 30 s
  # more per release build (bench/doc/size-analysis.md).
  if ! command -v wasm-opt >/dev/null; then
    echo "wasm-opt is missing: run scripts/setup.sh" >&2
    exit 1
  fi
  wasm-opt -Oz --flatten --rereloop -Oz --converge consent_prompt_bg.wasm -o consent_prompt_bg.opt.wasm
  mv consent_prompt_bg.opt.wasm consent_prompt_bg.wasm
  # --converge stops when the raw size stops falling, but what a patron
  # downloads is compressed: a fresh -Oz run still reorders code into a
  # smaller gzip (about 0.9 KB). Run it again while the gzip size falls,
  # at most three times, and keep the smallest.
  gz() { gzip -9 -c "$1" | wc -c; }
  for _ in 1 2 3; do
    wasm-opt -Oz consent_prompt_bg.wasm -o consent_prompt_bg.opt.wasm
    if [ "$(gz consent_prompt_bg.opt.wasm)" -lt "$(gz consent_prompt_bg.wasm)" ]; then
      mv consent_prompt_bg.opt.wasm consent_prompt_bg.wasm
    else
      rm consent_prompt_bg.opt.wasm
      break
    fi
  done
  "$TERSER" consent_prompt.js --module --compress --mangle --output consent_prompt.min.js
  mv consent_prompt.min.js consent_prompt.js
fi
# The stylesheet a rendered question links, as the wasm carries it (build.rs):
# without the comments and indentation meant for its editors.
node -e 'const fs = require("fs"); const f = "consent-prompt.css";
fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").split("\n").map((l) => l.trim()).filter(Boolean).join("\n"));'
# The first question as HTML before the wasm (static/early.js) is built
# into the front of every entry a page loads first (the script tag, the
# element, the frame), so none needs a request of its own for it. The
# module entry imports it only on a page that has none of those.
for entry in element.js frame.js embed.js; do
  cat early.js "$entry" > "$entry.tmp" && mv "$entry.tmp" "$entry"
done
# Integrity over the chain: each entry carries the hashes of the files it
# loads (scripts/stamp.mjs), stamped leaves first, so the page's one
# integrity on embed.js (or on the module entry) covers everything after it.
STAMP="node $ROOT/scripts/stamp.mjs"
minify() { # file [--module]: the entries a page loads first (and the iframe's parent helper), minified too
  if [ "${TRUNK_PROFILE:-}" = "release" ]; then
    "$TERSER" "$1" ${2:-} --compress --mangle --output "$1.min" && mv "$1.min" "$1"
  fi
}
minify early.js
$STAMP consent-prompt.js consent_prompt.js consent_prompt_bg.wasm early.js
minify consent-prompt.js --module
$STAMP element.js consent-prompt.js
minify element.js --module
$STAMP frame.js consent-prompt.js
minify frame.js --module
minify host.js
# The frame page asks for the entry, the glue and the wasm at once, not each
# after the file that names it.
$STAMP frame.html frame.js consent-prompt.js consent_prompt.js
$STAMP embed.js consent-prompt.js consent_prompt.js consent_prompt_bg.wasm element.js
minify embed.js
# Drop the preload links Trunk adds for the old names; the entry loads the wasm itself.
sed -i -e '/consent-prompt_bg.wasm/d' -e '/rel="modulepreload" href="\/consent-prompt.js"/d' index.html
sed -i '/data-trunk rel="rust"/d' index.html
# Brotli and gzip copies of every asset, and the manifest with the version
# and the Subresource Integrity hashes (the host serves them precompressed).
node "$ROOT/scripts/compress.mjs" .
