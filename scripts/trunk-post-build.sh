#!/usr/bin/env bash
# Trunk post-build hook. wasm-bindgen's glue is named after the crate
# (consent-prompt.js); the public entry module must own that stable name.
# So: glue → consent_prompt.js, entry.js → consent-prompt.js.
set -euo pipefail
cd "${TRUNK_STAGING_DIR:?run by trunk}"
mv consent-prompt.js consent_prompt.js
mv consent-prompt_bg.wasm consent_prompt_bg.wasm
mv entry.js consent-prompt.js
# Drop the preload links Trunk adds for the old names; the entry loads the wasm itself.
sed -i -e '/consent-prompt_bg.wasm/d' -e '/rel="modulepreload" href="\/consent-prompt.js"/d' index.html
sed -i '/data-trunk rel="rust"/d' index.html
