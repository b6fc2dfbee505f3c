// Writes the Subresource Integrity of the files an entry loads into that
// entry, so the whole chain is checked from the one hash a page gives:
//
//   node scripts/stamp.mjs FILE DEP...   (in the build's staging directory)
//
// In FILE, the string literal "__CP_INTEGRITY__" becomes a JSON object
// {DEP: "sha384-…"}, and each `__CP_SRI:DEP__` becomes DEP's integrity
// alone (for an HTML attribute). Each DEP must be final already: the build
// stamps and minifies the leaves first (glue, wasm, stylesheet), then the
// entries that load them (scripts/trunk-post-build.sh). A FILE with
// nothing to stamp is an error: an entry that lost its placeholder would
// load its files unchecked.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const [file, ...deps] = process.argv.slice(2);
if (!file || !deps.length) {
  console.error("usage: node scripts/stamp.mjs FILE DEP...");
  process.exit(2);
}
const integrity = (name) => "sha384-" + createHash("sha384").update(readFileSync(name)).digest("base64");
const map = Object.fromEntries(deps.map((d) => [d, integrity(d)]));
const before = readFileSync(file, "utf8");
let after = before.replaceAll('"__CP_INTEGRITY__"', JSON.stringify(map));
after = after.replace(/__CP_SRI:([\w.-]+)__/g, (_, name) => {
  if (!map[name]) throw new Error(`${file} asks for the integrity of ${name}, which is not among ${deps.join(", ")}`);
  return map[name];
});
if (after === before) {
  console.error(`${file}: nothing to stamp (no "__CP_INTEGRITY__" or __CP_SRI:…__)`);
  process.exit(1);
}
writeFileSync(file, after);
