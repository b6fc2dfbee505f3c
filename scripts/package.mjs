// Builds the npm package (packages/consent-prompt) from the release build:
//
//   trunk build --release --offline
//   node scripts/package.mjs [--pack OUT_DIR]
//
// Copies the browser files from dist/ into packages/consent-prompt/dist/,
// writes the version from the root Cargo.toml ([package] version: the one
// source of the version) into the package's package.json, copies the
// changelog, and with --pack runs `npm pack` into OUT_DIR and prints the
// tarball's path. Nothing here needs Rust: dist/ is the input.
import { readFileSync, writeFileSync, mkdirSync, rmSync, copyFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.resolve(process.env.DIST_DIR ?? path.join(root, "dist"));
const pkgDir = path.join(root, "packages/consent-prompt");
const out = path.join(pkgDir, "dist");

// What a page needs, and nothing of the demo: the ES module entry and its
// wasm + glue, the element, the classic-script entry, the iframe files, and
// the declarations. The prompt's CSS is inside the wasm (adopted by its
// shadow root), so there is no stylesheet to import; consent-prompt.css is
// the same sheet as a file, for a server-rendered prompt to link from its
// declarative shadow root; frame.css styles only the iframe page;
// no-script.html (and its sheet) is where a server-rendered prompt's Save
// lands when JavaScript is off.
const FILES = [
  "consent-prompt.js",
  "early.js",
  "consent-prompt.d.ts",
  "consent_prompt.js",
  "consent_prompt_bg.wasm",
  "element.js",
  "element.d.ts",
  "embed.js",
  "host.js",
  "frame.html",
  "frame.js",
  "frame.css",
  "consent-prompt.css",
  "no-script.html",
  "no-script.css",
];

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

const cargo = readFileSync(path.join(root, "Cargo.toml"), "utf8");
const version = cargo.match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms)?.[1];
if (!version) fail("no [package] version in Cargo.toml");

for (const file of FILES) {
  if (!existsSync(path.join(dist, file))) fail(`${dist}/${file} is missing: run \`trunk build --release --offline\` first`);
}
// The entry reports its version at run time; it must be the package's.
const entryVersion = readFileSync(path.join(dist, "consent-prompt.js"), "utf8").match(/export\s*(?:const|let|var)\s+version\s*=\s*"([^"]+)"/)?.[1];
if (entryVersion && entryVersion !== version) {
  fail(`dist/consent-prompt.js says version ${entryVersion} but Cargo.toml says ${version}: rebuild dist/`);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const file of FILES) copyFileSync(path.join(dist, file), path.join(out, file));
copyFileSync(path.join(root, "CHANGELOG.md"), path.join(pkgDir, "CHANGELOG.md"));

const manifestPath = path.join(pkgDir, "package.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
if (manifest.version !== version) {
  manifest.version = version;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
}
console.error(`package: ${manifest.name}@${version}, ${FILES.length} files from ${path.relative(root, dist) || "."}`);

const at = process.argv.indexOf("--pack");
if (at !== -1) {
  const dest = path.resolve(process.argv[at + 1] ?? fail("--pack needs a directory"));
  mkdirSync(dest, { recursive: true });
  const json = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: pkgDir, encoding: "utf8" });
  const [{ filename }] = JSON.parse(json);
  console.log(path.join(dest, filename));
}
