// Size report and budget for what a page downloads in script-tag mode:
// embed.js → consent-prompt.js → consent_prompt.js (glue) → consent_prompt_bg.wasm.
// The prompt's CSS is compiled into the wasm (adopted stylesheets), so there
// is no separate CSS file. Prints gzip -9 and brotli (q11) sizes per file.
//   node scripts/size.mjs [dist] [--budget KB]
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import path from "node:path";

const args = process.argv.slice(2);
const dist = args.find((a) => !a.startsWith("--") && !/^\d/.test(a)) ?? "dist";
const budgetAt = args.indexOf("--budget");
const budgetKb = budgetAt >= 0 ? Number(args[budgetAt + 1]) : null;
const files = ["embed.js", "consent-prompt.js", "consent_prompt.js", "consent_prompt_bg.wasm"];

const kb = (n) => (n / 1000).toFixed(1).padStart(7);
let total = { raw: 0, gzip: 0, brotli: 0 };
console.log(`${"file".padEnd(26)}${"raw KB".padStart(9)}${"gzip KB".padStart(9)}${"brotli KB".padStart(11)}`);
for (const f of files) {
  const bytes = readFileSync(path.join(dist, f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  total = { raw: total.raw + bytes.length, gzip: total.gzip + gz, brotli: total.brotli + br };
  console.log(`${f.padEnd(26)}${kb(bytes.length)}  ${kb(gz)}  ${kb(br).padStart(9)}`);
}
console.log(`${"total".padEnd(26)}${kb(total.raw)}  ${kb(total.gzip)}  ${kb(total.brotli).padStart(9)}`);
if (budgetKb !== null) {
  const used = total.gzip / 1000;
  if (used > budgetKb) {
    console.error(`size budget exceeded: ${used.toFixed(1)} KB gzip > ${budgetKb} KB`);
    process.exit(1);
  }
  console.log(`size budget: ${used.toFixed(1)} KB gzip of ${budgetKb} KB`);
}
